/* copyfmt.h — rows in PostgreSQL's COPY text format (tab-separated, \N for NULL, one row a
 * line) for the shop's tables. */
#ifndef HDP_GEN_COPYFMT_H
#define HDP_GEN_COPYFMT_H

#include <stdint.h>

#include "core/buf.h"
#include "format/copytext.h"
#include "gen/model.h"


/* Column lists the row writers below follow. */
#define COPY_ORDERS_SQL                                                                            \
    "COPY orders (order_id, customer_id, status, currency, total, ship_city, created_at, "         \
    "updated_at, paid_at, refunded_at) FROM STDIN"
#define COPY_ITEMS_SQL                                                                             \
    "COPY order_items (order_id, line_no, product_id, quantity, unit_price) FROM STDIN"
#define COPY_CUSTOMERS_SQL "COPY customers (customer_id, name, email, city, country) FROM STDIN"
#define COPY_PRODUCTS_SQL  "COPY products (product_id, sku, name, category, price) FROM STDIN"

/* One row each; the order row is status 'paid', created_at = updated_at = paid_at. */
void copy_order_row(hdp_buf *b, const gen_order *o);
/* One row per item, line_no 1..n. */
void copy_item_rows(hdp_buf *b, const gen_order *o);
void copy_customer_row(hdp_buf *b, const gen_customer *c);
void copy_product_row(hdp_buf *b, const gen_product *p);

#endif
