#include "gen/shopdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/log.h"
#include "gen/copyfmt.h"
#include "io/pg.h"

/* hdp's advisory lock key for `hdp generate` ("hdpgen" in ASCII). */
#define GEN_LOCK_KEY "114784839206254"

/* Sends a COPY chunk once the buffer holds this much. */
#define COPY_CHUNK (1u << 20)

/* ---------------------------------------------------------------- transactions */

static void rollback(PGconn *c)
{
    PGresult *r = PQexec(c, "ROLLBACK");
    PQclear(r);
}

/* Commits; on failure rolls back and keeps the first message in e. */
static int commit(PGconn *c, hdp_err *e)
{
    if (pg_exec(c, "COMMIT", e) != HDP_OK) {
        rollback(c);
        return HDP_ERR;
    }
    return HDP_OK;
}

/* Runs one COPY: buf holds all rows; sends it in chunks. */
static int copy_all(PGconn *c, const char *sql, const hdp_buf *b, hdp_err *e)
{
    if (pg_copy_begin(c, sql, e) != HDP_OK)
        return HDP_ERR;
    for (size_t off = 0; off < b->len; off += COPY_CHUNK) {
        size_t n = b->len - off < COPY_CHUNK ? b->len - off : COPY_CHUNK;
        if (pg_copy_put(c, b->data + off, n, e) != HDP_OK) {
            hdp_err ignored;
            pg_copy_end(c, &ignored);
            return HDP_ERR;
        }
    }
    return pg_copy_end(c, e);
}

/* Runs a statement with parameters; *rows gets the changed row count when not NULL. */
static int exec_params(PGconn *c, const char *sql, int n, const char *const *params, int64_t *rows,
                       hdp_err *e)
{
    PGresult *r = pg_query(c, sql, n, params, e);
    if (r == NULL)
        return HDP_ERR;
    if (rows)
        *rows = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return HDP_OK;
}

/* ---------------------------------------------------------------- schema and dimensions */

int shop_check_schema(PGconn *c, hdp_err *e)
{
    char v[16];
    if (pg_query_value(c,
                       "SELECT to_regclass('customers') IS NOT NULL AND to_regclass('products') "
                       "IS NOT NULL AND to_regclass('orders') IS NOT NULL AND "
                       "to_regclass('order_items') IS NOT NULL",
                       v, sizeof(v), e) != HDP_OK)
        return HDP_ERR;
    if (strcmp(v, "t") != 0)
        return hdp_fail(e, "the shop tables (customers, products, orders, order_items) do not "
                           "exist in the source database; run `hdp init` first");
    return HDP_OK;
}

int shop_lock(PGconn *c, hdp_err *e)
{
    char got[8];
    if (pg_query_value(c, "SELECT pg_try_advisory_lock(" GEN_LOCK_KEY ")", got, sizeof(got), e) !=
        HDP_OK)
        return HDP_ERR;
    if (strcmp(got, "t") == 0)
        return HDP_OK;
    log_info("another hdp generate holds the generator lock; waiting for it to finish");
    return pg_exec(c, "SELECT pg_advisory_lock(" GEN_LOCK_KEY ")", e) == HDP_OK ? HDP_OK : HDP_ERR;
}

int shop_load_dims(PGconn *c, gen_dims *d, hdp_err *e)
{
    PGresult *r = pg_query(c,
                           "SELECT customer_id, name, email, city, country FROM customers "
                           "ORDER BY customer_id",
                           0, NULL, e);
    if (r == NULL)
        return HDP_ERR;
    for (int i = 0; i < PQntuples(r); i++) {
        gen_customer *cu = dims_add_customer(d);
        cu->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        cu->name = xstrdup(PQgetvalue(r, i, 1));
        cu->email = xstrdup(PQgetvalue(r, i, 2));
        cu->city = xstrdup(PQgetvalue(r, i, 3));
        cu->country = xstrdup(PQgetvalue(r, i, 4));
    }
    PQclear(r);

    r = pg_query(c,
                 "SELECT product_id, sku, name, category, price FROM products ORDER BY product_id",
                 0, NULL, e);
    if (r == NULL)
        return HDP_ERR;
    for (int i = 0; i < PQntuples(r); i++) {
        gen_product *p = dims_add_product(d);
        p->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        p->sku = xstrdup(PQgetvalue(r, i, 1));
        p->name = xstrdup(PQgetvalue(r, i, 2));
        p->category = xstrdup(PQgetvalue(r, i, 3));
        const char *price = PQgetvalue(r, i, 4);
        if (decimal_parse(price, strlen(price), &p->price) != 0) {
            hdp_fail(e, "product %lld has a price we cannot read: %s", (long long)p->id, price);
            PQclear(r);
            return HDP_ERR;
        }
    }
    PQclear(r);
    return HDP_OK;
}

int shop_next_id(PGconn *c, const char *table, const char *col, int64_t *next, hdp_err *e)
{
    char sql[256], v[32];
    snprintf(sql, sizeof(sql), "SELECT coalesce(max(%s), 0) + 1 FROM %s", col, table);
    if (pg_query_value(c, sql, v, sizeof(v), e) != HDP_OK)
        return HDP_ERR;
    *next = strtoll(v, NULL, 10);
    return HDP_OK;
}

/* BEGIN; COPY sql FROM the rows in b; COMMIT. */
static int copy_tx(PGconn *c, const char *sql, const hdp_buf *b, hdp_err *e)
{
    if (pg_exec(c, "BEGIN", e) != HDP_OK)
        return HDP_ERR;
    if (copy_all(c, sql, b, e) != HDP_OK) {
        rollback(c);
        return HDP_ERR;
    }
    return commit(c, e);
}

int shop_insert_customers(PGconn *c, const gen_dims *d, size_t from, hdp_buf *scratch, hdp_err *e)
{
    if (from >= d->ncust)
        return HDP_OK;
    buf_reset(scratch);
    for (size_t i = from; i < d->ncust; i++)
        copy_customer_row(scratch, &d->cust[i]);
    return copy_tx(c, COPY_CUSTOMERS_SQL, scratch, e);
}

int shop_insert_products(PGconn *c, const gen_dims *d, size_t from, hdp_buf *scratch, hdp_err *e)
{
    if (from >= d->nprod)
        return HDP_OK;
    buf_reset(scratch);
    for (size_t i = from; i < d->nprod; i++)
        copy_product_row(scratch, &d->prod[i]);
    return copy_tx(c, COPY_PRODUCTS_SQL, scratch, e);
}

/* ---------------------------------------------------------------- orders */

int shop_insert_orders(PGconn *c, const gen_order *o, size_t n, hdp_buf *scratch, hdp_err *e)
{
    if (n == 0)
        return HDP_OK;
    if (pg_exec(c, "BEGIN", e) != HDP_OK)
        return HDP_ERR;
    buf_reset(scratch);
    for (size_t i = 0; i < n; i++)
        copy_order_row(scratch, &o[i]);
    if (copy_all(c, COPY_ORDERS_SQL, scratch, e) != HDP_OK) {
        rollback(c);
        return HDP_ERR;
    }
    buf_reset(scratch);
    for (size_t i = 0; i < n; i++)
        copy_item_rows(scratch, &o[i]);
    if (copy_all(c, COPY_ITEMS_SQL, scratch, e) != HDP_OK) {
        rollback(c);
        return HDP_ERR;
    }
    return commit(c, e);
}

/* Writes "{a,b,c}" arrays of order ids and delays of the pending orders whose fate is in
 * mask (bit per fate); the delay is ship_delay or final_delay. Returns how many. */
static size_t put_arrays(hdp_buf *ids, hdp_buf *delays, const gen_pending *p, size_t n,
                         unsigned mask, int final)
{
    size_t k = 0;
    buf_reset(ids);
    buf_reset(delays);
    buf_putc(ids, '{');
    buf_putc(delays, '{');
    for (size_t i = 0; i < n; i++) {
        if (!(mask & (1u << p[i].fate)))
            continue;
        if (k++) {
            buf_putc(ids, ',');
            buf_putc(delays, ',');
        }
        buf_put_i64(ids, p[i].order_id);
        buf_put_i64(delays, final ? p[i].final_delay : p[i].ship_delay);
    }
    buf_putc(ids, '}');
    buf_putc(delays, '}');
    return k;
}

/* The time of a step: paid_at + delay, not in the future, not before the last change. */
#define STEP_TS "GREATEST(o.updated_at, LEAST(o.paid_at + v.d * interval '1 microsecond', now()))"
#define FROM_V  "FROM unnest($1::bigint[], $2::bigint[]) AS v(id, d) WHERE o.order_id = v.id "

static const char SHIP_SQL[] = "UPDATE orders o SET status = 'shipped', updated_at = " STEP_TS
                               " " FROM_V "AND o.status = 'paid'";
static const char DELIVER_SQL[] = "UPDATE orders o SET status = 'delivered', updated_at = " STEP_TS
                                  " " FROM_V "AND o.status = 'shipped'";
static const char REFUND_SQL[] =
    "UPDATE orders o SET status = 'refunded', refunded_at = " STEP_TS ", updated_at = " STEP_TS
    " " FROM_V "AND o.status IN ('paid', 'shipped')";

/* Runs sql over the pending orders whose fate is in mask, inside the caller's transaction. */
static int step(PGconn *c, const char *sql, const gen_pending *p, size_t n, unsigned mask,
                int final, hdp_buf *scratch, int64_t *rows, hdp_err *e)
{
    hdp_buf delays = HDP_BUF_INIT;
    *rows = 0;
    if (put_arrays(scratch, &delays, p, n, mask, final) == 0) {
        buf_free(&delays);
        return HDP_OK;
    }
    const char *params[2] = {scratch->data, delays.data};
    int rc = exec_params(c, sql, 2, params, rows, e);
    buf_free(&delays);
    return rc;
}

#define BIT(f) (1u << (f))

int shop_ship(PGconn *c, const gen_pending *p, size_t n, hdp_buf *scratch, int64_t *done,
              hdp_err *e)
{
    *done = 0;
    if (n == 0)
        return HDP_OK;
    if (pg_exec(c, "BEGIN", e) != HDP_OK)
        return HDP_ERR;
    unsigned mask = BIT(FATE_SHIPPED) | BIT(FATE_DELIVERED) | BIT(FATE_REFUND_SHIPPED);
    if (step(c, SHIP_SQL, p, n, mask, 0, scratch, done, e) != HDP_OK) {
        rollback(c);
        return HDP_ERR;
    }
    return commit(c, e);
}

int shop_finish(PGconn *c, const gen_pending *p, size_t n, hdp_buf *scratch, int64_t *delivered,
                int64_t *refunded, hdp_err *e)
{
    *delivered = *refunded = 0;
    if (n == 0)
        return HDP_OK;
    if (pg_exec(c, "BEGIN", e) != HDP_OK)
        return HDP_ERR;
    if (step(c, DELIVER_SQL, p, n, BIT(FATE_DELIVERED), 1, scratch, delivered, e) != HDP_OK ||
        step(c, REFUND_SQL, p, n, BIT(FATE_REFUND_PAID) | BIT(FATE_REFUND_SHIPPED), 1, scratch,
             refunded, e) != HDP_OK) {
        rollback(c);
        return HDP_ERR;
    }
    return commit(c, e);
}

/* ---------------------------------------------------------------- dimension changes */

int shop_move_customers(PGconn *c, const gen_customer *const *cust, size_t n, hdp_err *e)
{
    if (n == 0)
        return HDP_OK;
    if (pg_exec(c, "BEGIN", e) != HDP_OK)
        return HDP_ERR;
    for (size_t i = 0; i < n; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)cust[i]->id);
        const char *params[3] = {id, cust[i]->city, cust[i]->country};
        if (exec_params(c,
                        "UPDATE customers SET city = $2, country = $3, updated_at = now() "
                        "WHERE customer_id = $1",
                        3, params, NULL, e) != HDP_OK) {
            rollback(c);
            return HDP_ERR;
        }
    }
    return commit(c, e);
}

int shop_change_products(PGconn *c, const gen_product *const *prod, size_t n, hdp_err *e)
{
    if (n == 0)
        return HDP_OK;
    if (pg_exec(c, "BEGIN", e) != HDP_OK)
        return HDP_ERR;
    for (size_t i = 0; i < n; i++) {
        char id[24], price[32];
        snprintf(id, sizeof(id), "%lld", (long long)prod[i]->id);
        decimal_format(prod[i]->price, price);
        const char *params[3] = {id, prod[i]->name, price};
        if (exec_params(c, "UPDATE products SET name = $2, price = $3 WHERE product_id = $1", 3,
                        params, NULL, e) != HDP_OK) {
            rollback(c);
            return HDP_ERR;
        }
    }
    return commit(c, e);
}
