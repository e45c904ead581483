/* http_conn.c — one connection of the HTTP server: reading requests, calling the handler,
 * composing and writing answers, lingering before a close, event streams.
 *
 * A connection's life: requests are parsed from its input buffer as they complete and
 * answered in order (pipelining); answers queue in its output buffer, which is sent without
 * blocking. While an answer waits for the socket, no more input is read. A close after an
 * answer shuts the output side first and reads what the client still sends for a moment
 * ("lingering close"), so the client sees the answer instead of a reset. */
#include "io/http_server_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/timeutil.h"

enum { MAX_IN = HTTP_MAX_HEAD + HTTP_MAX_BODY + 4096 };

/* ---------------------------------------------------------------- the handler's API */

void http_respond_status(http_response *res, int status, const char *ctype)
{
    static const char octets[] = "application/octet-stream";
    res->status = status;
    const char *t = ctype ? ctype : octets;
    size_t n = 0;
    for (; t[n] && n + 1 < sizeof(res->ctype); n++) {
        if (t[n] == '\r' || t[n] == '\n') { /* no header injection */
            t = octets;
            n = sizeof(octets) - 1;
            break;
        }
    }
    memcpy(res->ctype, t, n);
    res->ctype[n] = '\0';
}

void http_respond(http_response *res, int status, const char *ctype, const void *body, size_t len)
{
    http_respond_status(res, status, ctype);
    res->static_body = NULL;
    buf_reset(&res->body);
    buf_append(&res->body, body, len);
}

void http_respond_static(http_response *res, int status, const char *ctype, const void *body,
                         size_t len)
{
    http_respond_status(res, status, ctype);
    buf_reset(&res->body);
    res->static_body = body;
    res->static_len = len;
}

hdp_buf *http_response_body(http_response *res)
{
    res->static_body = NULL;
    return &res->body;
}

/* {"error":{"code":...,"message":...}} */
static void put_json_error(hdp_buf *b, const char *code, const char *msg)
{
    buf_puts(b, "{\"error\":{\"code\":");
    buf_put_json_str(b, code, strlen(code));
    buf_puts(b, ",\"message\":");
    buf_put_json_str(b, msg, strlen(msg));
    buf_puts(b, "}}");
}

void http_respond_error(http_response *res, int status, const char *code, const char *msg)
{
    http_respond_status(res, status, "application/json");
    res->static_body = NULL;
    buf_reset(&res->body);
    put_json_error(&res->body, code, msg);
}

void http_response_header(http_response *res, const char *name, const char *value)
{
    if (name[0] == '\0' || strpbrk(name, "\r\n: \t") != NULL || strpbrk(value, "\r\n") != NULL)
        return;
    buf_puts(&res->headers, name);
    buf_append(&res->headers, ": ", 2);
    buf_puts(&res->headers, value);
    buf_append(&res->headers, "\r\n", 2);
}

void http_respond_stream(http_response *res, const char *channel, const void *first, size_t len)
{
    http_respond(res, 200, "text/event-stream", first, len);
    res->stream = 1;
    snprintf(res->channel, sizeof(res->channel), "%s", channel);
}

typedef struct req_impl {
    const char *b;
    const http_head *h;
} req_impl;

const char *http_request_header(const http_request *r, const char *name)
{
    const req_impl *ri = r->impl;
    for (size_t i = 0; i < ri->h->nfields; i++)
        if (strcasecmp(ri->b + ri->h->fields[i].name.off, name) == 0)
            return ri->b + ri->h->fields[i].value.off;
    return NULL;
}

/* ---------------------------------------------------------------- composing answers */

/* "Sun, 06 Nov 1994 08:49:37 GMT" for t, into out (30 bytes). */
static void format_date(time_t t, char *out, size_t n)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The worker's Date value, formatted once a second. */
static const char *worker_date(http_worker *w)
{
    time_t t = time(NULL);
    if (t != w->date_sec) {
        format_date(t, w->date, sizeof(w->date));
        w->date_sec = t;
    }
    return w->date;
}

static void put_u64(hdp_buf *b, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf_append(b, tmp + i, sizeof(tmp) - i);
}

#define PUT_LIT(b, s) buf_append((b), (s), sizeof(s) - 1)

/* Status line and the headers every answer has. len < 0: no Content-Length (a stream). */
static void put_head(hdp_buf *o, const char *date, int status, const char *ctype, long long len,
                     int keep)
{
    const char *reason = http_reason(status);
    char code[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), ' '};
    PUT_LIT(o, "HTTP/1.1 ");
    buf_append(o, code, 4);
    buf_puts(o, reason);
    PUT_LIT(o, "\r\nDate: ");
    buf_puts(o, date);
    PUT_LIT(o, "\r\nContent-Type: ");
    buf_puts(o, ctype);
    if (len >= 0) {
        PUT_LIT(o, "\r\nContent-Length: ");
        put_u64(o, (unsigned long long)len);
    }
    if (keep)
        PUT_LIT(o, "\r\nConnection: keep-alive\r\n");
    else
        PUT_LIT(o, "\r\nConnection: close\r\n");
}

/* Queues a whole answer on c. */
static void compose(http_worker *w, http_conn *c, int status, const char *ctype,
                    const hdp_buf *extra, const char *body, size_t len, int head_only, int keep)
{
    hdp_buf *o = &c->out;
    buf_reserve(o, 200 + (extra ? extra->len : 0) + (head_only ? 0 : len));
    put_head(o, worker_date(w), status, ctype, (long long)len, keep);
    if (extra != NULL && extra->len)
        buf_append(o, extra->data, extra->len);
    PUT_LIT(o, "\r\n");
    if (!head_only && len)
        buf_append(o, body, len);
}

void conn_queue_error(http_worker *w, http_conn *c, int status, const char *code, const char *msg)
{
    hdp_buf b = HDP_BUF_INIT;
    put_json_error(&b, code, msg);
    compose(w, c, status, "application/json", NULL, b.data, b.len, 0, 0);
    buf_free(&b);
    c->close_after = 1;
    server_count_error(w->s, status);
}

void http_write_refusal(int fd, int status, const char *code, const char *msg)
{
    char date[40];
    format_date(time(NULL), date, sizeof(date));
    hdp_buf body = HDP_BUF_INIT, o = HDP_BUF_INIT;
    put_json_error(&body, code, msg);
    put_head(&o, date, status, "application/json", (long long)body.len, 0);
    PUT_LIT(&o, "\r\n");
    buf_append(&o, body.data, body.len);
    ssize_t n = send(fd, o.data, o.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n; /* best effort: the connection is closed right after */
    buf_free(&body);
    buf_free(&o);
}

/* ---------------------------------------------------------------- handling one request */

/* NUL-terminates the strings of the parsed head in place (the head is consumed after this
 * request, so its separators may go) and calls the handler; queues the answer. */
static void dispatch(http_worker *w, http_conn *c)
{
    http_server *s = w->s;
    const http_head *h = &w->head;
    char *b = c->in + c->in_off;
    b[h->method.off + h->method.len] = '\0';
    const char *path = "/";
    if (h->path.len) {
        path = b + h->path.off;
        b[h->path.off + h->path.len] = '\0';
    }
    const char *query = "";
    if (h->has_query) {
        query = b + h->query.off;
        b[h->query.off + h->query.len] = '\0';
    }
    for (size_t i = 0; i < h->nfields; i++) {
        b[h->fields[i].name.off + h->fields[i].name.len] = '\0';
        b[h->fields[i].value.off + h->fields[i].value.len] = '\0';
    }
    size_t np = 0;
    const char *qerr = NULL;
    http_perr perr;
    if (h->has_query && http_query_decode(query, h->query.len, w->qscratch, w->params,
                                          HTTP_MAX_PARAMS, &np, &perr) != 0) {
        snprintf(w->qerr, sizeof(w->qerr), "%s", perr.msg);
        qerr = w->qerr;
        np = 0;
    }
    req_impl ri = {b, h};
    http_request req = {
        .server = s,
        .method = b + h->method.off,
        .path = path,
        .query = query,
        .params = w->params,
        .nparams = np,
        .query_error = qerr,
        .body = b + h->head_len,
        .body_len = h->content_length,
        .client = c->client,
        .minor = h->minor,
        .impl = &ri,
    };
    http_response *res = &w->res;
    res->status = 0;
    res->stream = 0;
    res->static_body = NULL;
    snprintf(res->ctype, sizeof(res->ctype), "application/octet-stream");
    buf_reset(&res->body);
    buf_reset(&res->headers);
    atomic_store_explicit(&w->busy, 1, memory_order_relaxed);
    s->o.handler(s->o.ctx, &req, res);
    atomic_store_explicit(&w->busy, 0, memory_order_relaxed);
    w->now = mono_us() / 1000;
    if (res->status < 200 || res->status > 599) {
        http_respond_error(res, 500, "internal", "the handler gave no answer");
        res->stream = 0;
        server_count_error(s, 500);
    }
    int head_only = strcmp(req.method, "HEAD") == 0;
    int keep =
        h->keep_alive && !c->peer_eof && !atomic_load_explicit(&s->stop, memory_order_relaxed);
    if (res->stream) {
        hdp_buf *o = &c->out;
        put_head(o, worker_date(w), 200, res->ctype, -1, 0);
        PUT_LIT(o, "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
        buf_append(o, res->headers.data, res->headers.len);
        PUT_LIT(o, "\r\n");
        if (head_only) {
            c->close_after = 1;
            return;
        }
        const char *first = res->static_body ? res->static_body : res->body.data;
        size_t first_len = res->static_body ? res->static_len : res->body.len;
        buf_append(o, first, first_len);
        c->has_event = first_len > 0;
        c->last_event = c->has_event ? XXH3_64bits(first, first_len) : 0;
        c->streaming = 1;
        memcpy(c->channel, res->channel, sizeof(c->channel));
        worker_add_stream(w, c);
        return;
    }
    if (res->static_body != NULL)
        compose(w, c, res->status, res->ctype, &res->headers, res->static_body, res->static_len,
                head_only, keep);
    else
        compose(w, c, res->status, res->ctype, &res->headers, res->body.data, res->body.len,
                head_only, keep);
    if (!keep)
        c->close_after = 1;
}

/* Answers the complete requests in c's input, in order. Returns 1 when it stopped because
 * too much output is pending (more may follow once it is sent), else 0. */
static int process(http_worker *w, http_conn *c)
{
    http_server *s = w->s;
    while (!c->closed && !c->close_after && !c->streaming) {
        if (c->out.len - c->out_off > HTTP_OUT_HIGH)
            return 1;
        size_t avail = c->in_len - c->in_off;
        if (avail == 0) {
            c->in_off = c->in_len = 0;
            return 0;
        }
        if (c->need && avail < c->need)
            return 0;
        http_perr err;
        http_parse_rc rc = http_parse_head(c->in + c->in_off, avail, &s->lim, &w->head, &err);
        if (rc == HTTP_PARSE_MORE)
            return 0;
        if (rc == HTTP_PARSE_FAIL) {
            conn_queue_error(w, c, err.status, err.code, err.msg);
            return 0;
        }
        size_t need = w->head.head_len + w->head.content_length;
        if (avail < need) {
            c->need = need;
            if (w->head.expect_continue && !c->continue_sent) {
                PUT_LIT(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
                c->continue_sent = 1;
            }
            return 0;
        }
        dispatch(w, c);
        c->need = 0;
        c->continue_sent = 0;
        if (c->streaming) {
            c->in_off = c->in_len = 0; /* a stream reads nothing more */
            return 0;
        }
        c->in_off += need;
    }
    return 0;
}

/* Answers what is complete and sends; repeats while pipelined requests wait for room. */
static void run(http_worker *w, http_conn *c)
{
    for (;;) {
        int paused = process(w, c);
        if (c->closed)
            return;
        if (c->peer_eof && !c->streaming)
            c->close_after = 1; /* answer what was complete, then close */
        conn_flush(w, c);
        if (c->closed || !paused || c->out.len != 0)
            return;
    }
}

/* ---------------------------------------------------------------- socket I/O */

/* Output side shut, read until the peer closes (or the linger time or byte budget ends). */
static void start_linger(http_worker *w, http_conn *c)
{
    if (c->peer_eof) {
        conn_close(w, c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->lingering = 1;
    c->in_off = c->in_len = 0;
    conn_watch(w, c, EPOLLIN);
    conn_set_list(w, c, L_LINGER);
}

void conn_flush(http_worker *w, http_conn *c)
{
    int progressed = 0;
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            progressed = 1;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            conn_close(w, c);
            return;
        }
    }
    if (c->out_off < c->out.len) { /* the socket is full: wait for it */
        if (progressed || c->list != L_WRITE)
            conn_set_list(w, c, L_WRITE);
        conn_watch(w, c, c->streaming ? EPOLLIN | EPOLLOUT : EPOLLOUT);
        return;
    }
    c->out_off = 0;
    if (c->out.cap > 4 * HTTP_OUT_HIGH)
        buf_free(&c->out); /* do not keep a big answer's buffer on an idle connection */
    else
        buf_reset(&c->out);
    if (c->close_after) {
        start_linger(w, c);
        return;
    }
    conn_watch(w, c, EPOLLIN);
    if (c->streaming)
        conn_set_list(w, c, L_NONE);
    else if (c->in_len > c->in_off) {
        if (c->list != L_HEAD)
            conn_set_list(w, c, L_HEAD);
    } else if (c->list != L_IDLE) {
        conn_set_list(w, c, L_IDLE);
    }
}

/* Reads and drops input (lingering, streams). */
static void drain(http_worker *w, http_conn *c)
{
    char tmp[8192];
    ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
    if (n > 0) {
        c->discarded += (size_t)n;
        if (c->lingering && c->discarded > HTTP_LINGER_BYTES)
            conn_close(w, c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    conn_close(w, c);
}

/* Room for at least one more byte in c->in: compacts, then grows up to MAX_IN. */
static int make_room(http_conn *c)
{
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    if (c->in_cap - c->in_len < 2048 && c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_cap - c->in_len < 2048 && c->in_cap < MAX_IN) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
        c->in_cap = cap < MAX_IN ? cap : MAX_IN;
        c->in = xrealloc(c->in, c->in_cap);
    }
    return c->in_len < c->in_cap;
}

/* True when growing the pending bytes from a to b crossed threshold t. */
static int crossed(size_t a, size_t b, size_t t)
{
    return a < t && b >= t;
}

void conn_on_readable(http_worker *w, http_conn *c)
{
    if (c->lingering || c->streaming || c->close_after) {
        drain(w, c);
        return;
    }
    if (!make_room(c)) { /* cannot happen: the parser fails first */
        conn_close(w, c);
        return;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_close(w, c);
        return;
    }
    size_t before = c->in_len - c->in_off;
    if (n == 0) {
        c->peer_eof = 1;
        if (before == 0 && c->out.len == 0) {
            conn_close(w, c);
            return;
        }
    } else {
        c->in_len += (size_t)n;
        if (c->list == L_IDLE)
            conn_set_list(w, c, L_HEAD); /* the first byte of a request starts its clock */
    }
    size_t after = c->in_len - c->in_off;
    /* Parsing again is worth it only when something can have changed: a new line, the
     * body complete, a size limit crossed, the first bytes of a request, or the end. */
    int worth;
    if (c->need)
        worth = after >= c->need;
    else
        worth = before == 0 || memchr(c->in + c->in_len - n, '\n', (size_t)n) != NULL ||
                crossed(before, after, HTTP_MAX_TARGET + 64) ||
                crossed(before, after, HTTP_MAX_HEAD);
    if (worth || c->peer_eof)
        run(w, c);
}

void conn_on_writable(http_worker *w, http_conn *c)
{
    conn_flush(w, c);
    if (!c->closed && c->out.len == 0 && !c->close_after && !c->streaming && c->in_len > c->in_off)
        run(w, c);
}

void conn_stream_push(http_worker *w, http_conn *c, const char *data, size_t len)
{
    if (c->closed)
        return;
    if (c->out.len - c->out_off + len > HTTP_STREAM_MAX) {
        atomic_fetch_add(&w->s->streams_dropped, 1);
        conn_close(w, c);
        return;
    }
    if (c->out_off > 0 && c->out_off >= c->out.len / 2) {
        memmove(c->out.data, c->out.data + c->out_off, c->out.len - c->out_off);
        c->out.len -= c->out_off;
        c->out_off = 0;
    }
    buf_append(&c->out, data, len);
    if (!(c->events & EPOLLOUT)) /* else the socket is full: EPOLLOUT sends it */
        conn_flush(w, c);
}
