/* speed_sink.h — writes a speed_batch to Redis atomically and reads back the guard state. */
#ifndef HDP_SPEED_SINK_H
#define HDP_SPEED_SINK_H

#include <stdint.h>

#include "core/err.h"
#include "io/redis.h"
#include "speed/speed_batch.h"

typedef struct speed_state {
    uint64_t lsn;    /* last applied commit end LSN; 0 when Redis holds nothing yet */
    int64_t segment; /* that transaction's segment; -1 when none */
} speed_state;

/* Reads hdp:speed:state. HDP_RETRY when Redis is unreachable or answers an error. */
int speed_sink_load(hdp_redis *r, speed_state *st, hdp_err *e);

/* Applies the batch in one MULTI/EXEC with the new state. When the outcome is unknown
 * (connection lost mid-EXEC) the caller reconnects and compares speed_sink_load()'s lsn
 * with the batch's: equal means it was applied. */
int speed_sink_write(hdp_redis *r, const speed_batch *b, hdp_err *e);

#endif
