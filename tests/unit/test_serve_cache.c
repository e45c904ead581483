/* The answer cache: hits within the window, fills when disabled, many keys. */
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>

#include "serve/cache.h"

static void fill(void *ctx, const char *key, hdp_buf *body, int *status)
{
    int *calls = ctx;
    (*calls)++;
    buf_printf(body, "%s#%d", key, *calls);
    *status = 200;
}

static void test_hit_within_window(void **state)
{
    (void)state;
    serve_cache *c = cache_new(3600 * 1000L, 8); /* an hour: no expiry during the test */
    int calls = 0, status, hit;
    char *body;
    size_t len;
    cache_get(c, "k1", fill, &calls, &body, &len, &status, &hit);
    assert_string_equal(body, "k1#1");
    assert_int_equal(len, 4);
    assert_false(hit);
    free(body);
    cache_get(c, "k1", fill, &calls, &body, &len, &status, &hit);
    assert_string_equal(body, "k1#1");
    assert_true(hit);
    assert_int_equal(status, 200);
    free(body);
    /* more keys than entries: the cache never grows past its bound, answers stay right */
    char key[16];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "x%d", i);
        cache_get(c, key, fill, &calls, &body, &len, &status, &hit);
        assert_non_null(strstr(body, key));
        free(body);
    }
    cache_free(c);
    cache_free(NULL);
}

static void test_disabled(void **state)
{
    (void)state;
    serve_cache *c = cache_new(0, 0);
    int calls = 0, status, hit;
    char *body;
    size_t len;
    for (int i = 1; i <= 3; i++) {
        cache_get(c, "k", fill, &calls, &body, &len, &status, &hit);
        assert_false(hit);
        free(body);
    }
    assert_int_equal(calls, 3);
    cache_free(c);
}

static atomic_int slow_calls;

static void slow_fill(void *ctx, const char *key, hdp_buf *body, int *status)
{
    (void)ctx;
    int n = atomic_fetch_add(&slow_calls, 1) + 1;
    struct timespec ts = {0, 20 * 1000 * 1000}; /* widen the race window; not asserted on */
    nanosleep(&ts, NULL);
    buf_printf(body, "%s#%d", key, n);
    *status = 503;
}

static void *worker(void *arg)
{
    serve_cache *c = arg;
    char *body;
    size_t len;
    int status, hit;
    cache_get(c, "same", slow_fill, NULL, &body, &len, &status, &hit);
    int ok = strcmp(body, "same#1") == 0 && status == 503;
    free(body);
    return ok ? arg : NULL;
}

/* Concurrent misses on one key run the fill once; everyone gets its answer (errors too). */
static void test_single_flight(void **state)
{
    (void)state;
    serve_cache *c = cache_new(3600 * 1000L, 0);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, c), 0);
    for (int i = 0; i < 8; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_ptr_equal(ret, c);
    }
    assert_int_equal(atomic_load(&slow_calls), 1);
    cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_within_window),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_single_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
