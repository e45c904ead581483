/* compact_stage.c — `hdp run compact` as a stage (core/stage.h): one compaction run per unit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "batch/compact.h"
#include "core/buf.h"
#include "core/timeutil.h"

typedef struct compact_task {
    const hdp_config *cfg;
    compact_opts opts;
} compact_task;

static int compact_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    (void)e;
    compact_task *t = xcalloc(1, sizeof(*t));
    t->cfg = cfg;
    t->opts.row_group_rows = a->row_group_rows;
    t->opts.table = a->table;
    *ctx = t;
    return HDP_OK;
}

static int compact_unit(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    compact_task *t = ctx;
    compact_stats st;
    int64_t t0 = mono_us();
    int rc = compact_run(t->cfg, &t->opts, cancel, &st, e);
    double secs = (double)(mono_us() - t0) / 1e6;
    r->rows = st.rows;
    r->bytes = st.bytes;
    r->quarantined = st.quarantined;
    r->seg_first = st.seg_first;
    r->seg_last = st.seg_last;
    r->moved = st.manifests > 0;
    char who[80] = "compact";
    if (t->opts.table)
        snprintf(who, sizeof(who), "compact %.60s", t->opts.table);
    int n = snprintf(
        r->summary, sizeof(r->summary),
        "%s: %" PRId64 " segment(s), %" PRId64 " object(s), %" PRId64 " row(s), %" PRId64
        " file(s), %" PRId64 " quarantined, %" PRId64 " manifest(s), %.2f s, %.1f MB/s%s",
        who, st.segments, st.objects, st.rows, st.files, st.quarantined, st.manifests, secs,
        secs > 0 ? (double)st.bytes / 1e6 / secs : 0, rc == HDP_OK ? "" : " (failed)");
    if ((st.unknown_table || st.unknown_keys) && n > 0 && (size_t)n < sizeof(r->summary))
        snprintf(r->summary + n, sizeof(r->summary) - (size_t)n,
                 "; %" PRId64 " object(s) of unknown tables skipped, %" PRId64
                 " field(s) outside the contract carried as extra columns",
                 st.unknown_table, st.unknown_keys);
    return rc;
}

static void compact_close(void *ctx)
{
    free(ctx);
}

const hdp_stage compact_stage = {
    .name = "compact",
    .description = "raw JSON Lines of closed segments -> Parquet in curated/, by manifest",
    .kind = STAGE_BATCH,
    .init = compact_init,
    .run = compact_unit,
    .close = compact_close,
};
