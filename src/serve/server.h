/* server.h — `hdp serve`'s HTTP server: libmicrohttpd with an internal epoll thread pool,
 * routing, bearer-token check, the response cache, one mutex-guarded Redis connection and
 * one mutex-guarded dwh connection (serve/dwh.h).
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
    const char *dwh_dsn;        /* libpq connection string of dwh (history endpoints) */
    const char *clickhouse_url; /* the batch views; empty or NULL: none */
} serve_opts;

typedef struct hdp_server hdp_server;

/* Binds host:port and starts. HDP_ERR with e set when the address cannot be bound (in use,
 * bad host) or the daemon does not start. */
int server_start(hdp_server **out, const serve_opts *o, hdp_err *e);
/* Stops serving and frees; accepts NULL. */
void server_stop(hdp_server *s);

#endif
