/* runlog.h — the run history in dwh.ops (sql/postgres/dwh.sql: ops.run, ops.task_run): every
 * run of the batch DAG or of one task, and every task of it, with status, attempts, what it
 * moved, its segment range and its error. `hdp status`, `GET /api/v1/pipeline/runs` and
 * /metrics read it.
 *
 * Recording is best effort by design: the history must never be the reason data stops
 * moving, so a dwh that cannot be written is warned about once and the pipeline goes on
 * (a task that needs dwh fails on its own account). */
#ifndef HDP_RUNLOG_H
#define HDP_RUNLOG_H

#include <stdint.h>

#include "core/stage.h"

typedef struct runlog runlog;

runlog *runlog_open(const char *dwh_dsn); /* connects lazily; never NULL */
void runlog_close(runlog *l);             /* NULL is a no-op */

/* A new run (status running); returns its id, 0 when it could not be recorded. */
int64_t runlog_run_begin(runlog *l, const char *dag, const char *trigger);
/* Ends a run: success when ok, else failed with error's first line. */
void runlog_run_end(runlog *l, int64_t run_id, int ok, const char *error);

int64_t runlog_task_begin(runlog *l, int64_t run_id, const char *task);
void runlog_task_end(runlog *l, int64_t task_run_id, int ok, int attempts, const stage_report *r,
                     const char *error);

#endif
