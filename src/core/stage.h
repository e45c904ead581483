/* stage.h — the one shape of every pipeline stage: capture, speed, compact, vault, marts,
 * publish, notify. As a Fluent Bit plugin registers .cb_init/.cb_flush/.cb_exit and returns
 * FLB_OK/FLB_RETRY/FLB_ERROR while the engine owns retries, a stage registers one hdp_stage
 * with designated initializers and returns HDP_OK, HDP_RETRY or HDP_ERR from each unit of
 * work; the driver (orchestrate/driver.h) owns backoff, timeouts and what a failure means.
 *
 *   init(ctx, cfg, args)   allocate the stage's context; connecting may wait for run()
 *   run(ctx, cancel, r)    one unit of work: a batch stage's whole task, a stream stage's
 *                          next slice (a fraction of a second). Returns
 *                            HDP_OK     done (batch) / keep going (stream)
 *                            HDP_RETRY  transient: the service is away or busy; the driver
 *                                       calls reset() and runs the unit again after a pause
 *                            HDP_ERR    permanent: wrong credentials, a missing bucket, bad
 *                                       configuration, bad data a retry cannot mend
 *                          *cancel becomes non-zero when the command is asked to stop or the
 *                          task's time is up: a long unit checks it and returns early.
 *   reset(ctx)             after RETRY: drop what the failed unit held (connections); keep
 *                          what is still true (caches). May be NULL.
 *   finish(ctx)            on a clean stop: store what is held in memory. May be NULL.
 *   close(ctx)             free everything; accepts what init left after a failure.
 *
 * Stages never include each other; what two share lives below them (cdc/, lake/, io/). */
#ifndef HDP_STAGE_H
#define HDP_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"

typedef enum stage_kind { STAGE_STREAM, STAGE_BATCH } stage_kind;

/* What a command passes to a stage from its command line; zero means the default. */
typedef struct stage_args {
    size_t row_group_rows; /* compact: rows per Parquet row group */
    const char *table;     /* compact: only this table (NULL: every table) */
    int rebuild;           /* marts: recompute every mart from the vault */
    long retention_s;      /* gc: remove what is older than this (0: HDP_GC_RETENTION) */
} stage_args;

/* What one unit of work did: the summary line, the run history and /metrics read it. */
typedef struct stage_report {
    int64_t rows;        /* rows written downstream */
    int64_t bytes;       /* bytes read */
    int64_t quarantined; /* records set aside with a reason */
    int64_t seg_first;   /* segment range the unit took (-1: none) */
    int64_t seg_last;
    int moved;         /* something changed downstream (drives "success with data" alerts) */
    char summary[640]; /* one line: "compact: 3 segment(s), 12 object(s), ..." */
} stage_report;

typedef struct hdp_stage {
    const char *name;
    const char *description;
    stage_kind kind;
    int (*init)(void **ctx, const hdp_config *cfg, const stage_args *args, hdp_err *e);
    int (*run)(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e);
    void (*reset)(void *ctx);
    int (*finish)(void *ctx, hdp_err *e);
    void (*close)(void *ctx);
} hdp_stage;

/* A report with nothing in it (segments -1). */
void stage_report_clear(stage_report *r);

#endif
