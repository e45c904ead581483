/* http_server.h — a small HTTP/1.1 server: epoll, non-blocking sockets, worker threads.
 * Generic: it knows requests and responses, nothing of what the handler serves.
 *
 * Threads. Each worker thread runs its own epoll loop; all of them watch the one listening
 * socket (EPOLLEXCLUSIVE), and the worker that accepts hands the connection to the least
 * loaded worker that is not inside a handler. The handler runs on the worker that owns the
 * connection and may block (a database call); that worker's other connections wait meanwhile,
 * the other workers go on accepting and answering.
 *
 * Protocol. HTTP/1.1 keep-alive and pipelining, HTTP/1.0 (close unless keep-alive), HEAD
 * (headers, no body); Date, Content-Type, Content-Length and Connection on every answer.
 * Request bodies need a Content-Length (chunked: 411) of at most 64 KiB (more: 413); see
 * io/http_parse.h for what else is refused. Every error the server answers itself is a JSON
 * body {"error":{"code","message"}}, sent once, and the connection is closed after it.
 *
 * Protections, none of which depends on the handler:
 *  - per client address (IPv4 address, IPv6 /64) at most max_per_addr open connections,
 *    streams included; one more is answered 429 and closed;
 *  - a request (head and body) must arrive within header_timeout_ms of its first byte (a
 *    new connection: of its accept); a slow one is answered 408 and closed. A response write
 *    that makes no progress for as long is dropped;
 *  - an idle keep-alive connection is closed after idle_timeout_ms;
 *  - at most max_conns connections (lowered to fit RLIMIT_NOFILE); at the cap the oldest idle
 *    or slow connection (slow sender, stalled reader) is closed to admit a new one; only when
 *    none is left (all busy or streaming) is the new one answered 503 and closed. The cap may
 *    be passed by a few connections for the moment another worker takes to close its oldest.
 *
 * Streams (Server-Sent Events). A handler may answer with http_respond_stream(): the headers
 * go out, the connection stays open on a channel, and http_server_broadcast() sends an event
 * to every stream of that channel. A stream whose reader falls 256 KiB behind is dropped.
 * Streams get a comment line every 15 s so dead peers are noticed, and close at stop. */
#ifndef HDP_IO_HTTP_SERVER_H
#define HDP_IO_HTTP_SERVER_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "io/http_parse.h"

typedef struct http_server http_server;
typedef struct http_response http_response;

/* One request, valid during the handler call only. Strings are NUL-terminated. */
typedef struct http_request {
    http_server *server;
    const char *method; /* as sent: "GET", "HEAD", ... */
    const char *path;   /* undecoded, without the query: "/api/v1/revenue" */
    const char *query;  /* undecoded, after '?': "date=2026-11-23"; "" when none */
    const http_param *params;
    size_t nparams;          /* the query decoded (see http_query_decode) */
    const char *query_error; /* NULL, or why the query does not decode: answer 400 with it */
    const char *body;        /* Content-Length bytes, not NUL-terminated */
    size_t body_len;
    const char *client; /* peer address: "127.0.0.1", "::1" */
    int minor;          /* HTTP/1.minor */
    const void *impl;   /* for http_request_header */
} http_request;

/* The first value of header name (case-insensitive), or NULL. */
const char *http_request_header(const http_request *r, const char *name);

/* Answers one request: fills res with one of the http_respond* calls. Runs on a worker
 * thread; may block, but every second it blocks stalls that worker's other connections. */
typedef void (*http_handler_fn)(void *ctx, const http_request *req, http_response *res);

/* Sets status, content type (copied) and body (copied). */
void http_respond(http_response *res, int status, const char *ctype, const void *body, size_t len);
/* Sets status, content type (copied) and a body that is not copied: it must stay valid and
 * unchanged while the server runs (a string literal, a document built at start). */
void http_respond_static(http_response *res, int status, const char *ctype, const void *body,
                         size_t len);
/* Sets status and content type; the body is what the caller appends to http_response_body(). */
void http_respond_status(http_response *res, int status, const char *ctype);
/* The body buffer of res (empty when the handler starts), for rendering in place. */
hdp_buf *http_response_body(http_response *res);
/* A JSON error {"error":{"code","message"}} with status. */
void http_respond_error(http_response *res, int status, const char *code, const char *msg);
/* Adds a header line "name: value" (no CR or LF in either; such a header is dropped). */
void http_response_header(http_response *res, const char *name, const char *value);
/* Answers 200 text/event-stream and keeps the connection open on channel (at most 63 bytes);
 * first (may be empty) is sent right after the headers. */
void http_respond_stream(http_response *res, const char *channel, const void *first, size_t len);

typedef struct http_server_opts {
    const char *host; /* "" or NULL: every address */
    int port;         /* 0: any free port (see http_server_port) */
    int threads;      /* >= 1 */
    int max_conns;
    int max_per_addr;
    int header_timeout_ms;
    int idle_timeout_ms;
    http_handler_fn handler;
    void *ctx;
} http_server_opts;

/* Binds, listens and starts the workers. HDP_ERR with e set when the address cannot be bound
 * (the message says "in use" for EADDRINUSE) or threads cannot start. */
int http_server_start(http_server **out, const http_server_opts *o, hdp_err *e);
/* Stops accepting, closes every connection and stream, joins the workers, frees; a handler
 * running now finishes first. Accepts NULL. */
void http_server_stop(http_server *s);

int http_server_port(const http_server *s);
/* The connection cap in force (max_conns, possibly lowered to fit RLIMIT_NOFILE). */
int http_server_max_conns(const http_server *s);

/* Sends an SSE event (an "event:" line when event is not NULL or empty, then data as "data:"
 * lines, then an empty line) to every open stream of channel whose last event (its first one
 * included) was not these very bytes: a caller may repeat an event, for streams that opened
 * after it, and no stream gets it twice in a row. Thread-safe; does not block on clients. A
 * stream opened while the call runs may miss the event (streams_opened tells it happened). */
void http_server_broadcast(http_server *s, const char *channel, const char *event, const char *data,
                           size_t len);

/* Errors the server answers itself, by kind. */
enum { HTTP_NERR = 12 };
int http_error_status(size_t kind);       /* 400, 408, ... */
const char *http_error_code(size_t kind); /* "bad_request", "request_timeout", ... */

typedef struct http_server_stats {
    unsigned long long open;              /* connections open now */
    unsigned long long accepted;          /* connections admitted */
    unsigned long long rejected_per_addr; /* refused: the client address was at its limit */
    unsigned long long rejected_full;     /* refused: at the cap with nothing to close */
    unsigned long long evicted;           /* idle or slow connections closed at the cap */
    unsigned long long header_timeouts;   /* requests not received within the timeout */
    unsigned long long idle_timeouts;     /* keep-alive connections closed for idling */
    unsigned long long write_timeouts;    /* responses the client stopped reading */
    unsigned long long streams_open;      /* event streams open now */
    unsigned long long streams_opened;    /* event streams opened since the start */
    unsigned long long streams_dropped;   /* streams closed for falling behind */
    unsigned long long errors[HTTP_NERR]; /* answered by the server itself, by kind */
} http_server_stats;

void http_server_stats_get(const http_server *s, http_server_stats *st);

#endif
