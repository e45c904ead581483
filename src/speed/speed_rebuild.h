/* speed_rebuild.h — `hdp rebuild speed` (see speed_rebuild.c). */
#ifndef HDP_SPEED_REBUILD_H
#define HDP_SPEED_REBUILD_H

#include <stdint.h>

#include "core/config.h"
#include "core/err.h"

typedef struct speed_rebuild_stats {
    uint64_t consistent_lsn; /* the new slot's consistent point */
    int64_t floor_segment;   /* the speed layer holds every segment from here */
    int64_t transactions;    /* replayed from the raw zone */
    int64_t skipped_lines;   /* raw lines that break the contract (compaction quarantines) */
    int64_t segment;         /* the clamp's state after the replay */
} speed_rebuild_stats;

/* Recomputes the speed layer from the lake and a new slot; waits up to wait_s for capture to
 * close the segment holding the slot's start. `hdp speed` must be stopped. */
int speed_rebuild(const hdp_config *cfg, long wait_s, speed_rebuild_stats *out, hdp_err *e);

#endif
