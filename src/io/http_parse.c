/* http_parse.c — see http_parse.h. Every line is validated as far as its bytes go, also
 * before it is complete, so garbage and oversized input fail early. */
#include "io/http_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

/* ---------------------------------------------------------------- helpers */

static http_parse_rc fail(http_perr *err, int status, const char *code, const char *msg)
{
    err->status = status;
    err->code = code;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    return HTTP_PARSE_FAIL;
}

static http_parse_rc bad(http_perr *err, const char *msg)
{
    return fail(err, 400, "bad_request", msg);
}

/* RFC 9110 tchar: visible ASCII except the delimiters. */
static int is_tchar(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f)
        return 0;
    switch (c) {
    case '"':
    case '(':
    case ')':
    case ',':
    case '/':
    case ':':
    case ';':
    case '<':
    case '=':
    case '>':
    case '?':
    case '@':
    case '[':
    case '\\':
    case ']':
    case '{':
    case '}':
        return 0;
    default:
        return 1;
    }
}

/* A byte allowed in a field value: HTAB, SP, VCHAR, obs-text. */
static int is_field_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static http_slice slice(size_t off, size_t len)
{
    http_slice s = {(uint32_t)off, (uint32_t)len};
    return s;
}

static int name_is(const char *b, http_slice s, const char *name, size_t n)
{
    return s.len == n && strncasecmp(b + s.off, name, n) == 0;
}

int http_list_has(const char *v, size_t n, const char *tok)
{
    size_t tlen = strlen(tok);
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && is_ows(v[e - 1]))
            e--;
        if (e - s == tlen && strncasecmp(v + s, tok, tlen) == 0)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- request line */

/* Validates the version text v[0..n): "HTTP/1.x". complete says whether the line ended. */
static http_parse_rc parse_version(const char *v, size_t n, int complete, http_head *h,
                                   http_perr *err)
{
    static const char pre[] = "HTTP/";
    size_t k = n < 5 ? n : 5;
    if (memcmp(v, pre, k) != 0)
        return bad(err, "malformed HTTP version in the request line");
    if (n > 5 && v[5] >= '0' && v[5] <= '9' && v[5] != '1') {
        for (size_t i = 6; i < n; i++)
            if (!(v[i] >= '0' && v[i] <= '9') && v[i] != '.')
                return bad(err, "malformed HTTP version in the request line");
        if (complete || n >= 8)
            return fail(err, 505, "http_version_not_supported",
                        "only HTTP/1.0 and HTTP/1.1 are supported");
        return HTTP_PARSE_MORE;
    }
    static const char one[] = "HTTP/1.";
    k = n < 7 ? n : 7;
    if (n > 8 || memcmp(v, one, k) != 0 || (n == 8 && (v[7] < '0' || v[7] > '9')))
        return bad(err, "malformed HTTP version in the request line");
    if (!complete)
        return HTTP_PARSE_MORE;
    if (n != 8)
        return bad(err, "malformed HTTP version in the request line");
    h->minor = v[7] == '0' ? 0 : 1;
    return HTTP_PARSE_DONE;
}

/* Splits the target at b[t..t+n) into path and query. */
static http_parse_rc split_target(const char *b, size_t t, size_t n, http_head *h, http_perr *err)
{
    if (memchr(b + t, '#', n) != NULL)
        return bad(err, "a request target may not contain '#'");
    size_t p = t;
    if (b[t] == '/') {
        /* origin-form */
    } else if (n == 1 && b[t] == '*') {
        h->path = slice(t, 1);
        return HTTP_PARSE_DONE;
    } else if ((n > 7 && strncasecmp(b + t, "http://", 7) == 0) ||
               (n > 8 && strncasecmp(b + t, "https://", 8) == 0)) {
        p = t + (b[t + 4] == ':' ? 7 : 8);
        while (p < t + n && b[p] != '/' && b[p] != '?')
            p++;
    } else {
        return bad(err, "invalid request target: expected a path starting with '/'");
    }
    const char *q = memchr(b + p, '?', t + n - p);
    size_t pend = q ? (size_t)(q - b) : t + n;
    h->path = slice(p, pend - p);
    if (q != NULL) {
        h->has_query = 1;
        h->query = slice(pend + 1, t + n - pend - 1);
    }
    return HTTP_PARSE_DONE;
}

/* Parses the request line b[a..end); complete is 0 while its end has not arrived. */
static http_parse_rc parse_request_line(const char *b, size_t a, size_t end, int complete,
                                        const http_limits *lim, http_head *h, http_perr *err)
{
    size_t i = a;
    while (i < end && is_tchar((unsigned char)b[i]))
        i++;
    size_t mlen = i - a;
    if (mlen > HTTP_MAX_METHOD)
        return bad(err, "request method too long");
    if (i == end)
        return complete ? bad(err, "malformed request line") : HTTP_PARSE_MORE;
    if (b[i] != ' ' || mlen == 0)
        return bad(err, "malformed request line");
    h->method = slice(a, mlen);
    size_t t = ++i;
    while (i < end && (unsigned char)b[i] > 0x20 && (unsigned char)b[i] < 0x7f)
        i++;
    size_t tlen = i - t;
    if (tlen > lim->max_target)
        return fail(err, 414, "uri_too_long", "request target too long");
    if (i == end) {
        if (!complete)
            return HTTP_PARSE_MORE;
        return bad(err, tlen ? "HTTP/0.9 requests (no HTTP version) are not supported"
                             : "malformed request line");
    }
    if (b[i] != ' ' || tlen == 0)
        return bad(err, tlen ? "invalid byte in the request target" : "malformed request line");
    i++;
    http_parse_rc rc = parse_version(b + i, end - i, complete, h, err);
    if (rc != HTTP_PARSE_DONE)
        return rc;
    return split_target(b, t, tlen, h, err);
}

/* ---------------------------------------------------------------- header fields */

/* Parses one field line b[a..end) into f; complete is 0 while its end has not arrived. */
static http_parse_rc parse_field(const char *b, size_t a, size_t end, int complete, http_field *f,
                                 http_perr *err)
{
    if (a < end && is_ows(b[a]))
        return bad(err, "obsolete line folding in a header field");
    size_t i = a;
    while (i < end && is_tchar((unsigned char)b[i]))
        i++;
    if (i == end)
        return complete ? bad(err, "header field without ':'") : HTTP_PARSE_MORE;
    if (b[i] != ':' || i == a)
        return bad(err, "malformed header field name");
    f->name = slice(a, i - a);
    i++;
    while (i < end && is_ows(b[i]))
        i++;
    size_t vs = i;
    for (; i < end; i++)
        if (!is_field_byte((unsigned char)b[i]))
            return bad(err, "invalid byte in a header field value");
    if (!complete)
        return HTTP_PARSE_MORE;
    size_t ve = end;
    while (ve > vs && is_ows(b[ve - 1]))
        ve--;
    f->value = slice(vs, ve - vs);
    return HTTP_PARSE_DONE;
}

/* Content-Length digits, saturating at SIZE_MAX; -1 when not all digits. */
static int parse_length(const char *v, size_t n, size_t *out)
{
    if (n == 0)
        return -1;
    size_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        size_t d = (size_t)(v[i] - '0');
        x = x > (SIZE_MAX - d) / 10 ? SIZE_MAX : x * 10 + d;
    }
    *out = x;
    return 0;
}

/* The checks that need the whole head: framing, Host, Connection, Expect. */
static http_parse_rc check_semantics(const char *b, const http_limits *lim, http_head *h,
                                     http_perr *err)
{
    int hosts = 0, has_cl = 0, has_te = 0, close = 0, ka = 0;
    size_t cl = 0;
    const http_field *te = NULL;
    for (size_t i = 0; i < h->nfields; i++) {
        const http_field *f = &h->fields[i];
        const char *v = b + f->value.off;
        if (name_is(b, f->name, "host", 4)) {
            hosts++;
        } else if (name_is(b, f->name, "content-length", 14)) {
            size_t x;
            if (parse_length(v, f->value.len, &x) != 0)
                return bad(err, "invalid Content-Length");
            if (has_cl && x != cl)
                return bad(err, "conflicting Content-Length headers");
            has_cl = 1;
            cl = x;
        } else if (name_is(b, f->name, "transfer-encoding", 17)) {
            has_te = 1;
            te = f;
        } else if (name_is(b, f->name, "connection", 10)) {
            close |= http_list_has(v, f->value.len, "close");
            ka |= http_list_has(v, f->value.len, "keep-alive");
        } else if (name_is(b, f->name, "expect", 6)) {
            if (f->value.len != 12 || strncasecmp(v, "100-continue", 12) != 0)
                return fail(err, 417, "expectation_failed",
                            "only 'Expect: 100-continue' is "
                            "supported");
            h->expect_continue = h->minor == 1;
        }
    }
    if (hosts > 1)
        return bad(err, "more than one Host header");
    if (hosts == 0 && h->minor == 1)
        return bad(err, "missing Host header (required by HTTP/1.1)");
    if (has_te) {
        if (has_cl)
            return bad(err, "both Transfer-Encoding and Content-Length");
        const char *v = b + te->value.off;
        size_t n = te->value.len, s = n;
        while (s > 0 && v[s - 1] != ',')
            s--;
        while (s < n && is_ows(v[s]))
            s++;
        if (n - s == 7 && strncasecmp(v + s, "chunked", 7) == 0)
            return fail(err, 411, "length_required",
                        "chunked request bodies are not supported: send a Content-Length");
        return fail(err, 501, "not_implemented", "unsupported Transfer-Encoding");
    }
    if (cl > lim->max_body) {
        char msg[96];
        snprintf(msg, sizeof(msg), "request body larger than %zu bytes", lim->max_body);
        return fail(err, 413, "payload_too_large", msg);
    }
    h->content_length = cl;
    h->keep_alive = !close && (h->minor == 1 || ka);
    return HTTP_PARSE_DONE;
}

/* ---------------------------------------------------------------- the head */

http_parse_rc http_parse_head(const char *buf, size_t len, const http_limits *lim, http_head *h,
                              http_perr *err)
{
    memset(h, 0, offsetof(http_head, fields));
    size_t lim_len = len < lim->max_head ? len : lim->max_head;
    size_t p = 0;
    while (p < lim_len) { /* empty lines before the request line are ignored */
        if (buf[p] == '\n')
            p++;
        else if (buf[p] == '\r' && p + 1 < lim_len && buf[p + 1] == '\n')
            p += 2;
        else
            break;
    }
    int line = 0; /* 0: the request line, then fields */
    for (;;) {
        const char *lf = p < lim_len ? memchr(buf + p, '\n', lim_len - p) : NULL;
        int complete = lf != NULL;
        size_t end = complete ? (size_t)(lf - buf) : lim_len;
        size_t next = end + 1;
        if (end > p && buf[end - 1] == '\r')
            end--; /* of CRLF, or of a CRLF whose LF has not arrived yet */
        http_parse_rc rc;
        if (line == 0) {
            rc = parse_request_line(buf, p, end, complete, lim, h, err);
        } else if (complete && end == p) {
            h->head_len = next;
            return check_semantics(buf, lim, h, err);
        } else {
            /* an incomplete line with nothing but a CR yet may be the head's empty last line:
             * no field to count (found by fuzz_http: a head of exactly max_headers fields
             * failed while its final CRLF was arriving) */
            if (!complete && end == p && len < lim->max_head)
                return HTTP_PARSE_MORE;
            if (h->nfields == lim->max_headers || h->nfields == HTTP_MAX_FIELDS)
                return fail(err, 431, "header_fields_too_large", "too many header fields");
            rc = parse_field(buf, p, end, complete, &h->fields[h->nfields], err);
            if (rc == HTTP_PARSE_DONE)
                h->nfields++;
        }
        if (rc == HTTP_PARSE_FAIL)
            return rc;
        if (!complete) {
            if (len < lim->max_head)
                return HTTP_PARSE_MORE;
            if (line == 0)
                return fail(err, 414, "uri_too_long", "request line too long");
            return fail(err, 431, "header_fields_too_large", "request header section too large");
        }
        line++;
        p = next;
    }
}

/* ---------------------------------------------------------------- query strings */

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

/* Decodes s[0..n) to out, NUL-terminated; returns the decoded length or -1 (err set). */
static long decode_part(const char *s, size_t n, char *out, http_perr *err)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                bad(err, "invalid percent-escape in the query string");
                return -1;
            }
            c = (char)(hi * 16 + lo);
            if (c == '\0') {
                bad(err, "a query parameter contains a NUL byte (%00)");
                return -1;
            }
            i += 2;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

int http_query_decode(const char *q, size_t n, char *scratch, http_param *out, size_t max,
                      size_t *count, http_perr *err)
{
    size_t k = 0, o = 0, i = 0;
    *count = 0;
    while (i < n) {
        const char *amp = memchr(q + i, '&', n - i);
        size_t e = amp ? (size_t)(amp - q) : n;
        if (e > i) {
            if (k == max) {
                char msg[64];
                snprintf(msg, sizeof(msg), "too many query parameters (at most %zu)", max);
                fail(err, 400, "bad_request", msg);
                return -1;
            }
            const char *eq = memchr(q + i, '=', e - i);
            size_t kend = eq ? (size_t)(eq - q) : e;
            long kl = decode_part(q + i, kend - i, scratch + o, err);
            if (kl < 0)
                return -1;
            out[k].key = scratch + o;
            out[k].key_len = (size_t)kl;
            o += (size_t)kl + 1;
            out[k].val = NULL;
            out[k].val_len = 0;
            if (eq != NULL) {
                long vl = decode_part(eq + 1, e - kend - 1, scratch + o, err);
                if (vl < 0)
                    return -1;
                out[k].val = scratch + o;
                out[k].val_len = (size_t)vl;
                o += (size_t)vl + 1;
            }
            k++;
        }
        i = e + 1;
    }
    *count = k;
    return 0;
}

/* ---------------------------------------------------------------- echo and reasons */

size_t http_echo_utf8(const char *s, size_t n, size_t max, char *out)
{
    static const char repl[] = "\xef\xbf\xbd";
    size_t o = 0, i = 0;
    while (i < n) {
        /* a NUL is replaced too: the copy is a C string, and it must stay whole */
        size_t l = s[i] == '\0' ? 0 : utf8_seq_len((const unsigned char *)s + i, n - i);
        size_t ol = l ? l : 3;
        if (o + ol > max) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, l ? s + i : repl, ol);
        o += ol;
        i += l ? l : 1;
    }
    out[o] = '\0';
    return o;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}
