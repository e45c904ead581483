#include "serve/render.h"

#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/timeutil.h"

void render_money(hdp_buf *b, int64_t cents)
{
    buf_putc(b, '"');
    decimal_put(b, cents);
    buf_putc(b, '"');
}

void render_money_number(hdp_buf *b, int64_t cents)
{
    decimal_put(b, cents);
}

int avg_check_cents(int64_t cents, int64_t orders, int64_t *avg)
{
    if (orders <= 0)
        return -1;
    int64_t q = cents / orders;
    int64_t r = cents % orders;
    /* |r| < orders, so neither side overflows; round half away from zero */
    int64_t ar = r < 0 ? -r : r;
    if (ar >= orders - ar)
        q += cents < 0 ? -1 : 1;
    *avg = q;
    return 0;
}

static int cmp_revenue(const void *pa, const void *pb)
{
    const agg_named *a = pa, *b = pb;
    if (a->cents != b->cents)
        return a->cents > b->cents ? -1 : 1;
    return strcmp(a->name, b->name);
}

void sort_by_revenue(agg_named *items, size_t n)
{
    if (n > 1)
        qsort(items, n, sizeof(*items), cmp_revenue);
}

void render_error(hdp_buf *b, const char *code, const char *message)
{
    buf_puts(b, "{\"error\":{\"code\":");
    buf_put_json_str(b, code, strlen(code));
    buf_puts(b, ",\"message\":");
    buf_put_json_str(b, message, strlen(message));
    buf_puts(b, "}}");
}

/* {"from":..,"to":.. and, for one day, "date" too: clients of the one-day API keep working */
static void put_head(hdp_buf *b, const serve_query *q)
{
    buf_printf(b, "{\"from\":\"%s\",\"to\":\"%s\"", q->from, q->to);
    if (q->from_day == q->to_day)
        buf_printf(b, ",\"date\":\"%s\"", q->from);
}

/* The watermark the answer used (null: none, or degraded) and the degradation, then '}'. */
static void put_tail(hdp_buf *b, const serve_answer *a)
{
    if (a->has_watermark && !a->degraded)
        buf_printf(b, ",\"watermark\":%lld", a->watermark);
    else
        buf_puts(b, ",\"watermark\":null");
    if (a->degraded)
        buf_puts(b, ",\"degraded\":\"batch unavailable\"");
    buf_putc(b, '}');
}

static int render_revenue(hdp_buf *b, const serve_query *q, const serve_answer *a, hdp_err *e)
{
    int64_t total, speed, batch;
    if (agg_net(a->total, &total) || agg_net(a->speed, &speed) || agg_net(a->batch, &batch))
        return hdp_fail(e, "net revenue overflows");
    put_head(b, q);
    buf_puts(b, ",\"revenue\":");
    render_money(b, total);
    buf_puts(b, ",\"paid\":");
    render_money(b, a->total->paid);
    buf_puts(b, ",\"refunded\":");
    render_money(b, a->total->refunded);
    buf_printf(b,
               ",\"orders\":%lld,\"refunds\":%lld,\"total_revenue\":", (long long)a->total->orders,
               (long long)a->total->refunds);
    render_money_number(b, total);
    buf_puts(b, ",\"speed\":{\"revenue\":");
    render_money(b, speed);
    buf_printf(b, ",\"orders\":%lld,\"refunds\":%lld,\"segments\":%lld}",
               (long long)a->speed->orders, (long long)a->speed->refunds,
               (long long)a->speed->segments);
    buf_puts(b, ",\"batch\":{\"revenue\":");
    render_money(b, batch);
    buf_printf(b, ",\"orders\":%lld,\"refunds\":%lld}", (long long)a->batch->orders,
               (long long)a->batch->refunds);
    put_tail(b, a);
    return HDP_OK;
}

/* Copies a map's items (names still owned by the map) for sorting. */
static agg_named *items_copy(const agg_map *m)
{
    agg_named *v = xmalloc((m->len ? m->len : 1) * sizeof(*v));
    if (m->len)
        memcpy(v, m->items, m->len * sizeof(*v));
    return v;
}

static void render_named(hdp_buf *b, const serve_query *q, const serve_answer *a, const agg_map *m,
                         const char *list, const char *field)
{
    agg_named *v = items_copy(m);
    sort_by_revenue(v, m->len);
    put_head(b, q);
    buf_printf(b, ",\"%s\":[", list);
    for (size_t i = 0; i < m->len; i++) {
        buf_printf(b, "%s{\"%s\":", i ? "," : "", field);
        buf_put_json_str(b, v[i].name, strlen(v[i].name));
        buf_puts(b, ",\"revenue\":");
        render_money(b, v[i].cents);
        buf_printf(b, ",\"orders\":%lld}", (long long)v[i].orders);
    }
    buf_putc(b, ']');
    put_tail(b, a);
    free(v);
}

static void put_point(hdp_buf *points, const char *date, int hh, int mm, int64_t cents,
                      int64_t orders)
{
    buf_printf(points, "%s{\"ts\":\"%sT%02d:%02d:00Z\",\"revenue\":", points->len ? "," : "", date,
               hh, mm);
    render_money(points, cents);
    buf_printf(points, ",\"orders\":%lld}", (long long)orders);
}

void render_points(hdp_buf *points, serve_interval iv, int64_t day, const day_agg *t)
{
    char date[11];
    date_format(day, date);
    if (iv == IV_DAY) {
        int64_t net = 0;
        (void)agg_net(t, &net); /* overflow is caught when the totals render */
        put_point(points, date, 0, 0, net, t->orders);
        return;
    }
    int minute = iv == IV_MINUTE;
    int n = minute ? AGG_MINUTES : AGG_HOURS;
    const unsigned char *seen = minute ? t->min_seen : t->hour_seen;
    const int64_t *cents = minute ? t->min_cents : t->hour_cents;
    const int64_t *orders = minute ? t->min_orders : t->hour_orders;
    for (int i = 0; i < n; i++)
        if (seen[i])
            put_point(points, date, minute ? i / 60 : i, minute ? i % 60 : 0, cents[i], orders[i]);
}

static void render_timeseries(hdp_buf *b, const serve_query *q, const serve_answer *a)
{
    put_head(b, q);
    buf_printf(b, ",\"interval\":\"%s\",\"points\":[", serve_interval_name(q->interval));
    if (a->points != NULL)
        buf_append(b, a->points->data, a->points->len);
    buf_putc(b, ']');
    put_tail(b, a);
}

typedef struct avg_row {
    const agg_named *city;
    int has_avg;
    int64_t avg;
} avg_row;

/* average desc (cities without paid orders last), then city name */
static int cmp_avg(const void *pa, const void *pb)
{
    const avg_row *a = pa, *b = pb;
    if (a->has_avg != b->has_avg)
        return a->has_avg ? -1 : 1;
    if (a->has_avg && a->avg != b->avg)
        return a->avg > b->avg ? -1 : 1;
    return strcmp(a->city->name, b->city->name);
}

/* average_check = cents of the orders paid in the range by city / those orders (cp:CITY /
 * cn:CITY): the average total of a paid order, as the original platform computed it; a
 * refund later does not change what the order was paid. Cities with refunds only are left
 * out: they had no paid order in the range. */
static void render_avg_check(hdp_buf *b, const serve_query *q, const serve_answer *a)
{
    const agg_map *m = &a->total->cities;
    avg_row *rows = xmalloc((m->len ? m->len : 1) * sizeof(*rows));
    size_t n = 0;
    for (size_t i = 0; i < m->len; i++) {
        if (m->items[i].orders <= 0)
            continue;
        rows[n].city = &m->items[i];
        rows[n].has_avg = avg_check_cents(m->items[i].paid, m->items[i].orders, &rows[n].avg) == 0;
        n++;
    }
    if (n > 1)
        qsort(rows, n, sizeof(*rows), cmp_avg);
    put_head(b, q);
    buf_puts(b, ",\"cities\":[");
    for (size_t i = 0; i < n; i++) {
        buf_puts(b, i ? ",{\"city\":" : "{\"city\":");
        buf_put_json_str(b, rows[i].city->name, strlen(rows[i].city->name));
        buf_puts(b, ",\"average_check\":");
        render_money(b, rows[i].avg);
        buf_printf(b, ",\"orders\":%lld,\"paid\":", (long long)rows[i].city->orders);
        render_money(b, rows[i].city->paid);
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
    put_tail(b, a);
    free(rows);
}

int render_answer(hdp_buf *b, const serve_query *q, const serve_answer *a, hdp_err *e)
{
    switch (q->ep) {
    case EP_REVENUE:
        return render_revenue(b, q, a, e);
    case EP_BY_CITY:
        render_named(b, q, a, &a->total->cities, "cities", "city");
        return HDP_OK;
    case EP_BY_CATEGORY:
        render_named(b, q, a, &a->total->categories, "categories", "category");
        return HDP_OK;
    case EP_TIMESERIES:
        render_timeseries(b, q, a);
        return HDP_OK;
    case EP_AVG_CHECK:
        render_avg_check(b, q, a);
        return HDP_OK;
    default:
        return hdp_fail(e, "no data answer for endpoint %s", serve_endpoint_name(q->ep));
    }
}
