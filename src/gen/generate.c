#include "gen/generate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "gen/catalog.h"
#include "gen/order.h"
#include "gen/prng.h"
#include "gen/shopdb.h"

#define BACKFILL_BATCH 5000                  /* orders per transaction */
#define LIVE_TICK_US   (100 * INT64_C(1000)) /* one transaction of orders per tick */
#define LIVE_STEP_US   USEC_PER_SEC          /* live: wait before each lifecycle step */
#define PROGRESS_US    (2 * USEC_PER_SEC)
#define MOVE_10K       50 /* 0.5 % of orders: a customer moves */
#define REPRICE_10K    10 /* 0.1 % of orders: a product is renamed and repriced */

/* A FIFO of orders waiting for a lifecycle step, in due order. */
typedef struct pqueue {
    gen_pending *v;
    size_t head, n, cap;
} pqueue;

typedef struct gen_state {
    PGconn *c;
    const gen_options *opt;
    gen_stats *st;
    gen_prng prng;
    gen_dims dims;
    int64_t next_order;
    gen_order *batch;
    pqueue to_ship, to_finish;
    hdp_buf scratch;
    int64_t t0, last_progress;
} gen_state;

static void pq_push(pqueue *q, const gen_pending *p)
{
    if (q->head > 0 && q->head == q->n) {
        q->head = q->n = 0;
    }
    if (q->n == q->cap) {
        if (q->head > 0) {
            memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof(*q->v));
            q->n -= q->head;
            q->head = 0;
        }
        if (q->n == q->cap) {
            q->cap = q->cap ? q->cap * 2 : 1024;
            q->v = xrealloc(q->v, q->cap * sizeof(*q->v));
        }
    }
    q->v[q->n++] = *p;
}

/* Number of queued entries due at `now` (all of them when now < 0). */
static size_t pq_due(const pqueue *q, int64_t now)
{
    size_t k = q->head;
    while (k < q->n && (now < 0 || q->v[k].due <= now))
        k++;
    return k - q->head;
}

/* ---------------------------------------------------------------- setup */

/* Creates customers and products until the asked numbers exist, ids after the largest. */
static int create_dims(gen_state *s, hdp_err *e)
{
    gen_dims *d = &s->dims;
    size_t from = d->ncust;
    if ((int64_t)d->ncust < s->opt->customers) {
        int64_t id;
        if (shop_next_id(s->c, "customers", "customer_id", &id, e) != HDP_OK)
            return HDP_ERR;
        while ((int64_t)d->ncust < s->opt->customers)
            catalog_new_customer(&s->prng, id++, dims_add_customer(d));
        if (shop_insert_customers(s->c, d, from, &s->scratch, e) != HDP_OK)
            return HDP_ERR;
        s->st->customers_created = (int64_t)(d->ncust - from);
    }
    from = d->nprod;
    if ((int64_t)d->nprod < s->opt->products) {
        int64_t id;
        if (shop_next_id(s->c, "products", "product_id", &id, e) != HDP_OK)
            return HDP_ERR;
        while ((int64_t)d->nprod < s->opt->products)
            catalog_new_product(&s->prng, id++, dims_add_product(d));
        if (shop_insert_products(s->c, d, from, &s->scratch, e) != HDP_OK)
            return HDP_ERR;
        s->st->products_created = (int64_t)(d->nprod - from);
    }
    return HDP_OK;
}

/* ---------------------------------------------------------------- one step of the workload */

/* Inserts the n built orders of s->batch and queues their lifecycle steps; now is the
 * monotonic time (steps are due after `wait` µs). */
static int write_batch(gen_state *s, size_t n, int64_t now, int64_t wait, hdp_err *e)
{
    if (shop_insert_orders(s->c, s->batch, n, &s->scratch, e) != HDP_OK)
        return HDP_ERR;
    for (size_t i = 0; i < n; i++) {
        const gen_order *o = &s->batch[i];
        s->st->items += o->nitems;
        if (o->fate == FATE_PAID)
            continue;
        gen_pending p = {o->id, o->fate, o->ship_delay, o->final_delay, now + wait};
        pq_push(o->fate == FATE_REFUND_PAID ? &s->to_finish : &s->to_ship, &p);
    }
    s->st->orders += (int64_t)n;
    return HDP_OK;
}

/* Runs the lifecycle steps due at now (all when now < 0): first shipping, then delivery and
 * refunds, each one transaction. Shipped orders wait `wait` µs more for their last step. */
static int run_lifecycle(gen_state *s, int64_t now, int64_t wait, hdp_err *e)
{
    size_t n = pq_due(&s->to_ship, now);
    if (n > 0) {
        const gen_pending *p = s->to_ship.v + s->to_ship.head;
        int64_t done;
        if (shop_ship(s->c, p, n, &s->scratch, &done, e) != HDP_OK)
            return HDP_ERR;
        s->st->shipped += done;
        for (size_t i = 0; i < n; i++) {
            if (p[i].fate == FATE_SHIPPED)
                continue;
            gen_pending next = p[i];
            next.due = (now < 0 ? 0 : now) + wait;
            pq_push(&s->to_finish, &next);
        }
        /* pq_push may have compacted to_finish, never to_ship: safe to advance now. */
        s->to_ship.head += n;
    }
    n = pq_due(&s->to_finish, now);
    if (n > 0) {
        int64_t delivered, refunded;
        if (shop_finish(s->c, s->to_finish.v + s->to_finish.head, n, &s->scratch, &delivered,
                        &refunded, e) != HDP_OK)
            return HDP_ERR;
        s->to_finish.head += n;
        s->st->delivered += delivered;
        s->st->refunded += refunded;
    }
    return HDP_OK;
}

/* After n orders: about MOVE_10K/10000 of them move a customer and REPRICE_10K/10000 change
 * a product, written as two later transactions. */
static int change_dims(gen_state *s, size_t n, hdp_err *e)
{
    size_t moves = 0, reprices = 0;
    for (size_t i = 0; i < n; i++) {
        moves += (size_t)prng_chance(&s->prng, MOVE_10K);
        reprices += (size_t)prng_chance(&s->prng, REPRICE_10K);
    }
    const gen_customer **cust = xcalloc(moves ? moves : 1, sizeof(*cust));
    const gen_product **prod = xcalloc(reprices ? reprices : 1, sizeof(*prod));
    for (size_t i = 0; i < moves; i++) {
        gen_customer *c = &s->dims.cust[prng_below(&s->prng, s->dims.ncust)];
        catalog_move_customer(&s->prng, c);
        cust[i] = c;
    }
    for (size_t i = 0; i < reprices; i++) {
        gen_product *p = &s->dims.prod[prng_below(&s->prng, s->dims.nprod)];
        catalog_change_product(&s->prng, p);
        prod[i] = p;
    }
    int rc = shop_move_customers(s->c, cust, moves, e);
    if (rc == HDP_OK)
        rc = shop_change_products(s->c, prod, reprices, e);
    if (rc == HDP_OK) {
        s->st->customers_moved += (int64_t)moves;
        s->st->products_changed += (int64_t)reprices;
    }
    free(cust);
    free(prod);
    return rc;
}

static void maybe_progress(gen_state *s, int force)
{
    int64_t now = mono_us();
    s->st->elapsed_us = now - s->t0;
    if (s->opt->progress == NULL || (!force && now - s->last_progress < PROGRESS_US))
        return;
    s->last_progress = now;
    s->opt->progress(s->st, s->opt->progress_arg);
}

/* ---------------------------------------------------------------- the two modes */

/* Orders i of N get paid_at in the i-th of N equal slices of [start, start + span), so ids
 * and payment times rise together and the spread is uniform. */
static int64_t backfill_paid_at(gen_prng *p, int64_t start, int64_t span, int64_t i, int64_t n)
{
    int64_t lo = (int64_t)((__int128)span * i / n);
    int64_t hi = (int64_t)((__int128)span * (i + 1) / n);
    return start + lo + (int64_t)prng_below(p, (uint64_t)(hi - lo));
}

static int backfill(gen_state *s, hdp_err *e)
{
    const int64_t total = s->opt->orders;
    const int64_t span = s->opt->days * USEC_PER_DAY;
    const int64_t start = now_unix_us() - span;
    s->st->target = total;
    for (int64_t i = 0; i < total;) {
        if (s->opt->stop && *s->opt->stop) {
            s->st->interrupted = 1;
            break;
        }
        size_t n = 0;
        for (; n < BACKFILL_BATCH && i < total; n++, i++) {
            int64_t paid = backfill_paid_at(&s->prng, start, span, i, total);
            if (gen_order_build(&s->prng, &s->dims, s->next_order++, paid, &s->batch[n], e) !=
                HDP_OK)
                return HDP_ERR;
        }
        if (write_batch(s, n, 0, 0, e) != HDP_OK || run_lifecycle(s, -1, 0, e) != HDP_OK ||
            change_dims(s, n, e) != HDP_OK)
            return HDP_ERR;
        maybe_progress(s, 0);
    }
    return HDP_OK;
}

static void sleep_until_mono(int64_t when_us)
{
    struct timespec ts = {(time_t)(when_us / USEC_PER_SEC), (long)(when_us % USEC_PER_SEC) * 1000};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: the loop re-checks */
}

static int live(gen_state *s, hdp_err *e)
{
    const int64_t end = s->opt->duration > 0 ? s->opt->duration * USEC_PER_SEC : -1;
    int64_t placed = 0;
    for (;;) {
        int64_t now = mono_us();
        int64_t elapsed = now - s->t0;
        int last = 0;
        if (s->opt->stop && *s->opt->stop) {
            s->st->interrupted = 1;
            last = 1;
        }
        if (end >= 0 && elapsed >= end) {
            elapsed = end;
            last = 1;
        }
        /* The schedule is a function of elapsed time, so a slow tick catches up. */
        int64_t due = (int64_t)(s->opt->rate * (double)elapsed / (double)USEC_PER_SEC);
        while (placed < due) {
            size_t n = 0;
            for (; n < BACKFILL_BATCH && placed < due; n++, placed++)
                if (gen_order_build(&s->prng, &s->dims, s->next_order++, now_unix_us(),
                                    &s->batch[n], e) != HDP_OK)
                    return HDP_ERR;
            if (write_batch(s, n, now, LIVE_STEP_US, e) != HDP_OK || change_dims(s, n, e) != HDP_OK)
                return HDP_ERR;
        }
        if (run_lifecycle(s, last ? -1 : now, LIVE_STEP_US, e) != HDP_OK)
            return HDP_ERR;
        maybe_progress(s, 0);
        if (last)
            break;
        sleep_until_mono(s->t0 + (elapsed / LIVE_TICK_US + 1) * LIVE_TICK_US);
    }
    /* Steps queued by the final flush (shipped orders waiting for delivery) run now too. */
    return run_lifecycle(s, -1, 0, e);
}

/* ---------------------------------------------------------------- entry point */

int gen_run(PGconn *c, const gen_options *opt, gen_stats *st, hdp_err *e)
{
    gen_state s;
    memset(&s, 0, sizeof(s));
    memset(st, 0, sizeof(*st));
    s.c = c;
    s.opt = opt;
    s.st = st;
    s.t0 = s.last_progress = mono_us();
    prng_seed(&s.prng, opt->seed);
    s.batch = xcalloc(BACKFILL_BATCH, sizeof(*s.batch));

    int rc = shop_check_schema(c, e);
    if (rc == HDP_OK)
        rc = shop_lock(c, e);
    if (rc == HDP_OK)
        rc = shop_load_dims(c, &s.dims, e);
    if (rc == HDP_OK)
        rc = create_dims(&s, e);
    if (rc == HDP_OK && (s.dims.ncust == 0 || s.dims.nprod == 0))
        rc = hdp_fail(e, "need at least one customer and one product");
    if (rc == HDP_OK)
        rc = shop_next_id(c, "orders", "order_id", &s.next_order, e);
    if (rc == HDP_OK) {
        s.t0 = s.last_progress = mono_us();
        rc = opt->orders > 0 ? backfill(&s, e) : live(&s, e);
    }
    maybe_progress(&s, 0);
    st->elapsed_us = mono_us() - s.t0;

    free(s.batch);
    free(s.to_ship.v);
    free(s.to_finish.v);
    buf_free(&s.scratch);
    dims_free(&s.dims);
    return rc;
}
