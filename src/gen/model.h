/* model.h — the generator's in-memory picture of the shop: customers and products as they
 * are now (the generator mirrors every change it writes), and orders being built. */
#ifndef HDP_GEN_MODEL_H
#define HDP_GEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define GEN_MAX_ITEMS 5

typedef struct gen_customer {
    int64_t id;
    char *name;
    char *email;
    char *city; /* owned; replaced when the customer moves */
    char *country;
} gen_customer;

typedef struct gen_product {
    int64_t id;
    char *sku;
    char *name; /* owned; replaced when the product is renamed */
    char *category;
    int64_t price; /* cents, the current price */
} gen_product;

/* What happens to an order after it is paid (decided when it is built, so the workload does
 * not depend on the clock). Refunds come from paid or shipped, never from delivered. */
enum gen_fate {
    FATE_PAID,           /* stays paid */
    FATE_SHIPPED,        /* paid -> shipped */
    FATE_DELIVERED,      /* paid -> shipped -> delivered */
    FATE_REFUND_PAID,    /* paid -> refunded */
    FATE_REFUND_SHIPPED, /* paid -> shipped -> refunded */
};

typedef struct gen_item {
    int64_t product_id;
    int quantity;
    int64_t unit_price; /* cents */
} gen_item;

typedef struct gen_order {
    int64_t id;
    int64_t customer_id;
    const char *ship_city; /* borrowed from the customer: valid until the next move */
    int64_t paid_at;       /* Unix µs; also created_at and updated_at */
    int64_t total;         /* cents, = Σ quantity × unit_price */
    int nitems;
    gen_item items[GEN_MAX_ITEMS];
    int fate;
    int64_t ship_delay;  /* µs after paid_at the order ships (when its fate ships) */
    int64_t final_delay; /* µs after paid_at it is delivered or refunded */
} gen_order;

/* Customers and products the generator knows, in id order. */
typedef struct gen_dims {
    gen_customer *cust;
    size_t ncust, capcust;
    gen_product *prod;
    size_t nprod, capprod;
} gen_dims;

/* Appends a zeroed slot and returns it (the array may move). */
gen_customer *dims_add_customer(gen_dims *d);
gen_product *dims_add_product(gen_dims *d);
/* Frees every string and both arrays; accepts a zeroed gen_dims. */
void dims_free(gen_dims *d);

#endif
