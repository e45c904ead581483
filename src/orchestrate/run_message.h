/* run_message.h — the text of a run's alert (Telegram HTML), from the run history. */
#ifndef HDP_RUN_MESSAGE_H
#define HDP_RUN_MESSAGE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"

/* Appends the message of run run_id (which took secs) to text; *moved says whether it moved
 * data (a success that moved nothing is not worth a message). */
int run_message(const hdp_config *cfg, PGconn *pg, int64_t run_id, double secs, hdp_buf *text,
                int *moved, hdp_err *e);

#endif
