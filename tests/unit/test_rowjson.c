/* A decoded change as one raw-zone JSON line. */
#include "unit.h"

#include <stdlib.h>

#include "capture/rowjson.h"

static void test_types_nulls_and_unchanged(void **state)
{
    (void)state;
    pgo_column cols[] = {{"order_id", 20, -1, 1},  {"total", 1700, -1, 0}, {"paid_at", 1184, -1, 0},
                         {"ship_city", 25, -1, 0}, {"gift", 16, -1, 0},    {"note", 25, -1, 0},
                         {"blob", 25, -1, 0}};
    pgo_relation rel = {1, "public", "orders", 'f', 7, cols};
#define TEXT(s) {'t', s, (uint32_t)strlen(s)}
    pgo_value vals[] = {TEXT("42"),
                        TEXT("-12.50"),
                        TEXT("2026-11-23 13:05:01.5+00"),
                        TEXT("K\"r\xc3\xb3w"),
                        TEXT("t"),
                        {'n', NULL, 0},
                        {'u', NULL, 0}};
    pgo_tuple t = {7, vals};
    rowjson_meta m = {123456, 2, INT64_C(1795439107000000), 77, 9, 'U'};
    hdp_buf b = HDP_BUF_INIT;
    rowjson_append(&b, &m, &rel, &t, NULL);
    assert_string_equal(
        b.data, "{\"commit_lsn\":123456,\"seq\":2,\"commit_ts\":\"2026-11-23T13:05:07.000000Z\","
                "\"xid\":77,\"segment\":9,\"op\":\"U\",\"table\":\"orders\",\"order_id\":42,"
                "\"total\":\"-12.50\",\"paid_at\":\"2026-11-23T13:05:01.500000Z\","
                "\"ship_city\":\"K\\\"r\xc3\xb3w\",\"gift\":true,\"note\":null,\"blob\":null,"
                "\"_unchanged\":[\"blob\"]}\n");
    buf_free(&b);
}

static void test_bad_integer_text_stays_a_string(void **state)
{
    (void)state;
    pgo_column cols[] = {{"n", 23, -1, 0}};
    pgo_relation rel = {1, "public", "t", 'd', 1, cols};
    pgo_value vals[] = {{'t', "1e5", 3}};
    pgo_tuple t = {1, vals};
    rowjson_meta m = {1, 0, 0, 1, 0, 'I'};
    hdp_buf b = HDP_BUF_INIT;
    rowjson_append(&b, &m, &rel, &t, NULL);
    assert_non_null(strstr(b.data, "\"n\":\"1e5\""));
    buf_free(&b);
}

/* Issue 10 #2: text that is not UTF-8 never reaches the raw zone as such: the value is null,
 * its bytes are kept as hex under "_invalid", and the line stays valid UTF-8 JSON. */
static void test_invalid_utf8_is_marked(void **state)
{
    (void)state;
    pgo_column cols[] = {{"customer_id", 20, -1, 1}, {"city", 25, -1, 0}};
    pgo_relation rel = {1, "public", "customers", 'd', 2, cols};
    pgo_value vals[] = {{'t', "7", 1}, {'t', "Os\xff\xfe", 4}};
    pgo_tuple t = {2, vals};
    rowjson_meta m = {1, 0, 0, 1, 0, 'I'};
    hdp_buf b = HDP_BUF_INIT;
    rowjson_append(&b, &m, &rel, &t, NULL);
    assert_non_null(strstr(b.data, "\"city\":null"));
    assert_non_null(strstr(b.data, "\"_invalid\":\"city: not valid UTF-8, hex:4f73fffe\""));
    assert_null(strchr(b.data, '\xff'));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_nulls_and_unchanged),
        cmocka_unit_test(test_bad_integer_text_stays_a_string),
        cmocka_unit_test(test_invalid_utf8_is_marked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
