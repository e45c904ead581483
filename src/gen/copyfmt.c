#include "gen/copyfmt.h"

#include <string.h>

#include "core/decimal.h"
#include "core/timeutil.h"

void copy_put_text(hdp_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
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

void copy_order_row(hdp_buf *b, const gen_order *o)
{
    buf_put_i64(b, o->id);
    buf_putc(b, '\t');
    buf_put_i64(b, o->customer_id);
    buf_puts(b, "\tpaid\tUSD\t");
    decimal_put(b, o->total);
    buf_putc(b, '\t');
    copy_put_text(b, o->ship_city);
    for (int i = 0; i < 3; i++) { /* created_at, updated_at, paid_at */
        buf_putc(b, '\t');
        copy_put_ts(b, o->paid_at);
    }
    buf_puts(b, "\t\\N\n");
}

void copy_item_rows(hdp_buf *b, const gen_order *o)
{
    for (int i = 0; i < o->nitems; i++) {
        const gen_item *it = &o->items[i];
        buf_put_i64(b, o->id);
        buf_putc(b, '\t');
        buf_put_i64(b, i + 1);
        buf_putc(b, '\t');
        buf_put_i64(b, it->product_id);
        buf_putc(b, '\t');
        buf_put_i64(b, it->quantity);
        buf_putc(b, '\t');
        decimal_put(b, it->unit_price);
        buf_putc(b, '\n');
    }
}

void copy_customer_row(hdp_buf *b, const gen_customer *c)
{
    buf_put_i64(b, c->id);
    buf_putc(b, '\t');
    copy_put_text(b, c->name);
    buf_putc(b, '\t');
    copy_put_text(b, c->email);
    buf_putc(b, '\t');
    copy_put_text(b, c->city);
    buf_putc(b, '\t');
    copy_put_text(b, c->country);
    buf_putc(b, '\n');
}

void copy_product_row(hdp_buf *b, const gen_product *p)
{
    buf_put_i64(b, p->id);
    buf_putc(b, '\t');
    copy_put_text(b, p->sku);
    buf_putc(b, '\t');
    copy_put_text(b, p->name);
    buf_putc(b, '\t');
    copy_put_text(b, p->category);
    buf_putc(b, '\t');
    decimal_put(b, p->price);
    buf_putc(b, '\n');
}
