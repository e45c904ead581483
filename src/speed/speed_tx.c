#include "speed/speed_tx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

void speed_tx_init(speed_tx *t)
{
    memset(t, 0, sizeof(*t));
}

void speed_tx_free(speed_tx *t)
{
    free(t->changes);
    free(t->items);
    i64map_free(&t->inserted);
    buf_free(&t->arena);
    memset(t, 0, sizeof(*t));
}

void speed_tx_begin(speed_tx *t, uint64_t end_lsn, int64_t commit_us)
{
    t->end_lsn = end_lsn;
    t->commit_us = commit_us;
    t->nchanges = 0;
    t->nitems = 0;
    if (t->inserted.len)
        i64map_clear(&t->inserted);
    buf_reset(&t->arena);
}

/* Copies a row; its city goes into the arena and is found again by offset. */
static void copy_row(speed_tx *t, speed_order_row *dst, size_t *off, const speed_order_row *src)
{
    *dst = *src;
    dst->city = NULL;
    *off = t->arena.len;
    buf_append(&t->arena, src->city, src->city_len);
}

void speed_tx_order(speed_tx *t, const speed_order_row *old_row, const speed_order_row *new_row)
{
    if (t->nchanges == t->changes_cap) {
        t->changes_cap = t->changes_cap ? t->changes_cap * 2 : 256;
        t->changes = xrealloc(t->changes, t->changes_cap * sizeof(speed_tx_change));
    }
    speed_tx_change *c = &t->changes[t->nchanges++];
    memset(c, 0, sizeof(*c));
    if (old_row) {
        c->has_old = 1;
        copy_row(t, &c->old_row, &c->old_city_off, old_row);
    }
    if (new_row) {
        c->has_new = 1;
        copy_row(t, &c->new_row, &c->new_city_off, new_row);
        if (!old_row)
            i64map_put(&t->inserted, new_row->order_id, 1);
    }
}

void speed_tx_item_insert(speed_tx *t, const speed_tx_item *item)
{
    if (t->nitems == t->items_cap) {
        t->items_cap = t->items_cap ? t->items_cap * 2 : 1024;
        t->items = xrealloc(t->items, t->items_cap * sizeof(speed_tx_item));
    }
    t->items[t->nitems++] = *item;
}

static int moves_money(const speed_tx_change *c)
{
    const speed_order_row *o = &c->old_row, *n = &c->new_row;
    if (c->has_old && c->has_new)
        return o->total != n->total || o->paid_at != n->paid_at ||
               o->refunded_at != n->refunded_at || o->city_len != n->city_len ||
               (o->city_len && memcmp(o->city, n->city, o->city_len) != 0);
    const speed_order_row *r = c->has_new ? n : o;
    return r->paid_at != SPEED_TS_NULL || r->refunded_at != SPEED_TS_NULL;
}

static void push_id(hdp_buf *b, int64_t id)
{
    const int64_t *ids = (const int64_t *)b->data;
    for (size_t i = 0; i < b->len / sizeof(int64_t); i++)
        if (ids[i] == id)
            return;
    buf_append(b, &id, sizeof(id));
}

/* Points every row's city into the arena (call once the transaction is complete). */
static void resolve_cities(speed_tx *t)
{
    for (size_t i = 0; i < t->nchanges; i++) {
        speed_tx_change *c = &t->changes[i];
        c->old_row.city = t->arena.data + c->old_city_off;
        c->new_row.city = t->arena.data + c->new_city_off;
    }
}

void speed_tx_missing(speed_tx *t, const speed_dims *d, hdp_buf *products, hdp_buf *orders)
{
    buf_reset(products);
    buf_reset(orders);
    resolve_cities(t);
    for (size_t i = 0; i < t->nitems; i++)
        if (speed_dims_product_cat(d, t->items[i].product_id) < 0)
            push_id(products, t->items[i].product_id);
    for (size_t i = 0; i < t->nchanges; i++) {
        const speed_tx_change *c = &t->changes[i];
        int64_t id = c->has_new ? c->new_row.order_id : c->old_row.order_id;
        const int64_t *pairs;
        size_t n;
        int64_t dummy;
        if (!moves_money(c) || i64map_get(&t->inserted, id, &dummy) ||
            speed_dims_get_order(d, id, &pairs, &n))
            continue;
        push_id(orders, id);
    }
}

/* ------------------------------------------------------------------ contributions */

typedef struct pairs_buf {
    int64_t v[64]; /* up to 32 (category, cents) pairs — an order has at most a few */
    size_t n;
} pairs_buf;

static void pairs_add(pairs_buf *p, int64_t cat, int64_t cents)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[2 * i] == cat) {
            p->v[2 * i + 1] += cents;
            return;
        }
    if (p->n < 32) {
        p->v[2 * p->n] = cat;
        p->v[2 * p->n + 1] = cents;
        p->n++;
    }
}

static size_t fmt2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return 2;
}

/* Adds sign × the revenue of one event (paid or refunded) at time ts. */
static void add_event(speed_batch *b, const speed_dims *d, int64_t seg, int64_t ts, int refund,
                      int sign, const speed_order_row *r, const int64_t *pairs, size_t npairs)
{
    int64_t day = floor_div(ts, USEC_PER_DAY);
    int64_t secs = floor_div(ts, USEC_PER_SEC) - day * 86400;
    int hh = (int)(secs / 3600), mm = (int)(secs / 60 % 60);
    int64_t money = sign * (refund ? -r->total : r->total);
    int64_t count = refund ? 0 : sign;
    char f[300];
    size_t n;

    if (refund) {
        speed_batch_add(b, seg, day, "refunded", 8, sign * r->total);
        speed_batch_add(b, seg, day, "refunds", 7, sign);
    } else {
        speed_batch_add(b, seg, day, "paid", 4, sign * r->total);
        speed_batch_add(b, seg, day, "orders", 6, sign);
    }
    n = 0;
    f[n++] = 'h';
    f[n++] = ':';
    n += fmt2(f + n, hh);
    speed_batch_add(b, seg, day, f, n, money);
    f[n++] = ':';
    n += fmt2(f + n, mm);
    f[0] = 'm';
    speed_batch_add(b, seg, day, f, n, money);
    if (count) {
        memcpy(f, "hn:", 3);
        fmt2(f + 3, hh);
        speed_batch_add(b, seg, day, f, 5, count);
        memcpy(f, "mn:", 3);
        fmt2(f + 3, hh);
        f[5] = ':';
        fmt2(f + 6, mm);
        speed_batch_add(b, seg, day, f, 8, count);
    }
    size_t cl = r->city_len > 250 ? 250 : r->city_len;
    memcpy(f, "c:", 2);
    memcpy(f + 2, r->city, cl);
    speed_batch_add(b, seg, day, f, 2 + cl, money);
    if (count) {
        memcpy(f, "cn:", 3);
        memcpy(f + 3, r->city, cl);
        speed_batch_add(b, seg, day, f, 3 + cl, count);
        f[1] = 'p';
        speed_batch_add(b, seg, day, f, 3 + cl, money);
    }
    for (size_t i = 0; i < npairs; i++) {
        const char *cat = speed_dims_cat_name(d, pairs[2 * i]);
        size_t kl = strlen(cat);
        if (kl > 250)
            kl = 250;
        memcpy(f, "k:", 2);
        memcpy(f + 2, cat, kl);
        speed_batch_add(b, seg, day, f, 2 + kl,
                        sign * (refund ? -pairs[2 * i + 1] : pairs[2 * i + 1]));
        if (count) {
            memcpy(f, "kn:", 3);
            memcpy(f + 3, cat, kl);
            speed_batch_add(b, seg, day, f, 3 + kl, count);
        }
    }
}

static void contribute(speed_batch *b, const speed_dims *d, int64_t seg, int sign,
                       const speed_order_row *r, const int64_t *pairs, size_t npairs)
{
    if (r->paid_at != SPEED_TS_NULL)
        add_event(b, d, seg, r->paid_at, 0, sign, r, pairs, npairs);
    if (r->refunded_at != SPEED_TS_NULL)
        add_event(b, d, seg, r->refunded_at, 1, sign, r, pairs, npairs);
}

static int cmp_item(const void *a, const void *b)
{
    const speed_tx_item *x = a, *y = b;
    if (x->order_id != y->order_id)
        return x->order_id < y->order_id ? -1 : 1;
    return 0;
}

/* Groups this transaction's items by order into category amounts, caching them in the
 * dims; items that cannot be attributed are quarantined. */
static void cache_items(speed_tx *t, speed_dims *d, speed_batch *b)
{
    if (t->nitems > 1)
        qsort(t->items, t->nitems, sizeof(speed_tx_item), cmp_item);
    for (size_t i = 0; i < t->nitems;) {
        int64_t oid = t->items[i].order_id, dummy;
        int placed_here = i64map_get(&t->inserted, oid, &dummy);
        pairs_buf p = {.n = 0};
        size_t j = i;
        for (; j < t->nitems && t->items[j].order_id == oid; j++) {
            const speed_tx_item *it = &t->items[j];
            char rec[160];
            snprintf(rec, sizeof(rec), "{\"order_id\":%lld,\"product_id\":%lld}",
                     (long long)it->order_id, (long long)it->product_id);
            if (!placed_here) {
                speed_batch_quarantine(b, t->end_lsn, "order_items",
                                       "item added after its order was placed", rec);
                continue;
            }
            int64_t cat = speed_dims_product_cat(d, it->product_id);
            int64_t line;
            if (cat < 0) {
                speed_batch_quarantine(b, t->end_lsn, "order_items", "unknown product", rec);
                continue;
            }
            if (__builtin_mul_overflow(it->quantity, it->unit_price, &line)) {
                speed_batch_quarantine(b, t->end_lsn, "order_items", "line amount overflows", rec);
                continue;
            }
            pairs_add(&p, cat, line);
        }
        if (placed_here)
            speed_dims_put_order(d, oid, p.v, p.n);
        i = j;
    }
    /* Orders placed with no items still get an (empty) entry: no source lookup later. */
    for (size_t i = 0; i < t->nchanges; i++) {
        const speed_tx_change *c = &t->changes[i];
        const int64_t *pp;
        size_t n;
        if (c->has_new && !c->has_old && !speed_dims_get_order(d, c->new_row.order_id, &pp, &n))
            speed_dims_put_order(d, c->new_row.order_id, NULL, 0);
    }
}

void speed_tx_apply(speed_tx *t, speed_dims *d, int64_t seg, speed_batch *b)
{
    resolve_cities(t);
    cache_items(t, d, b);
    for (size_t i = 0; i < t->nchanges; i++) {
        const speed_tx_change *c = &t->changes[i];
        if (!moves_money(c))
            continue;
        int64_t id = c->has_new ? c->new_row.order_id : c->old_row.order_id;
        const int64_t *pairs = NULL;
        size_t npairs = 0;
        if (!speed_dims_get_order(d, id, &pairs, &npairs)) {
            char rec[96];
            snprintf(rec, sizeof(rec), "{\"order_id\":%lld}", (long long)id);
            /* Day and city totals are still exact; only the category split is unknown. */
            speed_batch_quarantine(b, t->end_lsn, "orders",
                                   "order items unknown: categories not attributed", rec);
        }
        if (c->has_old)
            contribute(b, d, seg, -1, &c->old_row, pairs, npairs);
        /* contribute(old) may have evicted nothing: pairs stay valid (no put in between). */
        if (c->has_new)
            contribute(b, d, seg, +1, &c->new_row, pairs, npairs);
    }
}
