/* server_int.h — what the serving layer's files share behind server.h: the server's state
 * and the helpers every endpoint answers with. Not for use outside src/serve/.
 *
 *   server.c    lifecycle, routing, bearer token, the revenue answers (batch + speed)
 *   ops_api.c   /health, /metrics, /api/v1/pipeline/{runs,status}
 *   stream.c    /api/v1/stream: today's revenue as Server-Sent Events */
#ifndef HDP_SERVE_SERVER_INT_H
#define HDP_SERVE_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "io/http_server.h"
#include "io/redis.h"
#include "serve/cache.h"
#include "serve/dwh.h"
#include "serve/metrics.h"
#include "serve/query.h"
#include "serve/server.h"
#include "serve/sources.h"

#define JSON "application/json"

struct hdp_server {
    http_server *http;
    pthread_mutex_t redis_mu; /* guards redis */
    hdp_redis *redis;
    serve_dwh *dwh;      /* the Data Vault and ops schema; has its own lock */
    serve_dwh *shop;     /* the source database, for its replication slots' lag */
    batch_source *batch; /* ClickHouse's batch views (NULL: none configured) */
    serve_cache *cache;
    serve_metrics metrics;
    char *token;
    size_t token_len;
    char *openapi; /* /openapi.json as served (security declared only with a token) */
    long segment_seconds;
    long cache_ms;
    _Atomic int64_t last_fail_log_us;
    /* the stream's poller (stream.c) */
    pthread_t stream_thread;
    int stream_started;
    atomic_int stream_stop;
};

typedef int (*redis_op)(hdp_redis *r, void *ctx, hdp_err *e);

/* Runs op on the shared Redis connection (under redis_mu), once more on a fresh connection
 * when one opened earlier turns out dead. */
int serve_with_redis(hdp_server *s, redis_op op, void *ctx, hdp_err *e);

/* Logs a failed read at most once a second. */
void serve_log_failure(hdp_server *s, serve_endpoint ep, const char *what, const char *msg);

/* A JSON error answer, counted in the metrics. */
void serve_send_error(hdp_server *s, http_response *res, serve_endpoint ep, int status,
                      const char *code, const char *msg);

/* Whether the request carries the configured bearer token (constant time); 0 when no token
 * is configured. */
int serve_token_ok(const hdp_server *s, const http_request *req);

/* The body of /api/v1/revenue for today, through the answer cache (malloc'ed into *body). */
void serve_today_revenue(hdp_server *s, char **body, size_t *len, int *status);

/* ops_api.c */
void serve_do_health(hdp_server *s, http_response *res);
void serve_do_metrics(hdp_server *s, const http_request *req, http_response *res);
void serve_do_runs(hdp_server *s, const http_request *req, http_response *res);
void serve_do_pipeline(hdp_server *s, const http_request *req, http_response *res);

/* stream.c */
#define STREAM_CHANNEL "today"
void serve_do_stream(hdp_server *s, http_response *res);
/* Starts / stops the thread that broadcasts a new summary when the speed layer or W moves. */
int serve_stream_start(hdp_server *s, hdp_err *e);
void serve_stream_stop(hdp_server *s);

#endif
