/* agg.h — one day's aggregates as the serving layer sums them (pure, no I/O).
 *
 * A day_agg is filled field by field from the speed layer's hashes (speed_model.h) and,
 * later, from the batch views: agg_add_field() takes one "name"/"value" pair, agg_merge()
 * adds a whole aggregate. Money in int64 cents, every sum overflow-checked. */
#ifndef HDP_SERVE_AGG_H
#define HDP_SERVE_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define AGG_HOURS   24
#define AGG_MINUTES 1440

/* A named bucket: a city or a category. */
typedef struct agg_named {
    char *name;
    int64_t cents;  /* net cents */
    int64_t orders; /* paid orders */
    int64_t paid;   /* cents of the paid orders (cities: the average check's numerator) */
} agg_named;

/* name -> index into items; open addressing, grows at half load. */
typedef struct agg_map {
    agg_named *items;
    size_t len, cap;
    uint32_t *slots; /* index + 1, 0 empty */
    size_t nslots;
} agg_map;

typedef struct day_agg {
    int64_t paid, refunded, orders, refunds;
    int64_t hour_cents[AGG_HOURS], hour_orders[AGG_HOURS];
    int64_t min_cents[AGG_MINUTES], min_orders[AGG_MINUTES];
    unsigned char hour_seen[AGG_HOURS], min_seen[AGG_MINUTES];
    agg_map cities, categories;
    int64_t segments; /* how many segment hashes were summed */
} day_agg;

void agg_init(day_agg *a);
/* Frees the maps; accepts NULL. The aggregate may be agg_init()ed again. */
void agg_free(day_agg *a);

/* Adds one hash field. Unknown field names are ignored (newer writers may add fields);
 * a known name with a bad suffix or a value that is not an integer, or an overflow, is
 * HDP_ERR with the field named in e. */
int agg_add_field(day_agg *a, const char *name, size_t nlen, const char *val, size_t vlen,
                  hdp_err *e);
/* a += b. */
int agg_merge(day_agg *a, const day_agg *b, hdp_err *e);

/* Net revenue = paid - refunded, overflow-checked. */
int agg_net(const day_agg *a, int64_t *net);

/* Looks a name up, creating it with zeros when absent; never NULL. */
agg_named *agg_map_get(agg_map *m, const char *name, size_t n);
void agg_map_free(agg_map *m);

#endif
