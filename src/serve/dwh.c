#include "serve/dwh.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "io/pg.h"

/* A query that runs longer than this is cancelled by the server: the lock is held meanwhile. */
#define DWH_STATEMENT_TIMEOUT "SET statement_timeout = '10s'"
/* How long a request waits for another thread's connect before it answers 503. */
#define CONNECT_WAIT_US (2 * USEC_PER_SEC)

struct serve_dwh {
    pthread_mutex_t mu;     /* guards everything below */
    pthread_cond_t settled; /* a connect attempt ended (CLOCK_MONOTONIC) */
    char *dsn;
    PGconn *conn;        /* NULL while not connected */
    int connecting;      /* a thread is in pg_connect, without the lock */
    int64_t next_try_us; /* mono time before which no new connect is attempted */
    int64_t retry_us;
    hdp_err last_err; /* why the last connect failed, for the callers it turns away */
};

serve_dwh *dwh_new(const char *dsn, int retry_ms)
{
    serve_dwh *d = xcalloc(1, sizeof(*d));
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->settled, &ca);
    pthread_condattr_destroy(&ca);
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
    pthread_cond_destroy(&d->settled);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* Opens a session for serving; NULL with e set when dwh cannot be reached. */
static PGconn *open_session(const char *dsn, hdp_err *e)
{
    PGconn *c = pg_connect(dsn, NULL, NULL, e);
    if (c != NULL && pg_exec(c, DWH_STATEMENT_TIMEOUT, e) != HDP_OK) {
        PQfinish(c);
        c = NULL;
    }
    return c;
}

/* Waits, lock held, until no connect is in progress or CONNECT_WAIT_US passed. */
static void wait_for_connect(serve_dwh *d)
{
    int64_t deadline = mono_us() + CONNECT_WAIT_US;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += CONNECT_WAIT_US / USEC_PER_SEC;
    while (d->connecting && mono_us() < deadline)
        pthread_cond_timedwait(&d->settled, &d->mu, &ts);
}

/* Connects unless connected; called with the lock held. The connect itself runs without
 * the lock, so a dwh that does not answer stalls one request, not every history request,
 * and others wait for it at most CONNECT_WAIT_US. HDP_RETRY while dwh is unreachable (at
 * most one attempt per retry interval). */
static int ensure_connected(serve_dwh *d, hdp_err *e)
{
    if (d->connecting)
        wait_for_connect(d);
    if (d->conn != NULL)
        return HDP_OK;
    if (d->connecting || mono_us() < d->next_try_us)
        return hdp_retry(e, "dwh unreachable: %s", d->last_err.msg);
    d->connecting = 1;
    pthread_mutex_unlock(&d->mu);
    hdp_err ce;
    PGconn *c = open_session(d->dsn, &ce);
    pthread_mutex_lock(&d->mu);
    d->connecting = 0;
    pthread_cond_broadcast(&d->settled);
    if (c == NULL) {
        d->last_err = ce;
        d->next_try_us = mono_us() + d->retry_us;
        return hdp_retry(e, "dwh unreachable: %s", ce.msg);
    }
    d->conn = c;
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
