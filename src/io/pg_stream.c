#include "io/pg_stream.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "core/segment.h"
#include "core/timeutil.h"
#include "io/pg.h"

int pg_stream_start(pg_stream *s, const char *dsn, const char *slot, const char *pub, hdp_err *e)
{
    memset(s, 0, sizeof(*s));
    int rc = pg_open(&s->conn, dsn, NULL, "database", e);
    if (rc != HDP_OK)
        return rc;
    /* A replication connection speaks only the simple query protocol: no parameters. */
    char *lit = PQescapeLiteral(s->conn, slot, strlen(slot));
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s",
             lit ? lit : "NULL");
    PQfreemem(lit);
    PGresult *r = pg_query(s->conn, q, 0, NULL, e);
    if (r == NULL)
        return HDP_RETRY;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return hdp_fail(e, "replication slot %s does not exist (run 'hdp init')", slot);
    }
    unsigned long long lsn = 0;
    if (!PQgetisnull(r, 0, 0))
        pg_lsn_parse(PQgetvalue(r, 0, 0), &lsn);
    PQclear(r);
    s->slot_lsn = s->confirmed = lsn;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "START_REPLICATION SLOT %s LOGICAL 0/0 (proto_version '1', publication_names '%s')",
             slot, pub);
    r = PQexec(s->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_BOTH) {
        hdp_retry(e, "START_REPLICATION %s: %s", slot, PQresultErrorMessage(r));
        PQclear(r);
        return HDP_RETRY;
    }
    PQclear(r);
    return HDP_OK;
}

int pg_stream_next(pg_stream *s, int timeout_ms, pgrepl_frame *f, int *got, hdp_err *e)
{
    *got = 0;
    if (s->buf) {
        PQfreemem(s->buf);
        s->buf = NULL;
    }
    for (int waited = 0;; waited = 1) {
        int n = PQgetCopyData(s->conn, &s->buf, 1);
        if (n > 0) {
            if (pgrepl_parse_frame((const uint8_t *)s->buf, (size_t)n, f, e) != HDP_OK)
                return HDP_ERR;
            if (f->kind == 'k') {
                if (f->wal_end > s->server_end)
                    s->server_end = f->wal_end;
                if (f->reply_requested)
                    s->status_due = 1;
            }
            *got = 1;
            return HDP_OK;
        }
        if (n == -1)
            return hdp_retry(e, "the server ended the replication stream");
        if (n == -2)
            return hdp_retry(e, "replication stream: %s", PQerrorMessage(s->conn));
        if (waited)
            return HDP_OK;
        struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return HDP_OK; /* timeout, or EINTR: the caller re-checks its stop flag */
        if (PQconsumeInput(s->conn) != 1)
            return hdp_retry(e, "replication stream: %s", PQerrorMessage(s->conn));
    }
}

void pg_stream_confirm(pg_stream *s, uint64_t lsn)
{
    if (lsn > s->confirmed) {
        s->confirmed = lsn;
        s->status_due = 1;
    }
}

int pg_stream_tick(pg_stream *s, int idle, hdp_err *e)
{
    if (idle)
        pg_stream_confirm(s, s->server_end);
    int64_t now = mono_us();
    if (!s->status_due && now - s->last_status_us < USEC_PER_SEC)
        return HDP_OK;
    uint8_t msg[34];
    size_t n = pgrepl_build_status(msg, s->confirmed, s->confirmed, s->confirmed,
                                   now_unix_us() - PG_EPOCH_UNIX_USEC, 0);
    if (PQputCopyData(s->conn, (const char *)msg, (int)n) != 1 || PQflush(s->conn) != 0)
        return hdp_retry(e, "replication status update: %s", PQerrorMessage(s->conn));
    s->last_status_us = now;
    s->status_due = 0;
    return HDP_OK;
}

void pg_stream_close(pg_stream *s)
{
    if (s->buf)
        PQfreemem(s->buf);
    if (s->conn)
        PQfinish(s->conn);
    memset(s, 0, sizeof(*s));
}

int pg_stream_heartbeat(PGconn *sql, int in_tx, int64_t segment, int64_t seconds,
                        int64_t *last_beat_mono_us, hdp_err *e)
{
    int64_t mono = mono_us();
    if (in_tx || !segment_heartbeat_due(segment, seconds, now_unix_us(), mono, *last_beat_mono_us))
        return HDP_OK;
    *last_beat_mono_us = mono;
    return pg_heartbeat(sql, e) == HDP_OK ? HDP_OK : HDP_RETRY;
}
