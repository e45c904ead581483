/* test_driver.c — the one driver of every stage: what a failure means (transient retried,
 * permanent at once), the backoff's bounds and jitter, the attempts and the timeout of a
 * batch task, a stream that runs until asked to stop and finishes cleanly. Stages here are
 * small fakes whose behaviour each test scripts; the driver under test is the real one. */
#include "unit.h"

#include <time.h>

#include "core/timeutil.h"
#include "orchestrate/driver.h"

typedef struct fake {
    const int *script; /* rc of each unit, then the last one repeats */
    int nscript;
    int runs, resets, finishes, closes;
    int sleep_ms;          /* each unit takes this long, returning early when cancelled */
    volatile int *stop_at; /* set *stop_at = 1 after stop_after runs (streams) */
    int stop_after;
    int saw_cancel;
} fake;

static fake *current;

static int f_init(void **ctx, const hdp_config *cfg, const stage_args *a, hdp_err *e)
{
    (void)cfg;
    (void)a;
    (void)e;
    *ctx = current;
    return HDP_OK;
}

static int f_run(void *ctx, volatile int *cancel, stage_report *r, hdp_err *e)
{
    fake *f = ctx;
    int i = f->runs < f->nscript ? f->runs : f->nscript - 1;
    f->runs++;
    for (int ms = 0; ms < f->sleep_ms && !*cancel; ms += 5) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    if (*cancel)
        f->saw_cancel = 1;
    if (f->stop_at && f->runs >= f->stop_after)
        *f->stop_at = 1;
    r->rows = f->runs;
    snprintf(r->summary, sizeof(r->summary), "fake: unit %d", f->runs);
    if (f->script[i] == HDP_RETRY)
        return hdp_retry(e, "service away (unit %d)", f->runs);
    if (f->script[i] == HDP_ERR)
        return hdp_fail(e, "wrong credentials");
    return HDP_OK;
}

static void f_reset(void *ctx)
{
    ((fake *)ctx)->resets++;
}

static int f_finish(void *ctx, hdp_err *e)
{
    (void)e;
    ((fake *)ctx)->finishes++;
    return HDP_OK;
}

static void f_close(void *ctx)
{
    ((fake *)ctx)->closes++;
}

static const hdp_stage batch = {.name = "fakebatch",
                                .kind = STAGE_BATCH,
                                .init = f_init,
                                .run = f_run,
                                .reset = f_reset,
                                .finish = f_finish,
                                .close = f_close};
static const hdp_stage stream = {.name = "fakestream",
                                 .kind = STAGE_STREAM,
                                 .init = f_init,
                                 .run = f_run,
                                 .reset = f_reset,
                                 .finish = f_finish,
                                 .close = f_close};

static driver_opts fast = {.first_ms = 1, .max_ms = 4};

static void test_batch_retries_transient_then_succeeds(void **state)
{
    (void)state;
    static const int script[] = {HDP_RETRY, HDP_RETRY, HDP_OK};
    fake f = {.script = script, .nscript = 3};
    current = &f;
    volatile int stop = 0;
    stage_report r;
    driver_result res;
    hdp_err e;
    assert_int_equal(driver_run(&batch, NULL, NULL, &fast, &stop, &r, &res, &e), HDP_OK);
    assert_int_equal(f.runs, 3);
    assert_int_equal(f.resets, 2); /* reset after each transient failure, not after success */
    assert_int_equal(res.attempts, 3);
    assert_int_equal(r.rows, 3);
    assert_int_equal(f.closes, 1);
    assert_int_equal(f.finishes, 0);
}

static void test_batch_gives_up_after_attempts(void **state)
{
    (void)state;
    static const int script[] = {HDP_RETRY};
    fake f = {.script = script, .nscript = 1};
    current = &f;
    volatile int stop = 0;
    driver_opts o = fast;
    o.max_attempts = 4;
    driver_result res;
    hdp_err e;
    assert_int_equal(driver_run(&batch, NULL, NULL, &o, &stop, NULL, &res, &e), HDP_ERR);
    assert_int_equal(f.runs, 4);
    assert_non_null(strstr(e.msg, "gave up after 4 attempt(s)"));
    assert_non_null(strstr(e.msg, "service away"));
}

static void test_permanent_is_not_retried(void **state)
{
    (void)state;
    static const int script[] = {HDP_ERR};
    fake f = {.script = script, .nscript = 1};
    current = &f;
    volatile int stop = 0;
    hdp_err e;
    assert_int_equal(driver_run(&batch, NULL, NULL, &fast, &stop, NULL, NULL, &e), HDP_ERR);
    assert_int_equal(f.runs, 1);
    assert_int_equal(f.resets, 0);
    assert_string_equal(e.msg, "wrong credentials");
    /* a stream too: permanent ends it at once, without finish() */
    fake g = {.script = script, .nscript = 1};
    current = &g;
    assert_int_equal(driver_run(&stream, NULL, NULL, &fast, &stop, NULL, NULL, &e), HDP_ERR);
    assert_int_equal(g.runs, 1);
    assert_int_equal(g.finishes, 0);
    assert_int_equal(g.closes, 1);
}

static void test_stream_retries_until_stopped_and_finishes(void **state)
{
    (void)state;
    static const int script[] = {HDP_OK, HDP_RETRY, HDP_RETRY, HDP_RETRY, HDP_OK};
    volatile int stop = 0;
    fake f = {.script = script, .nscript = 5, .stop_at = &stop, .stop_after = 8};
    current = &f;
    driver_result res;
    hdp_err e;
    assert_int_equal(driver_run(&stream, NULL, NULL, &fast, &stop, NULL, &res, &e), HDP_OK);
    assert_int_equal(f.runs, 8);
    assert_int_equal(f.resets, 3);
    assert_int_equal(f.finishes, 1); /* a clean stop stores what the stage holds */
    assert_int_equal(res.attempts, 3);
}

static void test_timeout_cancels_a_long_unit(void **state)
{
    (void)state;
    static const int script[] = {HDP_OK};
    fake f = {.script = script, .nscript = 1, .sleep_ms = 5000};
    current = &f;
    volatile int stop = 0;
    driver_opts o = fast;
    o.timeout_ms = 150;
    driver_result res;
    hdp_err e;
    int64_t t0 = mono_us();
    assert_int_equal(driver_run(&batch, NULL, NULL, &o, &stop, NULL, &res, &e), HDP_ERR);
    int64_t took = mono_us() - t0;
    assert_true(f.saw_cancel);
    assert_true(res.timed_out);
    assert_true(took < 2 * USEC_PER_SEC); /* the 5 s unit was cut short */
    assert_non_null(strstr(e.msg, "timed out"));
}

static void test_stop_request_interrupts_a_batch(void **state)
{
    (void)state;
    static const int script[] = {HDP_RETRY};
    fake f = {.script = script, .nscript = 1};
    current = &f;
    volatile int stop = 1;
    hdp_err e;
    assert_int_equal(driver_run(&batch, NULL, NULL, &fast, &stop, NULL, NULL, &e), HDP_ERR);
    assert_int_equal(f.runs, 1);
    assert_string_equal(e.msg, "interrupted");
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    uint32_t rng = 12345;
    int seen_low = 0, seen_high = 0;
    for (int i = 0; i < 2000; i++) {
        int d = driver_backoff_ms(1, 250, 30000, &rng);
        assert_true(d >= 125 && d <= 250);
        seen_low |= d < 140;
        seen_high |= d > 235;
    }
    assert_true(seen_low && seen_high); /* jitter spreads over the range */
    for (int a = 1; a < 40; a++) {
        int d = driver_backoff_ms(a, 250, 30000, &rng);
        int64_t cap = 250;
        for (int k = 1; k < a && cap < 30000; k++)
            cap *= 2;
        if (cap > 30000)
            cap = 30000;
        assert_true(d >= cap / 2 && d <= cap);
    }
    assert_true(driver_backoff_ms(1000, 250, 30000, &rng) <= 30000); /* no overflow */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_retries_transient_then_succeeds),
        cmocka_unit_test(test_batch_gives_up_after_attempts),
        cmocka_unit_test(test_permanent_is_not_retried),
        cmocka_unit_test(test_stream_retries_until_stopped_and_finishes),
        cmocka_unit_test(test_timeout_cancels_a_long_unit),
        cmocka_unit_test(test_stop_request_interrupts_a_batch),
        cmocka_unit_test(test_backoff_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
