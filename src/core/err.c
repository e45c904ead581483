#include "core/err.h"

#include <stdio.h>
#include <string.h>

static void set(hdp_err *e, const char *fmt, va_list ap)
{
    if (e == NULL)
        return;
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    /* One-line errors: a trailing newline from libpq would break log lines. */
    size_t n = strlen(e->msg);
    while (n > 0 && (e->msg[n - 1] == '\n' || e->msg[n - 1] == ' '))
        e->msg[--n] = '\0';
    for (char *p = e->msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

int hdp_fail(hdp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set(e, fmt, ap);
    va_end(ap);
    return HDP_ERR;
}

int hdp_retry(hdp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set(e, fmt, ap);
    va_end(ap);
    return HDP_RETRY;
}

void hdp_err_prefix(hdp_err *e, const char *fmt, ...)
{
    if (e == NULL)
        return;
    char pre[256], old[sizeof(e->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    size_t n = strlen(pre);
    if (n >= sizeof(e->msg))
        n = sizeof(e->msg) - 1;
    memcpy(e->msg, pre, n);
    size_t rest = strnlen(old, sizeof(old));
    if (rest > sizeof(e->msg) - 1 - n)
        rest = sizeof(e->msg) - 1 - n;
    memcpy(e->msg + n, old, rest);
    e->msg[n + rest] = '\0';
}
