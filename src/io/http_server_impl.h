/* http_server_impl.h — the HTTP server's internals, shared by http_server.c (threads,
 * accepting, limits, timers, broadcast) and http_conn.c (one connection's requests and
 * responses). Not for use outside src/io/http_*.
 *
 * Ownership: a connection belongs to one worker, which alone touches it. Other threads talk
 * to a worker through its mailbox (accepted sockets handed over, events to broadcast) and
 * its eventfd. The server's mutex guards the per-address table; counters are atomics. */
#ifndef HDP_IO_HTTP_SERVER_IMPL_H
#define HDP_IO_HTTP_SERVER_IMPL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "io/http_addrs.h"
#include "io/http_parse.h"
#include "io/http_server.h"

enum {
    HTTP_MAX_TARGET = 8192,         /* request-target bytes */
    HTTP_MAX_HEAD = 32768,          /* request head bytes */
    HTTP_MAX_HEADERS = 100,         /* header fields */
    HTTP_MAX_BODY = 65536,          /* request body bytes */
    HTTP_MAX_PARAMS = 64,           /* query parameters */
    HTTP_CHANNEL_MAX = 64,          /* stream channel name, NUL included */
    HTTP_OUT_HIGH = 65536,          /* pending output that pauses pipelined requests */
    HTTP_STREAM_MAX = 262144,       /* pending output that drops a stream */
    HTTP_LINGER_MS = 2000,          /* reading what a closed-on client still sends */
    HTTP_LINGER_BYTES = 1 << 22,    /* ... at most this much */
    HTTP_HEARTBEAT_MS = 15000,      /* comment line on idle streams */
    HTTP_MAILBOX_MAX = 4096,        /* queued broadcasts per worker */
    HTTP_OVERSHOOT_PER_WORKER = 16, /* admitted over the cap while others evict */
};

/* The timer lists: a connection waiting for something is on exactly one of them, ordered by
 * the time it joined (all members share one timeout, so the head expires first). */
enum { L_HEAD, L_IDLE, L_WRITE, L_LINGER, L_NLISTS, L_NONE = -1 };

typedef struct http_conn http_conn;

typedef struct conn_list {
    http_conn *head, *tail;
    size_t n;
} conn_list;

struct http_conn {
    int fd;
    int closed;               /* closed, waiting to be freed at the end of the loop turn */
    int list;                 /* L_* or L_NONE */
    int64_t since;            /* ms, when it joined its list */
    uint32_t events;          /* registered with epoll */
    http_conn *prev, *next;   /* timer list */
    http_conn *sprev, *snext; /* the worker's streams */
    http_conn *aprev, *anext; /* every connection of the worker */
    http_conn *gnext;         /* closed, to free */
    char *in;                 /* received bytes; the current request starts at in_off */
    size_t in_off, in_len, in_cap;
    size_t need; /* bytes the current request needs (head + body) once its head is known */
    hdp_buf out; /* bytes to send, from out_off */
    size_t out_off;
    size_t discarded;  /* bytes read and dropped while lingering */
    int close_after;   /* close once out is sent */
    int lingering;     /* output side shut, reading until the peer closes */
    int peer_eof;      /* the peer closed its side */
    int continue_sent; /* "100 Continue" went out for the current request */
    int streaming;
    char channel[HTTP_CHANNEL_MAX];
    uint64_t last_event; /* XXH3-64 of the last event sent to the stream (with has_event) */
    int has_event;
    http_addr_key key;
    char client[INET6_ADDRSTRLEN];
};

struct http_response {
    int status;
    char ctype[128];
    hdp_buf body;
    const char *static_body; /* instead of body when not NULL */
    size_t static_len;
    hdp_buf headers; /* extra "Name: value\r\n" lines */
    int stream;
    char channel[HTTP_CHANNEL_MAX];
};

/* An accepted socket handed to another worker. */
typedef struct handoff {
    int fd;
    struct sockaddr_storage addr;
} handoff;

/* An event for the streams of a channel, shared by the workers it is queued to. */
typedef struct http_msg {
    atomic_int refs;
    char channel[HTTP_CHANNEL_MAX];
    uint64_t hash; /* XXH3-64 of data */
    size_t len;
    char data[];
} http_msg;

typedef struct http_worker {
    http_server *s;
    int index;
    pthread_t thread;
    int started;
    int epfd, efd;
    int64_t now;              /* ms, monotonic, at the start of the loop turn */
    int listening;            /* the listening socket is in epfd */
    int64_t accept_resume_at; /* after EMFILE: when to listen again */
    int64_t next_heartbeat;
    conn_list lists[L_NLISTS];
    http_conn *all, *streams, *graveyard;
    size_t nconns, nstreams;
    atomic_int nconns_pub, nevict_pub, nstreams_pub, busy, evict_req;
    pthread_mutex_t mu; /* guards the mailbox */
    handoff *inbox;
    size_t inbox_n, inbox_cap;
    http_msg **msgs;
    size_t msgs_n, msgs_cap;
    /* scratch for the request being handled (one at a time per worker) */
    http_head head;
    http_param params[HTTP_MAX_PARAMS];
    char qscratch[HTTP_MAX_TARGET + 1];
    char qerr[128];
    http_response res;
    char date[40];
    int64_t date_sec;
} http_worker;

struct http_server {
    http_server_opts o;
    int lfd, port;
    int max_conns;
    http_limits lim;
    int nworkers;
    http_worker *workers;
    atomic_int stop;
    atomic_int nconns, nstreams;
    atomic_ullong streams_opened;
    pthread_mutex_t mu; /* guards addrs */
    http_addrs addrs;
    atomic_ullong accepted, rejected_per_addr, rejected_full, evicted, header_timeouts,
        idle_timeouts, write_timeouts, streams_dropped;
    atomic_ullong errors[HTTP_NERR];
};

/* ---- http_server.c, for http_conn.c */

/* Moves c to the tail of list l (L_NONE: off every list), stamped now. */
void conn_set_list(http_worker *w, http_conn *c, int l);
/* Closes c now (socket, limits, lists); its memory goes at the end of the loop turn. */
void conn_close(http_worker *w, http_conn *c);
/* Sets the epoll interest of c. */
void conn_watch(http_worker *w, http_conn *c, uint32_t events);
/* Counts an error answered by the server itself. */
void server_count_error(http_server *s, int status);
/* Registers c as a stream of its channel. */
void worker_add_stream(http_worker *w, http_conn *c);

/* ---- http_conn.c, for http_server.c */

/* c's socket is readable / writable. */
void conn_on_readable(http_worker *w, http_conn *c);
void conn_on_writable(http_worker *w, http_conn *c);
/* Sends what can be sent without blocking; handles the states that follow a full send. */
void conn_flush(http_worker *w, http_conn *c);
/* Queues a server-made JSON error answer and marks c to close after it. */
void conn_queue_error(http_worker *w, http_conn *c, int status, const char *code, const char *msg);
/* Writes a complete JSON error answer to a socket no connection owns yet (best effort). */
void http_write_refusal(int fd, int status, const char *code, const char *msg);
/* Appends an event for c's stream, dropping c when it is too far behind. */
void conn_stream_push(http_worker *w, http_conn *c, const char *data, size_t len);

#endif
