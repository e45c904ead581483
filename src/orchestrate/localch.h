/* localch.h — a private clickhouse-server under HDP_VAR_DIR for `hdp up`.
 *
 * Written fresh at every start: VAR/clickhouse/config.xml (root element <yandex>, which
 * 18.16 needs and current ClickHouse still accepts) and users.xml (mode 0600). Data in
 * VAR/clickhouse/data, the server's logs in VAR/log/clickhouse.log and clickhouse.err.log,
 * its stdout in VAR/log/clickhouse.out.log. The HTTP port and the host to listen on come from
 * HDP_CLICKHOUSE_URL; the native TCP port is the HTTP port + 877 (59000 for the default
 * 58123) and is left out when that port is taken (hdp speaks HTTP only). Users: `default`
 * without a password and, when the URL names another user, that user with the URL's password
 * (stored as SHA-256); both only from 127.0.0.1 and ::1. The server runs in the foreground as
 * a child that the caller supervises. */
#ifndef HDP_LOCALCH_H
#define HDP_LOCALCH_H

#include <limits.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/url.h"

#define LOCALCH_TCP_OFFSET 877

typedef struct localch {
    char bin[PATH_MAX]; /* clickhouse-server */
    hdp_ch_addr addr;
    int tcp_port; /* 0: none */
    char dir[PATH_MAX];
    char config_path[PATH_MAX];
    char users_path[PATH_MAX];
    char log_path[PATH_MAX]; /* the server's own log */
    char err_path[PATH_MAX]; /* its error log */
    char out_path[PATH_MAX]; /* its stdout and stderr, for the supervisor */
    char config_arg[PATH_MAX + 16];
    const char *argv[3];
} localch;

/* Parses the URL, finds clickhouse-server (PATH, /usr/sbin, /usr/bin) and fills the paths
 * under the (absolute) var dir. HDP_ERR with a hint when the binary is missing. */
int localch_setup(localch *ch, const char *var_dir, const char *url, hdp_err *e);

/* Creates VAR/clickhouse and writes config.xml and users.xml; tcp_port must be decided
 * (0 for none) before. */
int localch_write_config(const localch *ch, hdp_err *e);

/* 1 when host:port answers GET /ping with HTTP 200. */
int localch_ping(const char *host, int port);

/* Waits until the child pid answers /ping. HDP_ERR when it exits first (with the last line
 * of its error log), after timeout_ms, or when *stop becomes nonzero. Does not reap pid. */
int localch_wait_ready(const localch *ch, pid_t pid, volatile int *stop, long timeout_ms,
                       hdp_err *e);

#endif
