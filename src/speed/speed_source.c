/* speed_source.c — what the speed layer asks the source database: product categories and
 * the categories of an order's items. Items never change after an order is placed and a
 * product's category never changes, so the current source state is the truth; both
 * `hdp speed` and `hdp rebuild speed` fill their caches (speed_dims) from here. */
#include "speed/speed_source.h"

#include <stdlib.h>

#include "core/decimal.h"
#include "io/pg.h"

static void ids_array(const hdp_buf *ids, hdp_buf *out)
{
    const int64_t *v = (const int64_t *)ids->data;
    size_t n = ids->len / sizeof(int64_t);
    buf_reset(out);
    buf_putc(out, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(out, ',');
        buf_put_i64(out, v[i]);
    }
    buf_putc(out, '}');
}

/* Loads what the dims lack from the source: items never change after an order is placed
 * and a product's category never changes, so the current source state is the truth. */
int speed_source_missing(PGconn *c, speed_tx *tx, speed_dims *dims, hdp_buf *ids_p, hdp_buf *ids_o,
                         hdp_err *e)
{
    speed_tx_missing(tx, dims, ids_p, ids_o);
    hdp_buf arr = HDP_BUF_INIT;
    int rc = HDP_OK;
    if (ids_p->len) {
        ids_array(ids_p, &arr);
        const char *p[1] = {arr.data};
        PGresult *r = pg_query(c,
                               "SELECT product_id, category FROM products "
                               "WHERE product_id = ANY($1::bigint[])",
                               1, p, e);
        if (r == NULL)
            rc = HDP_RETRY;
        for (int i = 0; r && i < PQntuples(r); i++)
            speed_dims_put_product(dims, strtoll(PQgetvalue(r, i, 0), NULL, 10),
                                   PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
        PQclear(r);
    }
    if (rc == HDP_OK && ids_o->len) {
        ids_array(ids_o, &arr);
        const char *p[1] = {arr.data};
        PGresult *r = pg_query(c,
                               "SELECT oi.order_id, p.category, sum(oi.quantity * oi.unit_price) "
                               "FROM order_items oi JOIN products p USING (product_id) "
                               "WHERE oi.order_id = ANY($1::bigint[]) GROUP BY 1, 2 ORDER BY 1",
                               1, p, e);
        if (r == NULL)
            rc = HDP_RETRY;
        int64_t pairs[64];
        size_t np = 0;
        int64_t cur = -1;
        for (int i = 0; r && i <= PQntuples(r); i++) {
            int64_t oid = i < PQntuples(r) ? strtoll(PQgetvalue(r, i, 0), NULL, 10) : -1;
            if (oid != cur && cur >= 0) {
                speed_dims_put_order(dims, cur, pairs, np);
                np = 0;
            }
            cur = oid;
            if (i == PQntuples(r) || np >= 32)
                continue;
            int64_t cents;
            if (decimal_parse(PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2), &cents))
                continue;
            pairs[2 * np] =
                speed_dims_intern(dims, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
            pairs[2 * np + 1] = cents;
            np++;
        }
        PQclear(r);
    }
    buf_free(&arr);
    return rc;
}

int speed_source_products(PGconn *c, speed_dims *dims, hdp_err *e)
{
    PGresult *r = pg_query(c, "SELECT product_id, category FROM products", 0, NULL, e);
    if (r == NULL)
        return HDP_RETRY;
    for (int i = 0; i < PQntuples(r); i++)
        speed_dims_put_product(dims, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
                               (size_t)PQgetlength(r, i, 1));
    PQclear(r);
    return HDP_OK;
}
