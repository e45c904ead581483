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
    {"/api/v1/stream", "stream", EP_STREAM},
    {"/api/v1/pipeline/runs", "runs", EP_RUNS},
    {"/api/v1/pipeline/status", "pipeline", EP_PIPELINE},
    {NULL, "history", EP_HISTORY},
    {NULL, "user_history", EP_USER_HISTORY},
    {"/metrics", "metrics", EP_METRICS},
    {"/openapi.json", "openapi", EP_OPENAPI},
    {"/docs", "docs", EP_DOCS},
    {"/", "index", EP_INDEX},
    {NULL, "asset", EP_ASSET},
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
/* Paths under it are files compiled into the binary (serve/pages.h). */
static const char assets_prefix[] = "/assets/";

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
    if (strncmp(path, assets_prefix, sizeof(assets_prefix) - 1) == 0)
        return EP_ASSET;
    return EP_UNKNOWN;
}

const char *serve_asset_name(const char *path)
{
    if (strncmp(path, assets_prefix, sizeof(assets_prefix) - 1) != 0)
        return NULL;
    const char *name = path + sizeof(assets_prefix) - 1;
    if (name[0] == '\0' || name[0] == '.')
        return NULL;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == '-'))
            return NULL;
    return name;
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

/* Parses one date parameter into *day, refusing a repeat. */
static int parse_day(const char *k, const char *v, int *seen, int64_t *day, hdp_err *e)
{
    char c1[48];
    if (*seen)
        return hdp_fail(e, "parameter '%s' given more than once", k);
    *seen = 1;
    if (date_parse(v, day) != 0)
        return hdp_fail(e, "invalid %s '%s': expected a real date as YYYY-MM-DD", k, clip(v, c1));
    return HDP_OK;
}

int serve_query_parse(serve_endpoint ep, const serve_arg *args, size_t nargs, int64_t today,
                      serve_query *q, hdp_err *e)
{
    char c1[48];
    memset(q, 0, sizeof(*q));
    q->ep = ep;
    q->interval = IV_HOUR;
    int seen_date = 0, seen_from = 0, seen_to = 0, seen_interval = 0;
    int64_t date = today, from = 0, to = 0;
    for (size_t i = 0; i < nargs; i++) {
        const char *k = args[i].key;
        const char *v = args[i].val ? args[i].val : "";
        int rc = HDP_OK;
        if (strcmp(k, "date") == 0) {
            rc = parse_day(k, v, &seen_date, &date, e);
        } else if (strcmp(k, "from") == 0) {
            rc = parse_day(k, v, &seen_from, &from, e);
        } else if (strcmp(k, "to") == 0) {
            rc = parse_day(k, v, &seen_to, &to, e);
        } else if (strcmp(k, "interval") == 0 && ep == EP_TIMESERIES) {
            if (seen_interval)
                return hdp_fail(e, "parameter 'interval' given more than once");
            seen_interval = 1;
            if (strcmp(v, "hour") == 0)
                q->interval = IV_HOUR;
            else if (strcmp(v, "minute") == 0)
                q->interval = IV_MINUTE;
            else if (strcmp(v, "day") == 0)
                q->interval = IV_DAY;
            else
                return hdp_fail(e, "invalid interval '%s': expected 'day', 'hour' or 'minute'",
                                clip(v, c1));
        } else {
            return hdp_fail(e, "unknown query parameter '%s'", clip(k, c1));
        }
        if (rc != HDP_OK)
            return rc;
    }
    if (seen_date && (seen_from || seen_to))
        return hdp_fail(e, "give either 'date' or 'from'/'to', not both");
    if (seen_from || seen_to) {
        q->from_day = seen_from ? from : to;
        q->to_day = seen_to ? to : from;
    } else {
        q->from_day = q->to_day = date;
    }
    if (q->from_day > q->to_day)
        return hdp_fail(e, "'from' is after 'to'");
    int64_t days = q->to_day - q->from_day + 1;
    if (days > SERVE_MAX_DAYS)
        return hdp_fail(e, "the range spans %lld days; at most %d are served per request",
                        (long long)days, SERVE_MAX_DAYS);
    if (q->interval == IV_MINUTE && days > SERVE_MAX_MINUTE_DAYS)
        return hdp_fail(e,
                        "minute points are served for at most %d days; ask for "
                        "interval=hour or a shorter range",
                        SERVE_MAX_MINUTE_DAYS);
    date_format(q->from_day, q->from);
    date_format(q->to_day, q->to);
    return HDP_OK;
}

const char *serve_interval_name(serve_interval iv)
{
    return iv == IV_MINUTE ? "minute" : iv == IV_DAY ? "day" : "hour";
}

/* Appends s at *o, leaving room for the NUL before end. */
static void key_put(char **o, const char *end, const char *s)
{
    while (*s && *o + 1 < end)
        *(*o)++ = *s++;
}

void serve_query_key(const serve_query *q, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    char *o = out;
    const char *end = out + outlen;
    key_put(&o, end, serve_endpoint_name(q->ep));
    key_put(&o, end, "|");
    key_put(&o, end, q->from);
    key_put(&o, end, "|");
    key_put(&o, end, q->to);
    key_put(&o, end, "|");
    key_put(&o, end, q->ep == EP_TIMESERIES ? serve_interval_name(q->interval) : "");
    *o = '\0';
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
