/* Summing the speed layer's hash fields: parsing, overflow, merging, the name map. */
#include "unit.h"

#include <stdio.h>

#include "serve/agg.h"

static int add(day_agg *a, const char *k, const char *v, hdp_err *e)
{
    return agg_add_field(a, k, strlen(k), v, strlen(v), e);
}

static void test_fields(void **state)
{
    (void)state;
    day_agg a;
    hdp_err e;
    agg_init(&a);
    assert_int_equal(add(&a, "paid", "100", &e), HDP_OK);
    assert_int_equal(add(&a, "paid", "-30", &e), HDP_OK);
    assert_int_equal(add(&a, "h:23", "5", &e), HDP_OK);
    assert_int_equal(add(&a, "mn:00:00", "2", &e), HDP_OK);
    assert_int_equal(add(&a, "m:23:59", "7", &e), HDP_OK);
    assert_int_equal(add(&a, "c:", "1", &e), HDP_OK);       /* empty city is a city */
    assert_int_equal(add(&a, "unknown", "x", &e), HDP_ERR); /* value still validated */
    assert_int_equal(add(&a, "zzz", "1", &e), HDP_OK);
    assert_int_equal(a.paid, 70);
    assert_int_equal(a.hour_cents[23], 5);
    assert_true(a.hour_seen[23]);
    assert_int_equal(a.min_orders[0], 2);
    assert_int_equal(a.min_cents[1439], 7);
    assert_int_equal(a.cities.len, 1);

    assert_int_equal(add(&a, "h:24", "1", &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "h:24"));
    assert_int_equal(add(&a, "m:12:60", "1", &e), HDP_ERR);
    assert_int_equal(add(&a, "m:1205", "1", &e), HDP_ERR);
    assert_int_equal(add(&a, "hn:1", "1", &e), HDP_ERR);
    assert_int_equal(add(&a, "orders", "1.5", &e), HDP_ERR);
    assert_int_equal(add(&a, "orders", "", &e), HDP_ERR);
    assert_int_equal(add(&a, "orders", "99999999999999999999", &e), HDP_ERR);
    assert_int_equal(add(&a, "refunded", "9223372036854775807", &e), HDP_OK);
    assert_int_equal(add(&a, "refunded", "1", &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "overflow"));
    int64_t net;
    assert_int_equal(agg_net(&a, &net), 0);
    assert_int_equal(add(&a, "paid", "-9223372036854775807", &e), HDP_OK);
    assert_int_equal(agg_net(&a, &net), -1);
    agg_free(&a);
}

static void test_map_and_merge(void **state)
{
    (void)state;
    day_agg a, b;
    hdp_err e;
    agg_init(&a);
    agg_init(&b);
    char k[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "c:city%d", i);
        assert_int_equal(add(&a, k, "2", &e), HDP_OK);
        snprintf(k, sizeof(k), "cn:city%d", i);
        assert_int_equal(add(&a, k, "1", &e), HDP_OK);
    }
    assert_int_equal(a.cities.len, 1000);
    assert_int_equal(add(&b, "c:city7", "5", &e), HDP_OK);
    assert_int_equal(add(&b, "k:Toys", "5", &e), HDP_OK);
    assert_int_equal(add(&b, "hn:01", "4", &e), HDP_OK);
    b.segments = 3;
    assert_int_equal(agg_merge(&a, &b, &e), HDP_OK);
    assert_int_equal(a.cities.len, 1000);
    agg_named *c7 = agg_map_get(&a.cities, "city7", 5);
    assert_int_equal(c7->cents, 7);
    assert_int_equal(c7->orders, 1);
    assert_int_equal(a.categories.len, 1);
    assert_int_equal(a.hour_orders[1], 4);
    assert_true(a.hour_seen[1]);
    assert_int_equal(a.segments, 3);
    agg_free(&a);
    agg_free(&b);
    agg_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_map_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
