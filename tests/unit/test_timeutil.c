/* test_timeutil.c — UTC calendar arithmetic and the PostgreSQL timestamp texts hdp reads. */
#include "unit.h"

#include <stdio.h>

#include "core/timeutil.h"

/* 2026-11-23 13:05:01.123456 UTC */
#define T0   INT64_C(1795439101123456)
#define HOUR (INT64_C(3600) * USEC_PER_SEC)

static void expect_ts(const char *s, int64_t want)
{
    int64_t got = 7;
    if (ts_parse(s, strlen(s), &got) != 0)
        fail_msg("'%s' was rejected", s);
    if (got != want)
        fail_msg("'%s' parsed to %lld, want %lld", s, (long long)got, (long long)want);
}

static void expect_ts_reject(const char *s)
{
    int64_t got;
    if (ts_parse(s, strlen(s), &got) != -1)
        fail_msg("'%s' was accepted as %lld", s, (long long)got);
}

static void test_ts_parse(void **state)
{
    (void)state;
    expect_ts("2026-11-23 13:05:01.123456+00", T0);
    expect_ts("2026-11-23T13:05:01.123456+00", T0);
    expect_ts("2026-11-23 13:05:01.123456", T0); /* timestamp without time zone */
    expect_ts("2026-11-23T13:05:01.123456Z", T0);
    expect_ts("2026-11-23 18:35:01.123456+05:30", T0);
    expect_ts("2026-11-23 05:05:01.123456-08", T0);
    expect_ts("2026-11-23 13:05:01.123456+00:00", T0);
    expect_ts("2026-11-23 13:05:01+00", T0 - 123456);
    expect_ts("2026-11-23 13:05:01.5+00", T0 - 123456 + 500000);
    expect_ts("2026-11-23 13:05:01.12+00", T0 - 3456);
    expect_ts("1970-01-01 00:00:00+00", 0);
    expect_ts("1969-12-31 23:59:59+00", -USEC_PER_SEC);
    expect_ts("2000-01-01 00:00:00+00", PG_EPOCH_UNIX_USEC);
    expect_ts("2024-02-29 23:00:00-01", (int64_t)19783 * USEC_PER_DAY);
    /* Offsets that cross midnight. */
    expect_ts("2026-11-24 00:30:00+05:30", T0 - 13 * HOUR - (INT64_C(301123456)) + 19 * HOUR);
}

static void test_ts_parse_bad(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "2026-11-23",
                         "2026-11-23 13:05",
                         "2026-11-23 13:05:01.",
                         "2026-11-23 13:05:01+",
                         "2026-11-23 13:05:01+5",
                         "2026-11-23 13:05:01+00:",
                         "2026-11-23 13:05:01 +00",
                         "2026-11-23 13:05:01+00x",
                         "2026-11-23X13:05:01",
                         "2026-11-23 24:00:00",
                         "2026-11-23 13:60:00",
                         "2026-13-01 00:00:00",
                         "2026-02-30 00:00:00",
                         "26-11-23 13:05:01",
                         "2026/11/23 13:05:01",
                         "infinity"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_ts_reject(bad[i]);
    /* Only n bytes are read. */
    int64_t t;
    assert_int_equal(ts_parse("2026-11-23 13:05:01+00", 19, &t), 0);
    assert_int_equal(t, T0 - 123456);
    assert_int_equal(ts_parse("2026-11-23 13:05:01+00", 18, &t), -1);
}

static void test_date_parse(void **state)
{
    (void)state;
    int64_t d = 1;
    assert_int_equal(date_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(date_parse("2024-02-29", &d), 0);
    assert_int_equal(d, 19782);
    assert_int_equal(date_parse("2000-02-29", &d), 0); /* divisible by 400 */
    assert_int_equal(date_parse("1969-12-31", &d), 0);
    assert_int_equal(d, -1);
    assert_int_equal(date_parse("2024-12-31", &d), 0);
    const char *bad[] = {
        "2023-02-29",  "1900-02-29", "2024-04-31", "2024-00-10",         "2024-13-01",
        "2024-01-00",  "2024-1-01",  "2024-01-1",  "2024-01-01 ",        " 2024-01-01",
        "2024-01-01x", "20240101",   "",           "2024-01-01T00:00:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = 12345;
        if (date_parse(bad[i], &d) != -1)
            fail_msg("'%s' was accepted", bad[i]);
    }
}

static void test_format(void **state)
{
    (void)state;
    char day[11], ts[32];
    date_format(0, day);
    assert_string_equal(day, "1970-01-01");
    date_format(19782, day);
    assert_string_equal(day, "2024-02-29");
    date_format(-1, day);
    assert_string_equal(day, "1969-12-31");
    ts_format(T0, ts);
    assert_string_equal(ts, "2026-11-23T13:05:01.123456Z");
    ts_format(0, ts);
    assert_string_equal(ts, "1970-01-01T00:00:00.000000Z");
    ts_format(-1, ts);
    assert_string_equal(ts, "1969-12-31T23:59:59.999999Z");
    /* ts_format output parses back. */
    int64_t back;
    assert_int_equal(ts_parse(ts, strlen(ts), &back), 0);
    assert_int_equal(back, -1);
}

static void test_civil_round_trip(void **state)
{
    (void)state;
    assert_int_equal(days_from_civil(1970, 1, 1), 0);
    assert_int_equal(days_from_civil(2000, 1, 1), 10957);
    assert_int_equal(days_from_civil(1, 1, 1), -719162);
    assert_int_equal(days_from_civil(9999, 12, 31), 2932896);
    /* Every day from year -1000 to 5000: consecutive, valid, and back again. */
    int py;
    unsigned pm, pd;
    civil_from_days(-1100000, &py, &pm, &pd);
    for (int64_t z = -1100000 + 1; z <= 1100000; z++) {
        int y;
        unsigned m, d;
        civil_from_days(z, &y, &m, &d);
        if (days_from_civil(y, m, d) != z)
            fail_msg("day %lld -> %d-%u-%u does not round-trip", (long long)z, y, m, d);
        int next = (d == pd + 1 && m == pm && y == py) ||
                   (d == 1 && ((m == pm + 1 && y == py) || (m == 1 && pm == 12 && y == py + 1)));
        if (!next || m < 1 || m > 12 || d < 1 || d > 31)
            fail_msg("day %lld -> %d-%u-%u does not follow %d-%u-%u", (long long)z, y, m, d, py, pm,
                     pd);
        py = y;
        pm = m;
        pd = d;
    }
}

static void test_floor_div(void **state)
{
    (void)state;
    assert_int_equal(floor_div(7, 2), 3);
    assert_int_equal(floor_div(-7, 2), -4);
    assert_int_equal(floor_div(-8, 2), -4);
    assert_int_equal(floor_div(7, -2), -4);
    assert_int_equal(floor_div(-7, -2), 3);
    assert_int_equal(floor_div(0, 5), 0);
}

/* date_format by hand writes what "%04d-%02u-%02u" wrote, for every day of years 0..9999
 * and beyond (the year is taken mod 10000 either way). */
static void test_date_format_is_printf(void **state)
{
    (void)state;
    for (int64_t day = days_from_civil(0, 1, 1); day < days_from_civil(10400, 1, 1); day++) {
        int y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        char want[48], got[11];
        snprintf(want, sizeof(want), "%04d-%02u-%02u", y % 10000, m % 100, d % 100);
        want[10] = '\0';
        date_format(day, got);
        if (strcmp(want, got) != 0)
            fail_msg("day %lld: %s, not %s", (long long)day, got, want);
    }
}

/* ts_format by hand writes what its printf format wrote: every day of years 0..10399 at a
 * time of day that walks through every hour, minute, second and digit of the microseconds. */
static void test_ts_format_is_printf(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u;
    int64_t first = days_from_civil(0, 1, 1), last = days_from_civil(10400, 1, 1);
    for (int64_t day = first; day < last; day++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t tod = (int64_t)(x % (uint64_t)USEC_PER_DAY);
        if (day == first)
            tod = 0;
        else if (day == last - 1)
            tod = USEC_PER_DAY - 1;
        int64_t t = day * USEC_PER_DAY + tod;
        int y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        char tmp[96], want[32], got[32];
        snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", y % 10000, m, d,
                 (int)(tod / USEC_PER_SEC / 3600), (int)(tod / USEC_PER_SEC / 60 % 60),
                 (int)(tod / USEC_PER_SEC % 60), (int)(tod % USEC_PER_SEC));
        snprintf(want, sizeof(want), "%.27s", tmp);
        ts_format(t, got);
        if (strcmp(want, got) != 0)
            fail_msg("%lld: %s, not %s", (long long)t, got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_parse),         cmocka_unit_test(test_ts_parse_bad),
        cmocka_unit_test(test_date_parse),       cmocka_unit_test(test_format),
        cmocka_unit_test(test_civil_round_trip), cmocka_unit_test(test_floor_div),
        cmocka_unit_test(test_date_format_is_printf),
        cmocka_unit_test(test_ts_format_is_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
