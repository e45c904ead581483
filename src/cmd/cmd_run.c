/* cmd_run.c — `hdp run TASK|batch [--every SECONDS]`: one batch task, or the whole batch DAG
 * in order (stopping at the first failure), through the driver; each run and task goes to
 * the run history (dwh.ops.run / ops.task_run). With --every the command repeats until
 * SIGTERM/SIGINT; a failed round is reported and the next round starts from where the data
 * is (every task is idempotent). */
#include "cmd/cmd.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/opts.h"
#include "core/log.h"
#include "orchestrate/driver.h"
#include "orchestrate/runlog.h"
#include "orchestrate/stages.h"

typedef struct run_args {
    long every;          /* 0: once */
    long row_group_rows; /* compact */
    const char *table;   /* compact */
    int rebuild;         /* marts */
    long timeout;        /* seconds per task, 0: none */
    long attempts;       /* tries per task */
    const char *trigger; /* for the run history */
    long run_id;         /* attach the tasks to this run (the scheduler's), 0: a run of its own */
    long retention;      /* gc */
} run_args;

const cmd_opt cmd_run_opts[] = {
    {"--every", OPT_INT, "SECONDS", 1, 604800, OPT_AT(run_args, every),
     "repeat every SECONDS until SIGTERM/SIGINT"},
    {"--row-group-rows", OPT_INT, "N", 1, 64L << 20, OPT_AT(run_args, row_group_rows),
     "compact: rows per Parquet row group (default 1048576)"},
    {"--table", OPT_STR, "TABLE", 0, 0, OPT_AT(run_args, table),
     "compact: only this table (runs for different tables may go side by side)"},
    {"--rebuild", OPT_FLAG, NULL, 0, 0, OPT_AT(run_args, rebuild),
     "marts: recompute every mart from the vault"},
    {"--timeout", OPT_INT, "SECONDS", 1, 86400, OPT_AT(run_args, timeout),
     "give a task at most SECONDS, retries included (default: no limit)"},
    {"--attempts", OPT_INT, "N", 1, 100, OPT_AT(run_args, attempts),
     "tries of a task on transient failures (default 3)"},
    {"--trigger", OPT_STR, "WHO", 0, 0, OPT_AT(run_args, trigger),
     "who started the run, for the history: cli (default), scheduler, api, airflow"},
    {"--retention", OPT_INT, "SECONDS", 1, 31536000, OPT_AT(run_args, retention),
     "gc: remove orphans and old manifests older than SECONDS (default HDP_GC_RETENTION)"},
    {"--run-id", OPT_INT, "ID", 1, INT64_MAX, OPT_AT(run_args, run_id),
     "record the tasks under this run of dwh.ops.run (the scheduler's) instead of a new one"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static int usage_tasks(const char *what)
{
    fprintf(stderr, "hdp run: unknown task '%s'; tasks:\n", what);
    for (size_t i = 0; batch_dag[i]; i++)
        fprintf(stderr, "  %-10s %s\n", batch_dag[i]->name, batch_dag[i]->description);
    fprintf(stderr, "  %-10s every task above, in order (also: dag)\n", "batch");
    const char *more[] = {"notify", "gc"};
    for (size_t i = 0; i < 2; i++) {
        const hdp_stage *n = stage_find(more[i]);
        fprintf(stderr, "  %-10s %s\n", n->name, n->description);
    }
    return EXIT_USAGE;
}

/* One round: the tasks in order, each through the driver, stopping at the first failure. */
static int run_round(const hdp_config *cfg, const run_args *a, const hdp_stage *const *tasks,
                     const char *dag, runlog *rl, hdp_err *e)
{
    stage_args sa = {.row_group_rows = (size_t)a->row_group_rows,
                     .table = a->table,
                     .rebuild = a->rebuild,
                     .retention_s = a->retention};
    driver_opts o = {.max_attempts = (int)a->attempts, .timeout_ms = a->timeout * 1000};
    int64_t run_id =
        a->run_id ? a->run_id : runlog_run_begin(rl, dag, a->trigger ? a->trigger : "cli");
    int rc = HDP_OK;
    for (size_t i = 0; tasks[i] && rc == HDP_OK; i++) {
        const hdp_stage *t = tasks[i];
        int64_t tr = runlog_task_begin(rl, run_id, t->name);
        stage_report r;
        driver_result res;
        rc = driver_run(t, cfg, &sa, &o, &hdp_stop_requested, &r, &res, e);
        if (r.summary[0])
            printf("%s\n", r.summary);
        fflush(stdout);
        if (rc != HDP_OK)
            hdp_err_prefix(e, "%s: ", t->name);
        runlog_task_end(rl, tr, rc == HDP_OK, res.attempts, &r, rc == HDP_OK ? NULL : e->msg);
    }
    if (a->run_id == 0)
        runlog_run_end(rl, run_id, rc == HDP_OK, rc == HDP_OK ? NULL : e->msg);
    return rc;
}

int cmd_run(int argc, char **argv, hdp_config *cfg)
{
    run_args a = {0};
    const char *pos[1];
    int npos = 0;
    int code = opts_parse("run", cmd_run_opts, argc, argv, &a, pos, 1, &npos);
    if (code != EXIT_OK)
        return code;
    if (npos == 0)
        return usage_tasks("");
    const hdp_stage *one[2] = {NULL, NULL};
    const hdp_stage *const *tasks = batch_dag;
    const char *dag = "batch";
    if (strcmp(pos[0], "batch") != 0 && strcmp(pos[0], "dag") != 0) {
        one[0] = stage_find(pos[0]);
        if (one[0] == NULL || one[0]->kind != STAGE_BATCH)
            return usage_tasks(pos[0]);
        tasks = one;
        dag = one[0]->name;
    }
    cmd_install_stop_handlers();
    runlog *rl = runlog_open(cfg->dwh_dsn);
    hdp_err e;
    int exit_code = EXIT_OK;
    do {
        if (run_round(cfg, &a, tasks, dag, rl, &e) != HDP_OK) {
            if (a.every == 0)
                exit_code = cmd_error(EXIT_RUNTIME, "run", "%s", e.msg);
            else
                log_error("%s (next round in %ld s)", e.msg, a.every);
        }
        for (long ms = 0; a.every && ms < a.every * 1000 && !hdp_stop_requested; ms += 100)
            usleep(100 * 1000);
    } while (a.every && !hdp_stop_requested);
    runlog_close(rl);
    return exit_code;
}
