/* err.h — errors travel as values.
 *
 * Every fallible function returns HDP_OK (0), HDP_ERR (-1) or, where a unit of work may be
 * tried again, HDP_RETRY (1). The human detail is written once, where the failure is
 * understood, into a caller-owned hdp_err; only the command layer prints it. */
#ifndef HDP_ERR_H
#define HDP_ERR_H

#include <stdarg.h>

#define HDP_OK    0
#define HDP_ERR   (-1)
#define HDP_RETRY 1

typedef struct hdp_err {
    char msg[512];
} hdp_err;

/* Formats the message into e (may be NULL) and returns HDP_ERR, so callers can write
 * `return hdp_fail(e, "...")`. */
int hdp_fail(hdp_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like hdp_fail but returns HDP_RETRY: the failure is transient (a service went away). */
int hdp_retry(hdp_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the existing message with more context ("speed: " + msg). */
void hdp_err_prefix(hdp_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
