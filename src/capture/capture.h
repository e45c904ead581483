/* capture.h — `hdp capture`: slot hdp_lake → immutable raw JSON Lines objects in the lake.
 *
 * Each segment's changes are spooled per table on local disk; when the stream moves into a
 * later segment (an order, or the heartbeat on a quiet source), capture stores one object
 * per table, then the segment's marker raw/_segments/<seg>.json, then its state, and only
 * then confirms the slot. Object names and bytes depend only on the stream, so a crash
 * anywhere replays the same segment into the same objects: nothing lost, nothing doubled. */
#ifndef HDP_CAPTURE_H
#define HDP_CAPTURE_H

#include "core/config.h"
#include "core/err.h"

#define CAPTURE_SLOT      "hdp_lake"
#define CAPTURE_STATE_KEY "_state/capture.json"

int capture_run(const hdp_config *cfg, volatile int *stop, hdp_err *e);

#endif
