/* fuzz_query — routing and query-string validation of the HTTP API (src/serve/query.c).
 *
 * The input is "PATH\nk=v&k2=v2&flag": the path goes to serve_route and serve_history_id,
 * the arguments (split at '&', then at the first '=') to serve_query_parse for the routed
 * endpoint and for the time series. Invariants: a history id is in 1..INT64_MAX and is the
 * path's digits; only history paths yield one; an accepted query names real dates from <= to
 * within the range limits, whose text is the one given (or today's), and a cache key that
 * fits 64 bytes; error messages stay short whatever the input's length. */
#include "fuzz.h"

#include <inttypes.h>

#include "core/err.h"
#include "core/timeutil.h"
#include "serve/query.h"

#define MAX_ARGS 32
#define TODAY    INT64_C(20415) /* 2025-11-23 */

static void check_path(const char *path)
{
    serve_endpoint ep = serve_route(path);
    FUZZ_CHECK(ep >= EP_HEALTH && ep < EP_COUNT && serve_endpoint_name(ep) != NULL);
    hdp_err e;
    int64_t id = 0;
    int rc = serve_history_id(path, &id, &e);
    if (!serve_endpoint_is_history(ep)) {
        FUZZ_CHECK(rc == HDP_ERR);
        return;
    }
    if (rc != HDP_OK) {
        FUZZ_CHECK(e.msg[0] != '\0' && strlen(e.msg) < 160);
        return;
    }
    FUZZ_CHECK(id >= 1);
    /* the {id} segment is digits equal to id (leading zeros allowed) */
    const char *seg = strchr(path + strlen("/api/v1/user"), '/') + 1;
    char digits[24];
    snprintf(digits, sizeof(digits), "%" PRId64, id);
    while (*seg == '0')
        seg++;
    FUZZ_CHECK(strncmp(seg, digits, strlen(digits)) == 0 &&
               strcmp(seg + strlen(digits), "/history") == 0);
}

static void check_query(serve_endpoint ep, const serve_arg *args, size_t n)
{
    serve_query q;
    hdp_err e;
    if (serve_query_parse(ep, args, n, TODAY, &q, &e) != HDP_OK) {
        FUZZ_CHECK(e.msg[0] != '\0' && strlen(e.msg) < 160);
        return;
    }
    FUZZ_CHECK(q.ep == ep &&
               (q.interval == IV_HOUR || q.interval == IV_MINUTE || q.interval == IV_DAY));
    int64_t from, to;
    FUZZ_CHECK(date_parse(q.from, &from) == 0 && from == q.from_day);
    FUZZ_CHECK(date_parse(q.to, &to) == 0 && to == q.to_day);
    FUZZ_CHECK(from <= to && to - from < SERVE_MAX_DAYS);
    FUZZ_CHECK(q.interval != IV_MINUTE || to - from < SERVE_MAX_MINUTE_DAYS);
    const char *date = NULL, *gfrom = NULL, *gto = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(args[i].key, "date") == 0)
            date = args[i].val;
        else if (strcmp(args[i].key, "from") == 0)
            gfrom = args[i].val;
        else if (strcmp(args[i].key, "to") == 0)
            gto = args[i].val;
    }
    if (date)
        FUZZ_CHECK(strcmp(date, q.from) == 0 && strcmp(date, q.to) == 0);
    if (gfrom)
        FUZZ_CHECK(strcmp(gfrom, q.from) == 0);
    if (gto)
        FUZZ_CHECK(strcmp(gto, q.to) == 0);
    if (!date && !gfrom && !gto)
        FUZZ_CHECK(from == TODAY && to == TODAY);
    char key[64];
    serve_query_key(&q, key, sizeof(key));
    FUZZ_CHECK(strlen(key) < sizeof(key) - 1);
    FUZZ_CHECK(strncmp(key, serve_endpoint_name(ep), strlen(serve_endpoint_name(ep))) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_strndup(data, size); /* a NUL in the input ends it, as in a C string */
    char *qs = strchr(in, '\n');
    if (qs)
        *qs++ = '\0';
    check_path(in);

    serve_arg args[MAX_ARGS];
    size_t n = 0;
    for (char *tok = qs; tok && n < MAX_ARGS;) {
        char *amp = strchr(tok, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        args[n++] = (serve_arg){tok, eq ? eq + 1 : NULL};
        tok = amp ? amp + 1 : NULL;
    }
    check_query(serve_route(in), args, n);
    check_query(EP_TIMESERIES, args, n);
    check_query(EP_REVENUE, args, n);
    free(in);
    return 0;
}
