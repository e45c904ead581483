/* Routing and query validation of the HTTP API. */
#include "unit.h"

#include <stdio.h>

#include "core/timeutil.h"
#include "serve/query.h"

static int64_t day_of(const char *s)
{
    int64_t d = 0;
    assert_int_equal(date_parse(s, &d), 0);
    return d;
}

static void test_route(void **state)
{
    (void)state;
    assert_int_equal(serve_route("/api/v1/revenue"), EP_REVENUE);
    assert_int_equal(serve_route("/api/v1/revenue/by-city"), EP_BY_CITY);
    assert_int_equal(serve_route("/api/v1/revenue/by-category"), EP_BY_CATEGORY);
    assert_int_equal(serve_route("/api/v1/revenue/timeseries"), EP_TIMESERIES);
    assert_int_equal(serve_route("/api/v1/cities/average-check"), EP_AVG_CHECK);
    assert_int_equal(serve_route("/health"), EP_HEALTH);
    assert_int_equal(serve_route("/"), EP_INDEX);
    assert_int_equal(serve_route("/api/v1/revenue/"), EP_UNKNOWN);
    assert_int_equal(serve_route("/API/v1/revenue"), EP_UNKNOWN);
    assert_int_equal(serve_route(""), EP_UNKNOWN);
    assert_true(serve_endpoint_is_api(EP_TIMESERIES));
    assert_false(serve_endpoint_is_api(EP_METRICS));
    assert_string_equal(serve_endpoint_name(EP_BY_CITY), "by_city");
}

static void test_route_assets(void **state)
{
    (void)state;
    assert_int_equal(serve_route("/assets/app.js"), EP_ASSET);
    assert_int_equal(serve_route("/assets/"), EP_ASSET); /* 404: no name */
    assert_int_equal(serve_route("/assets"), EP_UNKNOWN);
    assert_string_equal(serve_endpoint_name(EP_ASSET), "asset");
    assert_string_equal(serve_asset_name("/assets/uPlot.iife.min.js"), "uPlot.iife.min.js");
    assert_string_equal(serve_asset_name("/assets/swagger-ui_2.css"), "swagger-ui_2.css");
    const char *bad[] = {"/assets/", "/assets/.env", "/assets/../x.js", "/assets/a/b.js",
                         "/assets/%2e%2e.js", "/assets/a b.js", "/asset/a.js"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(serve_asset_name(bad[i]));
}

static void test_route_history(void **state)
{
    (void)state;
    assert_int_equal(serve_route("/api/v1/users/42/history"), EP_HISTORY);
    assert_int_equal(serve_route("/api/v1/user/42/history"), EP_USER_HISTORY);
    assert_int_equal(serve_route("/api/v1/users/abc/history"), EP_HISTORY); /* 400 later */
    assert_int_equal(serve_route("/api/v1/users//history"), EP_UNKNOWN);
    assert_int_equal(serve_route("/api/v1/users/4/2/history"), EP_UNKNOWN);
    assert_int_equal(serve_route("/api/v1/users/42/history/"), EP_UNKNOWN);
    assert_int_equal(serve_route("/api/v1/users/42"), EP_UNKNOWN);
    assert_int_equal(serve_route("/api/v1/users/42/historyx"), EP_UNKNOWN);
    assert_true(serve_endpoint_is_history(EP_USER_HISTORY));
    assert_false(serve_endpoint_is_history(EP_REVENUE));
    assert_string_equal(serve_endpoint_name(EP_HISTORY), "history");
    assert_string_equal(serve_endpoint_name(EP_USER_HISTORY), "user_history");
}

static void test_history_id(void **state)
{
    (void)state;
    int64_t id = 0;
    hdp_err e;
    assert_int_equal(serve_history_id("/api/v1/users/42/history", &id, &e), HDP_OK);
    assert_int_equal(id, 42);
    assert_int_equal(serve_history_id("/api/v1/user/0007/history", &id, &e), HDP_OK);
    assert_int_equal(id, 7);
    assert_int_equal(serve_history_id("/api/v1/users/9223372036854775807/history", &id, &e),
                     HDP_OK);
    assert_true(id == INT64_MAX);
    static const char *const bad[] = {
        "/api/v1/users/0/history",
        "/api/v1/users/-1/history",
        "/api/v1/users/+1/history",
        "/api/v1/users/abc/history",
        "/api/v1/users/1 /history",
        "/api/v1/users/9223372036854775808/history",
        "/api/v1/users/99999999999999999999/history",
        "/api/v1/users/\xff/history",
        "/api/v1/revenue",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(serve_history_id(bad[i], &id, &e), HDP_ERR);
    assert_int_equal(serve_history_id("/api/v1/users/\xff\x01/history", &id, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "'?\?'")); /* never echoes bytes that break JSON */
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/users/%0100d/history", 1);
    path[20] = 'x';
    assert_int_equal(serve_history_id(path, &id, &e), HDP_ERR);
    assert_true(strlen(e.msg) < 120); /* clipped */
}

static void test_defaults(void **state)
{
    (void)state;
    serve_query q;
    hdp_err e;
    int64_t today = day_of("2026-11-23");
    assert_int_equal(serve_query_parse(EP_TIMESERIES, NULL, 0, today, &q, &e), HDP_OK);
    assert_string_equal(q.from, "2026-11-23");
    assert_string_equal(q.to, "2026-11-23");
    assert_int_equal(q.interval, IV_HOUR);
    char key[64];
    serve_query_key(&q, key, sizeof(key));
    assert_string_equal(key, "timeseries|2026-11-23|2026-11-23|hour");
}

static void test_valid(void **state)
{
    (void)state;
    serve_query q;
    hdp_err e;
    serve_arg a[] = {{"interval", "minute"}, {"date", "2024-02-29"}};
    assert_int_equal(serve_query_parse(EP_TIMESERIES, a, 2, 0, &q, &e), HDP_OK);
    assert_string_equal(q.from, "2024-02-29");
    assert_int_equal(q.from_day, day_of("2024-02-29"));
    assert_int_equal(q.to_day, q.from_day);
    assert_int_equal(q.interval, IV_MINUTE);
    char key[64];
    serve_query_key(&q, key, sizeof(key));
    assert_string_equal(key, "timeseries|2024-02-29|2024-02-29|minute");
    serve_arg b[] = {{"date", "2026-01-01"}};
    assert_int_equal(serve_query_parse(EP_REVENUE, b, 1, 0, &q, &e), HDP_OK);
    serve_query_key(&q, key, sizeof(key));
    assert_string_equal(key, "revenue|2026-01-01|2026-01-01|");
}

static void expect_bad(serve_endpoint ep, const char *k, const char *v, const char *needle)
{
    serve_query q;
    hdp_err e;
    serve_arg a[] = {{k, v}};
    assert_int_equal(serve_query_parse(ep, a, 1, 0, &q, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, needle));
}

static void test_invalid(void **state)
{
    (void)state;
    expect_bad(EP_REVENUE, "date", "2026-02-30", "invalid date");
    expect_bad(EP_REVENUE, "date", "2025-02-29", "invalid date");
    expect_bad(EP_REVENUE, "date", "abc", "invalid date");
    expect_bad(EP_REVENUE, "date", "", "invalid date");
    expect_bad(EP_REVENUE, "date", NULL, "invalid date");
    expect_bad(EP_REVENUE, "date", "2026-11-23x", "invalid date");
    expect_bad(EP_REVENUE, "date", "2026-1-23", "invalid date");
    expect_bad(EP_TIMESERIES, "interval", "week", "invalid interval");
    expect_bad(EP_TIMESERIES, "interval", "", "invalid interval");
    expect_bad(EP_TIMESERIES, "interval", "HOUR", "invalid interval");
    expect_bad(EP_REVENUE, "interval", "hour", "unknown query parameter 'interval'");
    expect_bad(EP_BY_CITY, "city", "Oslo", "unknown query parameter");
    /* a long value is clipped in the message */
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_bad(EP_REVENUE, "date", big, "...");
}

static void test_ranges(void **state)
{
    (void)state;
    serve_query q;
    hdp_err e;
    serve_arg a[] = {{"from", "2026-02-27"}, {"to", "2026-03-02"}, {"interval", "day"}};
    assert_int_equal(serve_query_parse(EP_TIMESERIES, a, 3, 0, &q, &e), HDP_OK);
    assert_int_equal(q.to_day - q.from_day, 3); /* 2026 is no leap year */
    assert_int_equal(q.interval, IV_DAY);
    char key[64];
    serve_query_key(&q, key, sizeof(key));
    assert_string_equal(key, "timeseries|2026-02-27|2026-03-02|day");
    /* one end alone is a one-day range */
    serve_arg b[] = {{"to", "2026-03-02"}};
    assert_int_equal(serve_query_parse(EP_AVG_CHECK, b, 1, 0, &q, &e), HDP_OK);
    assert_string_equal(q.from, "2026-03-02");
    assert_string_equal(q.to, "2026-03-02");
    /* the widest range allowed, and one day more */
    serve_arg c[] = {{"from", "2025-01-01"}, {"to", "2026-01-01"}};
    assert_int_equal(serve_query_parse(EP_REVENUE, c, 2, 0, &q, &e), HDP_OK);
    assert_int_equal(q.to_day - q.from_day + 1, SERVE_MAX_DAYS);
    serve_arg d[] = {{"from", "2025-01-01"}, {"to", "2026-01-02"}};
    assert_int_equal(serve_query_parse(EP_REVENUE, d, 2, 0, &q, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "367 days"));
    serve_arg f[] = {{"from", "2026-01-02"}, {"to", "2026-01-01"}};
    assert_int_equal(serve_query_parse(EP_REVENUE, f, 2, 0, &q, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "after"));
    serve_arg g[] = {{"date", "2026-01-02"}, {"to", "2026-01-03"}};
    assert_int_equal(serve_query_parse(EP_REVENUE, g, 2, 0, &q, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "either"));
    serve_arg h[] = {{"from", "2026-01-01"}, {"to", "2026-01-08"}, {"interval", "minute"}};
    assert_int_equal(serve_query_parse(EP_TIMESERIES, h, 3, 0, &q, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "minute points"));
    h[1].val = "2026-01-07";
    assert_int_equal(serve_query_parse(EP_TIMESERIES, h, 3, 0, &q, &e), HDP_OK);
    serve_arg k[] = {{"from", "2026-01-01"}, {"from", "2026-01-02"}};
    assert_int_equal(serve_query_parse(EP_REVENUE, k, 2, 0, &q, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "more than once"));
    expect_bad(EP_REVENUE, "from", "2026-13-01", "invalid from");
}

static void test_repeated(void **state)
{
    (void)state;
    serve_query q;
    hdp_err e;
    serve_arg a[] = {{"date", "2026-01-01"}, {"date", "2026-01-02"}};
    assert_int_equal(serve_query_parse(EP_REVENUE, a, 2, 0, &q, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "more than once"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),      cmocka_unit_test(test_route_assets),
        cmocka_unit_test(test_route_history),
        cmocka_unit_test(test_history_id), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_valid),      cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_repeated),   cmocka_unit_test(test_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
