/* run_message.c — what the alerts say about a run, from its history in dwh: for a success,
 * the rows each task moved, the net revenue of the segments it published (from the
 * ClickHouse facts) and the watermark; for a failure, the task, its attempt and the first
 * line of its error. Telegram HTML, every value escaped. */
#include "orchestrate/run_message.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "io/clickhouse.h"
#include "io/pg.h"
#include "io/telegram.h"

static void esc(hdp_buf *b, const char *s)
{
    size_t n = strcspn(s, "\n"); /* first line only */
    if (n > 300)
        n = 300;
    tg_escape_html(b, s, n);
}

/* Net revenue of segments [lo, hi] in the facts, as text ("" when ClickHouse cannot say). */
static void published_revenue(const hdp_config *cfg, int64_t lo, int64_t hi, char *out, size_t n)
{
    out[0] = '\0';
    if (cfg->clickhouse_url[0] == '\0')
        return;
    hdp_err e;
    ch_limits lim = {.connect_timeout_ms = 2000, .timeout_ms = 10000, .max_tries = 1};
    ch_client *ch = ch_open(cfg->clickhouse_url, &lim, &e);
    if (ch == NULL)
        return;
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT sum(amount) FROM fact_order WHERE segment BETWEEN %" PRId64 " AND %" PRId64
             " FORMAT TabSeparated",
             lo, hi);
    hdp_buf r = HDP_BUF_INIT;
    int64_t cents;
    if (ch_query(ch, q, NULL, &r, &e) == HDP_OK && r.len &&
        decimal_parse(r.data, strcspn(r.data, "\n"), &cents) == 0)
        decimal_format(cents, out);
    (void)n;
    buf_free(&r);
    ch_close(ch);
}

int run_message(const hdp_config *cfg, PGconn *pg, int64_t run_id, double secs, hdp_buf *text,
                int *moved, hdp_err *e)
{
    *moved = 0;
    char id[24];
    snprintf(id, sizeof(id), "%" PRId64, run_id);
    const char *p[1] = {id};
    PGresult *run = pg_query(
        pg, "SELECT status, coalesce(error, ''), dag FROM ops.run WHERE run_id = $1", 1, p, e);
    if (run == NULL)
        return HDP_ERR;
    if (PQntuples(run) != 1) {
        PQclear(run);
        return hdp_fail(e, "run %s is not in ops.run", id);
    }
    PGresult *tasks = pg_query(pg,
                               "SELECT task, status, attempts, coalesce(rows, 0), segment_first, "
                               "segment_last, coalesce(error, '') FROM ops.task_run WHERE run_id "
                               "= $1 ORDER BY task_run_id",
                               1, p, e);
    PGresult *wm = pg_query(pg,
                            "SELECT segment, to_char(published_at AT TIME ZONE 'UTC', "
                            "'YYYY-MM-DD HH24:MI:SS') FROM ops.watermark ORDER BY id DESC LIMIT 1",
                            0, NULL, e);
    if (tasks == NULL || wm == NULL) {
        PQclear(run);
        PQclear(tasks);
        PQclear(wm);
        return HDP_ERR;
    }
    int ok = strcmp(PQgetvalue(run, 0, 0), "success") == 0;
    buf_printf(text, "<b>hdp: %s run %s %s</b> in %.1f s\n", PQgetvalue(run, 0, 2), id,
               ok ? "succeeded" : "FAILED", secs);
    if (!ok) {
        int shown = 0;
        for (int i = 0; i < PQntuples(tasks); i++)
            if (strcmp(PQgetvalue(tasks, i, 1), "failed") == 0) {
                buf_printf(text, "Task: %s (attempt %s)\nError: ", PQgetvalue(tasks, i, 0),
                           PQgetvalue(tasks, i, 2));
                esc(text,
                    PQgetvalue(tasks, i, 6)[0] ? PQgetvalue(tasks, i, 6) : PQgetvalue(run, 0, 1));
                shown = 1;
                break;
            }
        if (!shown) {
            buf_puts(text, "Error: ");
            esc(text, PQgetvalue(run, 0, 1));
        }
        buf_putc(text, '\n');
    } else {
        int64_t total = 0;
        hdp_buf parts = HDP_BUF_INIT;
        int64_t pub_lo = -1, pub_hi = -1;
        for (int i = 0; i < PQntuples(tasks); i++) {
            int64_t rows = strtoll(PQgetvalue(tasks, i, 3), NULL, 10);
            const char *task = PQgetvalue(tasks, i, 0);
            total += rows;
            if (rows)
                buf_printf(&parts, "%s%s %" PRId64, parts.len ? ", " : "", task, rows);
            if (strcmp(task, "publish") == 0 && !PQgetisnull(tasks, i, 4)) {
                pub_lo = strtoll(PQgetvalue(tasks, i, 4), NULL, 10);
                pub_hi = strtoll(PQgetvalue(tasks, i, 5), NULL, 10);
            }
        }
        *moved = total > 0 || pub_lo >= 0;
        buf_printf(text, "Rows: %" PRId64 "%s%s%s\n", total, parts.len ? " (" : "",
                   parts.len ? parts.data : "", parts.len ? ")" : "");
        if (pub_lo >= 0) {
            char rev[32];
            published_revenue(cfg, pub_lo, pub_hi, rev, sizeof(rev));
            buf_printf(text,
                       "Net revenue of the segments published (%" PRId64 "..%" PRId64 "): %s\n",
                       pub_lo, pub_hi, rev[0] ? rev : "(ClickHouse did not say)");
        }
        buf_free(&parts);
    }
    if (PQntuples(wm) == 1)
        buf_printf(text, "Watermark: segment %s (published %s UTC)", PQgetvalue(wm, 0, 0),
                   PQgetvalue(wm, 0, 1));
    else
        buf_puts(text, "Watermark: none published yet");
    PQclear(run);
    PQclear(tasks);
    PQclear(wm);
    return HDP_OK;
}
