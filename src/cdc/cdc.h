/* cdc.h — the change-data-capture consumer skeleton that `hdp capture` and `hdp speed` share:
 * one logical replication session on a slot of the publication, decoded pgoutput, the segment
 * rule, the heartbeat that moves a quiet source on, and the status updates that confirm what
 * the consumer's sink holds. The consumer supplies callbacks, as PostgreSQL's output plugins
 * supply OutputPluginCallbacks, and owns its sink.
 *
 *   begin(tx)         a transaction starts; tx->segment is its segment (core/segment.h)
 *   relation(rel)     a table's shape (before its first change in a session, and on ALTER)
 *   change(tx, msg)   an insert, update, delete or truncate of a published table (changes of
 *                     the heartbeat table are not passed: they only move segments on)
 *   commit(tx)        the transaction is complete; tx->end_lsn is its end
 *
 * Exactly-once effect: cdc_start() takes what the sink holds — the commit end LSN of the last
 * transaction it stored and that transaction's segment (the clamp's state) — and skips every
 * transaction at or below it; the consumer calls cdc_confirm() once its sink holds more
 * durably, and only that is reported to the server. Callbacks return HDP_OK, HDP_RETRY (the
 * session is dropped and started again: PostgreSQL resends what was not confirmed) or HDP_ERR.
 *
 * The names below are the contract of `hdp init`, which creates the publication and slots. */
#ifndef HDP_CDC_H
#define HDP_CDC_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/err.h"
#include "format/pgoutput.h"

#define CDC_PUBLICATION     "hdp_pub"
#define CDC_SLOT_SPEED      "hdp_speed"
#define CDC_SLOT_LAKE       "hdp_lake"
#define CDC_HEARTBEAT_TABLE "hdp_heartbeat"

typedef struct cdc_tx {
    uint64_t final_lsn; /* LSN of the commit record (BEGIN's final_lsn) */
    uint64_t end_lsn;   /* end of the commit record; set for commit() */
    int64_t commit_us;  /* commit time, Unix µs */
    uint32_t xid;
    int64_t segment; /* the segment rule, clamped by the stream's previous segment */
    uint32_t seq;    /* 0-based position of the next change within the transaction */
} cdc_tx;

typedef struct cdc_callbacks {
    int (*begin)(void *ctx, const cdc_tx *tx, hdp_err *e);
    int (*relation)(void *ctx, const pgo_relation *rel, hdp_err *e); /* may be NULL */
    int (*change)(void *ctx, const cdc_tx *tx, const pgo_msg *m, hdp_err *e);
    int (*commit)(void *ctx, const cdc_tx *tx, hdp_err *e);
} cdc_callbacks;

typedef struct cdc_consumer cdc_consumer;

/* A consumer of `slot` on the source at dsn (copied); segments of segment_seconds. No I/O. */
cdc_consumer *cdc_new(const char *dsn, const char *slot, int64_t segment_seconds,
                      const cdc_callbacks *cb, void *ctx);
void cdc_free(cdc_consumer *c); /* NULL is a no-op; disconnects first */

/* Connects a SQL session (for lookups and the heartbeat) and the replication stream; skips
 * transactions whose commit end LSN is <= sink_lsn; sink_segment seeds the clamp (-1: none).
 * HDP_RETRY when the source is unreachable or busy, HDP_ERR when no retry helps (wrong
 * credentials, no such database or slot). */
int cdc_start(cdc_consumer *c, uint64_t sink_lsn, int64_t sink_segment, hdp_err *e);
int cdc_started(const cdc_consumer *c);
/* Drops the session (what was not confirmed is resent by the next cdc_start()). */
void cdc_stop(cdc_consumer *c);

/* One slice of the stream: waits up to wait_ms for a frame, then dispatches every frame
 * already received, at most max_frames. A callback's failure is returned as is. */
int cdc_poll(cdc_consumer *c, int wait_ms, int max_frames, hdp_err *e);

/* Between slices: sends a status update when due and, once the open segment's time is over,
 * a heartbeat on the source. idle: the sink holds everything delivered so far (no open
 * transaction, nothing unwritten), so the server's own position may be confirmed too. */
int cdc_tick(cdc_consumer *c, int idle, hdp_err *e);

/* The sink holds everything up to lsn (a commit end LSN) durably. */
void cdc_confirm(cdc_consumer *c, uint64_t lsn);

int cdc_in_tx(const cdc_consumer *c);
/* The source SQL session of the running session, for the consumer's lookups (or NULL). */
PGconn *cdc_sql(cdc_consumer *c);
/* The server's latest WAL position (from keepalives): when idle, everything below it that the
 * slot would send has been sent. */
uint64_t cdc_server_lsn(const cdc_consumer *c);
/* The slot's confirmed position when the session started. */
uint64_t cdc_slot_lsn(const cdc_consumer *c);
/* The clamp's state: the segment of the last transaction delivered (-1: none). */
int64_t cdc_segment(const cdc_consumer *c);
const char *cdc_slot(const cdc_consumer *c);

#endif
