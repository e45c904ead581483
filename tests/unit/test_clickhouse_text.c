/* test_clickhouse_text.c — the pure parts of the ClickHouse client: URLs and their masking,
 * exception text of 18.16 and of current servers, TSV escaping both ways, lines cut at every
 * chunk boundary, scripts split into statements. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/url.h"
#include "io/clickhouse_text.h"

/* ------------------------------------------------------------------ URLs */

static void test_url_defaults(void **state)
{
    (void)state;
    hdp_ch_addr a;
    char why[128], d[256];
    assert_int_equal(ch_url_parse("http://127.0.0.1:58123", &a, why, sizeof(why)), 0);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 58123);
    assert_int_equal(a.https, 0);
    assert_string_equal(a.user, "");
    assert_string_equal(a.password, "");
    assert_string_equal(a.database, "hdp");
    ch_url_describe(&a, d, sizeof(d));
    assert_string_equal(d, "http://127.0.0.1:58123/?database=hdp");

    assert_int_equal(ch_url_parse("https://ch.example.com/", &a, why, sizeof(why)), 0);
    assert_int_equal(a.port, 8443);
    assert_int_equal(a.https, 1);
    assert_int_equal(ch_url_parse("http://localhost", &a, why, sizeof(why)), 0);
    assert_int_equal(a.port, 8123);
    assert_string_equal(a.host, "localhost");
}

static void test_url_credentials_and_database(void **state)
{
    (void)state;
    hdp_ch_addr a;
    char why[128], d[256];
    assert_int_equal(ch_url_parse("http://hdp:p%40ss%3Aw0rd@10.0.0.5:8123/?database=marts_2", &a,
                                  why, sizeof(why)),
                     0);
    assert_string_equal(a.user, "hdp");
    assert_string_equal(a.password, "p@ss:w0rd");
    assert_string_equal(a.host, "10.0.0.5");
    assert_string_equal(a.database, "marts_2");
    ch_url_describe(&a, d, sizeof(d));
    assert_string_equal(d, "http://hdp:***@10.0.0.5:8123/?database=marts_2");
    assert_null(strstr(d, "p@ss"));

    /* '@' inside the password, unescaped: the last '@' of the authority ends it */
    assert_int_equal(ch_url_parse("http://u:a@b@h:1?database=x", &a, why, sizeof(why)), 0);
    assert_string_equal(a.password, "a@b");
    assert_string_equal(a.host, "h");
    /* a user without a password; a password without a user is the default user's */
    assert_int_equal(ch_url_parse("http://reader@h:1", &a, why, sizeof(why)), 0);
    assert_string_equal(a.user, "reader");
    ch_url_describe(&a, d, sizeof(d));
    assert_string_equal(d, "http://reader@h:1/?database=hdp");
    assert_int_equal(ch_url_parse("http://:secret@h:1", &a, why, sizeof(why)), 0);
    assert_string_equal(a.user, "default");
    assert_string_equal(a.password, "secret");
    /* IPv6 */
    assert_int_equal(ch_url_parse("http://[::1]:58123/", &a, why, sizeof(why)), 0);
    assert_string_equal(a.host, "::1");
    ch_url_describe(&a, d, sizeof(d));
    assert_string_equal(d, "http://[::1]:58123/?database=hdp");
    assert_int_equal(ch_url_parse("http://[::1]", &a, why, sizeof(why)), 0);
    assert_int_equal(a.port, 8123);
}

static void expect_bad_url(const char *url, const char *want, const char *secret)
{
    hdp_ch_addr a;
    char why[128] = "";
    assert_int_equal(ch_url_parse(url, &a, why, sizeof(why)), -1);
    if (strstr(why, want) == NULL)
        fail_msg("%s: '%s' does not say '%s'", url, why, want);
    if (secret)
        assert_null(strstr(why, secret));
}

static void test_url_errors(void **state)
{
    (void)state;
    expect_bad_url("ftp://h", "not an http", NULL);
    expect_bad_url("http://", "no host", NULL);
    expect_bad_url("http://u:topsecret@", "no host", "topsecret");
    expect_bad_url("http://h:0", "host:port", NULL);
    expect_bad_url("http://h:65536", "host:port", NULL);
    expect_bad_url("http://h:12x", "host:port", NULL);
    expect_bad_url("http://h:1/db", "path", NULL);
    expect_bad_url("http://h:1/?db=x", "only URL parameter", NULL);
    expect_bad_url("http://h:1/?database=", "only URL parameter", NULL);
    expect_bad_url("http://h:1/?database=a-b", "database must be", NULL);
    expect_bad_url("http://h:1/?database=1x", "database must be", NULL);
    expect_bad_url("http://h:1/?database=x#frag", "fragment", NULL);
    expect_bad_url("http://u:zzsecret%zz@h:1", "password", "zzsecret");
    expect_bad_url("http://u:nul%00@h:1", "password", NULL);
    expect_bad_url("http://::1:8123", "brackets", NULL);
    expect_bad_url("http://[::1:8123", "IPv6", NULL);
}

/* ------------------------------------------------------------------ exceptions */

static void test_exception_18_16(void **state)
{
    (void)state;
    static const char body[] =
        "Code: 60, e.displayText() = DB::Exception: Table hdp.nope doesn't exist., e.what() = "
        "DB::Exception\n";
    int code;
    char msg[256];
    assert_int_equal(ch_exception_parse(body, sizeof(body) - 1, &code, msg, sizeof(msg)), 1);
    assert_int_equal(code, 60);
    assert_string_equal(msg, "Code: 60, e.displayText() = DB::Exception: Table hdp.nope doesn't "
                             "exist.");
    static const char auth[] =
        "Code: 193, e.displayText() = DB::Exception: Wrong password for user hdp, e.what() = "
        "DB::Exception\r\n";
    assert_int_equal(ch_exception_parse(auth, sizeof(auth) - 1, &code, msg, sizeof(msg)), 1);
    assert_int_equal(code, 193);
    assert_true(ch_code_is_auth(code));
    assert_string_equal(msg, "Code: 193, e.displayText() = DB::Exception: Wrong password for "
                             "user hdp");
}

static void test_exception_current_and_odd(void **state)
{
    (void)state;
    static const char body[] =
        "\n  Code: 516. DB::Exception: hdp: Authentication failed: password is incorrect, or "
        "there is no user with such name. (AUTHENTICATION_FAILED) (version 24.8.4.13 (official "
        "build))\nStack trace:\n0. x\n";
    int code;
    char msg[64];
    assert_int_equal(ch_exception_parse(body, sizeof(body) - 1, &code, msg, sizeof(msg)), 1);
    assert_int_equal(code, 516);
    assert_true(ch_code_is_auth(516));
    assert_int_equal(strlen(msg), sizeof(msg) - 1); /* cut to fit, NUL-terminated */
    assert_memory_equal(msg, "Code: 516. DB::Exception: hdp: Authentication", 45);

    assert_int_equal(ch_exception_parse("<html>Bad Gateway</html>", 24, &code, msg, sizeof(msg)),
                     0);
    assert_int_equal(code, 0);
    assert_string_equal(msg, "<html>Bad Gateway</html>");
    assert_int_equal(ch_exception_parse("", 0, &code, msg, sizeof(msg)), 0);
    assert_string_equal(msg, "");
    assert_int_equal(ch_exception_parse("Code: x", 7, &code, msg, sizeof(msg)), 0);
    /* a tab inside the line is no control character in the message */
    assert_int_equal(ch_exception_parse("Code: 27, a\tb", 13, &code, msg, sizeof(msg)), 1);
    assert_string_equal(msg, "Code: 27, a b");
    assert_int_equal(code, 27);
    assert_true(ch_code_is_transient(216));
    assert_false(ch_code_is_transient(60));
    assert_false(ch_code_is_auth(60));
}

/* ------------------------------------------------------------------ TSV */

static void test_tsv_escape_roundtrip(void **state)
{
    (void)state;
    static const char raw[] = "a\tb\nc\\d\re\bf\fg\0h'i\"j é";
    hdp_buf b = HDP_BUF_INIT, u = HDP_BUF_INIT;
    ch_tsv_escape(&b, raw, sizeof(raw) - 1);
    assert_string_equal(b.data, "a\\tb\\nc\\\\d\\re\\bf\\fg\\0h'i\"j é");
    assert_null(memchr(b.data, '\t', b.len));
    assert_null(memchr(b.data, '\n', b.len));
    assert_int_equal(ch_tsv_unescape(&u, b.data, b.len), 0);
    assert_int_equal(u.len, sizeof(raw) - 1);
    assert_memory_equal(u.data, raw, sizeof(raw) - 1);
    /* "\N" as a string value is escaped, so it is not NULL */
    buf_reset(&b);
    ch_tsv_escape(&b, "\\N", 2);
    assert_string_equal(b.data, "\\\\N");
    assert_false(ch_tsv_is_null(b.data, b.len));
    buf_reset(&b);
    ch_tsv_null(&b);
    assert_true(ch_tsv_is_null(b.data, b.len));
    buf_reset(&b);
    ch_tsv_escape(&b, "", 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    buf_free(&u);
}

static void test_tsv_unescape_what_clickhouse_and_postgres_write(void **state)
{
    (void)state;
    hdp_buf u = HDP_BUF_INIT;
    /* ClickHouse writes \' ; PostgreSQL's COPY writes \v; both read \xHH and \<other> */
    static const char in[] = "q\\'s\\v\\a\\x41\\x7e\\q";
    assert_int_equal(ch_tsv_unescape(&u, in, sizeof(in) - 1), 0);
    assert_string_equal(u.data, "q's\v\aA~q");
    buf_reset(&u);
    assert_int_equal(ch_tsv_unescape(&u, "x\\", 2), -1);
    buf_reset(&u);
    assert_int_equal(ch_tsv_unescape(&u, "\\x4", 3), -1);
    buf_reset(&u);
    assert_int_equal(ch_tsv_unescape(&u, "\\xZZ", 4), -1);
    buf_free(&u);
}

static void test_tsv_fields(void **state)
{
    (void)state;
    ch_field f[4];
    static const char line[] = "1\ta\\tb\t\\N\t";
    assert_int_equal(ch_tsv_fields(line, sizeof(line) - 1, f, 4), 4);
    assert_int_equal(f[0].n, 1);
    assert_memory_equal(f[1].p, "a\\tb", 4);
    assert_true(ch_tsv_is_null(f[2].p, f[2].n));
    assert_int_equal(f[3].n, 0);
    assert_int_equal(ch_tsv_fields(line, sizeof(line) - 1, f, 3), -1);
    assert_int_equal(ch_tsv_fields("", 0, f, 4), 1);
    assert_int_equal(f[0].n, 0);
}

/* ------------------------------------------------------------------ lines */

typedef struct collected {
    hdp_buf all; /* lines joined with '|' */
    int n;
    int stop_at;
} collected;

static int collect(void *ctx, const char *line, size_t len, hdp_err *e)
{
    collected *c = ctx;
    if (c->stop_at && c->n + 1 == c->stop_at)
        return hdp_fail(e, "stop at %d", c->stop_at);
    buf_append(&c->all, line, len);
    buf_putc(&c->all, '|');
    c->n++;
    return HDP_OK;
}

static void test_lines_every_split(void **state)
{
    (void)state;
    static const char text[] = "first\n\nthird line\tx\nlast one, long enough to span\n";
    size_t n = sizeof(text) - 1;
    static const char want[] = "first||third line\tx|last one, long enough to span|";
    /* cut into two and three chunks at every position */
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            collected c = {HDP_BUF_INIT, 0, 0};
            ch_lines l;
            hdp_err e;
            ch_lines_init(&l, collect, &c);
            assert_int_equal(ch_lines_feed(&l, text, i, &e), HDP_OK);
            assert_int_equal(ch_lines_feed(&l, text + i, j - i, &e), HDP_OK);
            assert_int_equal(ch_lines_feed(&l, text + j, n - j, &e), HDP_OK);
            assert_int_equal(ch_lines_finish(&l, &e), HDP_OK);
            assert_string_equal(c.all.data, want);
            assert_int_equal(l.lines, 4);
            ch_lines_free(&l);
            buf_free(&c.all);
        }
    }
    /* one byte at a time */
    collected c = {HDP_BUF_INIT, 0, 0};
    ch_lines l;
    hdp_err e;
    ch_lines_init(&l, collect, &c);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ch_lines_feed(&l, text + i, 1, &e), HDP_OK);
    assert_int_equal(ch_lines_finish(&l, &e), HDP_OK);
    assert_string_equal(c.all.data, want);
    ch_lines_free(&l);
    buf_free(&c.all);
    ch_lines_free(NULL);
}

static void test_lines_cut_and_stop(void **state)
{
    (void)state;
    collected c = {HDP_BUF_INIT, 0, 0};
    ch_lines l;
    hdp_err e;
    ch_lines_init(&l, collect, &c);
    assert_int_equal(ch_lines_feed(&l, "a\nb", 3, &e), HDP_OK);
    assert_int_equal(ch_lines_finish(&l, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "ends inside a line"));
    ch_lines_free(&l);
    buf_free(&c.all);

    collected s = {HDP_BUF_INIT, 0, 2};
    ch_lines_init(&l, collect, &s);
    assert_int_equal(ch_lines_feed(&l, "a\nb\nc\n", 6, &e), HDP_ERR);
    assert_string_equal(e.msg, "stop at 2");
    assert_int_equal(s.n, 1);
    ch_lines_free(&l);
    buf_free(&s.all);
}

/* ------------------------------------------------------------------ scripts */

typedef struct stmts {
    char *sql[8];
    int line[8];
    int n;
} stmts;

static int take(void *ctx, const char *sql, size_t len, int lineno, hdp_err *e)
{
    stmts *s = ctx;
    if (s->n >= 8)
        return hdp_fail(e, "too many");
    s->sql[s->n] = xstrndup(sql, len);
    s->line[s->n++] = lineno;
    return HDP_OK;
}

static void stmts_free(stmts *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->sql[i]);
}

static void test_split_statements(void **state)
{
    (void)state;
    static const char script[] = "-- marts; not a statement;\n"
                                 "\n"
                                 "CREATE DATABASE IF NOT EXISTS x;\n"
                                 "CREATE TABLE IF NOT EXISTS t (\n"
                                 "    a UInt64, -- the key;\n"
                                 "    s String DEFAULT 'a;b'\n"
                                 ") ENGINE = MergeTree ORDER BY a;   \n"
                                 "-- only a comment;\n"
                                 ";\n"
                                 "/* block; comment */ SELECT 'it''s;', `we;ird`, \"x;\", 'a\\';'\n"
                                 ";SELECT 1";
    stmts s = {0};
    hdp_err e;
    assert_int_equal(ch_split_statements(script, take, &s, &e), HDP_OK);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.sql[0], "CREATE DATABASE IF NOT EXISTS x");
    assert_string_equal(s.sql[1], "CREATE TABLE IF NOT EXISTS t (\n    a UInt64, -- the key;\n"
                                  "    s String DEFAULT 'a;b'\n) ENGINE = MergeTree ORDER BY a");
    assert_int_equal(s.line[1], 4);
    assert_string_equal(s.sql[2],
                        "/* block; comment */ SELECT 'it''s;', `we;ird`, \"x;\", 'a\\';'");
    assert_int_equal(s.line[2], 10);
    assert_string_equal(s.sql[3], "SELECT 1");
    assert_int_equal(s.line[3], 11);
    stmts_free(&s);

    stmts none = {0};
    assert_int_equal(ch_split_statements("-- nothing\n\n  \n", take, &none, &e), HDP_OK);
    assert_int_equal(none.n, 0);
    assert_int_equal(ch_split_statements("", take, &none, &e), HDP_OK);
    assert_int_equal(none.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_defaults),
        cmocka_unit_test(test_url_credentials_and_database),
        cmocka_unit_test(test_url_errors),
        cmocka_unit_test(test_exception_18_16),
        cmocka_unit_test(test_exception_current_and_odd),
        cmocka_unit_test(test_tsv_escape_roundtrip),
        cmocka_unit_test(test_tsv_unescape_what_clickhouse_and_postgres_write),
        cmocka_unit_test(test_tsv_fields),
        cmocka_unit_test(test_lines_every_split),
        cmocka_unit_test(test_lines_cut_and_stop),
        cmocka_unit_test(test_split_statements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
