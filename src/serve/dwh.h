/* dwh.h — the serving layer's one connection to the Data Vault database (dwh).
 *
 * Lazily connected on first use, guarded by a mutex (one query at a time per server), and
 * dropped when it is found lost, so the next use reconnects: dwh going away costs its callers
 * a HDP_RETRY, never a thread stuck in the HTTP server, and its return needs no restart.
 * A query runs at most 10 s (statement_timeout). A connect runs without the lock: a host
 * that does not answer stalls the one request that connects, for libpq's connect_timeout
 * (no default: set it in HDP_DWH_DSN), while the others wait at most 2 s, then get 503. */
#ifndef HDP_SERVE_DWH_H
#define HDP_SERVE_DWH_H

#include <libpq-fe.h>

#include "core/err.h"

typedef struct serve_dwh serve_dwh;

/* Work done on the connection: HDP_OK, HDP_ERR, or HDP_RETRY when the connection was lost
 * (pg_conn_lost(c) after the failure). */
typedef int (*dwh_fn)(PGconn *c, void *ctx, hdp_err *e);

/* A handle for dsn (copied); does not connect. A failed connect is not retried sooner than
 * retry_ms later: meanwhile callers get HDP_RETRY at once. Never NULL. */
serve_dwh *dwh_new(const char *dsn, int retry_ms);
/* Closes the connection and frees; accepts NULL. */
void dwh_free(serve_dwh *d);

/* Runs fn on the connection, holding the lock, connecting first when needed. When fn finds
 * the connection lost and it was opened before this call (dwh restarted since), fn runs once
 * more on a fresh connection: fn must be a read, safe to repeat. Returns fn's status, or
 * HDP_RETRY with e set when dwh cannot be reached. */
int dwh_run(serve_dwh *d, dwh_fn fn, void *ctx, hdp_err *e);

#endif
