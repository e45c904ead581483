#include "serve/history.h"

#include <stdio.h>
#include <string.h>

#include "core/decimal.h"
#include "core/timeutil.h"
#include "io/pg.h"
#include "serve/render.h"

/* One row set for the whole answer, ordered so it renders in one pass:
 *   kind 0  the customer (order_id NULL, first): v1 customer_id, v2 name, v3 city,
 *           v4 is_deleted
 *   kind 1  an order's current state: v1 status, v2 total, v3 currency, v4 ship_city,
 *           v5 created_at, v6 paid_at, v7 refunded_at
 *   kind 2  its lines by line_no (seq): v1 product_id, v2 quantity, v3 unit_price
 *   kind 3  its status rows by load_dts (at): v1 status
 * Every lookup is an index probe: hub_customer's unique customer_id, link_order_customer's
 * hk_customer index, link_order_product's hk_order index, the PKs of hubs and satellites
 * (hk, load_dts) for "latest row" and history. */
const char history_sql[] =
    "WITH c AS ("
    " SELECT h.hk_customer, h.customer_id, s.name, s.city, s.is_deleted"
    " FROM vault.hub_customer h"
    " LEFT JOIN LATERAL (SELECT sc.name, sc.city, sc.is_deleted FROM vault.sat_customer sc"
    "  WHERE sc.hk_customer = h.hk_customer ORDER BY sc.load_dts DESC LIMIT 1) s ON true"
    " WHERE h.customer_id = $1::bigint),"
    " o AS MATERIALIZED ("
    " SELECT ho.hk_order, ho.order_id, so.status, so.total, so.currency, so.ship_city,"
    "  so.created_at, so.paid_at, so.refunded_at"
    " FROM c JOIN vault.link_order_customer l ON l.hk_customer = c.hk_customer"
    " JOIN vault.hub_order ho ON ho.hk_order = l.hk_order"
    " LEFT JOIN LATERAL (SELECT s.* FROM vault.sat_order s WHERE s.hk_order = ho.hk_order"
    "  ORDER BY s.load_dts DESC LIMIT 1) so ON true"
    " WHERE so.is_deleted IS NOT TRUE),"
    /* a line_no whose product changed has two links: the one updated last is current */
    " ln AS (SELECT DISTINCT ON (o.order_id, lp.line_no) o.order_id, lp.line_no,"
    "  hp.product_id, sl.quantity, sl.unit_price, sl.is_deleted"
    " FROM o JOIN vault.link_order_product lp ON lp.hk_order = o.hk_order"
    " JOIN vault.hub_product hp ON hp.hk_product = lp.hk_product"
    " JOIN LATERAL (SELECT s.quantity, s.unit_price, s.is_deleted, s.load_dts"
    "  FROM vault.sat_order_line s WHERE s.hk_order_product = lp.hk_order_product"
    "  ORDER BY s.load_dts DESC LIMIT 1) sl ON true"
    " ORDER BY o.order_id, lp.line_no, sl.load_dts DESC)"
    " SELECT 0 AS kind, NULL::bigint AS order_id, 0 AS seq, NULL::timestamptz AS at,"
    "  c.customer_id::text, c.name, c.city, c.is_deleted::text,"
    "  NULL::text, NULL::text, NULL::text FROM c"
    " UNION ALL SELECT 1, o.order_id, 0, NULL, o.status, o.total::text, o.currency,"
    "  o.ship_city, o.created_at::text, o.paid_at::text, o.refunded_at::text FROM o"
    " UNION ALL SELECT 2, ln.order_id, ln.line_no, NULL, ln.product_id::text,"
    "  ln.quantity::text, ln.unit_price::text, NULL, NULL, NULL, NULL"
    " FROM ln WHERE NOT ln.is_deleted"
    " UNION ALL SELECT 3, o.order_id, 0, s.load_dts, s.status, NULL, NULL, NULL, NULL, NULL,"
    "  NULL FROM o JOIN vault.sat_order s ON s.hk_order = o.hk_order WHERE NOT s.is_deleted"
    " ORDER BY 2 NULLS FIRST, 1, 3, 4";

enum { COL_KIND, COL_ORDER, COL_SEQ, COL_AT, COL_V1, NCOLS = COL_V1 + 7 };

/* The rendering state: where in the body the next row goes. */
typedef struct history_out {
    const PGresult *r;
    hdp_buf *orders; /* the orders array, built row by row */
    enum { IN_NONE, IN_LINES, IN_STATUS } section;
    int first;               /* no element yet in the open array */
    const char *prev_status; /* last status written to the open status_history */
} history_out;

static int is_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col);
}

static const char *val(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col);
}

static void put_str_or_null(hdp_buf *b, const PGresult *r, int row, int col)
{
    if (is_null(r, row, col))
        buf_puts(b, "null");
    else
        buf_put_json_str(b, val(r, row, col), (size_t)PQgetlength(r, row, col));
}

/* An integer column as a JSON number: PostgreSQL's text of a bigint/int is already one. */
static void put_int_or_null(hdp_buf *b, const PGresult *r, int row, int col)
{
    buf_puts(b, is_null(r, row, col) ? "null" : val(r, row, col));
}

static int put_money_or_null(hdp_buf *b, const PGresult *r, int row, int col, hdp_err *e)
{
    if (is_null(r, row, col)) {
        buf_puts(b, "null");
        return HDP_OK;
    }
    int64_t cents;
    if (decimal_parse(val(r, row, col), (size_t)PQgetlength(r, row, col), &cents) != 0)
        return hdp_fail(e, "dwh returned a malformed amount '%.40s'", val(r, row, col));
    render_money(b, cents);
    return HDP_OK;
}

/* A timestamptz (text in the session's UTC) as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", or null. */
static int put_time_or_null(hdp_buf *b, const PGresult *r, int row, int col, hdp_err *e)
{
    if (is_null(r, row, col)) {
        buf_puts(b, "null");
        return HDP_OK;
    }
    int64_t us;
    if (ts_parse(val(r, row, col), (size_t)PQgetlength(r, row, col), &us) != 0)
        return hdp_fail(e, "dwh returned a malformed time '%.40s'", val(r, row, col));
    char t[32];
    ts_format(us, t);
    buf_putc(b, '"');
    buf_puts(b, t);
    buf_putc(b, '"');
    return HDP_OK;
}

/* Closes the open order object, with an empty array for a section it never reached. */
static void close_order(history_out *o)
{
    if (o->section == IN_LINES)
        buf_puts(o->orders, "],\"status_history\":[]}");
    else if (o->section == IN_STATUS)
        buf_puts(o->orders, "]}");
    o->section = IN_NONE;
}

static int put_order(history_out *o, int row, int *norders, hdp_err *e)
{
    const PGresult *r = o->r;
    hdp_buf *b = o->orders;
    close_order(o);
    buf_puts(b, (*norders)++ ? ",{\"order_id\":" : "{\"order_id\":");
    put_int_or_null(b, r, row, COL_ORDER);
    buf_puts(b, ",\"status\":");
    put_str_or_null(b, r, row, COL_V1);
    buf_puts(b, ",\"total\":");
    if (put_money_or_null(b, r, row, COL_V1 + 1, e) != HDP_OK)
        return HDP_ERR;
    buf_puts(b, ",\"currency\":");
    put_str_or_null(b, r, row, COL_V1 + 2);
    buf_puts(b, ",\"ship_city\":");
    put_str_or_null(b, r, row, COL_V1 + 3);
    static const char *const times[] = {",\"created_at\":", ",\"paid_at\":", ",\"refunded_at\":"};
    for (int i = 0; i < 3; i++) {
        buf_puts(b, times[i]);
        if (put_time_or_null(b, r, row, COL_V1 + 4 + i, e) != HDP_OK)
            return HDP_ERR;
    }
    buf_puts(b, ",\"lines\":[");
    o->section = IN_LINES;
    o->first = 1;
    return HDP_OK;
}

static int put_line(history_out *o, int row, hdp_err *e)
{
    const PGresult *r = o->r;
    hdp_buf *b = o->orders;
    if (o->section != IN_LINES)
        return hdp_fail(e, "history rows out of order: a line outside its order");
    buf_puts(b, o->first ? "{\"line_no\":" : ",{\"line_no\":");
    o->first = 0;
    put_int_or_null(b, r, row, COL_SEQ);
    buf_puts(b, ",\"product_id\":");
    put_int_or_null(b, r, row, COL_V1);
    buf_puts(b, ",\"quantity\":");
    put_int_or_null(b, r, row, COL_V1 + 1);
    buf_puts(b, ",\"unit_price\":");
    if (put_money_or_null(b, r, row, COL_V1 + 2, e) != HDP_OK)
        return HDP_ERR;
    buf_putc(b, '}');
    return HDP_OK;
}

/* One status row; a status equal to the one before it in this order is not a change. */
static int put_status(history_out *o, int row, hdp_err *e)
{
    const PGresult *r = o->r;
    hdp_buf *b = o->orders;
    if (o->section == IN_LINES) {
        buf_puts(b, "],\"status_history\":[");
        o->section = IN_STATUS;
        o->first = 1;
        o->prev_status = NULL;
    }
    if (o->section != IN_STATUS)
        return hdp_fail(e, "history rows out of order: a status outside its order");
    const char *status = is_null(r, row, COL_V1) ? NULL : val(r, row, COL_V1);
    if (!o->first &&
        ((status == NULL && o->prev_status == NULL) ||
         (status != NULL && o->prev_status != NULL && strcmp(status, o->prev_status) == 0)))
        return HDP_OK;
    buf_puts(b, o->first ? "{\"status\":" : ",{\"status\":");
    o->first = 0;
    o->prev_status = status;
    put_str_or_null(b, r, row, COL_V1);
    buf_puts(b, ",\"at\":");
    if (put_time_or_null(b, r, row, COL_AT, e) != HDP_OK)
        return HDP_ERR;
    buf_putc(b, '}');
    return HDP_OK;
}

/* Writes the customer's fields (no braces) from the kind-0 row. */
static void put_customer(hdp_buf *b, const PGresult *r)
{
    buf_puts(b, "\"customer_id\":");
    put_int_or_null(b, r, 0, COL_V1);
    buf_puts(b, ",\"name\":");
    put_str_or_null(b, r, 0, COL_V1 + 1);
    buf_puts(b, ",\"city\":");
    put_str_or_null(b, r, 0, COL_V1 + 2);
}

int history_render(const PGresult *r, history_shape shape, hdp_buf *body, int *found, hdp_err *e)
{
    *found = 0;
    if (PQnfields(r) != NCOLS)
        return hdp_fail(e, "history query returned %d columns, expected %d", PQnfields(r), NCOLS);
    int n = PQntuples(r);
    if (n == 0 || strcmp(val(r, 0, COL_KIND), "0") != 0)
        return HDP_OK; /* no such customer */
    if (!is_null(r, 0, COL_V1 + 3) && strcmp(val(r, 0, COL_V1 + 3), "true") == 0)
        return HDP_OK; /* deleted in the source */
    hdp_buf orders = HDP_BUF_INIT;
    history_out o = {.r = r, .orders = &orders, .section = IN_NONE};
    int norders = 0, rc = HDP_OK;
    buf_putc(&orders, '[');
    for (int row = 1; row < n && rc == HDP_OK; row++) {
        const char *kind = val(r, row, COL_KIND);
        if (strcmp(kind, "1") == 0)
            rc = put_order(&o, row, &norders, e);
        else if (strcmp(kind, "2") == 0)
            rc = put_line(&o, row, e);
        else if (strcmp(kind, "3") == 0)
            rc = put_status(&o, row, e);
        else
            rc = hdp_fail(e, "history query returned a row of unknown kind '%.8s'", kind);
    }
    if (rc == HDP_OK) {
        close_order(&o);
        buf_putc(&orders, ']');
        buf_putc(body, '{');
        if (shape == HISTORY_ORIGINAL) {
            buf_puts(body, "\"user_id\":");
            put_int_or_null(body, r, 0, COL_V1);
            buf_putc(body, ',');
        }
        put_customer(body, r);
        buf_puts(body, ",\"orders\":");
        buf_append(body, orders.data, orders.len);
        if (shape == HISTORY_ORIGINAL) {
            buf_puts(body, ",\"history\":");
            buf_append(body, orders.data, orders.len);
        }
        buf_putc(body, '}');
        *found = 1;
    }
    buf_free(&orders);
    return rc;
}

int history_fetch(PGconn *c, int64_t id, history_shape shape, hdp_buf *body, int *found, hdp_err *e)
{
    *found = 0;
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
    const char *params[1] = {idtext};
    PGresult *r = pg_query(c, history_sql, 1, params, e);
    if (r == NULL)
        return pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
    int rc = history_render(r, shape, body, found, e);
    PQclear(r);
    return rc;
}
