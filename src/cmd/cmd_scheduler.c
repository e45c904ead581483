/* cmd_scheduler.c — `hdp scheduler`: the batch DAG on a timer (orchestrate/scheduler.c). */
#include "cmd/cmd.h"

#include "orchestrate/scheduler.h"

typedef struct scheduler_args {
    long task_timeout;
    long attempts;
    int once;
} scheduler_args;

const cmd_opt cmd_scheduler_opts[] = {
    {"--task-timeout", OPT_INT, "SECONDS", 1, 86400, OPT_AT(scheduler_args, task_timeout),
     "give each task at most SECONDS, retries included (default 900)"},
    {"--attempts", OPT_INT, "N", 1, 100, OPT_AT(scheduler_args, attempts),
     "tries of a task on transient failures (default 3)"},
    {"--once", OPT_FLAG, NULL, 0, 0, OPT_AT(scheduler_args, once),
     "one run (once this scheduler is the active one), then exit"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

int cmd_scheduler(int argc, char **argv, hdp_config *cfg)
{
    scheduler_args a = {.task_timeout = 900, .attempts = 3};
    const char *pos[1];
    int npos = 0;
    int code = opts_parse("scheduler", cmd_scheduler_opts, argc, argv, &a, pos, 0, &npos);
    if (code != EXIT_OK)
        return code;
    cmd_install_stop_handlers();
    sched_opts o = {.task_timeout = a.task_timeout, .attempts = a.attempts, .once = a.once};
    hdp_err e;
    if (scheduler_run(cfg, &o, &hdp_stop_requested, &e) != HDP_OK)
        return cmd_error(EXIT_RUNTIME, "scheduler", "%s", e.msg);
    return EXIT_OK;
}
