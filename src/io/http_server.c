/* http_server.c — the HTTP server's threads: listening, admitting connections (per-address
 * limit, cap, eviction, hand-over to the least loaded worker), the timer lists, broadcasts,
 * lifecycle. One connection's protocol work is in http_conn.c. */
#include "io/http_server_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/timeutil.h"

static char tag_listen, tag_mail; /* epoll data of the listening socket and the eventfd */

static const struct {
    int status;
    const char *code;
} error_kinds[HTTP_NERR] = {
    {400, "bad_request"},
    {408, "request_timeout"},
    {411, "length_required"},
    {413, "payload_too_large"},
    {414, "uri_too_long"},
    {417, "expectation_failed"},
    {429, "too_many_connections"},
    {431, "header_fields_too_large"},
    {500, "internal"},
    {501, "not_implemented"},
    {503, "unavailable"},
    {505, "http_version_not_supported"},
};

int http_error_status(size_t kind)
{
    return kind < HTTP_NERR ? error_kinds[kind].status : 0;
}

const char *http_error_code(size_t kind)
{
    return kind < HTTP_NERR ? error_kinds[kind].code : "unknown";
}

void server_count_error(http_server *s, int status)
{
    for (size_t i = 0; i < HTTP_NERR; i++)
        if (error_kinds[i].status == status) {
            atomic_fetch_add_explicit(&s->errors[i], 1, memory_order_relaxed);
            return;
        }
}

static int64_t now_ms(void)
{
    return mono_us() / 1000;
}

/* ---------------------------------------------------------------- lists */

static void list_unlink(conn_list *l, http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    l->n--;
}

void conn_set_list(http_worker *w, http_conn *c, int l)
{
    if (c->closed && l != L_NONE)
        return;
    if (c->list != L_NONE)
        list_unlink(&w->lists[c->list], c);
    c->list = l;
    if (l == L_NONE)
        return;
    conn_list *li = &w->lists[l];
    c->since = w->now;
    c->prev = li->tail;
    c->next = NULL;
    if (li->tail)
        li->tail->next = c;
    else
        li->head = c;
    li->tail = c;
    li->n++;
}

void conn_watch(http_worker *w, http_conn *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->events = events;
    else
        conn_close(w, c);
}

void worker_add_stream(http_worker *w, http_conn *c)
{
    /* a fixed, modest kernel buffer: a stream that is not read fills it and then ours, and is
     * dropped, instead of the kernel queueing megabytes for it */
    int sndbuf = HTTP_STREAM_MAX / 2;
    setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (w->streams == NULL)
        w->next_heartbeat = w->now + HTTP_HEARTBEAT_MS;
    c->sprev = NULL;
    c->snext = w->streams;
    if (w->streams)
        w->streams->sprev = c;
    w->streams = c;
    w->nstreams++;
    atomic_store(&w->nstreams_pub, (int)w->nstreams);
    atomic_fetch_add(&w->s->nstreams, 1);
    atomic_fetch_add(&w->s->streams_opened, 1);
}

static void release_addr(http_server *s, const http_addr_key *k)
{
    pthread_mutex_lock(&s->mu);
    http_addrs_release(&s->addrs, k);
    pthread_mutex_unlock(&s->mu);
}

void conn_close(http_worker *w, http_conn *c)
{
    if (c->closed)
        return;
    http_server *s = w->s;
    c->closed = 1;
    conn_set_list(w, c, L_NONE);
    if (c->streaming) {
        if (c->sprev)
            c->sprev->snext = c->snext;
        else
            w->streams = c->snext;
        if (c->snext)
            c->snext->sprev = c->sprev;
        w->nstreams--;
        atomic_store(&w->nstreams_pub, (int)w->nstreams);
        atomic_fetch_sub(&s->nstreams, 1);
    }
    if (c->aprev)
        c->aprev->anext = c->anext;
    else
        w->all = c->anext;
    if (c->anext)
        c->anext->aprev = c->aprev;
    w->nconns--;
    atomic_fetch_sub(&w->nconns_pub, 1);
    close(c->fd);
    release_addr(s, &c->key);
    atomic_fetch_sub(&s->nconns, 1);
    free(c->in);
    c->in = NULL;
    buf_free(&c->out);
    c->gnext = w->graveyard;
    w->graveyard = c;
}

/* ---------------------------------------------------------------- admitting connections */

static void signal_worker(http_worker *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->efd, &one, sizeof(one));
    (void)n; /* EAGAIN: the counter is already non-zero, the worker wakes anyway */
}

/* Answers a socket that is not admitted and closes it. What the client sent already is read
 * first, so that the close does not reset the connection before the answer is read. */
static void refuse(int fd, int status, const char *code, const char *msg)
{
    char tmp[4096];
    for (int i = 0; i < 16 && recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT) > 0; i++) {
    }
    http_write_refusal(fd, status, code, msg);
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* Starts serving an admitted socket on w. */
static void conn_new(http_worker *w, int fd, const struct sockaddr_storage *ss)
{
    http_conn *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->list = L_NONE;
    http_addr_key_of((const struct sockaddr *)ss, &c->key);
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, c->client,
                  sizeof(c->client));
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], c->client, sizeof(c->client));
        else
            inet_ntop(AF_INET6, a, c->client, sizeof(c->client));
    } else {
        snprintf(c->client, sizeof(c->client), "unknown");
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->anext = w->all;
    if (w->all)
        w->all->aprev = c;
    w->all = c;
    w->nconns++;
    conn_set_list(w, c, L_HEAD); /* the first request's clock starts at the accept */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        conn_close(w, c);
        return;
    }
    c->events = EPOLLIN;
}

/* Closes w's oldest idle or slow connection: lingering ones first, then the one waiting
 * longest among idle ones, slow senders and stalled readers. 0 when it has none. */
static int evict_oldest(http_worker *w)
{
    http_conn *c = w->lists[L_LINGER].head;
    if (c == NULL) {
        static const int from[] = {L_IDLE, L_HEAD, L_WRITE};
        for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
            http_conn *h = w->lists[from[i]].head;
            if (h != NULL && (c == NULL || h->since < c->since))
                c = h;
        }
    }
    if (c == NULL)
        return 0;
    atomic_fetch_add(&w->s->evicted, 1);
    conn_close(w, c);
    return 1;
}

/* At the cap (n connections counted with the new one): frees a place by closing the
 * oldest idle or slow connection, here or, asked through its mailbox, on the worker that has
 * the most of them (then n may exceed the cap a little until it has). 0: nothing to close. */
static int make_place(http_worker *w, int n)
{
    http_server *s = w->s;
    if (evict_oldest(w))
        return 1;
    if (n > s->max_conns + s->nworkers * HTTP_OVERSHOOT_PER_WORKER)
        return 0;
    http_worker *best = NULL;
    int most = 0;
    for (int i = 0; i < s->nworkers; i++) {
        int e = atomic_load(&s->workers[i].nevict_pub) - atomic_load(&s->workers[i].evict_req);
        if (&s->workers[i] != w && e > most) {
            most = e;
            best = &s->workers[i];
        }
    }
    if (best == NULL)
        return 0;
    atomic_fetch_add(&best->evict_req, 1);
    signal_worker(best);
    return 1;
}

/* The worker to serve a new connection: the one with the fewest connections among those
 * not inside a handler, w itself unless another has at least two fewer. */
static http_worker *pick_worker(http_worker *w)
{
    http_server *s = w->s;
    http_worker *best = w;
    int bestn = atomic_load(&w->nconns_pub);
    for (int i = 0; i < s->nworkers; i++) {
        http_worker *o = &s->workers[i];
        if (o == w || atomic_load_explicit(&o->busy, memory_order_relaxed))
            continue;
        int n = atomic_load(&o->nconns_pub);
        if (n + 1 < bestn) {
            best = o;
            bestn = n;
        }
    }
    return best;
}

/* Applies the per-address limit and the cap to a fresh socket, then hands it to a worker. */
static void admit(http_worker *w, int fd, const struct sockaddr_storage *ss)
{
    http_server *s = w->s;
    http_addr_key key;
    http_addr_key_of((const struct sockaddr *)ss, &key);
    pthread_mutex_lock(&s->mu);
    int ok = http_addrs_acquire(&s->addrs, &key, (uint32_t)s->o.max_per_addr);
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        atomic_fetch_add(&s->rejected_per_addr, 1);
        server_count_error(s, 429);
        refuse(fd, 429, "too_many_connections",
               "too many open connections from this client address");
        return;
    }
    int n = atomic_fetch_add(&s->nconns, 1) + 1;
    if (n > s->max_conns && !make_place(w, n)) {
        atomic_fetch_sub(&s->nconns, 1);
        release_addr(s, &key);
        atomic_fetch_add(&s->rejected_full, 1);
        server_count_error(s, 503);
        refuse(fd, 503, "unavailable", "the server is at its connection limit");
        return;
    }
    atomic_fetch_add(&s->accepted, 1);
    http_worker *t = pick_worker(w);
    atomic_fetch_add(&t->nconns_pub, 1);
    if (t == w) {
        conn_new(w, fd, ss);
        return;
    }
    pthread_mutex_lock(&t->mu);
    if (t->inbox_n == t->inbox_cap) {
        t->inbox_cap = t->inbox_cap ? t->inbox_cap * 2 : 16;
        t->inbox = xrealloc(t->inbox, t->inbox_cap * sizeof(*t->inbox));
    }
    t->inbox[t->inbox_n].fd = fd;
    t->inbox[t->inbox_n].addr = *ss;
    t->inbox_n++;
    pthread_mutex_unlock(&t->mu);
    signal_worker(t);
}

static void set_listening(http_worker *w, int on)
{
    if (w->listening == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &tag_listen};
    if (epoll_ctl(w->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, w->s->lfd, &ev) == 0)
        w->listening = on;
}

static void do_accept(http_worker *w)
{
    for (int k = 0; k < 16; k++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(w->s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(w, fd, &ss);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* out of descriptors: free one of ours, else stop listening for a moment */
            if (!evict_oldest(w)) {
                set_listening(w, 0);
                w->accept_resume_at = w->now + 100;
            }
        }
        return;
    }
}

/* ---------------------------------------------------------------- mailbox and broadcast */

static void msg_unref(http_msg *m)
{
    if (atomic_fetch_sub(&m->refs, 1) == 1)
        free(m);
}

static void on_mail(http_worker *w)
{
    uint64_t v;
    ssize_t r = read(w->efd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&w->mu);
    handoff *in = w->inbox;
    size_t nin = w->inbox_n, capin = w->inbox_cap;
    http_msg **msgs = w->msgs;
    size_t nmsgs = w->msgs_n, capm = w->msgs_cap;
    w->inbox = NULL;
    w->inbox_n = w->inbox_cap = 0;
    w->msgs = NULL;
    w->msgs_n = w->msgs_cap = 0;
    pthread_mutex_unlock(&w->mu);
    (void)capin;
    (void)capm;
    for (size_t i = 0; i < nin; i++)
        conn_new(w, in[i].fd, &in[i].addr);
    free(in);
    for (size_t i = 0; i < nmsgs; i++) {
        http_conn *next;
        for (http_conn *c = w->streams; c != NULL; c = next) {
            next = c->snext;
            if (strcmp(c->channel, msgs[i]->channel) != 0 ||
                (c->has_event && c->last_event == msgs[i]->hash))
                continue;
            c->last_event = msgs[i]->hash;
            c->has_event = 1;
            conn_stream_push(w, c, msgs[i]->data, msgs[i]->len);
        }
        msg_unref(msgs[i]);
    }
    free(msgs);
    int n = atomic_exchange(&w->evict_req, 0);
    while (n-- > 0 && evict_oldest(w)) {
    }
}

/* Appends s[0..n) to b without CR and LF (an SSE field value is one line). */
static void put_line(hdp_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\r' && s[i] != '\n')
            buf_putc(b, s[i]);
}

void http_server_broadcast(http_server *s, const char *channel, const char *event, const char *data,
                           size_t len)
{
    if (s == NULL || atomic_load(&s->nstreams) == 0)
        return;
    hdp_buf b = HDP_BUF_INIT;
    if (event != NULL && event[0] != '\0') {
        buf_puts(&b, "event: ");
        put_line(&b, event, strlen(event));
        buf_putc(&b, '\n');
    }
    size_t i = 0;
    if (len == 0)
        buf_puts(&b, "data: \n");
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - data) : len;
        buf_puts(&b, "data: ");
        put_line(&b, data + i, e - i);
        buf_putc(&b, '\n');
        i = e + 1;
    }
    buf_putc(&b, '\n');

    http_worker *targets[256];
    int nt = 0;
    for (int k = 0; k < s->nworkers && nt < 256; k++)
        if (atomic_load(&s->workers[k].nstreams_pub) > 0)
            targets[nt++] = &s->workers[k];
    if (nt > 0) {
        http_msg *m = xmalloc(sizeof(*m) + b.len);
        atomic_init(&m->refs, nt);
        snprintf(m->channel, sizeof(m->channel), "%s", channel);
        m->hash = XXH3_64bits(b.data, b.len);
        m->len = b.len;
        memcpy(m->data, b.data, b.len);
        for (int k = 0; k < nt; k++) {
            http_worker *w = targets[k];
            int queued = 0;
            pthread_mutex_lock(&w->mu);
            if (w->msgs_n < HTTP_MAILBOX_MAX) {
                if (w->msgs_n == w->msgs_cap) {
                    w->msgs_cap = w->msgs_cap ? w->msgs_cap * 2 : 16;
                    w->msgs = xrealloc(w->msgs, w->msgs_cap * sizeof(*w->msgs));
                }
                w->msgs[w->msgs_n++] = m;
                queued = 1;
            }
            pthread_mutex_unlock(&w->mu);
            if (queued)
                signal_worker(w);
            else
                msg_unref(m); /* that worker is stuck in a handler: its streams miss it */
        }
    }
    buf_free(&b);
}

/* ---------------------------------------------------------------- timers and the loop */

static int64_t list_timeout(const http_server *s, int l)
{
    switch (l) {
    case L_HEAD:
    case L_WRITE:
        return s->o.header_timeout_ms;
    case L_IDLE:
        return s->o.idle_timeout_ms;
    default:
        return HTTP_LINGER_MS;
    }
}

/* Closes the connections whose time on their list is up. */
static void expire(http_worker *w)
{
    http_server *s = w->s;
    for (int l = 0; l < L_NLISTS; l++) {
        int64_t to = list_timeout(s, l);
        http_conn *c;
        while ((c = w->lists[l].head) != NULL && c->since + to <= w->now) {
            if (l == L_HEAD && c->in_len > c->in_off) {
                /* answered like any refused request: 408, then a lingering close (the
                 * client may still be sending; a plain close could reset the answer away) */
                atomic_fetch_add(&s->header_timeouts, 1);
                conn_queue_error(w, c, 408, "request_timeout",
                                 "the request did not arrive in time");
                conn_flush(w, c);
                continue;
            } else if (l == L_HEAD || l == L_IDLE) {
                atomic_fetch_add(&s->idle_timeouts, 1);
            } else if (l == L_WRITE) {
                atomic_fetch_add(&s->write_timeouts, 1);
            }
            conn_close(w, c);
        }
    }
}

/* Milliseconds until the next timer of w is due (at most 1000). */
static int next_timeout(const http_worker *w)
{
    int64_t due = w->now + 1000;
    for (int l = 0; l < L_NLISTS; l++)
        if (w->lists[l].head != NULL) {
            int64_t t = w->lists[l].head->since + list_timeout(w->s, l);
            if (t < due)
                due = t;
        }
    if (w->streams != NULL && w->next_heartbeat < due)
        due = w->next_heartbeat;
    if (!w->listening && w->accept_resume_at < due)
        due = w->accept_resume_at;
    return due <= w->now ? 0 : (int)(due - w->now);
}

static void heartbeat(http_worker *w)
{
    http_conn *next;
    for (http_conn *c = w->streams; c != NULL; c = next) {
        next = c->snext;
        conn_stream_push(w, c, ":\n\n", 3);
    }
    w->next_heartbeat = w->now + HTTP_HEARTBEAT_MS;
}

static void free_graveyard(http_worker *w)
{
    while (w->graveyard != NULL) {
        http_conn *c = w->graveyard;
        w->graveyard = c->gnext;
        free(c);
    }
}

static void *worker_main(void *arg)
{
    http_worker *w = arg;
    http_server *s = w->s;
    struct epoll_event evs[128];
    w->now = now_ms();
    w->next_heartbeat = w->now + HTTP_HEARTBEAT_MS;
    while (!atomic_load(&s->stop)) {
        int n = epoll_wait(w->epfd, evs, 128, next_timeout(w));
        w->now = now_ms();
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &tag_listen) {
                do_accept(w);
                continue;
            }
            if (p == &tag_mail) {
                on_mail(w);
                continue;
            }
            http_conn *c = p;
            uint32_t e = evs[i].events;
            if (c->closed)
                continue;
            if (e & (EPOLLERR | EPOLLHUP)) {
                conn_close(w, c);
                continue;
            }
            if (e & EPOLLOUT)
                conn_on_writable(w, c);
            if (!c->closed && (e & EPOLLIN))
                conn_on_readable(w, c);
        }
        expire(w);
        if (w->streams != NULL && w->now >= w->next_heartbeat)
            heartbeat(w);
        if (!w->listening && w->now >= w->accept_resume_at)
            set_listening(w, 1);
        atomic_store_explicit(&w->nevict_pub,
                              (int)(w->lists[L_HEAD].n + w->lists[L_IDLE].n + w->lists[L_WRITE].n +
                                    w->lists[L_LINGER].n),
                              memory_order_relaxed);
        free_graveyard(w);
    }
    /* stop: send what is pending without waiting, then close everything */
    while (w->all != NULL) {
        http_conn *c = w->all;
        if (c->out.len > c->out_off) {
            ssize_t r = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)r;
        }
        conn_close(w, c);
    }
    free_graveyard(w);
    return NULL;
}

/* ---------------------------------------------------------------- lifecycle */

/* Binds and listens on host:port; returns the socket (port in *bound) or -1 with e set. */
static int listen_on(const char *host, int port, int *bound, hdp_err *e)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(host && host[0] ? host : NULL, service, &hints, &res);
    if (gai != 0)
        return hdp_fail(e, "cannot resolve %s: %s", host, gai_strerror(gai)), -1;
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return hdp_fail(e, "cannot listen on %s:%d: %s", host, port, strerror(err)), -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    *bound = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* The cap that fits the descriptor limit (raised to its hard limit when that helps),
 * keeping 128 descriptors for everything else the process opens. */
static int fit_nofile(int want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    rlim_t need = (rlim_t)want + 256;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want + 128 > rl.rlim_cur)
        want = rl.rlim_cur > 144 ? (int)(rl.rlim_cur - 128) : 16;
    return want;
}

static int worker_init(http_server *s, http_worker *w, int index, hdp_err *e)
{
    w->s = s;
    w->index = index;
    w->epfd = -1;
    w->efd = -1;
    pthread_mutex_init(&w->mu, NULL);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->epfd < 0 || w->efd < 0)
        return hdp_fail(e, "cannot create the HTTP server's event loop: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_mail};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &ev) != 0)
        return hdp_fail(e, "cannot create the HTTP server's event loop: %s", strerror(errno));
    set_listening(w, 1);
    if (!w->listening)
        return hdp_fail(e, "cannot watch the listening socket: %s", strerror(errno));
    return HDP_OK;
}

int http_server_start(http_server **out, const http_server_opts *o, hdp_err *e)
{
    *out = NULL;
    int port = 0;
    int lfd = listen_on(o->host, o->port, &port, e);
    if (lfd < 0)
        return HDP_ERR;
    http_server *s = xcalloc(1, sizeof(*s));
    s->o = *o;
    s->lfd = lfd;
    s->port = port;
    s->lim = (http_limits){HTTP_MAX_TARGET, HTTP_MAX_HEAD, HTTP_MAX_HEADERS, HTTP_MAX_BODY};
    s->max_conns = fit_nofile(o->max_conns > 0 ? o->max_conns : 4096);
    if (s->o.max_per_addr <= 0)
        s->o.max_per_addr = 64;
    if (s->o.header_timeout_ms <= 0)
        s->o.header_timeout_ms = 10000;
    if (s->o.idle_timeout_ms <= 0)
        s->o.idle_timeout_ms = 30000;
    pthread_mutex_init(&s->mu, NULL);
    s->nworkers = o->threads > 0 ? o->threads : 1;
    s->workers = xcalloc((size_t)s->nworkers, sizeof(*s->workers));
    for (int i = 0; i < s->nworkers; i++) {
        if (worker_init(s, &s->workers[i], i, e) != HDP_OK) {
            s->nworkers = i + 1;
            http_server_stop(s);
            return HDP_ERR;
        }
    }
    for (int i = 0; i < s->nworkers; i++) {
        int rc = pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
        if (rc != 0) {
            hdp_fail(e, "cannot start an HTTP worker thread: %s", strerror(rc));
            http_server_stop(s);
            return HDP_ERR;
        }
        s->workers[i].started = 1;
    }
    *out = s;
    return HDP_OK;
}

void http_server_stop(http_server *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].efd >= 0)
            signal_worker(&s->workers[i]);
    for (int i = 0; i < s->nworkers; i++)
        if (s->workers[i].started)
            pthread_join(s->workers[i].thread, NULL);
    for (int i = 0; i < s->nworkers; i++) {
        http_worker *w = &s->workers[i];
        for (size_t k = 0; k < w->inbox_n; k++) { /* handed over, never served */
            http_addr_key key;
            http_addr_key_of((const struct sockaddr *)&w->inbox[k].addr, &key);
            close(w->inbox[k].fd);
            release_addr(s, &key);
            atomic_fetch_sub(&s->nconns, 1);
        }
        free(w->inbox);
        for (size_t k = 0; k < w->msgs_n; k++)
            msg_unref(w->msgs[k]);
        free(w->msgs);
        buf_free(&w->res.body);
        buf_free(&w->res.headers);
        if (w->epfd >= 0)
            close(w->epfd);
        if (w->efd >= 0)
            close(w->efd);
        pthread_mutex_destroy(&w->mu);
    }
    close(s->lfd);
    http_addrs_free(&s->addrs);
    pthread_mutex_destroy(&s->mu);
    free(s->workers);
    free(s);
}

int http_server_port(const http_server *s)
{
    return s->port;
}

int http_server_max_conns(const http_server *s)
{
    return s->max_conns;
}

void http_server_stats_get(const http_server *s, http_server_stats *st)
{
    /* the counters are atomics; reading them through a const pointer is fine */
    http_server *m = (http_server *)s;
    memset(st, 0, sizeof(*st));
    st->open = (unsigned long long)atomic_load(&m->nconns);
    st->accepted = atomic_load(&m->accepted);
    st->rejected_per_addr = atomic_load(&m->rejected_per_addr);
    st->rejected_full = atomic_load(&m->rejected_full);
    st->evicted = atomic_load(&m->evicted);
    st->header_timeouts = atomic_load(&m->header_timeouts);
    st->idle_timeouts = atomic_load(&m->idle_timeouts);
    st->write_timeouts = atomic_load(&m->write_timeouts);
    st->streams_open = (unsigned long long)atomic_load(&m->nstreams);
    st->streams_opened = atomic_load(&m->streams_opened);
    st->streams_dropped = atomic_load(&m->streams_dropped);
    for (size_t i = 0; i < HTTP_NERR; i++)
        st->errors[i] = atomic_load(&m->errors[i]);
}
