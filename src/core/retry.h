/* retry.h — the one place long-running consumers retry: run a session until it fails, wait
 * with exponential backoff, run it again; stop on request or on a failure a retry cannot mend.
 * Sessions return HDP_OK (stopped cleanly), HDP_RETRY (transient) or HDP_ERR (give up). */
#ifndef HDP_RETRY_H
#define HDP_RETRY_H

#include "core/err.h"

typedef int (*retry_session_fn)(void *ctx, volatile int *stop, hdp_err *e);
/* Called between sessions to drop what the failed one held (may be NULL). */
typedef void (*retry_cleanup_fn)(void *ctx);

/* Backoff 250 ms doubling to max_ms, reset after a session that ran 5 s. Logs each retry.
 * Returns HDP_OK when stopped, HDP_ERR (with e) when a session gave up. */
int retry_run(retry_session_fn session, retry_cleanup_fn cleanup, void *ctx, volatile int *stop,
              int max_ms, hdp_err *e);

/* The next delay of the schedule (pure; for tests). */
int retry_next_delay(int delay_ms, int max_ms);

#endif
