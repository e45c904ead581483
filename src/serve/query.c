#include "serve/query.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

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
    {"/metrics", "metrics", EP_METRICS},
    {"/openapi.json", "openapi", EP_OPENAPI},
    {"/docs", "docs", EP_DOCS},
    {"/", "index", EP_INDEX},
};

serve_endpoint serve_route(const char *path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(routes[i].path, path) == 0)
            return routes[i].ep;
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

/* Copies at most 40 bytes of s for an error message, so a huge parameter stays out of it. */
static const char *clip(const char *s, char out[48])
{
    snprintf(out, 48, "%.40s%s", s, strlen(s) > 40 ? "..." : "");
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
