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
    cache_get(c, "k1", fill, &calls, 0, &body, &len, &status, &hit);
    assert_string_equal(body, "k1#1");
    assert_int_equal(len, 4);
    assert_false(hit);
    free(body);
    cache_get(c, "k1", fill, &calls, 0, &body, &len, &status, &hit);
    assert_string_equal(body, "k1#1");
    assert_true(hit);
    assert_int_equal(status, 200);
    free(body);
    /* more keys than entries: the cache never grows past its bound, answers stay right */
    char key[16];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "x%d", i);
        cache_get(c, key, fill, &calls, 0, &body, &len, &status, &hit);
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
        cache_get(c, "k", fill, &calls, 0, &body, &len, &status, &hit);
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
    cache_get(c, "same", slow_fill, NULL, 0, &body, &len, &status, &hit);
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

/* A stale answer is served while another thread recomputes it only if it is less than two
 * windows old; an older one makes the caller wait for the new answer (the marts test found
 * readers served an answer from before a burst of orders, ten seconds old). */
static atomic_int gate_open;
static atomic_int gen;

static void gated_fill(void *ctx, const char *key, hdp_buf *body, int *status)
{
    (void)ctx;
    int n = atomic_fetch_add(&gen, 1) + 1;
    while (n > 1 && !atomic_load(&gate_open)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    buf_printf(body, "%s#%d", key, n);
    *status = 200;
}

static void *stale_worker(void *arg)
{
    serve_cache *c = arg;
    char *body;
    size_t len;
    int status, hit;
    cache_get(c, "k", gated_fill, NULL, 0, &body, &len, &status, &hit);
    return body;
}

static void test_stale_answers_are_bounded(void **state)
{
    (void)state;
    serve_cache *c = cache_new(20, 0); /* 20 ms window */
    char *body;
    size_t len;
    int status, hit;
    cache_get(c, "k", gated_fill, NULL, 0, &body, &len, &status, &hit); /* k#1 */
    free(body);
    struct timespec ts = {0, 100 * 1000 * 1000}; /* five windows: far too old to serve */
    nanosleep(&ts, NULL);
    pthread_t filler, reader;
    assert_int_equal(pthread_create(&filler, NULL, stale_worker, c), 0); /* blocks in fill */
    while (atomic_load(&gen) < 2) {
        struct timespec t1 = {0, 1000 * 1000};
        nanosleep(&t1, NULL);
    }
    assert_int_equal(pthread_create(&reader, NULL, stale_worker, c), 0);
    struct timespec t2 = {0, 30 * 1000 * 1000};
    nanosleep(&t2, NULL);
    atomic_store(&gate_open, 1);
    void *a, *b;
    pthread_join(filler, &a);
    pthread_join(reader, &b);
    assert_string_equal(a, "k#2");
    assert_string_equal(b, "k#2"); /* not the 100 ms old k#1 */
    free(a);
    free(b);
    cache_free(c);
}

/* A stale answer that may still be served is refilled by the cache's refresher thread, on a
 * copy of the caller's context: the caller gets the stale answer at once, not after the fill
 * (a worker thread blocked in a fill stalls every connection it serves: the API's p99). */
typedef struct tagged {
    int tag;
    pthread_t caller;
} tagged;

static atomic_int refresh_gen, refresh_gate, refresh_wrong;

static void refresh_fill(void *ctx, const char *key, hdp_buf *body, int *status)
{
    const tagged *t = ctx;
    int n = atomic_fetch_add(&refresh_gen, 1) + 1;
    if (n > 1 && (t->tag != 42 || pthread_equal(t->caller, pthread_self())))
        atomic_store(&refresh_wrong, 1);
    while (n > 1 && !atomic_load(&refresh_gate)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    buf_printf(body, "%s#%d", key, n);
    *status = 200;
}

static void test_stale_answers_are_refreshed_off_the_caller(void **state)
{
    (void)state;
    serve_cache *c = cache_new(500, 0);
    char *body;
    size_t len;
    int status, hit;
    tagged t = {42, pthread_self()};
    cache_get(c, "k", refresh_fill, &t, sizeof(t), &body, &len, &status, &hit); /* k#1, here */
    assert_int_equal(hit, 0);
    free(body);
    struct timespec ts = {0, 600 * 1000 * 1000}; /* stale, still young enough to serve */
    nanosleep(&ts, NULL);
    cache_get(c, "k", refresh_fill, &t, sizeof(t), &body, &len, &status, &hit);
    t.tag = 0; /* the refresher holds its own copy */
    assert_string_equal(body, "k#1"); /* at once, though the refill is held at the gate */
    assert_int_equal(hit, 1);
    free(body);
    while (atomic_load(&refresh_gen) < 2) {
        struct timespec t1 = {0, 1000 * 1000};
        nanosleep(&t1, NULL);
    }
    atomic_store(&refresh_gate, 1);
    for (int i = 0; i < 5000; i++) {
        cache_get(c, "k", refresh_fill, &t, 0, &body, &len, &status, &hit);
        int done = strcmp(body, "k#2") == 0;
        free(body);
        if (done)
            break;
        struct timespec t1 = {0, 1000 * 1000};
        nanosleep(&t1, NULL);
    }
    assert_int_equal(atomic_load(&refresh_gen), 2);
    assert_int_equal(atomic_load(&refresh_wrong), 0);
    cache_get(c, "k", refresh_fill, &t, 0, &body, &len, &status, &hit);
    assert_string_equal(body, "k#2");
    free(body);
    /* half a window old: still served, and refilled ahead of its expiry */
    struct timespec half = {0, 300 * 1000 * 1000};
    nanosleep(&half, NULL);
    t.tag = 42;
    cache_get(c, "k", refresh_fill, &t, sizeof(t), &body, &len, &status, &hit);
    assert_string_equal(body, "k#2");
    free(body);
    for (int i = 0; i < 5000 && atomic_load(&refresh_gen) < 3; i++) {
        struct timespec t1 = {0, 1000 * 1000};
        nanosleep(&t1, NULL);
    }
    assert_int_equal(atomic_load(&refresh_gen), 3);
    assert_int_equal(atomic_load(&refresh_wrong), 0);
    cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_within_window),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_single_flight),
        cmocka_unit_test(test_stale_answers_are_bounded),
        cmocka_unit_test(test_stale_answers_are_refreshed_off_the_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
