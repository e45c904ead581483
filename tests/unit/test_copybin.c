/* test_copybin.c — binary COPY fields: the exact bytes of each type's recv form, and numeric
 * digits that decode back to the value for every magnitude (the server itself checks them in
 * test_vault.py, which loads every row through binary COPY). */
#include "unit.h"

#include <stdio.h>

#include "format/copybin.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void expect_bytes(const hdp_buf *b, const char *want, size_t n)
{
    if (b->len != n || memcmp(b->data, want, n) != 0) {
        char got[256] = "";
        for (size_t i = 0; i < b->len && i < 80; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%02x",
                     (unsigned)(uint8_t)b->data[i]);
        fail_msg("got %zu bytes %s, want %zu", b->len, got, n);
    }
}

static void test_header_row_trailer(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    copybin_header(&b);
    expect_bytes(&b, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", COPYBIN_HEADER_LEN);
    buf_reset(&b);
    copybin_row(&b, 3);
    copybin_null(&b);
    copybin_trailer(&b);
    expect_bytes(&b, "\0\3\377\377\377\377\377\377", 8);
    buf_free(&b);
}

static void test_scalars(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    copybin_i32(&b, -2);
    expect_bytes(&b, "\0\0\0\4\377\377\377\376", 8);
    buf_reset(&b);
    copybin_i64(&b, 0x0102030405060708);
    expect_bytes(&b, "\0\0\0\10\1\2\3\4\5\6\7\10", 12);
    buf_reset(&b);
    copybin_bool(&b, 7);
    copybin_bool(&b, 0);
    expect_bytes(&b, "\0\0\0\1\1\0\0\0\1\0", 10);
    buf_reset(&b);
    copybin_bytes(&b, "ab\0c", 4);
    expect_bytes(&b, "\0\0\0\4ab\0c", 8);
    buf_reset(&b);
    /* 2000-01-01 00:00:00.000001 UTC is 1 µs after the server's epoch; 1970 is before it */
    copybin_ts(&b, INT64_C(946684800000001));
    expect_bytes(&b, "\0\0\0\10\0\0\0\0\0\0\0\1", 12);
    buf_reset(&b);
    copybin_ts(&b, 0);
    expect_bytes(&b, "\0\0\0\10\377\374\242\376\304\310\040\0", 12); /* -946684800000000 */
    buf_reset(&b);
    copybin_ts_infinity(&b); /* the server's DT_NOEND */
    expect_bytes(&b, "\0\0\0\10\177\377\377\377\377\377\377\377", 12);
    buf_free(&b);
}

/* numeric_send's bytes for known values. */
static void test_numeric_known(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    copybin_numeric(&b, 1234567, 2); /* 12345.67: digits 1 2345 6700, weight 1 */
    expect_bytes(&b, "\0\0\0\16\0\3\0\1\0\0\0\2\0\1\x09\x29\x1a\x2c", 18);
    buf_reset(&b);
    copybin_numeric(&b, 0, 2); /* zero: no digits */
    expect_bytes(&b, "\0\0\0\10\0\0\0\0\0\0\0\2", 12);
    buf_reset(&b);
    copybin_numeric(&b, -5, 2); /* -0.05: one digit 500 at weight -1, negative */
    expect_bytes(&b, "\0\0\0\12\0\1\377\377\x40\0\0\2\x01\xf4", 14);
    buf_reset(&b);
    copybin_numeric(&b, 100000000, 2); /* 1000000.00: digits 100 (10^4), trailing zeros gone */
    expect_bytes(&b, "\0\0\0\12\0\1\0\1\0\0\0\2\0\x64", 14);
    buf_free(&b);
}

/* Decodes numeric_send's form to unscaled units of 10^-scale (the digits must be valid). */
static int64_t decode_numeric(const uint8_t *p, int scale)
{
    uint32_t len = rd32(p);
    int nd = rd16(p + 4), weight = (int16_t)rd16(p + 6), sign = rd16(p + 8);
    assert_int_equal(len, 8 + 2 * nd);
    assert_int_equal(rd16(p + 10), scale);
    assert_true(sign == 0 || sign == 0x4000);
    if (nd > 0) { /* no leading or trailing zero digit, as the server writes them */
        assert_int_not_equal(rd16(p + 12), 0);
        assert_int_not_equal(rd16(p + 12 + 2 * (nd - 1)), 0);
    } else {
        assert_int_equal(weight, 0);
        assert_int_equal(sign, 0);
    }
    /* value * 10^4: sum of digit * 10000^(weight - i + 1) */
    __int128 v = 0;
    for (int i = 0; i < nd; i++) {
        int d = rd16(p + 12 + 2 * i);
        assert_true(d >= 0 && d < 10000);
        int exp = weight - i + 1; /* power of 10000 of this digit in value * 10^4 */
        assert_true(exp >= 0);
        __int128 t = d;
        for (int k = 0; k < exp; k++)
            t *= 10000;
        v += t;
    }
    for (int k = scale; k < 4; k++) {
        assert_true(v % 10 == 0);
        v /= 10;
    }
    return (int64_t)(sign ? -v : v);
}

static void roundtrip(int64_t v, int scale)
{
    hdp_buf b = HDP_BUF_INIT;
    copybin_numeric(&b, v, scale);
    int64_t got = decode_numeric((const uint8_t *)b.data, scale);
    if (got != v)
        fail_msg("numeric %lld (scale %d) decoded to %lld", (long long)v, scale, (long long)got);
    buf_free(&b);
}

static void test_numeric_roundtrip(void **state)
{
    (void)state;
    for (int scale = 0; scale <= 4; scale++) {
        roundtrip(INT64_MAX, scale);
        roundtrip(-INT64_MAX, scale);
        roundtrip(INT64_MIN, scale);
        int64_t p = 1; /* 10^e, e = 0..18 */
        for (int e = 0; e <= 18; e++) {
            if (e > 0)
                p *= 10;
            for (int64_t d = -3; d <= 3; d++) {
                roundtrip(p + d, scale);
                roundtrip(-(p + d), scale);
            }
        }
        uint64_t x = 88172645463325252u; /* xorshift: values of every size */
        for (int i = 0; i < 20000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            roundtrip((int64_t)(x >> (i % 64)) * (i % 2 ? -1 : 1), scale);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_row_trailer),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_numeric_known),
        cmocka_unit_test(test_numeric_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
