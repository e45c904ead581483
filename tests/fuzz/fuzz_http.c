/* fuzz_http — the HTTP/1.x request-head parser and the query decoder (src/io/http_parse.c),
 * the first code every byte from a client meets.
 *
 * The input is fed to http_parse_head whole and at every 7th prefix (the server parses a head
 * as it arrives). Invariants: a prefix of a DONE head is never FAIL unless a limit fires on
 * the partial input; DONE slices lie inside the head; a FAIL carries a 4xx/5xx status with a
 * code and a short message of valid UTF-8; the query of a DONE head decodes or fails with
 * 400, and the parameters it yields fit in the scratch it was given; the error echo is valid
 * UTF-8 of bounded length. */
#include "fuzz.h"

#include "core/utf8.h"
#include "io/http_parse.h"

static const http_limits lim = {
    .max_target = 8192, .max_head = 32768, .max_headers = 100, .max_body = 65536};

static void check_slice(http_slice s, size_t head_len)
{
    FUZZ_CHECK((size_t)s.off + s.len <= head_len);
}

static void check_fail(const http_perr *err)
{
    FUZZ_CHECK(err->status >= 400 && err->status < 600 && err->code && err->code[0]);
    FUZZ_CHECK(strlen(err->msg) < sizeof(err->msg) && utf8_valid(err->msg, strlen(err->msg)));
}

static void check_done(const char *buf, const http_head *h)
{
    FUZZ_CHECK(h->head_len > 0);
    check_slice(h->method, h->head_len);
    check_slice(h->path, h->head_len);
    check_slice(h->query, h->head_len);
    FUZZ_CHECK(h->nfields <= lim.max_headers && h->content_length <= lim.max_body);
    for (size_t i = 0; i < h->nfields; i++) {
        check_slice(h->fields[i].name, h->head_len);
        check_slice(h->fields[i].value, h->head_len);
        FUZZ_CHECK(h->fields[i].name.len > 0);
    }
    if (!h->has_query)
        return;
    char *scratch = malloc((size_t)h->query.len + 1);
    http_param params[32];
    size_t n = 0;
    http_perr err;
    if (http_query_decode(buf + h->query.off, h->query.len, scratch, params, 32, &n, &err) == 0) {
        FUZZ_CHECK(n <= 32);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(strlen(params[i].key) == params[i].key_len);
            FUZZ_CHECK(params[i].val == NULL || strlen(params[i].val) == params[i].val_len);
            FUZZ_CHECK(params[i].key_len + params[i].val_len <= h->query.len);
        }
    } else {
        FUZZ_CHECK(err.status == 400);
        check_fail(&err);
    }
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    http_head h;
    http_perr err;
    http_parse_rc whole = http_parse_head(buf, size, &lim, &h, &err);
    if (whole == HTTP_PARSE_FAIL)
        check_fail(&err);
    if (whole == HTTP_PARSE_DONE) {
        FUZZ_CHECK(h.head_len <= size);
        check_done(buf, &h);
        size_t head_len = h.head_len;
        for (size_t cut = 0; cut < head_len; cut += 7) {
            http_head p;
            http_perr perr;
            /* a prefix of a good head may only wait for more (a limit cannot fire: the whole
             * head was within them) */
            FUZZ_CHECK(http_parse_head(buf, cut, &lim, &p, &perr) == HTTP_PARSE_MORE);
        }
    }
    char echo[64 + 4];
    size_t n = http_echo_utf8(buf, size, 64, echo);
    FUZZ_CHECK(n == strlen(echo) && n <= 64 + 3 && utf8_valid(echo, n));
    return 0;
}
