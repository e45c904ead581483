/* notify_stage.c — `hdp run notify` (core/stage.h): delivers the alerts' outbox once, for
 * those who drive the tasks from Airflow. It never fails because of Telegram: what could not
 * be sent stays queued and the summary says why. */
#include "notify/notify.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "io/pg.h"
#include "notify/outbox.h"

typedef struct notifier {
    const hdp_config *cfg;
} notifier;

static int notify_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    (void)a;
    (void)e;
    notifier *n = xcalloc(1, sizeof(*n));
    n->cfg = cfg;
    *ctx = n;
    return HDP_OK;
}

static int notify_run(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    (void)cancel;
    notifier *n = ctx;
    if (!notify_enabled(n->cfg)) {
        snprintf(r->summary, sizeof(r->summary),
                 "notify: off (TELEGRAM_TOKEN or TELEGRAM_CHAT_ID is empty)");
        return HDP_OK;
    }
    PGconn *c = NULL;
    int rc = pg_open(&c, n->cfg->dwh_dsn, NULL, NULL, e);
    if (rc != HDP_OK)
        return rc;
    tg_target t = notify_target(n->cfg);
    outbox_counts k;
    rc = outbox_drain(c, &t, 50, 5000, &k, e);
    PQfinish(c);
    if (rc != HDP_OK)
        return rc;
    snprintf(r->summary, sizeof(r->summary), "notify: %d sent, %d pending%s%s%s", k.sent, k.pending,
             k.failed ? " (Telegram: " : "", k.failed ? k.last_error : "", k.failed ? ")" : "");
    return HDP_OK;
}

static void notify_close(void *ctx)
{
    free(ctx);
}

int notify_enabled(const hdp_config *cfg)
{
    return cfg->telegram_token[0] != '\0' && cfg->telegram_chat_id[0] != '\0';
}

tg_target notify_target(const hdp_config *cfg)
{
    return (tg_target){cfg->telegram_api, cfg->telegram_token, cfg->telegram_chat_id};
}

const hdp_stage notify_stage = {
    .name = "notify",
    .description = "the alerts' outbox -> Telegram (never fails a run because of Telegram)",
    .kind = STAGE_BATCH,
    .init = notify_init,
    .run = notify_run,
    .close = notify_close,
};
