/* publish.c — `hdp run publish` (core/stage.h): advances the batch watermark W to the last
 * segment that compaction, the vault and the marts have all completed — first in dwh
 * (ops.watermark, its history), then mirrored to the Redis key `hdp serve` reads once per
 * request — and then lets the speed layer forget what the batch layer now serves.
 *
 * W only grows. The speed layer keeps its aggregates per (segment, day); a bucket at or
 * below W is dropped only when its day is before yesterday (UTC) — so the speed layer alone
 * can still answer today and yesterday when the batch store is away — and only up to a W
 * published at least HDP_SPEED_DROP_GRACE seconds ago, so a request that read an older W (and
 * sums speed buckets above it) never finds one gone. A dropped day is marked
 * (hdp:sp:dropped:<day>): the serving layer then knows the speed layer alone can no longer answer
 * it. */
#include "publish/publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/speed_model.h"
#include "core/timeutil.h"
#include "io/lake.h"
#include "lake/lake_conf.h"
#include "io/pg.h"
#include "io/redis.h"
#include "lake/lake_state.h"

typedef struct publisher {
    const hdp_config *cfg;
    PGconn *pg;
    hdp_redis *redis;
    hdp_lake *lake;
} publisher;

static int publish_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    (void)a;
    publisher *p = xcalloc(1, sizeof(*p));
    *ctx = p;
    p->cfg = cfg;
    p->redis = redis_new(&cfg->redis, 5000);
    p->lake = lake_open_config(cfg, e);
    return p->lake ? HDP_OK : HDP_ERR;
}

/* One bigint of a query, or def when it returns no row or NULL. */
static int query_i64(PGconn *c, const char *sql, int n, const char *const *params, int64_t def,
                     int64_t *out, hdp_err *e)
{
    PGresult *r = pg_query(c, sql, n, params, e);
    if (r == NULL)
        return pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
    *out = def;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return HDP_OK;
}

static int progress(PGconn *c, const char *stage, int64_t *through, hdp_err *e)
{
    const char *p[1] = {stage};
    return query_i64(c, "SELECT through_segment FROM ops.progress WHERE stage = $1", 1, p, -1,
                     through, e);
}

/* Drops, for every day before yesterday, the speed buckets at or below safe_w, and marks
 * the day. One MULTI/EXEC per day: a reader sees the day whole or dropped. */
static int drop_speed_buckets(publisher *p, int64_t safe_w, int64_t *days, int64_t *buckets,
                              hdp_err *e)
{
    *days = *buckets = 0;
    int64_t yesterday = floor_div(now_unix_us(), USEC_PER_DAY) - 1;
    char cursor[32] = "0";
    int rc = HDP_OK;
    do {
        redisReply *rep = NULL;
        rc = redis_command(p->redis, &rep, e, "SCAN %s MATCH " SPEED_PREFIX "sp:days:* COUNT 500",
                           cursor);
        if (rc != HDP_OK)
            return rc;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            freeReplyObject(rep);
            return hdp_fail(e, "redis SCAN: unexpected reply");
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        for (size_t i = 0; rc == HDP_OK && i < rep->element[1]->elements; i++) {
            const char *key = rep->element[1]->element[i]->str;
            const char *day = key + strlen(SPEED_PREFIX "sp:days:");
            int64_t d;
            if (strlen(day) != 10 || date_parse(day, &d) != 0 || d >= yesterday)
                continue;
            redisReply *segs = NULL;
            rc = redis_command(p->redis, &segs, e, "ZRANGEBYSCORE %s -inf %lld", key,
                               (long long)safe_w);
            if (rc != HDP_OK || segs->type != REDIS_REPLY_ARRAY || segs->elements == 0) {
                freeReplyObject(segs);
                continue;
            }
            int ok = redis_append(p->redis, e, "MULTI") == HDP_OK;
            for (size_t k = 0; ok && k < segs->elements; k++)
                ok = redis_append(p->redis, e, "DEL " SPEED_PREFIX "sp:%s:%s",
                                  segs->element[k]->str, day) == HDP_OK;
            ok = ok && redis_append(p->redis, e, "ZREMRANGEBYSCORE %s -inf %lld", key,
                                    (long long)safe_w) == HDP_OK;
            ok = ok && redis_append(p->redis, e, "SET " SPEED_PREFIX "sp:dropped:%s %lld", day,
                                    (long long)safe_w) == HDP_OK;
            ok = ok && redis_append(p->redis, e, "EXEC") == HDP_OK;
            size_t n = segs->elements + 4;
            for (size_t k = 0; ok && k < n; k++) {
                redisReply *x = NULL;
                ok = redis_get_reply(p->redis, &x, e) == HDP_OK;
                if (ok && k + 1 == n && x->type != REDIS_REPLY_ARRAY)
                    ok = 0;
                freeReplyObject(x);
            }
            if (!ok) {
                redis_disconnect(p->redis);
                rc = HDP_RETRY;
            } else {
                (*days)++;
                *buckets += (int64_t)segs->elements;
            }
            freeReplyObject(segs);
        }
        freeReplyObject(rep);
    } while (rc == HDP_OK && strcmp(cursor, "0") != 0);
    return rc;
}

/* Is the speed layer stopped (a fault recorded, or its state gone)? Then leave its buckets
 * alone: they may be all a rebuild has to go on. */
static int speed_faulted(publisher *p, int *faulted, hdp_err *e)
{
    redisReply *fault = NULL, *state = NULL;
    int rc = redis_command(p->redis, &fault, e, "EXISTS %s", SPEED_FAULT_KEY);
    if (rc == HDP_OK)
        rc = redis_command(p->redis, &state, e, "EXISTS %s", SPEED_STATE_KEY);
    if (rc == HDP_OK)
        *faulted = fault->integer != 0 || state->integer == 0;
    freeReplyObject(fault);
    freeReplyObject(state);
    return rc;
}

static int publish_run(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    (void)cancel;
    publisher *p = ctx;
    int rc = HDP_OK;
    if (p->pg == NULL || pg_conn_lost(p->pg)) {
        if (p->pg)
            PQfinish(p->pg);
        p->pg = NULL;
        rc = pg_open(&p->pg, p->cfg->dwh_dsn, NULL, NULL, e);
        if (rc != HDP_OK)
            return rc;
    }
    int64_t compact = -1, vault = -1, marts = -1, prev = -1;
    rc = compact_frontier(p->lake, &compact, e);
    if (rc == HDP_OK)
        rc = progress(p->pg, "vault", &vault, e);
    if (rc == HDP_OK)
        rc = progress(p->pg, "marts", &marts, e);
    if (rc == HDP_OK)
        rc = query_i64(p->pg, "SELECT max(segment) FROM ops.watermark", 0, NULL, -1, &prev, e);
    if (rc != HDP_OK)
        return rc;
    int64_t w = compact < vault ? compact : vault;
    if (marts < w)
        w = marts;
    if (w > prev) {
        char ws[24];
        snprintf(ws, sizeof(ws), "%" PRId64, w);
        const char *params[1] = {ws};
        PGresult *ins =
            pg_query(p->pg, "INSERT INTO ops.watermark (segment) VALUES ($1)", 1, params, e);
        if (ins == NULL)
            return pg_conn_lost(p->pg) ? HDP_RETRY : HDP_ERR;
        PQclear(ins);
        r->moved = 1;
        r->seg_first = prev + 1;
        r->seg_last = w;
    }
    int64_t now_w = w > prev ? w : prev;
    /* The mirror, every run: it catches up after a run that failed between the two writes. */
    if (now_w >= 0) {
        redisReply *rep = NULL;
        rc = redis_command(p->redis, &rep, e, "SET %s %lld", BATCH_WATERMARK_KEY, (long long)now_w);
        freeReplyObject(rep);
        if (rc != HDP_OK) {
            hdp_err_prefix(e, "mirroring W to Redis: ");
            return rc;
        }
    }
    int64_t safe = -1, days = 0, buckets = 0;
    char grace[16];
    snprintf(grace, sizeof(grace), "%ld", p->cfg->speed_drop_grace);
    const char *gp[1] = {grace};
    rc = query_i64(p->pg,
                   "SELECT max(segment) FROM ops.watermark "
                   "WHERE published_at <= clock_timestamp() - make_interval(secs => $1)",
                   1, gp, -1, &safe, e);
    int faulted = 0;
    if (rc == HDP_OK && safe >= 0)
        rc = speed_faulted(p, &faulted, e);
    if (rc == HDP_OK && safe >= 0 && !faulted)
        rc = drop_speed_buckets(p, safe, &days, &buckets, e);
    if (rc != HDP_OK)
        return rc;
    snprintf(r->summary, sizeof(r->summary),
             "publish: W %" PRId64 " -> %" PRId64 " (compact %" PRId64 ", vault %" PRId64
             ", marts %" PRId64 "); speed buckets dropped: %" PRId64 " in %" PRId64 " day(s)%s",
             prev, now_w, compact, vault, marts, buckets, days,
             faulted ? " (speed layer stopped: none dropped)" : "");
    return HDP_OK;
}

static void publish_reset(void *ctx)
{
    publisher *p = ctx;
    if (p->pg)
        PQfinish(p->pg);
    p->pg = NULL;
    redis_disconnect(p->redis);
}

static void publish_close(void *ctx)
{
    publisher *p = ctx;
    publish_reset(p);
    redis_free(p->redis);
    lake_close(p->lake);
    free(p);
}

const hdp_stage publish_stage = {
    .name = "publish",
    .description = "batch watermark W -> dwh.ops.watermark and Redis; old speed buckets dropped",
    .kind = STAGE_BATCH,
    .init = publish_init,
    .run = publish_run,
    .reset = publish_reset,
    .close = publish_close,
};
