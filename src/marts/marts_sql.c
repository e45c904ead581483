/* marts_sql.c — the SQL that turns the Data Vault's order versions into fact rows (run in
 * PostgreSQL `dwh`, streamed out with COPY as ClickHouse TabSeparated).
 *
 * For each order with a version whose segment is in [lo, hi]: its versions in commit order
 * (sat_order by load_dts, source_lsn, source_seq); each version in range contributes its own
 * events (+1) and undoes those of the version before it (-1): paid at paid_at, refunded at
 * refunded_at, none for a deleted version. Events of one order, segment, kind, time, city and
 * total are netted (a status change that moves no money leaves nothing), so a segment's rows
 * sum to f(its last version) - f(the version before the segment): what the speed layer adds
 * for the same transactions. Lines take the order event's sign, the line's amount and its
 * product's category (which never changes). */
#include "marts/marts_sql.h"

#include <inttypes.h>

#include "core/buf.h"

/* The netted events of orders with a version in [lo, hi], into the session's temp table
 * marts_net (replaced), analyzed: both COPYs of a partition read it, so the window over the
 * orders' versions runs once, both see the same vault, and the planner knows its size (a CTE
 * is estimated at a few rows, which chose nested loops over 200,000-row joins). */
void marts_sql_net(hdp_buf *q, int64_t lo, int64_t hi)
{
    buf_printf(q,
               "DROP TABLE IF EXISTS pg_temp.marts_net;"
               "CREATE TEMP TABLE marts_net AS "
               "WITH touched AS ("
               " SELECT DISTINCT hk_order FROM vault.sat_order"
               " WHERE source_segment BETWEEN %" PRId64 " AND %" PRId64 "), ver AS ("
               " SELECT s.hk_order, s.source_segment AS segment, s.total, s.ship_city,"
               " s.paid_at, s.refunded_at, s.is_deleted,"
               " lag(s.total) OVER w AS p_total, lag(s.ship_city) OVER w AS p_city,"
               " lag(s.paid_at) OVER w AS p_paid, lag(s.refunded_at) OVER w AS p_refunded,"
               " lag(s.is_deleted) OVER w AS p_deleted, row_number() OVER w AS rn"
               " FROM vault.sat_order s JOIN touched USING (hk_order)"
               " WINDOW w AS (PARTITION BY s.hk_order"
               " ORDER BY s.load_dts, s.source_lsn, s.source_seq)"
               "), ev AS ("
               " SELECT v.hk_order, v.segment, x.sign, x.event, x.t, x.total, x.city"
               " FROM ver v, LATERAL (VALUES"
               " (1, 1, CASE WHEN NOT v.is_deleted THEN v.paid_at END, v.total, v.ship_city),"
               " (1, 2, CASE WHEN NOT v.is_deleted THEN v.refunded_at END, v.total,"
               " v.ship_city),"
               " (-1, 1, CASE WHEN v.rn > 1 AND NOT v.p_deleted THEN v.p_paid END, v.p_total,"
               " v.p_city),"
               " (-1, 2, CASE WHEN v.rn > 1 AND NOT v.p_deleted THEN v.p_refunded END,"
               " v.p_total, v.p_city)"
               " ) AS x(sign, event, t, total, city)"
               " WHERE v.segment BETWEEN %" PRId64 " AND %" PRId64 " AND x.t IS NOT NULL"
               "), net AS ("
               " SELECT hk_order, segment, event, t, city, total, sum(sign)::int AS n"
               " FROM ev GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(sign) <> 0"
               ")"
               " SELECT n.*, h.order_id, coalesce(hc.customer_id, 0) AS customer_id"
               " FROM net n JOIN vault.hub_order h USING (hk_order)"
               " LEFT JOIN vault.link_order_customer loc ON loc.hk_order = n.hk_order"
               " LEFT JOIN vault.hub_customer hc ON hc.hk_customer = loc.hk_customer;"
               "ANALYZE marts_net",
               lo, hi, lo, hi);
}

/* The time columns of ClickHouse's rows: event_time, day, hour (and minute of the day). */
#define UTC_T "(n.t AT TIME ZONE 'UTC')"

void marts_sql_orders(hdp_buf *q, int64_t build)
{
    buf_puts(q, "COPY (SELECT n.segment, CASE n.event WHEN 1 THEN 'paid' ELSE 'refunded' END,"
                " to_char(" UTC_T ", 'YYYY-MM-DD HH24:MI:SS'), to_char(" UTC_T ", 'YYYY-MM-DD'),"
                " extract(hour FROM " UTC_T ")::int,"
                " (extract(hour FROM " UTC_T ") * 60 + extract(minute FROM " UTC_T "))::int,"
                " coalesce(n.city, ''), n.customer_id, n.order_id,"
                " n.n * CASE n.event WHEN 1 THEN n.total ELSE -n.total END,"
                " CASE n.event WHEN 1 THEN n.n ELSE 0 END,"
                " CASE n.event WHEN 2 THEN n.n ELSE 0 END,");
    buf_printf(q, " %" PRId64, build);
    buf_puts(q, " FROM marts_net n) TO STDOUT");
}

void marts_sql_lines(hdp_buf *q, int64_t build)
{
    buf_puts(q, "COPY (WITH line AS ("
                " SELECT DISTINCT ON (x.hk_order_product) x.hk_order_product, x.quantity,"
                " x.unit_price, x.is_deleted FROM vault.sat_order_line x"
                " JOIN vault.link_order_product l ON l.hk_order_product = x.hk_order_product"
                " WHERE l.hk_order IN (SELECT hk_order FROM marts_net)"
                " ORDER BY x.hk_order_product, x.load_dts DESC"
                "), cat AS ("
                " SELECT DISTINCT ON (y.hk_product) y.hk_product, y.category"
                " FROM vault.sat_product y ORDER BY y.hk_product, y.load_dts DESC"
                "), lines AS ("
                " SELECT lop.hk_order, lop.line_no, hp.product_id, coalesce(c.category, '')"
                " AS category, sl.quantity * sl.unit_price AS amount, row_number() OVER"
                " (PARTITION BY lop.hk_order, c.category ORDER BY lop.line_no) AS nth"
                " FROM vault.link_order_product lop"
                " JOIN line sl ON sl.hk_order_product = lop.hk_order_product"
                " AND NOT sl.is_deleted"
                " JOIN vault.hub_product hp ON hp.hk_product = lop.hk_product"
                " LEFT JOIN cat c ON c.hk_product = lop.hk_product"
                " WHERE lop.hk_order IN (SELECT hk_order FROM marts_net)"
                ")"
                " SELECT n.segment, CASE n.event WHEN 1 THEN 'paid' ELSE 'refunded' END,"
                " to_char(" UTC_T ", 'YYYY-MM-DD HH24:MI:SS'), to_char(" UTC_T ", 'YYYY-MM-DD'),"
                " extract(hour FROM " UTC_T ")::int, coalesce(n.city, ''), l.category,"
                " n.customer_id, l.product_id, n.order_id, l.line_no,"
                " n.n * CASE n.event WHEN 1 THEN l.amount ELSE -l.amount END,"
                " CASE WHEN n.event = 1 AND l.nth = 1 THEN n.n ELSE 0 END,");
    buf_printf(q, " %" PRId64, build);
    buf_puts(q, " FROM marts_net n JOIN lines l USING (hk_order)) TO STDOUT");
}

void marts_sql_partitions(hdp_buf *q, int64_t lo, int64_t hi)
{
    buf_printf(q,
               "SELECT DISTINCT source_segment / %d FROM vault.sat_order"
               " WHERE source_segment BETWEEN %" PRId64 " AND %" PRId64 " ORDER BY 1",
               MARTS_PARTITION_SEGMENTS, lo, hi);
}
