/* marts.c — `hdp run marts` (core/stage.h): the ClickHouse facts of every segment the vault
 * has completed and the marts have not (ops.progress), partition by partition.
 *
 * A partition (MARTS_PARTITION_SEGMENTS segments) is built whole: its fact rows stream from
 * PostgreSQL's COPY into the *_stage table, which ALTER TABLE ... REPLACE PARTITION swaps in
 * — so a re-run replaces what an earlier run wrote, and a crash leaves the old or the new
 * partition, never half of one. Only then does ops.progress('marts') move. Rows of segments
 * above the published W may be in ClickHouse before publish: the serving layer reads
 * segment <= W only, and a partition's rows for published segments never change (they are a
 * function of the vault, which only grows above them).
 *
 * --rebuild recomputes every partition the vault has data for and drops the ones it has none
 * for, as a Lambda batch layer recomputes its views from the master data. One run at a time:
 * a PostgreSQL advisory lock in dwh (a second run gets HDP_RETRY). */
#include "marts/marts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "io/clickhouse.h"
#include "io/pg.h"
#include "marts/marts_sql.h"

typedef struct marts {
    const hdp_config *cfg;
    int rebuild;
    PGconn *pg;
    ch_client *ch;
    int64_t build; /* this run's number from ops.marts_build, stamped on every row it writes */
} marts;

static int marts_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    marts *m = xcalloc(1, sizeof(*m));
    *ctx = m;
    m->cfg = cfg;
    m->rebuild = a->rebuild;
    if (cfg->clickhouse_url == NULL || cfg->clickhouse_url[0] == '\0')
        return HDP_OK; /* no ClickHouse configured: the marts are off (each run says so) */
    m->ch = ch_open(cfg->clickhouse_url, NULL, e);
    return m->ch ? HDP_OK : HDP_ERR;
}

/* ------------------------------------------------------------------ dwh */

static int dwh_i64(marts *m, const char *sql, int64_t def, int64_t *out, hdp_err *e)
{
    PGresult *r = pg_query(m->pg, sql, 0, NULL, e);
    if (r == NULL)
        return pg_conn_lost(m->pg) ? HDP_RETRY : HDP_ERR;
    *out = PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : def;
    PQclear(r);
    return HDP_OK;
}

/* The partitions (segment / MARTS_PARTITION_SEGMENTS) with vault versions in [lo, hi]. */
static int vault_partitions(marts *m, int64_t lo, int64_t hi, int64_t **out, size_t *n, hdp_err *e)
{
    hdp_buf q = HDP_BUF_INIT;
    marts_sql_partitions(&q, lo, hi);
    PGresult *r = pg_query(m->pg, q.data, 0, NULL, e);
    buf_free(&q);
    if (r == NULL)
        return pg_conn_lost(m->pg) ? HDP_RETRY : HDP_ERR;
    *n = (size_t)PQntuples(r);
    *out = xmalloc((*n ? *n : 1) * sizeof(**out));
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
    PQclear(r);
    return HDP_OK;
}

/* ------------------------------------------------------------------ COPY -> ClickHouse */

/* The body of one insert: rows of a running COPY ... TO STDOUT, a megabyte at a time. */
typedef struct copy_src {
    PGconn *pg;
    int64_t rows;
} copy_src;

static int copy_body(void *ctx, hdp_buf *out, int *done, hdp_err *e)
{
    copy_src *s = ctx;
    while (out->len < (1u << 20)) {
        char *row = NULL;
        int n = PQgetCopyData(s->pg, &row, 0);
        if (n > 0) {
            buf_append(out, row, (size_t)n);
            PQfreemem(row);
            s->rows++;
            continue;
        }
        if (n == -2)
            return hdp_retry(e, "dwh COPY: %s", PQerrorMessage(s->pg));
        int rc = HDP_OK;
        PGresult *r;
        while ((r = PQgetResult(s->pg)) != NULL) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == HDP_OK)
                rc = hdp_fail(e, "dwh COPY: %s", PQresultErrorMessage(r));
            PQclear(r);
        }
        *done = 1;
        return rc;
    }
    return HDP_OK;
}

/* Streams the rows of copy_sql from dwh into ClickHouse table `stage`. */
static int copy_into(marts *m, const char *copy_sql, const char *stage, int64_t *rows, hdp_err *e)
{
    PGresult *r = PQexec(m->pg, copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        int rc = pg_conn_lost(m->pg) ? HDP_RETRY : HDP_ERR;
        hdp_fail(e, "dwh: %s", PQresultErrorMessage(r));
        PQclear(r);
        return rc;
    }
    PQclear(r);
    char ins[128];
    snprintf(ins, sizeof(ins), "INSERT INTO %s FORMAT TabSeparated", stage);
    copy_src src = {m->pg, 0};
    int rc = ch_insert(m->ch, ins, NULL, copy_body, &src, e);
    *rows = src.rows;
    if (rc != HDP_OK) { /* the COPY may be running still: the session is dropped (reset) */
        PQfinish(m->pg);
        m->pg = NULL;
    }
    return rc;
}

/* Builds partition p (its segments up to `through`) into the stage tables and swaps it in. */
static int build_partition(marts *m, int64_t p, int64_t through, int64_t *orders, int64_t *lines,
                           hdp_err *e)
{
    int64_t lo = p * MARTS_PARTITION_SEGMENTS, hi = lo + MARTS_PARTITION_SEGMENTS - 1;
    if (hi > through)
        hi = through;
    ch_call idem = {.idempotent = 1};
    int rc = ch_exec(m->ch, "TRUNCATE TABLE fact_order_stage", &idem, e);
    if (rc == HDP_OK)
        rc = ch_exec(m->ch, "TRUNCATE TABLE fact_order_line_stage", &idem, e);
    hdp_buf q = HDP_BUF_INIT;
    if (rc == HDP_OK) {
        marts_sql_net(&q, lo, hi);
        if (pg_exec_script(m->pg, q.data, e) != HDP_OK)
            rc = pg_conn_lost(m->pg) ? HDP_RETRY : HDP_ERR;
    }
    if (rc == HDP_OK) {
        buf_reset(&q);
        marts_sql_orders(&q, m->build);
        rc = copy_into(m, q.data, "fact_order_stage", orders, e);
    }
    if (rc == HDP_OK) {
        buf_reset(&q);
        marts_sql_lines(&q, m->build);
        rc = copy_into(m, q.data, "fact_order_line_stage", lines, e);
    }
    buf_free(&q);
    char sql[160];
    if (rc == HDP_OK) {
        snprintf(sql, sizeof(sql),
                 "ALTER TABLE fact_order REPLACE PARTITION %" PRId64 " FROM fact_order_stage", p);
        rc = ch_exec(m->ch, sql, &idem, e);
    }
    if (rc == HDP_OK) {
        snprintf(sql, sizeof(sql),
                 "ALTER TABLE fact_order_line REPLACE PARTITION %" PRId64
                 " FROM fact_order_line_stage",
                 p);
        rc = ch_exec(m->ch, sql, &idem, e);
    }
    return rc;
}

/* Swaps in, alone, the newest build of `table`'s partition p: what a hard restart of
 * ClickHouse brought back of older builds goes away (readers skip it meanwhile). */
static int heal_partition(marts *m, const char *table, int64_t p, int64_t build, hdp_err *e)
{
    ch_call idem = {.idempotent = 1};
    char sql[320];
    snprintf(sql, sizeof(sql), "TRUNCATE TABLE %s_stage", table);
    int rc = ch_exec(m->ch, sql, &idem, e);
    if (rc == HDP_OK) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s_stage SELECT * FROM %s WHERE intDiv(segment, %d) = %" PRId64
                 " AND build = %" PRId64,
                 table, table, MARTS_PARTITION_SEGMENTS, p, build);
        rc = ch_exec(m->ch, sql, &idem, e); /* into a truncated stage: repeatable */
    }
    if (rc == HDP_OK) {
        snprintf(sql, sizeof(sql), "ALTER TABLE %s REPLACE PARTITION %" PRId64 " FROM %s_stage",
                 table, p, table);
        rc = ch_exec(m->ch, sql, &idem, e);
    }
    return rc;
}

/* Finds the partitions of both fact tables that hold more than one build and heals each. */
static int heal(marts *m, int64_t *healed, hdp_err *e)
{
    static const char *const tables[] = {"fact_order", "fact_order_line"};
    int rc = HDP_OK;
    for (size_t t = 0; rc == HDP_OK && t < 2; t++) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT intDiv(segment, %d) AS p, max(build) FROM %s GROUP BY p HAVING "
                 "uniqExact(build) > 1 FORMAT TabSeparated",
                 MARTS_PARTITION_SEGMENTS, tables[t]);
        hdp_buf out = HDP_BUF_INIT;
        rc = ch_query(m->ch, sql, NULL, &out, e);
        for (const char *p = out.data; rc == HDP_OK && p && *p;) {
            char *tab = NULL;
            int64_t part = strtoll(p, &tab, 10);
            int64_t build = tab && *tab == '\t' ? strtoll(tab + 1, NULL, 10) : -1;
            const char *nl = strchr(p, '\n');
            p = nl ? nl + 1 : p + strlen(p);
            if (build < 0)
                continue;
            log_warn("marts: %s partition %" PRId64 " holds older builds than %" PRId64
                     " (ClickHouse restarted hard?): swapping in the newest alone",
                     tables[t], part, build);
            rc = heal_partition(m, tables[t], part, build, e);
            (*healed)++;
        }
        buf_free(&out);
    }
    return rc;
}

/* --rebuild: ClickHouse partitions the vault has nothing for are dropped. */
static int drop_strays(marts *m, const int64_t *keep, size_t nkeep, int64_t *dropped, hdp_err *e)
{
    hdp_buf out = HDP_BUF_INIT;
    int rc = ch_query(m->ch,
                      "SELECT DISTINCT partition FROM system.parts WHERE database = "
                      "currentDatabase() AND table IN ('fact_order', 'fact_order_line') AND "
                      "active FORMAT TabSeparated",
                      NULL, &out, e);
    ch_call idem = {.idempotent = 1};
    for (const char *p = out.data; rc == HDP_OK && p && *p;) {
        const char *nl = strchr(p, '\n');
        int64_t part = strtoll(p, NULL, 10);
        p = nl ? nl + 1 : p + strlen(p);
        int wanted = 0;
        for (size_t i = 0; i < nkeep && !wanted; i++)
            wanted = keep[i] == part;
        if (wanted)
            continue;
        char sql[128];
        snprintf(sql, sizeof(sql), "ALTER TABLE fact_order DROP PARTITION %" PRId64, part);
        rc = ch_exec(m->ch, sql, &idem, e);
        if (rc == HDP_OK) {
            snprintf(sql, sizeof(sql), "ALTER TABLE fact_order_line DROP PARTITION %" PRId64, part);
            rc = ch_exec(m->ch, sql, &idem, e);
        }
        (*dropped)++;
    }
    buf_free(&out);
    return rc;
}

/* ------------------------------------------------------------------ the stage */

static int lock(marts *m, int take, int *got, hdp_err *e)
{
    PGresult *r = pg_query(m->pg,
                           take ? "SELECT pg_try_advisory_lock(hashtextextended('hdp.marts', 0))"
                                : "SELECT pg_advisory_unlock(hashtextextended('hdp.marts', 0))",
                           0, NULL, e);
    if (r == NULL)
        return pg_conn_lost(m->pg) ? HDP_RETRY : HDP_ERR;
    *got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return HDP_OK;
}

/* The fact queries sort and hash the versions of a partition's orders and lines (millions of
 * rows): with the default 4 MB of work_mem each spills to disk in batches, and compiling
 * their expressions (JIT) did not pay for itself. Both together, measured on a vault of
 * 1,100,000 orders: 70-76 s -> 55-59 s. */
static int tune_session(marts *m, hdp_err *e)
{
    static const char sql[] = "SET application_name = 'hdp marts'; SET work_mem = '256MB';"
                              " SET jit = off";
    if (pg_exec_script(m->pg, sql, e) != HDP_OK)
        return pg_conn_lost(m->pg) ? HDP_RETRY : HDP_ERR;
    return HDP_OK;
}

static int marts_run(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    marts *m = ctx;
    if (m->ch == NULL) {
        snprintf(r->summary, sizeof(r->summary),
                 "marts: off (HDP_CLICKHOUSE_URL is empty): the batch watermark stays where it is");
        return HDP_OK;
    }
    /* ClickHouse is asked first, also when nothing is new: its batch views are what this
     * task keeps, and a run should say so when they are away. */
    char version[64];
    int rc = ch_server_version(m->ch, version, sizeof(version), e);
    if (rc == HDP_OK && m->pg == NULL) {
        rc = pg_open(&m->pg, m->cfg->dwh_dsn, NULL, NULL, e);
        if (rc == HDP_OK)
            rc = tune_session(m, e);
    }
    int got = 0;
    if (rc == HDP_OK)
        rc = lock(m, 1, &got, e);
    if (rc == HDP_OK && !got)
        return hdp_retry(e, "another marts run is running");
    if (rc != HDP_OK)
        return rc;
    int64_t t0 = mono_us();
    int64_t vault = -1, done = -1;
    rc =
        dwh_i64(m, "SELECT through_segment FROM ops.progress WHERE stage = 'vault'", -1, &vault, e);
    if (rc == HDP_OK)
        rc = dwh_i64(m, "SELECT through_segment FROM ops.progress WHERE stage = 'marts'", -1, &done,
                     e);
    int64_t lo = m->rebuild || done < 0 ? 0 : done + 1;
    int64_t *parts = NULL, orders = 0, lines = 0, dropped = 0, healed = 0;
    size_t nparts = 0, built = 0;
    if (rc == HDP_OK)
        rc = dwh_i64(m, "SELECT nextval('ops.marts_build')", 0, &m->build, e);
    if (rc == HDP_OK && vault >= lo)
        rc = vault_partitions(m, lo, vault, &parts, &nparts, e);
    if (rc == HDP_OK && m->rebuild)
        rc = drop_strays(m, parts, nparts, &dropped, e);
    for (size_t i = 0; rc == HDP_OK && i < nparts; i++) {
        if (*cancel) {
            rc = hdp_retry(e, "interrupted after %zu of %zu partition(s)", built, nparts);
            break;
        }
        int64_t o = 0, l = 0;
        rc = build_partition(m, parts[i], vault, &o, &l, e);
        orders += o;
        lines += l;
        built += rc == HDP_OK;
        if (rc == HDP_OK)
            log_debug("marts: partition %" PRId64 ": %" PRId64 " order and %" PRId64
                      " line fact(s)",
                      parts[i], o, l);
    }
    if (rc == HDP_OK)
        rc = heal(m, &healed, e);
    if (rc == HDP_OK && vault >= 0 && (vault > done || m->rebuild)) {
        char v[24];
        snprintf(v, sizeof(v), "%" PRId64, vault);
        const char *p[1] = {v};
        PGresult *u = pg_query(m->pg,
                               "INSERT INTO ops.progress (stage, through_segment) VALUES "
                               "('marts', $1) ON CONFLICT (stage) DO UPDATE SET through_segment "
                               "= EXCLUDED.through_segment, updated_at = clock_timestamp()",
                               1, p, e);
        if (u == NULL)
            rc = HDP_RETRY;
        PQclear(u);
    }
    double secs = (double)(mono_us() - t0) / 1e6;
    r->rows = orders + lines;
    r->moved = built > 0;
    int64_t first = nparts ? parts[0] * MARTS_PARTITION_SEGMENTS : lo;
    if (first < lo && !m->rebuild)
        first = lo; /* the partition's older segments were rebuilt, unchanged */
    r->seg_first = built ? first : -1;
    r->seg_last = built ? vault : -1;
    snprintf(r->summary, sizeof(r->summary),
             "marts: %zu partition(s)%s, segments %" PRId64 "..%" PRId64 ", %" PRId64
             " order fact(s), %" PRId64 " line fact(s), %" PRId64
             " stray partition(s) dropped, %" PRId64 " healed, %.2f s, %.0f fact rows/s%s",
             built, m->rebuild ? " rebuilt" : "", built ? first : 0, built ? vault : 0, orders,
             lines, dropped, healed, secs, secs > 0 ? (double)(orders + lines) / secs : 0,
             rc == HDP_OK ? "" : " (failed)");
    free(parts);
    if (m->pg) {
        int unlocked = 0;
        hdp_err ignored;
        lock(m, 0, &unlocked, &ignored);
    }
    return rc;
}

static void marts_reset(void *ctx)
{
    marts *m = ctx;
    if (m->pg)
        PQfinish(m->pg);
    m->pg = NULL;
}

static void marts_close(void *ctx)
{
    marts *m = ctx;
    marts_reset(m);
    ch_close(m->ch);
    free(m);
}

const hdp_stage marts_stage = {
    .name = "marts",
    .description = "Data Vault -> ClickHouse facts (fact_order, fact_order_line), by partition",
    .kind = STAGE_BATCH,
    .init = marts_init,
    .run = marts_run,
    .reset = marts_reset,
    .close = marts_close,
};
