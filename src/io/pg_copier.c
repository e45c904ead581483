#include "io/pg_copier.h"

#include <pthread.h>
#include <stdlib.h>

#include "io/pg.h"

struct pg_copier {
    PGconn *c;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a job was posted, one ended, or stop */
    const char *sql;   /* the job: sql and buf, while pending */
    hdp_buf buf;
    int pending, stop;
    int rc; /* the first error's code, and its message */
    hdp_err err;
};

static void *copier_main(void *arg)
{
    pg_copier *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->pending && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->pending)
            break; /* stop, with nothing left to do */
        const char *sql = p->sql;
        int failed = p->rc != HDP_OK;
        pthread_mutex_unlock(&p->mu);
        hdp_err e;
        int rc = HDP_OK;
        if (!failed) { /* after an error the buffer is dropped: the load is lost anyway */
            rc = pg_copy_begin(p->c, sql, &e);
            if (rc == HDP_OK)
                rc = pg_copy_put(p->c, p->buf.data, p->buf.len, &e);
            if (rc == HDP_OK)
                rc = pg_copy_end(p->c, &e);
        }
        buf_reset(&p->buf);
        pthread_mutex_lock(&p->mu);
        if (rc != HDP_OK && p->rc == HDP_OK) {
            p->rc = rc;
            p->err = e;
        }
        p->pending = 0;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int pg_copier_start(pg_copier **out, PGconn *c, hdp_err *e)
{
    pg_copier *p = xcalloc(1, sizeof(*p));
    p->c = c;
    p->buf = (hdp_buf)HDP_BUF_INIT;
    p->rc = HDP_OK;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, copier_main, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return hdp_fail(e, "cannot start the COPY thread");
    }
    *out = p;
    return HDP_OK;
}

/* Waits, with the lock held, until no job is pending; the sticky result. */
static int idle_locked(pg_copier *p, hdp_err *e)
{
    while (p->pending)
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->rc != HDP_OK)
        *e = p->err;
    return p->rc;
}

int pg_copier_send(pg_copier *p, const char *sql, hdp_buf *b, hdp_err *e)
{
    pthread_mutex_lock(&p->mu);
    int rc = idle_locked(p, e);
    if (rc == HDP_OK) {
        hdp_buf t = p->buf; /* emptied by the thread, its capacity kept */
        p->buf = *b;
        *b = t;
        p->sql = sql;
        p->pending = 1;
        pthread_cond_broadcast(&p->cv);
    } else {
        buf_reset(b);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int pg_copier_wait(pg_copier *p, hdp_err *e)
{
    pthread_mutex_lock(&p->mu);
    int rc = idle_locked(p, e);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void pg_copier_stop(pg_copier *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    buf_free(&p->buf);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
