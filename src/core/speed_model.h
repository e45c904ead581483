/* speed_model.h — the speed layer's shape in Redis: the contract between `hdp speed`
 * (the only writer) and `hdp serve` (a reader). Money is integer cents; counts are integers.
 *
 * Keys (P = "hdp:"):
 *   P "speed:state"             HASH  lsn      last applied commit end LSN (decimal u64)
 *                                     segment  segment of that transaction (the clamp's state)
 *                                     closed   every segment <= this one is closed for good
 *                                     updated  Unix µs of the last write
 *                                     commit   Unix µs of that transaction's commit (absent
 *                                              after a rebuild until the next one)
 *                                     held     every change below this LSN is reflected (lsn,
 *                                              or a later position confirmed while idle)
 *                                     slot_created  the slot's LSN when `hdp init` made it
 *                                     (written with lsn 0 by init; a state that is missing
 *                                     means Redis lost the speed layer's data)
 *   P "speed:fault"             STRING set by `hdp speed` when the state it builds on is gone
 *                                      or changed under it: JSON {"reason","at"}; serve's
 *                                      /health and `hdp status` report it; cleared by
 *                                      `hdp rebuild speed`
 *   P "speed:version"           STRING incremented by every applied batch (cheap change probe)
 *   P "sp:" SEG ":" DAY         HASH  the aggregates of one segment for one event day
 *                                     (DAY = YYYY-MM-DD of paid_at / refunded_at, UTC)
 *        paid    cents paid that day        orders   orders paid that day
 *        refunded cents refunded that day   refunds  orders refunded that day
 *        h:HH    net cents in hour HH        hn:HH   orders paid in hour HH
 *        m:HH:MM net cents in minute         mn:HH:MM orders paid in that minute
 *        c:CITY  net cents by ship_city      cn:CITY orders paid by ship_city
 *        cp:CITY cents of the orders paid by ship_city (the average check's numerator)
 *        k:CAT   net cents by category       kn:CAT  paid orders with an item of CAT
 *   P "sp:days:" DAY            ZSET  member = score = SEG: segments holding data for DAY
 *   P "sp:segments"             ZSET  member = score = SEG: every segment with data
 *   P "sp:floor"                STRING the speed layer holds every transaction of the segments
 *                                      >= it (absent: 0, all); `hdp rebuild speed` sets it
 *   P "sp:dropped:" DAY         STRING set by publish when it dropped DAY's buckets <= W: the
 *                                      speed layer alone can no longer answer DAY
 *   P "speed:quarantine"        LIST  JSON records the speed layer could not apply, with reason
 *   P "speed:quarantined"       STRING count of quarantined records
 *   P "batch:watermark"         STRING W, the last segment fully in the batch views (absent:
 *                                      no batch layer yet; serve treats it as null)
 *
 * Net revenue of a day = paid − refunded. Every batch is applied in one MULTI/EXEC together
 * with speed:state, so a reader sees whole transactions only and a replay is skipped by the
 * LSN guard. */
#ifndef HDP_SPEED_MODEL_H
#define HDP_SPEED_MODEL_H

#define SPEED_PREFIX        "hdp:"
#define SPEED_STATE_KEY     SPEED_PREFIX "speed:state"
#define SPEED_VERSION_KEY   SPEED_PREFIX "speed:version"
#define SPEED_FAULT_KEY     SPEED_PREFIX "speed:fault"
#define SPEED_FLOOR_KEY     SPEED_PREFIX "sp:floor"
#define SPEED_SEGMENTS_KEY  SPEED_PREFIX "sp:segments"
#define SPEED_QUAR_KEY      SPEED_PREFIX "speed:quarantine"
#define SPEED_QUARN_KEY     SPEED_PREFIX "speed:quarantined"
#define BATCH_WATERMARK_KEY SPEED_PREFIX "batch:watermark"

/* "hdp:sp:<seg>:<day>" and "hdp:sp:days:<day>", day as YYYY-MM-DD */
#define SPEED_AGG_FMT  SPEED_PREFIX "sp:%lld:%s"
#define SPEED_DAYS_FMT SPEED_PREFIX "sp:days:%s"

#endif
