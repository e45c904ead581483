/* test_decimal.c — money as int64 cents: exact parsing (never rounded), the NUMERIC(12,2) range,
 * formatting, checked sums. */
#include "unit.h"

#include "core/decimal.h"

/* Parses a NUL-terminated text; returns decimal_parse's result. */
static int parse(const char *s, int64_t *cents)
{
    *cents = INT64_C(0x7777);
    return decimal_parse(s, strlen(s), cents);
}

static void expect_cents(const char *s, int64_t want)
{
    int64_t c;
    if (parse(s, &c) != 0)
        fail_msg("'%s' was rejected", s);
    if (c != want)
        fail_msg("'%s' parsed to %lld, want %lld", s, (long long)c, (long long)want);
}

static void expect_reject(const char *s)
{
    int64_t c;
    if (parse(s, &c) != -1)
        fail_msg("'%s' was accepted as %lld", s, (long long)c);
}

static void test_parse_plain(void **state)
{
    (void)state;
    expect_cents("123.45", 12345);
    expect_cents("7", 700);
    expect_cents("0", 0);
    expect_cents("0.00", 0);
    expect_cents("-0.5", -50);
    expect_cents("-12.34", -1234);
    expect_cents("+1.25", 125);
    expect_cents(".5", 50);
    expect_cents("-.05", -5);
    expect_cents("3.1", 310);
    expect_cents("007.07", 707);
    expect_cents("1.", 100);
    /* Only the first n bytes count. */
    int64_t c;
    assert_int_equal(decimal_parse("12.34xyz", 5, &c), 0);
    assert_int_equal(c, 1234);
}

/* Issue 10 #4: money finer than a cent is never rounded or cut: it is refused, so the
 * consumers quarantine it. Trailing zeros are exact and accepted. */
static void expect_inexact(const char *s)
{
    int64_t c = 99;
    int rc = decimal_parse(s, strlen(s), &c);
    if (rc != DECIMAL_INEXACT)
        fail_msg("'%s' gave %d (cents %lld), want DECIMAL_INEXACT", s, rc, (long long)c);
    assert_int_equal(c, 99);
}

static void test_parse_exact(void **state)
{
    (void)state;
    expect_inexact("1.005");
    expect_inexact("-1.005");
    expect_inexact("3189.551");
    expect_inexact("0.001");
    expect_inexact("1.000000001");
    expect_inexact("1.00500");
    expect_cents("1.000", 100);
    expect_cents("2.6700000", 267);
    expect_cents("-9.990", -999);
}

static void test_parse_limits(void **state)
{
    (void)state;
    expect_cents("92233720368547758.07", INT64_MAX);
    expect_cents("-92233720368547758.07", -INT64_MAX);
    expect_reject("92233720368547758.08");
    expect_reject("92233720368547758.080000"); /* exact but past the limit */
    expect_reject("92233720368547759");
    expect_reject("99999999999999999999999999");
}

static void test_parse_garbage(void **state)
{
    (void)state;
    const char *bad[] = {"",   "+",    "-",     ".",   "-.",  "abc",  "1e5",  "1,50", " 1",
                         "1 ", "1..2", "1.2.3", "--1", "+-1", "0x10", "1.5a", "NaN",  "€1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_reject(bad[i]);
    int64_t c = 99;
    assert_int_equal(decimal_parse("1.5", 0, &c), -1);
    assert_int_equal(c, 99); /* untouched on error */
}

static void test_parse_money(void **state)
{
    (void)state;
    int64_t c;
    const char *why = NULL;
    assert_int_equal(decimal_parse_money("9999999999.99", 13, &c, &why), 0);
    assert_int_equal(c, DECIMAL_12_2_MAX_CENTS);
    assert_int_equal(decimal_parse_money("-9999999999.99", 14, &c, &why), 0);
    assert_int_equal(decimal_parse_money("10000000000.00", 14, &c, &why), -1);
    assert_non_null(strstr(why, "NUMERIC(12,2)"));
    assert_int_equal(decimal_parse_money("3189.551", 8, &c, &why), -1);
    assert_non_null(strstr(why, "cent"));
    assert_int_equal(decimal_parse_money("abc", 3, &c, &why), -1);
    assert_string_equal(why, "not a decimal");
}

static void expect_format(int64_t cents, const char *want)
{
    char out[32];
    size_t n = decimal_format(cents, out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_format(void **state)
{
    (void)state;
    expect_format(0, "0.00");
    expect_format(5, "0.05");
    expect_format(-5, "-0.05");
    expect_format(-50, "-0.50");
    expect_format(100, "1.00");
    expect_format(12345, "123.45");
    expect_format(-12345, "-123.45");
    expect_format(INT64_MAX, "92233720368547758.07");
    expect_format(INT64_MIN, "-92233720368547758.08");
    hdp_buf b = HDP_BUF_INIT;
    buf_puts(&b, "x=");
    decimal_put(&b, -7);
    assert_string_equal(b.data, "x=-0.07");
    buf_free(&b);
}

/* format(parse(s)) is the identity on two-digit texts, and parse(format(c)) on cents. */
static void test_round_trip(void **state)
{
    (void)state;
    for (int64_t c = -100000; c <= 100000; c += 37) {
        char out[32];
        int64_t back;
        decimal_format(c, out);
        assert_int_equal(decimal_parse(out, strlen(out), &back), 0);
        assert_int_equal(back, c);
    }
}

static void test_sums(void **state)
{
    (void)state;
    int64_t s = 0, v;
    const char *items[] = {"19.99", "0.01", "-5.00", "100.10"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(parse(items[i], &v), 0);
        assert_int_equal(decimal_add(s, v, &s), 0);
    }
    assert_int_equal(s, 11510);
    assert_int_equal(decimal_add(INT64_MAX, 1, &s), -1);
    assert_int_equal(decimal_add(INT64_MIN, -1, &s), -1);
    assert_int_equal(decimal_add(INT64_MAX, -1, &s), 0);
    assert_int_equal(s, INT64_MAX - 1);
    assert_int_equal(decimal_mul_qty(1999, 3, &s), 0);
    assert_int_equal(s, 5997);
    assert_int_equal(decimal_mul_qty(-250, 4, &s), 0);
    assert_int_equal(s, -1000);
    assert_int_equal(decimal_mul_qty(INT64_MAX / 2 + 1, 2, &s), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain),  cmocka_unit_test(test_parse_exact),
        cmocka_unit_test(test_parse_limits), cmocka_unit_test(test_parse_garbage),
        cmocka_unit_test(test_format),       cmocka_unit_test(test_parse_money),
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_sums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
