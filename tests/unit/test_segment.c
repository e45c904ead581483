/* test_segment.c — the segment rule: floor of commit time, clamped to never decrease. */
#include "unit.h"

#include "core/segment.h"
#include "core/timeutil.h"

#define S      60
#define SEC(x) ((int64_t)(x)*USEC_PER_SEC)

static void test_floor(void **state)
{
    (void)state;
    assert_int_equal(segment_of(0, S, -1), 0);
    assert_int_equal(segment_of(SEC(59) + 999999, S, -1), 0);
    assert_int_equal(segment_of(SEC(60), S, -1), 1);
    assert_int_equal(segment_of(SEC(1795439101), S, -1), 29923985);
    /* Negative times floor towards minus infinity (prev below any candidate). */
    assert_int_equal(segment_of(-1, S, INT64_MIN), -1);
    assert_int_equal(segment_of(-SEC(60), S, INT64_MIN), -1);
    assert_int_equal(segment_of(-SEC(60) - 1, S, INT64_MIN), -2);
    assert_int_equal(segment_of(SEC(3599), 3600, -1), 0);
    assert_int_equal(segment_of(SEC(3600), 3600, -1), 1);
}

static void test_clamp(void **state)
{
    (void)state;
    /* The clock steps back: the segment stays. */
    int64_t prev = segment_of(SEC(6000), S, -1);
    assert_int_equal(prev, 100);
    int64_t ts[] = {SEC(5000), SEC(6030), SEC(6059), SEC(100), SEC(6060), SEC(6000), SEC(7000)};
    int64_t want[] = {100, 100, 100, 100, 101, 101, 116};
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        int64_t s = segment_of(ts[i], S, prev);
        assert_int_equal(s, want[i]);
        assert_true(s >= prev);
        prev = s;
    }
}

static void test_end(void **state)
{
    (void)state;
    assert_int_equal(segment_end_us(0, S), SEC(60));
    assert_int_equal(segment_end_us(-1, S), 0);
    assert_int_equal(segment_end_us(-2, S), -SEC(60));
    for (int64_t seg = -5; seg < 5; seg++) {
        int64_t end = segment_end_us(seg, S);
        /* The last µs of seg belongs to seg; the end belongs to the next. */
        assert_int_equal(segment_of(end - 1, S, INT64_MIN), seg);
        assert_int_equal(segment_of(end, S, INT64_MIN), seg + 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floor),
        cmocka_unit_test(test_clamp),
        cmocka_unit_test(test_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
