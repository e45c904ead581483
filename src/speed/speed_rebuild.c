/* speed_rebuild.c — `hdp rebuild speed`: the speed layer's state recomputed from the lake's
 * raw zone, for when Redis lost acknowledged writes (hdp speed stops and says so).
 *
 * The slot hdp_speed is created anew; its consistent point P splits the stream: every
 * transaction committed before P is replayed from the raw zone (capture keeps running and
 * closes the segment holding P within HDP_SEGMENT_SECONDS; the rebuild waits for that), every
 * one after P comes from the new slot when `hdp speed` starts again. The replay runs the
 * speed layer's own transaction logic (speed_tx) over the raw changes in commit order, from
 * the first segment, so each order's previous version is known; the aggregates of the
 * segments from `floor` on are kept — floor = min(W + 1, the first segment of yesterday), so
 * the speed layer again holds everything above the batch watermark and all of today and
 * yesterday (what it must answer alone when the batch store is away). They replace Redis's
 * speed keys in one MULTI/EXEC, with a fresh state (LSN guard, clamp, slot position) and the
 * fault cleared. */
#include "speed/speed_rebuild.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdc/cdc.h"
#include "core/decimal.h"
#include "core/i64map.h"
#include "core/lake_layout.h"
#include "core/log.h"
#include "core/speed_model.h"
#include "core/timeutil.h"
#include "format/jsonl.h"
#include "io/lake.h"
#include "lake/lake_conf.h"
#include "io/pg.h"
#include "io/redis.h"
#include "lake/lake_state.h"
#include "lake/manifest.h"
#include "lake/schema.h"
#include "speed/speed_batch.h"
#include "speed/speed_dims.h"
#include "speed/speed_sink.h"
#include "speed/speed_source.h"
#include "speed/speed_tx.h"

enum { T_ORDERS, T_ITEMS, T_PRODUCTS, T_N };
static const char *const table_names[T_N] = {"orders", "order_items", "products"};

/* One typed raw change, kept until its transaction is replayed. */
typedef struct change {
    int64_t lsn, seq, ts, seg;
    int table;
    char op;
    int64_t id, a, b, c; /* orders: id, total, paid, refunded; items: order, product, qty, price;
                            products: id */
    char *text;          /* orders: ship_city; products: category (owned) */
    size_t text_len;
} change;

typedef struct rebuild {
    const hdp_config *cfg;
    hdp_lake *lake;
    PGconn *src;
    speed_dims dims;
    speed_tx tx;
    speed_batch keep;    /* the rebuilt aggregates (segments >= floor) */
    speed_batch discard; /* what older segments produced: only their side effects count */
    i64map last_order;   /* order_id -> index into orders[] of its last version */
    speed_order_row *orders;
    char **order_city;
    size_t norders, orders_cap;
    hdp_buf ids_p, ids_o;
    int64_t floor_seg, last_seg;
    uint64_t last_lsn;
    int64_t replayed, skipped;
} rebuild;

/* ------------------------------------------------------------------ replay */

static void remember_order(rebuild *r, const speed_order_row *row)
{
    int64_t idx;
    if (!i64map_get(&r->last_order, row->order_id, &idx)) {
        if (r->norders == r->orders_cap) {
            r->orders_cap = r->orders_cap ? r->orders_cap * 2 : 4096;
            r->orders = xrealloc(r->orders, r->orders_cap * sizeof(*r->orders));
            r->order_city = xrealloc(r->order_city, r->orders_cap * sizeof(char *));
        }
        idx = (int64_t)r->norders++;
        i64map_put(&r->last_order, row->order_id, idx);
        r->order_city[idx] = NULL;
    }
    free(r->order_city[idx]);
    r->orders[idx] = *row;
    r->order_city[idx] = xstrndup(row->city, row->city_len);
    r->orders[idx].city = r->order_city[idx];
}

static int previous_order(rebuild *r, int64_t id, speed_order_row *out)
{
    int64_t idx;
    if (!i64map_get(&r->last_order, id, &idx))
        return 0;
    *out = r->orders[idx];
    return 1;
}

/* Replays one transaction's changes (sorted by seq) through the speed layer's logic. */
static int replay_tx(rebuild *r, change *ch, size_t n, hdp_err *e)
{
    speed_batch *into = ch[0].seg >= r->floor_seg ? &r->keep : &r->discard;
    speed_tx_begin(&r->tx, (uint64_t)ch[0].lsn, ch[0].ts);
    for (size_t i = 0; i < n; i++) {
        const change *c = &ch[i];
        if (c->table == T_PRODUCTS) {
            if (c->op != 'D' && c->text)
                speed_dims_put_product(&r->dims, c->id, c->text, c->text_len);
        } else if (c->table == T_ITEMS) {
            if (c->op == 'I') {
                speed_tx_item it = {c->id, c->a, c->b, c->c};
                speed_tx_item_insert(&r->tx, &it);
            }
        } else {
            speed_order_row old, nw = {c->id, c->a, c->b, c->c, c->text, c->text_len};
            int has_old = previous_order(r, c->id, &old);
            speed_tx_order(&r->tx, has_old ? &old : NULL, c->op == 'D' ? NULL : &nw);
            if (c->op != 'D')
                remember_order(r, &nw);
        }
    }
    int rc = speed_source_missing(r->src, &r->tx, &r->dims, &r->ids_p, &r->ids_o, e);
    if (rc != HDP_OK)
        return rc;
    speed_tx_apply(&r->tx, &r->dims, ch[0].seg, into);
    if (ch[0].seg > r->last_seg)
        r->last_seg = ch[0].seg;
    r->last_lsn = (uint64_t)ch[0].lsn;
    r->replayed++;
    if (into == &r->discard)
        speed_batch_reset(&r->discard);
    return HDP_OK;
}

static int cmp_change(const void *pa, const void *pb)
{
    const change *a = pa, *b = pb;
    if (a->lsn != b->lsn)
        return a->lsn < b->lsn ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static long col_of(const sch_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Parses one raw object into changes (commit LSN < until only). Lines that break the
 * contract are skipped: compaction quarantines them, the speed layer did too. */
static int read_object(rebuild *r, const raw_object *o, int table, uint64_t until, change **v,
                       size_t *n, size_t *cap, hdp_err *e)
{
    hdp_buf obj = HDP_BUF_INIT;
    int rc = lake_get(r->lake, o->key, &obj, e);
    const sch_table *t = sch_find(table_names[table], strlen(table_names[table]));
    static const char *const cols[T_N][5] = {
        {"order_id", "total", "paid_at", "refunded_at", "ship_city"},
        {"order_id", "product_id", "quantity", "unit_price", NULL},
        {"product_id", "category", NULL, NULL, NULL}};
    long ci[5];
    for (int k = 0; k < 5; k++)
        ci[k] = cols[table][k] ? col_of(t, cols[table][k]) : -1;
    jsonl_scanner sc = {0};
    sch_value row[SCH_MAX_COLS];
    for (const char *p = obj.data, *end = obj.data + obj.len; rc == HDP_OK && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *why;
        char why_buf[128];
        uint64_t unknown = 0;
        int ok = jsonl_scan(&sc, p, len, &why) == 0 &&
                 sch_map(t, &sc, row, &unknown, why_buf, &why) == 0;
        p += len + (nl != NULL);
        if (!ok || (uint64_t)row[SCH_COMMIT_LSN].i >= until) {
            r->skipped += !ok;
            continue;
        }
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 4096;
            *v = xrealloc(*v, *cap * sizeof(**v));
        }
        change *c = &(*v)[(*n)++];
        memset(c, 0, sizeof(*c));
        c->lsn = row[SCH_COMMIT_LSN].i;
        c->seq = row[SCH_SEQ].i;
        c->ts = row[SCH_COMMIT_TS].i;
        c->seg = row[SCH_SEGMENT].i;
        c->op = row[SCH_OP].s[0];
        c->table = table;
        const sch_value *f0 = &row[ci[0]], *f1 = &row[ci[1]];
        c->id = f0->i;
        if (table == T_PRODUCTS) {
            if (!f1->null) {
                c->text = xstrndup(f1->s, f1->n);
                c->text_len = f1->n;
            }
            continue;
        }
        const sch_value *f2 = &row[ci[2]], *f3 = &row[ci[3]];
        c->a = f1->i;
        if (table == T_ITEMS) {
            c->b = f2->i;
            c->c = f3->i;
            continue;
        }
        c->b = f2->null ? SPEED_TS_NULL : f2->i;
        c->c = f3->null ? SPEED_TS_NULL : f3->i;
        const sch_value *city = &row[ci[4]];
        c->text = xstrndup(city->null ? "" : city->s, city->null ? 0 : city->n);
        c->text_len = city->null ? 0 : city->n;
    }
    jsonl_scanner_free(&sc);
    buf_free(&obj);
    return rc;
}

/* Replays every closed segment, in order. */
static int replay_lake(rebuild *r, uint64_t until, hdp_err *e)
{
    lake_keys l = {0};
    int rc = lake_list_keys(r->lake, LAKE_SEGMENTS_PREFIX, &l, e);
    int64_t *segs = xmalloc((l.n ? l.n : 1) * sizeof(*segs));
    size_t nsegs = 0;
    for (size_t i = 0; rc == HDP_OK && i < l.n; i++) {
        char *end;
        long long s = strtoll(l.keys[i] + strlen(LAKE_SEGMENTS_PREFIX), &end, 10);
        if (strcmp(end, ".json") == 0)
            segs[nsegs++] = s;
    }
    lake_keys_free(&l);
    for (size_t i = 1; i < nsegs; i++) /* insertion sort: keys are nearly in order */
        for (size_t j = i; j > 0 && segs[j - 1] > segs[j]; j--) {
            int64_t t = segs[j];
            segs[j] = segs[j - 1];
            segs[j - 1] = t;
        }
    hdp_buf b = HDP_BUF_INIT;
    change *v = NULL;
    size_t cap = 0;
    for (size_t i = 0; rc == HDP_OK && i < nsegs; i++) {
        char key[128];
        snprintf(key, sizeof(key), LAKE_SEGMENT_KEY_FMT, (long long)segs[i]);
        raw_object *objs = NULL;
        size_t nobjs = 0, n = 0;
        int64_t mseg;
        rc = lake_get(r->lake, key, &b, e);
        if (rc == HDP_OK && marker_decode(b.data, b.len, &mseg, &objs, &nobjs, e) != HDP_OK) {
            hdp_err_prefix(e, "%s: ", key);
            rc = HDP_ERR;
        }
        for (size_t k = 0; rc == HDP_OK && k < nobjs; k++)
            for (int t = 0; t < T_N; t++)
                if (strcmp(objs[k].table, table_names[t]) == 0)
                    rc = read_object(r, &objs[k], t, until, &v, &n, &cap, e);
        free(objs);
        if (rc == HDP_OK)
            qsort(v, n, sizeof(*v), cmp_change);
        for (size_t a = 0; rc == HDP_OK && a < n;) {
            size_t z = a + 1;
            while (z < n && v[z].lsn == v[a].lsn)
                z++;
            rc = replay_tx(r, v + a, z - a, e);
            a = z;
        }
        for (size_t k = 0; k < n; k++)
            free(v[k].text);
        if ((i + 1) % 500 == 0 || i + 1 == nsegs)
            log_info("rebuild: %zu of %zu segment(s) replayed (%" PRId64 " transaction(s))", i + 1,
                     nsegs, r->replayed);
    }
    free(v);
    free(segs);
    buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ the command */

/* Drops and creates slot hdp_speed; *consistent gets its consistent point. */
static int new_slot(PGconn *c, uint64_t *consistent, hdp_err *e)
{
    const char *p[1] = {CDC_SLOT_SPEED};
    PGresult *r =
        pg_query(c, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", 1, p, e);
    if (r == NULL)
        return HDP_ERR;
    int exists = PQntuples(r) == 1, active = exists && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (active)
        return hdp_fail(e, "slot %s is in use: stop `hdp speed` first", CDC_SLOT_SPEED);
    if (exists) {
        r = pg_query(c, "SELECT pg_drop_replication_slot($1)", 1, p, e);
        if (r == NULL)
            return HDP_ERR;
        PQclear(r);
    }
    r = pg_query(c, "SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", 1, p, e);
    if (r == NULL)
        return HDP_ERR;
    unsigned long long lsn = 0;
    pg_lsn_parse(PQgetvalue(r, 0, 0), &lsn);
    PQclear(r);
    *consistent = lsn;
    return HDP_OK;
}

/* Waits until capture has closed a segment ending at or after lsn. */
static int wait_for_capture(rebuild *r, uint64_t lsn, long wait_s, hdp_err *e)
{
    char want[24];
    pg_lsn_format(lsn, want);
    log_info("rebuild: waiting for capture to close the segment holding LSN %s", want);
    for (long t = 0; t <= wait_s * 2; t++) {
        hdp_buf b = HDP_BUF_INIT;
        int found = 0;
        int rc = lake_head(r->lake, LAKE_CAPTURE_STATE_KEY, &found, NULL, e);
        if (rc == HDP_OK && found)
            rc = lake_get(r->lake, LAKE_CAPTURE_STATE_KEY, &b, e);
        const char *p = b.data ? strstr(b.data, "\"end_lsn\":") : NULL;
        uint64_t end = p ? strtoull(p + 10, NULL, 10) : 0;
        buf_free(&b);
        if (rc != HDP_OK)
            return rc;
        if (end >= lsn)
            return HDP_OK;
        usleep(500 * 1000);
    }
    return hdp_fail(e,
                    "capture did not close the segment holding LSN %s within %ld s (is "
                    "`hdp capture` running?)",
                    want, wait_s);
}

/* The first segment the speed layer must hold again: above W, and all of yesterday. */
static int64_t floor_segment(const hdp_config *cfg, hdp_redis *redis)
{
    int64_t yesterday = (floor_div(now_unix_us(), USEC_PER_DAY) - 1) * 86400;
    int64_t from = floor_div(yesterday, cfg->segment_seconds);
    redisReply *rep = NULL;
    hdp_err e;
    long long w;
    if (redis_command(redis, &rep, &e, "GET %s", BATCH_WATERMARK_KEY) == HDP_OK &&
        redis_reply_i64(rep, &w) == 0 && w + 1 < from)
        from = w + 1;
    else if (rep == NULL || rep->type == REDIS_REPLY_NIL)
        from = 0; /* no batch layer: the speed layer holds everything */
    freeReplyObject(rep);
    return from;
}

int speed_rebuild(const hdp_config *cfg, long wait_s, speed_rebuild_stats *out, hdp_err *e)
{
    memset(out, 0, sizeof(*out));
    rebuild r = {.cfg = cfg, .last_seg = -1};
    speed_dims_init(&r.dims);
    speed_tx_init(&r.tx);
    speed_batch_init(&r.keep);
    speed_batch_init(&r.discard);
    hdp_redis *redis = redis_new(&cfg->redis, 30000);
    int rc = pg_open(&r.src, cfg->source_dsn, NULL, NULL, e);
    r.lake = rc == HDP_OK ? lake_open_config(cfg, e) : NULL;
    if (rc == HDP_OK && r.lake == NULL)
        rc = HDP_ERR;
    redisReply *ping = NULL;
    if (rc == HDP_OK) /* Redis must answer before the slot goes */
        rc = redis_command(redis, &ping, e, "PING");
    freeReplyObject(ping);
    uint64_t p = 0;
    if (rc == HDP_OK)
        rc = new_slot(r.src, &p, e);
    if (rc == HDP_OK)
        rc = wait_for_capture(&r, p, wait_s, e);
    if (rc == HDP_OK)
        rc = speed_source_products(r.src, &r.dims, e);
    r.floor_seg = floor_segment(cfg, redis);
    if (rc == HDP_OK)
        rc = replay_lake(&r, p, e);
    if (rc == HDP_OK) {
        r.keep.end_lsn = r.last_lsn;
        r.keep.segment = r.last_seg;
        rc = speed_sink_replace(redis, &r.keep, p, r.floor_seg, e);
    }
    out->consistent_lsn = p;
    out->floor_segment = r.floor_seg;
    out->transactions = r.replayed;
    out->skipped_lines = r.skipped;
    out->segment = r.last_seg;
    speed_dims_free(&r.dims);
    speed_tx_free(&r.tx);
    speed_batch_free(&r.keep);
    speed_batch_free(&r.discard);
    i64map_free(&r.last_order);
    for (size_t i = 0; i < r.norders; i++)
        free(r.order_city[i]);
    free(r.orders);
    free(r.order_city);
    buf_free(&r.ids_p);
    buf_free(&r.ids_o);
    lake_close(r.lake);
    if (r.src)
        PQfinish(r.src);
    redis_free(redis);
    return rc;
}
