/* COPY text rows: escaping, timestamps, whole order rows. */
#include "unit.h"

#include "gen/copyfmt.h"

static void escapes_text(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    copy_put_text(&b, "a\tb\\c\nd\re");
    assert_string_equal(b.data, "a\\tb\\\\c\\nd\\re");
    buf_reset(&b);
    copy_put_text(&b, "Kraków");
    assert_string_equal(b.data, "Kraków");
    buf_reset(&b);
    copy_put_text(&b, "");
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void formats_timestamps(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    copy_put_ts(&b, 0);
    assert_string_equal(b.data, "1970-01-01 00:00:00.000000+00");
    buf_reset(&b);
    /* 2024-02-29 23:59:59.000001 UTC */
    copy_put_ts(&b, INT64_C(1709251199) * 1000000 + 1);
    assert_string_equal(b.data, "2024-02-29 23:59:59.000001+00");
    buf_reset(&b);
    copy_put_ts(&b, -1); /* before the epoch */
    assert_string_equal(b.data, "1969-12-31 23:59:59.999999+00");
    buf_free(&b);
}

static void order_rows(void **state)
{
    (void)state;
    gen_order o;
    memset(&o, 0, sizeof(o));
    o.id = 7;
    o.customer_id = 3;
    o.ship_city = "Tab\tCity";
    o.paid_at = 0;
    o.nitems = 2;
    o.items[0] = (gen_item){11, 2, 150};
    o.items[1] = (gen_item){12, 1, 5};
    o.total = 305;
    hdp_buf b = HDP_BUF_INIT;
    copy_order_row(&b, &o);
    assert_string_equal(b.data, "7\t3\tpaid\tUSD\t3.05\tTab\\tCity\t"
                                "1970-01-01 00:00:00.000000+00\t1970-01-01 00:00:00.000000+00\t"
                                "1970-01-01 00:00:00.000000+00\t\\N\n");
    buf_reset(&b);
    copy_item_rows(&b, &o);
    assert_string_equal(b.data, "7\t1\t11\t2\t1.50\n7\t2\t12\t1\t0.05\n");
    buf_reset(&b);
    gen_customer c = {5, "Ann \\ Lee", "ann@example.com", "Zürich", "Switzerland"};
    copy_customer_row(&b, &c);
    assert_string_equal(b.data, "5\tAnn \\\\ Lee\tann@example.com\tZürich\tSwitzerland\n");
    buf_reset(&b);
    gen_product p = {9, "HDP-1", "Desk\nLamp", "Office", 99999};
    copy_product_row(&b, &p);
    assert_string_equal(b.data, "9\tHDP-1\tDesk\\nLamp\tOffice\t999.99\n");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escapes_text),
        cmocka_unit_test(formats_timestamps),
        cmocka_unit_test(order_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
