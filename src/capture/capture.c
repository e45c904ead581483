#include "capture/capture.h"
#include "io/fsutil.h"

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

#include "capture/rowjson.h"
#include "core/lake_layout.h"
#include "core/log.h"
#include "core/retry.h"
#include "core/segment.h"
#include "core/timeutil.h"
#include "io/lake.h"
#include "io/pg.h"
#include "io/pg_stream.h"
#include "speed/speed_consumer.h" /* HDP_PUBLICATION */

#define MAX_TABLES 16

/* One table's lines of the open segment, on local disk. */
typedef struct spool {
    char table[64];
    char path[PATH_MAX];
    FILE *f;
    uint64_t first_lsn;
    uint64_t rows, bytes;
} spool;

typedef struct capture {
    const hdp_config *cfg;
    hdp_lake *lake;
    pg_stream stream;
    PGconn *sql;
    pgo_decoder *dec;
    char spool_dir[PATH_MAX];
    spool spools[MAX_TABLES];
    size_t nspools;
    int64_t open_seg;        /* segment being spooled, -1 when none */
    int64_t segment;         /* the clamp's state: segment of the last transaction */
    uint64_t open_first_lsn; /* commit LSN of the open segment's first transaction */
    uint64_t open_last_end;  /* end LSN of its last complete transaction */
    uint64_t closed_end;     /* end LSN of the last closed segment (durable) */
    int in_tx, skip_tx;
    rowjson_meta meta;
    hdp_buf line;
    int64_t last_heartbeat_us;
    uint64_t closed_segments, rows;
} capture;

/* ------------------------------------------------------------------ state */

static int load_state(capture *c, hdp_err *e)
{
    int found = 0;
    uint64_t size;
    c->segment = -1;
    c->closed_end = 0;
    int rc = lake_head(c->lake, CAPTURE_STATE_KEY, &found, &size, e);
    if (rc != HDP_OK || !found)
        return rc;
    hdp_buf b = HDP_BUF_INIT;
    rc = lake_get(c->lake, CAPTURE_STATE_KEY, &b, e);
    if (rc == HDP_OK) {
        json_error_t je;
        json_t *j = json_loadb(b.data, b.len, 0, &je);
        json_t *seg = json_object_get(j, "segment"), *end = json_object_get(j, "end_lsn");
        if (!json_is_integer(seg) || !json_is_integer(end))
            rc = hdp_fail(e, "%s in %s is not capture state: %s", CAPTURE_STATE_KEY,
                          lake_describe(c->lake), j ? "fields missing" : je.text);
        else {
            c->segment = json_integer_value(seg);
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
        return hdp_fail(e, "cannot write spool %s: %s", s->path, strerror(errno));
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
        buf_printf(&marker, "%s{\"key\":\"%s\",\"rows\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
                   i ? "," : "", key, s->rows, s->bytes);
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
        rc = lake_put(c->lake, CAPTURE_STATE_KEY, state, (size_t)n, e);
    }
    buf_free(&marker);
    if (rc != HDP_OK)
        return rc == HDP_ERR ? HDP_RETRY : rc; /* replay the segment after a pause */
    if (c->nspools) {
        c->closed_segments++;
        log_info("segment %lld closed: %zu object(s) in %s", (long long)c->open_seg, c->nspools,
                 lake_describe(c->lake));
    }
    spool_discard_all(c);
    c->closed_end = c->open_last_end;
    pg_stream_confirm(&c->stream, c->open_last_end);
    c->open_seg = -1;
    return HDP_OK;
}

/* ------------------------------------------------------------------ messages */

static int on_change(capture *c, const pgo_msg *m, hdp_err *e)
{
    const pgo_relation *rel = m->rel;
    c->meta.op = m->kind;
    c->meta.seq++;
    if (c->skip_tx || strcmp(rel->relname, "hdp_heartbeat") == 0)
        return HDP_OK;
    const pgo_tuple *t = m->kind == 'D' ? &m->old_tuple : &m->new_tuple;
    spool *s = NULL;
    int rc = spool_for(c, rel->relname, &s, e);
    if (rc != HDP_OK)
        return rc;
    c->meta.seq--; /* seq is 0-based: the position of this change */
    buf_reset(&c->line);
    rowjson_append(&c->line, &c->meta, rel, t);
    c->meta.seq++;
    if (fwrite(c->line.data, 1, c->line.len, s->f) != c->line.len)
        return hdp_fail(e, "spool %s: %s", s->path, strerror(errno));
    s->rows++;
    s->bytes += c->line.len;
    c->rows++;
    return HDP_OK;
}

static int on_message(capture *c, const uint8_t *data, size_t len, hdp_err *e)
{
    pgo_msg m;
    if (pgo_decode(c->dec, data, len, &m, e) != HDP_OK) {
        hdp_err_prefix(e, "pgoutput: ");
        return HDP_ERR;
    }
    switch (m.kind) {
    case 'B': {
        c->in_tx = 1;
        c->skip_tx = m.final_lsn <= c->closed_end;
        if (c->skip_tx)
            break;
        int64_t commit_us = m.commit_ts + PG_EPOCH_UNIX_USEC;
        int64_t seg = segment_of(commit_us, c->cfg->segment_seconds, c->segment);
        if (c->open_seg >= 0 && seg > c->open_seg) {
            int rc = close_segment(c, e);
            if (rc != HDP_OK)
                return rc;
        }
        if (c->open_seg < 0) {
            c->open_seg = seg;
            c->open_first_lsn = m.final_lsn;
        }
        c->segment = seg;
        c->meta = (rowjson_meta){m.final_lsn, 0, commit_us, m.xid, seg, 0};
        break;
    }
    case 'I':
    case 'U':
    case 'D':
        return on_change(c, &m, e);
    case 'T':
        if (!c->skip_tx)
            log_warn("TRUNCATE in the source is not captured (the raw zone is append-only)");
        break;
    case 'C':
        c->in_tx = 0;
        if (!c->skip_tx)
            c->open_last_end = m.end_lsn;
        break;
    default:
        break;
    }
    return HDP_OK;
}

/* ------------------------------------------------------------------ session */

static int session(void *ctx, volatile int *stop, hdp_err *e)
{
    capture *c = ctx;
    int rc = load_state(c, e);
    if (rc != HDP_OK)
        return rc == HDP_ERR ? HDP_RETRY : rc;
    c->sql = pg_connect(c->cfg->source_dsn, NULL, NULL, e);
    if (c->sql == NULL)
        return HDP_RETRY;
    rc = pg_stream_start(&c->stream, c->cfg->source_dsn, CAPTURE_SLOT, HDP_PUBLICATION, e);
    if (rc != HDP_OK)
        return rc;
    c->dec = pgo_decoder_new();
    c->open_seg = -1;
    log_info("streaming slot %s into %s (segment %lld)", CAPTURE_SLOT, lake_describe(c->lake),
             (long long)c->segment);
    while (!*stop) {
        pgrepl_frame f;
        int got;
        rc = pg_stream_next(&c->stream, 100, &f, &got, e);
        if (rc == HDP_OK && got && f.kind == 'w')
            rc = on_message(c, f.data, f.len, e);
        if (rc == HDP_OK && got && !c->stream.status_due)
            continue;
        /* Idle means nothing unstored: no open transaction and no spooled row. */
        if (rc == HDP_OK)
            rc = pg_stream_tick(&c->stream, !c->in_tx && c->nspools == 0, e);
        if (rc == HDP_OK)
            rc = pg_stream_heartbeat(c->sql, c->in_tx, c->segment, c->cfg->segment_seconds,
                                     &c->last_heartbeat_us, e);
        if (rc != HDP_OK)
            return rc;
    }
    /* A clean stop leaves the open segment unconfirmed: the next run replays it whole. */
    return HDP_OK;
}

static void cleanup(void *ctx)
{
    capture *c = ctx;
    spool_discard_all(c);
    pg_stream_close(&c->stream);
    if (c->sql)
        PQfinish(c->sql);
    c->sql = NULL;
    pgo_decoder_free(c->dec);
    c->dec = NULL;
    c->in_tx = 0;
    c->open_seg = -1;
}

int capture_run(const hdp_config *cfg, volatile int *stop, hdp_err *e)
{
    capture c;
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.open_seg = -1;
    snprintf(c.spool_dir, sizeof(c.spool_dir), "%s/spool/capture", cfg->var_dir);
    if (fs_mkdirs(c.spool_dir, e) != HDP_OK)
        return HDP_ERR;
    c.lake = lake_open(cfg, e);
    if (c.lake == NULL)
        return HDP_ERR;
    int rc = retry_run(session, cleanup, &c, stop, 5000, e);
    log_info("stopped: %" PRIu64 " segment(s) closed, %" PRIu64 " change(s) spooled",
             c.closed_segments, c.rows);
    lake_close(c.lake);
    buf_free(&c.line);
    return rc;
}
