/* hdp reconcile — the serving layer against the source of truth.
 *
 * Waits until the speed layer has confirmed the source's current WAL position, recomputes
 * every metric with SQL on `shop` (net revenue, orders and refunds by day; by city, category
 * and hour), asks the API the same questions and compares to the cent; with ClickHouse
 * configured, also checks the marts against the vault segment by segment (marts_check). Prints
 * mismatches and exits 1 on any. Exact on a quiet source; under live load the newest changes
 * may differ. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/decimal.h"
#include "core/strmap.h"
#include "io/http_client.h"
#include "io/pg.h"
#include "marts/marts.h"
#include "cdc/cdc.h"

/* Keys: "DAY\x1fKIND\x1fNAME\x1fMETRIC". */
static void put(strmap *m, const char *day, const char *kind, const char *name, size_t nlen,
                const char *metric, int64_t v)
{
    char key[600];
    int n =
        snprintf(key, sizeof(key), "%s\x1f%s\x1f%.*s\x1f%s", day, kind, (int)nlen, name, metric);
    if (n > 0 && (size_t)n < sizeof(key))
        strmap_add(m, key, (size_t)n, v);
}

static const char *const truth_sql[] = {
    /* by day: revenue, orders, refunds */
    "WITH ev AS (SELECT paid_at AS t, total AS amt, 1 AS o, 0 AS r, ship_city FROM orders "
    "            WHERE paid_at IS NOT NULL "
    "  UNION ALL SELECT refunded_at, -total, 0, 1, ship_city FROM orders "
    "            WHERE refunded_at IS NOT NULL) "
    "SELECT to_char(t, 'YYYY-MM-DD'), 'day', '', sum(amt), sum(o), sum(r) FROM ev GROUP BY 1 "
    "UNION ALL SELECT to_char(t, 'YYYY-MM-DD'), 'city', ship_city, sum(amt), sum(o), 0 FROM ev "
    "  GROUP BY 1, 3 "
    "UNION ALL SELECT to_char(t, 'YYYY-MM-DD'), 'hour', to_char(t, 'HH24'), sum(amt), sum(o), 0 "
    "  FROM ev GROUP BY 1, 3",
    /* by category: an order's items, at its paid and refunded days */
    "WITH oc AS (SELECT oi.order_id, p.category, sum(oi.quantity * oi.unit_price) AS amt "
    "            FROM order_items oi JOIN products p USING (product_id) GROUP BY 1, 2), "
    "ev AS (SELECT o.paid_at AS t, oc.category, oc.amt, 1 AS n FROM orders o JOIN oc USING "
    "(order_id) "
    "       WHERE o.paid_at IS NOT NULL "
    "  UNION ALL SELECT o.refunded_at, oc.category, -oc.amt, 0 FROM orders o "
    "       JOIN oc USING (order_id) WHERE o.refunded_at IS NOT NULL) "
    "SELECT to_char(t, 'YYYY-MM-DD'), 'category', category, sum(amt), sum(n), 0 FROM ev "
    "  GROUP BY 1, 3",
    NULL};

static int load_truth(PGconn *c, strmap *truth, strmap *days, hdp_err *e)
{
    for (int q = 0; truth_sql[q]; q++) {
        PGresult *r = pg_query(c, truth_sql[q], 0, NULL, e);
        if (r == NULL)
            return HDP_ERR;
        for (int i = 0; i < PQntuples(r); i++) {
            const char *day = PQgetvalue(r, i, 0), *kind = PQgetvalue(r, i, 1);
            const char *name = PQgetvalue(r, i, 2);
            size_t nlen = (size_t)PQgetlength(r, i, 2);
            int64_t cents;
            if (decimal_parse(PQgetvalue(r, i, 3), strlen(PQgetvalue(r, i, 3)), &cents)) {
                PQclear(r);
                return hdp_fail(e, "cannot parse a sum from the source");
            }
            strmap_add(days, day, strlen(day), 1);
            put(truth, day, kind, name, nlen, "revenue", cents);
            put(truth, day, kind, name, nlen, "orders", atoll(PQgetvalue(r, i, 4)));
            if (strcmp(kind, "day") == 0)
                put(truth, day, kind, name, nlen, "refunds", atoll(PQgetvalue(r, i, 5)));
        }
        PQclear(r);
    }
    return HDP_OK;
}

static int json_money(json_t *o, const char *field, int64_t *cents)
{
    const char *s = json_string_value(json_object_get(o, field));
    return s == NULL || decimal_parse(s, strlen(s), cents) ? -1 : 0;
}

static int fetch(const char *base, const char *token, const char *path, const char *day,
                 json_t **out, hdp_err *e)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s%sdate=%s", base, path, strchr(path, '?') ? "&" : "?", day);
    hdp_buf body = HDP_BUF_INIT;
    long status = 0;
    int rc = http_get(url, token, 30000, &status, &body, e);
    if (rc == HDP_OK && status != 200)
        rc = hdp_fail(e, "GET %s answered %ld: %.200s", url, status, body.data ? body.data : "");
    json_error_t je;
    if (rc == HDP_OK) {
        *out = json_loadb(body.data, body.len, 0, &je);
        if (*out == NULL)
            rc = hdp_fail(e, "GET %s: invalid JSON: %s", url, je.text);
    }
    buf_free(&body);
    return rc;
}

/* Reads a list endpoint's rows into the map. */
static int load_list(json_t *doc, const char *list, const char *namefield, const char *day,
                     const char *kind, strmap *api)
{
    json_t *arr = json_object_get(doc, list), *row;
    size_t i;
    if (!json_is_array(arr))
        return -1;
    json_array_foreach(arr, i, row)
    {
        const char *name = json_string_value(json_object_get(row, namefield));
        int64_t cents;
        if (name == NULL || json_money(row, "revenue", &cents))
            return -1;
        char hour[3];
        if (strcmp(kind, "hour") == 0 && strlen(name) >= 13) {
            memcpy(hour, name + 11, 2); /* "YYYY-MM-DDTHH:..." */
            hour[2] = '\0';
            name = hour;
        }
        put(api, day, kind, name, strlen(name), "revenue", cents);
        put(api, day, kind, name, strlen(name), "orders",
            json_integer_value(json_object_get(row, "orders")));
    }
    return 0;
}

static int load_api(const char *base, const char *token, const char *day, strmap *api, hdp_err *e)
{
    json_t *doc;
    if (fetch(base, token, "/api/v1/revenue", day, &doc, e))
        return HDP_ERR;
    int64_t cents;
    int bad = json_money(doc, "revenue", &cents);
    if (!bad) {
        put(api, day, "day", "", 0, "revenue", cents);
        put(api, day, "day", "", 0, "orders", json_integer_value(json_object_get(doc, "orders")));
        put(api, day, "day", "", 0, "refunds", json_integer_value(json_object_get(doc, "refunds")));
    }
    json_decref(doc);
    static const struct {
        const char *path, *list, *name, *kind;
    } lists[] = {
        {"/api/v1/revenue/by-city", "cities", "city", "city"},
        {"/api/v1/revenue/by-category", "categories", "category", "category"},
        {"/api/v1/revenue/timeseries?interval=hour", "points", "ts", "hour"},
    };
    for (size_t i = 0; !bad && i < sizeof(lists) / sizeof(lists[0]); i++) {
        if (fetch(base, token, lists[i].path, day, &doc, e))
            return HDP_ERR;
        bad = load_list(doc, lists[i].list, lists[i].name, day, lists[i].kind, api);
        json_decref(doc);
    }
    return bad ? hdp_fail(e, "the API answered for %s in an unexpected shape", day) : HDP_OK;
}

/* Waits until slot hdp_speed has confirmed the source's WAL position of now. */
static int wait_caught_up(PGconn *c, long wait_s, hdp_err *e)
{
    char target[32];
    if (pg_query_value(c, "SELECT pg_current_wal_lsn()", target, sizeof(target), e))
        return HDP_ERR;
    const char *p[1] = {target};
    for (long i = 0; i <= wait_s * 10; i++) {
        PGresult *r = pg_query(c,
                               "SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots "
                               "WHERE slot_name = '" CDC_SLOT_SPEED "'",
                               1, p, e);
        if (r == NULL)
            return HDP_ERR;
        int done = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (done)
            return HDP_OK;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return hdp_fail(e,
                    "the speed layer did not reach LSN %s within %ld s (is 'hdp speed' running?)",
                    target, wait_s);
}

static void show(const char *key, int64_t api, int64_t truth)
{
    char k[600];
    snprintf(k, sizeof(k), "%s", key);
    for (char *p = k; *p; p++)
        if (*p == '\x1f')
            *p = ' ';
    int money = strstr(key, "\x1frevenue") != NULL;
    char a[32], t[32];
    if (money) {
        decimal_format(api, a);
        decimal_format(truth, t);
    } else {
        snprintf(a, sizeof(a), "%lld", (long long)api);
        snprintf(t, sizeof(t), "%lld", (long long)truth);
    }
    printf("MISMATCH %s: api %s, source %s\n", k, a, t);
}

typedef struct reconcile_args {
    const char *url;
    long wait;
} reconcile_args;

const cmd_opt cmd_reconcile_opts[] = {
    {"--url", OPT_STR, "URL", 0, 0, OPT_AT(reconcile_args, url),
     "API base URL (default http://HDP_HTTP_ADDR)"},
    {"--wait", OPT_INT, "SECONDS", 0, 86400, OPT_AT(reconcile_args, wait),
     "how long to wait for the speed layer to catch up (default 60)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

int cmd_reconcile(int argc, char **argv, hdp_config *cfg)
{
    reconcile_args a = {.wait = 60};
    int npos = 0;
    int code = opts_parse("reconcile", cmd_reconcile_opts, argc, argv, &a, NULL, 0, &npos);
    if (code != EXIT_OK)
        return code;
    char base[512];
    long wait_s = a.wait;
    if (a.url)
        snprintf(base, sizeof(base), "%s", a.url);
    else
        snprintf(base, sizeof(base), "http://%s:%d", cfg->http_host, cfg->http_port);
    hdp_err e;
    PGconn *c = pg_connect(cfg->source_dsn, NULL, NULL, &e);
    if (c == NULL)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    strmap truth = STRMAP_INIT, api = STRMAP_INIT, days = STRMAP_INIT;
    int rc = wait_caught_up(c, wait_s, &e);
    if (rc == HDP_OK) {
        /* The API may serve an answer up to HDP_SERVE_CACHE_MS old. */
        struct timespec ts = {0, (cfg->serve_cache_ms * 2 + 20) * 1000000L};
        nanosleep(&ts, NULL);
        rc = load_truth(c, &truth, &days, &e);
    }
    for (size_t i = 0; rc == HDP_OK && i < days.len; i++)
        rc = load_api(base, cfg->api_token, strmap_key(&days, i), &api, &e);
    PQfinish(c);
    size_t mismatches = 0, compared = 0;
    if (rc == HDP_OK) {
        for (size_t i = 0; i < truth.len; i++, compared++) {
            int64_t v = 0;
            const char *k = strmap_key(&truth, i);
            strmap_get(&api, k, truth.entries[i].key_len, &v);
            if (v != truth.entries[i].val && mismatches++ < 50)
                show(k, v, truth.entries[i].val);
        }
        for (size_t i = 0; i < api.len; i++) {
            int64_t v = 0;
            const char *k = strmap_key(&api, i);
            if (!strmap_get(&truth, k, api.entries[i].key_len, &v) && api.entries[i].val != 0 &&
                mismatches++ < 50) {
                show(k, api.entries[i].val, 0);
                compared++;
            }
        }
        printf("reconcile: %zu day(s), %zu values compared, %zu mismatch(es)\n", days.len, compared,
               mismatches);
    }
    if (rc == HDP_OK && cfg->clickhouse_url[0] != '\0') {
        size_t segs = 0, bad = 0;
        rc = marts_check(cfg, stdout, &segs, &bad, &e);
        if (rc == HDP_OK)
            printf("reconcile: marts: %zu segment(s) compared with the vault, %zu mismatch(es)\n",
                   segs, bad);
        mismatches += bad;
    }
    strmap_free(&truth);
    strmap_free(&api);
    strmap_free(&days);
    if (rc != HDP_OK)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    return mismatches ? EXIT_RUNTIME : EXIT_OK;
}
