/* speed_tx.h — one source transaction as the speed layer sees it, and how it becomes
 * aggregate deltas.
 *
 * An order row contributes revenue f(row): +total on its paid_at day and −total on its
 * refunded_at day (by hour, minute, ship_city and item category too). A change contributes
 * f(new) − f(old): an insert f(new), a delete −f(old), a refund f(new) − f(old) = −total at
 * refunded_at. Status changes that move no money (shipped, delivered) contribute nothing.
 *
 * Commit is two-phase so the caller can do I/O in between: speed_tx_missing() lists the
 * products and orders whose categories are not in memory, the caller loads them from the
 * source into the dims, then speed_tx_apply() adds the deltas to a batch. Pure logic: no I/O. */
#ifndef HDP_SPEED_TX_H
#define HDP_SPEED_TX_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/i64map.h"
#include "speed/speed_batch.h"
#include "speed/speed_dims.h"

#define SPEED_TS_NULL INT64_MIN

typedef struct speed_order_row {
    int64_t order_id;
    int64_t total;       /* cents */
    int64_t paid_at;     /* Unix µs or SPEED_TS_NULL */
    int64_t refunded_at; /* Unix µs or SPEED_TS_NULL */
    const char *city;    /* not owned; copied by speed_tx_order() */
    size_t city_len;
} speed_order_row;

typedef struct speed_tx_change {
    int has_old, has_new;
    speed_order_row old_row, new_row;  /* city resolved from the offsets by resolve_cities() */
    size_t old_city_off, new_city_off; /* into the tx arena, which may move as it grows */
} speed_tx_change;

typedef struct speed_tx_item {
    int64_t order_id, product_id, quantity, unit_price;
} speed_tx_item;

typedef struct speed_tx {
    uint64_t end_lsn;
    int64_t commit_us; /* Unix µs */
    speed_tx_change *changes;
    size_t nchanges, changes_cap;
    speed_tx_item *items;
    size_t nitems, items_cap;
    i64map inserted; /* order_id → 1 for orders inserted by this transaction */
    hdp_buf arena;   /* copied strings */
} speed_tx;

void speed_tx_init(speed_tx *t);
void speed_tx_free(speed_tx *t);
void speed_tx_begin(speed_tx *t, uint64_t end_lsn, int64_t commit_us);

/* Records a change of an orders row; either side may be absent (insert / delete). */
void speed_tx_order(speed_tx *t, const speed_order_row *old_row, const speed_order_row *new_row);
void speed_tx_item_insert(speed_tx *t, const speed_tx_item *item);

/* Fills the ids the dims lack: products of this tx's items, and orders whose money moves
 * but whose categories are neither in this tx nor cached. Arrays are caller-owned buffers
 * of int64_t, reset first. */
void speed_tx_missing(speed_tx *t, const speed_dims *d, hdp_buf *products, hdp_buf *orders);

/* Adds this transaction's deltas (segment seg) to the batch, quarantining what it cannot
 * attribute, and caches the categories of the orders it placed. */
void speed_tx_apply(speed_tx *t, speed_dims *d, int64_t seg, speed_batch *b);

#endif
