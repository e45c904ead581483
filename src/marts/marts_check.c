/* marts_check.c — the marts against the vault, segment by segment, for `hdp reconcile`.
 *
 * The vault side is computed another way than the marts build it (marts_sql.c nets events
 * per version): per order, the last version of each segment, and the change of f between
 * consecutive segments — the same quantity by a different road, so a bug in either shows.
 * Compared for every segment <= the marts' progress: net amount, paid orders, refunded
 * orders; and the line facts' amount against the order facts' (an order's total is the sum
 * of its lines by contract). */
#include "marts/marts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/strmap.h"
#include "io/clickhouse.h"
#include "io/pg.h"

#define VAULT_BY_SEGMENT                                                                           \
    "WITH last AS ("                                                                               \
    " SELECT DISTINCT ON (hk_order, source_segment) hk_order, source_segment AS seg,"              \
    " CASE WHEN is_deleted THEN 0 ELSE (CASE WHEN paid_at IS NOT NULL THEN total ELSE 0 END)"      \
    " - (CASE WHEN refunded_at IS NOT NULL THEN total ELSE 0 END) END AS f,"                       \
    " CASE WHEN NOT is_deleted AND paid_at IS NOT NULL THEN 1 ELSE 0 END AS o,"                    \
    " CASE WHEN NOT is_deleted AND refunded_at IS NOT NULL THEN 1 ELSE 0 END AS r"                 \
    " FROM vault.sat_order WHERE source_segment <= $1"                                             \
    " ORDER BY hk_order, source_segment, load_dts DESC, source_lsn DESC, source_seq DESC"          \
    "), d AS ("                                                                                    \
    " SELECT seg, f - coalesce(lag(f) OVER w, 0) AS df, o - coalesce(lag(o) OVER w, 0) AS dor,"    \
    " r - coalesce(lag(r) OVER w, 0) AS dr FROM last"                                              \
    " WINDOW w AS (PARTITION BY hk_order ORDER BY seg))"                                           \
    " SELECT seg, sum(df), sum(dor), sum(dr) FROM d GROUP BY seg"

/* Keys "SEG\x1fMETRIC" -> value. */
static void put(strmap *m, const char *seg, const char *metric, int64_t v)
{
    char k[64];
    int n = snprintf(k, sizeof(k), "%s\x1f%s", seg, metric);
    strmap_add(m, k, (size_t)n, v);
}

static int load_vault(PGconn *c, int64_t through, strmap *m, hdp_err *e)
{
    char t[24];
    snprintf(t, sizeof(t), "%" PRId64, through);
    const char *p[1] = {t};
    PGresult *r = pg_query(c, VAULT_BY_SEGMENT, 1, p, e);
    if (r == NULL)
        return HDP_ERR;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t cents;
        const char *seg = PQgetvalue(r, i, 0);
        if (decimal_parse(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), &cents) != 0) {
            PQclear(r);
            return hdp_fail(e, "vault: segment %s: bad amount", seg);
        }
        put(m, seg, "amount", cents);
        put(m, seg, "orders", strtoll(PQgetvalue(r, i, 2), NULL, 10));
        put(m, seg, "refunds", strtoll(PQgetvalue(r, i, 3), NULL, 10));
    }
    PQclear(r);
    return HDP_OK;
}

/* Parses "seg\tamount\torders\trefunds" lines of a ClickHouse answer into m (prefix "" or
 * "line_" for the metric names). */
static int load_ch(const hdp_buf *out, const char *prefix, strmap *m, hdp_err *e)
{
    for (const char *p = out->data; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        ch_field f[4];
        int64_t cents;
        if (ch_tsv_fields(p, n, f, 4) != 4 || decimal_parse(f[1].p, f[1].n, &cents) != 0)
            return hdp_fail(e, "ClickHouse: unexpected row in the marts check");
        char seg[24], metric[32];
        snprintf(seg, sizeof(seg), "%.*s", (int)f[0].n, f[0].p);
        snprintf(metric, sizeof(metric), "%samount", prefix);
        put(m, seg, metric, cents);
        if (prefix[0] == '\0') {
            put(m, seg, "orders", strtoll(f[2].p, NULL, 10));
            put(m, seg, "refunds", strtoll(f[3].p, NULL, 10));
        }
        p += n + (nl != NULL);
    }
    return HDP_OK;
}

int marts_check(const hdp_config *cfg, FILE *report, size_t *segments, size_t *mismatches,
                hdp_err *e)
{
    *segments = *mismatches = 0;
    PGconn *c = NULL;
    int rc = pg_open(&c, cfg->dwh_dsn, NULL, NULL, e);
    if (rc != HDP_OK)
        return rc;
    char through_s[32] = "";
    rc = pg_query_value(c,
                        "SELECT coalesce(max(through_segment), -1) FROM ops.progress "
                        "WHERE stage = 'marts'",
                        through_s, sizeof(through_s), e);
    int64_t through = strtoll(through_s, NULL, 10);
    strmap vault = STRMAP_INIT, mart = STRMAP_INIT;
    if (rc == HDP_OK && through >= 0)
        rc = load_vault(c, through, &vault, e);
    PQfinish(c);
    ch_client *ch = rc == HDP_OK && through >= 0 ? ch_open(cfg->clickhouse_url, NULL, e) : NULL;
    if (rc == HDP_OK && through >= 0 && ch == NULL)
        rc = HDP_ERR;
    hdp_buf out = HDP_BUF_INIT;
    char q[512];
    if (ch) {
        snprintf(q, sizeof(q),
                 "SELECT segment, sum(amount), sum(orders), sum(refunds) FROM fact_order_current "
                 "WHERE "
                 "segment <= %" PRId64 " GROUP BY segment FORMAT TabSeparated",
                 through);
        rc = ch_query(ch, q, NULL, &out, e);
        if (rc == HDP_OK)
            rc = load_ch(&out, "", &mart, e);
        buf_reset(&out);
        snprintf(q, sizeof(q),
                 "SELECT segment, sum(amount), 0, 0 FROM fact_order_line_current WHERE segment <= "
                 "%" PRId64 " GROUP BY segment FORMAT TabSeparated",
                 through);
        if (rc == HDP_OK)
            rc = ch_query(ch, q, NULL, &out, e);
        if (rc == HDP_OK)
            rc = load_ch(&out, "line_", &mart, e);
    }
    if (rc == HDP_OK) {
        /* every vault value must be in the marts, the lines' amount equal to the orders' */
        strmap segs = STRMAP_INIT;
        for (size_t i = 0; i < vault.len; i++) {
            const char *k = strmap_key(&vault, i);
            int64_t v = vault.entries[i].val, got = 0;
            strmap_get(&mart, k, vault.entries[i].key_len, &got);
            const char *sep = strchr(k, '\x1f');
            strmap_add(&segs, k, (size_t)(sep - k), 1);
            if (got != v) {
                (*mismatches)++;
                fprintf(report, "MISMATCH marts segment %.*s %s: ClickHouse %lld, vault %lld\n",
                        (int)(sep - k), k, sep + 1, (long long)got, (long long)v);
            }
            if (strcmp(sep + 1, "amount") == 0) {
                char lk[64];
                int n = snprintf(lk, sizeof(lk), "%.*s\x1fline_amount", (int)(sep - k), k);
                int64_t lines = 0;
                strmap_get(&mart, lk, (size_t)n, &lines);
                if (lines != v) {
                    (*mismatches)++;
                    fprintf(report,
                            "MISMATCH marts segment %.*s: line facts %lld, order facts %lld\n",
                            (int)(sep - k), k, (long long)lines, (long long)v);
                }
            }
        }
        for (size_t i = 0; i < mart.len; i++) { /* and nothing in the marts the vault lacks */
            const char *k = strmap_key(&mart, i);
            int64_t v = 0;
            const char *sep = strchr(k, '\x1f');
            if (strncmp(sep + 1, "line_", 5) != 0 &&
                !strmap_get(&vault, k, mart.entries[i].key_len, &v) && mart.entries[i].val != 0) {
                (*mismatches)++;
                fprintf(report, "MISMATCH marts segment %.*s %s: ClickHouse %lld, vault none\n",
                        (int)(sep - k), k, sep + 1, (long long)mart.entries[i].val);
            }
        }
        *segments = segs.len;
        strmap_free(&segs);
    }
    buf_free(&out);
    ch_close(ch);
    strmap_free(&vault);
    strmap_free(&mart);
    return rc;
}
