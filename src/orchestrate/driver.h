/* driver.h — the one driver of every stage (core/stage.h): `hdp run`, `hdp scheduler`,
 * `hdp capture`, `hdp speed` and `hdp up`'s children all run their stages through it, so
 * retries, backoff, timeouts and the meaning of a failure live here and nowhere else.
 *
 * Classification: a unit's HDP_RETRY is transient (a service away, restarting or busy) and
 * is tried again after a backoff with full jitter (first_ms doubling to max_ms, reset after
 * a success); HDP_ERR is permanent (wrong credentials, a missing bucket, bad configuration)
 * and ends the drive at once with the stage's one-line message. A stream stage is retried
 * for as long as it runs; a batch stage gets max_attempts tries within timeout_ms.
 *
 * Logging: once per change of state — the first failure of a kind (WARN), a different one,
 * the recovery (INFO, with how long it took) — never once per retry. */
#ifndef HDP_DRIVER_H
#define HDP_DRIVER_H

#include <stdint.h>

#include "core/stage.h"

typedef struct driver_opts {
    int max_attempts;   /* batch: tries of the unit (0: 3) */
    int64_t timeout_ms; /* batch: the whole task, retries included (0: none) */
    int first_ms;       /* first backoff (0: 250 ms) */
    int max_ms;         /* backoff cap (0: 30 s) */
} driver_opts;

/* What a drive did, beside the last unit's report. */
typedef struct driver_result {
    int attempts;       /* units run (batch) or sessions started (stream) */
    int timed_out;      /* the deadline passed */
    int64_t elapsed_us; /* wall time of the drive */
} driver_result;

/* Runs stage st with cfg and args until it is done (batch), *stop becomes non-zero, or a
 * permanent failure. HDP_OK; HDP_ERR with e set (a permanent failure, a batch stage that
 * kept failing, or a timeout; a stop request during a batch unit is HDP_ERR "interrupted").
 * r (may be NULL) receives the last unit's report, res (may be NULL) the counts above. */
int driver_run(const hdp_stage *st, const hdp_config *cfg, const stage_args *args,
               const driver_opts *o, volatile int *stop, stage_report *r, driver_result *res,
               hdp_err *e);

/* The delay before retry number `attempt` (1-based): uniformly random in [d/2, d] where
 * d = min(max_ms, first_ms * 2^(attempt-1)) (pure given *rng; for tests). */
int driver_backoff_ms(int attempt, int first_ms, int max_ms, uint32_t *rng);

#endif
