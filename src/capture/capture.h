/* capture.h — `hdp capture`: slot hdp_lake → immutable raw JSON Lines objects in the lake.
 *
 * Each segment's changes are spooled per table on local disk; when the stream moves into a
 * later segment (an order, or the heartbeat on a quiet source), capture stores one object
 * per table, then the segment's marker raw/_segments/<seg>.json, then its state, and only
 * then confirms the slot. Object names and bytes depend only on the stream, so a crash
 * anywhere replays the same segment into the same objects: nothing lost, nothing doubled.
 * The marker lists each object's rows, bytes and XXH3-64 checksum: the contract compaction
 * checks an object against before it takes it. */
#ifndef HDP_CAPTURE_H
#define HDP_CAPTURE_H

#include "core/stage.h"

/* The stage (core/stage.h). A failure to store the lake's objects that a retry may mend (the
 * store away, 5xx) replays the segment after a pause; one that no retry mends (403: wrong
 * secret, a missing bucket) stops the command with exit 1. */
extern const hdp_stage capture_stage;

#endif
