/* redis.h — a small hiredis wrapper: connect from an hdp_redis_addr with timeouts, AUTH and
 * SELECT, reconnect on demand, commands and pipelines with errors as values.
 *
 * Knows nothing of orders. One hdp_redis is one connection and is not thread-safe: the caller
 * serialises access (a mutex, or one connection per thread).
 *
 * Status convention: HDP_OK; HDP_ERR for a command Redis rejected (an error reply) or a local
 * failure, also when the server refuses the credentials or the database (AUTH/SELECT: no
 * retry mends that); HDP_RETRY when the connection is lost or cannot be made. After a failed
 * connect or HDP_RETRY the connection is dropped and the next call reconnects by itself. */
#ifndef HDP_IO_REDIS_H
#define HDP_IO_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "core/err.h"
#include "core/url.h"

typedef struct hdp_redis hdp_redis;

/* Creates a handle for addr; timeout_ms bounds connect and every command (0: 1000 ms).
 * Does not connect yet: the first command does (or redis_connect). Never NULL. */
hdp_redis *redis_new(const hdp_redis_addr *addr, int timeout_ms);
/* Closes the connection and frees the handle; accepts NULL. */
void redis_free(hdp_redis *r);

/* Connects when not connected (TCP, AUTH [user] password when a password is set, SELECT when
 * db != 0): HDP_OK, HDP_RETRY (unreachable, not ready) or HDP_ERR (credentials refused). A
 * failed attempt is not retried sooner than retry_ms later (default 0): meanwhile callers
 * get HDP_RETRY at once, so a dead server is not hammered. */
int redis_connect(hdp_redis *r, hdp_err *e);
void redis_set_retry_interval(hdp_redis *r, int retry_ms);
/* Drops the connection (the next call reconnects). Pending pipelined replies are lost. */
void redis_disconnect(hdp_redis *r);
/* True while a connection is open. */
int redis_connected(const hdp_redis *r);

/* Runs one command (hiredis format: "%s" and "%b" arguments are single arguments). On
 * HDP_OK *out holds the reply, which the caller frees with freeReplyObject; an error reply
 * is HDP_ERR with its text in e and *out NULL — or HDP_RETRY when it says the server is not
 * ready yet (LOADING, BUSY, TRYAGAIN, MASTERDOWN, READONLY: see redis_error_transient). */
int redis_command(hdp_redis *r, redisReply **out, hdp_err *e, const char *fmt, ...);
int redis_command_argv(hdp_redis *r, redisReply **out, hdp_err *e, int argc, const char **argv,
                       const size_t *argvlen);

/* Pipelining: queue commands with redis_append*, then take exactly as many replies with
 * redis_get_reply, in order. Error replies come back as replies (type REDIS_REPLY_ERROR);
 * the caller decides. On HDP_RETRY the connection and the pending replies are gone. A caller
 * that stops early calls redis_disconnect (or redis_discard) to keep the stream in step. */
int redis_append(hdp_redis *r, hdp_err *e, const char *fmt, ...);
int redis_append_argv(hdp_redis *r, hdp_err *e, int argc, const char **argv, const size_t *argvlen);
int redis_get_reply(hdp_redis *r, redisReply **out, hdp_err *e);
/* Reads and frees every pending reply; drops the connection when that fails. */
void redis_discard(hdp_redis *r);

/* True for an error reply that a retry may mend (the server is loading, busy, failing
 * over); NOAUTH, WRONGPASS and the rest are for good. */
int redis_error_transient(const char *msg);

/* Parses a reply holding an integer (INTEGER, or a STRING of decimal digits) into *v.
 * Returns 0, or -1 when it is not one. */
int redis_reply_i64(const redisReply *rep, long long *v);
/* Strict decimal int64 from n bytes ("-12"); 0 or -1. */
int redis_parse_i64(const char *s, size_t n, long long *v);

#endif
