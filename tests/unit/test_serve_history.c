/* Rendering of the customer history from the history query's rows (no database: the rows
 * are a hand-built PGresult). */
#include "unit.h"

#include <libpq-fe.h>

#include "serve/history.h"

enum { NCOLS = 11 };

/* A result with history_sql's columns; rows are arrays of NCOLS strings (NULL: SQL NULL). */
static PGresult *make_result(const char *const (*rows)[NCOLS], int n)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    assert_non_null(r);
    PGresAttDesc att[NCOLS];
    char names[NCOLS][8];
    memset(att, 0, sizeof(att));
    for (int i = 0; i < NCOLS; i++) {
        snprintf(names[i], sizeof(names[i]), "c%d", i);
        att[i].name = names[i];
        att[i].format = 0;
        att[i].typlen = -1;
        att[i].atttypmod = -1;
    }
    assert_int_equal(PQsetResultAttrs(r, NCOLS, att), 1);
    for (int row = 0; row < n; row++)
        for (int col = 0; col < NCOLS; col++) {
            const char *v = rows[row][col];
            assert_int_equal(PQsetvalue(r, row, col, (char *)v, v ? (int)strlen(v) : -1), 1);
        }
    return r;
}

static const char *const customer[NCOLS] = {"0",    NULL,    "0",  NULL, "42", "Ada \"A\"",
                                            "Oslo", "false", NULL, NULL, NULL};
static const char *const order7[NCOLS] = {"1",
                                          "7",
                                          "0",
                                          NULL,
                                          "delivered",
                                          "123.4",
                                          "USD",
                                          "Oslo",
                                          "2026-11-02 10:00:00.5+00",
                                          "2026-11-02 10:00:00.5+00",
                                          NULL};
static const char *const line1[NCOLS] = {"2",  "7",  "1",  NULL, "3", "2",
                                         "10", NULL, NULL, NULL, NULL};
static const char *const paid[NCOLS] = {
    "3", "7", "0", "2026-11-02 10:00:00.5+00", "paid", NULL, NULL, NULL, NULL, NULL, NULL};
static const char *const shipped1[NCOLS] = {
    "3", "7", "0", "2026-11-03 11:00:00+00", "shipped", NULL, NULL, NULL, NULL, NULL, NULL};
static const char *const shipped2[NCOLS] = {
    "3", "7", "0", "2026-11-03 12:00:00+00", "shipped", NULL, NULL, NULL, NULL, NULL, NULL};
static const char *const order8[NCOLS] = {
    "1", "8", "0", NULL, "paid", "-0.05", "USD", NULL, "2026-11-04 00:00:00+00", NULL, NULL};

static const char want7[] =
    "{\"order_id\":7,\"status\":\"delivered\",\"total\":\"123.40\",\"currency\":\"USD\","
    "\"ship_city\":\"Oslo\",\"created_at\":\"2026-11-02T10:00:00.500000Z\","
    "\"paid_at\":\"2026-11-02T10:00:00.500000Z\",\"refunded_at\":null,"
    "\"lines\":[{\"line_no\":1,\"product_id\":3,\"quantity\":2,\"unit_price\":\"10.00\"}],"
    "\"status_history\":[{\"status\":\"paid\",\"at\":\"2026-11-02T10:00:00.500000Z\"},"
    "{\"status\":\"shipped\",\"at\":\"2026-11-03T11:00:00.000000Z\"}]}";
static const char want8[] =
    "{\"order_id\":8,\"status\":\"paid\",\"total\":\"-0.05\",\"currency\":\"USD\","
    "\"ship_city\":null,\"created_at\":\"2026-11-04T00:00:00.000000Z\",\"paid_at\":null,"
    "\"refunded_at\":null,\"lines\":[],\"status_history\":[]}";

/* Copies rows (each a NCOLS array above) into out, for make_result. */
static void rows_of(const char *out[][NCOLS], const char *const *const *rows, int n)
{
    for (int i = 0; i < n; i++)
        memcpy(out[i], rows[i], sizeof(out[i]));
}

static void test_render_users(void **state)
{
    (void)state;
    const char *const *const all[] = {customer, order7, line1, paid, shipped1, shipped2, order8};
    const char *flat[7][NCOLS];
    rows_of(flat, all, 7);
    PGresult *r = make_result((const char *const(*)[NCOLS])flat, 7);
    hdp_buf b = HDP_BUF_INIT;
    hdp_err e;
    int found = 0;
    assert_int_equal(history_render(r, HISTORY_USERS, &b, &found, &e), HDP_OK);
    assert_true(found);
    hdp_buf want = HDP_BUF_INIT;
    buf_printf(&want,
               "{\"customer_id\":42,\"name\":\"Ada \\\"A\\\"\",\"city\":\"Oslo\",\"orders\":"
               "[%s,%s]}",
               want7, want8);
    assert_string_equal(b.data, want.data);

    buf_reset(&b);
    buf_reset(&want);
    assert_int_equal(history_render(r, HISTORY_ORIGINAL, &b, &found, &e), HDP_OK);
    buf_printf(&want,
               "{\"user_id\":42,\"customer_id\":42,\"name\":\"Ada \\\"A\\\"\",\"city\":\"Oslo\","
               "\"orders\":[%s,%s],\"history\":[%s,%s]}",
               want7, want8, want7, want8);
    assert_string_equal(b.data, want.data);
    buf_free(&b);
    buf_free(&want);
    PQclear(r);
}

static void test_render_not_found_and_deleted(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    hdp_err e;
    int found = 1;
    PGresult *r = make_result(NULL, 0);
    assert_int_equal(history_render(r, HISTORY_USERS, &b, &found, &e), HDP_OK);
    assert_false(found);
    assert_int_equal(b.len, 0);
    PQclear(r);

    const char *deleted[1][NCOLS];
    memcpy(deleted[0], customer, sizeof(deleted[0]));
    deleted[0][7] = "true";
    r = make_result((const char *const(*)[NCOLS])deleted, 1);
    assert_int_equal(history_render(r, HISTORY_USERS, &b, &found, &e), HDP_OK);
    assert_false(found);
    PQclear(r);

    const char *no_orders[1][NCOLS];
    memcpy(no_orders[0], customer, sizeof(no_orders[0]));
    no_orders[0][5] = NULL;
    no_orders[0][7] = NULL;
    r = make_result((const char *const(*)[NCOLS])no_orders, 1);
    assert_int_equal(history_render(r, HISTORY_USERS, &b, &found, &e), HDP_OK);
    assert_true(found);
    assert_string_equal(b.data,
                        "{\"customer_id\":42,\"name\":null,\"city\":\"Oslo\",\"orders\":[]}");
    buf_free(&b);
    PQclear(r);
}

static void test_render_malformed(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    hdp_err e;
    int found = 1;
    const char *rows[2][NCOLS];
    memcpy(rows[0], customer, sizeof(rows[0]));
    memcpy(rows[1], order7, sizeof(rows[1]));
    rows[1][5] = "12x";
    PGresult *r = make_result((const char *const(*)[NCOLS])rows, 2);
    assert_int_equal(history_render(r, HISTORY_USERS, &b, &found, &e), HDP_ERR);
    assert_false(found);
    assert_int_equal(b.len, 0); /* nothing half-written */
    PQclear(r);

    rows[1][5] = "1.00";
    rows[1][8] = "yesterday";
    r = make_result((const char *const(*)[NCOLS])rows, 2);
    assert_int_equal(history_render(r, HISTORY_USERS, &b, &found, &e), HDP_ERR);
    PQclear(r);

    memcpy(rows[1], line1, sizeof(rows[1])); /* a line before any order */
    r = make_result((const char *const(*)[NCOLS])rows, 2);
    assert_int_equal(history_render(r, HISTORY_USERS, &b, &found, &e), HDP_ERR);
    PQclear(r);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_users),
        cmocka_unit_test(test_render_not_found_and_deleted),
        cmocka_unit_test(test_render_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
