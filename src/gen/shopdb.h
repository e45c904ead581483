/* shopdb.h — the generator's reads and writes on the `shop` database. Every write function is
 * one transaction of its own (BEGIN ... COMMIT, ROLLBACK on failure), so the change stream
 * shows a realistic history: orders are paid first, shipped, delivered or refunded later. */
#ifndef HDP_GEN_SHOPDB_H
#define HDP_GEN_SHOPDB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "gen/model.h"

/* An order waiting for its next lifecycle step. */
typedef struct gen_pending {
    int64_t order_id;
    int fate;
    int64_t ship_delay;  /* µs after paid_at */
    int64_t final_delay; /* µs after paid_at */
    int64_t due;         /* monotonic µs when the step is due */
} gen_pending;

/* Fails with a hint to run `hdp init` when a table of the shop schema is missing. */
int shop_check_schema(PGconn *c, hdp_err *e);

/* Takes hdp's session advisory lock for generators (waits for another generator to finish),
 * so two generators never hand out the same ids. Released when the connection closes. */
int shop_lock(PGconn *c, hdp_err *e);

/* Loads every customer and product, in id order, into d (which must be empty). */
int shop_load_dims(PGconn *c, gen_dims *d, hdp_err *e);

/* max(col) + 1 of table (1 when empty). table and col are trusted identifiers. */
int shop_next_id(PGconn *c, const char *table, const char *col, int64_t *next, hdp_err *e);

/* Inserts d's customers [from, ncust), and products [from, nprod), each with one COPY. */
int shop_insert_customers(PGconn *c, const gen_dims *d, size_t from, hdp_buf *scratch, hdp_err *e);
int shop_insert_products(PGconn *c, const gen_dims *d, size_t from, hdp_buf *scratch, hdp_err *e);

/* Inserts n paid orders and their items (COPY into both tables, one transaction). */
int shop_insert_orders(PGconn *c, const gen_order *o, size_t n, hdp_buf *scratch, hdp_err *e);

/* Ships the n pending orders (paid -> shipped at paid_at + ship_delay, capped at now()).
 * *done gets the number of rows changed. */
int shop_ship(PGconn *c, const gen_pending *p, size_t n, hdp_buf *scratch, int64_t *done,
              hdp_err *e);

/* Delivers (shipped -> delivered) and refunds (paid or shipped -> refunded) the n pending
 * orders by their fate, at paid_at + final_delay capped at now(), never before the order's
 * last change. One transaction; counts rows changed. */
int shop_finish(PGconn *c, const gen_pending *p, size_t n, hdp_buf *scratch, int64_t *delivered,
                int64_t *refunded, hdp_err *e);

/* Writes the current city of n customers (updated_at = now()), one transaction. */
int shop_move_customers(PGconn *c, const gen_customer *const *cust, size_t n, hdp_err *e);

/* Writes the current name and price of n products, one transaction. */
int shop_change_products(PGconn *c, const gen_product *const *prod, size_t n, hdp_err *e);

#endif
