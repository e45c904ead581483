/* cmd_serve.c — `hdp serve`: the HTTP API over the speed layer, until SIGTERM/SIGINT. */
#include "cmd/cmd.h"

#include <time.h>

#include "core/log.h"
#include "serve/server.h"

int cmd_serve(int argc, char **argv, hdp_config *cfg)
{
    if (argc > 1)
        return cmd_error(EXIT_USAGE, argv[0], "unexpected argument '%s'", argv[1]);
    cmd_install_stop_handlers();
    serve_opts o = {
        .host = cfg->http_host,
        .port = cfg->http_port,
        .threads = (int)cfg->http_threads,
        .cache_ms = cfg->serve_cache_ms,
        .token = cfg->api_token,
        .redis = cfg->redis,
        .dwh_dsn = cfg->dwh_dsn,
        .clickhouse_url = cfg->clickhouse_url,
        .max_conns = (int)cfg->http_max_conns,
        .max_per_addr = (int)cfg->http_per_addr,
        .header_timeout_ms = (int)cfg->http_header_timeout * 1000,
        .idle_timeout_ms = (int)cfg->http_idle_timeout * 1000,
        .segment_seconds = cfg->segment_seconds,
        .source_dsn = cfg->source_dsn,
    };
    hdp_server *s = NULL;
    hdp_err e;
    if (server_start(&s, &o, &e) != HDP_OK)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    log_info("listening on http://%s:%d (threads %d, cache %ld ms, redis %s:%d, auth %s, "
             "connections %d, per address %d)",
             cfg->http_host, cfg->http_port, o.threads, o.cache_ms, cfg->redis.host,
             cfg->redis.port, o.token && o.token[0] ? "on" : "off", server_max_conns(s),
             o.max_per_addr);
    if (server_max_conns(s) < o.max_conns)
        log_warn("HDP_HTTP_MAX_CONNS %d lowered to %d to fit the open-file limit", o.max_conns,
                 server_max_conns(s));
    while (!hdp_stop_requested) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    log_info("stopping");
    server_stop(s);
    return EXIT_OK;
}
