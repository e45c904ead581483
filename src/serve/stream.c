/* stream.c — GET /api/v1/stream: today's revenue (the body of /api/v1/revenue) as
 * Server-Sent Events, for dashboards that update by themselves.
 *
 * One poller thread for all streams: every 200 ms it reads hdp:speed:version and the batch
 * watermark (one MGET); when either moved, the UTC day turned or a stream opened, it renders
 * today's answer through the answer cache and broadcasts it when it differs from the last one
 * it sent, or when streams opened since. The cache may hand back the previous answer for up
 * to its window, so the poller keeps looking for one window more. A stream's first event was
 * rendered before the stream was registered: a change in between reaches it through the
 * broadcast after it opened, and the server sends no stream the same event twice in a row
 * (http_server_broadcast), so nobody gets a change twice or misses one. Clients cost nothing
 * but their socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/speed_model.h"
#include "core/timeutil.h"
#include "serve/server_int.h"

#define POLL_MS 200

/* "event: summary\ndata: <body>\n\n" (an "error" event when the answer is not a 200). */
static void put_event(hdp_buf *b, int status, const char *body, size_t len)
{
    buf_puts(b, status == 200 ? "event: summary\ndata: " : "event: error\ndata: ");
    buf_append(b, body, len); /* one line: the API's JSON has no raw newline */
    buf_puts(b, "\n\n");
}

void serve_do_stream(hdp_server *s, http_response *res)
{
    char *body = NULL;
    size_t len = 0;
    int status = 0;
    serve_today_revenue(s, &body, &len, &status);
    hdp_buf first = HDP_BUF_INIT;
    put_event(&first, status, body, len);
    free(body);
    metrics_request(&s->metrics, EP_STREAM, 200);
    http_respond_stream(res, STREAM_CHANNEL, first.data, first.len);
    buf_free(&first);
}

typedef struct version_read {
    char seen[96]; /* speed:version '/' watermark */
} version_read;

static int op_versions(hdp_redis *r, void *ctx, hdp_err *e)
{
    version_read *v = ctx;
    redisReply *rep = NULL;
    int rc = redis_command(r, &rep, e, "MGET %s %s", SPEED_VERSION_KEY, BATCH_WATERMARK_KEY);
    if (rc != HDP_OK)
        return rc;
    const char *a = "", *b = "";
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
        if (rep->element[0]->type == REDIS_REPLY_STRING)
            a = rep->element[0]->str;
        if (rep->element[1]->type == REDIS_REPLY_STRING)
            b = rep->element[1]->str;
    }
    snprintf(v->seen, sizeof(v->seen), "%.40s/%.40s", a, b);
    freeReplyObject(rep);
    return HDP_OK;
}

static void *poller(void *arg)
{
    hdp_server *s = arg;
    char last_seen[96] = "";
    char *last_body = NULL;
    size_t last_len = 0;
    int64_t last_day = -1, look_until = 0;
    unsigned long long opened_seen = 0; /* streams_opened when last rendered for them */
    while (!atomic_load(&s->stream_stop)) {
        struct timespec ts = {0, POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        http_server_stats st;
        http_server_stats_get(s->http, &st);
        if (st.streams_open == 0)
            continue;
        version_read v;
        hdp_err e;
        int64_t now = mono_us();
        int64_t day = floor_div(now_unix_us(), USEC_PER_DAY);
        int rc = serve_with_redis(s, op_versions, &v, &e);
        int opened = st.streams_opened != opened_seen;
        if (rc == HDP_OK && (strcmp(v.seen, last_seen) != 0 || day != last_day || opened)) {
            snprintf(last_seen, sizeof(last_seen), "%s", v.seen);
            last_day = day;
            look_until = now + (int64_t)(s->cache_ms + 2 * POLL_MS) * 1000;
        }
        /* Redis away: one error event per change of state, from the answer itself. */
        if (rc != HDP_OK && last_seen[0] != '\0') {
            last_seen[0] = '\0';
            look_until = now + 1;
        }
        if (now > look_until)
            continue;
        char *body = NULL;
        size_t len = 0;
        int status = 0;
        serve_today_revenue(s, &body, &len, &status);
        int changed = last_body == NULL || len != last_len || memcmp(body, last_body, len) != 0;
        if (changed || opened) {
            opened_seen = st.streams_opened;
            http_server_broadcast(s->http, STREAM_CHANNEL, status == 200 ? "summary" : "error",
                                  body, len);
            free(last_body);
            last_body = body;
            last_len = len;
        } else {
            free(body);
        }
    }
    free(last_body);
    return NULL;
}

int serve_stream_start(hdp_server *s, hdp_err *e)
{
    atomic_store(&s->stream_stop, 0);
    if (pthread_create(&s->stream_thread, NULL, poller, s) != 0)
        return hdp_fail(e, "cannot start the event stream's thread");
    s->stream_started = 1;
    return HDP_OK;
}

void serve_stream_stop(hdp_server *s)
{
    if (!s->stream_started)
        return;
    atomic_store(&s->stream_stop, 1);
    pthread_join(s->stream_thread, NULL);
    s->stream_started = 0;
}
