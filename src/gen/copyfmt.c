#include "gen/copyfmt.h"

#include "format/copytext.h"

#include <string.h>

#include "core/decimal.h"
#include "core/timeutil.h"


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
