/* query.h — routing and query-string validation of the HTTP API (pure, no I/O).
 *
 * A request is reduced to a serve_query: which endpoint, which days, which interval. Its
 * normalised key ("revenue|2026-11-23|2026-11-23|hour") names the cached answer. */
#ifndef HDP_SERVE_QUERY_H
#define HDP_SERVE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef enum serve_endpoint {
    EP_HEALTH,
    EP_REVENUE,
    EP_BY_CITY,
    EP_BY_CATEGORY,
    EP_TIMESERIES,
    EP_AVG_CHECK,
    EP_STREAM,       /* /api/v1/stream: today's revenue as Server-Sent Events */
    EP_RUNS,         /* /api/v1/pipeline/runs: GET the history, POST a run request */
    EP_PIPELINE,     /* /api/v1/pipeline/status */
    EP_HISTORY,      /* /api/v1/users/{id}/history */
    EP_USER_HISTORY, /* /api/v1/user/{id}/history, the original platform's path and shape */
    EP_METRICS,
    EP_OPENAPI,
    EP_DOCS,
    EP_INDEX,
    EP_ASSET, /* /assets/<name>: the portal's scripts and styles, and their libraries */
    EP_UNKNOWN,
    EP_COUNT
} serve_endpoint;

typedef enum serve_interval { IV_HOUR, IV_MINUTE, IV_DAY } serve_interval;

/* The widest range a request may ask for, in days (inclusive), and for minute points. */
#define SERVE_MAX_DAYS        366
#define SERVE_MAX_MINUTE_DAYS 7

typedef struct serve_arg {
    const char *key;
    const char *val; /* NULL for "?flag" without '=' */
} serve_arg;

typedef struct serve_query {
    serve_endpoint ep;
    int64_t from_day, to_day; /* days since 1970-01-01, inclusive, from_day <= to_day */
    char from[11], to[11];    /* the same as YYYY-MM-DD */
    serve_interval interval;
} serve_query;

/* Maps a path to its endpoint (EP_UNKNOWN when none): exact paths, the history paths with
 * any one non-empty segment in place of {id} (serve_history_id validates it), and /assets/
 * with anything after it (serve_asset_name takes the name out). */
serve_endpoint serve_route(const char *path);
/* Stable label for logs and metrics ("revenue", "by_city", ...). */
const char *serve_endpoint_name(serve_endpoint ep);
/* True for the revenue endpoints: they take date|from/to (and interval) and are cached. */
int serve_endpoint_is_api(serve_endpoint ep);
/* True for the two customer history endpoints (token, an {id} in the path, no parameters). */
int serve_endpoint_is_history(serve_endpoint ep);

/* Takes the customer id out of a path serve_route() mapped to a history endpoint: a decimal
 * integer in 1..INT64_MAX (no sign, no spaces). HDP_ERR with a message fit for a 400. */
int serve_history_id(const char *path, int64_t *id, hdp_err *e);

/* The <name> of a path serve_route() mapped to EP_ASSET, or NULL when it is no plain file
 * name (empty, a '/', a leading '.', or a byte outside [A-Za-z0-9._-]). */
const char *serve_asset_name(const char *path);

/* Validates args for a revenue endpoint: either `date` (YYYY-MM-DD, a real date; default
 * today, a day number) or `from` and `to` (inclusive, at most SERVE_MAX_DAYS; a missing one
 * is the other), and for the timeseries `interval` (day|hour|minute, default hour; minute
 * for at most SERVE_MAX_MINUTE_DAYS). Unknown, repeated or empty parameters are HDP_ERR with
 * a message fit for a 400 answer. */
int serve_query_parse(serve_endpoint ep, const serve_arg *args, size_t nargs, int64_t today,
                      serve_query *q, hdp_err *e);

/* "day", "hour", "minute". */
const char *serve_interval_name(serve_interval iv);

/* Writes the cache key of q into out (64 bytes are enough). */
void serve_query_key(const serve_query *q, char *out, size_t outlen);

#endif
