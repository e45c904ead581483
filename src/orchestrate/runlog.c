#include "orchestrate/runlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "io/pg.h"

struct runlog {
    char *dsn;
    PGconn *c;
    int warned;
};

runlog *runlog_open(const char *dwh_dsn)
{
    runlog *l = xcalloc(1, sizeof(*l));
    l->dsn = xstrdup(dwh_dsn);
    return l;
}

void runlog_close(runlog *l)
{
    if (l == NULL)
        return;
    if (l->c)
        PQfinish(l->c);
    free(l->dsn);
    free(l);
}

/* Runs one statement with text parameters; returns the first value (owned by the caller) or
 * NULL. Reconnects once when the session was lost; warns once per failure streak. */
static char *exec1(runlog *l, const char *sql, int n, const char *const *params)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        hdp_err e;
        if (l->c == NULL || pg_conn_lost(l->c)) {
            if (l->c)
                PQfinish(l->c);
            l->c = NULL;
            if (pg_open(&l->c, l->dsn, NULL, NULL, &e) != HDP_OK) {
                if (!l->warned++)
                    log_warn("run history: %s (runs are not recorded until dwh answers)", e.msg);
                return NULL;
            }
        }
        PGresult *r = pg_query(l->c, sql, n, params, &e);
        if (r != NULL) {
            char *v =
                PQntuples(r) > 0 && PQnfields(r) > 0 ? xstrdup(PQgetvalue(r, 0, 0)) : xstrdup("");
            PQclear(r);
            l->warned = 0;
            return v;
        }
        if (!pg_conn_lost(l->c)) {
            if (!l->warned++)
                log_warn("run history: %s", e.msg);
            return NULL;
        }
    }
    return NULL;
}

/* The first line of a message, at most 1000 bytes. */
static void first_line(const char *msg, char *out, size_t n)
{
    size_t k = msg ? strcspn(msg, "\n") : 0;
    if (k >= n)
        k = n - 1;
    memcpy(out, msg ? msg : "", k);
    out[k] = '\0';
}

int64_t runlog_run_begin(runlog *l, const char *dag, const char *trigger)
{
    char host[256] = "", pid[16];
    gethostname(host, sizeof(host) - 1);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    const char *p[4] = {dag, trigger, host, pid};
    char *id = exec1(l,
                     "INSERT INTO ops.run (dag, trigger, status, host, pid) "
                     "VALUES ($1, $2, 'running', $3, $4) RETURNING run_id",
                     4, p);
    int64_t v = id ? strtoll(id, NULL, 10) : 0;
    free(id);
    return v;
}

void runlog_run_end(runlog *l, int64_t run_id, int ok, const char *error)
{
    if (run_id == 0)
        return;
    char id[24], err[1024];
    snprintf(id, sizeof(id), "%lld", (long long)run_id);
    first_line(error, err, sizeof(err));
    const char *p[3] = {id, ok ? "success" : "failed", ok ? NULL : err};
    free(exec1(l,
               "UPDATE ops.run SET status = $2, error = $3, finished_at = clock_timestamp() "
               "WHERE run_id = $1",
               3, p));
}

int64_t runlog_task_begin(runlog *l, int64_t run_id, const char *task)
{
    if (run_id == 0)
        return 0;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)run_id);
    const char *p[2] = {id, task};
    char *v = exec1(l,
                    "INSERT INTO ops.task_run (run_id, task, status) VALUES ($1, $2, 'running') "
                    "RETURNING task_run_id",
                    2, p);
    int64_t t = v ? strtoll(v, NULL, 10) : 0;
    free(v);
    return t;
}

void runlog_task_end(runlog *l, int64_t task_run_id, int ok, int attempts, const stage_report *r,
                     const char *error)
{
    if (task_run_id == 0)
        return;
    char id[24], att[16], rows[24], bytes[24], quar[24], s0[24], s1[24], err[1024];
    snprintf(id, sizeof(id), "%lld", (long long)task_run_id);
    snprintf(att, sizeof(att), "%d", attempts);
    snprintf(rows, sizeof(rows), "%lld", (long long)r->rows);
    snprintf(bytes, sizeof(bytes), "%lld", (long long)r->bytes);
    snprintf(quar, sizeof(quar), "%lld", (long long)r->quarantined);
    snprintf(s0, sizeof(s0), "%lld", (long long)r->seg_first);
    snprintf(s1, sizeof(s1), "%lld", (long long)r->seg_last);
    first_line(error, err, sizeof(err));
    const char *p[10] = {id,
                         ok ? "success" : "failed",
                         att,
                         rows,
                         bytes,
                         quar,
                         r->seg_first >= 0 ? s0 : NULL,
                         r->seg_last >= 0 ? s1 : NULL,
                         r->summary[0] ? r->summary : NULL,
                         ok ? NULL : err};
    free(exec1(l,
               "UPDATE ops.task_run SET status = $2, attempts = $3, rows = $4, bytes = $5, "
               "quarantined = $6, segment_first = $7, segment_last = $8, summary = $9, "
               "error = $10, finished_at = clock_timestamp() WHERE task_run_id = $1",
               10, p));
}
