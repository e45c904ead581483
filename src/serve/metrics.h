/* metrics.h — the serving layer's counters and their Prometheus text rendering.
 * Counters are lock-free atomics, safe from every worker thread. */
#ifndef HDP_SERVE_METRICS_H
#define HDP_SERVE_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"
#include "io/http_server.h"
#include "serve/query.h"

enum { MET_CODES = 9 };

typedef struct serve_metrics {
    atomic_ullong requests[EP_COUNT][MET_CODES];
    atomic_ullong cache_hits, cache_misses, redis_errors, dwh_errors;
} serve_metrics;

void metrics_init(serve_metrics *m);
void metrics_request(serve_metrics *m, serve_endpoint ep, int status);
/* Appends the exposition text. quarantined < 0: unknown (Redis unreachable), not printed. */
void metrics_render(const serve_metrics *m, hdp_buf *b, long long quarantined, int redis_up);
/* Appends the HTTP server's connection counters and the errors it answered itself. */
void metrics_render_http(const http_server_stats *st, hdp_buf *b);

#endif
