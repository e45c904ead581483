#include "orchestrate/driver.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"

/* ------------------------------------------------------------------ backoff */

static uint32_t next_rand(uint32_t *s)
{
    /* xorshift32: jitter only needs to keep many processes from retrying in step */
    uint32_t x = *s ? *s : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

int driver_backoff_ms(int attempt, int first_ms, int max_ms, uint32_t *rng)
{
    int64_t d = first_ms > 0 ? first_ms : 1;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    int64_t lo = d / 2;
    return (int)(lo + (int64_t)(next_rand(rng) % (uint32_t)(d - lo + 1)));
}

/* Sleeps ms, waking early when *stop is set. */
static void pause_ms(int ms, volatile int *stop)
{
    int64_t until = mono_us() + (int64_t)ms * 1000;
    while (!*stop) {
        int64_t left = until - mono_us();
        if (left <= 0)
            break;
        struct timespec ts = {0, (left > 50000 ? 50000 : left) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ------------------------------------------------------------------ the deadline */

/* Sets *cancel once *stop is set or the deadline passes, so a unit that checks *cancel ends
 * in time; runs only for batch drives with a timeout. */
typedef struct watchdog {
    volatile int *stop;
    volatile int cancel;
    volatile int done;
    int timed_out;
    int64_t deadline_us; /* monotonic */
    pthread_t thread;
} watchdog;

static void *watch(void *arg)
{
    watchdog *w = arg;
    while (!w->done) {
        if (*w->stop)
            w->cancel = 1;
        if (mono_us() >= w->deadline_us) {
            w->timed_out = 1;
            w->cancel = 1;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ------------------------------------------------------------------ state changes */

typedef struct drive_log {
    const char *stage; /* "" when the log's component already names it */
    const char *sep;
    const char *retry_verb; /* "reconnecting" (streams) or "retrying" */
    int failing;
    int failures;
    int64_t since_us;
    char last[sizeof(((hdp_err *)0)->msg)];
} drive_log;

static void note_failure(drive_log *l, const char *msg, int delay_ms)
{
    l->failures++;
    if (!l->failing || strcmp(l->last, msg) != 0) {
        log_warn("%s%s%s; %s in %d ms (backoff)", l->stage, l->sep, msg, l->retry_verb, delay_ms);
        if (!l->failing)
            l->since_us = mono_us();
        snprintf(l->last, sizeof(l->last), "%s", msg);
    } else {
        log_debug("%s%sstill failing: %s", l->stage, l->sep, msg);
    }
    l->failing = 1;
}

static void note_success(drive_log *l)
{
    if (!l->failing)
        return;
    log_info("%s%srecovered after %d failed attempt(s) in %.1f s", l->stage, l->sep, l->failures,
             (double)(mono_us() - l->since_us) / 1e6);
    l->failing = 0;
    l->failures = 0;
    l->last[0] = '\0';
}

static drive_log new_log(const hdp_stage *st)
{
    int named = strcmp(log_component(), st->name) == 0;
    return (drive_log){.stage = named ? "" : st->name,
                       .sep = named ? "" : ": ",
                       .retry_verb = st->kind == STAGE_STREAM ? "reconnecting" : "retrying"};
}

/* ------------------------------------------------------------------ the drive */

static int drive_stream(const hdp_stage *st, void *ctx, const driver_opts *o, volatile int *stop,
                        stage_report *r, driver_result *res, hdp_err *e)
{
    drive_log dl = new_log(st);
    uint32_t rng = (uint32_t)(getpid() ^ (uint32_t)mono_us());
    int attempt = 0;
    while (!*stop) {
        stage_report_clear(r);
        int rc = st->run(ctx, stop, r, e);
        if (rc == HDP_OK) {
            note_success(&dl);
            attempt = 0;
            continue;
        }
        if (rc != HDP_RETRY)
            return HDP_ERR;
        res->attempts++;
        int delay = driver_backoff_ms(++attempt, o->first_ms, o->max_ms, &rng);
        note_failure(&dl, e->msg, delay);
        if (st->reset)
            st->reset(ctx);
        pause_ms(delay, stop);
    }
    if (st->finish)
        return st->finish(ctx, e);
    return HDP_OK;
}

static int drive_batch(const hdp_stage *st, void *ctx, const driver_opts *o, volatile int *stop,
                       stage_report *r, driver_result *res, hdp_err *e)
{
    watchdog w = {.stop = stop};
    volatile int *cancel = stop;
    int have_watchdog = 0;
    if (o->timeout_ms > 0) {
        w.deadline_us = mono_us() + o->timeout_ms * 1000;
        have_watchdog = pthread_create(&w.thread, NULL, watch, &w) == 0;
        if (have_watchdog)
            cancel = &w.cancel;
    }
    drive_log dl = new_log(st);
    uint32_t rng = (uint32_t)(getpid() ^ (uint32_t)mono_us());
    int rc = HDP_RETRY;
    for (int attempt = 1; attempt <= o->max_attempts; attempt++) {
        stage_report_clear(r);
        res->attempts = attempt;
        rc = st->run(ctx, cancel, r, e);
        if (rc == HDP_OK && !*cancel) {
            note_success(&dl);
            break;
        }
        if (rc == HDP_OK) /* the unit returned early because it was cancelled */
            rc = HDP_RETRY;
        if (*cancel || rc != HDP_RETRY)
            break;
        if (attempt == o->max_attempts)
            break;
        int delay = driver_backoff_ms(attempt, o->first_ms, o->max_ms, &rng);
        note_failure(&dl, e->msg, delay);
        if (st->reset)
            st->reset(ctx);
        pause_ms(delay, cancel);
    }
    if (have_watchdog) {
        w.done = 1;
        pthread_join(w.thread, NULL);
        res->timed_out = w.timed_out;
    }
    if (rc == HDP_OK)
        return HDP_OK;
    if (res->timed_out)
        return hdp_fail(e, "timed out after %.0f s (%d attempt(s))", (double)o->timeout_ms / 1e3,
                        res->attempts);
    if (*stop)
        return hdp_fail(e, "interrupted");
    if (rc == HDP_RETRY)
        hdp_err_prefix(e, "gave up after %d attempt(s): ", res->attempts);
    return HDP_ERR;
}

int driver_run(const hdp_stage *st, const hdp_config *cfg, const stage_args *args,
               const driver_opts *o, volatile int *stop, stage_report *r, driver_result *res,
               hdp_err *e)
{
    driver_opts opts = o ? *o : (driver_opts){0};
    if (opts.max_attempts <= 0)
        opts.max_attempts = 3;
    if (opts.first_ms <= 0)
        opts.first_ms = 250;
    if (opts.max_ms <= 0)
        opts.max_ms = 30000;
    stage_report local_r;
    driver_result local_res;
    if (r == NULL)
        r = &local_r;
    if (res == NULL)
        res = &local_res;
    memset(res, 0, sizeof(*res));
    stage_report_clear(r);
    stage_args none = {0};
    int64_t t0 = mono_us();
    void *ctx = NULL;
    int rc = st->init(&ctx, cfg, args ? args : &none, e);
    if (rc == HDP_OK)
        rc = st->kind == STAGE_STREAM ? drive_stream(st, ctx, &opts, stop, r, res, e)
                                      : drive_batch(st, ctx, &opts, stop, r, res, e);
    else
        rc = HDP_ERR; /* a stage that cannot even start is misconfigured */
    if (ctx)
        st->close(ctx);
    res->elapsed_us = mono_us() - t0;
    return rc;
}
