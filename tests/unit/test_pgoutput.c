/* test_pgoutput.c — the pgoutput decoder against hand-built messages of every type, every
 * truncation of them, malformed variants, the replication frames, and a session recorded
 * from a real PostgreSQL 15 (tests/unit/data/pgoutput/session.hex, rendered and compared
 * with session.expected; PGO_RENDER=1 prints the rendering to regenerate it — review the
 * diff by hand). */
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "format/pgoutput.h"

#ifndef PGO_DATA_DIR
#define PGO_DATA_DIR "tests/unit/data/pgoutput"
#endif

/* ------------------------------------------------------------------ message builders */

static void put_u8(hdp_buf *b, uint8_t v)
{
    buf_append(b, &v, 1);
}

static void put_u16(hdp_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    buf_append(b, p, 2);
}

static void put_u32(hdp_buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_append(b, p, 4);
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

static void put_text(hdp_buf *b, const char *s)
{
    put_u8(b, 't');
    put_u32(b, (uint32_t)strlen(s));
    buf_append(b, s, strlen(s));
}

static const uint8_t *bytes(const hdp_buf *b)
{
    return (const uint8_t *)b->data;
}

#define RELID 16385u

static const int64_t TS = INT64_C(762602400123456); /* 2024-03-01 10:00:00.123456 UTC */

/* orders(order_id int8 key, status text, total numeric(12,2), note text key) */
static void build_relation(hdp_buf *b, uint32_t relid)
{
    put_u8(b, 'R');
    put_u32(b, relid);
    put_str(b, "public");
    put_str(b, "orders");
    put_u8(b, 'd');
    put_u16(b, 4);
    put_u8(b, 1);
    put_str(b, "order_id");
    put_u32(b, 20);
    put_u32(b, 0xffffffffu);
    put_u8(b, 0);
    put_str(b, "status");
    put_u32(b, 25);
    put_u32(b, 0xffffffffu);
    put_u8(b, 0);
    put_str(b, "total");
    put_u32(b, 1700);
    put_u32(b, 786438); /* (12 << 16 | 2) + 4 */
    put_u8(b, 1);
    put_str(b, "note");
    put_u32(b, 25);
    put_u32(b, 0xffffffffu);
}

/* A 4-column tuple: '42', 'paid', NULL, unchanged TOAST. */
static void build_tuple(hdp_buf *b, const char *id, const char *status)
{
    put_u16(b, 4);
    put_text(b, id);
    put_text(b, status);
    put_u8(b, 'n');
    put_u8(b, 'u');
}

static void build_insert(hdp_buf *b)
{
    put_u8(b, 'I');
    put_u32(b, RELID);
    put_u8(b, 'N');
    build_tuple(b, "42", "paid");
}

static void build_update(hdp_buf *b, char old_kind)
{
    put_u8(b, 'U');
    put_u32(b, RELID);
    if (old_kind) {
        put_u8(b, (uint8_t)old_kind);
        build_tuple(b, "41", "old");
    }
    put_u8(b, 'N');
    build_tuple(b, "42", "shipped");
}

static void build_delete(hdp_buf *b, char old_kind)
{
    put_u8(b, 'D');
    put_u32(b, RELID);
    put_u8(b, (uint8_t)old_kind);
    build_tuple(b, "42", "gone");
}

static void build_begin(hdp_buf *b)
{
    put_u8(b, 'B');
    put_u64(b, UINT64_C(0x16B3748));
    put_u64(b, (uint64_t)TS);
    put_u32(b, 731);
}

static void build_commit(hdp_buf *b)
{
    put_u8(b, 'C');
    put_u8(b, 0);
    put_u64(b, UINT64_C(0x16B3748));
    put_u64(b, UINT64_C(0x16B3778));
    put_u64(b, (uint64_t)TS);
}

static void build_origin(hdp_buf *b)
{
    put_u8(b, 'O');
    put_u64(b, UINT64_C(0xABCDEF));
    put_str(b, "upstream");
}

static void build_type(hdp_buf *b)
{
    put_u8(b, 'Y');
    put_u32(b, 16407);
    put_str(b, "public");
    put_str(b, "order_status");
}

static void build_truncate(hdp_buf *b)
{
    put_u8(b, 'T');
    put_u32(b, 2);
    put_u8(b, 3);
    put_u32(b, RELID);
    put_u32(b, 16399);
}

/* A decoder that has seen the orders Relation. */
static pgo_decoder *decoder_with_relation(void)
{
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf b = HDP_BUF_INIT;
    build_relation(&b, RELID);
    pgo_msg m;
    hdp_err e = {{0}};
    assert_int_equal(pgo_decode(d, bytes(&b), b.len, &m, &e), HDP_OK);
    buf_free(&b);
    return d;
}

static void decode_ok(pgo_decoder *d, const hdp_buf *b, pgo_msg *m)
{
    hdp_err e = {{0}};
    int rc = pgo_decode(d, bytes(b), b->len, m, &e);
    if (rc != HDP_OK)
        fail_msg("decode failed: %s", e.msg);
}

static void assert_val(const pgo_value *v, char kind, const char *text)
{
    assert_int_equal(v->kind, kind);
    if (text == NULL) {
        assert_null(v->data);
        assert_int_equal(v->len, 0);
        return;
    }
    assert_int_equal(v->len, strlen(text));
    assert_memory_equal(v->data, text, v->len);
}

static void assert_tuple(const pgo_tuple *t, const char *id, const char *status)
{
    assert_int_equal(t->ncols, 4);
    assert_val(&t->vals[0], 't', id);
    assert_val(&t->vals[1], 't', status);
    assert_val(&t->vals[2], 'n', NULL);
    assert_val(&t->vals[3], 'u', NULL);
}

/* Decodes buf with an error expected; the message must contain `needle`. */
static void expect_error(pgo_decoder *d, const hdp_buf *b, const char *needle)
{
    pgo_msg m;
    hdp_err e = {{0}};
    assert_int_equal(pgo_decode(d, bytes(b), b->len, &m, &e), HDP_ERR);
    if (strstr(e.msg, needle) == NULL)
        fail_msg("error '%s' does not mention '%s'", e.msg, needle);
}

/* Every strict prefix of a message fails cleanly. Each prefix lives in its own exactly-sized
 * heap block, so ASan catches a read past it. The full message must still decode. */
static void expect_every_prefix_fails(pgo_decoder *d, const uint8_t *msg, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        assert_non_null(copy);
        memcpy(copy, msg, k);
        pgo_msg m;
        hdp_err e = {{0}};
        int rc = pgo_decode(d, copy, k, &m, &e);
        free(copy);
        if (rc != HDP_ERR)
            fail_msg("prefix of %zu/%zu bytes of '%c' returned %d", k, n, msg[0], rc);
        if (e.msg[0] == '\0')
            fail_msg("prefix of %zu/%zu bytes failed without a message", k, n);
    }
    pgo_msg m;
    hdp_err e = {{0}};
    if (pgo_decode(d, msg, n, &m, &e) != HDP_OK)
        fail_msg("full message failed: %s", e.msg);
}

/* ------------------------------------------------------------------ transaction messages */

static void test_begin(void **state)
{
    (void)state;
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf b = HDP_BUF_INIT;
    build_begin(&b);
    assert_int_equal(b.len, 21);
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'B');
    assert_int_equal(m.final_lsn, UINT64_C(0x16B3748));
    assert_int_equal(m.commit_ts, TS);
    assert_int_equal(m.xid, 731);
    assert_null(m.rel);
    buf_free(&b);
    pgo_decoder_free(d);
}

static void test_commit(void **state)
{
    (void)state;
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf b = HDP_BUF_INIT;
    build_commit(&b);
    assert_int_equal(b.len, 26);
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'C');
    assert_int_equal(m.flags, 0);
    assert_int_equal(m.commit_lsn, UINT64_C(0x16B3748));
    assert_int_equal(m.end_lsn, UINT64_C(0x16B3778));
    assert_int_equal(m.commit_ts, TS);
    buf_free(&b);
    pgo_decoder_free(d);
}

static void test_origin(void **state)
{
    (void)state;
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf b = HDP_BUF_INIT;
    build_origin(&b);
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'O');
    assert_int_equal(m.commit_lsn, UINT64_C(0xABCDEF));
    assert_string_equal(m.name, "upstream");
    /* The name must be terminated inside the message. */
    b.len--;
    expect_error(d, &b, "NUL");
    buf_free(&b);
    pgo_decoder_free(d);
}

static void test_type(void **state)
{
    (void)state;
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf b = HDP_BUF_INIT;
    build_type(&b);
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'Y');
    assert_int_equal(m.type_oid, 16407);
    assert_string_equal(m.nspname, "public");
    assert_string_equal(m.name, "order_status");
    buf_free(&b);
    pgo_decoder_free(d);
}

/* ------------------------------------------------------------------ relations */

static void test_relation(void **state)
{
    (void)state;
    pgo_decoder *d = pgo_decoder_new();
    assert_null(pgo_relation_get(d, RELID));
    hdp_buf b = HDP_BUF_INIT;
    build_relation(&b, RELID);
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'R');
    const pgo_relation *r = m.rel;
    assert_non_null(r);
    assert_ptr_equal(r, pgo_relation_get(d, RELID));
    assert_int_equal(r->relid, RELID);
    assert_string_equal(r->nspname, "public");
    assert_string_equal(r->relname, "orders");
    assert_int_equal(r->replident, 'd');
    assert_int_equal(r->ncols, 4);
    static const char *names[] = {"order_id", "status", "total", "note"};
    static const uint32_t oids[] = {20, 25, 1700, 25};
    static const int32_t typmods[] = {-1, -1, 786438, -1};
    static const uint8_t flags[] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(r->cols[i].name, names[i]);
        assert_int_equal(r->cols[i].type_oid, oids[i]);
        assert_int_equal(r->cols[i].typmod, typmods[i]);
        assert_int_equal(r->cols[i].flags, flags[i]);
        assert_int_equal(pgo_col_index(r, names[i]), i);
    }
    assert_int_equal(pgo_col_index(r, "missing"), -1);
    assert_int_equal(pgo_col_index(NULL, "status"), -1);
    assert_null(pgo_relation_get(d, RELID + 1));
    buf_free(&b);
    pgo_decoder_free(d);
}

/* A second Relation for the same relid (ALTER TABLE) replaces the cached entry in place. */
static void test_relation_replaced(void **state)
{
    (void)state;
    pgo_decoder *d = decoder_with_relation();
    const pgo_relation *before = pgo_relation_get(d, RELID);
    hdp_buf b = HDP_BUF_INIT;
    put_u8(&b, 'R');
    put_u32(&b, RELID);
    put_str(&b, "shop");
    put_str(&b, "orders2");
    put_u8(&b, 'f');
    put_u16(&b, 2);
    put_u8(&b, 0);
    put_str(&b, "id");
    put_u32(&b, 23);
    put_u32(&b, 0xffffffffu);
    put_u8(&b, 0);
    put_str(&b, "city");
    put_u32(&b, 1043);
    put_u32(&b, 104);
    pgo_msg m;
    decode_ok(d, &b, &m);
    const pgo_relation *r = pgo_relation_get(d, RELID);
    assert_ptr_equal(r, before);
    assert_ptr_equal(m.rel, r);
    assert_string_equal(r->nspname, "shop");
    assert_string_equal(r->relname, "orders2");
    assert_int_equal(r->replident, 'f');
    assert_int_equal(r->ncols, 2);
    assert_string_equal(r->cols[1].name, "city");
    assert_int_equal(r->cols[1].type_oid, 1043);
    assert_int_equal(r->cols[1].typmod, 104);
    assert_int_equal(pgo_col_index(r, "status"), -1);

    /* The old 4-column shape is now an error; the new 2-column shape decodes. */
    hdp_buf ins = HDP_BUF_INIT;
    build_insert(&ins);
    expect_error(d, &ins, "tuple has 4 columns");
    buf_reset(&ins);
    put_u8(&ins, 'I');
    put_u32(&ins, RELID);
    put_u8(&ins, 'N');
    put_u16(&ins, 2);
    put_text(&ins, "7");
    put_text(&ins, "Berlin");
    decode_ok(d, &ins, &m);
    assert_int_equal(m.new_tuple.ncols, 2);
    assert_val(&m.new_tuple.vals[1], 't', "Berlin");
    buf_free(&ins);
    buf_free(&b);
    pgo_decoder_free(d);
}

/* Many relations force the cache to grow; each stays reachable by its relid. */
static void test_relation_cache_grows(void **state)
{
    (void)state;
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf b = HDP_BUF_INIT;
    pgo_msg m;
    for (uint32_t i = 0; i < 200; i++) {
        buf_reset(&b);
        build_relation(&b, 100000 + i * 7919);
        decode_ok(d, &b, &m);
    }
    for (uint32_t i = 0; i < 200; i++) {
        const pgo_relation *r = pgo_relation_get(d, 100000 + i * 7919);
        assert_non_null(r);
        assert_int_equal(r->relid, 100000 + i * 7919);
        assert_int_equal(r->ncols, 4);
    }
    assert_null(pgo_relation_get(d, 99999));
    buf_free(&b);
    pgo_decoder_free(d);
}

/* ------------------------------------------------------------------ changes */

static void test_insert(void **state)
{
    (void)state;
    pgo_decoder *d = decoder_with_relation();
    hdp_buf b = HDP_BUF_INIT;
    build_insert(&b);
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'I');
    assert_ptr_equal(m.rel, pgo_relation_get(d, RELID));
    assert_int_equal(m.old_kind, 0);
    assert_int_equal(m.old_tuple.ncols, 0);
    assert_tuple(&m.new_tuple, "42", "paid");
    /* Values point into the caller's buffer; the array is the decoder's, reused. */
    assert_true((const uint8_t *)m.new_tuple.vals[0].data > bytes(&b));
    assert_true((const uint8_t *)m.new_tuple.vals[0].data < bytes(&b) + b.len);
    const pgo_value *vals = m.new_tuple.vals;
    decode_ok(d, &b, &m);
    assert_ptr_equal(m.new_tuple.vals, vals);
    buf_free(&b);
    pgo_decoder_free(d);
}

static void test_update_old_full(void **state)
{
    (void)state;
    pgo_decoder *d = decoder_with_relation();
    hdp_buf b = HDP_BUF_INIT;
    build_update(&b, 'O');
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'U');
    assert_int_equal(m.old_kind, 'O');
    assert_tuple(&m.old_tuple, "41", "old");
    assert_tuple(&m.new_tuple, "42", "shipped");
    buf_free(&b);
    pgo_decoder_free(d);
}

static void test_update_old_key(void **state)
{
    (void)state;
    pgo_decoder *d = decoder_with_relation();
    hdp_buf b = HDP_BUF_INIT;
    build_update(&b, 'K');
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.old_kind, 'K');
    assert_tuple(&m.old_tuple, "41", "old");
    assert_tuple(&m.new_tuple, "42", "shipped");
    /* Without an old tuple. */
    buf_reset(&b);
    build_update(&b, 0);
    decode_ok(d, &b, &m);
    assert_int_equal(m.old_kind, 0);
    assert_int_equal(m.old_tuple.ncols, 0);
    assert_tuple(&m.new_tuple, "42", "shipped");
    buf_free(&b);
    pgo_decoder_free(d);
}

static void test_delete(void **state)
{
    (void)state;
    pgo_decoder *d = decoder_with_relation();
    hdp_buf b = HDP_BUF_INIT;
    pgo_msg m;
    build_delete(&b, 'K');
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'D');
    assert_int_equal(m.old_kind, 'K');
    assert_tuple(&m.old_tuple, "42", "gone");
    assert_int_equal(m.new_tuple.ncols, 0);
    buf_reset(&b);
    build_delete(&b, 'O');
    decode_ok(d, &b, &m);
    assert_int_equal(m.old_kind, 'O');
    /* A Delete must carry 'K' or 'O'. */
    buf_reset(&b);
    build_delete(&b, 'N');
    expect_error(d, &b, "want 'K' or 'O'");
    buf_free(&b);
    pgo_decoder_free(d);
}

static void test_truncate(void **state)
{
    (void)state;
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf b = HDP_BUF_INIT;
    build_truncate(&b);
    pgo_msg m;
    decode_ok(d, &b, &m);
    assert_int_equal(m.kind, 'T');
    assert_int_equal(m.ntruncated, 2);
    assert_int_equal(m.truncate_options, 3);
    static const uint8_t relids[] = {0, 0, 0x40, 0x01, 0, 0, 0x40, 0x0f};
    assert_memory_equal(m.truncated_relids, relids, 8);
    /* A count larger than the message is an error, not a read past the end. */
    b.data[4] = 9;
    expect_error(d, &b, "relids");
    buf_free(&b);
    pgo_decoder_free(d);
}

static void test_unknown_relation(void **state)
{
    (void)state;
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf b = HDP_BUF_INIT;
    build_insert(&b);
    expect_error(d, &b, "unknown relation 16385");
    buf_reset(&b);
    build_update(&b, 'K');
    expect_error(d, &b, "unknown relation");
    buf_reset(&b);
    build_delete(&b, 'O');
    expect_error(d, &b, "unknown relation");
    buf_free(&b);
    pgo_decoder_free(d);
}

/* ------------------------------------------------------------------ malformed input */

static void test_malformed(void **state)
{
    (void)state;
    pgo_decoder *d = decoder_with_relation();
    hdp_buf b = HDP_BUF_INIT;
    pgo_msg m;
    hdp_err e = {{0}};
    assert_int_equal(pgo_decode(d, bytes(&b), 0, &m, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "empty"));

    buf_putc(&b, 'Z');
    expect_error(d, &b, "unknown type 0x5a");

    buf_reset(&b); /* trailing garbage after a complete Begin */
    build_begin(&b);
    put_u8(&b, 0);
    expect_error(d, &b, "1 trailing byte");

    buf_reset(&b); /* binary value kind */
    put_u8(&b, 'I');
    put_u32(&b, RELID);
    put_u8(&b, 'N');
    put_u16(&b, 4);
    put_u8(&b, 'b');
    put_u32(&b, 0);
    put_u8(&b, 'n');
    put_u8(&b, 'n');
    put_u8(&b, 'n');
    expect_error(d, &b, "binary");
    b.data[8] = 'x';
    expect_error(d, &b, "column 0 has kind 0x78");

    buf_reset(&b); /* Insert with an 'O' tag */
    put_u8(&b, 'I');
    put_u32(&b, RELID);
    put_u8(&b, 'O');
    build_tuple(&b, "1", "x");
    expect_error(d, &b, "want 'N'");

    buf_reset(&b); /* a value length far past the end */
    put_u8(&b, 'I');
    put_u32(&b, RELID);
    put_u8(&b, 'N');
    put_u16(&b, 4);
    put_u8(&b, 't');
    put_u32(&b, 0xffffffffu);
    expect_error(d, &b, "tuple value needs 4294967295 bytes");

    buf_reset(&b); /* a hostile column count is refused before allocating */
    put_u8(&b, 'R');
    put_u32(&b, 99);
    put_str(&b, "public");
    put_str(&b, "t");
    put_u8(&b, 'd');
    put_u16(&b, 65535);
    expect_error(d, &b, "65535 columns declared");
    assert_null(pgo_relation_get(d, 99));

    buf_reset(&b); /* relation name without terminator */
    put_u8(&b, 'R');
    put_u32(&b, 99);
    put_str(&b, "public");
    buf_puts(&b, "orders");
    expect_error(d, &b, "relation name at offset 12 has no NUL terminator");

    /* A failed Relation for a cached relid leaves the cached entry intact. */
    buf_reset(&b);
    build_relation(&b, RELID);
    b.len -= 3;
    expect_error(d, &b, "column typmod");
    const pgo_relation *r = pgo_relation_get(d, RELID);
    assert_int_equal(r->ncols, 4);
    assert_string_equal(r->cols[3].name, "note");
    buf_free(&b);
    pgo_decoder_free(d);
}

/* Every message type, cut at every byte offset: always HDP_ERR with a message. */
static void test_truncation_everywhere(void **state)
{
    (void)state;
    pgo_decoder *d = decoder_with_relation();
    hdp_buf b = HDP_BUF_INIT;
    void (*plain[])(hdp_buf *) = {build_begin, build_commit, build_origin,
                                  build_type,  build_insert, build_truncate};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        buf_reset(&b);
        plain[i](&b);
        expect_every_prefix_fails(d, bytes(&b), b.len);
    }
    const char kinds[] = {0, 'K', 'O'};
    for (size_t i = 0; i < 3; i++) {
        buf_reset(&b);
        build_update(&b, kinds[i]);
        expect_every_prefix_fails(d, bytes(&b), b.len);
    }
    for (size_t i = 1; i < 3; i++) {
        buf_reset(&b);
        build_delete(&b, kinds[i]);
        expect_every_prefix_fails(d, bytes(&b), b.len);
    }
    buf_reset(&b);
    build_relation(&b, RELID);
    expect_every_prefix_fails(d, bytes(&b), b.len);
    buf_free(&b);
    pgo_decoder_free(d);
}

/* ------------------------------------------------------------------ frames */

static void test_frame_xlogdata(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    put_u8(&b, 'w');
    put_u64(&b, UINT64_C(0x100000028));
    put_u64(&b, UINT64_C(0x100000100));
    put_u64(&b, (uint64_t)TS);
    build_begin(&b);
    pgrepl_frame f;
    hdp_err e = {{0}};
    assert_int_equal(pgrepl_parse_frame(bytes(&b), b.len, &f, &e), HDP_OK);
    assert_int_equal(f.kind, 'w');
    assert_int_equal(f.wal_start, UINT64_C(0x100000028));
    assert_int_equal(f.wal_end, UINT64_C(0x100000100));
    assert_int_equal(f.send_time, TS);
    assert_ptr_equal(f.data, bytes(&b) + 25);
    assert_int_equal(f.len, 21);
    assert_int_equal(f.data[0], 'B');
    /* Any cut inside the 25-byte header fails; the payload is the message layer's. */
    for (size_t k = 0; k < 25; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, b.data, k);
        int rc = pgrepl_parse_frame(copy, k, &f, &e);
        free(copy);
        if (rc != HDP_ERR)
            fail_msg("XLogData frame cut at %zu parsed", k);
    }
    buf_free(&b);
}

static void test_frame_keepalive(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    put_u8(&b, 'k');
    put_u64(&b, UINT64_C(0x2A0000F0));
    put_u64(&b, (uint64_t)-5); /* a send time before 2000 */
    put_u8(&b, 1);
    pgrepl_frame f;
    hdp_err e = {{0}};
    assert_int_equal(pgrepl_parse_frame(bytes(&b), b.len, &f, &e), HDP_OK);
    assert_int_equal(f.kind, 'k');
    assert_int_equal(f.wal_end, UINT64_C(0x2A0000F0));
    assert_int_equal(f.send_time, -5);
    assert_int_equal(f.reply_requested, 1);
    assert_null(f.data);
    b.data[17] = 0;
    assert_int_equal(pgrepl_parse_frame(bytes(&b), b.len, &f, &e), HDP_OK);
    assert_int_equal(f.reply_requested, 0);
    for (size_t k = 0; k < b.len; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, b.data, k);
        int rc = pgrepl_parse_frame(copy, k, &f, &e);
        free(copy);
        if (rc != HDP_ERR)
            fail_msg("keepalive frame cut at %zu parsed", k);
    }
    put_u8(&b, 0);
    assert_int_equal(pgrepl_parse_frame(bytes(&b), b.len, &f, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "trailing"));
    b.data[0] = 'q';
    assert_int_equal(pgrepl_parse_frame(bytes(&b), b.len, &f, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "unknown type 0x71"));
    buf_free(&b);
}

static void test_status_update(void **state)
{
    (void)state;
    uint8_t out[34];
    memset(out, 0xAA, sizeof(out));
    size_t n = pgrepl_build_status(out, UINT64_C(0x0102030405060708), UINT64_C(0x1112131415161718),
                                   UINT64_C(0x2122232425262728), -2, 1);
    static const uint8_t want[34] = {'r',  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                     0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21,
                                     0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x01};
    assert_int_equal(n, 34);
    assert_memory_equal(out, want, 34);
    pgrepl_build_status(out, 0, 0, 0, 0, 0);
    static const uint8_t zero[34] = {'r'};
    assert_memory_equal(out, zero, 34);
}

/* ------------------------------------------------------------------ recorded session */

static char *read_file(const char *name, size_t *len)
{
    char path[512];
    const char *dir = getenv("HDP_PGO_DATA_DIR");
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : PGO_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    hdp_buf b = HDP_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return buf_detach(&b);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a hex line into out; fails the test on bad hex. */
static void unhex(const char *s, size_t n, hdp_buf *out)
{
    buf_reset(out);
    if (n % 2)
        fail_msg("odd hex length %zu", n);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            fail_msg("bad hex at %zu", i);
        put_u8(out, (uint8_t)(hi << 4 | lo));
    }
}

static void render_lsn(hdp_buf *o, uint64_t lsn)
{
    buf_printf(o, "%" PRIX64 "/%" PRIX64, lsn >> 32, lsn & 0xffffffffu);
}

static void render_ts(hdp_buf *o, int64_t pg_us)
{
    char t[32];
    ts_format(pg_us + PG_EPOCH_UNIX_USEC, t);
    buf_puts(o, t);
}

static void render_tuple(hdp_buf *o, const pgo_tuple *t)
{
    buf_putc(o, '(');
    for (uint16_t i = 0; i < t->ncols; i++) {
        const pgo_value *v = &t->vals[i];
        if (i)
            buf_putc(o, ',');
        if (v->kind != 't') {
            buf_putc(o, v->kind);
            continue;
        }
        if (v->len <= 40) {
            buf_printf(o, "t'%.*s'", (int)v->len, v->data);
        } else {
            buf_printf(o, "t[%u]'%.16s...'", v->len, v->data);
        }
    }
    buf_putc(o, ')');
}

/* One line per message, every decoded field. */
static void render(hdp_buf *o, const pgo_msg *m)
{
    buf_putc(o, m->kind);
    switch (m->kind) {
    case 'B':
        buf_puts(o, " final_lsn=");
        render_lsn(o, m->final_lsn);
        buf_puts(o, " ts=");
        render_ts(o, m->commit_ts);
        buf_printf(o, " xid=%u", m->xid);
        break;
    case 'C':
        buf_printf(o, " flags=%u commit_lsn=", m->flags);
        render_lsn(o, m->commit_lsn);
        buf_puts(o, " end_lsn=");
        render_lsn(o, m->end_lsn);
        buf_puts(o, " ts=");
        render_ts(o, m->commit_ts);
        break;
    case 'O':
        buf_puts(o, " lsn=");
        render_lsn(o, m->commit_lsn);
        buf_printf(o, " name=%s", m->name);
        break;
    case 'Y':
        buf_printf(o, " oid=%u %s.%s", m->type_oid, m->nspname, m->name);
        break;
    case 'R':
        buf_printf(o, " relid=%u %s.%s ident=%c", m->rel->relid, m->rel->nspname, m->rel->relname,
                   m->rel->replident);
        for (uint16_t i = 0; i < m->rel->ncols; i++) {
            const pgo_column *c = &m->rel->cols[i];
            buf_printf(o, " %s:%u:%d%s", c->name, c->type_oid, c->typmod,
                       c->flags & 1 ? ":key" : "");
        }
        break;
    case 'T':
        buf_printf(o, " options=%u relids=", m->truncate_options);
        for (uint32_t i = 0; i < m->ntruncated; i++) {
            const uint8_t *p = m->truncated_relids + 4 * i;
            buf_printf(o, "%s%u", i ? "," : "",
                       (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
        }
        break;
    default:
        buf_printf(o, " %s.%s", m->rel->nspname, m->rel->relname);
        if (m->old_kind) {
            buf_printf(o, " old=%c", m->old_kind);
            render_tuple(o, &m->old_tuple);
        }
        if (m->kind != 'D') {
            buf_puts(o, " new=");
            render_tuple(o, &m->new_tuple);
        }
        break;
    }
    buf_putc(o, '\n');
}

/* Decodes session.hex with one decoder; the rendering must equal session.expected line by
 * line. Each recorded message is also cut at every offset. */
static void test_recorded_session(void **state)
{
    (void)state;
    size_t hexlen, explen;
    char *hex = read_file("session.hex", &hexlen);
    char *expected = read_file("session.expected", &explen);
    pgo_decoder *d = pgo_decoder_new();
    hdp_buf msg = HDP_BUF_INIT, got = HDP_BUF_INIT;
    int nmsg = 0, seen_u = 0;
    for (char *line = hex; line < hex + hexlen;) {
        char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        if (n > 0 && line[0] != '#') {
            unhex(line, n, &msg);
            expect_every_prefix_fails(d, bytes(&msg), msg.len); /* ends with a full decode */
            pgo_msg m;
            decode_ok(d, &msg, &m);
            render(&got, &m);
            nmsg++;
            if (m.kind == 'U' && m.new_tuple.ncols == 5 && m.new_tuple.vals[3].kind == 'u')
                seen_u = 1;
        }
        line += n + 1;
    }
    if (getenv("PGO_RENDER"))
        fputs(got.data, stdout);
    assert_int_equal(nmsg, 41);
    assert_true(seen_u);
    assert_string_equal(got.data, expected);

    /* After the stream: orders carries the added column, items is REPLICA IDENTITY FULL. */
    const pgo_relation *orders = pgo_relation_get(d, 16415);
    assert_non_null(orders);
    assert_int_equal(orders->ncols, 6);
    assert_int_equal(pgo_col_index(orders, "ship_city"), 5);
    assert_int_equal(pgo_relation_get(d, 16422)->replident, 'f');
    buf_free(&msg);
    buf_free(&got);
    pgo_decoder_free(d);
    free(hex);
    free(expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_begin),
        cmocka_unit_test(test_commit),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_relation),
        cmocka_unit_test(test_relation_replaced),
        cmocka_unit_test(test_relation_cache_grows),
        cmocka_unit_test(test_insert),
        cmocka_unit_test(test_update_old_full),
        cmocka_unit_test(test_update_old_key),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_unknown_relation),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncation_everywhere),
        cmocka_unit_test(test_frame_xlogdata),
        cmocka_unit_test(test_frame_keepalive),
        cmocka_unit_test(test_status_update),
        cmocka_unit_test(test_recorded_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
