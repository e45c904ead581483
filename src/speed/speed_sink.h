/* speed_sink.h — writes a speed_batch to Redis atomically and reads back the guard state. */
#ifndef HDP_SPEED_SINK_H
#define HDP_SPEED_SINK_H

#include <stdint.h>

#include "core/err.h"
#include "io/redis.h"
#include "speed/speed_batch.h"

typedef struct speed_state {
    int exists;            /* hdp:speed:state is there (written by `hdp init`, then by speed) */
    uint64_t lsn;          /* last applied commit end LSN; 0 when nothing applied yet */
    int64_t segment;       /* that transaction's segment; -1 when none */
    uint64_t held;         /* everything below it is reflected (>= lsn; idle confirmations) */
    uint64_t slot_created; /* the slot's LSN when init created it (0: unknown) */
} speed_state;

/* Reads hdp:speed:state. HDP_RETRY when Redis is unreachable or not ready (LOADING),
 * HDP_ERR when it refuses us (credentials). */
int speed_sink_load(hdp_redis *r, speed_state *st, hdp_err *e);

/* Applies the batch in one MULTI/EXEC with the new state, guarded: the state must still hold
 * expect_lsn (WATCHed and read first), so a Redis that lost its data (FLUSHALL, a restart
 * without its append-only file) or a second writer is noticed before anything is written.
 * HDP_OK; HDP_RETRY when the connection broke (the caller reconnects and compares
 * speed_sink_load()'s lsn with the batch's: equal means it was applied); HDP_ERR with
 * *lost = 1 when the state is not what this consumer wrote last — stop, do not write on. */
int speed_sink_write(hdp_redis *r, const speed_batch *b, uint64_t expect_lsn, int *lost,
                     hdp_err *e);

/* Records, guarded like a batch, that everything below `held` is reflected although no
 * transaction moved lsn (the slot was idle while the server's WAL moved on): the slot may
 * then be confirmed up to held without Redis looking behind it. */
int speed_sink_hold(hdp_redis *r, uint64_t expect_lsn, uint64_t held, int *lost, hdp_err *e);

/* Replaces every speed key (aggregates, indexes, state, fault) with the batch's aggregates
 * and a fresh state — LSN guard b->end_lsn, clamp b->segment, held and slot_created slot_lsn —
 * and hdp:sp:floor = floor_seg, in one MULTI/EXEC (`hdp rebuild speed`; hdp speed is
 * stopped). The quarantine list and its count are left as they are. */
int speed_sink_replace(hdp_redis *r, const speed_batch *b, uint64_t slot_lsn, int64_t floor_seg,
                       hdp_err *e);

/* Records why the speed layer stopped (hdp:speed:fault), for /health and `hdp status`. */
void speed_sink_fault(hdp_redis *r, const char *reason);

#endif
