/* batch_read.c — the batch views' part of an answer: one day's facts of every segment <= W
 * from ClickHouse (sql/clickhouse/10_facts.sql), as a day_agg. The part for a given (day, W)
 * never changes (facts of published segments are final), so it is cached by (day, W): a
 * ClickHouse query per day and batch run, whatever the request rate.
 *
 * One ClickHouse client behind a mutex: misses are rare and short; hits never touch it. */
#include "serve/sources.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/timeutil.h"
#include "io/clickhouse.h"

#define CACHE_DAYS 128 /* ~50 KiB each: a few months of ranges stay warm */

typedef struct cached_day {
    char date[11];
    long long w;
    int64_t used; /* tick of the last use, for LRU */
    day_agg agg;
} cached_day;

struct batch_source {
    pthread_mutex_t mu;
    ch_client *ch;
    int64_t down_until_us; /* after a failure, fail fast until then: no request waits on it */
    cached_day cache[CACHE_DAYS];
    size_t n;
    int64_t tick;
};

batch_source *batch_source_new(const char *clickhouse_url, hdp_err *e)
{
    if (clickhouse_url == NULL || clickhouse_url[0] == '\0')
        return NULL;
    ch_limits lim = {.connect_timeout_ms = 1000, .timeout_ms = 10000, .max_tries = 1};
    ch_client *ch = ch_open(clickhouse_url, &lim, e);
    if (ch == NULL)
        return NULL;
    batch_source *b = xcalloc(1, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    b->ch = ch;
    return b;
}

void batch_source_free(batch_source *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        agg_free(&b->cache[i].agg);
    ch_close(b->ch);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* ------------------------------------------------------------------ the query */

/* A fact table's rows of one day and segments <= w, each partition's newest build only
 * (10_facts.sql: a hard restart of ClickHouse may bring back older builds). Restricting the
 * build lookup to the day is exact: a newer build of a partition holds every row an older
 * one held for published segments, so a day with rows in an older build has them in the
 * newest too. */
static void where_of(char *out, size_t n, const char *table, const char *date, long long w)
{
    snprintf(out, n,
             "day = '%s' AND segment <= %lld AND (intDiv(segment, 64), build) IN (SELECT "
             "intDiv(segment, 64), max(build) FROM %s WHERE day = '%s' GROUP BY "
             "intDiv(segment, 64))",
             date, w, table, date);
}

/* One round trip: the day's totals, hours, minutes, cities (net and paid) and categories.
 * Rows: kind, name, cents_a, cents_b, count_a, count_b (TabSeparated). */
static void day_query(hdp_buf *q, const char *date, long long w)
{
    char where[320], lwhere[320];
    where_of(where, sizeof(where), "fact_order", date, w);
    where_of(lwhere, sizeof(lwhere), "fact_order_line", date, w);
    buf_printf(q,
               "SELECT 'd', '', sumIf(amount, event = 'paid'), sumIf(amount, event = 'refunded'),"
               " sum(orders), sum(refunds) FROM fact_order WHERE %s"
               " UNION ALL SELECT 'h', toString(hour), sum(amount), sum(amount) * 0, sum(orders),"
               " sum(refunds) * 0 FROM fact_order WHERE %s GROUP BY hour"
               " UNION ALL SELECT 'm', toString(minute), sum(amount), sum(amount) * 0, sum(orders),"
               " sum(refunds) * 0 FROM fact_order WHERE %s GROUP BY minute"
               " UNION ALL SELECT 'c', ship_city, sum(amount), sumIf(amount, event = 'paid'),"
               " sum(orders), sum(refunds) * 0 FROM fact_order WHERE %s GROUP BY ship_city"
               " UNION ALL SELECT 'k', category, sum(amount), sum(amount) * 0, sum(orders),"
               " sum(orders) * 0 FROM fact_order_line WHERE %s GROUP BY category"
               " FORMAT TabSeparated",
               where, where, where, where, lwhere);
}

static int cents_of(const ch_field *f, int64_t *out)
{
    return decimal_parse(f->p, f->n, out) == 0 ? 0 : -1;
}

static int count_of(const ch_field *f, int64_t *out)
{
    char tmp[32];
    if (f->n == 0 || f->n >= sizeof(tmp))
        return -1;
    memcpy(tmp, f->p, f->n);
    tmp[f->n] = '\0';
    char *end;
    *out = strtoll(tmp, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* Adds one result line to a. */
static int add_line(day_agg *a, const char *line, size_t len, hdp_buf *name, hdp_err *e)
{
    ch_field f[6];
    int64_t x, y, n1, n2;
    if (ch_tsv_fields(line, len, f, 6) != 6 || f[0].n != 1 || cents_of(&f[2], &x) ||
        cents_of(&f[3], &y) || count_of(&f[4], &n1) || count_of(&f[5], &n2))
        return hdp_fail(e, "ClickHouse: unexpected batch view row '%.60s'", line);
    buf_reset(name);
    if (ch_tsv_unescape(name, f[1].p, f[1].n) != 0)
        return hdp_fail(e, "ClickHouse: malformed name in a batch view row");
    const char *nm = name->data ? name->data : "";
    switch (f[0].p[0]) {
    case 'd':
        a->paid += x;
        a->refunded += -y; /* refund rows carry -total */
        a->orders += n1;
        a->refunds += n2;
        return HDP_OK;
    case 'h':
    case 'm': {
        int idx = atoi(nm), hour = f[0].p[0] == 'h';
        if (idx < 0 || idx >= (hour ? AGG_HOURS : AGG_MINUTES))
            return hdp_fail(e, "ClickHouse: time bucket %d out of range", idx);
        if (hour) {
            a->hour_cents[idx] += x;
            a->hour_orders[idx] += n1;
            a->hour_seen[idx] = 1;
        } else {
            a->min_cents[idx] += x;
            a->min_orders[idx] += n1;
            a->min_seen[idx] = 1;
        }
        return HDP_OK;
    }
    case 'c':
    case 'k': {
        agg_named *it = agg_map_get(f[0].p[0] == 'c' ? &a->cities : &a->categories, nm, name->len);
        it->cents += x;
        it->paid += y;
        it->orders += n1;
        return HDP_OK;
    }
    default:
        return hdp_fail(e, "ClickHouse: unexpected batch view row kind");
    }
}

static int fetch_day(batch_source *b, const char *date, long long w, day_agg *a, hdp_err *e)
{
    hdp_buf q = HDP_BUF_INIT, out = HDP_BUF_INIT, name = HDP_BUF_INIT;
    day_query(&q, date, w);
    int rc = ch_query(b->ch, q.data, NULL, &out, e);
    for (const char *p = out.data; rc == HDP_OK && p && *p;) {
        const char *nl = memchr(p, '\n', out.len - (size_t)(p - out.data));
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        rc = add_line(a, p, n, &name, e);
        p += n + (nl != NULL);
    }
    a->segments = 0;
    buf_free(&q);
    buf_free(&out);
    buf_free(&name);
    return rc;
}

/* ------------------------------------------------------------------ the cache */

int batch_read_day(batch_source *b, const char *date, long long w, day_agg *out, hdp_err *e)
{
    if (b == NULL)
        return hdp_retry(e, "a batch watermark is published but no ClickHouse is configured "
                            "(HDP_CLICKHOUSE_URL)");
    pthread_mutex_lock(&b->mu);
    cached_day *hit = NULL;
    for (size_t i = 0; i < b->n && !hit; i++)
        if (b->cache[i].w == w && strcmp(b->cache[i].date, date) == 0)
            hit = &b->cache[i];
    int rc = HDP_OK;
    if (hit == NULL && mono_us() < b->down_until_us) {
        rc = hdp_retry(e, "ClickHouse at %s: unreachable a moment ago", ch_describe(b->ch));
    } else if (hit == NULL) {
        day_agg fresh;
        agg_init(&fresh);
        rc = fetch_day(b, date, w, &fresh, e);
        if (rc == HDP_RETRY)
            b->down_until_us = mono_us() + USEC_PER_SEC;
        if (rc == HDP_OK) {
            size_t slot = b->n;
            if (b->n == CACHE_DAYS) { /* evict the least recently used */
                slot = 0;
                for (size_t i = 1; i < b->n; i++)
                    if (b->cache[i].used < b->cache[slot].used)
                        slot = i;
                agg_free(&b->cache[slot].agg);
            } else {
                b->n++;
            }
            hit = &b->cache[slot];
            snprintf(hit->date, sizeof(hit->date), "%s", date);
            hit->w = w;
            hit->agg = fresh;
        } else {
            agg_free(&fresh);
        }
    }
    if (hit) {
        hit->used = ++b->tick;
        rc = agg_merge(out, &hit->agg, e);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int batch_source_ping(batch_source *b, hdp_err *e)
{
    if (b == NULL)
        return hdp_fail(e, "no ClickHouse configured");
    pthread_mutex_lock(&b->mu);
    int rc;
    if (mono_us() < b->down_until_us) {
        rc = hdp_retry(e, "ClickHouse at %s: unreachable a moment ago", ch_describe(b->ch));
    } else {
        hdp_buf out = HDP_BUF_INIT;
        rc = ch_query(b->ch, "SELECT 1", NULL, &out, e);
        if (rc == HDP_RETRY)
            b->down_until_us = mono_us() + USEC_PER_SEC;
        buf_free(&out);
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}
