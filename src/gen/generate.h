/* generate.h — the workload driver behind `hdp generate`: creates missing customers and
 * products, then either backfills N orders over the last D days or places R orders a second
 * live; lifecycle steps (ship, deliver, refund) and dimension changes (customers move,
 * products are renamed and repriced) follow as later transactions. */
#ifndef HDP_GEN_GENERATE_H
#define HDP_GEN_GENERATE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/err.h"

typedef struct gen_stats {
    int64_t target; /* orders asked for (backfill; 0 live) */
    int64_t orders, items, shipped, delivered, refunded;
    int64_t customers_created, products_created, customers_moved, products_changed;
    int64_t elapsed_us;
    int interrupted; /* the stop flag ended the run early */
} gen_stats;

typedef struct gen_options {
    int64_t orders;   /* backfill: orders to write; 0 selects live mode */
    int64_t days;     /* backfill: paid_at spreads over the last `days` days */
    double rate;      /* live: orders a second */
    int64_t duration; /* live: seconds; 0 runs until *stop */
    uint64_t seed;
    int64_t customers;  /* create customers until at least this many exist */
    int64_t products;   /* likewise products */
    volatile int *stop; /* polled; non-zero ends the run after the current batch */
    /* Called about every 2 s with the running totals (may be NULL). */
    void (*progress)(const gen_stats *st, void *arg);
    void *progress_arg;
} gen_options;

/* Runs the workload on c (connected to `shop`). Fills *st also on failure. Same seed and
 * same starting database give the same rows, timestamps aside. */
int gen_run(PGconn *c, const gen_options *opt, gen_stats *st, hdp_err *e);

#endif
