/* vault_task.c — `hdp run vault` as a stage (core/stage.h): one load per unit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "vault/vault_load.h"

typedef struct vault_ctx {
    const hdp_config *cfg;
} vault_ctx;

static int vault_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    (void)a;
    (void)e;
    vault_ctx *v = xcalloc(1, sizeof(*v));
    v->cfg = cfg;
    *ctx = v;
    return HDP_OK;
}

static int vault_unit(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    (void)cancel; /* one transaction: it commits or it is rolled back, never half */
    vault_ctx *v = ctx;
    vault_stats st;
    int64_t t0 = mono_us();
    int rc = vault_run(v->cfg, &st, e);
    double secs = (double)(mono_us() - t0) / 1e6;
    r->rows = vault_rows_inserted(&st);
    r->quarantined = st.quarantined;
    r->seg_first = st.load_id ? st.seg_first : -1;
    r->seg_last = st.load_id ? st.seg_last : -1;
    r->moved = st.load_id != 0;
    if (rc == HDP_OK && st.load_id == 0)
        snprintf(r->summary, sizeof(r->summary), "vault: nothing new to load%s",
                 st.waiting_files ? " (files wait for compaction of every table)" : "");
    else if (rc == HDP_OK)
        snprintf(r->summary, sizeof(r->summary),
                 "vault: load %" PRId64 ": %" PRId64 " file(s), %" PRId64 " row(s) read, %" PRId64
                 " vault row(s) inserted (hubs %" PRId64 ", links %" PRId64 ", satellites %" PRId64
                 "), %" PRId64 " PIT row(s), %" PRId64
                 " quarantined, %.2f s, %.0f orders/s, %.0f rows/s",
                 st.load_id, st.files, st.rows_read, vault_rows_inserted(&st),
                 st.inserted[VS_HUB_CUSTOMER] + st.inserted[VS_HUB_PRODUCT] +
                     st.inserted[VS_HUB_ORDER],
                 st.inserted[VS_LINK_ORDER_CUSTOMER] + st.inserted[VS_LINK_ORDER_PRODUCT],
                 st.inserted[VS_SAT_CUSTOMER] + st.inserted[VS_SAT_PRODUCT] +
                     st.inserted[VS_SAT_ORDER] + st.inserted[VS_SAT_ORDER_LINE],
                 st.pit_rows, st.quarantined, secs,
                 secs > 0 ? (double)st.inserted[VS_HUB_ORDER] / secs : 0,
                 secs > 0 ? (double)vault_rows_inserted(&st) / secs : 0);
    else
        snprintf(r->summary, sizeof(r->summary), "vault: failed after %.2f s", secs);
    return rc;
}

static void vault_close(void *ctx)
{
    free(ctx);
}

const hdp_stage vault_task = {
    .name = "vault",
    .description = "curated Parquet -> Data Vault 2.0 in dwh (hubs, links, satellites, PIT)",
    .kind = STAGE_BATCH,
    .init = vault_init,
    .run = vault_unit,
    .close = vault_close,
};
