/* Money rendering, average-check rounding, sorting and the JSON bodies of the API. */
#include "unit.h"

#include <stdlib.h>

#include "core/timeutil.h"
#include "serve/agg.h"
#include "serve/render.h"

static void test_money(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    render_money(&b, 12345);
    buf_putc(&b, ' ');
    render_money(&b, -5);
    buf_putc(&b, ' ');
    render_money(&b, 0);
    buf_putc(&b, ' ');
    render_money_number(&b, 12345);
    buf_putc(&b, ' ');
    render_money_number(&b, -100);
    buf_putc(&b, ' ');
    render_money_number(&b, INT64_MAX);
    assert_string_equal(b.data, "\"123.45\" \"-0.05\" \"0.00\" 123.45 -1.00 92233720368547758.07");
    buf_free(&b);
}

static void test_avg_rounding(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(avg_check_cents(1000, 3, &v), 0); /* 3.333.. */
    assert_int_equal(v, 333);
    assert_int_equal(avg_check_cents(2000, 3, &v), 0); /* 6.666.. */
    assert_int_equal(v, 667);
    assert_int_equal(avg_check_cents(5, 2, &v), 0); /* 2.5 -> 3 */
    assert_int_equal(v, 3);
    assert_int_equal(avg_check_cents(-5, 2, &v), 0); /* -2.5 -> -3 */
    assert_int_equal(v, -3);
    assert_int_equal(avg_check_cents(-7, 3, &v), 0); /* -2.33 -> -2 */
    assert_int_equal(v, -2);
    assert_int_equal(avg_check_cents(12245, 3, &v), 0); /* 4081.67 */
    assert_int_equal(v, 4082);
    assert_int_equal(avg_check_cents(INT64_MAX, 2, &v), 0);
    assert_int_equal(v, INT64_MAX / 2 + 1);
    assert_int_equal(avg_check_cents(INT64_MIN, 3, &v), 0);
    assert_int_equal(v, INT64_MIN / 3 - 1); /* remainder -2 of 3 rounds away */
    assert_int_equal(avg_check_cents(100, 0, &v), -1);
    assert_int_equal(avg_check_cents(100, -1, &v), -1);
}

static void test_sort(void **state)
{
    (void)state;
    agg_named v[] = {
        {"b", 100, 1, 0}, {"a", 100, 2, 0}, {"c", 300, 1, 0}, {"d", -5, 1, 0}, {"Z", 100, 1, 0}};
    sort_by_revenue(v, 5);
    const char *want[] = {"c", "Z", "a", "b", "d"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(v[i].name, want[i]);
}

static void add(day_agg *a, const char *k, const char *v)
{
    hdp_err e;
    assert_int_equal(agg_add_field(a, k, strlen(k), v, strlen(v), &e), HDP_OK);
}

/* has_w: 0 none, 1 W = 7, 2 degraded */
static char *render(const day_agg *speed, serve_endpoint ep, serve_interval iv, int has_w)
{
    day_agg batch, total;
    agg_init(&batch);
    agg_init(&total);
    hdp_err e;
    assert_int_equal(agg_merge(&total, &batch, &e), HDP_OK);
    assert_int_equal(agg_merge(&total, speed, &e), HDP_OK);
    int64_t day = 0;
    assert_int_equal(date_parse("2026-11-23", &day), 0);
    serve_query q = {.ep = ep,
                     .from_day = day,
                     .to_day = day,
                     .from = "2026-11-23",
                     .to = "2026-11-23",
                     .interval = iv};
    hdp_buf points = HDP_BUF_INIT;
    render_points(&points, iv, day, &total);
    serve_answer a = {.has_watermark = has_w != 0,
                      .watermark = 7,
                      .degraded = has_w == 2,
                      .batch = &batch,
                      .speed = speed,
                      .total = &total,
                      .points = &points};
    hdp_buf b = HDP_BUF_INIT;
    assert_int_equal(render_answer(&b, &q, &a, &e), HDP_OK);
    agg_free(&batch);
    agg_free(&total);
    buf_free(&points);
    return buf_detach(&b);
}

static void test_bodies(void **state)
{
    (void)state;
    day_agg s;
    agg_init(&s);
    add(&s, "paid", "10000");
    add(&s, "refunded", "250");
    add(&s, "orders", "3");
    add(&s, "refunds", "1");
    add(&s, "h:09", "9750");
    add(&s, "hn:09", "3");
    add(&s, "m:09:59", "9750");
    add(&s, "mn:09:59", "3");
    add(&s, "c:Oslo", "1000");
    add(&s, "cn:Oslo", "3");
    add(&s, "cp:Oslo", "10000");
    add(&s, "c:Bergen \"B\"", "8750");
    add(&s, "cn:Bergen \"B\"", "0");
    add(&s, "k:Books", "9750");
    add(&s, "kn:Books", "3");
    add(&s, "future:field", "1");
    s.segments = 2;

    char *j = render(&s, EP_REVENUE, IV_HOUR, 0);
    assert_string_equal(j, "{\"from\":\"2026-11-23\",\"to\":\"2026-11-23\",\"date\":\"2026-11-23\","
                           "\"revenue\":\"97.50\",\"paid\":\"100.00\","
                           "\"refunded\":\"2.50\",\"orders\":3,\"refunds\":1,"
                           "\"total_revenue\":97.50,\"speed\":{\"revenue\":\"97.50\",\"orders\":3,"
                           "\"refunds\":1,\"segments\":2},\"batch\":{\"revenue\":\"0.00\","
                           "\"orders\":0,\"refunds\":0},\"watermark\":null}");
    free(j);
    j = render(&s, EP_REVENUE, IV_HOUR, 2);
    assert_non_null(strstr(j, "\"watermark\":null,\"degraded\":\"batch unavailable\"}"));
    free(j);
    j = render(&s, EP_REVENUE, IV_HOUR, 1);
    assert_non_null(strstr(j, "\"watermark\":7}"));
    free(j);
    j = render(&s, EP_BY_CITY, IV_HOUR, 0);
    assert_string_equal(j, "{\"from\":\"2026-11-23\",\"to\":\"2026-11-23\",\"date\":\"2026-11-23\","
                           "\"cities\":[{\"city\":\"Bergen \\\"B\\\"\","
                           "\"revenue\":\"87.50\",\"orders\":0},{\"city\":\"Oslo\","
                           "\"revenue\":\"10.00\",\"orders\":3}],\"watermark\":null}");
    free(j);
    j = render(&s, EP_AVG_CHECK, IV_HOUR, 0);
    assert_string_equal(j, "{\"from\":\"2026-11-23\",\"to\":\"2026-11-23\",\"date\":\"2026-11-23\","
                           "\"cities\":[{\"city\":\"Oslo\","
                           "\"average_check\":\"33.33\",\"orders\":3,\"paid\":\"100.00\"}],"
                           "\"watermark\":null}");
    free(j);
    j = render(&s, EP_TIMESERIES, IV_MINUTE, 0);
    assert_string_equal(
        j, "{\"from\":\"2026-11-23\",\"to\":\"2026-11-23\",\"date\":\"2026-11-23\",\"interval\":"
           "\"minute\",\"points\":[{\"ts\":"
           "\"2026-11-23T09:59:00Z\",\"revenue\":\"97.50\",\"orders\":3}],\"watermark\":null}");
    free(j);
    j = render(&s, EP_TIMESERIES, IV_HOUR, 0);
    assert_non_null(strstr(j, "\"ts\":\"2026-11-23T09:00:00Z\""));
    free(j);
    j = render(&s, EP_BY_CATEGORY, IV_HOUR, 0);
    assert_string_equal(j, "{\"from\":\"2026-11-23\",\"to\":\"2026-11-23\",\"date\":\"2026-11-23\","
                           "\"categories\":[{\"category\":\"Books\","
                           "\"revenue\":\"97.50\",\"orders\":3}],\"watermark\":null}");
    free(j);
    agg_free(&s);
}

static void test_error_body(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    render_error(&b, "bad_request", "invalid date 'a\"b'");
    assert_string_equal(b.data, "{\"error\":{\"code\":\"bad_request\",\"message\":"
                                "\"invalid date 'a\\\"b'\"}}");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money),      cmocka_unit_test(test_avg_rounding),
        cmocka_unit_test(test_sort),       cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_error_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
