/* test_utf8.c — the one UTF-8 validator: every class of invalid sequence is found at its
 * offset, valid text of every sequence length passes, cutting stays on a boundary. */
#include "unit.h"

#include "core/utf8.h"

static void expect_invalid_at(const char *s, size_t n, size_t at)
{
    size_t got = utf8_invalid_at(s, n);
    if (got != at)
        fail_msg("invalid at %zu, want %zu", got, at);
    assert_false(utf8_valid(s, n));
}

static void test_valid(void **state)
{
    (void)state;
    const char *ok[] = {"",
                        "plain ascii, longer than eight bytes",
                        "Troms\xc3\xb8",
                        "\xe2\x82\xac",
                        "\xf0\x9f\x98\x80",
                        "\xf4\x8f\xbf\xbf",
                        "\xed\x9f\xbf",
                        "\xef\xbf\xbf"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!utf8_valid(ok[i], strlen(ok[i])))
            fail_msg("rejected valid text %zu", i);
}

static void test_invalid(void **state)
{
    (void)state;
    expect_invalid_at("\xff\xfe", 2, 0);
    expect_invalid_at("12345678\x80", 9, 8); /* after the 8-byte fast path */
    expect_invalid_at("ab\xc3", 3, 2);       /* truncated */
    expect_invalid_at("\xc0\xaf", 2, 0);     /* overlong 2 */
    expect_invalid_at("\xc1\xbf", 2, 0);
    expect_invalid_at("\xe0\x9f\xbf", 3, 0);     /* overlong 3 */
    expect_invalid_at("\xf0\x8f\xbf\xbf", 4, 0); /* overlong 4 */
    expect_invalid_at("\xed\xa0\x80", 3, 0);     /* surrogate */
    expect_invalid_at("\xf4\x90\x80\x80", 4, 0); /* above U+10FFFF */
    expect_invalid_at("\xf5\x80\x80\x80", 4, 0);
    expect_invalid_at("\xc3\x28", 2, 0); /* bad continuation */
    expect_invalid_at("ok\xe2\x82", 4, 2);
}

static void test_cut(void **state)
{
    (void)state;
    const char *s = "ab\xe2\x82\xac"; /* "ab€" */
    assert_int_equal(utf8_cut(s, 5, 10), 5);
    assert_int_equal(utf8_cut(s, 5, 4), 2);
    assert_int_equal(utf8_cut(s, 5, 3), 2);
    assert_int_equal(utf8_cut(s, 5, 2), 2);
    assert_int_equal(utf8_cut(s, 5, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
