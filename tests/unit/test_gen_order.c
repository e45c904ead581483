/* Order building and the catalog: totals exact, items distinct, dimensions change. */
#include "unit.h"

#include <stdlib.h>

#include "gen/catalog.h"
#include "gen/cities.h"
#include "gen/order.h"

static void make_dims(gen_dims *d, gen_prng *p, int ncust, int nprod)
{
    memset(d, 0, sizeof(*d));
    for (int i = 0; i < ncust; i++)
        catalog_new_customer(p, i + 1, dims_add_customer(d));
    for (int i = 0; i < nprod; i++)
        catalog_new_product(p, i + 1, dims_add_product(d));
}

static void orders_are_consistent(void **state)
{
    (void)state;
    gen_prng p;
    prng_seed(&p, 42);
    gen_dims d;
    make_dims(&d, &p, 300, 100);
    int count[GEN_MAX_ITEMS + 1] = {0};
    int refunds = 0;
    for (int k = 0; k < 20000; k++) {
        gen_order o;
        assert_int_equal(gen_order_build(&p, &d, 1000 + k, 5, &o, NULL), HDP_OK);
        assert_int_equal(o.id, 1000 + k);
        assert_true(o.nitems >= 1 && o.nitems <= GEN_MAX_ITEMS);
        count[o.nitems]++;
        int64_t sum = 0;
        for (int i = 0; i < o.nitems; i++) {
            assert_true(o.items[i].quantity >= 1 && o.items[i].quantity <= 5);
            assert_true(o.items[i].unit_price >= GEN_PRICE_MIN &&
                        o.items[i].unit_price <= GEN_PRICE_MAX);
            sum += o.items[i].quantity * o.items[i].unit_price;
            for (int j = 0; j < i; j++)
                assert_int_not_equal(o.items[i].product_id, o.items[j].product_id);
            /* unit_price is the product's current price */
            assert_int_equal(o.items[i].unit_price, d.prod[o.items[i].product_id - 1].price);
        }
        assert_int_equal(o.total, sum);
        /* ship_city is the customer's current city */
        assert_string_equal(o.ship_city, d.cust[o.customer_id - 1].city);
        if (o.fate == FATE_REFUND_PAID || o.fate == FATE_REFUND_SHIPPED)
            refunds++;
        if (o.fate == FATE_REFUND_SHIPPED || o.fate == FATE_DELIVERED)
            assert_true(o.final_delay > o.ship_delay && o.ship_delay > 0);
    }
    for (int n = 1; n <= GEN_MAX_ITEMS; n++)
        assert_true(count[n] > 0);
    assert_true(refunds > 20000 * 2 / 100 && refunds < 20000 * 4 / 100);
    dims_free(&d);
}

static void few_products_still_distinct(void **state)
{
    (void)state;
    gen_prng p;
    prng_seed(&p, 1);
    gen_dims d;
    make_dims(&d, &p, 3, 2);
    for (int k = 0; k < 200; k++) {
        gen_order o;
        assert_int_equal(gen_order_build(&p, &d, k, 0, &o, NULL), HDP_OK);
        assert_true(o.nitems >= 1 && o.nitems <= 2);
        if (o.nitems == 2)
            assert_int_not_equal(o.items[0].product_id, o.items[1].product_id);
    }
    dims_free(&d);
    gen_dims empty;
    memset(&empty, 0, sizeof(empty));
    gen_order o;
    hdp_err e;
    assert_int_equal(gen_order_build(&p, &empty, 1, 0, &o, &e), HDP_ERR);
}

static void same_seed_same_orders(void **state)
{
    (void)state;
    gen_prng a, b;
    prng_seed(&a, 9);
    prng_seed(&b, 9);
    gen_dims da, db;
    make_dims(&da, &a, 50, 40);
    make_dims(&db, &b, 50, 40);
    for (int k = 0; k < 1000; k++) {
        gen_order x, y;
        gen_order_build(&a, &da, k, 0, &x, NULL);
        gen_order_build(&b, &db, k, 0, &y, NULL);
        assert_int_equal(x.customer_id, y.customer_id);
        assert_int_equal(x.total, y.total);
        assert_int_equal(x.nitems, y.nitems);
        assert_int_equal(x.fate, y.fate);
    }
    dims_free(&da);
    dims_free(&db);
}

static void catalog_covers_and_changes(void **state)
{
    (void)state;
    assert_true(gen_ncities >= 200);
    assert_true(gen_ncategories >= 20);
    assert_true(gen_city_find("São Paulo") >= 0);
    assert_int_equal(gen_city_find("Atlantis"), -1);
    gen_prng p;
    prng_seed(&p, 3);
    gen_dims d;
    make_dims(&d, &p, 10, (int)gen_ncategories);
    for (size_t i = 0; i < gen_ncategories; i++) /* round-robin: every category once */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(d.prod[i].category, d.prod[j].category);
    for (int k = 0; k < 500; k++) {
        gen_customer *c = &d.cust[k % 10];
        char *old = strdup(c->city);
        catalog_move_customer(&p, c);
        assert_string_not_equal(old, c->city);
        assert_true(gen_city_find(c->city) >= 0);
        free(old);
        gen_product *pr = &d.prod[k % gen_ncategories];
        int64_t before = pr->price;
        catalog_change_product(&p, pr);
        assert_int_not_equal(before, pr->price);
        assert_true(pr->price >= GEN_PRICE_MIN && pr->price <= GEN_PRICE_MAX);
    }
    /* extremes of the range still move */
    d.prod[0].price = GEN_PRICE_MIN;
    catalog_change_product(&p, &d.prod[0]);
    assert_true(d.prod[0].price > GEN_PRICE_MIN && d.prod[0].price <= GEN_PRICE_MAX);
    d.prod[0].price = GEN_PRICE_MAX;
    catalog_change_product(&p, &d.prod[0]);
    assert_true(d.prod[0].price < GEN_PRICE_MAX && d.prod[0].price >= GEN_PRICE_MIN);
    dims_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orders_are_consistent),
        cmocka_unit_test(few_products_still_distinct),
        cmocka_unit_test(same_seed_same_orders),
        cmocka_unit_test(catalog_covers_and_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
