#include "speed/speed_dims.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

void speed_dims_init(speed_dims *d)
{
    memset(d, 0, sizeof(*d));
    d->max_amounts = (size_t)16 << 20; /* 128 MiB of int64: a few million open orders */
}

void speed_dims_free(speed_dims *d)
{
    for (size_t i = 0; i < d->ncats; i++)
        free(d->cats[i]);
    free(d->cats);
    i64map_free(&d->products);
    i64map_free(&d->orders);
    free(d->amounts);
    memset(d, 0, sizeof(*d));
}

int64_t speed_dims_intern(speed_dims *d, const char *name, size_t len)
{
    /* Few categories (tens): a linear scan beats hashing here. */
    for (size_t i = 0; i < d->ncats; i++)
        if (strlen(d->cats[i]) == len && memcmp(d->cats[i], name, len) == 0)
            return (int64_t)i;
    if (d->ncats == d->cats_cap) {
        d->cats_cap = d->cats_cap ? d->cats_cap * 2 : 32;
        d->cats = xrealloc(d->cats, d->cats_cap * sizeof(char *));
    }
    d->cats[d->ncats] = xstrndup(name, len);
    return (int64_t)d->ncats++;
}

const char *speed_dims_cat_name(const speed_dims *d, int64_t idx)
{
    return idx >= 0 && (size_t)idx < d->ncats ? d->cats[idx] : "";
}

void speed_dims_put_product(speed_dims *d, int64_t product_id, const char *cat, size_t len)
{
    i64map_put(&d->products, product_id, speed_dims_intern(d, cat, len));
}

int64_t speed_dims_product_cat(const speed_dims *d, int64_t product_id)
{
    int64_t v;
    return i64map_get(&d->products, product_id, &v) ? v : -1;
}

void speed_dims_put_order(speed_dims *d, int64_t order_id, const int64_t *pairs, size_t npairs)
{
    size_t need = 1 + 2 * npairs;
    if (d->amounts_len + need > d->max_amounts) {
        /* Bounded memory: forget every cached order; misses go to the source. */
        i64map_clear(&d->orders);
        d->amounts_len = 0;
    }
    if (d->amounts_len + need > d->amounts_cap) {
        size_t cap = d->amounts_cap ? d->amounts_cap * 2 : 4096;
        while (cap < d->amounts_len + need)
            cap *= 2;
        d->amounts = xrealloc(d->amounts, cap * sizeof(int64_t));
        d->amounts_cap = cap;
    }
    int64_t *p = d->amounts + d->amounts_len;
    p[0] = (int64_t)npairs;
    if (npairs)
        memcpy(p + 1, pairs, 2 * npairs * sizeof(int64_t));
    i64map_put(&d->orders, order_id, (int64_t)d->amounts_len);
    d->amounts_len += need;
}

int speed_dims_get_order(const speed_dims *d, int64_t order_id, const int64_t **pairs,
                         size_t *npairs)
{
    int64_t off;
    if (!i64map_get(&d->orders, order_id, &off))
        return 0;
    *npairs = (size_t)d->amounts[off];
    *pairs = d->amounts + off + 1;
    return 1;
}
