/* segment.h — the one rule that cuts the change stream into segments.
 *
 * A transaction's segment is floor(commit time / HDP_SEGMENT_SECONDS), clamped so it never
 * falls below the segment of the transaction before it in commit order:
 *
 *     seg(tx) = max(seg(prev tx), floor(commit_ts / S))
 *
 * Every consumer computes it from the stream alone; the clamp makes it survive a source clock
 * that steps back. The clamp needs the previous segment, so each consumer stores the last
 * segment with its own sink, atomically with the data (speed: in Redis beside its LSN guard;
 * capture: in the lake). A segment s is closed once a transaction of a later segment has been
 * seen; a quiet source is moved on by a heartbeat transaction (see hdp.heartbeat), so a
 * segment closes within S seconds even when no order comes. */
#ifndef HDP_SEGMENT_H
#define HDP_SEGMENT_H

#include <stdint.h>

/* The segment of a transaction committed at commit_unix_us, given the previous segment of
 * the stream (-1 when there is none). */
int64_t segment_of(int64_t commit_unix_us, int64_t seconds, int64_t prev);

/* The first instant (Unix µs) that belongs to a segment after `seg`. */
int64_t segment_end_us(int64_t seg, int64_t seconds);

/* True when a consumer should write a heartbeat: the open segment's time is over (plus a
 * small grace) and the last heartbeat was at least a second ago (monotonic µs). */
int segment_heartbeat_due(int64_t seg, int64_t seconds, int64_t now_unix_us, int64_t now_mono_us,
                          int64_t last_beat_mono_us);

#endif
