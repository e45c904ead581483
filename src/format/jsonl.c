#include "format/jsonl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"

/* Bytes that end the fast path of a string: 1 for '"', '\\' and control characters, 2 for
 * the lead of a multibyte sequence (validated as UTF-8 on the slow path). */
#define U2 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2
static const uint8_t str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         1,          1,           1,  1,  1,  1,  1,  1,  1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1, [0x80] = U2, U2, U2, U2, U2, U2, U2, U2,
};
#undef U2

typedef struct cur {
    const char *p, *end;
    char *out; /* next free byte of the scratch buffer */
    const char *why;
} cur;

static int fail(cur *c, const char *why)
{
    c->why = why;
    return -1;
}

static void skip_ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hex4(const char *p, unsigned *v)
{
    unsigned r = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        r <<= 4;
        if (ch >= '0' && ch <= '9')
            r |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            r |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            r |= (unsigned)(ch - 'A' + 10);
        else
            return -1;
    }
    *v = r;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* One \uXXXX escape (c->p at the 'u'), a surrogate pair taking two. Writes UTF-8 to *o. */
static int unicode_escape(cur *c, char **o)
{
    unsigned cp, lo;
    if (c->end - c->p < 5 || hex4(c->p + 1, &cp) != 0)
        return fail(c, "bad \\u escape");
    c->p += 5;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(c, "lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || hex4(c->p + 2, &lo) != 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return fail(c, "lone high surrogate");
        c->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    *o = put_utf8(*o, cp);
    return 0;
}

/* A string (c->p just past the opening quote). Without escapes the result points into the
 * line; with escapes it is decoded into the scratch buffer. */
static int scan_string(cur *c, const char **val, size_t *len)
{
    const char *start = c->p;
    /* eight bytes at a time while none of them is '"', '\\' or a control character */
    while (c->end - c->p >= 8) {
        uint64_t v;
        memcpy(&v, c->p, 8);
        const uint64_t ones = UINT64_C(0x0101010101010101), high = UINT64_C(0x8080808080808080);
        uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
        uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v) | v;
        if (hit & high)
            break;
        c->p += 8;
    }
    for (;;) {
        while (c->p < c->end && !str_stop[(uint8_t)*c->p])
            c->p++;
        if (c->p == c->end || str_stop[(uint8_t)*c->p] != 2)
            break;
        size_t k = utf8_seq_len((const unsigned char *)c->p, (size_t)(c->end - c->p));
        if (k == 0)
            return fail(c, "invalid UTF-8 in string");
        c->p += k;
    }
    if (c->p == c->end)
        return fail(c, "unterminated string");
    if (*c->p == '"') {
        *val = start;
        *len = (size_t)(c->p - start);
        c->p++;
        return 0;
    }
    if ((uint8_t)*c->p < 0x20)
        return fail(c, "control character in string");
    char *o = c->out;
    *val = o;
    for (const char *q = start; q < c->p; q++)
        *o++ = *q;
    for (;;) {
        if (c->p == c->end)
            return fail(c, "unterminated string");
        char ch = *c->p;
        if (ch == '"') {
            c->p++;
            break;
        }
        if ((uint8_t)ch < 0x20)
            return fail(c, "control character in string");
        if ((uint8_t)ch >= 0x80) {
            size_t k = utf8_seq_len((const unsigned char *)c->p, (size_t)(c->end - c->p));
            if (k == 0)
                return fail(c, "invalid UTF-8 in string");
            memcpy(o, c->p, k);
            o += k;
            c->p += k;
            continue;
        }
        if (ch != '\\') {
            *o++ = ch;
            c->p++;
            continue;
        }
        if (++c->p == c->end)
            return fail(c, "unterminated string");
        switch (*c->p) {
        case '"':
        case '\\':
        case '/':
            *o++ = *c->p;
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u':
            if (unicode_escape(c, &o) != 0)
                return -1;
            continue;
        default:
            return fail(c, "bad escape");
        }
        c->p++;
    }
    *len = (size_t)(o - *val);
    c->out = o;
    return 0;
}

static int is_digit(const cur *c)
{
    return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

/* A number by JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(cur *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (!is_digit(c))
        return fail(c, "bad number");
    if (*c->p == '0')
        c->p++;
    else
        while (is_digit(c))
            c->p++;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!is_digit(c))
            return fail(c, "bad number");
        while (is_digit(c))
            c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!is_digit(c))
            return fail(c, "bad number");
        while (is_digit(c))
            c->p++;
    }
    return 0;
}

static int scan_word(cur *c, const char *w, size_t n)
{
    if ((size_t)(c->end - c->p) < n)
        return fail(c, "truncated");
    for (size_t i = 0; i < n; i++)
        if (c->p[i] != w[i])
            return fail(c, "bad literal");
    c->p += n;
    return 0;
}

static int scan_value(cur *c, jsonl_field *f, int depth);

/* A nested array or object, checked and kept as raw text (JV_OTHER). */
static int scan_nested(cur *c, int depth)
{
    char close = *c->p == '[' ? ']' : '}';
    int is_obj = close == '}';
    if (depth > 32)
        return fail(c, "nested too deep");
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return 0;
    }
    for (;;) {
        jsonl_field tmp;
        skip_ws(c);
        if (is_obj) {
            if (c->p == c->end || *c->p != '"')
                return fail(c, c->p == c->end ? "truncated" : "expected a key");
            c->p++;
            if (scan_string(c, &tmp.key, &tmp.klen) != 0)
                return -1;
            skip_ws(c);
            if (c->p == c->end || *c->p != ':')
                return fail(c, c->p == c->end ? "truncated" : "expected ':'");
            c->p++;
            skip_ws(c);
        }
        if (scan_value(c, &tmp, depth + 1) != 0)
            return -1;
        skip_ws(c);
        if (c->p == c->end)
            return fail(c, "truncated");
        if (*c->p == close) {
            c->p++;
            return 0;
        }
        if (*c->p != ',')
            return fail(c, "expected ',' or end");
        c->p++;
    }
}

static int scan_value(cur *c, jsonl_field *f, int depth)
{
    if (c->p == c->end)
        return fail(c, "truncated");
    const char *start = c->p;
    switch (*c->p) {
    case '"':
        c->p++;
        f->kind = JV_STR;
        return scan_string(c, &f->val, &f->vlen);
    case 'n':
        f->kind = JV_NULL;
        return scan_word(c, "null", 4);
    case 't':
        f->kind = JV_TRUE;
        return scan_word(c, "true", 4);
    case 'f':
        f->kind = JV_FALSE;
        return scan_word(c, "false", 5);
    case '[':
    case '{':
        f->kind = JV_OTHER;
        if (scan_nested(c, depth) != 0)
            return -1;
        break;
    default:
        f->kind = JV_NUM;
        if (scan_number(c) != 0)
            return -1;
        break;
    }
    f->val = start;
    f->vlen = (size_t)(c->p - start);
    return 0;
}

int jsonl_scan(jsonl_scanner *s, const char *line, size_t n, const char **why)
{
    if (s->cap < n + 1) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < n + 1)
            cap *= 2;
        free(s->scratch);
        s->scratch = xmalloc(cap);
        s->cap = cap;
    }
    cur c = {line, line + n, s->scratch, NULL};
    s->nfields = 0;
    skip_ws(&c);
    if (c.p == c.end || *c.p != '{') {
        *why = c.p == c.end ? "empty line" : "not a JSON object";
        return -1;
    }
    c.p++;
    skip_ws(&c);
    int empty = c.p < c.end && *c.p == '}';
    if (empty)
        c.p++;
    while (!empty) {
        skip_ws(&c);
        if (c.p == c.end || *c.p != '"') {
            *why = c.p == c.end ? "truncated" : "expected a key";
            return -1;
        }
        if (s->nfields == JSONL_MAX_FIELDS) {
            *why = "too many fields";
            return -1;
        }
        jsonl_field *f = &s->fields[s->nfields];
        c.p++;
        if (scan_string(&c, &f->key, &f->klen) != 0)
            break;
        skip_ws(&c);
        if (c.p == c.end || *c.p != ':') {
            c.why = c.p == c.end ? "truncated" : "expected ':'";
            break;
        }
        c.p++;
        skip_ws(&c);
        if (scan_value(&c, f, 0) != 0)
            break;
        s->nfields++;
        skip_ws(&c);
        if (c.p == c.end) {
            c.why = "truncated";
            break;
        }
        if (*c.p == '}') {
            c.p++;
            break;
        }
        if (*c.p != ',') {
            c.why = "expected ',' or '}'";
            break;
        }
        c.p++;
    }
    if (c.why) {
        *why = c.why;
        return -1;
    }
    skip_ws(&c);
    if (c.p != c.end) {
        *why = "trailing bytes after the object";
        return -1;
    }
    return 0;
}

void jsonl_scanner_free(jsonl_scanner *s)
{
    free(s->scratch);
    s->scratch = NULL;
    s->cap = 0;
    s->nfields = 0;
}
