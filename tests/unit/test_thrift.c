/* Thrift compact protocol: encoder/decoder round trips and malformed input. */
#include "unit.h"

#include <stdlib.h>

#include "core/buf.h"
#include "format/thrift_compact.h"

static void test_varint_boundaries(void **state)
{
    (void)state;
    static const uint64_t vals[] = {
        0, 1, 127, 128, 16383, 16384, 0xFFFFFFFFull, 0x7FFFFFFFFFFFFFFFull, UINT64_MAX};
    static const size_t lens[] = {1, 1, 1, 2, 2, 3, 5, 9, 10};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        hdp_buf b = HDP_BUF_INIT;
        tc_writer w;
        tc_writer_init(&w, &b);
        tc_put_varint(&w, vals[i]);
        assert_int_equal(b.len, lens[i]);
        tc_reader r;
        hdp_err e;
        uint64_t got = 0;
        tc_reader_init(&r, b.data, b.len, &e);
        assert_int_equal(tc_read_varint(&r, &got), 0);
        assert_true(got == vals[i]);
        assert_true(r.p == r.end);
        buf_free(&b);
    }
}

static void test_varint_overflow(void **state)
{
    (void)state;
    /* 10 bytes whose last carries more than the 64th bit */
    const uint8_t big[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F};
    const uint8_t endless[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    tc_reader r;
    hdp_err e;
    uint64_t v;
    tc_reader_init(&r, big, sizeof(big), &e);
    assert_int_equal(tc_read_varint(&r, &v), -1);
    tc_reader_init(&r, endless, sizeof(endless), &e);
    assert_int_equal(tc_read_varint(&r, &v), -1);
    assert_non_null(strstr(e.msg, "thrift"));
}

static void test_zigzag(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    tc_writer w;
    tc_writer_init(&w, &b);
    tc_put_i32(&w, -1);
    tc_put_i32(&w, 1);
    tc_put_i32(&w, -64);
    assert_int_equal(b.len, 3);
    assert_int_equal((uint8_t)b.data[0], 0x01);
    assert_int_equal((uint8_t)b.data[1], 0x02);
    assert_int_equal((uint8_t)b.data[2], 0x7F);
    tc_put_i64(&w, INT64_MIN);
    tc_put_i64(&w, INT64_MAX);
    tc_put_i32(&w, INT32_MIN);
    tc_put_i64(&w, (int64_t)INT32_MAX + 1);

    tc_reader r;
    hdp_err e;
    int32_t a;
    int64_t l;
    tc_reader_init(&r, b.data, b.len, &e);
    assert_int_equal(tc_read_i32(&r, &a), 0);
    assert_int_equal(a, -1);
    assert_int_equal(tc_read_i32(&r, &a), 0);
    assert_int_equal(a, 1);
    assert_int_equal(tc_read_i32(&r, &a), 0);
    assert_int_equal(a, -64);
    assert_int_equal(tc_read_i64(&r, &l), 0);
    assert_true(l == INT64_MIN);
    assert_int_equal(tc_read_i64(&r, &l), 0);
    assert_true(l == INT64_MAX);
    assert_int_equal(tc_read_i32(&r, &a), 0);
    assert_true(a == INT32_MIN);
    /* an i64 value does not fit an i32 field */
    assert_int_equal(tc_read_i32(&r, &a), -1);
    buf_free(&b);
}

/* struct { 1: i32 7, 2: bool true, 20: i64 -5 (long form), 5: binary "hi" (negative delta),
 *          6: bool false, 300: struct { 1: i32 1, 3: struct { 2: binary "deep" } }, 301: i32 9 } */
static void encode_sample(hdp_buf *b)
{
    tc_writer w;
    tc_writer_init(&w, b);
    tc_struct_begin(&w);
    tc_field_i32(&w, 1, 7);
    tc_field_bool(&w, 2, 1);
    tc_field_i64(&w, 20, -5);
    tc_field_binary(&w, 5, "hi", 2);
    tc_field_bool(&w, 6, 0);
    tc_field(&w, TC_STRUCT, 300);
    tc_struct_begin(&w);
    tc_field_i32(&w, 1, 1);
    tc_field(&w, TC_STRUCT, 3);
    tc_struct_begin(&w);
    tc_field_binary(&w, 2, "deep", 4);
    tc_struct_end(&w);
    tc_struct_end(&w);
    tc_field_i32(&w, 301, 9);
    tc_struct_end(&w);
}

static void test_fields_and_nesting(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    encode_sample(&b);
    /* short form: delta 1, type i32 */
    assert_int_equal((uint8_t)b.data[0], 0x15);
    tc_reader r;
    hdp_err e;
    int t;
    int16_t id;
    int32_t i32;
    int64_t i64;
    const uint8_t *p;
    size_t n;
    tc_reader_init(&r, b.data, b.len, &e);
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 1);
    assert_int_equal(t, TC_I32);
    assert_int_equal(tc_read_i32(&r, &i32), 0);
    assert_int_equal(i32, 7);
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 2);
    assert_int_equal(t, TC_BOOL_TRUE);
    const uint8_t *before = r.p;
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 20);
    assert_int_equal(*before, TC_I64); /* long form: bare type byte, then the id */
    assert_int_equal(tc_read_i64(&r, &i64), 0);
    assert_int_equal(i64, -5);
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 5);
    assert_int_equal(tc_read_binary(&r, &p, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(p, "hi", 2);
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 6);
    assert_int_equal(t, TC_BOOL_FALSE);
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 300);
    assert_int_equal(t, TC_STRUCT);
    assert_int_equal(tc_struct_enter(&r), 0);
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 1);
    assert_int_equal(tc_read_i32(&r, &i32), 0);
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 3);
    assert_int_equal(tc_struct_enter(&r), 0);
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 2);
    assert_int_equal(tc_read_binary(&r, &p, &n), 0);
    assert_memory_equal(p, "deep", 4);
    assert_int_equal(tc_read_field(&r, &t, &id), 0);
    tc_struct_leave(&r);
    assert_int_equal(tc_read_field(&r, &t, &id), 0);
    tc_struct_leave(&r);
    /* back in the outer struct: the delta continues from 300 */
    assert_int_equal(tc_read_field(&r, &t, &id), 1);
    assert_int_equal(id, 301);
    assert_int_equal(tc_read_i32(&r, &i32), 0);
    assert_int_equal(i32, 9);
    assert_int_equal(tc_read_field(&r, &t, &id), 0);
    assert_true(r.p == r.end);
    buf_free(&b);
}

static void test_lists(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    tc_writer w;
    tc_writer_init(&w, &b);
    tc_list_begin(&w, TC_I32, 20);
    for (int i = 0; i < 20; i++)
        tc_put_i32(&w, i * -1000);
    tc_list_begin(&w, TC_BINARY, 3);
    tc_put_binary(&w, "", 0);
    tc_put_binary(&w, "a", 1);
    tc_put_binary(&w, "bc", 2);
    tc_list_begin(&w, TC_BOOL_TRUE, 2);
    buf_putc(&b, 1);
    buf_putc(&b, 0);
    assert_int_equal((uint8_t)b.data[0], 0xF5); /* long list header */
    assert_int_equal((uint8_t)b.data[1], 20);

    tc_reader r;
    hdp_err e;
    int et, v;
    uint32_t n;
    int32_t x;
    const uint8_t *p;
    size_t len;
    tc_reader_init(&r, b.data, b.len, &e);
    assert_int_equal(tc_read_list(&r, &et, &n), 0);
    assert_int_equal(et, TC_I32);
    assert_int_equal(n, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(tc_read_i32(&r, &x), 0);
        assert_int_equal(x, i * -1000);
    }
    assert_int_equal(tc_read_list(&r, &et, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(tc_read_binary(&r, &p, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(tc_read_binary(&r, &p, &len), 0);
    assert_int_equal(tc_read_binary(&r, &p, &len), 0);
    assert_memory_equal(p, "bc", 2);
    assert_int_equal(tc_read_list(&r, &et, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(tc_read_bool_elem(&r, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(tc_read_bool_elem(&r, &v), 0);
    assert_int_equal(v, 0);
    assert_true(r.p == r.end);

    /* a list count larger than the input is refused before anyone allocates for it */
    const uint8_t huge[] = {0xF5, 0xFF, 0xFF, 0xFF, 0x0F, 0x02};
    tc_reader_init(&r, huge, sizeof(huge), &e);
    assert_int_equal(tc_read_list(&r, &et, &n), -1);
    buf_free(&b);
}

static void test_skip_unknown(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    tc_writer w;
    tc_writer_init(&w, &b);
    tc_struct_begin(&w);
    tc_field(&w, TC_DOUBLE, 1);
    buf_append(&b, "12345678", 8);
    tc_field(&w, TC_LIST, 2);
    tc_list_begin(&w, TC_STRUCT, 2);
    tc_struct_begin(&w);
    tc_field_i32(&w, 1, 5);
    tc_struct_end(&w);
    tc_struct_begin(&w);
    tc_struct_end(&w);
    tc_field(&w, TC_MAP, 3);
    tc_put_varint(&w, 1);
    buf_putc(&b, (char)((TC_BINARY << 4) | TC_I64));
    tc_put_binary(&w, "k", 1);
    tc_put_i64(&w, 99);
    tc_field_i32(&w, 4, 42);
    tc_struct_end(&w);

    tc_reader r;
    hdp_err e;
    int t;
    int16_t id;
    int32_t x = 0;
    tc_reader_init(&r, b.data, b.len, &e);
    while (tc_read_field(&r, &t, &id) == 1) {
        if (id == 4)
            assert_int_equal(tc_read_i32(&r, &x), 0);
        else
            assert_int_equal(tc_skip(&r, t), 0);
    }
    assert_int_equal(r.failed, 0);
    assert_int_equal(x, 42);
    assert_true(r.p == r.end);

    /* whole-struct skip over the sample */
    buf_reset(&b);
    encode_sample(&b);
    tc_reader_init(&r, b.data, b.len, &e);
    assert_int_equal(tc_skip(&r, TC_STRUCT), 0);
    assert_true(r.p == r.end);
    buf_free(&b);
}

static void test_truncated_and_deep(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    encode_sample(&b);
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
        memcpy(copy, b.data, cut);
        tc_reader r;
        hdp_err e = {{0}};
        tc_reader_init(&r, copy, cut, &e);
        assert_int_equal(tc_skip(&r, TC_STRUCT), -1);
        assert_true(e.msg[0] != '\0');
        free(copy);
    }
    /* 40 nested structs exceed the depth limit */
    uint8_t deep[41];
    for (int i = 0; i < 40; i++)
        deep[i] = (1 << 4) | TC_STRUCT;
    deep[40] = 0;
    tc_reader r;
    hdp_err e;
    tc_reader_init(&r, deep, sizeof(deep), &e);
    assert_int_equal(tc_skip(&r, TC_STRUCT), -1);
    assert_non_null(strstr(e.msg, "deep"));
    buf_free(&b);
}

/* Found while writing the Thrift fuzz target: lists of lists (and maps of lists) had no depth
 * limit, so a footer of a few MB of 0x19 bytes ran tc_skip off the stack. Containers now nest like
 * structs. */
static void test_deep_containers(void **state)
{
    (void)state;
    size_t n = 4 << 20;
    uint8_t *deep = malloc(n);
    memset(deep, 0x19, n); /* a list of one element of type list, again and again */
    tc_reader r;
    hdp_err e = {{0}};
    tc_reader_init(&r, deep, n, &e);
    assert_int_equal(tc_skip(&r, TC_LIST), -1);
    assert_non_null(strstr(e.msg, "deep"));
    /* a map whose values are lists of maps of ... */
    for (size_t i = 0; i + 3 <= n; i += 3) {
        deep[i] = 1;                          /* one entry */
        deep[i + 1] = (TC_I32 << 4) | TC_MAP; /* i32 key, map value */
        deep[i + 2] = 0;                      /* the key */
    }
    tc_reader_init(&r, deep, n, &e);
    assert_int_equal(tc_skip(&r, TC_MAP), -1);
    assert_non_null(strstr(e.msg, "deep"));
    /* 30 levels of lists are fine */
    memset(deep, 0x19, 29);
    deep[29] = (5 << 4) | TC_I32; /* a list of five i32 */
    memset(deep + 30, 0x02, 5);
    tc_reader_init(&r, deep, 35, &e);
    assert_int_equal(tc_skip(&r, TC_LIST), 0);
    assert_int_equal(tc_reader_pos(&r, deep), 35);
    free(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint_boundaries),
        cmocka_unit_test(test_varint_overflow),
        cmocka_unit_test(test_zigzag),
        cmocka_unit_test(test_fields_and_nesting),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_skip_unknown),
        cmocka_unit_test(test_truncated_and_deep),
        cmocka_unit_test(test_deep_containers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
