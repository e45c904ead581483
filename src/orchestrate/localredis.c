/* localredis.c — argv and readiness of the private redis-server; see localredis.h. */
#include "orchestrate/localredis.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orchestrate/netprobe.h"
#include "orchestrate/proc.h"

int localredis_setup(localredis *r, const char *var_dir, const hdp_redis_addr *addr, hdp_err *e)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->host, sizeof(r->host), "%s", addr->host);
    r->port = addr->port;
    snprintf(r->port_s, sizeof(r->port_s), "%d", addr->port);
    int n1 = snprintf(r->dir, sizeof(r->dir), "%s/redis", var_dir);
    int n2 = snprintf(r->log_path, sizeof(r->log_path), "%s/log/redis.log", var_dir);
    if (n1 >= (int)sizeof(r->dir) || n2 >= (int)sizeof(r->log_path))
        return hdp_fail(e, "path too long: %s", var_dir);
    const char *argv[] = {
        "redis-server", "--port",    r->port_s,       "--bind", r->host,  "--dir", r->dir,
        "--appendonly", "yes",       "--appendfsync", "always", "--save", "",      "--daemonize",
        "no",           "--logfile", r->log_path,     NULL};
    memcpy(r->argv, argv, sizeof(argv));
    return HDP_OK;
}

int localredis_ping(const char *host, int port)
{
    int fd = netprobe_connect(host, port, 1000);
    if (fd < 0)
        return 0;
    int ok = 0;
    static const char ping[] = "PING\r\n";
    if (write(fd, ping, sizeof(ping) - 1) == (ssize_t)(sizeof(ping) - 1)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char reply[64];
        if (poll(&p, 1, 1000) == 1 && read(fd, reply, sizeof(reply)) > 0)
            ok = reply[0] == '+' || reply[0] == '-';
    }
    close(fd);
    return ok;
}

int localredis_wait_ready(const localredis *r, pid_t pid, volatile int *stop, long timeout_ms,
                          hdp_err *e)
{
    long long deadline = proc_now_ms() + timeout_ms;
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
            char last[256];
            proc_last_line(r->log_path, last, sizeof(last));
            return hdp_fail(e, "redis-server exited at start: %s", last);
        }
        if (localredis_ping(r->host, r->port))
            return HDP_OK;
        if (stop && *stop)
            return hdp_fail(e, "stopped while waiting for redis-server");
        if (proc_now_ms() >= deadline)
            return hdp_fail(e, "redis-server did not answer PING on %s:%d within %ld s", r->host,
                            r->port, timeout_ms / 1000);
        proc_sleep_ms(50);
    }
}
