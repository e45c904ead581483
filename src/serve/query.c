#include "serve/query.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "io/http_parse.h"

static const struct {
    const char *path;
    const char *name;
    serve_endpoint ep;
} routes[] = {
    {"/health", "health", EP_HEALTH},
    {"/api/v1/revenue", "revenue", EP_REVENUE},
    {"/api/v1/revenue/by-city", "by_city", EP_BY_CITY},
    {"/api/v1/revenue/by-category", "by_category", EP_BY_CATEGORY},
    {"/api/v1/revenue/timeseries", "timeseries", EP_TIMESERIES},
    {"/api/v1/cities/average-check", "average_check", EP_AVG_CHECK},
    {NULL, "history", EP_HISTORY},
    {NULL, "user_history", EP_USER_HISTORY},
    {"/metrics", "metrics", EP_METRICS},
    {"/openapi.json", "openapi", EP_OPENAPI},
    {"/docs", "docs", EP_DOCS},
    {"/", "index", EP_INDEX},
};

/* Paths with an {id} segment: prefix, then one non-empty segment, then the suffix. */
static const struct {
    const char *prefix;
    serve_endpoint ep;
} id_routes[] = {
    {"/api/v1/users/", EP_HISTORY},
    {"/api/v1/user/", EP_USER_HISTORY},
};
static const char history_suffix[] = "/history";

/* The {id} segment of path under prefix (length in *n), or NULL when path is not
 * prefix + segment + "/history". */
static const char *id_segment(const char *path, const char *prefix, size_t *n)
{
    size_t plen = strlen(prefix);
    if (strncmp(path, prefix, plen) != 0)
        return NULL;
    const char *seg = path + plen;
    const char *slash = strchr(seg, '/');
    if (slash == NULL || slash == seg || strcmp(slash, history_suffix) != 0)
        return NULL;
    *n = (size_t)(slash - seg);
    return seg;
}

serve_endpoint serve_route(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].path != NULL && strcmp(routes[i].path, path) == 0)
            return routes[i].ep;
    size_t n;
    for (size_t i = 0; i < sizeof(id_routes) / sizeof(id_routes[0]); i++)
        if (id_segment(path, id_routes[i].prefix, &n) != NULL)
            return id_routes[i].ep;
    return EP_UNKNOWN;
}

const char *serve_endpoint_name(serve_endpoint ep)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].ep == ep)
            return routes[i].name;
    return "unknown";
}

int serve_endpoint_is_api(serve_endpoint ep)
{
    return ep == EP_REVENUE || ep == EP_BY_CITY || ep == EP_BY_CATEGORY || ep == EP_TIMESERIES ||
           ep == EP_AVG_CHECK;
}

int serve_endpoint_is_history(serve_endpoint ep)
{
    return ep == EP_HISTORY || ep == EP_USER_HISTORY;
}

/* Copies at most 40 bytes of s for an error message, so a huge parameter stays out of it:
 * valid UTF-8 only (the message goes into a JSON body), cut on a character boundary. */
static const char *clip(const char *s, char out[48])
{
    http_echo_utf8(s, strlen(s), 40, out);
    return out;
}

int serve_query_parse(serve_endpoint ep, const serve_arg *args, size_t nargs, int64_t today,
                      serve_query *q, hdp_err *e)
{
    char c1[48];
    memset(q, 0, sizeof(*q));
    q->ep = ep;
    q->day = today;
    q->interval = IV_HOUR;
    int seen_date = 0, seen_interval = 0;
    for (size_t i = 0; i < nargs; i++) {
        const char *k = args[i].key;
        const char *v = args[i].val ? args[i].val : "";
        if (strcmp(k, "date") == 0) {
            if (seen_date)
                return hdp_fail(e, "parameter 'date' given more than once");
            seen_date = 1;
            if (date_parse(v, &q->day) != 0)
                return hdp_fail(e, "invalid date '%s': expected a real date as YYYY-MM-DD",
                                clip(v, c1));
        } else if (strcmp(k, "interval") == 0 && ep == EP_TIMESERIES) {
            if (seen_interval)
                return hdp_fail(e, "parameter 'interval' given more than once");
            seen_interval = 1;
            if (strcmp(v, "hour") == 0)
                q->interval = IV_HOUR;
            else if (strcmp(v, "minute") == 0)
                q->interval = IV_MINUTE;
            else
                return hdp_fail(e, "invalid interval '%s': expected 'hour' or 'minute'",
                                clip(v, c1));
        } else {
            return hdp_fail(e, "unknown query parameter '%s'", clip(k, c1));
        }
    }
    date_format(q->day, q->date);
    return HDP_OK;
}

void serve_query_key(const serve_query *q, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s|%s|%s", serve_endpoint_name(q->ep), q->date,
             q->ep == EP_TIMESERIES ? (q->interval == IV_MINUTE ? "minute" : "hour") : "");
}

int serve_history_id(const char *path, int64_t *id, hdp_err *e)
{
    const char *seg = NULL;
    size_t n = 0;
    for (size_t i = 0; i < sizeof(id_routes) / sizeof(id_routes[0]) && seg == NULL; i++)
        seg = id_segment(path, id_routes[i].prefix, &n);
    if (seg == NULL)
        return hdp_fail(e, "no customer id in the path");
    char text[48]; /* the id as given, clipped for the message */
    snprintf(text, sizeof(text), "%.*s%s", (int)(n < 40 ? n : 40), seg, n > 40 ? "..." : "");
    for (char *p = text; *p; p++) /* the JSON error must stay valid UTF-8 */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (seg[i] < '0' || seg[i] > '9')
            return hdp_fail(e, "invalid customer id '%s': expected a positive integer", text);
        int d = seg[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return hdp_fail(e, "customer id '%s' is out of range (1..%lld)", text,
                            (long long)INT64_MAX);
        v = v * 10 + d;
    }
    if (v == 0)
        return hdp_fail(e, "customer id '%s' is out of range (1..%lld)", text,
                        (long long)INT64_MAX);
    *id = v;
    return HDP_OK;
}
