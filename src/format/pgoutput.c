/* pgoutput.c — decoder of pgoutput proto_version 1 messages and of the streaming-replication
 * CopyData frames around them (PostgreSQL 15, "Logical Replication Message Formats" and
 * "Streaming Replication Protocol").
 *
 * Every read goes through the bounds-checked reader below; a short or malformed message is
 * an HDP_ERR naming the message and the field. In the steady state (relations cached, tuple
 * arrays grown to the widest table) decoding a change allocates nothing. */
#include "format/pgoutput.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/bytes.h"

/* ------------------------------------------------------------------ reader
 * Each rd_* reads one big-endian field and advances; when too few bytes are left it sets
 * the output to 0 and returns HDP_ERR naming the message, the field and the offset. */

typedef struct rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
    const char *what; /* "pgoutput Insert", "XLogData frame": names errors */
} rd;

static int rd_short(const rd *r, const char *field, size_t need, hdp_err *e)
{
    return hdp_fail(e, "%s truncated: %s needs %zu byte%s at offset %zu, %zu left", r->what, field,
                    need, need == 1 ? "" : "s", r->pos, r->len - r->pos);
}

static int rd_u8(rd *r, const char *field, uint8_t *v, hdp_err *e)
{
    if (r->len - r->pos < 1) {
        *v = 0;
        return rd_short(r, field, 1, e);
    }
    *v = r->p[r->pos++];
    return HDP_OK;
}

static int rd_u16(rd *r, const char *field, uint16_t *v, hdp_err *e)
{
    if (r->len - r->pos < 2) {
        *v = 0;
        return rd_short(r, field, 2, e);
    }
    const uint8_t *p = r->p + r->pos;
    *v = (uint16_t)((unsigned)p[0] << 8 | p[1]);
    r->pos += 2;
    return HDP_OK;
}

static int rd_u32(rd *r, const char *field, uint32_t *v, hdp_err *e)
{
    if (r->len - r->pos < 4) {
        *v = 0;
        return rd_short(r, field, 4, e);
    }
    *v = get_be32(r->p + r->pos);
    r->pos += 4;
    return HDP_OK;
}

static int rd_u64(rd *r, const char *field, uint64_t *v, hdp_err *e)
{
    if (r->len - r->pos < 8) {
        *v = 0;
        return rd_short(r, field, 8, e);
    }
    const uint8_t *p = r->p + r->pos;
    *v = (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
    r->pos += 8;
    return HDP_OK;
}

static int rd_i64(rd *r, const char *field, int64_t *v, hdp_err *e)
{
    uint64_t u;
    int rc = rd_u64(r, field, &u, e);
    *v = (int64_t)u;
    return rc;
}

/* Reads a NUL-terminated string; *s points into the message (terminator included there). */
static int rd_str(rd *r, const char *field, const char **s, size_t *n, hdp_err *e)
{
    const uint8_t *start = r->p + r->pos;
    const uint8_t *nul = memchr(start, '\0', r->len - r->pos);
    if (nul == NULL)
        return hdp_fail(e, "%s truncated: %s at offset %zu has no NUL terminator", r->what, field,
                        r->pos);
    *s = (const char *)start;
    *n = (size_t)(nul - start);
    r->pos += *n + 1;
    return HDP_OK;
}

/* A message must be consumed exactly: trailing bytes mean we misread its layout. */
static int rd_end(const rd *r, hdp_err *e)
{
    if (r->pos != r->len)
        return hdp_fail(e, "%s malformed: %zu trailing byte%s after offset %zu", r->what,
                        r->len - r->pos, r->len - r->pos == 1 ? "" : "s", r->pos);
    return HDP_OK;
}

/* ------------------------------------------------------------------ frames */

int pgrepl_parse_frame(const uint8_t *buf, size_t len, pgrepl_frame *out, hdp_err *e)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return hdp_fail(e, "replication frame is empty");
    rd r = {buf, len, 1, NULL};
    out->kind = (char)buf[0];
    if (buf[0] == 'w') {
        r.what = "XLogData frame";
        if (rd_u64(&r, "dataStart", &out->wal_start, e) || rd_u64(&r, "walEnd", &out->wal_end, e) ||
            rd_i64(&r, "sendTime", &out->send_time, e))
            return HDP_ERR;
        out->data = buf + r.pos;
        out->len = len - r.pos;
        return HDP_OK;
    }
    if (buf[0] == 'k') {
        r.what = "keepalive frame";
        uint8_t reply;
        if (rd_u64(&r, "walEnd", &out->wal_end, e) || rd_i64(&r, "sendTime", &out->send_time, e) ||
            rd_u8(&r, "replyRequested", &reply, e) || rd_end(&r, e))
            return HDP_ERR;
        out->reply_requested = reply != 0;
        return HDP_OK;
    }
    return hdp_fail(e, "replication frame has unknown type 0x%02x", buf[0]);
}

size_t pgrepl_build_status(uint8_t out[34], uint64_t write, uint64_t flush, uint64_t apply,
                           int64_t now_pg_us, int reply)
{
    out[0] = 'r';
    put_be64(out + 1, write);
    put_be64(out + 9, flush);
    put_be64(out + 17, apply);
    put_be64(out + 25, (uint64_t)now_pg_us);
    out[33] = reply ? 1 : 0;
    return 34;
}

/* ------------------------------------------------------------------ relation cache */

/* Open addressing keyed by relid, linear probing, at most half full. Entries are never
 * removed; a new Relation message for a cached relid replaces the contents in place, so a
 * pgo_relation pointer stays valid for the decoder's life (its contents may change). */
typedef struct rel_slot {
    uint32_t relid;
    pgo_relation *rel; /* NULL: empty slot */
} rel_slot;

struct pgo_decoder {
    rel_slot *slots;
    size_t cap; /* power of two */
    size_t n;
    pgo_value *vals[2]; /* [0] old tuple, [1] new tuple; grown, never shrunk */
    size_t vcap[2];
};

static size_t rel_hash(uint32_t relid, size_t cap)
{
    return (size_t)((relid * UINT32_C(2654435761)) & (uint32_t)(cap - 1));
}

static void rel_clear(pgo_relation *r)
{
    if (r == NULL)
        return;
    for (uint16_t i = 0; i < r->ncols; i++)
        free(r->cols[i].name);
    free(r->cols);
    free(r->nspname);
    free(r->relname);
    memset(r, 0, sizeof(*r));
}

static rel_slot *rel_find(const pgo_decoder *d, uint32_t relid)
{
    size_t i = rel_hash(relid, d->cap);
    while (d->slots[i].rel != NULL) {
        if (d->slots[i].relid == relid)
            return &d->slots[i];
        i = (i + 1) & (d->cap - 1);
    }
    return &d->slots[i];
}

static void rel_grow(pgo_decoder *d)
{
    rel_slot *old = d->slots;
    size_t oldcap = d->cap;
    d->cap *= 2;
    d->slots = xcalloc(d->cap, sizeof(*d->slots));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].rel != NULL)
            *rel_find(d, old[i].relid) = old[i];
    free(old);
}

/* Stores r (taking over its contents) as the relation for r->relid. */
static void rel_put(pgo_decoder *d, pgo_relation *r)
{
    rel_slot *s = rel_find(d, r->relid);
    if (s->rel != NULL) {
        rel_clear(s->rel);
        *s->rel = *r;
        return;
    }
    if ((d->n + 1) * 2 > d->cap) {
        rel_grow(d);
        s = rel_find(d, r->relid);
    }
    s->relid = r->relid;
    s->rel = xmalloc(sizeof(*s->rel));
    *s->rel = *r;
    d->n++;
}

pgo_decoder *pgo_decoder_new(void)
{
    pgo_decoder *d = xcalloc(1, sizeof(*d));
    d->cap = 16;
    d->slots = xcalloc(d->cap, sizeof(*d->slots));
    return d;
}

void pgo_decoder_free(pgo_decoder *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->cap; i++) {
        rel_clear(d->slots[i].rel);
        free(d->slots[i].rel);
    }
    free(d->slots);
    free(d->vals[0]);
    free(d->vals[1]);
    free(d);
}

const pgo_relation *pgo_relation_get(const pgo_decoder *d, uint32_t relid)
{
    if (d == NULL)
        return NULL;
    return rel_find(d, relid)->rel;
}

int pgo_col_index(const pgo_relation *r, const char *name)
{
    if (r == NULL || name == NULL)
        return -1;
    for (uint16_t i = 0; i < r->ncols; i++)
        if (strcmp(r->cols[i].name, name) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------ messages */

/* Relation: Int32 relid, String namespace, String name, Int8 replident, Int16 ncols, then per
 * column Int8 flags, String name, Int32 type oid, Int32 typmod. Parsed into a fresh entry
 * first, so a malformed message leaves the cached relation untouched. */
static int decode_relation(pgo_decoder *d, rd *r, pgo_msg *out, hdp_err *e)
{
    pgo_relation nr = {0};
    const char *s;
    size_t n;
    uint8_t ident = 0;
    uint16_t ncols = 0;
    if (rd_u32(r, "relid", &nr.relid, e))
        return HDP_ERR;
    if (rd_str(r, "namespace", &s, &n, e))
        return HDP_ERR;
    const char *nsp = s;
    size_t nsplen = n;
    if (rd_str(r, "relation name", &s, &n, e) || rd_u8(r, "replica identity", &ident, e) ||
        rd_u16(r, "column count", &ncols, e))
        return HDP_ERR;
    /* Each column takes at least 10 bytes; check before allocating for a hostile count. */
    if ((size_t)ncols * 10 > r->len - r->pos)
        return hdp_fail(e, "%s truncated: %u columns declared but only %zu bytes follow", r->what,
                        ncols, r->len - r->pos);
    nr.nspname = xstrndup(nsp, nsplen);
    nr.relname = xstrndup(s, n);
    nr.replident = (char)ident;
    nr.cols = xcalloc(ncols, sizeof(*nr.cols));
    for (uint16_t i = 0; i < ncols; i++) {
        pgo_column *c = &nr.cols[i];
        uint32_t typmod;
        if (rd_u8(r, "column flags", &c->flags, e) || rd_str(r, "column name", &s, &n, e) ||
            rd_u32(r, "column type oid", &c->type_oid, e) ||
            rd_u32(r, "column typmod", &typmod, e)) {
            rel_clear(&nr);
            return HDP_ERR;
        }
        c->name = xstrndup(s, n);
        c->typmod = (int32_t)typmod;
        nr.ncols = (uint16_t)(i + 1); /* rel_clear frees exactly the names set so far */
    }
    if (rd_end(r, e)) {
        rel_clear(&nr);
        return HDP_ERR;
    }
    rel_put(d, &nr);
    out->rel = pgo_relation_get(d, nr.relid);
    return HDP_OK;
}

/* TupleData: Int16 ncols, then per column 'n' | 'u' | 't' Int32 len, bytes. The column count
 * must match the cached relation; values go into the decoder's reusable array `which`. */
static int decode_tuple(pgo_decoder *d, rd *r, const pgo_relation *rel, int which, pgo_tuple *t,
                        hdp_err *e)
{
    uint16_t ncols = 0;
    if (rd_u16(r, "tuple column count", &ncols, e))
        return HDP_ERR;
    if (ncols != rel->ncols)
        return hdp_fail(e, "%s malformed: tuple has %u columns, relation %s.%s (%u) has %u",
                        r->what, ncols, rel->nspname, rel->relname, rel->relid, rel->ncols);
    if (ncols > d->vcap[which]) {
        d->vals[which] = xrealloc(d->vals[which], ncols * sizeof(pgo_value));
        d->vcap[which] = ncols;
    }
    pgo_value *v = d->vals[which];
    for (uint16_t i = 0; i < ncols; i++) {
        uint8_t kind;
        if (rd_u8(r, "tuple column kind", &kind, e))
            return HDP_ERR;
        v[i].kind = (char)kind;
        v[i].data = NULL;
        v[i].len = 0;
        if (kind == 'n' || kind == 'u')
            continue;
        if (kind != 't')
            return hdp_fail(e, "%s malformed: column %u has kind 0x%02x, want 'n', 'u' or 't'%s",
                            r->what, i, kind, kind == 'b' ? " (binary mode is not supported)" : "");
        uint32_t len;
        if (rd_u32(r, "tuple value length", &len, e))
            return HDP_ERR;
        if (len > r->len - r->pos)
            return rd_short(r, "tuple value", len, e);
        v[i].data = (const char *)r->p + r->pos;
        v[i].len = len;
        r->pos += len;
    }
    t->ncols = ncols;
    t->vals = v;
    return HDP_OK;
}

static int change_relation(pgo_decoder *d, rd *r, pgo_msg *out, hdp_err *e)
{
    uint32_t relid;
    if (rd_u32(r, "relid", &relid, e))
        return HDP_ERR;
    out->rel = pgo_relation_get(d, relid);
    if (out->rel == NULL)
        return hdp_fail(e, "%s refers to unknown relation %u (no Relation message seen)", r->what,
                        relid);
    return HDP_OK;
}

/* Insert: relid, 'N', tuple. Update: relid, optional 'K'|'O' + tuple, 'N' + tuple.
 * Delete: relid, 'K'|'O' + tuple. */
static int decode_change(pgo_decoder *d, rd *r, pgo_msg *out, hdp_err *e)
{
    uint8_t tag;
    if (change_relation(d, r, out, e) || rd_u8(r, "tuple tag", &tag, e))
        return HDP_ERR;
    if (out->kind != 'I' && (tag == 'K' || tag == 'O')) {
        out->old_kind = (char)tag;
        if (decode_tuple(d, r, out->rel, 0, &out->old_tuple, e))
            return HDP_ERR;
        if (out->kind == 'D')
            return rd_end(r, e);
        if (rd_u8(r, "tuple tag", &tag, e))
            return HDP_ERR;
    }
    if (out->kind == 'D')
        return hdp_fail(e, "%s malformed: tuple tag 0x%02x, want 'K' or 'O'", r->what, tag);
    if (tag != 'N')
        return hdp_fail(e, "%s malformed: tuple tag 0x%02x, want 'N'%s", r->what, tag,
                        out->kind == 'U' && out->old_kind == 0 ? ", 'K' or 'O'" : "");
    if (decode_tuple(d, r, out->rel, 1, &out->new_tuple, e))
        return HDP_ERR;
    return rd_end(r, e);
}

static int decode_truncate(rd *r, pgo_msg *out, hdp_err *e)
{
    if (rd_u32(r, "relation count", &out->ntruncated, e) ||
        rd_u8(r, "options", &out->truncate_options, e))
        return HDP_ERR;
    if ((r->len - r->pos) / 4 < out->ntruncated)
        return rd_short(r, "relids", (size_t)out->ntruncated * 4, e);
    out->truncated_relids = r->p + r->pos;
    r->pos += (size_t)out->ntruncated * 4;
    return rd_end(r, e);
}

static const char *msg_name(uint8_t kind)
{
    switch (kind) {
    case 'B':
        return "pgoutput Begin";
    case 'C':
        return "pgoutput Commit";
    case 'O':
        return "pgoutput Origin";
    case 'R':
        return "pgoutput Relation";
    case 'Y':
        return "pgoutput Type";
    case 'I':
        return "pgoutput Insert";
    case 'U':
        return "pgoutput Update";
    case 'D':
        return "pgoutput Delete";
    case 'T':
        return "pgoutput Truncate";
    default:
        return NULL;
    }
}

int pgo_decode(pgo_decoder *d, const uint8_t *buf, size_t len, pgo_msg *out, hdp_err *e)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return hdp_fail(e, "pgoutput message is empty");
    rd r = {buf, len, 1, msg_name(buf[0])};
    if (r.what == NULL)
        return hdp_fail(e, "pgoutput message has unknown type 0x%02x", buf[0]);
    out->kind = (char)buf[0];
    const char *s;
    size_t n;
    switch (buf[0]) {
    case 'B':
        if (rd_u64(&r, "final LSN", &out->final_lsn, e) ||
            rd_i64(&r, "commit timestamp", &out->commit_ts, e) || rd_u32(&r, "xid", &out->xid, e))
            return HDP_ERR;
        return rd_end(&r, e);
    case 'C':
        if (rd_u8(&r, "flags", &out->flags, e) || rd_u64(&r, "commit LSN", &out->commit_lsn, e) ||
            rd_u64(&r, "end LSN", &out->end_lsn, e) ||
            rd_i64(&r, "commit timestamp", &out->commit_ts, e))
            return HDP_ERR;
        return rd_end(&r, e);
    case 'O':
        if (rd_u64(&r, "origin commit LSN", &out->commit_lsn, e) ||
            rd_str(&r, "origin name", &out->name, &n, e))
            return HDP_ERR;
        return rd_end(&r, e);
    case 'Y':
        if (rd_u32(&r, "type oid", &out->type_oid, e) ||
            rd_str(&r, "type namespace", &out->nspname, &n, e) ||
            rd_str(&r, "type name", &s, &n, e))
            return HDP_ERR;
        out->name = s;
        return rd_end(&r, e);
    case 'R':
        return decode_relation(d, &r, out, e);
    case 'T':
        return decode_truncate(&r, out, e);
    default: /* 'I', 'U', 'D' */
        return decode_change(d, &r, out, e);
    }
}
