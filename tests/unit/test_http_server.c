/* The HTTP server (io/http_server.h) on a real loopback socket with a test handler:
 * keep-alive and pipelining with bodies, HEAD, HTTP/1.0, event streams and broadcast (a slow
 * reader is dropped, open streams close at stop), the per-address limit, the request timeout
 * that no trickle of bytes extends, the idle timeout, eviction at the connection cap.
 * Waits are bounded by generous deadlines; nothing here measures speed. */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io/http_server.h"

/* ---------------------------------------------------------------- the handler */

static void handler(void *ctx, const http_request *req, http_response *res)
{
    (void)ctx;
    if (strcmp(req->path, "/stream") == 0) {
        http_respond_stream(res, req->query[0] ? req->query : "news", ": hi\n\n", 6);
        return;
    }
    if (strcmp(req->path, "/stream-x") == 0) { /* its first event is the one broadcast below */
        http_respond_stream(res, "dedup", "event: e\ndata: x\n\n", 18);
        return;
    }
    if (strcmp(req->path, "/nothing") == 0)
        return; /* the server must answer 500 */
    if (strcmp(req->path, "/static") == 0) {
        static const char doc[] = "a static body";
        http_respond_static(res, 200, "text/plain", doc, sizeof(doc) - 1);
        return;
    }
    http_respond_status(res, 200, "text/plain");
    hdp_buf *b = http_response_body(res);
    buf_printf(b, "%s %s q=%s n=%zu", req->method, req->path, req->query, req->nparams);
    for (size_t i = 0; i < req->nparams; i++)
        buf_printf(b, " [%s=%s]", req->params[i].key,
                   req->params[i].val ? req->params[i].val : "(null)");
    const char *x = http_request_header(req, "x-test");
    buf_printf(b, " x=%s body=%.*s client=%s", x ? x : "-", (int)req->body_len, req->body,
               req->client);
    if (req->query_error)
        buf_printf(b, " qerr=%s", req->query_error);
    http_response_header(res, "X-Reply", "yes");
    http_response_header(res, "Bad\r\nHeader", "dropped");
}

static http_server *start(int threads, int max_conns, int per_addr, int header_ms, int idle_ms)
{
    http_server_opts o = {.host = "127.0.0.1",
                          .port = 0,
                          .threads = threads,
                          .max_conns = max_conns,
                          .max_per_addr = per_addr,
                          .header_timeout_ms = header_ms,
                          .idle_timeout_ms = idle_ms,
                          .handler = handler};
    http_server *s = NULL;
    hdp_err e;
    if (http_server_start(&s, &o, &e) != HDP_OK)
        fail_msg("start: %s", e.msg);
    return s;
}

/* ---------------------------------------------------------------- a tiny client */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects to 127.0.0.1:port from source address src (NULL: any). */
static int dial(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (src != NULL) {
        inet_pton(AF_INET, src, &a.sin_addr);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    while (off < n) {
        ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
        assert_true(w > 0);
        off += (size_t)w;
    }
}

/* Reads into b until needle has appeared count times, the peer closes, or timeout_ms
 * passes. Returns 1 when the peer closed (EOF or reset), else 0. */
static int read_until(int fd, hdp_buf *b, const char *needle, int count, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    for (;;) {
        int seen = 0;
        if (needle != NULL && b->data != NULL)
            for (const char *p = b->data; (p = strstr(p, needle)) != NULL; p += strlen(needle))
                seen++;
        if (needle != NULL && seen >= count)
            return 0;
        int left = (int)(end - now_ms());
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, left) <= 0)
            return 0;
        char tmp[65536];
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n <= 0)
            return 1;
        buf_append(b, tmp, (size_t)n);
    }
}

static int closed_within(int fd, int timeout_ms)
{
    hdp_buf b = HDP_BUF_INIT;
    int c = read_until(fd, &b, NULL, 0, timeout_ms);
    buf_free(&b);
    return c;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* ---------------------------------------------------------------- tests */

static void test_pipelining_and_bodies(void **state)
{
    (void)state;
    http_server *s = start(2, 100, 64, 5000, 5000);
    int fd = dial(http_server_port(s), NULL);
    send_str(fd,
             "POST /a?x=1&y=%41+b HTTP/1.1\r\nHost: h\r\nX-Test: t1\r\nContent-Length: 5\r\n\r\n"
             "helloGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
             "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n"
             "GET /d?bad=%zz HTTP/1.1\r\nHost: h\r\n\r\n"
             "GET /static HTTP/1.1\r\nHost: h\r\n\r\n");
    hdp_buf b = HDP_BUF_INIT;
    read_until(fd, &b, "a static body", 1, 5000);
    assert_non_null(b.data);
    assert_int_equal(count_of(b.data, "HTTP/1.1 200 OK"), 5);
    assert_non_null(strstr(b.data, "Content-Length: 13\r\nConnection: keep-alive\r\n\r\n"
                                   "a static body"));
    const char *p1 = strstr(b.data, "POST /a q=x=1&y=%41+b n=2 [x=1] [y=A b] x=t1 body=hello");
    const char *p2 = strstr(b.data, "GET /b q= n=0 [");
    const char *p2b = strstr(b.data, "GET /b q= n=0 x=- body= client=127.0.0.1");
    const char *p4 = strstr(b.data, "GET /d q=bad=%zz n=0 x=- body= client=127.0.0.1 qerr=");
    assert_non_null(p1);
    assert_null(p2);
    assert_non_null(p2b);
    assert_non_null(p4);
    assert_true(p1 < p2b && p2b < p4);      /* answers in request order */
    assert_null(strstr(b.data, "HEAD /c")); /* HEAD: headers only */
    assert_non_null(strstr(b.data, "X-Reply: yes\r\n"));
    assert_null(strstr(b.data, "dropped"));
    assert_non_null(strstr(b.data, "Connection: keep-alive\r\n"));
    assert_non_null(strstr(b.data, "Date: "));
    buf_free(&b);
    /* the connection still serves; HTTP/1.0 closes after the answer */
    send_str(fd, "GET /e HTTP/1.0\r\n\r\n");
    assert_int_equal(read_until(fd, &b, "xyz-never", 1, 5000), 1);
    assert_non_null(strstr(b.data, "Connection: close\r\n"));
    assert_non_null(strstr(b.data, "GET /e"));
    buf_free(&b);
    close(fd);

    /* no answer from the handler: 500 JSON; an answer split over many writes */
    fd = dial(http_server_port(s), NULL);
    const char *req = "GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n";
    for (const char *p = req; *p; p++) {
        char one[2] = {*p, 0};
        send_str(fd, one);
    }
    read_until(fd, &b, "}}", 1, 5000);
    assert_non_null(strstr(b.data, "HTTP/1.1 500 Internal Server Error"));
    assert_non_null(strstr(b.data, "{\"error\":{\"code\":\"internal\""));
    buf_free(&b);
    close(fd);
    http_server_stats st;
    http_server_stats_get(s, &st);
    assert_true(st.accepted >= 2);
    http_server_stop(s);
}

static void test_error_answered_once_then_closed(void **state)
{
    (void)state;
    http_server *s = start(1, 100, 64, 5000, 5000);
    int fd = dial(http_server_port(s), NULL);
    send_str(fd, "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n"
                 "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    hdp_buf b = HDP_BUF_INIT;
    assert_int_equal(read_until(fd, &b, "never", 1, 5000), 1);
    assert_int_equal(count_of(b.data, "HTTP/1.1 "), 1);
    assert_non_null(strstr(b.data, "HTTP/1.1 413 "));
    assert_non_null(strstr(b.data, "\"code\":\"payload_too_large\""));
    buf_free(&b);
    close(fd);
    http_server_stats st;
    http_server_stats_get(s, &st);
    for (size_t i = 0; i < HTTP_NERR; i++)
        if (http_error_status(i) == 413)
            assert_int_equal(st.errors[i], 1);
    http_server_stop(s);
}

static void test_streams(void **state)
{
    (void)state;
    http_server *s = start(2, 100, 64, 5000, 5000);
    int port = http_server_port(s);
    int a = dial(port, NULL), other = dial(port, NULL);
    send_str(a, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n");
    send_str(other, "GET /stream?sports HTTP/1.1\r\nHost: h\r\n\r\n");
    hdp_buf b = HDP_BUF_INIT, ob = HDP_BUF_INIT;
    read_until(a, &b, ": hi\n\n", 1, 5000);
    read_until(other, &ob, ": hi\n\n", 1, 5000);
    assert_non_null(strstr(b.data, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(b.data, "Content-Type: text/event-stream\r\n"));
    assert_null(strstr(b.data, "Content-Length"));
    http_server_stats st;
    http_server_stats_get(s, &st);
    assert_int_equal(st.streams_open, 2);

    http_server_broadcast(s, "news", "tick", "hello\nworld", 11);
    http_server_broadcast(s, "news", NULL, "", 0);
    read_until(a, &b, "data: \n\n", 1, 5000);
    assert_non_null(strstr(b.data, "event: tick\ndata: hello\ndata: world\n\n"));
    assert_non_null(strstr(b.data, "\n\ndata: \n\n"));
    read_until(other, &ob, "data:", 1, 300); /* the other channel got nothing */
    assert_null(strstr(ob.data, "data:"));
    http_server_broadcast(s, "sports", "goal", "1:0", 3);
    read_until(other, &ob, "data: 1:0\n\n", 1, 5000); /* not "1:0": a Date of 11:0x holds it */
    assert_non_null(strstr(ob.data, "event: goal\ndata: 1:0\n\n"));

    /* a reader that never reads is dropped once it is far behind; the others stay */
    int slow = dial(port, NULL);
    int small = 4096;
    setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    send_str(slow, "GET /stream?bulk HTTP/1.1\r\nHost: h\r\n\r\n");
    int64_t end = now_ms() + 5000;
    do {
        http_server_stats_get(s, &st);
    } while (st.streams_open < 3 && now_ms() < end);
    char *chunk = malloc(32768);
    memset(chunk, 'z', 32767);
    chunk[32767] = '\0';
    end = now_ms() + 10000;
    int round = 0;
    do {
        chunk[0] = (char)('a' + round++ % 26); /* a new event each time: repeats are skipped */
        http_server_broadcast(s, "bulk", NULL, chunk, 32767);
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        http_server_stats_get(s, &st);
    } while (st.streams_dropped == 0 && now_ms() < end);
    free(chunk);
    assert_int_equal(st.streams_dropped, 1);
    assert_int_equal(st.streams_open, 2);
    close(slow);

    /* stop closes the open streams cleanly */
    http_server_stop(s);
    assert_int_equal(closed_within(a, 5000), 1);
    assert_int_equal(closed_within(other, 5000), 1);
    close(a);
    close(other);
    buf_free(&b);
    buf_free(&ob);
}

static void test_per_address_limit(void **state)
{
    (void)state;
    http_server *s = start(2, 100, 3, 5000, 5000);
    int port = http_server_port(s);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = dial(port, NULL);
        send_str(fds[i], "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        hdp_buf b = HDP_BUF_INIT;
        read_until(fds[i], &b, "client=", 1, 5000);
        assert_non_null(strstr(b.data, "200 OK"));
        buf_free(&b);
    }
    int extra = dial(port, NULL);
    send_str(extra, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    hdp_buf b = HDP_BUF_INIT;
    assert_int_equal(read_until(extra, &b, "never", 1, 5000), 1);
    assert_non_null(strstr(b.data, "HTTP/1.1 429 Too Many Requests"));
    assert_non_null(strstr(b.data, "\"code\":\"too_many_connections\""));
    buf_free(&b);
    close(extra);
    /* another address is not affected */
    int two = dial(port, "127.0.0.2");
    send_str(two, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    read_until(two, &b, "client=127.0.0.2", 1, 5000);
    assert_non_null(strstr(b.data, "200 OK"));
    buf_free(&b);
    close(two);
    /* a closed connection frees its place */
    close(fds[0]);
    int64_t end = now_ms() + 5000;
    int ok = 0;
    while (!ok && now_ms() < end) {
        int again = dial(port, NULL);
        send_str(again, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        read_until(again, &b, "\r\n\r\n", 1, 5000);
        ok = b.data != NULL && strstr(b.data, "200 OK") != NULL;
        buf_free(&b);
        close(again);
    }
    assert_true(ok);
    http_server_stats st;
    http_server_stats_get(s, &st);
    assert_true(st.rejected_per_addr >= 1);
    close(fds[1]);
    close(fds[2]);
    http_server_stop(s);
}

static void test_request_timeout_is_not_extended(void **state)
{
    (void)state;
    http_server *s = start(1, 100, 64, 400, 5000);
    int fd = dial(http_server_port(s), NULL);
    const char *req = "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    int64_t t0 = now_ms();
    int closed = 0;
    hdp_buf b = HDP_BUF_INIT;
    for (const char *p = req; *p && !closed; p++) { /* a byte every 50 ms: 2.5 s in all */
        char one[2] = {*p, 0};
        if (send(fd, one, 1, MSG_NOSIGNAL) != 1)
            break;
        closed = read_until(fd, &b, "never", 1, 50);
    }
    if (!closed)
        closed = read_until(fd, &b, "never", 1, 5000);
    assert_int_equal(closed, 1);
    assert_true(now_ms() - t0 < 2400); /* well before the trickle ended */
    assert_non_null(b.data);
    assert_non_null(strstr(b.data, "HTTP/1.1 408 Request Timeout"));
    assert_non_null(strstr(b.data, "\"code\":\"request_timeout\""));
    buf_free(&b);
    close(fd);
    http_server_stats st;
    http_server_stats_get(s, &st);
    assert_int_equal(st.header_timeouts, 1);
    http_server_stop(s);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    http_server *s = start(1, 100, 64, 5000, 300);
    int fd = dial(http_server_port(s), NULL);
    send_str(fd, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    hdp_buf b = HDP_BUF_INIT;
    read_until(fd, &b, "client=", 1, 5000);
    assert_non_null(strstr(b.data, "200 OK"));
    assert_int_equal(read_until(fd, &b, "never", 1, 5000), 1); /* closed after idling */
    buf_free(&b);
    close(fd);
    http_server_stats st;
    http_server_stats_get(s, &st);
    assert_int_equal(st.idle_timeouts, 1);
    http_server_stop(s);
}

/* 40 slow requests at a cap of 16, then a fresh client. Each worker closes its own oldest
 * first (make_place), so "the oldest connection went first" holds across the server only
 * with one worker; with two, the connections may be spread so that slow[0]'s worker never
 * has to close one (seen under ASan on a busy machine). */
static void eviction_at_cap(int threads)
{
    http_server *s = start(threads, 16, 1000, 10000, 10000);
    assert_int_equal(http_server_max_conns(s), 16);
    int port = http_server_port(s);
    int slow[40];
    for (int i = 0; i < 40; i++) { /* slow requests, never finished */
        slow[i] = dial(port, NULL);
        send_str(slow[i], "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: a");
    }
    /* a new client is answered; the oldest slow ones were closed to make room */
    int fd = dial(port, "127.0.0.3");
    send_str(fd, "GET /fresh HTTP/1.1\r\nHost: h\r\n\r\n");
    hdp_buf b = HDP_BUF_INIT;
    read_until(fd, &b, "client=", 1, 5000);
    assert_non_null(b.data);
    assert_non_null(strstr(b.data, "GET /fresh"));
    buf_free(&b);
    int64_t end = now_ms() + 5000;
    http_server_stats st;
    do {
        http_server_stats_get(s, &st);
    } while (st.open > 16 && now_ms() < end);
    assert_true(st.open <= 16);
    assert_true(st.evicted >= 40 + 1 - 16);
    if (threads == 1)
        assert_int_equal(closed_within(slow[0], 5000), 1); /* the oldest went first */
    int open_slow = 0;
    for (int i = 0; i < 40; i++) {
        struct pollfd pfd = {.fd = slow[i], .events = POLLIN};
        if (poll(&pfd, 1, 0) == 0)
            open_slow++;
        close(slow[i]);
    }
    assert_true(open_slow <= 16);
    close(fd);
    http_server_stop(s);
}

static void test_eviction_at_cap(void **state)
{
    (void)state;
    eviction_at_cap(1);
    eviction_at_cap(2);
}

static void test_bind_errors(void **state)
{
    (void)state;
    http_server *s = start(1, 100, 64, 5000, 5000);
    http_server_opts o = {
        .host = "127.0.0.1", .port = http_server_port(s), .threads = 1, .handler = handler};
    http_server *t = NULL;
    hdp_err e;
    assert_int_equal(http_server_start(&t, &o, &e), HDP_ERR);
    assert_null(t);
    assert_non_null(strstr(e.msg, "in use"));
    http_server_stop(s);
    http_server_stop(NULL);
}

/* Counts needle in b. */
static int occurrences(const hdp_buf *b, const char *needle)
{
    int n = 0;
    for (const char *p = b->data; p != NULL && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* An event repeated for the streams that opened after it reaches each stream once: the one
 * that had it (first event included) is skipped, the newcomer gets it; a new event goes to
 * all. stream.c repeats today's answer this way so that no client misses a change. */
static void test_stream_repeats_are_sent_once(void **state)
{
    (void)state;
    http_server *s = start(2, 100, 64, 5000, 5000);
    int port = http_server_port(s);
    int a = dial(port, NULL), late = dial(port, NULL);
    hdp_buf ab = HDP_BUF_INIT, lb = HDP_BUF_INIT;
    send_str(a, "GET /stream?dedup HTTP/1.1\r\nHost: h\r\n\r\n");
    read_until(a, &ab, ": hi\n\n", 1, 5000);
    http_server_stats st;
    http_server_stats_get(s, &st);
    assert_int_equal(st.streams_opened, 1);
    http_server_broadcast(s, "dedup", "e", "x", 1);
    http_server_broadcast(s, "dedup", "e", "x", 1); /* the same again: a no longer gets it */
    read_until(a, &ab, "data: x\n\n", 2, 400);
    assert_int_equal(occurrences(&ab, "event: e\ndata: x\n\n"), 1);

    /* a stream whose first event is x: the repeat sends it nothing either */
    send_str(late, "GET /stream-x HTTP/1.1\r\nHost: h\r\n\r\n");
    read_until(late, &lb, "data: x\n\n", 1, 5000);
    int64_t end = now_ms() + 5000;
    do
        http_server_stats_get(s, &st);
    while (st.streams_opened < 2 && now_ms() < end);
    assert_int_equal(st.streams_opened, 2);
    http_server_broadcast(s, "dedup", "e", "x", 1);
    http_server_broadcast(s, "dedup", "e", "y", 1); /* a change: both get it, once */
    read_until(a, &ab, "data: y\n\n", 1, 5000);
    read_until(late, &lb, "data: y\n\n", 1, 5000);
    read_until(a, &ab, "data: y\n\n", 2, 300);
    assert_int_equal(occurrences(&ab, "data: x\n\n"), 1);
    assert_int_equal(occurrences(&ab, "data: y\n\n"), 1);
    assert_int_equal(occurrences(&lb, "data: x\n\n"), 1);
    assert_int_equal(occurrences(&lb, "data: y\n\n"), 1);
    http_server_broadcast(s, "dedup", "e", "x", 1); /* back to x: not the last event, so sent */
    read_until(a, &ab, "data: x\n\n", 2, 5000);
    assert_int_equal(occurrences(&ab, "data: x\n\n"), 2);
    close(a);
    close(late);
    buf_free(&ab);
    buf_free(&lb);
    http_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelining_and_bodies),
        cmocka_unit_test(test_error_answered_once_then_closed),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_stream_repeats_are_sent_once),
        cmocka_unit_test(test_per_address_limit),
        cmocka_unit_test(test_request_timeout_is_not_extended),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_eviction_at_cap),
        cmocka_unit_test(test_bind_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
