#include "io/redis.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>

#include "core/buf.h"
#include "core/timeutil.h"

struct hdp_redis {
    redisContext *c;
    hdp_redis_addr addr;
    int timeout_ms;
    int retry_ms;
    int64_t last_fail_us; /* mono time of the last failed connect, 0: none */
    int pending;          /* replies queued by redis_append and not yet read */
};

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

hdp_redis *redis_new(const hdp_redis_addr *addr, int timeout_ms)
{
    hdp_redis *r = xcalloc(1, sizeof(*r));
    r->addr = *addr;
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    return r;
}

void redis_free(hdp_redis *r)
{
    if (r == NULL)
        return;
    redis_disconnect(r);
    memset(r->addr.password, 0, sizeof(r->addr.password));
    memset(r->addr.user, 0, sizeof(r->addr.user));
    free(r);
}

void redis_set_retry_interval(hdp_redis *r, int retry_ms)
{
    r->retry_ms = retry_ms;
}

void redis_disconnect(hdp_redis *r)
{
    if (r->c != NULL)
        redisFree(r->c);
    r->c = NULL;
    r->pending = 0;
}

int redis_connected(const hdp_redis *r)
{
    return r->c != NULL;
}

/* Is an error reply to AUTH or SELECT one that no retry mends? Wrong or missing credentials,
 * an ACL refusal, a database index the server does not have. A server still loading its data
 * (LOADING) or a replica in the middle of a failover is worth retrying. */
static int setup_error_permanent(const char *msg)
{
    static const char *const permanent[] = {"WRONGPASS",
                                            "NOAUTH",
                                            "NOPERM",
                                            "ERR invalid password",
                                            "ERR AUTH",
                                            "ERR Client sent AUTH",
                                            "ERR DB index is out of range",
                                            "ERR invalid DB index"};
    for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
        if (strncmp(msg, permanent[i], strlen(permanent[i])) == 0)
            return 1;
    return 0;
}

/* Runs one setup command on a fresh context: HDP_OK, HDP_RETRY (the connection failed or the
 * server is not ready) or HDP_ERR (the server refused for good: credentials, database). */
static int setup_command(hdp_redis *r, hdp_err *e, const char *what, int argc, const char **argv)
{
    redisReply *rep = redisCommandArgv(r->c, argc, argv, NULL);
    if (rep == NULL)
        return hdp_retry(e, "redis %s:%d: %s: %s", r->addr.host, r->addr.port, what, r->c->errstr);
    int rc = HDP_OK;
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = setup_error_permanent(rep->str) ? HDP_ERR : HDP_RETRY;
        hdp_fail(e, "redis %s:%d: %s refused: %s", r->addr.host, r->addr.port, what, rep->str);
    }
    freeReplyObject(rep);
    return rc;
}

int redis_connect(hdp_redis *r, hdp_err *e)
{
    if (r->c != NULL)
        return HDP_OK;
    if (r->last_fail_us != 0 && r->retry_ms > 0 &&
        mono_us() - r->last_fail_us < (int64_t)r->retry_ms * 1000)
        return hdp_retry(e, "redis %s:%d: unreachable (retrying shortly)", r->addr.host,
                         r->addr.port);
    struct timeval tv = ms_to_tv(r->timeout_ms);
    r->c = redisConnectWithTimeout(r->addr.host, r->addr.port, tv);
    if (r->c == NULL) {
        r->last_fail_us = mono_us();
        return hdp_retry(e, "redis %s:%d: cannot allocate a context", r->addr.host, r->addr.port);
    }
    int rc = HDP_OK;
    if (r->c->err) {
        rc = hdp_retry(e, "redis %s:%d: %s", r->addr.host, r->addr.port, r->c->errstr);
    } else {
        redisSetTimeout(r->c, tv);
        redisEnableKeepAlive(r->c);
    }
    if (rc == HDP_OK && r->addr.password[0] != '\0') {
        const char *argv[] = {"AUTH", r->addr.user, r->addr.password};
        if (r->addr.user[0] != '\0')
            rc = setup_command(r, e, "AUTH", 3, argv);
        else
            rc = setup_command(r, e, "AUTH", 2, (const char *[]){"AUTH", r->addr.password});
    }
    if (rc == HDP_OK && r->addr.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", r->addr.db);
        const char *argv[] = {"SELECT", db};
        rc = setup_command(r, e, "SELECT", 2, argv);
    }
    if (rc != HDP_OK) {
        redis_disconnect(r);
        r->last_fail_us = mono_us();
        return rc;
    }
    r->last_fail_us = 0;
    r->pending = 0;
    return HDP_OK;
}

/* Turns a NULL reply into HDP_RETRY (connection lost: dropped) or an error reply into HDP_ERR.
 * Takes ownership of rep; on HDP_OK hands it to *out. */
static int finish_reply(hdp_redis *r, redisReply *rep, redisReply **out, hdp_err *e)
{
    *out = NULL;
    if (rep == NULL) {
        int rc = hdp_retry(e, "redis %s:%d: %s", r->addr.host, r->addr.port,
                           r->c && r->c->errstr[0] ? r->c->errstr : "connection lost");
        redis_disconnect(r);
        return rc;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        int transient = redis_error_transient(rep->str);
        hdp_fail(e, "redis: %s", rep->str);
        freeReplyObject(rep);
        if (transient)
            redis_disconnect(r);
        return transient ? HDP_RETRY : HDP_ERR;
    }
    *out = rep;
    return HDP_OK;
}

int redis_error_transient(const char *msg)
{
    static const char *const transient[] = {"LOADING",    "BUSY",        "TRYAGAIN",
                                            "MASTERDOWN", "CLUSTERDOWN", "READONLY"};
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++) {
        size_t n = strlen(transient[i]);
        if (strncmp(msg, transient[i], n) == 0 && (msg[n] == ' ' || msg[n] == '\0'))
            return 1;
    }
    return 0;
}

int redis_command(hdp_redis *r, redisReply **out, hdp_err *e, const char *fmt, ...)
{
    *out = NULL;
    int rc = redis_connect(r, e);
    if (rc != HDP_OK)
        return rc;
    if (r->pending != 0)
        return hdp_fail(e, "redis: command issued with %d pipelined replies pending", r->pending);
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(r->c, fmt, ap);
    va_end(ap);
    return finish_reply(r, rep, out, e);
}

int redis_command_argv(hdp_redis *r, redisReply **out, hdp_err *e, int argc, const char **argv,
                       const size_t *argvlen)
{
    *out = NULL;
    int rc = redis_connect(r, e);
    if (rc != HDP_OK)
        return rc;
    if (r->pending != 0)
        return hdp_fail(e, "redis: command issued with %d pipelined replies pending", r->pending);
    redisReply *rep = redisCommandArgv(r->c, argc, argv, argvlen);
    return finish_reply(r, rep, out, e);
}

int redis_append(hdp_redis *r, hdp_err *e, const char *fmt, ...)
{
    int rc = redis_connect(r, e);
    if (rc != HDP_OK)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    int st = redisvAppendCommand(r->c, fmt, ap);
    va_end(ap);
    if (st != REDIS_OK)
        return hdp_fail(e, "redis: cannot format command: %s", r->c->errstr);
    r->pending++;
    return HDP_OK;
}

int redis_append_argv(hdp_redis *r, hdp_err *e, int argc, const char **argv, const size_t *argvlen)
{
    int rc = redis_connect(r, e);
    if (rc != HDP_OK)
        return rc;
    if (redisAppendCommandArgv(r->c, argc, argv, argvlen) != REDIS_OK)
        return hdp_fail(e, "redis: cannot queue command: %s", r->c->errstr);
    r->pending++;
    return HDP_OK;
}

int redis_get_reply(hdp_redis *r, redisReply **out, hdp_err *e)
{
    *out = NULL;
    if (r->c == NULL)
        return hdp_retry(e, "redis %s:%d: connection lost", r->addr.host, r->addr.port);
    if (r->pending <= 0)
        return hdp_fail(e, "redis: no pipelined reply pending");
    void *rep = NULL;
    if (redisGetReply(r->c, &rep) != REDIS_OK || rep == NULL) {
        int rc = hdp_retry(e, "redis %s:%d: %s", r->addr.host, r->addr.port,
                           r->c->errstr[0] ? r->c->errstr : "connection lost");
        redis_disconnect(r);
        return rc;
    }
    r->pending--;
    *out = rep;
    return HDP_OK;
}

void redis_discard(hdp_redis *r)
{
    while (r->c != NULL && r->pending > 0) {
        redisReply *rep = NULL;
        if (redis_get_reply(r, &rep, NULL) != HDP_OK)
            break;
        freeReplyObject(rep);
    }
}

int redis_parse_i64(const char *s, size_t n, long long *v)
{
    size_t i = 0;
    int neg = 0;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n || n - i > 19)
        return -1;
    unsigned long long u = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        u = u * 10 + (unsigned long long)(s[i] - '0');
    }
    if (neg ? u > (unsigned long long)LLONG_MAX + 1 : u > (unsigned long long)LLONG_MAX)
        return -1;
    *v = neg ? (long long)(0 - u) : (long long)u;
    return 0;
}

int redis_reply_i64(const redisReply *rep, long long *v)
{
    if (rep == NULL)
        return -1;
    if (rep->type == REDIS_REPLY_INTEGER) {
        *v = rep->integer;
        return 0;
    }
    if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS)
        return redis_parse_i64(rep->str, rep->len, v);
    return -1;
}
