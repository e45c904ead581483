#include "serve/server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/speed_model.h"
#include "core/timeutil.h"
#include "io/http_server.h"
#include "io/redis.h"
#include "serve/agg.h"
#include "serve/cache.h"
#include "serve/dwh.h"
#include "serve/history.h"
#include "serve/metrics.h"
#include "serve/pages.h"
#include "serve/query.h"
#include "serve/render.h"
#include "serve/server_int.h"
#include "serve/sources.h"

#define MAX_ARGS 16

/* ---------------------------------------------------------------- answers from Redis */

/* The cache copies it for its refresher: the query by value, no pointer into a stack. */
typedef struct fill_ctx {
    hdp_server *s;
    serve_query q;
} fill_ctx;

/* Logs a failed read at most once a second: a dead Redis or dwh must not flood the log.
 * what names the request ("2026-11-23", "customer 42"). */
void serve_log_failure(hdp_server *s, serve_endpoint ep, const char *what, const char *msg)
{
    int64_t now = mono_us();
    int64_t last = atomic_load(&s->last_fail_log_us);
    if (now - last < USEC_PER_SEC && last != 0)
        return;
    if (atomic_compare_exchange_strong(&s->last_fail_log_us, &last, now))
        log_warn("%s %s: %s", serve_endpoint_name(ep), what, msg);
}

/* Runs op on the shared Redis connection. A connection opened before this request may have
 * died since (Redis restarted): reads are idempotent, so one more try on a fresh connection
 * answers instead of a 503. */
int serve_with_redis(hdp_server *s, redis_op op, void *ctx, hdp_err *e)
{
    pthread_mutex_lock(&s->redis_mu);
    int rc = HDP_RETRY;
    for (int attempt = 0; attempt < 2 && rc == HDP_RETRY; attempt++) {
        int was_connected = redis_connected(s->redis);
        rc = op(s->redis, ctx, e);
        if (!was_connected)
            break;
    }
    pthread_mutex_unlock(&s->redis_mu);
    return rc;
}

typedef struct watermark_read {
    int has;
    long long w;
} watermark_read;

static int op_watermark(hdp_redis *r, void *ctx, hdp_err *e)
{
    watermark_read *wr = ctx;
    return source_watermark(r, &wr->has, &wr->w, e);
}

typedef struct speed_day_read {
    const char *date;
    int has_w;
    long long w;
    day_agg *out;
} speed_day_read;

static int op_speed_day(hdp_redis *r, void *ctx, hdp_err *e)
{
    speed_day_read *d = ctx;
    agg_free(d->out); /* a retried read starts over */
    agg_init(d->out);
    return speed_read_day(r, d->date, d->has_w, d->w, d->out, e);
}

typedef struct holds_read {
    const serve_query *q;
    long segment_seconds;
    int holds;
} holds_read;

static int op_holds(hdp_redis *r, void *ctx, hdp_err *e)
{
    holds_read *h = ctx;
    return speed_holds_days(r, h->q->from_day, h->q->to_day, h->segment_seconds, &h->holds, e);
}

/* An answer being assembled: the parts summed over the days, and one day's scratch. */
typedef struct range_answer {
    watermark_read wm;
    int batch_down; /* a batch read failed with HDP_RETRY */
    day_agg speed, batch, total;
    day_agg day_speed, day_batch, day_total;
    hdp_buf points;
} range_answer;

static void range_init(range_answer *ra)
{
    memset(ra, 0, sizeof(*ra));
    day_agg *all[] = {&ra->speed,     &ra->batch,     &ra->total,
                      &ra->day_speed, &ra->day_batch, &ra->day_total};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        agg_init(all[i]);
}

static void range_free(range_answer *ra)
{
    day_agg *all[] = {&ra->speed,     &ra->batch,     &ra->total,
                      &ra->day_speed, &ra->day_batch, &ra->day_total};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        agg_free(all[i]);
    buf_free(&ra->points);
}

/* Sums q's days into ra: batch(<= W) + speed(> W) with W as read once, or, speed_only, the
 * speed layer's every segment. Each day's total also becomes its timeseries points. */
static int read_range(hdp_server *s, const serve_query *q, int speed_only, range_answer *ra,
                      hdp_err *e)
{
    int rc = speed_only ? HDP_OK : serve_with_redis(s, op_watermark, &ra->wm, e);
    int use_batch = !speed_only && ra->wm.has;
    for (int64_t d = q->from_day; d <= q->to_day && rc == HDP_OK; d++) {
        char date[11];
        date_format(d, date);
        speed_day_read sr = {date, use_batch, ra->wm.w, &ra->day_speed};
        rc = serve_with_redis(s, op_speed_day, &sr, e);
        agg_free(&ra->day_batch);
        agg_init(&ra->day_batch);
        if (rc == HDP_OK && use_batch) {
            rc = batch_read_day(s->batch, date, ra->wm.w, &ra->day_batch, e);
            ra->batch_down = rc == HDP_RETRY;
        }
        if (rc == HDP_OK && q->ep == EP_TIMESERIES) {
            agg_free(&ra->day_total);
            agg_init(&ra->day_total);
            rc = agg_merge(&ra->day_total, &ra->day_batch, e);
            if (rc == HDP_OK)
                rc = agg_merge(&ra->day_total, &ra->day_speed, e);
            if (rc == HDP_OK)
                render_points(&ra->points, q->interval, d, &ra->day_total);
        }
        if (rc == HDP_OK)
            rc = agg_merge(&ra->speed, &ra->day_speed, e);
        if (rc == HDP_OK)
            rc = agg_merge(&ra->batch, &ra->day_batch, e);
    }
    if (rc == HDP_OK)
        rc = agg_merge(&ra->total, &ra->batch, e);
    if (rc == HDP_OK)
        rc = agg_merge(&ra->total, &ra->speed, e);
    return rc;
}

/* The cache's fill: batch(<= W) + speed(> W) of the query's days, rendered. With the batch
 * layer away, the speed layer alone answers (degraded) when it still holds every segment of
 * those days; else 503, as when Redis is away. Anything else is a 500. */
static void fill_answer(void *ctx, const char *key, hdp_buf *body, int *status)
{
    (void)key;
    const fill_ctx *fc = ctx;
    hdp_server *s = fc->s;
    const serve_query *q = &fc->q;
    hdp_err e;
    range_answer *ra = xmalloc(sizeof(*ra)); /* six day_aggs: too big for a worker's stack */
    range_init(ra);
    int degraded = 0;
    int rc = read_range(s, q, 0, ra, &e);
    if (rc == HDP_RETRY && ra->batch_down) {
        serve_log_failure(s, q->ep, q->from, e.msg);
        holds_read h = {q, s->segment_seconds, 0};
        rc = serve_with_redis(s, op_holds, &h, &e);
        if (rc == HDP_OK && h.holds) {
            range_free(ra);
            range_init(ra);
            degraded = 1;
            rc = read_range(s, q, 1, ra, &e);
        } else if (rc == HDP_OK) {
            *status = 503;
            buf_reset(body);
            render_error(body, "unavailable",
                         "the batch layer (ClickHouse) is unreachable and the speed layer no "
                         "longer holds every segment of these days");
            range_free(ra);
            free(ra);
            return;
        }
    }
    if (rc == HDP_OK) {
        serve_answer a = {.has_watermark = ra->wm.has,
                          .watermark = ra->wm.w,
                          .degraded = degraded,
                          .batch = &ra->batch,
                          .speed = &ra->speed,
                          .total = &ra->total,
                          .points = &ra->points};
        rc = render_answer(body, q, &a, &e);
    }
    if (rc == HDP_OK) {
        *status = 200;
    } else {
        atomic_fetch_add(&s->metrics.redis_errors, 1);
        serve_log_failure(s, q->ep, q->from, e.msg);
        buf_reset(body);
        if (rc == HDP_RETRY || !redis_connected(s->redis)) { /* away, or refusing us */
            *status = 503;
            render_error(body, "unavailable", "the speed layer (Redis) is unreachable");
        } else {
            *status = 500;
            render_error(body, "internal", e.msg);
        }
    }
    range_free(ra);
    free(ra);
}

/* ---------------------------------------------------------------- responses */

void serve_send_error(hdp_server *s, http_response *res, serve_endpoint ep, int status,
                      const char *code, const char *msg)
{
    metrics_request(&s->metrics, ep, status);
    http_respond_error(res, status, code, msg);
    if (status == 405)
        http_response_header(res, "Allow", ep == EP_RUNS ? "GET, HEAD, POST" : "GET, HEAD");
    if (status == 401)
        http_response_header(res, "WWW-Authenticate", "Bearer");
}

/* ---------------------------------------------------------------- endpoints */

/* The compiled-in documents: /openapi.json, /docs, / and /assets/<name> (404 JSON for an
 * asset that is not there). */
static void do_static(hdp_server *s, const http_request *req, http_response *res, serve_endpoint ep)
{
    if (ep == EP_OPENAPI) {
        metrics_request(&s->metrics, ep, 200);
        http_respond_static(res, 200, JSON, s->openapi, strlen(s->openapi));
        return;
    }
    serve_page p;
    if (ep != EP_ASSET) {
        p = serve_html(ep == EP_DOCS);
    } else {
        const char *name = serve_asset_name(req->path);
        if (name == NULL || !serve_asset(name, &p)) {
            serve_send_error(s, res, ep, 404, "not_found", "no such asset");
            return;
        }
    }
    metrics_request(&s->metrics, ep, 200);
    http_respond_static(res, 200, p.ctype, p.body, p.len);
    http_response_header(res, "Cache-Control", p.cache);
    http_response_header(res, "X-Content-Type-Options", "nosniff");
}

/* Constant-time comparison of the Authorization header with "Bearer <token>". */
int serve_token_ok(const hdp_server *s, const http_request *req)
{
    const char *auth = http_request_header(req, "Authorization");
    if (s->token == NULL || auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    const char *t = auth + 7;
    size_t n = strlen(t);
    unsigned char diff = n != s->token_len;
    for (size_t i = 0; i < s->token_len; i++)
        diff |= (unsigned char)(t[i < n ? i : 0] ^ s->token[i]);
    return diff == 0;
}

/* True when the request may use /api/: no token configured, or the right bearer token. */
static int authorized(const hdp_server *s, const http_request *req)
{
    return s->token == NULL || serve_token_ok(s, req);
}

static void send_unauthorized(hdp_server *s, http_response *res, serve_endpoint ep)
{
    serve_send_error(s, res, ep, 401, "unauthorized",
                     "missing or wrong 'Authorization: Bearer <token>'");
}

static void do_api(hdp_server *s, const http_request *req, http_response *res, serve_endpoint ep)
{
    if (!authorized(s, req)) {
        send_unauthorized(s, res, ep);
        return;
    }
    if (req->query_error != NULL) {
        serve_send_error(s, res, ep, 400, "bad_request", req->query_error);
        return;
    }
    if (req->nparams > MAX_ARGS) {
        serve_send_error(s, res, ep, 400, "bad_request", "too many query parameters");
        return;
    }
    serve_arg args[MAX_ARGS];
    for (size_t i = 0; i < req->nparams; i++) {
        args[i].key = req->params[i].key;
        args[i].val = req->params[i].val;
    }
    serve_query q;
    hdp_err e;
    int64_t today = floor_div(now_unix_us(), USEC_PER_DAY);
    if (serve_query_parse(ep, args, req->nparams, today, &q, &e) != HDP_OK) {
        serve_send_error(s, res, ep, 400, "bad_request", e.msg);
        return;
    }
    char key[64];
    serve_query_key(&q, key, sizeof(key));
    fill_ctx fc = {s, q};
    char *body;
    size_t len;
    int status, hit;
    cache_get(s->cache, key, fill_answer, &fc, sizeof(fc), &body, &len, &status, &hit);
    atomic_fetch_add_explicit(hit ? &s->metrics.cache_hits : &s->metrics.cache_misses, 1,
                              memory_order_relaxed);
    metrics_request(&s->metrics, ep, status);
    http_respond(res, status, JSON, body, len);
    free(body);
}

void serve_today_revenue(hdp_server *s, char **body, size_t *len, int *status)
{
    serve_query q;
    hdp_err e;
    int64_t today = floor_div(now_unix_us(), USEC_PER_DAY);
    (void)serve_query_parse(EP_REVENUE, NULL, 0, today, &q, &e); /* no arguments: cannot fail */
    char key[64];
    serve_query_key(&q, key, sizeof(key));
    fill_ctx fc = {s, q};
    int hit;
    cache_get(s->cache, key, fill_answer, &fc, sizeof(fc), body, len, status, &hit);
}

/* ---------------------------------------------------------------- answers from dwh */

typedef struct history_req {
    int64_t id;
    history_shape shape;
    hdp_buf *body;
    int found;
} history_req;

static int run_history(PGconn *c, void *ctx, hdp_err *e)
{
    history_req *h = ctx;
    buf_reset(h->body);
    return history_fetch(c, h->id, h->shape, h->body, &h->found, e);
}

/* A customer's order history, straight from dwh. It bypasses the answer cache: its keys
 * are one per customer, unbounded, while the cache is a small linear table sized for a few
 * days' keys that every revenue request scans; a history read is a few index probes, and a
 * customer is rarely asked for twice within the cache window. */
static void do_history(hdp_server *s, const http_request *req, http_response *res,
                       serve_endpoint ep)
{
    if (!authorized(s, req)) {
        send_unauthorized(s, res, ep);
        return;
    }
    if (req->query_error != NULL || req->nparams > 0) {
        serve_send_error(s, res, ep, 400, "bad_request", "this endpoint takes no query parameters");
        return;
    }
    hdp_err e;
    history_req h = {.shape = ep == EP_USER_HISTORY ? HISTORY_ORIGINAL : HISTORY_USERS,
                     .body = http_response_body(res)};
    if (serve_history_id(req->path, &h.id, &e) != HDP_OK) {
        serve_send_error(s, res, ep, 400, "bad_request", e.msg);
        return;
    }
    int rc = dwh_run(s->dwh, run_history, &h, &e);
    if (rc == HDP_OK && h.found) {
        metrics_request(&s->metrics, ep, 200);
        http_respond_status(res, 200, JSON);
        return;
    }
    char msg[96];
    if (rc == HDP_OK) {
        snprintf(msg, sizeof(msg), "no customer %lld in the data vault", (long long)h.id);
        serve_send_error(s, res, ep, 404, "not_found", msg);
        return;
    }
    atomic_fetch_add(&s->metrics.dwh_errors, 1);
    snprintf(msg, sizeof(msg), "customer %lld", (long long)h.id);
    serve_log_failure(s, ep, msg, e.msg);
    if (rc == HDP_RETRY)
        serve_send_error(s, res, ep, 503, "unavailable", "the data vault (dwh) is unreachable");
    else
        serve_send_error(s, res, ep, 500, "internal", "the data vault query failed");
}

/* The HTTP server's handler: runs on a worker thread, once per request. Routes on the path
 * as sent (undecoded); GET and HEAD everywhere, POST on the pipeline's runs; any other method
 * is a 405 on a known path. */
static void on_request(void *ctx, const http_request *req, http_response *res)
{
    hdp_server *s = ctx;
    serve_endpoint ep = serve_route(req->path);
    if (ep == EP_UNKNOWN) {
        serve_send_error(s, res, ep, 404, "not_found", "no such path");
        return;
    }
    int get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    int post = strcmp(req->method, "POST") == 0 && ep == EP_RUNS;
    if (!get && !post) {
        serve_send_error(s, res, ep, 405, "method_not_allowed",
                         ep == EP_RUNS ? "only GET, HEAD and POST are supported"
                                       : "only GET and HEAD are supported");
        return;
    }
    switch (ep) {
    case EP_HEALTH:
        serve_do_health(s, res);
        break;
    case EP_METRICS:
        serve_do_metrics(s, req, res);
        break;
    case EP_OPENAPI:
    case EP_DOCS:
    case EP_INDEX:
    case EP_ASSET:
        do_static(s, req, res, ep);
        break;
    case EP_HISTORY:
    case EP_USER_HISTORY:
        do_history(s, req, res, ep);
        break;
    case EP_RUNS:
        if (post || authorized(s, req))
            serve_do_runs(s, req, res); /* a POST checks the token itself: 401 vs 403 */
        else
            send_unauthorized(s, res, ep);
        break;
    case EP_PIPELINE:
    case EP_STREAM:
        if (!authorized(s, req))
            send_unauthorized(s, res, ep);
        else if (ep == EP_PIPELINE)
            serve_do_pipeline(s, req, res);
        else
            serve_do_stream(s, res);
        break;
    default:
        do_api(s, req, res, ep);
        break;
    }
}

/* ---------------------------------------------------------------- lifecycle */

int server_start(hdp_server **out, const serve_opts *o, hdp_err *e)
{
    *out = NULL;
    hdp_server *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->redis_mu, NULL);
    s->redis = redis_new(&o->redis, 1000);
    redis_set_retry_interval(s->redis, 100);
    s->dwh = dwh_new(o->dwh_dsn, 100);
    s->shop = dwh_new(o->source_dsn ? o->source_dsn : "", 1000);
    s->batch = batch_source_new(o->clickhouse_url, e);
    s->cache = cache_new(o->cache_ms, 4096);
    s->segment_seconds = o->segment_seconds;
    s->cache_ms = o->cache_ms;
    metrics_init(&s->metrics);
    if (o->token != NULL && o->token[0] != '\0') {
        s->token = xstrdup(o->token);
        s->token_len = strlen(s->token);
    }
    s->openapi = serve_openapi_render(s->token != NULL);
    /* Redis refusing us (wrong password, no such database) will not mend by itself: say so
     * now, once. Redis away is another matter: answers are 503 until it is back. */
    redisReply *pong = NULL;
    int probe = redis_command(s->redis, &pong, e, "PING");
    freeReplyObject(pong);
    if (probe == HDP_ERR) {
        hdp_err_prefix(e, "redis: ");
        server_stop(s);
        return HDP_ERR;
    }
    if (probe == HDP_RETRY)
        log_warn("redis %s:%d is not reachable yet (%s): answers are 503 until it is",
                 o->redis.host, o->redis.port, e->msg);
    http_server_opts ho = {
        .host = o->host,
        .port = o->port,
        .threads = o->threads > 1 ? o->threads : 1,
        .max_conns = o->max_conns,
        .max_per_addr = o->max_per_addr,
        .header_timeout_ms = o->header_timeout_ms,
        .idle_timeout_ms = o->idle_timeout_ms,
        .handler = on_request,
        .ctx = s,
    };
    if (http_server_start(&s->http, &ho, e) != HDP_OK || serve_stream_start(s, e) != HDP_OK) {
        server_stop(s);
        return HDP_ERR;
    }
    *out = s;
    return HDP_OK;
}

int server_max_conns(const hdp_server *s)
{
    return http_server_max_conns(s->http);
}

void server_stop(hdp_server *s)
{
    if (s == NULL)
        return;
    serve_stream_stop(s);      /* before the HTTP server: it broadcasts through it */
    http_server_stop(s->http); /* joins the workers: no handler runs after this */
    cache_free(s->cache);
    redis_free(s->redis);
    dwh_free(s->dwh);
    dwh_free(s->shop);
    batch_source_free(s->batch);
    free(s->token);
    free(s->openapi);
    pthread_mutex_destroy(&s->redis_mu);
    free(s);
}
