#include "serve/server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/speed_model.h"
#include "core/timeutil.h"
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
    struct MHD_Daemon *daemon;
    pthread_mutex_t redis_mu; /* guards redis */
    hdp_redis *redis;
    serve_dwh *dwh;      /* the Data Vault, for the history endpoints; has its own lock */
    batch_source *batch; /* ClickHouse's batch views (NULL: none configured) */
    serve_cache *cache;
    serve_metrics metrics;
    char *token;
    size_t token_len;
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
        *status = MHD_HTTP_OK;
    } else {
        atomic_fetch_add(&s->metrics.redis_errors, 1);
        log_read_failure(s, q->ep, q->date, e.msg);
        buf_reset(body);
        if (rc == HDP_RETRY || !redis_connected(s->redis)) { /* away, or refusing us */
            *status = MHD_HTTP_SERVICE_UNAVAILABLE;
            render_error(body, "unavailable", "the speed layer (Redis) is unreachable");
        } else {
            *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            render_error(body, "internal", e.msg);
        }
    }
    agg_free(&speed);
    agg_free(&batch);
    agg_free(&total);
}

/* ---------------------------------------------------------------- responses */

static enum MHD_Result send_body(struct MHD_Connection *conn, int status, const char *ctype,
                                 void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (r == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_buf(struct MHD_Connection *conn, int status, const char *ctype,
                                hdp_buf *b)
{
    size_t len = b->len;
    char *body = b->data ? buf_detach(b) : xstrdup("");
    return send_body(conn, status, ctype, body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_error(hdp_server *s, struct MHD_Connection *conn, serve_endpoint ep,
                                  int status, const char *code, const char *msg)
{
    hdp_buf b = HDP_BUF_INIT;
    render_error(&b, code, msg);
    metrics_request(&s->metrics, ep, status);
    return send_buf(conn, status, JSON, &b);
}

/* ---------------------------------------------------------------- endpoints */

static enum MHD_Result do_health(hdp_server *s, struct MHD_Connection *conn)
{
    hdp_err e;
    redisReply *rep = NULL;
    pthread_mutex_lock(&s->redis_mu);
    int rc = redis_command(s->redis, &rep, &e, "PING");
    pthread_mutex_unlock(&s->redis_mu);
    freeReplyObject(rep);
    if (rc != HDP_OK) {
        atomic_fetch_add(&s->metrics.redis_errors, 1);
        hdp_buf b = HDP_BUF_INIT;
        buf_puts(&b, "{\"status\":\"unavailable\",\"redis\":\"down\",\"error\":{\"code\":"
                     "\"unavailable\",\"message\":");
        buf_put_json_str(&b, e.msg, strlen(e.msg));
        buf_puts(&b, "}}");
        metrics_request(&s->metrics, EP_HEALTH, MHD_HTTP_SERVICE_UNAVAILABLE);
        return send_buf(conn, MHD_HTTP_SERVICE_UNAVAILABLE, JSON, &b);
    }
    static const char ok[] = "{\"status\":\"ok\",\"redis\":\"ok\"}";
    metrics_request(&s->metrics, EP_HEALTH, MHD_HTTP_OK);
    return send_body(conn, MHD_HTTP_OK, JSON, (void *)ok, sizeof(ok) - 1, MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result do_metrics(hdp_server *s, struct MHD_Connection *conn)
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
    metrics_request(&s->metrics, EP_METRICS, MHD_HTTP_OK);
    hdp_buf b = HDP_BUF_INIT;
    metrics_render(&s->metrics, &b, quarantined, rc == HDP_OK);
    return send_buf(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", &b);
}

static enum MHD_Result do_static(hdp_server *s, struct MHD_Connection *conn, serve_endpoint ep)
{
    const char *doc = ep == EP_OPENAPI ? serve_openapi_json
                      : ep == EP_DOCS  ? serve_docs_html
                                       : serve_index_html;
    metrics_request(&s->metrics, ep, MHD_HTTP_OK);
    return send_body(conn, MHD_HTTP_OK, ep == EP_OPENAPI ? JSON : "text/html; charset=utf-8",
                     (void *)doc, strlen(doc), MHD_RESPMEM_PERSISTENT);
}

typedef struct arg_list {
    serve_arg v[MAX_ARGS];
    size_t n;
    int overflow;
} arg_list;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    arg_list *a = cls;
    if (a->n == MAX_ARGS) {
        a->overflow = 1;
        return MHD_NO;
    }
    a->v[a->n].key = key ? key : "";
    a->v[a->n].val = value;
    a->n++;
    return MHD_YES;
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
static int authorized(const hdp_server *s, struct MHD_Connection *conn)
{
    return s->token == NULL ||
           token_ok(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION));
}

static enum MHD_Result send_unauthorized(hdp_server *s, struct MHD_Connection *conn,
                                         serve_endpoint ep)
{
    return send_error(s, conn, ep, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                      "missing or wrong 'Authorization: Bearer <token>'");
}

static enum MHD_Result do_api(hdp_server *s, struct MHD_Connection *conn, serve_endpoint ep)
{
    if (!authorized(s, conn))
        return send_unauthorized(s, conn, ep);
    arg_list args = {.n = 0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    if (args.overflow)
        return send_error(s, conn, ep, MHD_HTTP_BAD_REQUEST, "bad_request",
                          "too many query parameters");
    serve_query q;
    hdp_err e;
    int64_t today = floor_div(now_unix_us(), USEC_PER_DAY);
    if (serve_query_parse(ep, args.v, args.n, today, &q, &e) != HDP_OK)
        return send_error(s, conn, ep, MHD_HTTP_BAD_REQUEST, "bad_request", e.msg);

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
    return send_body(conn, status, JSON, body, len, MHD_RESPMEM_MUST_FREE);
}

/* ---------------------------------------------------------------- answers from dwh */

typedef struct history_req {
    int64_t id;
    history_shape shape;
    hdp_buf body;
    int found;
} history_req;

static int run_history(PGconn *c, void *ctx, hdp_err *e)
{
    history_req *h = ctx;
    buf_reset(&h->body);
    return history_fetch(c, h->id, h->shape, &h->body, &h->found, e);
}

/* A customer's order history, straight from dwh. It bypasses the answer cache: its keys
 * are one per customer, unbounded, while the cache is a small linear table sized for a few
 * days' keys that every revenue request scans; a history read is a few index probes, and a
 * customer is rarely asked for twice within the cache window. */
static enum MHD_Result do_history(hdp_server *s, struct MHD_Connection *conn, serve_endpoint ep,
                                  const char *url)
{
    if (!authorized(s, conn))
        return send_unauthorized(s, conn, ep);
    arg_list args = {.n = 0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    if (args.overflow || args.n > 0)
        return send_error(s, conn, ep, MHD_HTTP_BAD_REQUEST, "bad_request",
                          "this endpoint takes no query parameters");
    hdp_err e;
    history_req h = {.shape = ep == EP_USER_HISTORY ? HISTORY_ORIGINAL : HISTORY_USERS,
                     .body = HDP_BUF_INIT};
    if (serve_history_id(url, &h.id, &e) != HDP_OK)
        return send_error(s, conn, ep, MHD_HTTP_BAD_REQUEST, "bad_request", e.msg);
    int rc = dwh_run(s->dwh, run_history, &h, &e);
    if (rc == HDP_OK && h.found) {
        metrics_request(&s->metrics, ep, MHD_HTTP_OK);
        return send_buf(conn, MHD_HTTP_OK, JSON, &h.body);
    }
    buf_free(&h.body);
    char msg[96];
    if (rc == HDP_OK) {
        snprintf(msg, sizeof(msg), "no customer %lld in the data vault", (long long)h.id);
        return send_error(s, conn, ep, MHD_HTTP_NOT_FOUND, "not_found", msg);
    }
    atomic_fetch_add(&s->metrics.dwh_errors, 1);
    snprintf(msg, sizeof(msg), "customer %lld", (long long)h.id);
    log_read_failure(s, ep, msg, e.msg);
    if (rc == HDP_RETRY)
        return send_error(s, conn, ep, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
                          "the data vault (dwh) is unreachable");
    return send_error(s, conn, ep, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                      "the data vault query failed");
}

/* MHD's access handler: runs on a worker thread, once per request here (every endpoint
 * answers at the first call; a request body, if any, is never read). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    hdp_server *s = cls;
    serve_endpoint ep = serve_route(url);
    if (ep == EP_UNKNOWN)
        return send_error(s, conn, ep, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_error(s, conn, ep, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                          "only GET and HEAD are supported");
    switch (ep) {
    case EP_HEALTH:
        return do_health(s, conn);
    case EP_METRICS:
        return do_metrics(s, conn);
    case EP_OPENAPI:
    case EP_DOCS:
    case EP_INDEX:
        return do_static(s, conn, ep);
    case EP_HISTORY:
    case EP_USER_HISTORY:
        return do_history(s, conn, ep, url);
    default:
        return do_api(s, conn, ep);
    }
}

/* ---------------------------------------------------------------- lifecycle */

/* Binds and listens on host:port; returns the socket or -1 with e set. */
static int listen_on(const char *host, int port, hdp_err *e)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(host[0] ? host : NULL, service, &hints, &res);
    if (gai != 0) {
        hdp_fail(e, "cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        hdp_fail(e, "cannot listen on %s:%d: %s", host, port, strerror(err));
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

int server_start(hdp_server **out, const serve_opts *o, hdp_err *e)
{
    *out = NULL;
    int fd = listen_on(o->host, o->port, e);
    if (fd < 0)
        return HDP_ERR;
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
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    unsigned threads = o->threads > 1 ? (unsigned)o->threads : 1;
    s->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_END);
    if (s->daemon == NULL) {
        close(fd);
        server_stop(s);
        return hdp_fail(e, "cannot start the HTTP server on %s:%d", o->host, o->port);
    }
    *out = s;
    return HDP_OK;
}

void server_stop(hdp_server *s)
{
    if (s == NULL)
        return;
    if (s->daemon != NULL)
        MHD_stop_daemon(s->daemon);
    cache_free(s->cache);
    redis_free(s->redis);
    dwh_free(s->dwh);
    batch_source_free(s->batch);
    free(s->token);
    pthread_mutex_destroy(&s->redis_mu);
    free(s);
}
