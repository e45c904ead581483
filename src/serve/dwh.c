#include "serve/dwh.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "io/pg.h"

/* A query that runs longer than this is cancelled by the server: the lock is held meanwhile. */
#define DWH_STATEMENT_TIMEOUT "SET statement_timeout = '10s'"

struct serve_dwh {
    pthread_mutex_t mu; /* guards everything below */
    char *dsn;
    PGconn *conn;        /* NULL while not connected */
    int64_t next_try_us; /* mono time before which no new connect is attempted */
    int64_t retry_us;
    char last_err[sizeof(
        ((hdp_err *)0)->msg)]; /* why the last connect failed, for the callers it turns away */
};

serve_dwh *dwh_new(const char *dsn, int retry_ms)
{
    serve_dwh *d = xcalloc(1, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    d->dsn = xstrdup(dsn ? dsn : "");
    d->retry_us = (int64_t)(retry_ms > 0 ? retry_ms : 0) * 1000;
    return d;
}

void dwh_free(serve_dwh *d)
{
    if (d == NULL)
        return;
    if (d->conn != NULL)
        PQfinish(d->conn);
    free(d->dsn);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* Connects unless connected; called with the lock held. HDP_RETRY while dwh is unreachable
 * (at most one attempt per retry interval). */
static int ensure_connected(serve_dwh *d, hdp_err *e)
{
    if (d->conn != NULL)
        return HDP_OK;
    int64_t now = mono_us();
    if (now < d->next_try_us)
        return hdp_retry(e, "dwh unreachable: %s", d->last_err);
    d->conn = pg_connect(d->dsn, NULL, NULL, e);
    if (d->conn != NULL && pg_exec(d->conn, DWH_STATEMENT_TIMEOUT, e) != HDP_OK) {
        PQfinish(d->conn);
        d->conn = NULL;
    }
    if (d->conn == NULL) {
        snprintf(d->last_err, sizeof(d->last_err), "%s", e->msg);
        d->next_try_us = now + d->retry_us;
        return hdp_retry(e, "dwh unreachable: %s", d->last_err);
    }
    return HDP_OK;
}

int dwh_run(serve_dwh *d, dwh_fn fn, void *ctx, hdp_err *e)
{
    pthread_mutex_lock(&d->mu);
    int rc = HDP_RETRY;
    for (int attempt = 0; attempt < 2 && rc == HDP_RETRY; attempt++) {
        int was_connected = d->conn != NULL;
        rc = ensure_connected(d, e);
        if (rc != HDP_OK)
            break;
        rc = fn(d->conn, ctx, e);
        if (rc == HDP_RETRY || pg_conn_lost(d->conn)) {
            PQfinish(d->conn);
            d->conn = NULL;
            if (rc == HDP_OK)
                break; /* answered, then lost: the next call reconnects */
            rc = HDP_RETRY;
        }
        if (!was_connected)
            break;
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}
