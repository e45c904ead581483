/* speed_consumer.h — `hdp speed`: slot hdp_speed → per-segment aggregates in Redis.
 *
 * Exactly-once effect: transactions are merged into batches that reach Redis in one
 * MULTI/EXEC with the commit end LSN of their last transaction; on (re)start the consumer
 * skips every transaction at or below the LSN Redis holds, and it confirms to PostgreSQL only
 * what Redis has applied. When idle and caught up it confirms the server's keepalive
 * position, so the slot holds no WAL back. It moves a quiet source on with a heartbeat so
 * that segments close within HDP_SEGMENT_SECONDS. */
#ifndef HDP_SPEED_CONSUMER_H
#define HDP_SPEED_CONSUMER_H

#include "core/config.h"
#include "core/err.h"

#define SPEED_SLOT      "hdp_speed"
#define HDP_PUBLICATION "hdp_pub"

/* Runs until *stop becomes non-zero. Reconnects with backoff on PostgreSQL or Redis
 * failures; returns HDP_ERR only for failures that a retry cannot mend (no slot). */
int speed_run(const hdp_config *cfg, volatile int *stop, hdp_err *e);

#endif
