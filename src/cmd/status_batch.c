/* status_batch.c — the batch layer's part of `hdp status`: the last run of each task and the
 * last runs (dwh.ops.run, ops.task_run), and the lake's compaction progress per table
 * (_state/compact/<table>.json), with the reason a table is stopped. Each appends to a JSON
 * document and to the text report, and counts what needs an operator's attention. */
#include "cmd/status.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/lake.h"
#include "lake/lake_conf.h"
#include "io/pg.h"
#include "lake/lake_state.h"
#include "lake/schema.h"

/* Appends a value of a result as a JSON string, or null. */
static void put_cell(hdp_buf *b, PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        buf_puts(b, "null");
    else
        buf_put_json_str(b, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

static const char *cell(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

void status_batch(const hdp_config *cfg, hdp_buf *json, hdp_buf *text, int *problems)
{
    hdp_err e;
    PGconn *c = NULL;
    buf_puts(json, "\"batch\": {");
    if (pg_open(&c, cfg->dwh_dsn, NULL, NULL, &e) != HDP_OK) {
        buf_puts(json, "\"tasks\": null, \"runs\": null, \"error\": ");
        buf_put_json_str(json, e.msg, strlen(e.msg));
        buf_puts(json, "}");
        buf_printf(text, "\nbatch: dwh unreachable: %s\n", e.msg);
        return;
    }
    PGresult *r =
        pg_query(c,
                 "SELECT DISTINCT ON (task) task, status, attempts, "
                 "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                 " to_char(finished_at AT TIME ZONE 'UTC', "
                 "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), summary, error, run_id "
                 "FROM ops.task_run ORDER BY task, started_at DESC, task_run_id DESC",
                 0, NULL, &e);
    buf_puts(json, "\"tasks\": {");
    buf_puts(text, "\ntask      last run  status   finished             detail\n");
    for (int i = 0; r && i < PQntuples(r); i++) {
        buf_printf(json, "%s\"%s\": {\"status\": ", i ? ", " : "", cell(r, i, 0));
        put_cell(json, r, i, 1);
        buf_printf(json, ", \"attempts\": %s, \"started_at\": ", cell(r, i, 2));
        put_cell(json, r, i, 3);
        buf_puts(json, ", \"finished_at\": ");
        put_cell(json, r, i, 4);
        buf_puts(json, ", \"summary\": ");
        put_cell(json, r, i, 5);
        buf_puts(json, ", \"error\": ");
        put_cell(json, r, i, 6);
        buf_printf(json, ", \"run_id\": %s}", cell(r, i, 7));
        int failed = strcmp(cell(r, i, 1), "failed") == 0;
        *problems += failed;
        buf_printf(text, "%-9s %-9s %-8s %-20s %s\n", cell(r, i, 0), cell(r, i, 7),
                   failed ? "FAILED" : cell(r, i, 1), cell(r, i, 4),
                   failed ? cell(r, i, 6) : cell(r, i, 5));
    }
    if (r == NULL)
        buf_printf(text, "(no run history: %s)\n", e.msg);
    PQclear(r);
    buf_puts(json, "}, \"runs\": [");
    r = pg_query(c,
                 "SELECT run_id, dag, trigger, status, "
                 "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                 "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), error "
                 "FROM ops.run ORDER BY run_id DESC LIMIT 5",
                 0, NULL, &e);
    if (r && PQntuples(r))
        buf_puts(text, "\nrun   dag       trigger    status   started              error\n");
    for (int i = 0; r && i < PQntuples(r); i++) {
        buf_printf(json, "%s{\"id\": %s, \"dag\": ", i ? ", " : "", cell(r, i, 0));
        put_cell(json, r, i, 1);
        buf_puts(json, ", \"trigger\": ");
        put_cell(json, r, i, 2);
        buf_puts(json, ", \"status\": ");
        put_cell(json, r, i, 3);
        buf_puts(json, ", \"started_at\": ");
        put_cell(json, r, i, 4);
        buf_puts(json, ", \"finished_at\": ");
        put_cell(json, r, i, 5);
        buf_puts(json, ", \"error\": ");
        put_cell(json, r, i, 6);
        buf_putc(json, '}');
        buf_printf(text, "%-5s %-9s %-10s %-8s %-20s %s\n", cell(r, i, 0), cell(r, i, 1),
                   cell(r, i, 2), cell(r, i, 3), cell(r, i, 4), cell(r, i, 6));
    }
    PQclear(r);
    buf_puts(json, "]}");
    PQfinish(c);
}

void status_lake(const hdp_config *cfg, hdp_buf *json, hdp_buf *text, int *problems)
{
    hdp_err e;
    hdp_lake *lk = lake_open_config(cfg, &e);
    int64_t closed = -1, frontier = -1;
    int rc = lk ? capture_closed_segment(lk, &closed, &e) : HDP_ERR;
    if (rc == HDP_OK)
        rc = compact_frontier(lk, &frontier, &e);
    buf_puts(json, "\"lake\": {\"url\": ");
    const char *desc = lake_describe(lk);
    buf_put_json_str(json, desc, strlen(desc));
    if (rc != HDP_OK) {
        buf_puts(json, ", \"error\": ");
        buf_put_json_str(json, e.msg, strlen(e.msg));
        buf_puts(json, "}");
        buf_printf(text, "\nlake %s: %s\n", desc, e.msg);
        (*problems)++;
        lake_close(lk);
        return;
    }
    buf_printf(json, ", \"closed_segment\": %" PRId64 ", \"frontier\": %" PRId64 ", \"tables\": {",
               closed, frontier);
    buf_printf(text,
               "\nlake %s: segments closed through %" PRId64
               ", compacted for every table through %" PRId64 "\n",
               desc, closed, frontier);
    size_t n;
    const sch_table *t = sch_tables(&n);
    for (size_t i = 0; i < n; i++) {
        compact_state st;
        if (compact_state_load(lk, t[i].name, &st, &e) != HDP_OK) {
            compact_state_free(&st);
            continue;
        }
        buf_printf(json,
                   "%s\"%s\": {\"complete_through\": %" PRId64 ", \"rows\": %" PRId64
                   ", \"quarantined\": %" PRId64 ", \"files\": %" PRId64 ", \"blocked\": ",
                   i ? ", " : "", t[i].name, st.complete_through, st.rows, st.quarantined,
                   st.files);
        if (st.blocked) {
            (*problems)++;
            buf_printf(json, "{\"segment\": %" PRId64 ", \"reason\": ", st.blocked_segment);
            buf_put_json_str(json, st.blocked_reason, strlen(st.blocked_reason));
            buf_puts(json, "}}");
            buf_printf(text, "  %-12s STOPPED at segment %" PRId64 ": %s\n", t[i].name,
                       st.blocked_segment, st.blocked_reason);
        } else {
            buf_puts(json, "null}");
            buf_printf(text,
                       "  %-12s complete through %" PRId64 ", %" PRId64 " row(s), %" PRId64
                       " quarantined\n",
                       t[i].name, st.complete_through, st.rows, st.quarantined);
        }
        compact_state_free(&st);
    }
    buf_puts(json, "}}");
    lake_close(lk);
}
