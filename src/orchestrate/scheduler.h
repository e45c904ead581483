/* scheduler.h — `hdp scheduler` (see scheduler.c). */
#ifndef HDP_SCHEDULER_H
#define HDP_SCHEDULER_H

#include "core/config.h"
#include "core/err.h"

typedef struct sched_opts {
    long task_timeout; /* seconds a task may take, retries included */
    long attempts;     /* tries of a task on transient failures */
    int once;          /* one run, then exit (once active) */
} sched_opts;

/* Runs until *stop (or after one run with once). HDP_OK; HDP_ERR when dwh refuses us for
 * good (credentials, no such database). */
int scheduler_run(const hdp_config *cfg, const sched_opts *o, volatile int *stop, hdp_err *e);

#endif
