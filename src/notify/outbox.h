/* outbox.h — pipeline alerts: an outbox in dwh (ops.notification) delivered to Telegram by
 * a sender that never holds up a run (see outbox.c). */
#ifndef HDP_OUTBOX_H
#define HDP_OUTBOX_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/err.h"
#include "io/telegram.h"

/* Queues one message (kind "success" or "failure"; text in Telegram HTML). */
int outbox_enqueue(PGconn *c, int64_t run_id, const char *kind, const char *text, hdp_err *e);

typedef struct outbox_counts {
    int sent, failed, pending;
    char last_error[256];
} outbox_counts;

/* Sends up to max due messages, each within timeout_ms, oldest first; stops at the first
 * that fails (it and the rest are tried later, with backoff). Only dwh failures are errors:
 * Telegram's are counted in n. */
int outbox_drain(PGconn *c, const tg_target *t, int max, long timeout_ms, outbox_counts *n,
                 hdp_err *e);

#endif
