#include "format/copytext.h"

#include <string.h>

#include "core/timeutil.h"

void copy_put_text(hdp_buf *b, const char *s)
{
    copy_put_textn(b, s, strlen(s));
}

void copy_put_textn(hdp_buf *b, const char *s, size_t n)
{
    const char *run = s, *end = s + n;
    for (; s < end; s++) {
        char esc;
        switch (*s) {
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
        default:
            continue;
        }
        buf_append(b, run, (size_t)(s - run));
        buf_putc(b, '\\');
        buf_putc(b, esc);
        run = s + 1;
    }
    buf_append(b, run, (size_t)(s - run));
}

static char *put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void copy_put_ts(hdp_buf *b, int64_t unix_us)
{
    int64_t day = floor_div(unix_us, USEC_PER_DAY);
    int64_t rem = unix_us - day * USEC_PER_DAY;
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    unsigned secs = (unsigned)(rem / USEC_PER_SEC);
    char out[32];
    char *p = put_digits(out, (unsigned)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = ' ';
    p = put_digits(p, secs / 3600, 2);
    *p++ = ':';
    p = put_digits(p, secs / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, secs % 60, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)(rem % USEC_PER_SEC), 6);
    memcpy(p, "+00", 3);
    p += 3;
    buf_append(b, out, (size_t)(p - out));
}
