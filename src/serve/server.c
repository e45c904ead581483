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
#include "serve/sources.h"

#define MAX_ARGS 16
#define JSON     "application/json"

struct hdp_server {
    http_server *http;
    pthread_mutex_t redis_mu; /* guards redis */
    hdp_redis *redis;
    serve_dwh *dwh;      /* the Data Vault, for the history endpoints; has its own lock */
    batch_source *batch; /* ClickHouse's batch views (NULL: none configured) */
    serve_cache *cache;
    serve_metrics metrics;
    char *token;
    size_t token_len;
    char *openapi; /* /openapi.json as served (security declared only with a token) */
    _Atomic int64_t last_fail_log_us;
};

/* ---------------------------------------------------------------- answers from Redis */

typedef struct fill_ctx {
    hdp_server *s;
    const serve_query *q;
} fill_ctx;

/* Logs a failed read at most once a second: a dead Redis or dwh must not flood the log.
 * what names the request ("2026-11-23", "customer 42"). */
static void log_read_failure(hdp_server *s, serve_endpoint ep, const char *what, const char *msg)
{
    int64_t now = mono_us();
    int64_t last = atomic_load(&s->last_fail_log_us);
    if (now - last < USEC_PER_SEC && last != 0)
        return;
    if (atomic_compare_exchange_strong(&s->last_fail_log_us, &last, now))
        log_warn("%s %s: %s", serve_endpoint_name(ep), what, msg);
}

/* The cache's fill: reads W once, then batch(<= W) and speed(> W) of the query's day, and
 * renders the answer; Redis unreachable is a 503, anything else a 500. */
static void fill_answer(void *ctx, const char *key, hdp_buf *body, int *status)
{
    (void)key;
    const fill_ctx *fc = ctx;
    hdp_server *s = fc->s;
    const serve_query *q = fc->q;
    hdp_err e;
    day_agg speed, batch, total;
    agg_init(&speed);
    agg_init(&batch);
    agg_init(&total);
    int has_w = 0;
    long long w = 0;

    pthread_mutex_lock(&s->redis_mu);
    /* A connection opened before this request may have died since (Redis restarted): the
     * read is idempotent, so one more try on a fresh connection answers instead of a 503. */
    int rc = HDP_RETRY;
    for (int attempt = 0; attempt < 2 && rc == HDP_RETRY; attempt++) {
        int was_connected = redis_connected(s->redis);
        agg_free(&speed);
        agg_init(&speed);
        rc = source_watermark(s->redis, &has_w, &w, &e);
        if (rc == HDP_OK)
            rc = speed_read_day(s->redis, q->date, has_w, w, &speed, &e);
        if (!was_connected)
            break;
    }
    pthread_mutex_unlock(&s->redis_mu);
    if (rc == HDP_OK)
        rc = has_w ? batch_read_day(s->batch, q->date, w, &batch, &e) : HDP_OK;
    if (rc == HDP_OK)
        rc = agg_merge(&total, &batch, &e);
    if (rc == HDP_OK)
        rc = agg_merge(&total, &speed, &e);
    if (rc == HDP_OK) {
        serve_answer a = {has_w, w, &batch, &speed, &total};
        rc = render_answer(body, q, &a, &e);
    }
    if (rc == HDP_OK) {
        *status = 200;
    } else {
        atomic_fetch_add(&s->metrics.redis_errors, 1);
        log_read_failure(s, q->ep, q->date, e.msg);
        buf_reset(body);
        if (rc == HDP_RETRY || !redis_connected(s->redis)) { /* away, or refusing us */
            *status = 503;
            render_error(body, "unavailable", "the speed layer (Redis) is unreachable");
        } else {
            *status = 500;
            render_error(body, "internal", e.msg);
        }
    }
    agg_free(&speed);
    agg_free(&batch);
    agg_free(&total);
}

/* ---------------------------------------------------------------- responses */

static void send_error(hdp_server *s, http_response *res, serve_endpoint ep, int status,
                       const char *code, const char *msg)
{
    metrics_request(&s->metrics, ep, status);
    http_respond_error(res, status, code, msg);
    if (status == 405)
        http_response_header(res, "Allow", "GET, HEAD");
    if (status == 401)
        http_response_header(res, "WWW-Authenticate", "Bearer");
}

/* ---------------------------------------------------------------- endpoints */

static void do_health(hdp_server *s, http_response *res)
{
    hdp_err e;
    redisReply *rep = NULL;
    pthread_mutex_lock(&s->redis_mu);
    int rc = redis_command(s->redis, &rep, &e, "PING");
    pthread_mutex_unlock(&s->redis_mu);
    freeReplyObject(rep);
    if (rc != HDP_OK) {
        atomic_fetch_add(&s->metrics.redis_errors, 1);
        http_respond_status(res, 503, JSON);
        hdp_buf *b = http_response_body(res);
        buf_puts(b, "{\"status\":\"unavailable\",\"redis\":\"down\",\"error\":{\"code\":"
                    "\"unavailable\",\"message\":");
        buf_put_json_str(b, e.msg, strlen(e.msg));
        buf_puts(b, "}}");
        metrics_request(&s->metrics, EP_HEALTH, 503);
        return;
    }
    static const char ok[] = "{\"status\":\"ok\",\"redis\":\"ok\"}";
    metrics_request(&s->metrics, EP_HEALTH, 200);
    http_respond_static(res, 200, JSON, ok, sizeof(ok) - 1);
}

static void do_metrics(hdp_server *s, const http_request *req, http_response *res)
{
    hdp_err e;
    redisReply *rep = NULL;
    long long quarantined = -1;
    pthread_mutex_lock(&s->redis_mu);
    int rc = redis_command(s->redis, &rep, &e, "GET %s", SPEED_QUARN_KEY);
    pthread_mutex_unlock(&s->redis_mu);
    if (rc == HDP_OK && (rep->type == REDIS_REPLY_NIL || redis_reply_i64(rep, &quarantined) != 0))
        quarantined = 0;
    freeReplyObject(rep);
    if (rc != HDP_OK)
        atomic_fetch_add(&s->metrics.redis_errors, 1);
    metrics_request(&s->metrics, EP_METRICS, 200);
    http_server_stats st;
    http_server_stats_get(req->server, &st);
    http_respond_status(res, 200, "text/plain; version=0.0.4");
    hdp_buf *b = http_response_body(res);
    metrics_render(&s->metrics, b, quarantined, rc == HDP_OK);
    metrics_render_http(&st, b);
}

static void do_static(hdp_server *s, http_response *res, serve_endpoint ep)
{
    const char *doc = ep == EP_OPENAPI ? s->openapi
                      : ep == EP_DOCS  ? serve_docs_html
                                       : serve_index_html;
    metrics_request(&s->metrics, ep, 200);
    http_respond_static(res, 200, ep == EP_OPENAPI ? JSON : "text/html; charset=utf-8", doc,
                        strlen(doc));
}

/* Constant-time comparison of the Authorization header with "Bearer <token>". */
static int token_ok(const hdp_server *s, const char *auth)
{
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0)
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
    return s->token == NULL || token_ok(s, http_request_header(req, "Authorization"));
}

static void send_unauthorized(hdp_server *s, http_response *res, serve_endpoint ep)
{
    send_error(s, res, ep, 401, "unauthorized", "missing or wrong 'Authorization: Bearer <token>'");
}

static void do_api(hdp_server *s, const http_request *req, http_response *res, serve_endpoint ep)
{
    if (!authorized(s, req)) {
        send_unauthorized(s, res, ep);
        return;
    }
    if (req->query_error != NULL) {
        send_error(s, res, ep, 400, "bad_request", req->query_error);
        return;
    }
    if (req->nparams > MAX_ARGS) {
        send_error(s, res, ep, 400, "bad_request", "too many query parameters");
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
        send_error(s, res, ep, 400, "bad_request", e.msg);
        return;
    }
    char key[64];
    serve_query_key(&q, key, sizeof(key));
    fill_ctx fc = {s, &q};
    char *body;
    size_t len;
    int status, hit;
    cache_get(s->cache, key, fill_answer, &fc, &body, &len, &status, &hit);
    atomic_fetch_add_explicit(hit ? &s->metrics.cache_hits : &s->metrics.cache_misses, 1,
                              memory_order_relaxed);
    metrics_request(&s->metrics, ep, status);
    http_respond(res, status, JSON, body, len);
    free(body);
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
        send_error(s, res, ep, 400, "bad_request", "this endpoint takes no query parameters");
        return;
    }
    hdp_err e;
    history_req h = {.shape = ep == EP_USER_HISTORY ? HISTORY_ORIGINAL : HISTORY_USERS,
                     .body = http_response_body(res)};
    if (serve_history_id(req->path, &h.id, &e) != HDP_OK) {
        send_error(s, res, ep, 400, "bad_request", e.msg);
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
        send_error(s, res, ep, 404, "not_found", msg);
        return;
    }
    atomic_fetch_add(&s->metrics.dwh_errors, 1);
    snprintf(msg, sizeof(msg), "customer %lld", (long long)h.id);
    log_read_failure(s, ep, msg, e.msg);
    if (rc == HDP_RETRY)
        send_error(s, res, ep, 503, "unavailable", "the data vault (dwh) is unreachable");
    else
        send_error(s, res, ep, 500, "internal", "the data vault query failed");
}

/* The HTTP server's handler: runs on a worker thread, once per request. Routes on the path
 * as sent (undecoded); any method but GET and HEAD is a 405 on a known path (a request body,
 * if any, is ignored). */
static void on_request(void *ctx, const http_request *req, http_response *res)
{
    hdp_server *s = ctx;
    serve_endpoint ep = serve_route(req->path);
    if (ep == EP_UNKNOWN) {
        send_error(s, res, ep, 404, "not_found", "no such path");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        send_error(s, res, ep, 405, "method_not_allowed", "only GET and HEAD are supported");
        return;
    }
    switch (ep) {
    case EP_HEALTH:
        do_health(s, res);
        break;
    case EP_METRICS:
        do_metrics(s, req, res);
        break;
    case EP_OPENAPI:
    case EP_DOCS:
    case EP_INDEX:
        do_static(s, res, ep);
        break;
    case EP_HISTORY:
    case EP_USER_HISTORY:
        do_history(s, req, res, ep);
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
    s->batch = batch_source_new(o->clickhouse_url, e);
    s->cache = cache_new(o->cache_ms, 4096);
    metrics_init(&s->metrics);
    if (o->token != NULL && o->token[0] != '\0') {
        s->token = xstrdup(o->token);
        s->token_len = strlen(s->token);
    }
    s->openapi = serve_openapi_render(s->token != NULL);
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
    if (http_server_start(&s->http, &ho, e) != HDP_OK) {
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
    http_server_stop(s->http); /* joins the workers: no handler runs after this */
    cache_free(s->cache);
    redis_free(s->redis);
    dwh_free(s->dwh);
    batch_source_free(s->batch);
    free(s->token);
    free(s->openapi);
    pthread_mutex_destroy(&s->redis_mu);
    free(s);
}
