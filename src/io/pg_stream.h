/* pg_stream.h — one logical replication session of a consumer: START_REPLICATION on a slot
 * with pgoutput, frames in, standby status updates out.
 *
 * The consumer tells the stream what its sink holds durably (pg_stream_confirm); the stream
 * reports exactly that as the flush position, and, when the consumer says it is idle (no
 * transaction open, nothing unwritten), the server's keepalive position too, so an idle slot
 * holds no WAL back. */
#ifndef HDP_PG_STREAM_H
#define HDP_PG_STREAM_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/err.h"
#include "format/pgoutput.h"

typedef struct pg_stream {
    PGconn *conn;        /* replication connection (replication=database) */
    uint64_t slot_lsn;   /* the slot's confirmed_flush_lsn when the session started */
    uint64_t confirmed;  /* flush position reported to the server */
    uint64_t server_end; /* latest keepalive position */
    int64_t last_status_us;
    int status_due;
    char *buf; /* the current frame (libpq's), freed by the next call */
} pg_stream;

/* Connects and starts streaming `slot` of publication `pub`. HDP_ERR when the slot does not
 * exist or the server refuses the credentials (a retry cannot help), HDP_RETRY when the
 * server is unreachable or the slot is busy. */
int pg_stream_start(pg_stream *s, const char *dsn, const char *slot, const char *pub, hdp_err *e);

/* Waits up to timeout_ms for one frame: HDP_OK with *got = 1 and *f filled, or *got = 0 on
 * timeout; HDP_RETRY when the stream broke, HDP_ERR on a malformed frame. Keepalives record
 * the server position and are returned as frames too. */
int pg_stream_next(pg_stream *s, int timeout_ms, pgrepl_frame *f, int *got, hdp_err *e);

/* Records that the sink holds everything up to lsn. */
void pg_stream_confirm(pg_stream *s, uint64_t lsn);

/* Sends a status update when one is due (asked for, confirmed moved, or 1 s passed). When
 * idle, first confirms the server's keepalive position. */
int pg_stream_tick(pg_stream *s, int idle, hdp_err *e);

/* Writes a heartbeat on the source through `sql` when the open segment's time is over, so a
 * quiet stream still closes it (core/segment.h). Not inside a transaction (in_tx). */
int pg_stream_heartbeat(PGconn *sql, int in_tx, int64_t segment, int64_t seconds,
                        int64_t *last_beat_mono_us, hdp_err *e);

void pg_stream_close(pg_stream *s);

#endif
