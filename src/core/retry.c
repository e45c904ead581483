#include "core/retry.h"

#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"

int retry_next_delay(int delay_ms, int max_ms)
{
    return delay_ms * 2 > max_ms ? max_ms : delay_ms * 2;
}

static void sleep_ms(int ms, volatile int *stop)
{
    for (int i = 0; i < ms / 50 && !*stop; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int retry_run(retry_session_fn session, retry_cleanup_fn cleanup, void *ctx, volatile int *stop,
              int max_ms, hdp_err *e)
{
    int delay = 250;
    while (!*stop) {
        int64_t started = mono_us();
        int rc = session(ctx, stop, e);
        if (cleanup)
            cleanup(ctx);
        if (*stop || rc == HDP_OK)
            return HDP_OK;
        if (rc == HDP_ERR)
            return HDP_ERR;
        if (mono_us() - started > 5 * USEC_PER_SEC)
            delay = 250;
        log_warn("%s; reconnecting in %d ms", e->msg, delay);
        sleep_ms(delay, stop);
        delay = retry_next_delay(delay, max_ms);
    }
    return HDP_OK;
}
