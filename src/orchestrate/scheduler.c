/* scheduler.c — `hdp scheduler`: the batch DAG every HDP_BATCH_INTERVAL seconds, one run at
 * a time across every scheduler, with its history in dwh and its alerts through the outbox.
 *
 * Leadership: a session advisory lock in dwh ('hdp.scheduler') held on a connection of its
 * own. A scheduler that cannot take it is a hot standby and tries again every second; when
 * the active one dies its session ends, the lock is free, and a standby takes over at once.
 * The active one checks its lock session before every run and steps down when it lost it.
 *
 * A run: ops.run (trigger scheduler, or api when POST /api/v1/pipeline/runs asked for it),
 * then each task of the DAG as a child process `hdp run TASK --run-id N`, which drives it
 * (retries, backoff) and records its ops.task_run; the scheduler bounds it with the task
 * timeout (then SIGTERM, then SIGKILL). The first task that fails fails the run; the next run
 * starts from where the data is (every task is idempotent). SIGTERM ends a running task
 * cleanly (it is asked to stop, and a vault load rolls back) and the run is marked failed.
 *
 * Alerts: after each run, a summary when it moved data, an alert when it failed — queued in
 * the outbox, which a thread of the scheduler delivers to Telegram on its own clock, so
 * Telegram being slow or down delays messages and never a run. */
#include "orchestrate/scheduler.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "io/pg.h"
#include "notify/notify.h"
#include "notify/outbox.h"
#include "orchestrate/proc.h"
#include "orchestrate/run_message.h"
#include "orchestrate/runlog.h"
#include "orchestrate/stages.h"

/* ------------------------------------------------------------------ the alerts' sender */

typedef struct sender {
    const hdp_config *cfg;
    volatile int *stop;
    volatile int done;
    pthread_t thread;
} sender;

/* Delivers the outbox every second on a dwh session of its own; Telegram's trouble is logged
 * once per change, dwh's too. */
static void *send_loop(void *arg)
{
    sender *s = arg;
    PGconn *c = NULL;
    tg_target t = notify_target(s->cfg);
    char last[256] = "";
    while (!*s->stop && !s->done) {
        hdp_err e;
        if (c == NULL || pg_conn_lost(c)) {
            if (c)
                PQfinish(c);
            c = NULL;
            pg_open(&c, s->cfg->dwh_dsn, NULL, NULL, &e);
        }
        if (c) {
            outbox_counts n;
            if (outbox_drain(c, &t, 20, 5000, &n, &e) == HDP_OK) {
                if (n.failed && strcmp(last, n.last_error) != 0)
                    log_warn("alerts: Telegram: %s (%d message(s) wait; retried with backoff)",
                             n.last_error, n.pending);
                else if (n.sent && last[0])
                    log_info("alerts: Telegram answers again (%d sent)", n.sent);
                snprintf(last, sizeof(last), "%s", n.failed ? n.last_error : "");
            }
        }
        for (int i = 0; i < 10 && !*s->stop && !s->done; i++)
            usleep(100 * 1000);
    }
    if (c)
        PQfinish(c);
    return NULL;
}

/* ------------------------------------------------------------------ one task, one run */

typedef struct sched {
    const hdp_config *cfg;
    const sched_opts *o;
    volatile int *stop;
    char self[4096]; /* this binary, for the children */
    PGconn *lock;    /* the leadership session */
    PGconn *pg;      /* run history, requests, messages */
    runlog *rl;
} sched;

/* Runs one task as `hdp run TASK --run-id N`, bounded by the task timeout. HDP_OK when it
 * exited 0; else HDP_ERR with how it ended (or HDP_RETRY when the scheduler was stopped). */
static int run_task(sched *s, const hdp_stage *t, int64_t run_id, hdp_err *e)
{
    char id[24], attempts[16], timeout[24];
    snprintf(id, sizeof(id), "%" PRId64, run_id);
    snprintf(attempts, sizeof(attempts), "%ld", s->o->attempts);
    snprintf(timeout, sizeof(timeout), "%ld", s->o->task_timeout);
    char *argv[] = {s->self,     "run",        (char *)t->name, "--run-id",  id,      "--trigger",
                    "scheduler", "--attempts", attempts,        "--timeout", timeout, NULL};
    proc_opts po = {.inherit_output = 1, .pdeathsig = SIGTERM};
    pid_t pid;
    int rc = proc_spawn(argv, &po, &pid, e);
    if (rc != HDP_OK)
        return rc;
    int st = -1;
    /* the child stops itself at its timeout; this bound catches one that hangs anyway */
    long bound_ms = (s->o->task_timeout + 30) * 1000;
    if (proc_wait(pid, bound_ms, s->stop, &st) != HDP_OK) {
        int stopped = *s->stop;
        st = proc_terminate(pid, 30000);
        if (stopped)
            return hdp_retry(e, "%s: interrupted (the scheduler was stopped)", t->name);
        return hdp_fail(e, "%s: did not end within %ld s: stopped (%s)", t->name,
                        s->o->task_timeout + 30, WIFSIGNALED(st) ? "killed" : "terminated");
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return HDP_OK;
    char how[128];
    proc_status_str(st, how, sizeof(how));
    return hdp_fail(e, "%s: %s", t->name, how);
}

/* Marks what a killed child left 'running' in this run as failed. */
static void close_task_runs(sched *s, int64_t run_id, const char *why)
{
    char id[24];
    snprintf(id, sizeof(id), "%" PRId64, run_id);
    const char *p[2] = {id, why};
    hdp_err e;
    PQclear(pg_query(s->pg,
                     "UPDATE ops.task_run SET status = 'failed', error = $2, finished_at = "
                     "clock_timestamp() WHERE run_id = $1 AND status = 'running'",
                     2, p, &e));
}

/* One DAG run. */
static int run_dag(sched *s, const char *trigger, hdp_err *e)
{
    int64_t t0 = mono_us();
    int64_t run_id = runlog_run_begin(s->rl, "batch", trigger);
    if (run_id == 0)
        return hdp_retry(e, "dwh: the run could not be recorded");
    log_info("run %" PRId64 " (%s): started", run_id, trigger);
    int rc = HDP_OK;
    for (size_t i = 0; batch_dag[i] && rc == HDP_OK; i++)
        rc = run_task(s, batch_dag[i], run_id, e);
    if (rc != HDP_OK)
        close_task_runs(s, run_id, e->msg);
    runlog_run_end(s->rl, run_id, rc == HDP_OK, rc == HDP_OK ? NULL : e->msg);
    double secs = (double)(mono_us() - t0) / 1e6;
    if (rc == HDP_OK)
        log_info("run %" PRId64 ": success in %.1f s", run_id, secs);
    else
        log_error("run %" PRId64 ": failed after %.1f s: %s", run_id, secs, e->msg);
    if (notify_enabled(s->cfg)) {
        hdp_buf text = HDP_BUF_INIT;
        int moved = 0;
        hdp_err me;
        if (run_message(s->cfg, s->pg, run_id, secs, &text, &moved, &me) != HDP_OK)
            log_warn("alerts: run %" PRId64 ": %s", run_id, me.msg);
        else if (rc != HDP_OK || moved)
            outbox_enqueue(s->pg, run_id, rc == HDP_OK ? "success" : "failure", text.data, &me);
        buf_free(&text);
    }
    return rc;
}

/* ------------------------------------------------------------------ leadership */

static int take_lock(sched *s, int *got, hdp_err *e)
{
    *got = 0;
    if (s->lock == NULL || pg_conn_lost(s->lock)) {
        if (s->lock)
            PQfinish(s->lock);
        s->lock = NULL;
        int rc = pg_open(&s->lock, s->cfg->dwh_dsn, NULL, NULL, e);
        if (rc != HDP_OK)
            return rc;
        PQclear(PQexec(s->lock, "SET application_name = 'hdp scheduler'"));
    }
    PGresult *r = pg_query(
        s->lock, "SELECT pg_try_advisory_lock(hashtextextended('hdp.scheduler', 0))", 0, NULL, e);
    if (r == NULL)
        return HDP_RETRY;
    *got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return HDP_OK;
}

/* Does the leadership session still answer? (It holds the lock as long as it lives.) */
static int still_leader(sched *s)
{
    hdp_err e;
    PGresult *r = s->lock ? pg_query(s->lock, "SELECT 1", 0, NULL, &e) : NULL;
    PQclear(r);
    return r != NULL;
}

/* The new leader closes the runs a dead scheduler left 'running' (theirs only: a CLI run may
 * be going on). */
static void abandon_runs(sched *s)
{
    hdp_err e;
    PGresult *r =
        pg_query(s->pg,
                 "WITH r AS (UPDATE ops.run SET status = 'failed', error = 'abandoned: its "
                 "scheduler stopped', finished_at = clock_timestamp() WHERE status = "
                 "'running' AND trigger IN ('scheduler', 'api') RETURNING run_id) "
                 "UPDATE ops.task_run t SET status = 'failed', error = 'abandoned', "
                 "finished_at = clock_timestamp() FROM r WHERE t.run_id = r.run_id AND "
                 "t.status = 'running' RETURNING t.run_id",
                 0, NULL, &e);
    PQclear(r);
}

/* A pending POST /api/v1/pipeline/runs: taken (marked) and 1 returned. */
static int take_request(sched *s)
{
    hdp_err e;
    PGresult *r = pg_query(s->pg,
                           "UPDATE ops.run_request SET taken_at = clock_timestamp() WHERE id = "
                           "(SELECT id FROM ops.run_request WHERE taken_at IS NULL ORDER BY id "
                           "LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
                           0, NULL, &e);
    int n = r ? PQntuples(r) : 0;
    PQclear(r);
    return n > 0;
}

static void sleep_until(volatile int *stop, int64_t mono_deadline_us)
{
    while (!*stop && mono_us() < mono_deadline_us)
        usleep(100 * 1000);
}

int scheduler_run(const hdp_config *cfg, const sched_opts *o, volatile int *stop, hdp_err *e)
{
    sched s = {.cfg = cfg, .o = o, .stop = stop};
    ssize_t n = readlink("/proc/self/exe", s.self, sizeof(s.self) - 1);
    if (n <= 0)
        return hdp_fail(e, "cannot find this program (/proc/self/exe)");
    s.self[n] = '\0';
    s.rl = runlog_open(cfg->dwh_dsn);
    sender snd = {.cfg = cfg, .stop = stop};
    int sending = notify_enabled(cfg) && pthread_create(&snd.thread, NULL, send_loop, &snd) == 0;
    if (!notify_enabled(cfg))
        log_info("alerts: off (TELEGRAM_TOKEN or TELEGRAM_CHAT_ID is empty)");
    int rc = HDP_OK, standby_said = 0, leader = 0, fresh = 0;
    int64_t next = 0;
    char last_err[256] = "";
    while (!*stop) {
        if (!leader) {
            int got = 0;
            rc = take_lock(&s, &got, e);
            if (rc == HDP_ERR)
                break; /* wrong credentials, no such database: no retry mends it */
            if (rc == HDP_RETRY && strcmp(last_err, e->msg) != 0) {
                log_warn("dwh: %s; retrying", e->msg);
                snprintf(last_err, sizeof(last_err), "%.250s", e->msg);
            }
            rc = HDP_OK;
            if (!got) {
                if (!standby_said++)
                    log_info("standby: another scheduler is active; taking over when it stops");
                sleep_until(stop, mono_us() + USEC_PER_SEC);
                continue;
            }
            leader = 1;
            fresh = 1;
            standby_said = 0;
            last_err[0] = '\0';
            next = mono_us();
            log_info("active: running the batch DAG every %ld s", cfg->batch_interval);
        }
        if (s.pg == NULL || pg_conn_lost(s.pg)) {
            if (s.pg)
                PQfinish(s.pg);
            s.pg = NULL;
            if (pg_open(&s.pg, cfg->dwh_dsn, NULL, NULL, e) != HDP_OK) {
                sleep_until(stop, mono_us() + USEC_PER_SEC);
                continue;
            }
        }
        if (fresh) { /* runs of a scheduler that died as leader end here */
            abandon_runs(&s);
            fresh = 0;
        }
        if (!still_leader(&s)) {
            log_warn("lost the leadership session to dwh: stepping down");
            leader = 0;
            continue;
        }
        int asked = take_request(&s);
        if (asked || mono_us() >= next) {
            int64_t started = mono_us();
            hdp_err re;
            run_dag(&s, asked ? "api" : "scheduler", &re);
            if (!asked)
                next = started + cfg->batch_interval * USEC_PER_SEC;
            if (next < mono_us())
                next = mono_us(); /* a run longer than the interval: the next one at once */
            if (o->once)
                break;
        }
        sleep_until(stop, mono_us() + USEC_PER_SEC < next ? mono_us() + USEC_PER_SEC : next);
    }
    if (sending) {
        snd.done = 1;
        pthread_join(snd.thread, NULL);
    }
    runlog_close(s.rl);
    if (s.pg)
        PQfinish(s.pg);
    if (s.lock)
        PQfinish(s.lock);
    return rc;
}
