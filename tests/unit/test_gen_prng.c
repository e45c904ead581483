/* The generator's PRNG: deterministic per seed, bounded draws stay in range. */
#include "unit.h"

#include "gen/prng.h"

static void same_seed_same_stream(void **state)
{
    (void)state;
    gen_prng a, b, c;
    prng_seed(&a, 42);
    prng_seed(&b, 42);
    prng_seed(&c, 43);
    int differs = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = prng_next(&a);
        assert_int_equal(x, prng_next(&b));
        differs |= x != prng_next(&c);
    }
    assert_true(differs);
}

static void known_first_value(void **state)
{
    /* Pins the algorithm: changing it would silently change every seeded workload.
     * splitmix64(0) starts with 0xe220a8397b1dcdaf (the published reference value). */
    (void)state;
    gen_prng a;
    prng_seed(&a, 0);
    assert_int_equal(a.s[0], UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(prng_next(&a), UINT64_C(0x99ec5f36cb75f2b4));
}

static void bounded_draws(void **state)
{
    (void)state;
    gen_prng p;
    prng_seed(&p, 7);
    int seen[10] = {0};
    for (int i = 0; i < 10000; i++) {
        uint64_t v = prng_below(&p, 10);
        assert_true(v < 10);
        seen[v]++;
        int64_t r = prng_range(&p, -3, 3);
        assert_true(r >= -3 && r <= 3);
    }
    for (int i = 0; i < 10; i++)
        assert_true(seen[i] > 800 && seen[i] < 1200);
    assert_int_equal(prng_below(&p, 0), 0);
    assert_int_equal(prng_range(&p, 5, 5), 5);
    assert_int_equal(prng_range(&p, 9, 2), 9);
    int hits = 0;
    for (int i = 0; i < 10000; i++)
        hits += prng_chance(&p, 300);
    assert_true(hits > 200 && hits < 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_stream),
        cmocka_unit_test(known_first_value),
        cmocka_unit_test(bounded_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
