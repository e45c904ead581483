/* test_jsonl.c — the flat JSON line scanner: values, escapes, unicode, and every malformed
 * or truncated input is an error, never a crash (run under ASan too). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "format/jsonl.h"

static const jsonl_field *field(const jsonl_scanner *s, const char *key)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (s->fields[i].klen == strlen(key) &&
            memcmp(s->fields[i].key, key, s->fields[i].klen) == 0)
            return &s->fields[i];
    return NULL;
}

static void assert_str(const jsonl_field *f, const char *want, size_t n)
{
    assert_non_null(f);
    assert_int_equal(f->kind, JV_STR);
    assert_int_equal(f->vlen, n);
    assert_memory_equal(f->val, want, n);
}

static int scan(jsonl_scanner *s, const char *line)
{
    const char *why = NULL;
    int rc = jsonl_scan(s, line, strlen(line), &why);
    if (rc != 0)
        assert_non_null(why);
    return rc;
}

static void test_values(void **state)
{
    (void)state;
    jsonl_scanner s = {0};
    assert_int_equal(scan(&s, " {\"a\":1, \"b\" : -0.5e+3,\"c\":\"x\",\"d\":true,\"e\":false,"
                              "\"f\":null,\"g\":[1,{\"h\":[]}],\"i\":{}}\r\n"),
                     0);
    assert_int_equal(s.nfields, 8);
    assert_int_equal(field(&s, "a")->kind, JV_NUM);
    assert_int_equal(field(&s, "b")->vlen, 7);
    assert_memory_equal(field(&s, "b")->val, "-0.5e+3", 7);
    assert_str(field(&s, "c"), "x", 1);
    assert_int_equal(field(&s, "d")->kind, JV_TRUE);
    assert_int_equal(field(&s, "e")->kind, JV_FALSE);
    assert_int_equal(field(&s, "f")->kind, JV_NULL);
    assert_int_equal(field(&s, "g")->kind, JV_OTHER);
    assert_int_equal(field(&s, "i")->kind, JV_OTHER);
    assert_int_equal(scan(&s, "{}"), 0);
    assert_int_equal(s.nfields, 0);
    jsonl_scanner_free(&s);
}

static void test_escapes_and_unicode(void **state)
{
    (void)state;
    jsonl_scanner s = {0};
    assert_int_equal(scan(&s, "{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"u\":\"\\u00fc\\u20ac"
                              "\\ud83d\\ude00\\u0041\",\"k\\u0065y\":\"plain\"}"),
                     0);
    assert_str(field(&s, "s"), "a\"b\\c/d\b\f\n\r\t", 12);
    assert_str(field(&s, "u"),
               "\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80"
               "A",
               10);
    assert_str(field(&s, "key"), "plain", 5);
    /* raw UTF-8 passes through untouched */
    assert_int_equal(scan(&s, "{\"c\":\"Z\xc3\xbcrich\"}"), 0);
    assert_str(field(&s, "c"), "Z\xc3\xbcrich", 7);
    /* valid multibyte sequences of every length, on both paths */
    assert_int_equal(scan(&s, "{\"c\":\"Troms\xc3\xb8 \xe2\x82\xac \xf0\x9f\x98\x80 ok\"}"), 0);
    assert_int_equal(scan(&s, "{\"c\":\"\\t\xc3\xb8\xf4\x8f\xbf\xbf\"}"), 0);
    assert_str(field(&s, "c"), "\t\xc3\xb8\xf4\x8f\xbf\xbf", 7);
    jsonl_scanner_free(&s);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "   ",
        "[1]",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":1e}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":\"x}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\ud83d\"}",
        "{\"a\":\"\\ud83dx\"}",
        "{\"a\":\"\\ude00\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "{a:1}",
        "{\"a\":[1,}",
        "{\"a\":[1 2]}",
        "{\"a\":{\"b\"}}",
        "{\"a\":'x'}",
        /* invalid UTF-8 (issue 10 #2): bare bytes, truncated, overlong, surrogate, > U+10FFFF;
         * in values and in keys, on the fast path and after an escape */
        "{\"city\":\"\xff\xfe\"}",
        "{\"city\":\"Oslo\xff\"}",
        "{\"city\":\"a long ascii prefix \xc3\"}",
        "{\"c\":\"\xc0\xaf\"}",
        "{\"c\":\"\xe0\x80\xaf\"}",
        "{\"c\":\"\xed\xa0\x80\"}",
        "{\"c\":\"\xf4\x90\x80\x80\"}",
        "{\"c\":\"\x80\"}",
        "{\"c\xff\":1}",
        "{\"c\":\"\\n then \xfe\"}",
    };
    jsonl_scanner s = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (scan(&s, bad[i]) != -1)
            fail_msg("accepted: %s", bad[i]);
    }
    jsonl_scanner_free(&s);
}

/* Every proper prefix of a valid line is an error; each prefix sits in its own heap block of
 * exactly its length, so ASan catches any read past n. */
static void test_every_truncation(void **state)
{
    (void)state;
    const char *line =
        "{\"commit_lsn\":123,\"seq\":0,\"commit_ts\":\"2026-11-23T13:05:01.123456Z\",\"op\":\"I\","
        "\"name\":\"A \\\"q\\\" \\u00e9\\ud83d\\ude00\",\"n\":-1.5e-3,\"t\":true,\"f\":false,"
        "\"z\":null,\"_unchanged\":[\"x\",{\"y\":[]}]}";
    size_t n = strlen(line);
    jsonl_scanner s = {0};
    for (size_t k = 0; k < n; k++) {
        char *p = malloc(k ? k : 1);
        memcpy(p, line, k);
        const char *why = NULL;
        if (jsonl_scan(&s, p, k, &why) != -1)
            fail_msg("prefix of %zu bytes accepted", k);
        assert_non_null(why);
        free(p);
    }
    char *p = malloc(n);
    memcpy(p, line, n);
    const char *why = NULL;
    assert_int_equal(jsonl_scan(&s, p, n, &why), 0);
    assert_str(field(&s, "name"), "A \"q\" \xc3\xa9\xf0\x9f\x98\x80", 12);
    free(p);
    jsonl_scanner_free(&s);
}

static void test_too_many_fields(void **state)
{
    (void)state;
    char line[4096] = "{";
    for (int i = 0; i < JSONL_MAX_FIELDS + 1; i++)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s\"k%d\":%d", i ? "," : "", i,
                 i);
    strcat(line, "}");
    jsonl_scanner s = {0};
    assert_int_equal(scan(&s, line), -1);
    jsonl_scanner_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),          cmocka_unit_test(test_escapes_and_unicode),
        cmocka_unit_test(test_malformed),       cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_too_many_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
