#include "serve/ops_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/cdc.h"
#include "io/pg.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static int failed(PGconn *c)
{
    return pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
}

/* Appends the single text value of a one-row, one-column result. */
static int append_one(PGconn *c, const char *sql, int n, const char *const *p, hdp_buf *out,
                      hdp_err *e)
{
    PGresult *r = pg_query(c, sql, n, p, e);
    if (r == NULL)
        return failed(c);
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        buf_append(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    else
        buf_puts(out, "null");
    PQclear(r);
    return HDP_OK;
}

int ops_runs_json(PGconn *c, int limit, hdp_buf *body, hdp_err *e)
{
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *p[1] = {lim};
    buf_puts(body, "{\"runs\":");
    int rc = append_one(
        c,
        "SELECT coalesce(json_agg(json_build_object('id', r.run_id, 'dag', r.dag, 'trigger', "
        "r.trigger, 'status', r.status, 'started_at', " TS("r.started_at") ", 'finished_at', " TS(
            "r.finished_at") ", 'error', r.error, 'tasks', (SELECT coalesce(json_agg("
                             "json_build_object('task', t.task, 'status', t.status, 'attempts', "
                             "t.attempts, "
                             "'started_at', " TS("t.started_at") ", 'finished_at', " TS(
                                 "t.finished_at") ", "
                                                  "'rows', t.rows, 'bytes', t.bytes, "
                                                  "'quarantined', t.quarantined, 'segment_first', "
                                                  "t.segment_first, 'segment_last', "
                                                  "t.segment_last, 'summary', t.summary, 'error', "
                                                  "t.error) ORDER BY t.task_run_id), '[]'::json) "
                                                  "FROM ops.task_run t WHERE t.run_id = "
                                                  "r.run_id)) ORDER BY r.started_at DESC, r.run_id "
                                                  "DESC), '[]'::json) FROM (SELECT * "
                                                  "FROM ops.run ORDER BY started_at DESC, run_id "
                                                  "DESC LIMIT $1) r",
        1, p, body, e);
    buf_putc(body, '}');
    return rc;
}

int ops_request_run(PGconn *c, const char *by, int64_t *id, hdp_err *e)
{
    const char *p[1] = {by};
    PGresult *r =
        pg_query(c, "INSERT INTO ops.run_request (requested_by) VALUES ($1) RETURNING id", 1, p, e);
    if (r == NULL)
        return failed(c);
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return HDP_OK;
}

/* ------------------------------------------------------------------ metrics */

typedef struct metric_def {
    const char *name, *type, *help;
} metric_def;

/* Every series the query below returns, in the order it returns them. */
static const metric_def metric_defs[] = {
    {"hdp_batch_watermark_segment", "gauge",
     "The batch watermark W: every segment <= W is served from the batch views (-1: none yet)."},
    {"hdp_batch_watermark_published_timestamp_seconds", "gauge",
     "When W was last advanced (Unix seconds; 0: never, so a stale-watermark alert fires)."},
    {"hdp_task_last_success_timestamp_seconds", "gauge",
     "When each batch task last finished successfully (Unix seconds)."},
    {"hdp_task_last_duration_seconds", "gauge", "Duration of each task's last finished run."},
    {"hdp_task_last_rows", "gauge", "Rows each task's last finished run moved."},
    {"hdp_task_failures_total", "counter", "Failed task runs, by task."},
    {"hdp_runs_total", "counter", "Pipeline runs by final status (running: not finished)."},
    {"hdp_notifications", "gauge", "Telegram notifications in the outbox, by status."},
    {"hdp_lake_tables_blocked", "gauge",
     "Lake tables whose compaction stopped at an object that disagrees with its marker."},
    {"hdp_batch_quarantined_total", "counter",
     "Records the batch layer quarantined, by stage (compact, vault)."},
};

/* Rows (metric index, label name, label value, value): one query for a scrape. $1 is the
 * batch tasks as a text array, so each has its failure counter from 0. */
static const char metrics_sql[] =
    "WITH tasks AS (SELECT unnest($1::text[]) AS task),"
    " last_ok AS (SELECT task, max(finished_at) AS at FROM ops.task_run WHERE status = "
    "'success' GROUP BY task),"
    " last_done AS (SELECT DISTINCT ON (task) task, extract(epoch FROM finished_at - "
    "started_at) AS secs, rows FROM ops.task_run WHERE finished_at IS NOT NULL ORDER BY task, "
    "finished_at DESC, task_run_id DESC),"
    " fails AS (SELECT task, count(*) AS n FROM ops.task_run WHERE status = 'failed' GROUP BY "
    "task),"
    " names AS (SELECT task FROM tasks UNION SELECT task FROM ops.task_run)"
    " , w AS (SELECT segment, published_at FROM ops.watermark ORDER BY id DESC LIMIT 1)"
    " SELECT 0, '', '', coalesce((SELECT segment FROM w), -1)::text"
    " UNION ALL SELECT 1, '', '', coalesce((SELECT extract(epoch FROM published_at) FROM w), "
    "0)::text"
    " UNION ALL SELECT 2, 'task', task, extract(epoch FROM at)::text FROM last_ok"
    " UNION ALL SELECT 3, 'task', task, secs::text FROM last_done"
    " UNION ALL SELECT 4, 'task', task, coalesce(rows, 0)::text FROM last_done"
    " UNION ALL SELECT 5, 'task', n.task, coalesce(f.n, 0)::text FROM names n LEFT JOIN fails f "
    "USING (task)"
    " UNION ALL SELECT 6, 'status', s, (SELECT count(*) FROM ops.run WHERE status = s)::text "
    "FROM unnest(ARRAY['success', 'failed', 'running']) s"
    " UNION ALL SELECT 7, 'status', s, (SELECT count(*) FROM ops.notification WHERE status = "
    "s)::text FROM unnest(ARRAY['pending', 'sent', 'dropped']) s"
    " UNION ALL SELECT 8, '', '', (SELECT count(*) FROM ops.lake_table WHERE blocked_segment "
    "IS NOT NULL)::text"
    " UNION ALL SELECT 9, 'stage', 'compact', (SELECT coalesce(sum(quarantined), 0) FROM "
    "ops.lake_table)::text"
    " UNION ALL SELECT 9, 'stage', 'vault', (SELECT count(*) FROM ops.quarantine)::text"
    " ORDER BY 1, 3";

/* '{"compact","vault"}' from a NULL-terminated list of plain names. */
static void text_array(hdp_buf *b, const char *const *names)
{
    buf_putc(b, '{');
    for (size_t i = 0; names[i] != NULL; i++)
        buf_printf(b, "%s\"%s\"", i ? "," : "", names[i]);
    buf_putc(b, '}');
}

/* A label value as the exposition format wants it: backslash, quote and newline escaped. */
static void put_label(hdp_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_putc(b, '\\');
        if (*v == '\n') {
            buf_puts(b, "\\n");
            continue;
        }
        buf_putc(b, *v);
    }
}

int ops_metrics(PGconn *c, const char *const *batch_tasks, hdp_buf *out, hdp_err *e)
{
    hdp_buf arr = HDP_BUF_INIT;
    text_array(&arr, batch_tasks);
    const char *p[1] = {arr.data};
    PGresult *r = pg_query(c, metrics_sql, 1, p, e);
    buf_free(&arr);
    if (r == NULL)
        return failed(c);
    int last = -1;
    for (int i = 0; i < PQntuples(r); i++) {
        int m = atoi(PQgetvalue(r, i, 0));
        if (m < 0 || m >= (int)(sizeof(metric_defs) / sizeof(metric_defs[0])))
            continue;
        const metric_def *d = &metric_defs[m];
        if (m != last)
            buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name, d->type);
        last = m;
        buf_puts(out, d->name);
        const char *label = PQgetvalue(r, i, 1);
        if (label[0] != '\0') {
            buf_printf(out, "{%s=\"", label);
            put_label(out, PQgetvalue(r, i, 2));
            buf_puts(out, "\"}");
        }
        buf_printf(out, " %s\n", PQgetisnull(r, i, 3) ? "NaN" : PQgetvalue(r, i, 3));
    }
    PQclear(r);
    return HDP_OK;
}

/* ------------------------------------------------------------------ pipeline status */

int ops_status_json(PGconn *c, long segment_seconds, hdp_buf *out, long long *q_compact,
                    long long *q_vault, hdp_err *e)
{
    char ss[24];
    snprintf(ss, sizeof(ss), "%ld", segment_seconds > 0 ? segment_seconds : 1);
    const char *p[1] = {ss};
    buf_puts(out, "\"watermark\":");
    int rc =
        append_one(c,
                   "SELECT json_build_object('segment', w.segment, 'published_at', " TS(
                       "w.published_at") ", 'age_seconds', round(extract(epoch FROM "
                                         "clock_timestamp() - w.published_at)::numeric,"
                                         " 3), 'covers_until', CASE WHEN w.segment IS NULL THEN "
                                         "NULL ELSE " TS("to_timestamp((w.segment + 1) * "
                                                         "$1::bigint)") " END) FROM (SELECT 1) one "
                                                                        "LEFT JOIN "
                                                                        "LATERAL (SELECT * FROM "
                                                                        "ops.watermark ORDER BY id "
                                                                        "DESC LIMIT 1) w ON true",
                   1, p, out, e);
    if (rc != HDP_OK)
        return rc;
    PGresult *q = pg_query(c,
                           "SELECT (SELECT coalesce(sum(quarantined), 0) FROM ops.lake_table), "
                           "(SELECT count(*) FROM ops.quarantine)",
                           0, NULL, e);
    if (q == NULL)
        return failed(c);
    *q_compact = strtoll(PQgetvalue(q, 0, 0), NULL, 10);
    *q_vault = strtoll(PQgetvalue(q, 0, 1), NULL, 10);
    PQclear(q);
    buf_puts(out, ",\"lake\":");
    return append_one(c,
                      "SELECT coalesce(json_agg(json_build_object('table', table_name, "
                      "'complete_through', complete_through, 'rows', rows, 'quarantined', "
                      "quarantined, 'blocked', CASE WHEN blocked_segment IS NULL THEN NULL "
                      "ELSE json_build_object('segment', blocked_segment, 'reason', "
                      "blocked_reason) END) ORDER BY table_name), '[]'::json) FROM "
                      "ops.lake_table",
                      0, NULL, out, e);
}

int ops_slots_json(PGconn *c, hdp_buf *out, hdp_err *e)
{
    const char *p[2] = {CDC_SLOT_LAKE, CDC_SLOT_SPEED};
    return append_one(
        c,
        "SELECT coalesce(json_agg(json_build_object('slot', slot_name, 'consumer', CASE "
        "slot_name WHEN $1 THEN 'capture' ELSE 'speed' END, 'active', active, 'lag_bytes', "
        "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint) "
        "ORDER BY slot_name), '[]'::json) FROM pg_replication_slots WHERE slot_name IN ($1, $2)",
        2, p, out, e);
}
