#include "speed/speed_consumer.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/decimal.h"
#include "core/log.h"
#include "core/retry.h"
#include "core/segment.h"
#include "core/timeutil.h"
#include "format/pgoutput.h"
#include "io/pg.h"
#include "io/pg_stream.h"
#include "speed/speed_sink.h"
#include "speed/speed_tx.h"

enum { T_OTHER, T_ORDERS, T_ITEMS, T_PRODUCTS };

/* Where the columns the speed layer reads sit in a relation (-1: absent). */
typedef struct rel_map {
    uint32_t relid;
    int kind;
    int col[5];
} rel_map;

enum { O_ID, O_TOTAL, O_CITY, O_PAID, O_REFUNDED };
enum { I_ORDER, I_PRODUCT, I_QTY, I_PRICE };
enum { P_ID, P_CAT };

typedef struct consumer {
    const hdp_config *cfg;
    pg_stream stream;
    PGconn *sql;
    hdp_redis *redis;
    pgo_decoder *dec;
    speed_dims dims;
    speed_tx tx;
    int in_tx;
    int skip_tx;
    speed_batch batch;
    rel_map *rels;
    size_t nrels;
    uint64_t applied_lsn; /* durable in Redis */
    int64_t segment;
    int64_t last_heartbeat_us;
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

static int val_money(const pgo_tuple *t, int idx, int64_t *cents)
{
    if (idx < 0 || idx >= t->ncols || t->vals[idx].kind != 't')
        return -1;
    return decimal_parse(t->vals[idx].data, t->vals[idx].len, cents);
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

static int val_text(const pgo_tuple *t, int idx, const char **s, size_t *n)
{
    if (idx < 0 || idx >= t->ncols || t->vals[idx].kind != 't')
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
        if (t->vals[i].kind == 't')
            buf_put_json_str(b, t->vals[i].data, t->vals[i].len);
        else
            buf_puts(b, t->vals[i].kind == 'n' ? "null" : "\"(unchanged toast)\"");
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
    if (m == NULL || m->kind == T_OTHER || c->skip_tx)
        return;
    const pgo_relation *rel = msg->rel;
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
                             "orders row violates the contract (unparsable or "
                             "missing order_id/total/ship_city/paid_at/refunded_at)");
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
            quarantine_tuple(c, rel, &msg->new_tuple, "order_items row violates the contract");
            return;
        }
        speed_tx_item_insert(&c->tx, &it);
    } else if (m->kind == T_PRODUCTS && msg->kind != 'D') {
        int64_t id;
        const char *cat;
        size_t n;
        if (val_i64(&msg->new_tuple, m->col[P_ID], &id) ||
            val_text(&msg->new_tuple, m->col[P_CAT], &cat, &n)) {
            quarantine_tuple(c, rel, &msg->new_tuple, "products row violates the contract");
            return;
        }
        speed_dims_put_product(&c->dims, id, cat, n);
    }
}

/* ------------------------------------------------------------------ source lookups */

static void ids_array(const hdp_buf *ids, hdp_buf *out)
{
    const int64_t *v = (const int64_t *)ids->data;
    size_t n = ids->len / sizeof(int64_t);
    buf_reset(out);
    buf_putc(out, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(out, ',');
        buf_put_i64(out, v[i]);
    }
    buf_putc(out, '}');
}

/* Loads what the dims lack from the source: items never change after an order is placed
 * and a product's category never changes, so the current source state is the truth. */
static int load_missing(consumer *c, hdp_err *e)
{
    speed_tx_missing(&c->tx, &c->dims, &c->ids_p, &c->ids_o);
    hdp_buf arr = HDP_BUF_INIT;
    int rc = HDP_OK;
    if (c->ids_p.len) {
        ids_array(&c->ids_p, &arr);
        const char *p[1] = {arr.data};
        PGresult *r = pg_query(c->sql,
                               "SELECT product_id, category FROM products "
                               "WHERE product_id = ANY($1::bigint[])",
                               1, p, e);
        if (r == NULL)
            rc = HDP_RETRY;
        for (int i = 0; r && i < PQntuples(r); i++)
            speed_dims_put_product(&c->dims, strtoll(PQgetvalue(r, i, 0), NULL, 10),
                                   PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
        PQclear(r);
    }
    if (rc == HDP_OK && c->ids_o.len) {
        ids_array(&c->ids_o, &arr);
        const char *p[1] = {arr.data};
        PGresult *r = pg_query(c->sql,
                               "SELECT oi.order_id, p.category, sum(oi.quantity * oi.unit_price) "
                               "FROM order_items oi JOIN products p USING (product_id) "
                               "WHERE oi.order_id = ANY($1::bigint[]) GROUP BY 1, 2 ORDER BY 1",
                               1, p, e);
        if (r == NULL)
            rc = HDP_RETRY;
        int64_t pairs[64];
        size_t np = 0;
        int64_t cur = -1;
        for (int i = 0; r && i <= PQntuples(r); i++) {
            int64_t oid = i < PQntuples(r) ? strtoll(PQgetvalue(r, i, 0), NULL, 10) : -1;
            if (oid != cur && cur >= 0) {
                speed_dims_put_order(&c->dims, cur, pairs, np);
                np = 0;
            }
            cur = oid;
            if (i == PQntuples(r) || np >= 32)
                continue;
            int64_t cents;
            if (decimal_parse(PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2), &cents))
                continue;
            pairs[2 * np] =
                speed_dims_intern(&c->dims, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
            pairs[2 * np + 1] = cents;
            np++;
        }
        PQclear(r);
    }
    buf_free(&arr);
    return rc;
}

static int load_products(consumer *c, hdp_err *e)
{
    PGresult *r = pg_query(c->sql, "SELECT product_id, category FROM products", 0, NULL, e);
    if (r == NULL)
        return HDP_RETRY;
    for (int i = 0; i < PQntuples(r); i++)
        speed_dims_put_product(&c->dims, strtoll(PQgetvalue(r, i, 0), NULL, 10),
                               PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
    PQclear(r);
    return HDP_OK;
}

/* ------------------------------------------------------------------ batches, status */

static int flush(consumer *c, hdp_err *e)
{
    if (c->batch.ntx == 0)
        return HDP_OK;
    /* On any failure the session restarts: PostgreSQL resends what was not confirmed and
     * the LSN guard skips what Redis already holds. */
    if (speed_sink_write(c->redis, &c->batch, e) != HDP_OK)
        return HDP_RETRY;
    c->applied_lsn = c->batch.end_lsn;
    c->applied_tx += c->batch.ntx;
    if (c->batch.nquarantine)
        log_warn("quarantined %zu record(s) (see Redis list hdp:speed:quarantine)",
                 c->batch.nquarantine);
    speed_batch_reset(&c->batch);
    pg_stream_confirm(&c->stream, c->applied_lsn);
    return HDP_OK;
}

/* Moves a quiet source on once the open segment's time is over, so it closes. */

/* ------------------------------------------------------------------ messages */

static int on_message(consumer *c, const uint8_t *data, size_t len, hdp_err *e)
{
    pgo_msg msg;
    if (pgo_decode(c->dec, data, len, &msg, e) != HDP_OK) {
        hdp_err_prefix(e, "pgoutput: ");
        return HDP_ERR;
    }
    switch (msg.kind) {
    case 'B':
        c->in_tx = 1;
        c->skip_tx = msg.final_lsn != 0 && msg.final_lsn <= c->applied_lsn;
        speed_tx_begin(&c->tx, msg.final_lsn, msg.commit_ts + PG_EPOCH_UNIX_USEC);
        break;
    case 'R':
        rel_learn(c, msg.rel);
        break;
    case 'I':
    case 'U':
    case 'D':
        on_change(c, &msg);
        break;
    case 'T':
        if (!c->skip_tx)
            speed_batch_quarantine(&c->batch, c->tx.end_lsn, "(truncate)",
                                   "TRUNCATE is not applied by the speed layer", NULL);
        break;
    case 'C': {
        c->in_tx = 0;
        /* The guard: Redis already holds everything at or below applied_lsn. */
        if (msg.end_lsn <= c->applied_lsn || c->skip_tx)
            break;
        c->tx.end_lsn = msg.end_lsn;
        int64_t commit_us = msg.commit_ts + PG_EPOCH_UNIX_USEC;
        int64_t seg = segment_of(commit_us, c->cfg->segment_seconds, c->segment);
        int rc = load_missing(c, e);
        if (rc != HDP_OK)
            return rc;
        speed_tx_apply(&c->tx, &c->dims, seg, &c->batch);
        c->segment = seg;
        c->batch.segment = seg;
        c->batch.end_lsn = msg.end_lsn;
        if (c->batch.ntx++ == 0)
            c->batch.opened_us = mono_us();
        if (c->batch.deltas.len > 500000)
            return flush(c, e);
        break;
    }
    default: /* 'O' origin, 'Y' type: nothing to do */
        break;
    }
    return HDP_OK;
}

/* ------------------------------------------------------------------ session */

static void session_close(consumer *c)
{
    pg_stream_close(&c->stream);
    if (c->sql)
        PQfinish(c->sql);
    redis_free(c->redis);
    pgo_decoder_free(c->dec);
    c->sql = NULL;
    c->redis = NULL;
    c->dec = NULL;
    c->nrels = 0;
    c->in_tx = 0;
    speed_batch_reset(&c->batch);
}

static int session(consumer *c, volatile int *stop, hdp_err *e)
{
    c->redis = redis_new(&c->cfg->redis, 10000);
    speed_state st;
    int rc = speed_sink_load(c->redis, &st, e);
    if (rc != HDP_OK)
        return rc;
    c->applied_lsn = st.lsn;
    c->segment = st.segment;
    c->sql = pg_connect(c->cfg->source_dsn, NULL, NULL, e);
    if (c->sql == NULL)
        return HDP_RETRY;
    rc = load_products(c, e);
    if (rc != HDP_OK)
        return rc;
    rc = pg_stream_start(&c->stream, c->cfg->source_dsn, SPEED_SLOT, HDP_PUBLICATION, e);
    if (rc != HDP_OK)
        return rc;
    if (c->applied_lsn && c->applied_lsn < c->stream.slot_lsn)
        log_error("Redis holds speed state only up to LSN %" PRIu64
                  " but slot %s confirmed %" PRIu64
                  ": Redis lost data; the speed aggregates miss the difference",
                  c->applied_lsn, SPEED_SLOT, c->stream.slot_lsn);
    c->dec = pgo_decoder_new();
    log_info("streaming slot %s from LSN %" PRIu64 " (segment %lld)", SPEED_SLOT,
             c->stream.confirmed > c->applied_lsn ? c->stream.confirmed : c->applied_lsn,
             (long long)c->segment);

    int64_t batch_us = c->cfg->speed_batch_ms * 1000;
    while (!*stop) {
        int timeout_ms = 100;
        if (c->batch.ntx) {
            int64_t left = batch_us - (mono_us() - c->batch.opened_us);
            timeout_ms = left > 0 ? (int)(left / 1000) : 0;
        }
        pgrepl_frame f;
        int got;
        rc = pg_stream_next(&c->stream, timeout_ms, &f, &got, e);
        if (rc != HDP_OK)
            return rc;
        if (got) {
            if (f.kind == 'w') {
                rc = on_message(c, f.data, f.len, e);
                if (rc != HDP_OK)
                    return rc;
            }
            if (!c->stream.status_due && c->batch.ntx == 0)
                continue; /* keep draining while frames come */
        }
        /* Between frames: write what is due, report, and move a quiet source on. */
        if (c->batch.ntx && mono_us() - c->batch.opened_us >= batch_us) {
            rc = flush(c, e);
            if (rc != HDP_OK)
                return rc;
        }
        rc = pg_stream_tick(&c->stream, !c->in_tx && c->batch.ntx == 0, e);
        if (rc == HDP_OK)
            rc = pg_stream_heartbeat(c->sql, c->in_tx, c->segment, c->cfg->segment_seconds,
                                     &c->last_heartbeat_us, e);
        if (rc != HDP_OK)
            return rc;
    }
    /* Clean stop: write what we hold and confirm it. */
    rc = flush(c, e);
    if (rc == HDP_OK)
        pg_stream_tick(&c->stream, 0, e);
    return HDP_OK;
}

static int session_fn(void *ctx, volatile int *stop, hdp_err *e)
{
    return session(ctx, stop, e);
}

static void cleanup_fn(void *ctx)
{
    session_close(ctx);
}

int speed_run(const hdp_config *cfg, volatile int *stop, hdp_err *e)
{
    consumer c;
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    speed_dims_init(&c.dims);
    speed_tx_init(&c.tx);
    speed_batch_init(&c.batch);
    int rc = retry_run(session_fn, cleanup_fn, &c, stop, 5000, e);
    log_info("stopped after %" PRIu64 " applied transactions (LSN %" PRIu64 ")", c.applied_tx,
             c.applied_lsn);
    speed_dims_free(&c.dims);
    speed_tx_free(&c.tx);
    speed_batch_free(&c.batch);
    free(c.rels);
    buf_free(&c.ids_p);
    buf_free(&c.ids_o);
    return rc;
}
