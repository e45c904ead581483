/* clickhouse_text.c — exception text, TSV escaping, line and statement splitting; see
 * clickhouse_text.h. */
#include "io/clickhouse_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ exceptions */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ch_exception_parse(const char *body, size_t len, int *code, char *msg, size_t msglen)
{
    *code = 0;
    if (msglen)
        msg[0] = '\0';
    const char *p = body, *end = body + len;
    while (p < end && is_blank(*p))
        p++;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL)
        eol = end;
    while (eol > p && is_blank(eol[-1]))
        eol--;
    static const char what[] = ", e.what() = DB::Exception";
    size_t n = (size_t)(eol - p);
    if (n >= sizeof(what) - 1 && memcmp(eol - (sizeof(what) - 1), what, sizeof(what) - 1) == 0)
        n -= sizeof(what) - 1;
    if (msglen) {
        size_t m = n < msglen - 1 ? n : msglen - 1;
        for (size_t i = 0; i < m; i++)
            msg[i] = (unsigned char)p[i] < 0x20 ? ' ' : p[i];
        msg[m] = '\0';
    }
    if (n < 7 || memcmp(p, "Code: ", 6) != 0 || p[6] < '0' || p[6] > '9')
        return 0;
    long v = 0;
    for (size_t i = 6; i < n && p[i] >= '0' && p[i] <= '9' && v < 1000000; i++)
        v = v * 10 + (p[i] - '0');
    *code = (int)v;
    return 1;
}

int ch_code_is_auth(int code)
{
    return (code >= 192 && code <= 195) || code == 516;
}

int ch_code_is_transient(int code)
{
    return code == 202 || code == 209 || code == 210 || code == 216;
}

/* ------------------------------------------------------------------ TabSeparated */

void ch_tsv_escape(hdp_buf *out, const char *p, size_t n)
{
    buf_reserve(out, n);
    size_t run = 0; /* bytes copied as they are, appended in one go */
    for (size_t i = 0; i < n; i++) {
        char esc;
        switch (p[i]) {
        case '\\':
            esc = '\\';
            break;
        case '\t':
            esc = 't';
            break;
        case '\n':
            esc = 'n';
            break;
        case '\r':
            esc = 'r';
            break;
        case '\b':
            esc = 'b';
            break;
        case '\f':
            esc = 'f';
            break;
        case '\0':
            esc = '0';
            break;
        default:
            run++;
            continue;
        }
        buf_append(out, p + i - run, run);
        run = 0;
        char two[2] = {'\\', esc};
        buf_append(out, two, 2);
    }
    buf_append(out, p + n - run, run);
}

void ch_tsv_null(hdp_buf *out)
{
    buf_append(out, "\\N", 2);
}

int ch_tsv_is_null(const char *p, size_t n)
{
    return n == 2 && p[0] == '\\' && p[1] == 'N';
}

static int hex1(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ch_tsv_unescape(hdp_buf *out, const char *p, size_t n)
{
    buf_reserve(out, n);
    size_t i = 0;
    while (i < n) {
        const char *bs = memchr(p + i, '\\', n - i);
        size_t plain = bs ? (size_t)(bs - (p + i)) : n - i;
        buf_append(out, p + i, plain);
        i += plain;
        if (i >= n)
            break;
        if (i + 1 >= n)
            return -1; /* a lone backslash at the end */
        char c = p[i + 1], v;
        i += 2;
        switch (c) {
        case 'b':
            v = '\b';
            break;
        case 'f':
            v = '\f';
            break;
        case 'n':
            v = '\n';
            break;
        case 'r':
            v = '\r';
            break;
        case 't':
            v = '\t';
            break;
        case 'v':
            v = '\v';
            break;
        case 'a':
            v = '\a';
            break;
        case '0':
            v = '\0';
            break;
        case 'x':
            if (i + 2 > n || hex1(p[i]) < 0 || hex1(p[i + 1]) < 0)
                return -1;
            v = (char)(hex1(p[i]) * 16 + hex1(p[i + 1]));
            i += 2;
            break;
        default:
            v = c;
            break; /* \\ \' \" and any other: the char itself */
        }
        buf_append(out, &v, 1);
    }
    return 0;
}

int ch_tsv_fields(const char *line, size_t len, ch_field *out, int max)
{
    int n = 0;
    const char *p = line, *end = line + len;
    for (;;) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *stop = tab ? tab : end;
        if (n >= max)
            return -1;
        out[n].p = p;
        out[n].n = (size_t)(stop - p);
        n++;
        if (tab == NULL)
            return n;
        p = tab + 1;
    }
}

/* ------------------------------------------------------------------ lines */

void ch_lines_init(ch_lines *l, ch_line_fn fn, void *ctx)
{
    memset(l, 0, sizeof(*l));
    l->fn = fn;
    l->ctx = ctx;
}

int ch_lines_feed(void *lines, const char *p, size_t n, hdp_err *e)
{
    ch_lines *l = lines;
    const char *end = p + n;
    if (l->partial.len > 0) {
        const char *nl = memchr(p, '\n', n);
        if (nl == NULL) {
            buf_append(&l->partial, p, n);
            return HDP_OK;
        }
        buf_append(&l->partial, p, (size_t)(nl - p));
        int rc = l->fn(l->ctx, l->partial.data, l->partial.len, e);
        buf_reset(&l->partial);
        l->lines++;
        if (rc != HDP_OK)
            return rc;
        p = nl + 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            buf_append(&l->partial, p, (size_t)(end - p));
            break;
        }
        int rc = l->fn(l->ctx, p, (size_t)(nl - p), e);
        l->lines++;
        if (rc != HDP_OK)
            return rc;
        p = nl + 1;
    }
    return HDP_OK;
}

int ch_lines_finish(ch_lines *l, hdp_err *e)
{
    if (l->partial.len > 0)
        return hdp_fail(e, "ClickHouse result ends inside a line (%zu bytes after line %llu)",
                        l->partial.len, (unsigned long long)l->lines);
    return HDP_OK;
}

void ch_lines_free(ch_lines *l)
{
    if (l == NULL)
        return;
    buf_free(&l->partial);
}

/* ------------------------------------------------------------------ scripts */

/* Skips leading blanks and "--" comment lines of s[0..n), counting newlines into *lineno.
 * Returns the offset of the first other byte (n when there is none). */
static size_t skip_comments(const char *s, size_t n, int *lineno)
{
    size_t i = 0;
    for (;;) {
        while (i < n && is_blank(s[i])) {
            if (s[i] == '\n')
                (*lineno)++;
            i++;
        }
        if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
            const char *nl = memchr(s + i, '\n', n - i);
            i = nl ? (size_t)(nl - s) : n;
            continue;
        }
        return i;
    }
}

/* Calls fn for s[0..n) without leading comment lines and surrounding blanks, unless nothing
 * is left. */
static int emit(const char *s, size_t n, int lineno, ch_stmt_fn fn, void *ctx, hdp_err *e)
{
    size_t i = skip_comments(s, n, &lineno);
    while (n > i && is_blank(s[n - 1]))
        n--;
    if (n == i)
        return HDP_OK;
    return fn(ctx, s + i, n - i, lineno, e);
}

int ch_split_statements(const char *script, ch_stmt_fn fn, void *ctx, hdp_err *e)
{
    const char *start = script, *p = script;
    int lineno = 1, start_line = 1;
    char quote = 0; /* inside '...', "..." or `...` */
    while (*p) {
        char c = *p;
        if (quote) {
            if (c == '\\' && p[1]) {
                if (p[1] == '\n')
                    lineno++;
                p += 2;
                continue;
            }
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"' || c == '`') {
            quote = c;
        } else if (c == '-' && p[1] == '-') {
            while (p[1] && p[1] != '\n')
                p++;
        } else if (c == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            const char *stop = end ? end + 1 : p + strlen(p) - 1;
            for (const char *q = p; q < stop; q++)
                lineno += *q == '\n';
            p = stop;
        } else if (c == ';') {
            int rc = emit(start, (size_t)(p - start), start_line, fn, ctx, e);
            if (rc != HDP_OK)
                return rc;
            start = p + 1;
            start_line = lineno;
        }
        if (c == '\n')
            lineno++;
        p++;
    }
    return emit(start, (size_t)(p - start), start_line, fn, ctx, e);
}
