#include "capture/capture.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "capture/rowjson.h"
#include "cdc/cdc.h"
#include "core/lake_layout.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "io/fsutil.h"
#include "io/lake.h"
#include "lake/lake_conf.h"
#include "lake/schema.h"

#define MAX_TABLES 16

/* One table's lines of the open segment, on local disk, with their running checksum. */
typedef struct spool {
    char table[64];
    char path[PATH_MAX];
    FILE *f;
    uint64_t first_lsn;
    uint64_t rows, bytes;
    XXH3_state_t *sum;
} spool;

typedef struct capture {
    const hdp_config *cfg;
    hdp_lake *lake;
    cdc_consumer *cdc;
    char spool_dir[PATH_MAX];
    spool spools[MAX_TABLES];
    size_t nspools;
    int64_t open_seg;        /* segment being spooled, -1 when none */
    uint64_t open_first_lsn; /* commit LSN of the open segment's first transaction */
    uint64_t open_last_end;  /* end LSN of its last complete transaction */
    uint64_t closed_end;     /* end LSN of the last closed segment (durable) */
    int64_t closed_seg;      /* the clamp's state stored with it */
    rowjson_meta meta;
    hdp_buf line;
    struct {
        uint32_t relid;
        char why[200]; /* the relation breaks the contract ("" when it does not) */
    } rels[MAX_TABLES];
    size_t nrels;
    uint64_t closed_segments, rows;
} capture;

/* ------------------------------------------------------------------ state */

static int load_state(capture *c, hdp_err *e)
{
    int found = 0;
    uint64_t size;
    c->closed_seg = -1;
    c->closed_end = 0;
    int rc = lake_head(c->lake, LAKE_CAPTURE_STATE_KEY, &found, &size, e);
    if (rc != HDP_OK || !found)
        return rc;
    hdp_buf b = HDP_BUF_INIT;
    rc = lake_get(c->lake, LAKE_CAPTURE_STATE_KEY, &b, e);
    if (rc == HDP_OK) {
        json_error_t je;
        json_t *j = json_loadb(b.data, b.len, 0, &je);
        json_t *seg = json_object_get(j, "segment"), *end = json_object_get(j, "end_lsn");
        if (!json_is_integer(seg) || !json_is_integer(end))
            rc = hdp_fail(e, "%s in %s is not capture state: %s", LAKE_CAPTURE_STATE_KEY,
                          lake_describe(c->lake), j ? "fields missing" : je.text);
        else {
            c->closed_seg = json_integer_value(seg);
            c->closed_end = (uint64_t)json_integer_value(end);
        }
        json_decref(j);
    }
    buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ spools */

static void spool_discard_all(capture *c)
{
    for (size_t i = 0; i < c->nspools; i++) {
        if (c->spools[i].f)
            fclose(c->spools[i].f);
        unlink(c->spools[i].path);
        XXH3_freeState(c->spools[i].sum);
    }
    c->nspools = 0;
}

static int spool_for(capture *c, const char *table, spool **out, hdp_err *e)
{
    for (size_t i = 0; i < c->nspools; i++)
        if (strcmp(c->spools[i].table, table) == 0) {
            *out = &c->spools[i];
            return HDP_OK;
        }
    if (c->nspools == MAX_TABLES)
        return hdp_fail(e, "capture: more than %d tables in one segment", MAX_TABLES);
    spool *s = &c->spools[c->nspools];
    memset(s, 0, sizeof(*s));
    snprintf(s->table, sizeof(s->table), "%s", table);
    if ((size_t)snprintf(s->path, sizeof(s->path), "%.3900s/%.60s.jsonl", c->spool_dir, table) >=
        sizeof(s->path))
        return hdp_fail(e, "spool path too long under %s", c->spool_dir);
    s->f = fopen(s->path, "w");
    if (s->f == NULL)
        return hdp_retry(e, "cannot write spool %s: %s", s->path, strerror(errno));
    s->sum = XXH3_createState();
    XXH3_64bits_reset(s->sum);
    s->first_lsn = c->meta.commit_lsn;
    c->nspools++;
    *out = s;
    return HDP_OK;
}

static int cmp_spool(const void *a, const void *b)
{
    return strcmp(((const spool *)a)->table, ((const spool *)b)->table);
}

/* Stores the open segment: every table's object, then the marker, then the state; then the
 * slot may move past it. Any failure leaves the slot where it was: the segment is replayed. */
static int close_segment(capture *c, hdp_err *e)
{
    if (c->open_seg < 0)
        return HDP_OK;
    int rc = HDP_OK;
    char day[11];
    date_format(floor_div(c->open_seg * c->cfg->segment_seconds, 86400), day);
    qsort(c->spools, c->nspools, sizeof(spool), cmp_spool);
    hdp_buf marker = HDP_BUF_INIT;
    buf_printf(&marker, "{\"segment\":%lld,\"first_lsn\":%llu,\"last_lsn\":%llu,\"objects\":[",
               (long long)c->open_seg, (unsigned long long)c->open_first_lsn,
               (unsigned long long)c->open_last_end);
    for (size_t i = 0; rc == HDP_OK && i < c->nspools; i++) {
        spool *s = &c->spools[i];
        if (fclose(s->f) != 0)
            rc = hdp_fail(e, "spool %s: %s", s->path, strerror(errno));
        s->f = NULL;
        char key[512];
        snprintf(key, sizeof(key), LAKE_RAW_KEY_FMT, s->table, day, (long long)c->open_seg,
                 (unsigned long long)s->first_lsn);
        if (rc == HDP_OK)
            rc = lake_put_file(c->lake, key, s->path, e);
        buf_printf(&marker,
                   "%s{\"key\":\"%s\",\"rows\":%" PRIu64 ",\"bytes\":%" PRIu64
                   ",\"xxh3\":\"%016" PRIx64 "\"}",
                   i ? "," : "", key, s->rows, s->bytes, (uint64_t)XXH3_64bits_digest(s->sum));
    }
    buf_puts(&marker, "]}\n");
    if (rc == HDP_OK && c->nspools) {
        char key[128];
        snprintf(key, sizeof(key), LAKE_SEGMENT_KEY_FMT, (long long)c->open_seg);
        rc = lake_put(c->lake, key, marker.data, marker.len, e);
    }
    if (rc == HDP_OK) {
        char state[128];
        int n = snprintf(state, sizeof(state), "{\"segment\":%lld,\"end_lsn\":%llu}\n",
                         (long long)c->open_seg, (unsigned long long)c->open_last_end);
        rc = lake_put(c->lake, LAKE_CAPTURE_STATE_KEY, state, (size_t)n, e);
    }
    buf_free(&marker);
    if (rc != HDP_OK)
        return rc; /* RETRY replays the segment after a pause; ERR (403, no bucket) stops */
    if (c->nspools) {
        c->closed_segments++;
        log_info("segment %lld closed: %zu object(s) in %s", (long long)c->open_seg, c->nspools,
                 lake_describe(c->lake));
    }
    spool_discard_all(c);
    c->closed_end = c->open_last_end;
    c->closed_seg = c->open_seg;
    cdc_confirm(c->cdc, c->open_last_end);
    c->open_seg = -1;
    return HDP_OK;
}

/* ------------------------------------------------------------------ callbacks */

static int cb_begin(void *ctx, const cdc_tx *tx, hdp_err *e)
{
    capture *c = ctx;
    if (c->open_seg >= 0 && tx->segment > c->open_seg) {
        int rc = close_segment(c, e);
        if (rc != HDP_OK)
            return rc;
    }
    if (c->open_seg < 0) {
        c->open_seg = tx->segment;
        c->open_first_lsn = tx->final_lsn;
    }
    c->meta = (rowjson_meta){tx->final_lsn, 0, tx->commit_us, tx->xid, tx->segment, 0};
    return HDP_OK;
}

static int cb_change(void *ctx, const cdc_tx *tx, const pgo_msg *m, hdp_err *e)
{
    capture *c = ctx;
    if (m->kind == 'T') {
        log_warn("TRUNCATE in the source is not captured (the raw zone is append-only)");
        return HDP_OK;
    }
    const pgo_tuple *t = m->kind == 'D' ? &m->old_tuple : &m->new_tuple;
    spool *s = NULL;
    int rc = spool_for(c, m->rel->relname, &s, e);
    if (rc != HDP_OK)
        return rc;
    c->meta.op = m->kind;
    c->meta.seq = tx->seq;
    buf_reset(&c->line);
    const char *why = NULL;
    for (size_t i = 0; i < c->nrels; i++)
        if (c->rels[i].relid == m->rel->relid && c->rels[i].why[0])
            why = c->rels[i].why;
    rowjson_append(&c->line, &c->meta, m->rel, t, why);
    if (fwrite(c->line.data, 1, c->line.len, s->f) != c->line.len)
        return hdp_retry(e, "spool %s: %s", s->path, strerror(errno));
    XXH3_64bits_update(s->sum, c->line.data, c->line.len);
    s->rows++;
    s->bytes += c->line.len;
    c->rows++;
    return HDP_OK;
}

/* A table's shape: checked against the contract, so lines of a relation that broke it (a
 * column dropped, a type changed) carry the reason and are quarantined by compaction. */
static int cb_relation(void *ctx, const pgo_relation *rel, hdp_err *e)
{
    (void)e;
    capture *c = ctx;
    size_t i = 0;
    while (i < c->nrels && c->rels[i].relid != rel->relid)
        i++;
    if (i == MAX_TABLES)
        return HDP_OK; /* more tables than the contract has: they carry no reason */
    if (i == c->nrels)
        c->nrels++;
    c->rels[i].relid = rel->relid;
    c->rels[i].why[0] = '\0';
    const sch_table *t = sch_find(rel->relname, strlen(rel->relname));
    if (t && sch_relation_check(t, rel, c->rels[i].why, sizeof(c->rels[i].why)) != 0)
        log_warn("%s breaks the contract: %s (its changes are quarantined by compaction)",
                 rel->relname, c->rels[i].why);
    return HDP_OK;
}

static int cb_commit(void *ctx, const cdc_tx *tx, hdp_err *e)
{
    (void)e;
    capture *c = ctx;
    c->open_last_end = tx->end_lsn;
    return HDP_OK;
}

static const cdc_callbacks callbacks = {
    .begin = cb_begin, .relation = cb_relation, .change = cb_change, .commit = cb_commit};

/* ------------------------------------------------------------------ the stage */

static int capture_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    (void)a;
    capture *c = xcalloc(1, sizeof(*c));
    *ctx = c;
    c->cfg = cfg;
    c->open_seg = -1;
    c->closed_seg = -1;
    snprintf(c->spool_dir, sizeof(c->spool_dir), "%s/spool/capture", cfg->var_dir);
    if (fs_mkdirs(c->spool_dir, e) != HDP_OK)
        return HDP_ERR;
    c->lake = lake_open_config(cfg, e);
    if (c->lake == NULL)
        return HDP_ERR;
    c->cdc = cdc_new(cfg->source_dsn, CDC_SLOT_LAKE, cfg->segment_seconds, &callbacks, c);
    return HDP_OK;
}

/* Picks up where the lake's state says the last closed segment ended. */
static int start(capture *c, hdp_err *e)
{
    int rc = load_state(c, e);
    if (rc == HDP_OK)
        rc = cdc_start(c->cdc, c->closed_end, c->closed_seg, e);
    if (rc != HDP_OK)
        return rc;
    c->open_seg = -1;
    log_info("streaming slot %s into %s (segment %lld)", CDC_SLOT_LAKE, lake_describe(c->lake),
             (long long)c->closed_seg);
    return HDP_OK;
}

/* One slice: up to 100 ms of frames, then the status update and the heartbeat. Idle means
 * nothing unstored: no open transaction and no spooled row. */
static int capture_run(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    (void)cancel;
    (void)r;
    capture *c = ctx;
    int rc = HDP_OK;
    if (!cdc_started(c->cdc))
        rc = start(c, e);
    if (rc == HDP_OK)
        rc = cdc_poll(c->cdc, 100, 4096, e);
    if (rc == HDP_OK)
        rc = cdc_tick(c->cdc, !cdc_in_tx(c->cdc) && c->nspools == 0, e);
    return rc;
}

/* After a failure: drop the session and the open segment's spool; it is replayed whole. */
static void capture_reset(void *ctx)
{
    capture *c = ctx;
    spool_discard_all(c);
    cdc_stop(c->cdc);
    c->open_seg = -1;
}

/* A clean stop leaves the open segment unconfirmed: the next run replays it whole. */
static void capture_close(void *ctx)
{
    capture *c = ctx;
    log_info("stopped: %" PRIu64 " segment(s) closed, %" PRIu64 " change(s) spooled",
             c->closed_segments, c->rows);
    spool_discard_all(c);
    cdc_free(c->cdc);
    lake_close(c->lake);
    buf_free(&c->line);
    free(c);
}

const hdp_stage capture_stage = {
    .name = "capture",
    .description = "slot hdp_lake -> raw JSON Lines in the lake, one object per table and segment",
    .kind = STAGE_STREAM,
    .init = capture_init,
    .run = capture_run,
    .reset = capture_reset,
    .close = capture_close,
};
