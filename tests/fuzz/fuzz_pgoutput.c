/* fuzz_pgoutput — the pgoutput decoder and the replication frames around it.
 *
 * The input is a session: pieces in fuzz.h's framing, decoded in order by one decoder, so
 * Relation messages teach it tables that later changes use. A piece starting with 'w' or
 * 'k' is a CopyData frame (an XLogData frame's payload is then decoded as a message, as
 * capture does); anything else is a pgoutput message.
 * Invariants: every message decoded re-encodes to exactly its bytes (nothing skipped or
 * misread), values point inside the message, tuples match their relation, the relation
 * handed out is the cached one, and an XLogData payload is the frame's tail. */
#include "fuzz.h"

#include "core/buf.h"
#include "format/pgoutput.h"

static void put_u8(hdp_buf *b, uint8_t v)
{
    buf_putc(b, (char)v);
}

static void put_u16(hdp_buf *b, uint16_t v)
{
    put_u8(b, (uint8_t)(v >> 8));
    put_u8(b, (uint8_t)v);
}

static void put_u32(hdp_buf *b, uint32_t v)
{
    put_u16(b, (uint16_t)(v >> 16));
    put_u16(b, (uint16_t)v);
}

static void put_u64(hdp_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)(v >> 32));
    put_u32(b, (uint32_t)v);
}

static void put_str(hdp_buf *b, const char *s)
{
    buf_append(b, s, strlen(s) + 1);
}

static void put_tuple(hdp_buf *b, const pgo_tuple *t, const uint8_t *msg, size_t len)
{
    put_u16(b, t->ncols);
    for (uint16_t i = 0; i < t->ncols; i++) {
        const pgo_value *v = &t->vals[i];
        FUZZ_CHECK(v->kind == 'n' || v->kind == 'u' || v->kind == 't');
        put_u8(b, (uint8_t)v->kind);
        if (v->kind != 't') {
            FUZZ_CHECK(v->data == NULL && v->len == 0);
            continue;
        }
        const uint8_t *d = (const uint8_t *)v->data;
        FUZZ_CHECK(d >= msg && d <= msg + len && v->len <= (size_t)(msg + len - d));
        put_u32(b, v->len);
        buf_append(b, v->data, v->len);
    }
}

/* The bytes of m as PostgreSQL would have sent them. */
static void encode(const pgo_msg *m, hdp_buf *b, const uint8_t *msg, size_t len)
{
    put_u8(b, (uint8_t)m->kind);
    switch (m->kind) {
    case 'B':
        put_u64(b, m->final_lsn);
        put_u64(b, (uint64_t)m->commit_ts);
        put_u32(b, m->xid);
        return;
    case 'C':
        put_u8(b, m->flags);
        put_u64(b, m->commit_lsn);
        put_u64(b, m->end_lsn);
        put_u64(b, (uint64_t)m->commit_ts);
        return;
    case 'O':
        put_u64(b, m->commit_lsn);
        put_str(b, m->name);
        return;
    case 'Y':
        put_u32(b, m->type_oid);
        put_str(b, m->nspname);
        put_str(b, m->name);
        return;
    case 'R': {
        const pgo_relation *r = m->rel;
        put_u32(b, r->relid);
        put_str(b, r->nspname);
        put_str(b, r->relname);
        put_u8(b, (uint8_t)r->replident);
        put_u16(b, r->ncols);
        for (uint16_t i = 0; i < r->ncols; i++) {
            put_u8(b, r->cols[i].flags);
            put_str(b, r->cols[i].name);
            put_u32(b, r->cols[i].type_oid);
            put_u32(b, (uint32_t)r->cols[i].typmod);
        }
        return;
    }
    case 'T':
        put_u32(b, m->ntruncated);
        put_u8(b, m->truncate_options);
        buf_append(b, m->truncated_relids, (size_t)m->ntruncated * 4);
        return;
    default: /* I, U, D */
        put_u32(b, m->rel->relid);
        if (m->old_kind) {
            FUZZ_CHECK(m->kind != 'I' && (m->old_kind == 'K' || m->old_kind == 'O'));
            put_u8(b, (uint8_t)m->old_kind);
            FUZZ_CHECK(m->old_tuple.ncols == m->rel->ncols);
            put_tuple(b, &m->old_tuple, msg, len);
        } else {
            FUZZ_CHECK(m->kind != 'D');
        }
        if (m->kind != 'D') {
            put_u8(b, 'N');
            FUZZ_CHECK(m->new_tuple.ncols == m->rel->ncols);
            put_tuple(b, &m->new_tuple, msg, len);
        }
        return;
    }
}

static void check_message(pgo_decoder *d, const pgo_msg *m, const uint8_t *msg, size_t len)
{
    if (m->kind == 'R' || m->kind == 'I' || m->kind == 'U' || m->kind == 'D') {
        FUZZ_CHECK(m->rel != NULL);
        FUZZ_CHECK(pgo_relation_get(d, m->rel->relid) == m->rel);
        for (uint16_t i = 0; i < m->rel->ncols; i++) {
            int k = pgo_col_index(m->rel, m->rel->cols[i].name);
            FUZZ_CHECK(k >= 0 && k <= i);
        }
    }
    hdp_buf b = HDP_BUF_INIT;
    encode(m, &b, msg, len);
    FUZZ_CHECK(b.len == len && memcmp(b.data, msg, len) == 0);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgo_decoder *d = pgo_decoder_new();
    fuzz_split sp = {data, data + size};
    const uint8_t *p;
    size_t n;
    while (fuzz_next(&sp, &p, &n)) {
        hdp_err e;
        pgo_msg m;
        if (n > 0 && (p[0] == 'w' || p[0] == 'k')) {
            pgrepl_frame f;
            if (pgrepl_parse_frame(p, n, &f, &e) != HDP_OK)
                continue;
            FUZZ_CHECK(f.kind == (char)p[0]);
            if (f.kind == 'k') {
                FUZZ_CHECK(n == 18 && f.data == NULL && f.reply_requested == (p[17] != 0));
                continue;
            }
            FUZZ_CHECK(n >= 25 && f.data == p + 25 && f.len == n - 25);
            p = f.data;
            n = f.len;
        }
        if (pgo_decode(d, p, n, &m, &e) == HDP_OK)
            check_message(d, &m, p, n);
        else
            FUZZ_CHECK(e.msg[0] != '\0');
    }
    pgo_decoder_free(d);
    return 0;
}
