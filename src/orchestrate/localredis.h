/* localredis.h — a private redis-server under HDP_VAR_DIR for `hdp up`.
 *
 * Durable like the speed layer needs it: append-only file fsynced on every write, no RDB
 * snapshots, data in VAR/redis, log in VAR/log/redis.log. The server runs in the foreground
 * as a child that the caller supervises. */
#ifndef HDP_LOCALREDIS_H
#define HDP_LOCALREDIS_H

#include <limits.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/url.h"

#define LOCALREDIS_ARGC 20

typedef struct localredis {
    char host[256];
    int port;
    char port_s[16];
    char dir[PATH_MAX];
    char log_path[PATH_MAX];
    const char *argv[LOCALREDIS_ARGC];
} localredis;

/* Fills r from the configured address and the (absolute) var dir, argv included. */
int localredis_setup(localredis *r, const char *var_dir, const hdp_redis_addr *addr, hdp_err *e);

/* 1 when the server at host:port answers a PING (any RESP reply), else 0. */
int localredis_ping(const char *host, int port);

/* Waits until the redis-server child pid answers PING. HDP_ERR when it exits first (with
 * its last log line), after timeout_ms, or when *stop becomes nonzero. Does not reap pid. */
int localredis_wait_ready(const localredis *r, pid_t pid, volatile int *stop, long timeout_ms,
                          hdp_err *e);

#endif
