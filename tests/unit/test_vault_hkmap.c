/* The loader's per-key maps: a value map (a satellite's last hashdiff and time) and a set,
 * through several regrowths, against a plain array that knows the truth. */
#include "unit.h"

#include <string.h>

#include "vault/hkmap.h"

/* A hash key from a counter, spread as MD5 would spread it: keys that share their first
 * bytes (the probe start) are the hard case, so one in four does. */
static void key_of(uint32_t i, uint8_t k[VH_LEN])
{
    uint64_t a = (uint64_t)i * 0x9E3779B97F4A7C15ull, b = ~a ^ i;
    if (i % 4 == 0)
        a = 0x1234; /* same probe start for every fourth key */
    memcpy(k, &a, 8);
    memcpy(k + 8, &b, 8);
    k[15] ^= (uint8_t)i;
}

typedef struct value {
    uint8_t hashdiff[VH_LEN];
    int64_t ts;
} value;

static void test_map_through_regrowth(void **state)
{
    (void)state;
    hkmap m;
    hkmap_init(&m, sizeof(value));
    enum { N = 50000 };
    uint8_t k[VH_LEN];
    for (uint32_t i = 0; i < N; i++) {
        key_of(i, k);
        int created = -1;
        value *v = hkmap_put(&m, k, &created);
        assert_int_equal(created, 1);
        assert_int_equal(v->ts, 0); /* a new key's value is zeroed */
        v->ts = i;
        memset(v->hashdiff, (int)(i & 0xff), VH_LEN);
    }
    assert_int_equal(m.len, N);
    assert_true(m.cap * 7 >= m.len * 10);
    for (uint32_t i = 0; i < N; i++) {
        key_of(i, k);
        value *v = hkmap_get(&m, k);
        assert_non_null(v);
        assert_int_equal(v->ts, i);
        assert_int_equal(v->hashdiff[VH_LEN - 1], i & 0xff);
        int created = -1;
        assert_ptr_equal(hkmap_put(&m, k, &created), v); /* a known key: the same value */
        assert_int_equal(created, 0);
    }
    assert_int_equal(m.len, N);
    key_of(N + 1, k);
    assert_null(hkmap_get(&m, k));
    hkmap_free(&m);
    assert_null(hkmap_get(&m, k)); /* a freed map is empty, and usable */
    hkmap_free(&m);
}

static void test_set(void **state)
{
    (void)state;
    hkmap s;
    hkmap_init(&s, 0);
    uint8_t k[VH_LEN];
    assert_null(hkmap_get(&s, k));
    for (uint32_t round = 0; round < 2; round++)
        for (uint32_t i = 0; i < 3000; i++) {
            key_of(i, k);
            int created = -1;
            assert_non_null(hkmap_put(&s, k, &created));
            assert_int_equal(created, round == 0);
        }
    assert_int_equal(s.len, 3000);
    memset(k, 0, sizeof(k)); /* the all-zero key is a key like any other */
    int created = -1;
    hkmap_put(&s, k, &created);
    assert_int_equal(created, 1);
    assert_non_null(hkmap_get(&s, k));
    hkmap_free(&s);
}

/* The walk meets every key once, each with its own value, also when resumed mid-way. */
static void test_walk(void **state)
{
    (void)state;
    hkmap m;
    hkmap_init(&m, sizeof(value));
    size_t pos = 0;
    assert_null(hkmap_next(&m, &pos)); /* an empty map */
    enum { N = 5000 };
    uint8_t k[VH_LEN];
    for (uint32_t i = 0; i < N; i++) {
        key_of(i, k);
        int created;
        ((value *)hkmap_put(&m, k, &created))->ts = i;
    }
    static uint8_t seen[N];
    memset(seen, 0, sizeof(seen));
    pos = 0;
    size_t n = 0;
    for (const uint8_t *key; (key = hkmap_next(&m, &pos)) != NULL; n++) {
        const value *v = (const value *)(key + VH_LEN);
        assert_true(v->ts >= 0 && v->ts < N);
        key_of((uint32_t)v->ts, k);
        assert_memory_equal(key, k, VH_LEN);
        assert_int_equal(seen[v->ts], 0);
        seen[v->ts] = 1;
    }
    assert_int_equal(n, N);
    assert_null(hkmap_next(&m, &pos)); /* stays at the end */
    hkmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_through_regrowth),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
