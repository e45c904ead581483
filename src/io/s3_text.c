/* s3_text.c — SigV4 URI encoding and the small XML extractor (see s3_text.h). */
#include "io/s3_text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

void s3_uri_encode(hdp_buf *out, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            buf_putc(out, (char)*p);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_append(out, enc, 3);
        }
    }
}

int s3_xml_find(const char *doc, size_t len, size_t *pos, const char *tag, const char **val,
                size_t *vlen)
{
    size_t tlen = strlen(tag);
    size_t i = *pos;
    while (i + tlen + 2 <= len) {
        const char *lt = memchr(doc + i, '<', len - i);
        if (lt == NULL)
            return 0;
        i = (size_t)(lt - doc) + 1;
        if (len - i < tlen + 1 || memcmp(doc + i, tag, tlen) != 0)
            continue;
        char after = doc[i + tlen];
        if (after == '/' && i + tlen + 1 < len && doc[i + tlen + 1] == '>') {
            *val = doc + i + tlen + 2;
            *vlen = 0;
            *pos = i + tlen + 2;
            return 1;
        }
        if (after != '>')
            continue; /* a longer tag name, or attributes we do not expect */
        size_t start = i + tlen + 1;
        /* The text of a leaf element holds no '<': the next one must be our closing tag. */
        const char *close = memchr(doc + start, '<', len - start);
        if (close == NULL)
            return 0;
        size_t c = (size_t)(close - doc);
        if (len - c < tlen + 3 || close[1] != '/' || memcmp(close + 2, tag, tlen) != 0 ||
            close[2 + tlen] != '>') {
            i = c; /* not a leaf element: keep searching inside it */
            continue;
        }
        *val = doc + start;
        *vlen = c - start;
        *pos = c + tlen + 3;
        return 1;
    }
    return 0;
}

int s3_xml_block(const char *doc, size_t len, size_t *pos, const char *tag, const char **val,
                 size_t *vlen)
{
    char open_tag[80], close_tag[80];
    int no = snprintf(open_tag, sizeof(open_tag), "<%s>", tag);
    int nc = snprintf(close_tag, sizeof(close_tag), "</%s>", tag);
    if (no < 0 || nc < 0 || (size_t)nc >= sizeof(close_tag) || *pos > len)
        return 0;
    const char *o = memmem(doc + *pos, len - *pos, open_tag, (size_t)no);
    if (o == NULL)
        return 0;
    size_t start = (size_t)(o - doc) + (size_t)no;
    const char *c = memmem(doc + start, len - start, close_tag, (size_t)nc);
    if (c == NULL)
        return 0;
    *val = doc + start;
    *vlen = (size_t)(c - doc) - start;
    *pos = (size_t)(c - doc) + (size_t)nc;
    return 1;
}

static void put_utf8(hdp_buf *out, uint32_t cp)
{
    char b[4];
    if (cp < 0x80) {
        buf_putc(out, (char)cp);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        buf_append(out, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        buf_append(out, b, 3);
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        buf_append(out, b, 4);
    }
}

/* Decodes the numeric entity body ("#65" or "#x41") of length n; -1 when malformed. */
static int numeric_entity(const char *s, size_t n, uint32_t *cp)
{
    size_t i = 1;
    int base = 10;
    if (n > 1 && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i >= n)
        return -1;
    uint32_t v = 0;
    for (; i < n; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * (uint32_t)base + (uint32_t)d;
        if (v > 0x10FFFF)
            return -1;
    }
    if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    *cp = v;
    return 0;
}

int s3_xml_unescape(hdp_buf *out, const char *s, size_t n)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    buf_reserve(out, n);
    size_t i = 0;
    while (i < n) {
        if (s[i] != '&') {
            buf_putc(out, s[i++]);
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i);
        if (semi == NULL)
            return -1;
        const char *ent = s + i + 1;
        size_t elen = (size_t)(semi - ent);
        int done = 0;
        if (elen > 0 && ent[0] == '#') {
            uint32_t cp;
            if (numeric_entity(ent, elen, &cp) != 0)
                return -1;
            put_utf8(out, cp);
            done = 1;
        }
        for (size_t k = 0; !done && k < sizeof(named) / sizeof(named[0]); k++) {
            if (strlen(named[k].name) == elen && memcmp(ent, named[k].name, elen) == 0) {
                buf_putc(out, named[k].c);
                done = 1;
            }
        }
        if (!done)
            return -1;
        i = (size_t)(semi - s) + 1;
    }
    return 0;
}

void s3_xml_escape(hdp_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_puts(out, "&amp;");
            break;
        case '<':
            buf_puts(out, "&lt;");
            break;
        case '>':
            buf_puts(out, "&gt;");
            break;
        case '"':
            buf_puts(out, "&quot;");
            break;
        case '\'':
            buf_puts(out, "&apos;");
            break;
        default:
            buf_putc(out, *s);
        }
    }
}

void s3_one_line(char *out, size_t outlen, const char *s, size_t n)
{
    if (outlen == 0)
        return;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[k] = '\0';
}
