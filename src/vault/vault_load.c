#include "vault/vault_load.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_state.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "format/copytext.h"
#include "io/lake.h"
#include "lake/lake_conf.h"
#include "io/pg.h"
#include "io/pg_copier.h"

#define VAULT_LOCK_KEY "7233011"  /* pg_try_advisory_xact_lock: one vault load at a time */
#define FLUSH_BYTES    (2u << 20) /* COPY a staging buffer once it holds this much */
#define STAGE_ROWS     8192u      /* rows of a row group staged between flushes */

/* ------------------------------------------------------------------ the SQL */

static const char STAGING_DDL[] =
    "CREATE TEMP TABLE stg_hub_customer (hk bytea, customer_id bigint, load_dts timestamptz, "
    "record_source text)"
    " ON COMMIT DROP;"
    "CREATE TEMP TABLE stg_hub_product (hk bytea, product_id bigint, load_dts timestamptz, "
    "record_source text)"
    " ON COMMIT DROP;"
    "CREATE TEMP TABLE stg_hub_order (hk bytea, order_id bigint, load_dts timestamptz, "
    "record_source text)"
    " ON COMMIT DROP;"
    "CREATE TEMP TABLE stg_link_order_customer (hk bytea, hk_order bytea, hk_customer bytea,"
    " load_dts timestamptz, record_source text) ON COMMIT DROP;"
    "CREATE TEMP TABLE stg_link_order_product (hk bytea, hk_order bytea, hk_product bytea,"
    " line_no int, load_dts timestamptz, record_source text) ON COMMIT DROP;"
    "CREATE TEMP TABLE stg_sat_customer (hk bytea, load_dts timestamptz, hashdiff bytea,"
    " name text, email text, city text, country text, is_deleted boolean, lsn bigint, seq int,"
    " segment bigint, first boolean) ON COMMIT DROP;"
    "CREATE TEMP TABLE stg_sat_product (hk bytea, load_dts timestamptz, hashdiff bytea,"
    " sku text, name text, category text, price numeric(12,2), is_deleted boolean, lsn bigint,"
    " seq int, segment bigint, first boolean) ON COMMIT DROP;"
    "CREATE TEMP TABLE stg_sat_order (hk bytea, load_dts timestamptz, hashdiff bytea,"
    " status text, total numeric(12,2), currency text, ship_city text, created_at timestamptz,"
    " paid_at timestamptz, refunded_at timestamptz, is_deleted boolean, lsn bigint, seq int,"
    " segment bigint, first boolean) ON COMMIT DROP;"
    "CREATE TEMP TABLE stg_sat_order_line (hk bytea, load_dts timestamptz, hashdiff bytea,"
    " quantity int, unit_price numeric(12,2), is_deleted boolean, lsn bigint, seq int,"
    " segment bigint, first boolean) ON COMMIT DROP;";

/* One vault target: where its staging rows go and with which columns. */
typedef struct target {
    const char *stg, *table, *hk; /* staging table, vault table, its hash key column */
    const char *cols;             /* vault columns after the hash key (and load_dts, hashdiff) */
    const char *stg_cols;         /* the same, from staging */
    const char *source;           /* record_source */
    const char *pit;              /* PIT table rebuilt from a satellite, or NULL */
} target;

static const target targets[VS_QUARANTINE] = {
    [VS_HUB_CUSTOMER] = {"stg_hub_customer", "vault.hub_customer", "hk_customer", "customer_id",
                         "customer_id", "shop.customers", NULL},
    [VS_HUB_PRODUCT] = {"stg_hub_product", "vault.hub_product", "hk_product", "product_id",
                        "product_id", "shop.products", NULL},
    [VS_HUB_ORDER] = {"stg_hub_order", "vault.hub_order", "hk_order", "order_id", "order_id",
                      "shop.orders", NULL},
    [VS_LINK_ORDER_CUSTOMER] = {"stg_link_order_customer", "vault.link_order_customer",
                                "hk_order_customer", "hk_order, hk_customer",
                                "hk_order, hk_customer", "shop.orders", NULL},
    [VS_LINK_ORDER_PRODUCT] = {"stg_link_order_product", "vault.link_order_product",
                               "hk_order_product", "hk_order, hk_product, line_no",
                               "hk_order, hk_product, line_no", "shop.order_items", NULL},
    [VS_SAT_CUSTOMER] = {"stg_sat_customer", "vault.sat_customer", "hk_customer",
                         "name, email, city, country", "name, email, city, country",
                         "shop.customers", "vault.pit_customer"},
    [VS_SAT_PRODUCT] = {"stg_sat_product", "vault.sat_product", "hk_product",
                        "sku, name, category, price", "sku, name, category, price", "shop.products",
                        NULL},
    [VS_SAT_ORDER] = {"stg_sat_order", "vault.sat_order", "hk_order",
                      "status, total, currency, ship_city, created_at, paid_at, refunded_at",
                      "status, total, currency, ship_city, created_at, paid_at, refunded_at",
                      "shop.orders", "vault.pit_order"},
    [VS_SAT_ORDER_LINE] = {"stg_sat_order_line", "vault.sat_order_line", "hk_order_product",
                           "quantity, unit_price", "quantity, unit_price", "shop.order_items",
                           NULL},
};

static int is_sat(int out)
{
    return out >= VS_SAT_CUSTOMER && out <= VS_SAT_ORDER_LINE;
}

/* Every statement below reads a vault table or inserts into it, never both: a statement that
 * probed the table it fills would scan its own growing, invisible heap when the planner
 * picked a sequential scan (an empty or freshly truncated table), which is quadratic. */

/* Hubs and links of a table that holds rows (else is_direct): staging keys are unique, and
 * those the vault holds already are skipped by its primary key. ON CONFLICT probes that
 * index whatever the planner would pick, so this is not the self-probing statement the rule
 * above forbids, and it spares an anti-join over the whole table that finds nothing in most
 * loads (100,000 orders into a million: 3.5 of 23 s). */
static void sql_insert_keys(hdp_buf *q, const target *t)
{
    buf_printf(q,
               "INSERT INTO %s (%s, %s, load_dts, record_source) "
               "SELECT s.hk, %s, s.load_dts, s.record_source FROM %s s ORDER BY s.hk "
               "ON CONFLICT (%s) DO NOTHING",
               t->table, t->hk, t->cols, t->stg_cols, t->stg, t->hk);
}

/* Satellites: a key's first staged row is dropped when its hashdiff equals the key's latest
 * row in the vault; every other staged row differs from its predecessor by construction. */
static void sql_drop_unchanged(hdp_buf *q, const target *t)
{
    buf_printf(q,
               "DELETE FROM %s s WHERE s.first AND s.hashdiff = (SELECT v.hashdiff FROM %s v "
               "WHERE v.%s = s.hk ORDER BY v.load_dts DESC LIMIT 1)",
               t->stg, t->table, t->hk);
}

static void sql_insert_sat(hdp_buf *q, const target *t)
{
    buf_printf(q,
               "INSERT INTO %s (%s, load_dts, hashdiff, %s, is_deleted, record_source, "
               "source_lsn, source_seq, source_segment) "
               "SELECT s.hk, s.load_dts, s.hashdiff, %s, s.is_deleted, '%s', s.lsn, s.seq, "
               "s.segment "
               "FROM %s s ORDER BY s.hk, s.load_dts",
               t->table, t->hk, t->cols, t->stg_cols, t->source, t->stg);
}

/* Two changes of one key in one transaction share a load_dts: keep the last of them, then
 * drop rows that no longer differ from their predecessor. Rare; only run when seen. */
static void sql_collapse_same_ts(hdp_buf *q, const target *t)
{
    buf_printf(q,
               "CREATE TEMP TABLE stg_fix ON COMMIT DROP AS SELECT DISTINCT ON (hk, load_dts) * "
               "FROM %s ORDER BY hk, load_dts, lsn DESC, seq DESC;"
               "TRUNCATE %s;"
               "INSERT INTO %s SELECT hk, load_dts, hashdiff, %s, is_deleted, lsn, seq, segment, "
               "rn = 1 "
               "FROM (SELECT *, lag(hashdiff) OVER w AS prev, row_number() OVER w AS rn "
               "FROM stg_fix WINDOW w AS (PARTITION BY hk ORDER BY load_dts)) x "
               "WHERE rn = 1 OR hashdiff IS DISTINCT FROM prev;"
               "DROP TABLE stg_fix;",
               t->stg, t->stg, t->stg, t->stg_cols);
}

/* Collapses two rows of one key with one load_dts in a satellite COPYed straight into (one
 * the load found empty, so every row is the load's): the statements of
 * sql_collapse_same_ts on the vault table, the last a counted INSERT. */
static void sql_collapse_same_ts_direct(hdp_buf *q, const target *t, int step)
{
    static const char cols_tail[] = "is_deleted, record_source, source_lsn, source_seq, "
                                    "source_segment";
    if (step == 0)
        buf_printf(q,
                   "CREATE TEMP TABLE stg_fix ON COMMIT DROP AS SELECT DISTINCT ON (%s, load_dts) *"
                   " FROM %s ORDER BY %s, load_dts, source_lsn DESC, source_seq DESC;"
                   "TRUNCATE %s",
                   t->hk, t->table, t->hk, t->table);
    else if (step == 1)
        buf_printf(q,
                   "INSERT INTO %s (%s, load_dts, hashdiff, %s, %s) "
                   "SELECT %s, load_dts, hashdiff, %s, %s FROM (SELECT *, lag(hashdiff) OVER w "
                   "AS prev, row_number() OVER w AS rn FROM stg_fix WINDOW w AS (PARTITION BY %s "
                   "ORDER BY load_dts)) x WHERE rn = 1 OR hashdiff IS DISTINCT FROM prev",
                   t->table, t->hk, t->cols, cols_tail, t->hk, t->cols, cols_tail, t->hk);
    else
        buf_puts(q, "DROP TABLE stg_fix");
}

/* The INSERT of the PIT intervals of the rows `v` of `from` (hash key column `hk`): each
 * row's interval ends at its key's next row, the last one's never. */
static void put_pit_insert(hdp_buf *q, const target *t, const char *from, const char *hk)
{
    const char *sat_col = strchr(t->table, '.') + 1; /* "sat_customer" */
    buf_printf(q,
               "INSERT INTO %s (%s, valid_from, valid_to, %s_ldts) "
               "SELECT v.%s, v.load_dts, COALESCE(lead(v.load_dts) OVER "
               "(PARTITION BY v.%s ORDER BY v.load_dts), 'infinity'), v.load_dts FROM %s",
               t->pit, t->hk, sat_col, hk, hk, from);
}

/* A PIT table rebuilt whole from its satellite: for a satellite the load found empty (so
 * every key is the load's) whose staged PIT rows a collapse made wrong. */
static void sql_rebuild_pit(hdp_buf *q, const target *t)
{
    char from[128];
    snprintf(from, sizeof(from), "%s v", t->table);
    buf_printf(q, "DELETE FROM %s;", t->pit);
    put_pit_insert(q, t, from, t->hk);
}

/* A PIT table after an increment, step by step; returns 1 for the steps whose rows are PIT
 * rows written (the two inserts), 0 for the others.
 * A key's staged rows are its new versions. When all of them come after the key's latest
 * interval (changes arrive in commit order: the usual case), that interval is closed at the
 * first of them and theirs are appended, from the staging table alone: the key's history is
 * not read again, and the cost follows the increment, not the vault. A key with a staged
 * version at or before its latest interval (a satellite row from a clock ahead, say) has its
 * intervals rebuilt from the satellite (the definition, for those keys only). The UPDATE
 * reads the PIT it changes, but it adds no rows its scan could meet but its own new versions. */
#define PIT_STEPS 6
static int sql_extend_pit(hdp_buf *q, const target *t, int step)
{
    char from[160];
    switch (step) {
    case 0:
        buf_printf(q,
                   "CREATE TEMP TABLE stg_pit ON COMMIT DROP AS SELECT k.hk, k.first_new, "
                   "EXISTS (SELECT 1 FROM %s p WHERE p.%s = k.hk AND p.valid_from >= "
                   "k.first_new) AS late FROM (SELECT hk, min(load_dts) AS first_new FROM %s "
                   "GROUP BY hk) k;"
                   "ANALYZE stg_pit",
                   t->pit, t->hk, t->stg);
        break;
    case 1:
        buf_printf(q,
                   "UPDATE %s p SET valid_to = k.first_new FROM stg_pit k WHERE p.%s = k.hk "
                   "AND p.valid_to = 'infinity' AND NOT k.late",
                   t->pit, t->hk);
        break;
    case 2:
        snprintf(from, sizeof(from), "%s v JOIN stg_pit k ON k.hk = v.hk WHERE NOT k.late", t->stg);
        put_pit_insert(q, t, from, "hk");
        return 1;
    case 3:
        buf_printf(q, "DELETE FROM %s p USING stg_pit k WHERE k.late AND p.%s = k.hk", t->pit,
                   t->hk);
        break;
    case 4:
        snprintf(from, sizeof(from), "%s v WHERE v.%s IN (SELECT hk FROM stg_pit WHERE late)",
                 t->table, t->hk);
        put_pit_insert(q, t, from, t->hk);
        return 1;
    default:
        buf_puts(q, "DROP TABLE stg_pit");
    }
    return 0;
}

/* ------------------------------------------------------------------ the load */

typedef struct plan_file {
    char *key;
    int src;
    int64_t manifest, first, last, rows;
} plan_file;

typedef struct loader {
    const hdp_config *cfg;
    hdp_lake *lake;
    PGconn *pg;
    pg_copier *copier; /* owns pg's COPYs while rows are staged (NULL otherwise) */
    vault_stats *st;
    plan_file *files;
    size_t nfiles, cap;
    vault_stage stage;
    hdp_buf obj;
    hdp_buf reindex;          /* statements that rebuild the indexes dropped for the load */
    int empty[VS_QUARANTINE]; /* the vault table was empty when the load began */
} loader;

static void plan_add(loader *l, const mf_file *f, int src, int64_t version)
{
    if (l->nfiles == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->files = xrealloc(l->files, l->cap * sizeof(*l->files));
    }
    l->files[l->nfiles++] = (plan_file){xstrdup(f->key), src, version, f->first, f->last, f->rows};
}

/* Files of the newest manifests that compaction has finished for every table. */
static int plan_from_lake(loader *l, hdp_err *e)
{
    int64_t w = -1;
    int rc = compact_frontier(l->lake, &w, e);
    l->st->frontier = w;
    l->st->complete_through = w; /* lowered below by a waiting file that starts at or before */
    for (int src = 0; rc == HDP_OK && src < VSRC_N; src++) {
        manifest m = {0};
        rc = manifest_load_latest(l->lake, vstage_source_name(src), &m, e);
        for (size_t i = 0; rc == HDP_OK && i < m.nfiles; i++) {
            if (m.files[i].last > w) {
                l->st->waiting_files++;
                if (m.files[i].first <= l->st->complete_through)
                    l->st->complete_through = m.files[i].first - 1;
            } else {
                plan_add(l, &m.files[i], src, m.version);
            }
        }
        manifest_free(&m);
    }
    return rc;
}

static int cmp_plan(const void *pa, const void *pb)
{
    const plan_file *a = pa, *b = pb;
    if (a->src != b->src)
        return a->src < b->src ? -1 : 1;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return strcmp(a->key, b->key);
}

/* Drops the planned files ops.load_file already lists. The manifests list every file ever
 * compacted, so PostgreSQL answers with the positions of the new ones only. */
static int plan_drop_loaded(loader *l, hdp_err *e)
{
    if (l->nfiles == 0)
        return HDP_OK;
    hdp_buf arr = HDP_BUF_INIT;
    buf_putc(&arr, '{');
    for (size_t i = 0; i < l->nfiles; i++) {
        buf_puts(&arr, i ? ",\"" : "\"");
        buf_puts(&arr, l->files[i].key); /* lake keys hold no quote or backslash */
        buf_putc(&arr, '"');
    }
    buf_putc(&arr, '}');
    const char *p[1] = {arr.data};
    PGresult *r = pg_query(l->pg,
                           "SELECT u.i FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i) "
                           "WHERE NOT EXISTS (SELECT 1 FROM ops.load_file f WHERE f.file_key = "
                           "u.k) ORDER BY u.i",
                           1, p, e);
    buf_free(&arr);
    if (r == NULL)
        return HDP_ERR;
    size_t keep = 0, next = 0, nnew = (size_t)PQntuples(r);
    for (size_t i = 0; i < l->nfiles; i++) {
        if (next < nnew && strtoull(PQgetvalue(r, (int)next, 0), NULL, 10) == i + 1) {
            l->files[keep++] = l->files[i];
            next++;
        } else {
            free(l->files[i].key);
        }
    }
    l->nfiles = keep;
    PQclear(r);
    qsort(l->files, l->nfiles, sizeof(*l->files), cmp_plan);
    return HDP_OK;
}

/* Vault tables that were empty when the load began skip staging. Hub and link rows are
 * unique within the load, so "where the key is new" holds for every one of them; satellite
 * rows differ from their key's previous row by construction, and there is no vault row to
 * compare a key's first with. COPY straight into the vault gives the same rows as the
 * set-based insert, at once (two rows of a key with one load_dts are collapsed after, as in
 * staging). */
static int is_direct(const loader *l, int out)
{
    return out < VS_QUARANTINE && l->empty[out];
}

/* Which vault tables are empty (under the load's lock, so no other load fills them). */
static int find_empty(loader *l, hdp_err *e)
{
    hdp_buf q = HDP_BUF_INIT;
    buf_puts(&q, "SELECT ");
    for (int out = 0; out < VS_QUARANTINE; out++)
        buf_printf(&q, "%sNOT EXISTS (SELECT 1 FROM %s)", out ? ", " : "", targets[out].table);
    PGresult *r = pg_query(l->pg, q.data, 0, NULL, e);
    buf_free(&q);
    if (r == NULL)
        return HDP_ERR;
    for (int out = 0; out < VS_QUARANTINE; out++)
        l->empty[out] = strcmp(PQgetvalue(r, 0, out), "t") == 0;
    PQclear(r);
    return HDP_OK;
}

/* The indexes and key constraints of the vault tables that are empty (and the PIT tables of
 * empty satellites) are dropped inside the load's transaction and built again before it
 * commits: a B-tree built once from sorted keys costs a fraction of a million inserts of
 * random MD5 keys into it. Rolled back with the load; the re-added keys check what the
 * load inserted. It locks those tables (ACCESS EXCLUSIVE) until the commit: only a first
 * load does it, when readers have nothing to read there yet. */
static int defer_indexes(loader *l, hdp_err *e)
{
    hdp_buf tables = HDP_BUF_INIT;
    for (int out = 0; out < VS_QUARANTINE; out++) {
        if (!l->empty[out])
            continue;
        buf_printf(&tables, "%s%s", tables.len ? "," : "{", targets[out].table);
        if (targets[out].pit != NULL)
            buf_printf(&tables, ",%s", targets[out].pit);
    }
    if (tables.len == 0) {
        buf_free(&tables);
        return HDP_OK;
    }
    buf_puts(&tables, "}");
    const char *params[1] = {tables.data};
    PGresult *r = pg_query(
        l->pg,
        "SELECT CASE WHEN c.conname IS NULL THEN format('DROP INDEX %s', i.indexrelid::regclass)"
        " ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, c.conname) END,"
        " CASE WHEN c.conname IS NULL THEN pg_get_indexdef(i.indexrelid)"
        " ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', i.indrelid::regclass, c.conname,"
        " pg_get_constraintdef(c.oid)) END"
        " FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid"
        " AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u')"
        " WHERE i.indrelid = ANY($1::regclass[]) ORDER BY 1",
        1, params, e);
    buf_free(&tables);
    if (r == NULL)
        return HDP_ERR;
    hdp_buf drop = HDP_BUF_INIT;
    buf_puts(&drop, "SET LOCAL lock_timeout = '30s';");
    for (int i = 0; i < PQntuples(r); i++) {
        buf_printf(&drop, "%s;", PQgetvalue(r, i, 0));
        buf_printf(&l->reindex, "%s;", PQgetvalue(r, i, 1));
    }
    buf_puts(&drop, "SET LOCAL lock_timeout = 0");
    log_info("vault: %d index(es) of empty vault tables are built after the load", PQntuples(r));
    PQclear(r);
    int rc = pg_exec(l->pg, drop.data, e);
    buf_free(&drop);
    return rc;
}

/* Builds the indexes defer_indexes dropped, in the load's transaction. */
static int restore_indexes(loader *l, hdp_err *e)
{
    if (l->reindex.len == 0)
        return HDP_OK;
    int64_t t0 = mono_us();
    int rc = pg_exec(l->pg, l->reindex.data, e);
    if (rc == HDP_OK)
        log_info("vault: indexes built in %.2f s", (double)(mono_us() - t0) / 1e6);
    return rc;
}

/* Hands what the staging buffer `out` holds to the copier, which COPYs it while the next
 * slice is staged, and empties it. Only while rows are staged (the copier runs then). Each
 * buffer is one COPY. */
static int flush(loader *l, int out, hdp_err *e)
{
    hdp_buf *b = &l->stage.out[out];
    if (b->len == 0)
        return HDP_OK;
    vstage_end_copy(&l->stage, out);
    return pg_copier_send(l->copier, vstage_copy_sql(out, is_direct(l, out)), b, e);
}

static int flush_all(loader *l, size_t min_bytes, hdp_err *e)
{
    for (int out = 0; out < VS_NOUT; out++)
        if (l->stage.out[out].len > min_bytes && flush(l, out, e) != HDP_OK)
            return HDP_ERR;
    return HDP_OK;
}

/* The open PIT intervals of source src's keys, COPYed a buffer at a time (a million orders'
 * would be 60 MB at once), once its last file is staged. */
static int close_pits(loader *l, int src, hdp_err *e)
{
    size_t pos = 0;
    int rc = HDP_OK;
    while (rc == HDP_OK && vstage_pit_close(&l->stage, src, &pos, FLUSH_BYTES))
        rc = flush_all(l, FLUSH_BYTES, e);
    return rc;
}

static const char *const hub_of_domain[VD_NDOMAIN] = {
    [VD_CUSTOMER] = "SELECT customer_id FROM vault.hub_customer WHERE customer_id = ANY($1)",
    [VD_PRODUCT] = "SELECT product_id FROM vault.hub_product WHERE product_id = ANY($1)",
    [VD_ORDER] = "SELECT order_id FROM vault.hub_order WHERE order_id = ANY($1)",
};

/* The hub output each business-key domain lives in. */
static const int hub_out_of_domain[VD_NDOMAIN] = {
    [VD_CUSTOMER] = VS_HUB_CUSTOMER,
    [VD_PRODUCT] = VS_HUB_PRODUCT,
    [VD_ORDER] = VS_HUB_ORDER,
};

/* Asks the vault which of the ids (not seen in this load) it holds; marks those known. A
 * hub that was empty when the load began holds none. */
static int lookup_known(loader *l, int domain, const vstage_ids *ids, hdp_err *e)
{
    if (ids->n == 0 || l->empty[hub_out_of_domain[domain]])
        return HDP_OK;
    if (l->copier != NULL && pg_copier_wait(l->copier, e) != HDP_OK)
        return HDP_ERR; /* the connection is the copier's until its COPY ends */
    hdp_buf arr = HDP_BUF_INIT;
    buf_putc(&arr, '{');
    for (size_t i = 0; i < ids->n; i++) {
        if (i)
            buf_putc(&arr, ',');
        buf_put_i64(&arr, ids->v[i]);
    }
    buf_putc(&arr, '}');
    const char *p[1] = {arr.data};
    PGresult *r = pg_query(l->pg, hub_of_domain[domain], 1, p, e);
    buf_free(&arr);
    if (r == NULL)
        return HDP_ERR;
    for (int k = 0; k < PQntuples(r); k++)
        vstage_mark_known(&l->stage, domain, strtoll(PQgetvalue(r, k, 0), NULL, 10));
    PQclear(r);
    return HDP_OK;
}

/* Stages rows [r0, r0 + n) of the loaded row group: their unseen references asked of the
 * vault, their rows emitted, the staging buffers COPYed once full. A row group holds up to
 * a million rows; slicing it bounds what the buffers hold to FLUSH_BYTES plus one slice. */
static int stage_slice(loader *l, const vstage_file *f, size_t r0, size_t n, hdp_err *e)
{
    vstage_ids ids[VD_NDOMAIN];
    memset(ids, 0, sizeof(ids));
    vstage_refs(&l->stage, f, r0, n, ids);
    int rc = HDP_OK;
    for (int d = 0; d < VD_NDOMAIN; d++) {
        if (rc == HDP_OK)
            rc = lookup_known(l, d, &ids[d], e);
        free(ids[d].v);
    }
    if (rc == HDP_OK) {
        vstage_rows(&l->stage, f, r0, n);
        rc = flush_all(l, FLUSH_BYTES, e);
    }
    return rc;
}

static int stage_file(loader *l, const plan_file *pf, hdp_err *e)
{
    int rc = lake_get(l->lake, pf->key, &l->obj, e);
    if (rc != HDP_OK)
        return rc;
    pq_reader *rd = pq_reader_open_mem(l->obj.data, l->obj.len, e);
    if (rd == NULL) {
        hdp_err_prefix(e, "%s: ", pf->key);
        return HDP_ERR;
    }
    vstage_file f;
    rc = vstage_file_open(&f, pf->src, pf->key, rd, e);
    for (size_t rg = 0; rc == HDP_OK && rg < pq_reader_num_row_groups(rd); rg++) {
        size_t nrows = 0;
        rc = pq_reader_load(rd, rg, &nrows, e);
        if (rc != HDP_OK) {
            hdp_err_prefix(e, "%s: ", pf->key);
            break;
        }
        for (size_t r0 = 0; rc == HDP_OK && r0 < nrows; r0 += STAGE_ROWS)
            rc = stage_slice(l, &f, r0, nrows - r0 < STAGE_ROWS ? nrows - r0 : STAGE_ROWS, e);
    }
    pq_reader_free(rd);
    return rc;
}

/* Runs one generated statement; *affected receives its row count when not NULL. */
static int exec_counted(loader *l, hdp_buf *q, int64_t *affected, hdp_err *e)
{
    int64_t t0 = mono_us();
    PGresult *r = PQexec(l->pg, q->data);
    log_debug("vault: %.60s... %s rows, %.3f s", q->data, PQcmdTuples(r),
              (double)(mono_us() - t0) / 1e6);
    ExecStatusType s = PQresultStatus(r);
    int rc = HDP_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        rc = hdp_fail(e, "%s", PQresultErrorMessage(r));
    else if (affected)
        *affected += strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    buf_reset(q);
    return rc;
}

/* The set-based part: staging into the vault, then the PIT tables. Rows go in sorted by
 * hash key, so each B-tree fills page after page instead of touching a random page per row. */
static int merge_staging(loader *l, hdp_err *e)
{
    hdp_buf q = HDP_BUF_INIT;
    int rc = pg_exec(l->pg,
                     "ANALYZE stg_hub_customer, stg_hub_product, stg_hub_order, "
                     "stg_link_order_customer, stg_link_order_product, stg_sat_customer, "
                     "stg_sat_product, stg_sat_order, stg_sat_order_line",
                     e);
    for (int out = 0; rc == HDP_OK && out < VS_QUARANTINE; out++) {
        const target *t = &targets[out];
        if (l->stage.emitted[out] == 0)
            continue;
        if (is_direct(l, out)) {
            if (is_sat(out) && l->stage.same_ts[out]) {
                log_info("vault: %s: a key changed twice in one transaction; its last change "
                         "is kept",
                         t->table);
                for (int step = 0; rc == HDP_OK && step < 3; step++) {
                    sql_collapse_same_ts_direct(&q, t, step);
                    rc = exec_counted(l, &q, step == 1 ? &l->st->inserted[out] : NULL, e);
                }
            } else {
                l->st->inserted[out] = l->stage.emitted[out];
            }
            int64_t staged_pit = vstage_pit_rows(&l->stage, out);
            if (rc == HDP_OK && t->pit && staged_pit >= 0) {
                l->st->pit_rows += staged_pit;   /* COPYed while staging */
            } else if (rc == HDP_OK && t->pit) { /* a collapse changed the satellite */
                sql_rebuild_pit(&q, t);
                rc = exec_counted(l, &q, &l->st->pit_rows, e);
            }
            if (rc != HDP_OK) {
                hdp_err_prefix(e, "loading %s: ", t->table);
                break;
            }
            continue;
        }
        if (is_sat(out) && l->stage.same_ts[out]) {
            sql_collapse_same_ts(&q, t);
            rc = exec_counted(l, &q, NULL, e);
            if (rc != HDP_OK)
                break;
        }
        if (!l->empty[out] && is_sat(out)) { /* else there is nothing to compare with */
            sql_drop_unchanged(&q, t);
            rc = exec_counted(l, &q, NULL, e);
            if (rc != HDP_OK)
                break;
        }
        if (is_sat(out))
            sql_insert_sat(&q, t);
        else
            sql_insert_keys(&q, t);
        rc = exec_counted(l, &q, &l->st->inserted[out], e);
        for (int step = 0; rc == HDP_OK && t->pit && step < PIT_STEPS; step++) {
            int pit_rows = sql_extend_pit(&q, t, step);
            rc = exec_counted(l, &q, pit_rows ? &l->st->pit_rows : NULL, e);
        }
        if (rc != HDP_OK)
            hdp_err_prefix(e, "loading %s: ", t->table);
    }
    buf_free(&q);
    return rc;
}

/* ops.load_file for every file, and the load's totals on its ops.load_log row. */
static int record_load(loader *l, hdp_err *e)
{
    hdp_buf b = HDP_BUF_INIT;
    for (size_t i = 0; i < l->nfiles; i++) {
        const plan_file *f = &l->files[i];
        copy_put_textn(&b, f->key, strlen(f->key));
        buf_printf(&b, "\t%" PRId64 "\t%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
                   l->st->load_id, vstage_source_name(f->src), f->manifest, f->first, f->last,
                   f->rows);
    }
    int rc = pg_copy_begin(l->pg,
                           "COPY ops.load_file (file_key, load_id, source_table, manifest, "
                           "segment_first, segment_last, rows) FROM STDIN",
                           e);
    if (rc == HDP_OK)
        rc = pg_copy_put(l->pg, b.data, b.len, e);
    if (rc == HDP_OK)
        rc = pg_copy_end(l->pg, e);
    buf_reset(&b);
    const vault_stats *st = l->st;
    buf_printf(&b,
               "{\"hub_customer\":%" PRId64 ",\"hub_product\":%" PRId64 ",\"hub_order\":%" PRId64
               ",\"link_order_customer\":%" PRId64 ",\"link_order_product\":%" PRId64
               ",\"sat_customer\":%" PRId64 ",\"sat_product\":%" PRId64 ",\"sat_order\":%" PRId64
               ",\"sat_order_line\":%" PRId64 ",\"pit\":%" PRId64 "}",
               st->inserted[VS_HUB_CUSTOMER], st->inserted[VS_HUB_PRODUCT],
               st->inserted[VS_HUB_ORDER], st->inserted[VS_LINK_ORDER_CUSTOMER],
               st->inserted[VS_LINK_ORDER_PRODUCT], st->inserted[VS_SAT_CUSTOMER],
               st->inserted[VS_SAT_PRODUCT], st->inserted[VS_SAT_ORDER],
               st->inserted[VS_SAT_ORDER_LINE], st->pit_rows);
    char id[24], files[24], first[24], last[24], read[24], ins[24], quar[24];
    snprintf(id, sizeof(id), "%" PRId64, st->load_id);
    snprintf(files, sizeof(files), "%zu", l->nfiles);
    snprintf(first, sizeof(first), "%" PRId64, st->seg_first);
    snprintf(last, sizeof(last), "%" PRId64, st->seg_last);
    snprintf(read, sizeof(read), "%" PRId64, st->rows_read);
    snprintf(ins, sizeof(ins), "%" PRId64, vault_rows_inserted(st));
    snprintf(quar, sizeof(quar), "%" PRId64, st->quarantined);
    const char *p[8] = {id, files, first, last, read, ins, quar, b.data};
    PGresult *r = rc == HDP_OK ? pg_query(l->pg,
                                          "UPDATE ops.load_log SET files = $2, segment_first = "
                                          "$3, segment_last = $4, rows_read = $5, rows_inserted "
                                          "= $6, quarantined = $7, detail = $8::jsonb, "
                                          "finished_at = clock_timestamp() WHERE load_id = $1",
                                          8, p, e)
                               : NULL;
    if (rc == HDP_OK && r == NULL)
        rc = HDP_ERR;
    PQclear(r);
    buf_free(&b);
    return rc;
}

/* The vault is complete through the segment every planned file reaches (the load commits
 * them with this row, or neither). */
static int record_progress(loader *l, hdp_err *e)
{
    char v[24];
    snprintf(v, sizeof(v), "%" PRId64, l->st->complete_through);
    const char *p[1] = {v};
    PGresult *r = pg_query(l->pg,
                           "INSERT INTO ops.progress (stage, through_segment) VALUES ('vault', $1) "
                           "ON CONFLICT (stage) DO UPDATE SET through_segment = "
                           "EXCLUDED.through_segment, updated_at = clock_timestamp()",
                           1, p, e);
    PQclear(r);
    return r ? HDP_OK : HDP_ERR;
}

/* Everything between BEGIN and COMMIT. */
static int load(loader *l, hdp_err *e)
{
    char locked[8];
    int rc = pg_query_value(l->pg, "SELECT pg_try_advisory_xact_lock(" VAULT_LOCK_KEY ")", locked,
                            sizeof(locked), e);
    if (rc == HDP_OK && strcmp(locked, "t") != 0)
        return hdp_retry(e, "another vault load is running");
    if (rc == HDP_OK)
        rc = plan_drop_loaded(l, e);
    if (rc == HDP_OK)
        rc = record_progress(l, e);
    if (rc != HDP_OK || l->nfiles == 0)
        return rc;
    rc = find_empty(l, e);
    if (rc == HDP_OK)
        rc = defer_indexes(l, e);
    if (rc != HDP_OK)
        return rc;
    char id[24];
    rc = pg_query_value(l->pg,
                        "INSERT INTO ops.load_log (started_at, files, rows_read, rows_inserted, "
                        "quarantined) VALUES (clock_timestamp(), 0, 0, 0, 0) RETURNING load_id",
                        id, sizeof(id), e);
    if (rc != HDP_OK)
        return rc;
    l->st->load_id = strtoll(id, NULL, 10);
    vstage_init(&l->stage, l->st->load_id);
    hdp_buf ddl = HDP_BUF_INIT;
    buf_puts(&ddl, STAGING_DDL);
    for (int out = 0; out < VS_QUARANTINE; out++) {
        l->stage.direct[out] = is_direct(l, out);
        if (is_direct(l, out) && targets[out].pit != NULL) {
            l->stage.pit[out] = 1; /* its PIT rows come from the stage: none may be there */
            buf_printf(&ddl, "DELETE FROM %s;", targets[out].pit);
        }
    }
    rc = pg_exec(l->pg, ddl.data, e);
    buf_free(&ddl);
    if (rc == HDP_OK)
        rc = pg_copier_start(&l->copier, l->pg, e);
    l->st->seg_first = INT64_MAX;
    l->st->seg_last = INT64_MIN;
    for (size_t i = 0; rc == HDP_OK && i < l->nfiles; i++) {
        const plan_file *f = &l->files[i];
        log_info("vault: staging %s (%" PRId64 " rows)", f->key, f->rows);
        if (l->stage.done[f->src])
            rc = hdp_fail(e, "vault: internal: %s comes after the last file of its table", f->key);
        if (rc == HDP_OK)
            rc = stage_file(l, f, e);
        if (rc == HDP_OK && (i + 1 == l->nfiles || l->files[i + 1].src != f->src)) {
            rc = close_pits(l, f->src, e);
            vstage_source_done(&l->stage, f->src);
        }
        if (f->first < l->st->seg_first)
            l->st->seg_first = f->first;
        if (f->last > l->st->seg_last)
            l->st->seg_last = f->last;
    }
    if (rc == HDP_OK)
        rc = flush_all(l, 0, e);
    if (l->copier != NULL) { /* the connection is the loader's again */
        hdp_err ce;
        int crc = pg_copier_wait(l->copier, &ce);
        if (rc == HDP_OK && crc != HDP_OK) {
            rc = crc;
            *e = ce;
        }
        pg_copier_stop(l->copier);
        l->copier = NULL;
    }
    l->st->files = (int64_t)l->nfiles;
    l->st->rows_read = l->stage.rows_read;
    l->st->quarantined = l->stage.emitted[VS_QUARANTINE];
    if (rc == HDP_OK)
        rc = merge_staging(l, e);
    if (rc == HDP_OK)
        rc = restore_indexes(l, e);
    if (rc == HDP_OK)
        rc = record_load(l, e);
    return rc;
}

int64_t vault_rows_inserted(const vault_stats *st)
{
    int64_t n = 0;
    for (int i = 0; i < VS_QUARANTINE; i++)
        n += st->inserted[i];
    return n;
}

int vault_run(const hdp_config *cfg, vault_stats *st, hdp_err *e)
{
    loader l;
    memset(&l, 0, sizeof(l));
    memset(st, 0, sizeof(*st));
    l.cfg = cfg;
    l.st = st;
    l.obj = (hdp_buf)HDP_BUF_INIT;
    l.reindex = (hdp_buf)HDP_BUF_INIT;
    l.lake = lake_open_config(cfg, e);
    if (l.lake == NULL)
        return HDP_ERR;
    int rc = plan_from_lake(&l, e);
    if (rc == HDP_OK)
        rc = pg_open(&l.pg, cfg->dwh_dsn, NULL, NULL, e); /* RETRY: dwh may come back */
    if (rc == HDP_OK && l.pg != NULL) {
        /* a backend whose client died mid-load notices within a second and rolls back */
        PQclear(PQexec(l.pg, "SET client_connection_check_interval = 1000"));
        rc = pg_exec(l.pg,
                     "SET application_name = 'hdp vault'; BEGIN; SET LOCAL work_mem = '256MB';"
                     " SET LOCAL maintenance_work_mem = '256MB'",
                     e);
        if (rc == HDP_OK)
            rc = load(&l, e);
        if (rc == HDP_OK) /* the load, or just the progress when nothing was new */
            rc = pg_exec(l.pg, "COMMIT", e);
        else
            PQclear(PQexec(l.pg, "ROLLBACK"));
        if (rc != HDP_OK && pg_conn_lost(l.pg))
            rc = HDP_RETRY;
    }
    if (rc != HDP_OK)
        st->load_id = 0;
    if (l.stage.h.md_ctx != NULL) /* staging began */
        vstage_free(&l.stage);
    for (size_t i = 0; i < l.nfiles; i++)
        free(l.files[i].key);
    free(l.files);
    buf_free(&l.obj);
    buf_free(&l.reindex);
    if (l.pg)
        PQfinish(l.pg);
    lake_close(l.lake);
    return rc;
}
