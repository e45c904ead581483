/* The speed layer's transaction logic: rows in, per-segment deltas out. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/timeutil.h"
#include "speed/speed_tx.h"

#define SEG 100
/* 2026-11-23 13:05:07 UTC */
static const int64_t T_PAID = INT64_C(1795439107) * USEC_PER_SEC;
/* 2026-11-25 08:00:00 UTC */
static const int64_t T_REFUND = INT64_C(1795593600) * USEC_PER_SEC;

typedef struct fixture {
    speed_dims d;
    speed_tx t;
    speed_batch b;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    speed_dims_init(&f->d);
    speed_tx_init(&f->t);
    speed_batch_init(&f->b);
    speed_dims_put_product(&f->d, 1, "Office", 6);
    speed_dims_put_product(&f->d, 2, "Books", 5);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    speed_dims_free(&f->d);
    speed_tx_free(&f->t);
    speed_batch_free(&f->b);
    free(f);
    return 0;
}

/* The batch's value of one field of (SEG, day), 0 when absent. */
static int64_t field(const speed_batch *b, const char *day, const char *name)
{
    char key[256];
    int n = snprintf(key, sizeof(key), "%d\x1f%s\x1f%s", SEG, day, name);
    int64_t v = 0;
    strmap_get(&b->deltas, key, (size_t)n, &v);
    return v;
}

static speed_order_row order(int64_t id, int64_t total, const char *city, int64_t paid,
                             int64_t refunded)
{
    speed_order_row r = {id, total, paid, refunded, city, strlen(city)};
    return r;
}

static void place_order(fixture *f)
{
    speed_tx_begin(&f->t, 1000, T_PAID);
    speed_order_row n = order(7, 1325, "Berlin", T_PAID, SPEED_TS_NULL);
    speed_tx_order(&f->t, NULL, &n);
    speed_tx_item it1 = {7, 1, 2, 150}, it2 = {7, 2, 1, 1025};
    speed_tx_item_insert(&f->t, &it1);
    speed_tx_item_insert(&f->t, &it2);
    hdp_buf p = HDP_BUF_INIT, o = HDP_BUF_INIT;
    speed_tx_missing(&f->t, &f->d, &p, &o);
    assert_int_equal(p.len, 0);
    assert_int_equal(o.len, 0);
    buf_free(&p);
    buf_free(&o);
    speed_tx_apply(&f->t, &f->d, SEG, &f->b);
}

static void test_paid_order(void **state)
{
    fixture *f = *state;
    place_order(f);
    const char *d = "2026-11-23";
    assert_int_equal(field(&f->b, d, "paid"), 1325);
    assert_int_equal(field(&f->b, d, "orders"), 1);
    assert_int_equal(field(&f->b, d, "refunded"), 0);
    assert_int_equal(field(&f->b, d, "h:13"), 1325);
    assert_int_equal(field(&f->b, d, "hn:13"), 1);
    assert_int_equal(field(&f->b, d, "m:13:05"), 1325);
    assert_int_equal(field(&f->b, d, "mn:13:05"), 1);
    assert_int_equal(field(&f->b, d, "c:Berlin"), 1325);
    assert_int_equal(field(&f->b, d, "cn:Berlin"), 1);
    assert_int_equal(field(&f->b, d, "k:Office"), 300);
    assert_int_equal(field(&f->b, d, "k:Books"), 1025);
    assert_int_equal(field(&f->b, d, "kn:Office"), 1);
    assert_int_equal(f->b.nquarantine, 0);
}

static void test_refund_in_later_tx(void **state)
{
    fixture *f = *state;
    place_order(f);
    speed_batch_reset(&f->b);
    speed_tx_begin(&f->t, 2000, T_REFUND);
    speed_order_row o = order(7, 1325, "Berlin", T_PAID, SPEED_TS_NULL);
    speed_order_row n = order(7, 1325, "Berlin", T_PAID, T_REFUND);
    speed_tx_order(&f->t, &o, &n);
    hdp_buf p = HDP_BUF_INIT, m = HDP_BUF_INIT;
    speed_tx_missing(&f->t, &f->d, &p, &m);
    assert_int_equal(m.len, 0); /* categories cached from the placing transaction */
    buf_free(&p);
    buf_free(&m);
    speed_tx_apply(&f->t, &f->d, SEG, &f->b);
    const char *d = "2026-11-25";
    assert_int_equal(field(&f->b, d, "refunded"), 1325);
    assert_int_equal(field(&f->b, d, "refunds"), 1);
    assert_int_equal(field(&f->b, d, "orders"), 0);
    assert_int_equal(field(&f->b, d, "h:08"), -1325);
    assert_int_equal(field(&f->b, d, "c:Berlin"), -1325);
    assert_int_equal(field(&f->b, d, "cn:Berlin"), 0);
    assert_int_equal(field(&f->b, d, "k:Books"), -1025);
    assert_int_equal(field(&f->b, d, "k:Office"), -300);
    /* nothing moves on the paid day */
    assert_int_equal(field(&f->b, "2026-11-23", "paid"), 0);
}

static void test_status_change_moves_nothing(void **state)
{
    fixture *f = *state;
    speed_tx_begin(&f->t, 3000, T_REFUND);
    speed_order_row r = order(9, 500, "Oslo", T_PAID, SPEED_TS_NULL);
    speed_tx_order(&f->t, &r, &r); /* shipped: same money fields */
    speed_tx_apply(&f->t, &f->d, SEG, &f->b);
    assert_int_equal(f->b.deltas.len, 0);
    assert_int_equal(f->b.nquarantine, 0);
}

static void test_refund_of_unknown_order_asks_for_it(void **state)
{
    fixture *f = *state;
    speed_tx_begin(&f->t, 4000, T_REFUND);
    speed_order_row o = order(42, 999, "Kraków", T_PAID, SPEED_TS_NULL);
    speed_order_row n = order(42, 999, "Kraków", T_PAID, T_REFUND);
    speed_tx_order(&f->t, &o, &n);
    hdp_buf p = HDP_BUF_INIT, m = HDP_BUF_INIT;
    speed_tx_missing(&f->t, &f->d, &p, &m);
    assert_int_equal(m.len, sizeof(int64_t));
    assert_int_equal(((int64_t *)m.data)[0], 42);
    /* the caller loads it from the source */
    int64_t pairs[] = {speed_dims_intern(&f->d, "Books", 5), 999};
    speed_dims_put_order(&f->d, 42, pairs, 1);
    speed_tx_apply(&f->t, &f->d, SEG, &f->b);
    assert_int_equal(field(&f->b, "2026-11-25", "k:Books"), -999);
    assert_int_equal(field(&f->b, "2026-11-25", "c:Kraków"), -999);
    assert_int_equal(f->b.nquarantine, 0);
    buf_free(&p);
    buf_free(&m);
}

static void test_unattributable_is_quarantined_not_dropped(void **state)
{
    fixture *f = *state;
    speed_tx_begin(&f->t, 5000, T_PAID);
    speed_tx_item late = {77, 1, 1, 150};   /* order 77 not placed in this tx */
    speed_tx_item unknown = {78, 99, 1, 5}; /* product 99 unknown */
    speed_order_row n = order(78, 5, "Oslo", T_PAID, SPEED_TS_NULL);
    speed_tx_order(&f->t, NULL, &n);
    speed_tx_item_insert(&f->t, &late);
    speed_tx_item_insert(&f->t, &unknown);
    speed_tx_apply(&f->t, &f->d, SEG, &f->b);
    assert_int_equal(f->b.nquarantine, 2);
    assert_non_null(strstr(f->b.quarantine.data, "item added after its order was placed"));
    assert_non_null(strstr(f->b.quarantine.data, "unknown product"));
    /* the order's day and city revenue still count */
    assert_int_equal(field(&f->b, "2026-11-23", "paid"), 5);
    assert_int_equal(field(&f->b, "2026-11-23", "c:Oslo"), 5);
}

static void test_delete_reverses(void **state)
{
    fixture *f = *state;
    place_order(f);
    speed_tx_begin(&f->t, 6000, T_REFUND);
    speed_order_row o = order(7, 1325, "Berlin", T_PAID, SPEED_TS_NULL);
    speed_tx_order(&f->t, &o, NULL);
    speed_tx_apply(&f->t, &f->d, SEG, &f->b);
    /* placed and deleted within one batch: every field nets to zero */
    for (size_t i = 0; i < f->b.deltas.len; i++)
        assert_int_equal(f->b.deltas.entries[i].val, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paid_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refund_in_later_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_change_moves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refund_of_unknown_order_asks_for_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unattributable_is_quarantined_not_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_reverses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
