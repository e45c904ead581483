#include "speed/speed_stage.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/cdc.h"
#include "core/decimal.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "format/pgoutput.h"
#include "io/pg.h"
#include "speed/speed_sink.h"
#include "speed/speed_source.h"
#include "speed/speed_tx.h"
#include "lake/schema.h"

enum { T_OTHER, T_ORDERS, T_ITEMS, T_PRODUCTS };

/* Where the columns the speed layer reads sit in a relation (-1: absent). */
typedef struct rel_map {
    uint32_t relid;
    int kind;
    int col[5];
    char why[200]; /* the relation breaks the contract ("" when it does not) */
} rel_map;

enum { O_ID, O_TOTAL, O_CITY, O_PAID, O_REFUNDED };
enum { I_ORDER, I_PRODUCT, I_QTY, I_PRICE };
enum { P_ID, P_CAT };

typedef struct consumer {
    const hdp_config *cfg;
    cdc_consumer *cdc;
    hdp_redis *redis;
    speed_dims dims;
    speed_tx tx;
    speed_batch batch;
    rel_map *rels;
    size_t nrels;
    uint64_t applied_lsn; /* durable in Redis: the guard every write checks */
    uint64_t held;        /* durable in Redis: everything below it is reflected */
    hdp_buf ids_p, ids_o;
    uint64_t applied_tx;
} consumer;

/* ------------------------------------------------------------------ values */

static int val_i64(const pgo_tuple *t, int idx, int64_t *out)
{
    if (idx < 0 || idx >= t->ncols || t->vals[idx].kind != 't')
        return -1;
    const pgo_value *v = &t->vals[idx];
    int64_t x = 0;
    uint32_t i = 0;
    int neg = 0;
    if (v->len && v->data[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == v->len || v->len > 20)
        return -1;
    for (; i < v->len; i++) {
        if (v->data[i] < '0' || v->data[i] > '9')
            return -1;
        x = x * 10 + (v->data[i] - '0');
    }
    *out = neg ? -x : x;
    return 0;
}

/* Money of the contract: exactly NUMERIC(12,2) (3189.551 is refused, never cut). */
static int val_money(const pgo_tuple *t, int idx, int64_t *cents)
{
    const char *why;
    if (idx < 0 || idx >= t->ncols || t->vals[idx].kind != 't')
        return -1;
    return decimal_parse_money(t->vals[idx].data, t->vals[idx].len, cents, &why);
}

/* NULL → SPEED_TS_NULL; text → Unix µs. */
static int val_ts(const pgo_tuple *t, int idx, int64_t *us)
{
    if (idx < 0 || idx >= t->ncols)
        return -1;
    if (t->vals[idx].kind == 'n') {
        *us = SPEED_TS_NULL;
        return 0;
    }
    if (t->vals[idx].kind != 't')
        return -1;
    return ts_parse(t->vals[idx].data, t->vals[idx].len, us);
}

/* Text of the contract: valid UTF-8 (what compaction and the vault accept too). */
static int val_text(const pgo_tuple *t, int idx, const char **s, size_t *n)
{
    if (idx < 0 || idx >= t->ncols || t->vals[idx].kind != 't' ||
        !utf8_valid(t->vals[idx].data, t->vals[idx].len))
        return -1;
    *s = t->vals[idx].data;
    *n = t->vals[idx].len;
    return 0;
}

/* A JSON object of a tuple's text values, for quarantine records. */
static void tuple_json(hdp_buf *b, const pgo_relation *rel, const pgo_tuple *t)
{
    buf_putc(b, '{');
    for (int i = 0; i < t->ncols && i < rel->ncols; i++) {
        if (i)
            buf_putc(b, ',');
        buf_put_json_str(b, rel->cols[i].name, strlen(rel->cols[i].name));
        buf_putc(b, ':');
        if (t->vals[i].kind == 't' && utf8_valid(t->vals[i].data, t->vals[i].len)) {
            buf_put_json_str(b, t->vals[i].data, t->vals[i].len);
        } else if (t->vals[i].kind == 't') { /* not UTF-8: kept, as hex */
            static const char hex[] = "0123456789abcdef";
            buf_puts(b, "\"hex:");
            for (uint32_t k = 0; k < t->vals[i].len; k++) {
                buf_putc(b, hex[(unsigned char)t->vals[i].data[k] >> 4]);
                buf_putc(b, hex[(unsigned char)t->vals[i].data[k] & 15]);
            }
            buf_putc(b, '"');
        } else {
            buf_puts(b, t->vals[i].kind == 'n' ? "null" : "\"(unchanged toast)\"");
        }
    }
    buf_putc(b, '}');
}

static void quarantine_tuple(consumer *c, const pgo_relation *rel, const pgo_tuple *t,
                             const char *reason)
{
    hdp_buf b = HDP_BUF_INIT;
    if (t)
        tuple_json(&b, rel, t);
    speed_batch_quarantine(&c->batch, c->tx.end_lsn, rel->relname, reason, t ? b.data : NULL);
    buf_free(&b);
}

/* ------------------------------------------------------------------ relations */

static rel_map *rel_find(consumer *c, uint32_t relid)
{
    for (size_t i = 0; i < c->nrels; i++)
        if (c->rels[i].relid == relid)
            return &c->rels[i];
    return NULL;
}

static void rel_learn(consumer *c, const pgo_relation *r)
{
    rel_map *m = rel_find(c, r->relid);
    if (m == NULL) {
        c->rels = xrealloc(c->rels, (c->nrels + 1) * sizeof(rel_map));
        m = &c->rels[c->nrels++];
    }
    memset(m, 0, sizeof(*m));
    m->relid = r->relid;
    for (int i = 0; i < 5; i++)
        m->col[i] = -1;
    if (strcmp(r->relname, "orders") == 0) {
        m->kind = T_ORDERS;
        const char *names[] = {"order_id", "total", "ship_city", "paid_at", "refunded_at"};
        for (int i = 0; i < 5; i++)
            m->col[i] = pgo_col_index(r, names[i]);
    } else if (strcmp(r->relname, "order_items") == 0) {
        m->kind = T_ITEMS;
        const char *names[] = {"order_id", "product_id", "quantity", "unit_price"};
        for (int i = 0; i < 4; i++)
            m->col[i] = pgo_col_index(r, names[i]);
    } else if (strcmp(r->relname, "products") == 0) {
        m->kind = T_PRODUCTS;
        m->col[P_ID] = pgo_col_index(r, "product_id");
        m->col[P_CAT] = pgo_col_index(r, "category");
    } else {
        m->kind = T_OTHER;
    }
    const sch_table *t = sch_find(r->relname, strlen(r->relname));
    if (m->kind != T_OTHER && t && sch_relation_check(t, r, m->why, sizeof(m->why)) != 0)
        log_warn("%s breaks the contract: %s (its changes are quarantined)", r->relname, m->why);
}

/* ------------------------------------------------------------------ changes */

static int order_row(const rel_map *m, const pgo_tuple *t, speed_order_row *r)
{
    if (val_i64(t, m->col[O_ID], &r->order_id) || val_money(t, m->col[O_TOTAL], &r->total) ||
        val_text(t, m->col[O_CITY], &r->city, &r->city_len) ||
        val_ts(t, m->col[O_PAID], &r->paid_at) || val_ts(t, m->col[O_REFUNDED], &r->refunded_at))
        return -1;
    return 0;
}

static void on_change(consumer *c, const pgo_msg *msg)
{
    rel_map *m = rel_find(c, msg->rel->relid);
    if (m == NULL || m->kind == T_OTHER)
        return;
    const pgo_relation *rel = msg->rel;
    if (m->why[0]) {
        quarantine_tuple(c, rel, msg->kind == 'D' ? &msg->old_tuple : &msg->new_tuple, m->why);
        return;
    }
    if (m->kind == T_ORDERS) {
        speed_order_row o, n;
        const pgo_tuple *bad = NULL;
        int has_old = msg->kind == 'D' || (msg->kind == 'U' && msg->old_kind == 'O');
        int has_new = msg->kind != 'D';
        if ((msg->kind == 'U' || msg->kind == 'D') && msg->old_kind != 'O') {
            quarantine_tuple(c, rel, msg->kind == 'U' ? &msg->new_tuple : &msg->old_tuple,
                             "orders change without the old row (REPLICA IDENTITY FULL needed)");
            return;
        }
        if (has_old && order_row(m, &msg->old_tuple, &o))
            bad = &msg->old_tuple;
        if (has_new && order_row(m, &msg->new_tuple, &n))
            bad = &msg->new_tuple;
        if (bad) {
            quarantine_tuple(c, rel, bad,
                             "orders row violates the contract (order_id, total as exact "
                             "NUMERIC(12,2), ship_city as UTF-8, paid_at, refunded_at)");
            return;
        }
        speed_tx_order(&c->tx, has_old ? &o : NULL, has_new ? &n : NULL);
    } else if (m->kind == T_ITEMS) {
        if (msg->kind != 'I') {
            quarantine_tuple(c, rel, msg->kind == 'U' ? &msg->new_tuple : &msg->old_tuple,
                             "order_items changed after placement (items are immutable)");
            return;
        }
        speed_tx_item it;
        if (val_i64(&msg->new_tuple, m->col[I_ORDER], &it.order_id) ||
            val_i64(&msg->new_tuple, m->col[I_PRODUCT], &it.product_id) ||
            val_i64(&msg->new_tuple, m->col[I_QTY], &it.quantity) ||
            val_money(&msg->new_tuple, m->col[I_PRICE], &it.unit_price)) {
            quarantine_tuple(c, rel, &msg->new_tuple,
                             "order_items row violates the contract (order_id, product_id, "
                             "quantity, unit_price as exact NUMERIC(12,2))");
            return;
        }
        speed_tx_item_insert(&c->tx, &it);
    } else if (m->kind == T_PRODUCTS && msg->kind != 'D') {
        int64_t id;
        const char *cat;
        size_t n;
        if (val_i64(&msg->new_tuple, m->col[P_ID], &id) ||
            val_text(&msg->new_tuple, m->col[P_CAT], &cat, &n)) {
            quarantine_tuple(c, rel, &msg->new_tuple,
                             "products row violates the contract (product_id, category as UTF-8)");
            return;
        }
        speed_dims_put_product(&c->dims, id, cat, n);
    }
}

/* ------------------------------------------------------------------ source lookups */

static int load_missing(consumer *c, hdp_err *e)
{
    return speed_source_missing(cdc_sql(c->cdc), &c->tx, &c->dims, &c->ids_p, &c->ids_o, e);
}

static int load_products(consumer *c, hdp_err *e)
{
    return speed_source_products(cdc_sql(c->cdc), &c->dims, e);
}

/* ------------------------------------------------------------------ the sink */

/* The state this consumer builds on is gone: say so where /health and `hdp status` look, and
 * stop for good (writing on would make every answer wrong). */
static int lost_state(consumer *c, hdp_err *e)
{
    char reason[sizeof(e->msg)];
    snprintf(reason, sizeof(reason), "%s", e->msg);
    speed_sink_fault(c->redis, reason);
    return hdp_fail(e,
                    "%s; stopped so no answer is wrong: run `hdp rebuild speed`, then start "
                    "`hdp speed` again",
                    reason);
}

static int flush(consumer *c, hdp_err *e)
{
    if (c->batch.ntx == 0)
        return HDP_OK;
    int lost = 0;
    int rc = speed_sink_write(c->redis, &c->batch, c->applied_lsn, &lost, e);
    if (lost)
        return lost_state(c, e);
    /* On RETRY the session restarts: PostgreSQL resends what was not confirmed and the LSN
     * guard skips what Redis already holds. */
    if (rc != HDP_OK)
        return rc;
    c->applied_lsn = c->held = c->batch.end_lsn;
    c->applied_tx += c->batch.ntx;
    if (c->batch.nquarantine)
        log_warn("quarantined %zu record(s) (see Redis list hdp:speed:quarantine)",
                 c->batch.nquarantine);
    speed_batch_reset(&c->batch);
    cdc_confirm(c->cdc, c->applied_lsn);
    return HDP_OK;
}

/* Idle and caught up: the server's WAL moved on without a transaction for us (other
 * databases, the heartbeat of another slot). Record that in Redis, then confirm it, so the
 * slot holds no WAL back and a later start can still tell a lost Redis from an idle one. */
static int hold_idle(consumer *c, hdp_err *e)
{
    uint64_t server = cdc_server_lsn(c->cdc);
    if (c->batch.ntx || cdc_in_tx(c->cdc) || server <= c->held)
        return HDP_OK;
    int lost = 0;
    int rc = speed_sink_hold(c->redis, c->applied_lsn, server, &lost, e);
    if (lost)
        return lost_state(c, e);
    if (rc != HDP_OK)
        return rc;
    c->held = server;
    cdc_confirm(c->cdc, server);
    return HDP_OK;
}

/* ------------------------------------------------------------------ callbacks */

static int cb_begin(void *ctx, const cdc_tx *tx, hdp_err *e)
{
    (void)e;
    consumer *c = ctx;
    speed_tx_begin(&c->tx, tx->final_lsn, tx->commit_us);
    return HDP_OK;
}

static int cb_relation(void *ctx, const pgo_relation *rel, hdp_err *e)
{
    (void)e;
    rel_learn(ctx, rel);
    return HDP_OK;
}

static int cb_change(void *ctx, const cdc_tx *tx, const pgo_msg *m, hdp_err *e)
{
    (void)tx;
    (void)e;
    consumer *c = ctx;
    if (m->kind == 'T')
        speed_batch_quarantine(&c->batch, c->tx.end_lsn, "(truncate)",
                               "TRUNCATE is not applied by the speed layer", NULL);
    else
        on_change(c, m);
    return HDP_OK;
}

static int cb_commit(void *ctx, const cdc_tx *tx, hdp_err *e)
{
    consumer *c = ctx;
    c->tx.end_lsn = tx->end_lsn;
    int rc = load_missing(c, e);
    if (rc != HDP_OK)
        return rc;
    speed_tx_apply(&c->tx, &c->dims, tx->segment, &c->batch);
    c->batch.segment = tx->segment;
    c->batch.end_lsn = tx->end_lsn;
    c->batch.commit_us = tx->commit_us;
    if (c->batch.ntx++ == 0)
        c->batch.opened_us = mono_us();
    if (c->batch.deltas.len > 500000)
        return flush(c, e);
    return HDP_OK;
}

static const cdc_callbacks callbacks = {
    .begin = cb_begin, .relation = cb_relation, .change = cb_change, .commit = cb_commit};

/* ------------------------------------------------------------------ the stage */

/* Reads what Redis holds, checks it is the state this slot was confirmed against, and
 * starts streaming after it. */
static int start(consumer *c, hdp_err *e)
{
    speed_state st;
    int rc = speed_sink_load(c->redis, &st, e);
    if (rc != HDP_OK)
        return rc;
    if (!st.exists) {
        hdp_fail(e,
                 "Redis holds no speed state (%s is missing): it lost the speed layer's "
                 "data, or `hdp init` never ran against it",
                 "hdp:speed:state");
        return lost_state(c, e);
    }
    rc = cdc_start(c->cdc, st.lsn, st.segment, e);
    if (rc == HDP_OK)
        rc = load_products(c, e);
    if (rc != HDP_OK)
        return rc;
    uint64_t slot = cdc_slot_lsn(c->cdc),
             known = st.held > st.slot_created ? st.held : st.slot_created;
    if (slot > known && (st.held || st.slot_created)) {
        char a[24], b[24];
        pg_lsn_format(known, a);
        pg_lsn_format(slot, b);
        hdp_fail(e,
                 "Redis lost data: the speed state reflects changes up to LSN %s but slot %s "
                 "was confirmed up to %s",
                 a, CDC_SLOT_SPEED, b);
        return lost_state(c, e);
    }
    c->applied_lsn = st.lsn;
    c->held = st.held;
    log_info("streaming slot %s from LSN %" PRIu64 " (segment %lld)", CDC_SLOT_SPEED,
             slot > c->applied_lsn ? slot : c->applied_lsn, (long long)st.segment);
    return HDP_OK;
}

static int speed_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    (void)a;
    (void)e;
    consumer *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->cdc = cdc_new(cfg->source_dsn, CDC_SLOT_SPEED, cfg->segment_seconds, &callbacks, c);
    c->redis = redis_new(&cfg->redis, 10000);
    speed_dims_init(&c->dims);
    speed_tx_init(&c->tx);
    speed_batch_init(&c->batch);
    *ctx = c;
    return HDP_OK;
}

/* One slice: up to ~100 ms of frames (less while a batch waits for its write), then the
 * batch when its time is up, the status update and the heartbeat. */
static int speed_run(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    (void)cancel;
    (void)r;
    consumer *c = ctx;
    int rc = HDP_OK;
    if (!cdc_started(c->cdc))
        rc = start(c, e);
    int64_t batch_us = c->cfg->speed_batch_ms * 1000;
    int wait_ms = 100;
    if (c->batch.ntx) {
        int64_t left = batch_us - (mono_us() - c->batch.opened_us);
        wait_ms = left > 0 ? (int)(left / 1000) : 0;
    }
    if (rc == HDP_OK)
        rc = cdc_poll(c->cdc, wait_ms, 4096, e);
    if (rc == HDP_OK && c->batch.ntx && mono_us() - c->batch.opened_us >= batch_us)
        rc = flush(c, e);
    if (rc == HDP_OK)
        rc = hold_idle(c, e);
    if (rc == HDP_OK)
        rc = cdc_tick(c->cdc, 0, e);
    return rc;
}

/* After a failed slice: drop the session; what Redis did not take is resent. */
static void speed_reset(void *ctx)
{
    consumer *c = ctx;
    cdc_stop(c->cdc);
    redis_disconnect(c->redis);
    c->nrels = 0;
    speed_batch_reset(&c->batch);
}

/* A clean stop: write what is held and confirm it. */
static int speed_finish(void *ctx, hdp_err *e)
{
    consumer *c = ctx;
    if (!cdc_started(c->cdc))
        return HDP_OK;
    int rc = flush(c, e);
    if (rc == HDP_OK)
        rc = cdc_tick(c->cdc, 0, e);
    return rc == HDP_RETRY ? HDP_OK : rc; /* unconfirmed changes are resent next time */
}

static void speed_close(void *ctx)
{
    consumer *c = ctx;
    log_info("stopped after %" PRIu64 " applied transactions (LSN %" PRIu64 ")", c->applied_tx,
             c->applied_lsn);
    cdc_free(c->cdc);
    redis_free(c->redis);
    speed_dims_free(&c->dims);
    speed_tx_free(&c->tx);
    speed_batch_free(&c->batch);
    free(c->rels);
    buf_free(&c->ids_p);
    buf_free(&c->ids_o);
    free(c);
}

const hdp_stage speed_stage = {
    .name = "speed",
    .description = "slot hdp_speed -> per-segment aggregates in Redis (the speed layer)",
    .kind = STAGE_STREAM,
    .init = speed_init,
    .run = speed_run,
    .reset = speed_reset,
    .finish = speed_finish,
    .close = speed_close,
};
