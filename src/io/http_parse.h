/* http_parse.h — HTTP/1.x request parsing on a byte buffer: pure functions, no I/O, no
 * allocation, so they can be unit-tested at every truncation and fuzzed.
 *
 * http_parse_head() reads one request head (request line + header fields + empty line) from
 * the start of a buffer. It answers DONE (the head is complete and valid), MORE (valid so far,
 * send more bytes) or FAIL (answer err->status and close). Limits are checked on incomplete
 * input too, so a 1 MB header line fails after max_head bytes, not after 1 MB.
 *
 * What it accepts (RFC 9112, strictly):
 *   request-line  method SP request-target SP HTTP/1.x, lines end in CRLF or LF; empty lines
 *                 before it are skipped. No version (HTTP/0.9) or a malformed line: 400;
 *                 another major version: 505; HTTP/1.2..1.9 read as 1.1.
 *   target        origin-form "/path?query", absolute-form "http://host/path", "*"; bytes
 *                 0x21..0x7e only, no '#'. Longer than max_target: 414.
 *   fields        token ':' OWS value OWS; no obs-fold, no CTL but HTAB. More than
 *                 max_headers or a head over max_head bytes: 431.
 *   semantics     HTTP/1.1 needs exactly one Host; Content-Length is digits (repeats must
 *                 agree), over max_body: 413; Transfer-Encoding: 411 when chunked (bodies need
 *                 a Content-Length), 501 for other codings, 400 with Content-Length too;
 *                 Expect other than 100-continue: 417.
 * Offsets in the result are relative to the buffer passed in, so the caller may move or grow
 * its buffer between parsing and using them. */
#ifndef HDP_IO_HTTP_PARSE_H
#define HDP_IO_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum { HTTP_MAX_FIELDS = 100, HTTP_MAX_METHOD = 32 };

typedef enum http_parse_rc { HTTP_PARSE_DONE, HTTP_PARSE_MORE, HTTP_PARSE_FAIL } http_parse_rc;

typedef struct http_limits {
    size_t max_target;  /* request-target bytes; more: 414 */
    size_t max_head;    /* bytes of the whole head; more: 431 */
    size_t max_headers; /* header fields, <= HTTP_MAX_FIELDS; more: 431 */
    size_t max_body;    /* Content-Length; more: 413 */
} http_limits;

/* A byte range of the parsed buffer. */
typedef struct http_slice {
    uint32_t off, len;
} http_slice;

typedef struct http_field {
    http_slice name, value; /* value without surrounding whitespace */
} http_field;

typedef struct http_head {
    http_slice method;
    http_slice path;  /* up to '?'; len 0 for "http://host" (means "/") */
    http_slice query; /* after '?' */
    int has_query;
    int minor;             /* 0 for HTTP/1.0, 1 otherwise */
    size_t head_len;       /* bytes up to and including the empty line */
    size_t content_length; /* 0 when absent */
    int keep_alive;        /* from the version and Connection */
    int expect_continue;   /* Expect: 100-continue */
    size_t nfields;
    http_field fields[HTTP_MAX_FIELDS]; /* last: only nfields of them are set */
} http_head;

/* Why a request is refused: the status to answer, a stable code and a message, both fit
 * for the JSON error body. */
typedef struct http_perr {
    int status;
    const char *code;
    char msg[128];
} http_perr;

/* Parses the head at the start of buf[0..len). See the header comment. */
http_parse_rc http_parse_head(const char *buf, size_t len, const http_limits *lim, http_head *h,
                              http_perr *err);

/* True when field value v[0..n) holds token tok as one element of a comma list,
 * case-insensitively ("Connection: Keep-Alive, Upgrade" holds "keep-alive"). */
int http_list_has(const char *v, size_t n, const char *tok);

/* One decoded query parameter; strings are NUL-terminated. val is NULL for "?flag". */
typedef struct http_param {
    const char *key;
    const char *val;
    size_t key_len, val_len;
} http_param;

/* Decodes a raw query string q[0..n) ("a=1&b=x%20y+z") into at most max parameters, into
 * scratch (n + 1 bytes are always enough). '+' is a space; empty pairs are skipped.
 * Returns 0, or -1 with err set (400) for an invalid percent-escape, a decoded NUL byte, or
 * more than max parameters. */
int http_query_decode(const char *q, size_t n, char *scratch, http_param *out, size_t max,
                      size_t *count, http_perr *err);

/* Copies s[0..n) for echoing in an error message: valid UTF-8 only (each invalid byte or NUL
 * becomes U+FFFD), at most max bytes of characters, cut on a character boundary with "..." appended
 * when shortened. out needs max + 4 bytes; it is NUL-terminated. Returns strlen(out). */
size_t http_echo_utf8(const char *s, size_t n, size_t max, char *out);

/* The reason phrase of a status code ("Not Found"; "Unknown" for codes it does not know). */
const char *http_reason(int status);

#endif
