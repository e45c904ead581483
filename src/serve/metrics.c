#include "serve/metrics.h"

#include <stddef.h>
#include <string.h>

static const int codes[MET_CODES] = {200, 400, 401, 404, 405, 500, 503, 0, 0};
#define OTHER_CODE (MET_CODES - 1)

void metrics_init(serve_metrics *m)
{
    for (int i = 0; i < EP_COUNT; i++)
        for (int j = 0; j < MET_CODES; j++)
            atomic_init(&m->requests[i][j], 0);
    atomic_init(&m->cache_hits, 0);
    atomic_init(&m->cache_misses, 0);
    atomic_init(&m->redis_errors, 0);
    atomic_init(&m->dwh_errors, 0);
}

static int code_index(int status)
{
    for (int j = 0; j < MET_CODES - 2; j++)
        if (codes[j] == status)
            return j;
    return OTHER_CODE;
}

void metrics_request(serve_metrics *m, serve_endpoint ep, int status)
{
    if (ep < 0 || ep >= EP_COUNT)
        ep = EP_UNKNOWN;
    atomic_fetch_add_explicit(&m->requests[ep][code_index(status)], 1, memory_order_relaxed);
}

void metrics_render(const serve_metrics *m, hdp_buf *b, long long quarantined, int redis_up)
{
    buf_puts(b, "# HELP hdp_http_requests_total HTTP requests by endpoint and status code.\n"
                "# TYPE hdp_http_requests_total counter\n");
    for (int i = 0; i < EP_COUNT; i++) {
        for (int j = 0; j < MET_CODES; j++) {
            unsigned long long n = atomic_load(&m->requests[i][j]);
            if (n == 0 || (j != OTHER_CODE && codes[j] == 0))
                continue;
            const char *ep = serve_endpoint_name((serve_endpoint)i);
            if (j == OTHER_CODE)
                buf_printf(b, "hdp_http_requests_total{endpoint=\"%s\",code=\"other\"} %llu\n", ep,
                           n);
            else
                buf_printf(b, "hdp_http_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n", ep,
                           codes[j], n);
        }
    }
    buf_printf(b,
               "# HELP hdp_serve_cache_hits_total Answers served from the response cache.\n"
               "# TYPE hdp_serve_cache_hits_total counter\n"
               "hdp_serve_cache_hits_total %llu\n"
               "# HELP hdp_serve_cache_misses_total Answers computed from Redis.\n"
               "# TYPE hdp_serve_cache_misses_total counter\n"
               "hdp_serve_cache_misses_total %llu\n"
               "# HELP hdp_serve_redis_errors_total Failed Redis reads.\n"
               "# TYPE hdp_serve_redis_errors_total counter\n"
               "hdp_serve_redis_errors_total %llu\n"
               "# HELP hdp_serve_redis_up 1 when Redis answered the last probe.\n"
               "# TYPE hdp_serve_redis_up gauge\n"
               "hdp_serve_redis_up %d\n"
               "# HELP hdp_serve_dwh_errors_total Failed reads of the data vault (dwh).\n"
               "# TYPE hdp_serve_dwh_errors_total counter\n"
               "hdp_serve_dwh_errors_total %llu\n",
               atomic_load(&m->cache_hits), atomic_load(&m->cache_misses),
               atomic_load(&m->redis_errors), redis_up ? 1 : 0, atomic_load(&m->dwh_errors));
    if (quarantined >= 0)
        buf_printf(b,
                   "# HELP hdp_speed_quarantined_total Change records the speed layer "
                   "quarantined.\n"
                   "# TYPE hdp_speed_quarantined_total counter\n"
                   "hdp_speed_quarantined_total %lld\n",
                   quarantined);
}

void metrics_render_http(const http_server_stats *st, hdp_buf *b)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } rows[] = {
#define ROW(n, t, h, f) {n, t, h, offsetof(http_server_stats, f)}
        ROW("hdp_http_connections_open", "gauge", "Connections open now.", open),
        ROW("hdp_http_connections_accepted_total", "counter", "Connections admitted.", accepted),
        ROW("hdp_http_connections_rejected_per_addr_total", "counter",
            "Connections refused (429): the client address was at HDP_HTTP_PER_ADDR.",
            rejected_per_addr),
        ROW("hdp_http_connections_rejected_full_total", "counter",
            "Connections refused (503): at HDP_HTTP_MAX_CONNS with nothing idle to close.",
            rejected_full),
        ROW("hdp_http_connections_evicted_total", "counter",
            "Idle or slow connections closed to admit new ones at HDP_HTTP_MAX_CONNS.", evicted),
        ROW("hdp_http_header_timeouts_total", "counter",
            "Requests not received within HDP_HTTP_HEADER_TIMEOUT (408).", header_timeouts),
        ROW("hdp_http_idle_timeouts_total", "counter",
            "Connections closed after idling for HDP_HTTP_IDLE_TIMEOUT (or silent since accept).",
            idle_timeouts),
        ROW("hdp_http_write_timeouts_total", "counter",
            "Connections closed because the client stopped reading the answer.", write_timeouts),
        ROW("hdp_http_streams_open", "gauge", "Event streams open now.", streams_open),
        ROW("hdp_http_streams_dropped_total", "counter",
            "Event streams closed because the client fell too far behind.", streams_dropped),
#undef ROW
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        unsigned long long v;
        memcpy(&v, (const char *)st + rows[i].off, sizeof(v));
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", rows[i].name, rows[i].help,
                   rows[i].name, rows[i].type, rows[i].name, v);
    }
    buf_puts(b, "# HELP hdp_http_errors_total Requests the HTTP layer refused itself, by status "
                "and kind (before any endpoint saw them).\n"
                "# TYPE hdp_http_errors_total counter\n");
    for (size_t i = 0; i < HTTP_NERR; i++)
        buf_printf(b, "hdp_http_errors_total{code=\"%d\",kind=\"%s\"} %llu\n", http_error_status(i),
                   http_error_code(i), st->errors[i]);
}
