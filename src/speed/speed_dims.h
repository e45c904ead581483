/* speed_dims.h — the dimension state the speed layer needs, kept in memory:
 *   product_id → category (a product's category never changes), and
 *   order_id   → its amounts by category (an order's items never change after it is placed),
 * so a refund can be attributed to categories without reading the source. Both are caches:
 * a miss is answered from the source database by the consumer, never guessed. */
#ifndef HDP_SPEED_DIMS_H
#define HDP_SPEED_DIMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/i64map.h"

typedef struct speed_dims {
    char **cats; /* interned category names */
    size_t ncats, cats_cap;
    i64map products;  /* product_id → category index */
    i64map orders;    /* order_id → offset into amounts */
    int64_t *amounts; /* [n, cat, cents, cat, cents, ...] per order */
    size_t amounts_len, amounts_cap;
    size_t max_amounts; /* clear the order cache when it would grow past this */
} speed_dims;

void speed_dims_init(speed_dims *d);
void speed_dims_free(speed_dims *d);

/* Returns the index of a category name, interning it. */
int64_t speed_dims_intern(speed_dims *d, const char *name, size_t len);
const char *speed_dims_cat_name(const speed_dims *d, int64_t idx);

void speed_dims_put_product(speed_dims *d, int64_t product_id, const char *cat, size_t len);
/* Category index of a product, or -1 when unknown. */
int64_t speed_dims_product_cat(const speed_dims *d, int64_t product_id);

/* Stores an order's amounts by category (pairs of category index and cents). */
void speed_dims_put_order(speed_dims *d, int64_t order_id, const int64_t *pairs, size_t npairs);
/* Finds an order's amounts: returns 1 and points *pairs at npairs pairs, or 0. The pointer
 * is valid until the next put. */
int speed_dims_get_order(const speed_dims *d, int64_t order_id, const int64_t **pairs,
                         size_t *npairs);

#endif
