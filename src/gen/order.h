/* order.h — builds one order from the shop's current state. Pure: the PRNG decides. */
#ifndef HDP_GEN_ORDER_H
#define HDP_GEN_ORDER_H

#include <stdint.h>

#include "core/err.h"
#include "gen/model.h"
#include "gen/prng.h"

/* Shares of orders by fate, in 1/10000 (the rest stays paid). About 3 % are refunded. */
#define GEN_SHIP_ONLY_10K      2000
#define GEN_DELIVER_10K        3000
#define GEN_REFUND_PAID_10K    200
#define GEN_REFUND_SHIPPED_10K 100

/* Fills o as order `id` paid at paid_at (Unix µs): a customer (skewed towards loyal ones),
 * 1-5 items of distinct products (fewer when fewer products exist) at their current price,
 * quantity 1-5, total = Σ quantity × unit_price, ship_city = the customer's current city,
 * and the order's fate with its delays. Fails when d has no customer or product, or the
 * total would not fit. */
int gen_order_build(gen_prng *p, const gen_dims *d, int64_t id, int64_t paid_at, gen_order *o,
                    hdp_err *e);

#endif
