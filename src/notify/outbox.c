/* outbox.c — the alerts' outbox in dwh (ops.notification) and its delivery to Telegram.
 *
 * A run enqueues and goes on; delivery happens elsewhere (the scheduler's sender thread, or
 * `hdp run notify`), message by message with a bounded timeout, so a slow or dead Telegram
 * delays messages and never a run. A message that could not be sent is tried again later
 * with backoff (Telegram's retry_after when it gives one); the outbox keeps at most
 * OUTBOX_MAX pending messages, dropping the oldest (counted, in /metrics). */
#include "notify/outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "io/pg.h"

#define OUTBOX_MAX 1000

int outbox_enqueue(PGconn *c, int64_t run_id, const char *kind, const char *text, hdp_err *e)
{
    char id[24];
    snprintf(id, sizeof(id), "%" PRId64, run_id);
    const char *p[3] = {run_id ? id : NULL, kind, text};
    PGresult *r = pg_query(
        c, "INSERT INTO ops.notification (run_id, kind, text) VALUES ($1, $2, $3)", 3, p, e);
    if (r == NULL)
        return pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
    PQclear(r);
    char max[16];
    snprintf(max, sizeof(max), "%d", OUTBOX_MAX);
    const char *q[1] = {max};
    r = pg_query(c,
                 "UPDATE ops.notification SET status = 'dropped' WHERE id IN (SELECT id FROM "
                 "ops.notification WHERE status = 'pending' ORDER BY id DESC OFFSET $1)",
                 1, q, e);
    if (r == NULL)
        return pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
    if (atoi(PQcmdTuples(r)) > 0)
        log_warn("alerts outbox full: %s oldest message(s) dropped", PQcmdTuples(r));
    PQclear(r);
    return HDP_OK;
}

/* The pause before the next try of a message tried `attempts` times. */
static long backoff_s(int attempts, long retry_after_s)
{
    long s = 5;
    for (int i = 1; i < attempts && s < 600; i++)
        s *= 2;
    if (s > 600)
        s = 600;
    return retry_after_s > s ? retry_after_s : s;
}

int outbox_drain(PGconn *c, const tg_target *t, int max, long timeout_ms, outbox_counts *n,
                 hdp_err *e)
{
    memset(n, 0, sizeof(*n));
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", max);
    const char *p[1] = {lim};
    PGresult *r = pg_query(c,
                           "SELECT id, text, attempts FROM ops.notification WHERE status = "
                           "'pending' AND next_try_at <= clock_timestamp() ORDER BY id LIMIT $1",
                           1, p, e);
    if (r == NULL)
        return pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
    int rc = HDP_OK;
    for (int i = 0; i < PQntuples(r) && rc == HDP_OK; i++) {
        const char *id = PQgetvalue(r, i, 0);
        int attempts = atoi(PQgetvalue(r, i, 2)) + 1;
        long retry_after = 0;
        hdp_err se;
        int sent = tg_send(t, PQgetvalue(r, i, 1), timeout_ms, &retry_after, &se) == HDP_OK;
        char att[16], wait_s[24];
        snprintf(att, sizeof(att), "%d", attempts);
        snprintf(wait_s, sizeof(wait_s), "%ld", backoff_s(attempts, retry_after));
        const char *ok_p[2] = {id, att};
        const char *bad_p[4] = {id, att, se.msg, wait_s};
        PGresult *w =
            sent ? pg_query(c,
                            "UPDATE ops.notification SET status = 'sent', attempts = $2, "
                            "sent_at = clock_timestamp() WHERE id = $1",
                            2, ok_p, e)
                 : pg_query(c,
                            "UPDATE ops.notification SET attempts = $2, last_error = $3, "
                            "next_try_at = clock_timestamp() + make_interval(secs => $4::int) "
                            "WHERE id = $1",
                            4, bad_p, e);
        if (w == NULL)
            rc = pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
        PQclear(w);
        if (sent) {
            n->sent++;
        } else {
            n->failed++;
            snprintf(n->last_error, sizeof(n->last_error), "%.250s", se.msg);
            break; /* Telegram is unwell: the rest waits for the next round */
        }
    }
    PQclear(r);
    PGresult *q = rc == HDP_OK ? pg_query(c,
                                          "SELECT count(*) FROM ops.notification WHERE status = "
                                          "'pending'",
                                          0, NULL, e)
                               : NULL;
    if (q) {
        n->pending = atoi(PQgetvalue(q, 0, 0));
        PQclear(q);
    }
    return rc;
}
