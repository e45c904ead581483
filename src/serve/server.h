/* server.h — `hdp serve`'s HTTP API: routing, bearer-token check, the answer cache, one
 * mutex-guarded Redis connection and one mutex-guarded dwh connection (serve/dwh.h), on top
 * of the generic HTTP server (io/http_server.h), which owns connections, limits and timeouts.
 *
 * Lifecycle: server_start() binds and starts serving in background threads;
 * server_stop() stops them and frees everything. */
#ifndef HDP_SERVE_SERVER_H
#define HDP_SERVE_SERVER_H

#include "core/err.h"
#include "core/url.h"

typedef struct serve_opts {
    const char *host;
    int port;
    int threads;       /* worker threads (>= 1) */
    long cache_ms;     /* answer cache window; 0 disables it */
    const char *token; /* bearer token for /api/, empty or NULL: open */
    hdp_redis_addr redis;
    const char *dwh_dsn;        /* libpq connection string of dwh (history, pipeline) */
    const char *source_dsn;     /* the shop database: its replication slots' lag */
    const char *clickhouse_url; /* the batch views; empty or NULL: none */
    int max_conns;              /* connection cap */
    int max_per_addr;           /* open connections per client address */
    int header_timeout_ms;      /* to receive a request, from its first byte */
    int idle_timeout_ms;        /* keep-alive idle */
    long segment_seconds;       /* HDP_SEGMENT_SECONDS: which segments a day spans */
} serve_opts;

typedef struct hdp_server hdp_server;

/* Binds host:port and starts. HDP_ERR with e set when the address cannot be bound (in use,
 * bad host) or the server does not start. */
int server_start(hdp_server **out, const serve_opts *o, hdp_err *e);
/* The connection cap in force (HDP_HTTP_MAX_CONNS, lowered to fit the descriptor limit). */
int server_max_conns(const hdp_server *s);
/* Stops serving and frees; accepts NULL. */
void server_stop(hdp_server *s);

#endif
