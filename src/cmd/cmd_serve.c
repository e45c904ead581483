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
    };
    hdp_server *s = NULL;
    hdp_err e;
    if (server_start(&s, &o, &e) != HDP_OK)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    log_info("listening on http://%s:%d (threads %d, cache %ld ms, redis %s:%d, auth %s)",
             cfg->http_host, cfg->http_port, o.threads, o.cache_ms, cfg->redis.host,
             cfg->redis.port, o.token && o.token[0] ? "on" : "off");
    while (!hdp_stop_requested) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    log_info("stopping");
    server_stop(s);
    return EXIT_OK;
}
