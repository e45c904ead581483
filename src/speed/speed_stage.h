/* speed_stage.h — `hdp speed` as a stage (core/stage.h): slot hdp_speed → per-segment
 * aggregates in Redis (core/speed_model.h).
 *
 * Exactly-once effect: transactions are merged into batches that reach Redis in one
 * MULTI/EXEC with the commit end LSN of their last transaction; on (re)start the consumer
 * skips every transaction at or below the LSN Redis holds, and it confirms to PostgreSQL only
 * what Redis has applied. Every write first checks that Redis still holds the state the
 * consumer wrote last: a Redis that lost its data is a permanent error (hdp:speed:fault set,
 * the operator told to run `hdp rebuild speed`), never written on. When idle and caught up it
 * records, then confirms, the server's position, so the slot holds no WAL back. */
#ifndef HDP_SPEED_STAGE_H
#define HDP_SPEED_STAGE_H

#include "core/stage.h"

extern const hdp_stage speed_stage;

#endif
