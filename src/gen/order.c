#include "gen/order.h"

#include <string.h>

#include "core/decimal.h"
#include "core/timeutil.h"

#define USEC_PER_HOUR (INT64_C(3600) * USEC_PER_SEC)

/* Index in [0, n): 30 % of picks go to the first tenth (the oldest, most loyal rows). */
static size_t skewed_pick(gen_prng *p, size_t n)
{
    size_t head = n / 10 ? n / 10 : 1;
    if (prng_chance(p, 3000))
        return (size_t)prng_below(p, head);
    return (size_t)prng_below(p, n);
}

/* 1: 35 %, 2: 25 %, 3: 20 %, 4: 12 %, 5: 8 %. */
static int draw_nitems(gen_prng *p)
{
    static const unsigned cum[GEN_MAX_ITEMS] = {35, 60, 80, 92, 100};
    uint64_t r = prng_below(p, 100);
    int n = 1;
    while (n < GEN_MAX_ITEMS && r >= cum[n - 1])
        n++;
    return n;
}

static void draw_fate(gen_prng *p, gen_order *o)
{
    uint64_t r = prng_below(p, 10000);
    o->ship_delay = prng_range(p, 2 * USEC_PER_HOUR, 48 * USEC_PER_HOUR);
    o->final_delay = 0;
    const uint64_t refund_paid = GEN_REFUND_PAID_10K;
    const uint64_t refund_shipped = refund_paid + GEN_REFUND_SHIPPED_10K;
    const uint64_t delivered = refund_shipped + GEN_DELIVER_10K;
    const uint64_t shipped = delivered + GEN_SHIP_ONLY_10K;
    if (r < refund_paid) {
        o->fate = FATE_REFUND_PAID;
        o->ship_delay = 0;
        o->final_delay = prng_range(p, USEC_PER_HOUR, 72 * USEC_PER_HOUR);
    } else if (r < refund_shipped) {
        o->fate = FATE_REFUND_SHIPPED;
        o->final_delay = o->ship_delay + prng_range(p, 24 * USEC_PER_HOUR, 240 * USEC_PER_HOUR);
    } else if (r < delivered) {
        o->fate = FATE_DELIVERED;
        o->final_delay = o->ship_delay + prng_range(p, 24 * USEC_PER_HOUR, 120 * USEC_PER_HOUR);
    } else if (r < shipped) {
        o->fate = FATE_SHIPPED;
    } else {
        o->fate = FATE_PAID;
        o->ship_delay = 0;
    }
}

int gen_order_build(gen_prng *p, const gen_dims *d, int64_t id, int64_t paid_at, gen_order *o,
                    hdp_err *e)
{
    if (d->ncust == 0 || d->nprod == 0)
        return hdp_fail(e, "no customers or products to build order %lld from", (long long)id);
    memset(o, 0, sizeof(*o));
    const gen_customer *c = &d->cust[skewed_pick(p, d->ncust)];
    o->id = id;
    o->customer_id = c->id;
    o->ship_city = c->city;
    o->paid_at = paid_at;

    int n = draw_nitems(p);
    if ((size_t)n > d->nprod)
        n = (int)d->nprod;
    size_t chosen[GEN_MAX_ITEMS];
    for (int i = 0; i < n; i++) {
        size_t k;
        int dup;
        do { /* distinct products; terminates because n <= nprod */
            k = skewed_pick(p, d->nprod);
            dup = 0;
            for (int j = 0; j < i; j++)
                dup |= chosen[j] == k;
        } while (dup);
        chosen[i] = k;
        gen_item *it = &o->items[i];
        it->product_id = d->prod[k].id;
        it->unit_price = d->prod[k].price;
        it->quantity = (int)prng_range(p, 1, 5);
        int64_t line;
        if (decimal_mul_qty(it->unit_price, it->quantity, &line) != 0 ||
            decimal_add(o->total, line, &o->total) != 0)
            return hdp_fail(e, "order %lld: total overflows", (long long)id);
    }
    o->nitems = n;
    draw_fate(p, o);
    return HDP_OK;
}
