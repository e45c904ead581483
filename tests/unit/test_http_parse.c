/* The HTTP/1.x request parser (io/http_parse.h): request lines, header fields, framing and
 * limits, every truncation of valid and invalid input, pipelined requests, query decoding
 * with %00 and bad escapes, and the UTF-8-safe echo used in error messages. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/http_parse.h"

static const http_limits LIM = {
    .max_target = 64, .max_head = 512, .max_headers = 8, .max_body = 1000};

static http_head H; /* large: not on the stack */

static http_parse_rc parse(const char *s, http_perr *err)
{
    return http_parse_head(s, strlen(s), &LIM, &H, err);
}

/* Parses s (complete) and expects DONE. */
static void expect_ok(const char *s)
{
    http_perr err = {0};
    http_parse_rc rc = parse(s, &err);
    if (rc != HTTP_PARSE_DONE)
        fail_msg("'%s': rc %d, status %d: %s", s, rc, err.status, err.msg);
}

/* Parses s and expects FAIL with status. */
static void expect_fail(const char *s, int status)
{
    http_perr err = {0};
    http_parse_rc rc = parse(s, &err);
    if (rc != HTTP_PARSE_FAIL || err.status != status)
        fail_msg("'%s': rc %d status %d (%s), expected FAIL %d", s, rc, err.status, err.msg,
                 status);
    assert_non_null(err.code);
    assert_true(err.msg[0] != '\0');
}

static int slice_is(const char *buf, http_slice s, const char *want)
{
    return s.len == strlen(want) && memcmp(buf + s.off, want, s.len) == 0;
}

static const char *field(const char *buf, const char *name, char *out, size_t outlen)
{
    for (size_t i = 0; i < H.nfields; i++)
        if (slice_is(buf, H.fields[i].name, name)) {
            snprintf(out, outlen, "%.*s", (int)H.fields[i].value.len, buf + H.fields[i].value.off);
            return out;
        }
    return NULL;
}

/* ---------------------------------------------------------------- request line */

static void test_request_line(void **state)
{
    (void)state;
    const char *r = "GET /api/v1/revenue?date=2026-11-23 HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_ok(r);
    assert_true(slice_is(r, H.method, "GET"));
    assert_true(slice_is(r, H.path, "/api/v1/revenue"));
    assert_true(H.has_query);
    assert_true(slice_is(r, H.query, "date=2026-11-23"));
    assert_int_equal(H.minor, 1);
    assert_int_equal(H.keep_alive, 1);
    assert_int_equal(H.head_len, strlen(r));
    assert_int_equal(H.content_length, 0);

    r = "GET /health? HTTP/1.1\r\nHost: x\r\n\r\n"; /* empty query */
    expect_ok(r);
    assert_true(slice_is(r, H.path, "/health"));
    assert_true(H.has_query && H.query.len == 0);

    r = "GET /health HTTP/1.1\nHost: x\n\n"; /* bare LF line ends */
    expect_ok(r);
    assert_int_equal(H.head_len, strlen(r));
    assert_false(H.has_query);

    r = "\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"; /* empty lines before the request */
    expect_ok(r);
    assert_int_equal(H.head_len, strlen(r));
    assert_true(slice_is(r, H.path, "/"));

    r = "M-SEARCH_x /a HTTP/1.1\r\nHost: x\r\n\r\n"; /* any token is a method */
    expect_ok(r);
    assert_true(slice_is(r, H.method, "M-SEARCH_x"));
}

static void test_versions(void **state)
{
    (void)state;
    expect_ok("GET / HTTP/1.0\r\n\r\n");
    assert_int_equal(H.minor, 0);
    assert_int_equal(H.keep_alive, 0);
    expect_ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert_int_equal(H.keep_alive, 1);
    expect_ok("GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade, close\r\n\r\n");
    assert_int_equal(H.keep_alive, 0);
    expect_ok("GET / HTTP/1.7\r\nHost: x\r\n\r\n"); /* a later 1.x reads as 1.1 */
    assert_int_equal(H.minor, 1);
    expect_fail("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    expect_fail("GET / HTTP/3.0\r\n\r\n", 505);
    expect_fail("GET / HTTP/2\r\n\r\n", 505);
    expect_fail("GET / HTTP/0.9\r\n\r\n", 505);
    expect_fail("GET /\r\n\r\n", 400); /* HTTP/0.9: no version */
    expect_fail("GET / http/1.1\r\n\r\n", 400);
    expect_fail("GET / HTTP/1.1x\r\n\r\n", 400);
    expect_fail("GET / HTTP/1.\r\n\r\n", 400);
    expect_fail("GET / HTTP/11\r\n\r\n", 400);
    expect_fail("GET / HTTP/1.1 \r\n\r\n", 400);
    expect_fail("GET / HTTP/2.0x\r\n\r\n", 400);
}

static void test_bad_request_lines(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        " GET / HTTP/1.1\r\n\r\n",
        "GE(T / HTTP/1.1\r\n\r\n",
        "GET /a\tb HTTP/1.1\r\n\r\n",
        "GET /\x80 HTTP/1.1\r\n\r\n",
        "GET a HTTP/1.1\r\n\r\n",
        "GET /#frag HTTP/1.1\r\n\r\n",
        "GET\r\n\r\n",
        "\r\r\n",
        "GET /a\rb HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\rHost: x\r\n\r\n",
        "ftp://x/ HTTP/1.1\r\n\r\n",
        "GET ftp://x/ HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_fail(bad[i], 400);
    /* garbage fails at once, before any line end (a TLS hello on the plain port) */
    http_perr err;
    assert_int_equal(http_parse_head("\x16\x03\x01\x02", 4, &LIM, &H, &err), HTTP_PARSE_FAIL);
    assert_int_equal(err.status, 400);
    assert_int_equal(http_parse_head("GET /x\x01", 7, &LIM, &H, &err), HTTP_PARSE_FAIL);
    assert_int_equal(http_parse_head("GET / HTTP/1.1\x00\r\n\r\n", 18, &LIM, &H, &err),
                     HTTP_PARSE_FAIL);
    /* a method longer than HTTP_MAX_METHOD */
    char m[128];
    memset(m, 'A', 40);
    m[40] = '\0';
    assert_int_equal(http_parse_head(m, 40, &LIM, &H, &err), HTTP_PARSE_FAIL);
    assert_int_equal(err.status, 400);
}

static void test_targets(void **state)
{
    (void)state;
    const char *r = "GET http://example.com:8080/a/b?x=1 HTTP/1.1\r\nHost: e\r\n\r\n";
    expect_ok(r);
    assert_true(slice_is(r, H.path, "/a/b"));
    assert_true(slice_is(r, H.query, "x=1"));
    r = "GET HTTPS://example.com HTTP/1.1\r\nHost: e\r\n\r\n";
    expect_ok(r);
    assert_int_equal(H.path.len, 0); /* "/" */
    r = "GET http://example.com?q HTTP/1.1\r\nHost: e\r\n\r\n";
    expect_ok(r);
    assert_int_equal(H.path.len, 0);
    assert_true(slice_is(r, H.query, "q"));
    r = "OPTIONS * HTTP/1.1\r\nHost: e\r\n\r\n";
    expect_ok(r);
    assert_true(slice_is(r, H.path, "*"));
    r = "GET /a%20b/%ff?%00 HTTP/1.1\r\nHost: e\r\n\r\n"; /* the path stays undecoded */
    expect_ok(r);
    assert_true(slice_is(r, H.path, "/a%20b/%ff"));
    assert_true(slice_is(r, H.query, "%00"));
}

/* ---------------------------------------------------------------- header fields */

static void test_fields(void **state)
{
    (void)state;
    char v[64];
    const char *r = "GET / HTTP/1.1\r\nHost:example.com\r\nX-Pad: \t spaced value \t \r\n"
                    "X-Empty:\r\nX-Obs: caf\xc3\xa9\r\n\r\n";
    expect_ok(r);
    assert_int_equal(H.nfields, 4);
    assert_string_equal(field(r, "Host", v, sizeof(v)), "example.com");
    assert_string_equal(field(r, "X-Pad", v, sizeof(v)), "spaced value");
    assert_string_equal(field(r, "X-Empty", v, sizeof(v)), "");
    assert_string_equal(field(r, "X-Obs", v, sizeof(v)), "caf\xc3\xa9");
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nHost x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01z\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fz\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX\x00: a\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        http_perr err;
        assert_int_equal(
            http_parse_head(bad[i], strlen(bad[i]) + (i == 8 ? 12 : 0), &LIM, &H, &err),
            HTTP_PARSE_FAIL);
        assert_int_equal(err.status, 400);
    }
    assert_int_equal(http_list_has("a, Keep-Alive ,b", 16, "keep-alive"), 1);
    assert_int_equal(http_list_has("keep-alived", 11, "keep-alive"), 0);
    assert_int_equal(http_list_has(",,close", 7, "close"), 1);
    assert_int_equal(http_list_has("", 0, "close"), 0);
}

static void test_framing(void **state)
{
    (void)state;
    expect_ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
    assert_int_equal(H.content_length, 10);
    expect_ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"); /* = max_body */
    expect_ok("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
    assert_int_equal(H.content_length, 5);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                400);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\n", 400);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", 413);
    expect_fail("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 413);
    expect_fail("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: "
                "999999999999999999999999999999999999999\r\n\r\n",
                413);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", 411);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
    expect_fail("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                "Content-Length: 3\r\n\r\n",
                400);
    expect_fail("GET / HTTP/1.1\r\n\r\n", 400);                       /* Host is required */
    expect_fail("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400); /* once */
    expect_ok("GET / HTTP/1.0\r\n\r\n");
    expect_ok("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n");
    assert_int_equal(H.expect_continue, 1);
    expect_ok("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_int_equal(H.expect_continue, 0); /* HTTP/1.0 ignores it */
    expect_fail("GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417);
}

/* ---------------------------------------------------------------- limits */

static void test_limits(void **state)
{
    (void)state;
    char buf[4096];
    /* a target of max_target bytes is fine, one more is 414, complete or not */
    snprintf(buf, sizeof(buf), "GET /%063d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    expect_ok(buf);
    snprintf(buf, sizeof(buf), "GET /%064d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    expect_fail(buf, 414);
    http_perr err;
    snprintf(buf, sizeof(buf), "GET /%0100d", 0); /* no line end yet */
    assert_int_equal(http_parse_head(buf, strlen(buf), &LIM, &H, &err), HTTP_PARSE_FAIL);
    assert_int_equal(err.status, 414);
    /* max_headers fields are fine, one more is 431, also before the head ends */
    size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 7; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: y\r\n", i);
    snprintf(buf + n, sizeof(buf) - n, "\r\n");
    expect_ok(buf);
    snprintf(buf + n, sizeof(buf) - n, "X-8: y\r\n");
    assert_int_equal(http_parse_head(buf, strlen(buf), &LIM, &H, &err), HTTP_PARSE_FAIL);
    assert_int_equal(err.status, 431);
    /* the whole head: max_head bytes in all; a longer one fails once max_head bytes are in */
    n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\nX: ");
    size_t fill = LIM.max_head - n - 4;
    memset(buf + n, 'v', fill);
    memcpy(buf + n + fill, "\r\n\r\n", 5);
    assert_int_equal(strlen(buf), LIM.max_head);
    expect_ok(buf);
    memcpy(buf + n + fill, "v\r\n\r\n", 6);
    expect_fail(buf, 431);
    assert_int_equal(http_parse_head(buf, LIM.max_head, &LIM, &H, &err), HTTP_PARSE_FAIL);
    assert_int_equal(err.status, 431);
    assert_int_equal(http_parse_head(buf, LIM.max_head - 1, &LIM, &H, &err), HTTP_PARSE_MORE);
    /* a request line as long as the whole head allows */
    http_limits wide = LIM;
    wide.max_target = 10000;
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'a', 1000);
    assert_int_equal(http_parse_head(buf, 1005, &wide, &H, &err), HTTP_PARSE_FAIL);
    assert_int_equal(err.status, 414);
}

/* ---------------------------------------------------------------- truncation, pipelining */

/* Every proper prefix of a valid request is MORE; the whole is DONE. */
static void test_truncated_valid(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "GET /api/v1/revenue?date=2026-11-23 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
        "\r\nGET / HTTP/1.0\nX:\n\n",
        "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n",
        "GET http://h/p HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        /* exactly max_headers fields: the cut before the final CRLF's LF, or before it at
         * all, is not one field too many (found by fuzz_http) */
        "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\n\r\n",
        "GET / HTTP/1.1\nHost: x\nA: 1\nB: 2\nC: 3\nD: 4\nE: 5\nF: 6\nG: 7\n\n",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        size_t len = strlen(ok[i]);
        for (size_t k = 0; k < len; k++) {
            char *cut = malloc(k ? k : 1); /* exactly k bytes: ASan sees any over-read */
            memcpy(cut, ok[i], k);
            http_perr err = {0};
            http_parse_rc rc = http_parse_head(cut, k, &LIM, &H, &err);
            free(cut);
            if (rc != HTTP_PARSE_MORE)
                fail_msg("request %zu cut at %zu: rc %d (%d %s)", i, k, rc, err.status, err.msg);
        }
        expect_ok(ok[i]);
    }
}

/* Every prefix of an invalid request is MORE or the same failure as the whole. */
static void test_truncated_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01\r\n\r\n",
        "GET /\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = strlen(bad[i]);
        http_perr whole;
        assert_int_equal(http_parse_head(bad[i], len, &LIM, &H, &whole), HTTP_PARSE_FAIL);
        for (size_t k = 0; k < len; k++) {
            char *cut = malloc(k ? k : 1);
            memcpy(cut, bad[i], k);
            http_perr err = {0};
            http_parse_rc rc = http_parse_head(cut, k, &LIM, &H, &err);
            free(cut);
            assert_int_not_equal(rc, HTTP_PARSE_DONE);
            if (rc == HTTP_PARSE_FAIL)
                assert_int_equal(err.status, whole.status);
        }
    }
}

static void test_pipelined(void **state)
{
    (void)state;
    const char *r = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                    "GET /b?x HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /c HTTP/1.0\r\n\r\n";
    size_t len = strlen(r), off = 0;
    http_perr err;
    assert_int_equal(http_parse_head(r, len, &LIM, &H, &err), HTTP_PARSE_DONE);
    assert_true(slice_is(r, H.path, "/a"));
    assert_int_equal(H.content_length, 5);
    assert_memory_equal(r + H.head_len, "hello", 5);
    off = H.head_len + H.content_length;
    assert_int_equal(http_parse_head(r + off, len - off, &LIM, &H, &err), HTTP_PARSE_DONE);
    assert_true(slice_is(r + off, H.path, "/b"));
    assert_true(slice_is(r + off, H.query, "x"));
    off += H.head_len;
    assert_int_equal(http_parse_head(r + off, len - off, &LIM, &H, &err), HTTP_PARSE_DONE);
    assert_true(slice_is(r + off, H.path, "/c"));
    assert_int_equal(H.minor, 0);
    assert_int_equal(off + H.head_len, len);
}

/* Random bytes and random mutations of a valid request never crash or over-read. */
static void test_random_input(void **state)
{
    (void)state;
    static const char base[] = "GET /x?y=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n";
    uint64_t x = 88172645463325252ULL;
    for (int round = 0; round < 20000; round++) {
        size_t len = 1 + (size_t)(x % 80);
        char *b = malloc(len);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[i] = round % 2 ? (char)x : (i < sizeof(base) - 1 ? base[i] : 'a');
            if (round % 2 == 0 && x % 11 == 0)
                b[i] = (char)(x >> 8);
        }
        http_perr err;
        http_parse_rc rc = http_parse_head(b, len, &LIM, &H, &err);
        if (rc == HTTP_PARSE_DONE)
            assert_true(H.head_len <= len);
        if (rc == HTTP_PARSE_FAIL)
            assert_true(err.status >= 400 && err.status <= 505);
        free(b);
    }
}

/* ---------------------------------------------------------------- query strings */

static void test_query_decode(void **state)
{
    (void)state;
    const char *q = "a=1&b=x%20y+z&&c&d=&%41%62=%e2%82%ac";
    size_t n = strlen(q), count = 0;
    char *scratch = malloc(n + 1); /* the documented bound, exactly */
    http_param p[8];
    http_perr err;
    assert_int_equal(http_query_decode(q, n, scratch, p, 8, &count, &err), 0);
    assert_int_equal(count, 5);
    assert_string_equal(p[0].key, "a");
    assert_string_equal(p[0].val, "1");
    assert_string_equal(p[1].key, "b");
    assert_string_equal(p[1].val, "x y z");
    assert_int_equal(p[1].val_len, 5);
    assert_string_equal(p[2].key, "c");
    assert_null(p[2].val);
    assert_string_equal(p[3].key, "d");
    assert_string_equal(p[3].val, "");
    assert_string_equal(p[4].key, "Ab");
    assert_string_equal(p[4].val, "\xe2\x82\xac");
    free(scratch);

    static const char *const bad[] = {
        "date=2026-12-01%00garbage",
        "interval=hour%00xyz",
        "date%00junk=2026-12-01",
        "%00",
        "a=%G1",
        "a=%4",
        "a=%",
        "a%=1",
        "a=1&b=%zz",
        "a=%%41",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = strlen(bad[i]);
        scratch = malloc(n + 1);
        memset(&err, 0, sizeof(err));
        assert_int_equal(http_query_decode(bad[i], n, scratch, p, 8, &count, &err), -1);
        assert_int_equal(err.status, 400);
        assert_string_equal(err.code, "bad_request");
        assert_non_null(strstr(err.msg, i < 4 ? "NUL" : "percent-escape"));
        free(scratch);
    }
    q = "a&b&c&d";
    assert_int_equal(http_query_decode(q, strlen(q), scratch = malloc(8), p, 3, &count, &err), -1);
    assert_non_null(strstr(err.msg, "too many"));
    free(scratch);
    assert_int_equal(http_query_decode("", 0, scratch = malloc(1), p, 3, &count, &err), 0);
    assert_int_equal(count, 0);
    free(scratch);
}

/* ---------------------------------------------------------------- echo */

/* True when s[0..n) is valid UTF-8 (checked independently of the code under test). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

static void test_echo_utf8(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(http_echo_utf8("2026-02-30", 10, 40, out), 10);
    assert_string_equal(out, "2026-02-30");
    http_echo_utf8("\xff\xfe", 2, 40, out);
    assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
    /* "a" + 30 x "é": the cut at 40 bytes would split a character; it stops before it */
    char in[128] = "a";
    for (int i = 0; i < 30; i++)
        strcat(in, "\xc3\xa9");
    size_t n = http_echo_utf8(in, strlen(in), 40, out);
    assert_int_equal(n, 1 + 19 * 2 + 3);
    assert_memory_equal(out, in, 39);
    assert_string_equal(out + 39, "...");
    /* 4-byte characters near the cut, overlongs, surrogates, truncated sequences */
    static const char *const tricky[] = {
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80x",
        "\xc0\xaf",
        "\xe0\x80\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xe2\x82",
        "abc\xf0\x9f\x98",
        "\x80\xbf",
        "\xf5\xff",
    };
    for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
        n = http_echo_utf8(tricky[i], strlen(tricky[i]), 40, out);
        assert_int_equal(n, strlen(out));
        assert_true(n <= 43);
        assert_true(valid_utf8((const unsigned char *)out, n));
    }
    http_echo_utf8("\xc0\xaf", 2, 40, out); /* overlong: two replacement characters */
    assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd");
    /* random bytes: always valid UTF-8 out, never more than max + 3 bytes */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 5000; round++) {
        unsigned char b[60];
        for (size_t i = 0; i < sizeof(b); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[i] = (unsigned char)(x & 1 ? 0xc0 | (x >> 3) : x >> 5);
        }
        n = http_echo_utf8((const char *)b, sizeof(b), 40, out);
        assert_true(n <= 43);
        assert_true(valid_utf8((const unsigned char *)out, n));
    }
}

static void test_reason(void **state)
{
    (void)state;
    assert_string_equal(http_reason(404), "Not Found");
    assert_string_equal(http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_reason(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_line),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_bad_request_lines),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_truncated_valid),
        cmocka_unit_test(test_truncated_invalid),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_random_input),
        cmocka_unit_test(test_query_decode),
        cmocka_unit_test(test_echo_utf8),
        cmocka_unit_test(test_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
