/* test_pg_dsn.c — pg_dsn_check: a connection string libpq cannot parse is refused with libpq's
 * reason, but never with the pieces of the string libpq quotes (they may be the password), and
 * the refusal counts as permanent (no retry mends it). */
#include "unit.h"

#include "io/pg.h"

static void expect_refused(const char *dsn, const char *reason)
{
    hdp_err e = {{0}};
    assert_int_equal(pg_dsn_check(dsn, &e), HDP_ERR);
    if (strstr(e.msg, "invalid PostgreSQL connection string: ") != e.msg ||
        strstr(e.msg, reason) == NULL || strstr(e.msg, "Pw") || strchr(e.msg, '\n'))
        fail_msg("'%s': '%s'", dsn, e.msg);
    assert_true(pg_connect_error_permanent(e.msg));
}

static void test_refused_without_the_password(void **state)
{
    (void)state;
    expect_refused("host=db password=my Pw-1 dbname=shop", "missing \"=\" after \"***\"");
    expect_refused("host=db password='Pw-1", "unterminated quoted string");
    expect_refused("host=db password=x Pw-1=1", "invalid connection option \"***\"");
    expect_refused("postgresql://u:Pw-1%zz@db/shop", "invalid percent-encoded token: \"***\"");
    expect_refused("postgresql://u:Pw-1@[::1:5432/shop", "matching \"]\"");
    expect_refused("postgresql://db/shop?password=Pw-1&bogus=1", "\"***\"");
}

static void test_good_strings_pass(void **state)
{
    (void)state;
    hdp_err e = {{0}};
    assert_int_equal(pg_dsn_check("host=db port=5432 password='a b' dbname=shop", &e), HDP_OK);
    assert_int_equal(pg_dsn_check("postgresql://u:p%40w@db:5432/shop?sslmode=disable", &e), HDP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_without_the_password),
        cmocka_unit_test(test_good_strings_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
