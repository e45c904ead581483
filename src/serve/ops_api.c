/* ops_api.c — the endpoints about the platform itself rather than the shop's numbers:
 * /health (can this server answer, and from what), /metrics (Prometheus), and the pipeline's
 * runs and status for the portal and for operators. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/speed_model.h"
#include "core/timeutil.h"
#include "orchestrate/stages.h"
#include "serve/ops_read.h"
#include "serve/render.h"
#include "serve/server_int.h"

/* ---------------------------------------------------------------- the speed layer's state */

typedef struct speed_probe {
    int fault;             /* hdp:speed:fault is set */
    int state;             /* hdp:speed:state exists */
    long long quarantined; /* hdp:speed:quarantined */
    long long commit_us;   /* speed:state's commit, 0 when unknown */
    char fault_reason[256];
} speed_probe;

/* PING-equivalent read of what /health and the status need: one pipelined round trip. */
static int op_speed_probe(hdp_redis *r, void *ctx, hdp_err *e)
{
    speed_probe *p = ctx;
    memset(p, 0, sizeof(*p));
    int rc = redis_append(r, e, "GET %s", SPEED_FAULT_KEY);
    if (rc == HDP_OK)
        rc = redis_append(r, e, "HGET %s commit", SPEED_STATE_KEY);
    if (rc == HDP_OK)
        rc = redis_append(r, e, "EXISTS %s", SPEED_STATE_KEY);
    if (rc == HDP_OK)
        rc = redis_append(r, e, "GET %s", SPEED_QUARN_KEY);
    redisReply *rep[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < 4 && rc == HDP_OK; i++)
        rc = redis_get_reply(r, &rep[i], e);
    if (rc == HDP_OK) {
        if (rep[0]->type == REDIS_REPLY_STRING) {
            p->fault = 1;
            /* {"reason":...,"at":...}: the reason is shown as the JSON text it is */
            snprintf(p->fault_reason, sizeof(p->fault_reason), "%.*s", (int)rep[0]->len,
                     rep[0]->str);
        }
        if (rep[1]->type == REDIS_REPLY_STRING)
            (void)redis_reply_i64(rep[1], &p->commit_us);
        p->state = rep[2]->type == REDIS_REPLY_INTEGER && rep[2]->integer != 0;
        if (rep[3]->type != REDIS_REPLY_STRING || redis_reply_i64(rep[3], &p->quarantined) != 0)
            p->quarantined = 0;
    } else if (redis_connected(r)) {
        redis_discard(r);
    }
    for (int i = 0; i < 4; i++)
        freeReplyObject(rep[i]);
    return rc;
}

static const char *speed_word(const speed_probe *p)
{
    return p->fault ? "fault" : !p->state ? "missing" : "ok";
}

/* "ok", "down" or "off" (none configured). */
static const char *clickhouse_word(hdp_server *s)
{
    hdp_err e;
    if (s->batch == NULL)
        return "off";
    return batch_source_ping(s->batch, &e) == HDP_OK ? "ok" : "down";
}

/* ---------------------------------------------------------------- /health */

/* 200 "ok" when every part answers; 200 "degraded" when ClickHouse is away (answers come from
 * the speed layer alone while it can); 503 when Redis is away or the speed layer stopped on a
 * fault or lost its state: then no answer could be trusted to be whole. */
void serve_do_health(hdp_server *s, http_response *res)
{
    hdp_err e;
    speed_probe p;
    int rc = serve_with_redis(s, op_speed_probe, &p, &e);
    const char *ch = clickhouse_word(s);
    int status = 200;
    const char *word = "ok";
    if (rc != HDP_OK) {
        atomic_fetch_add(&s->metrics.redis_errors, 1);
        status = 503, word = "unavailable";
    } else if (p.fault || !p.state) {
        status = 503, word = "unavailable";
    } else if (strcmp(ch, "down") == 0) {
        word = "degraded";
    }
    http_respond_status(res, status, JSON);
    hdp_buf *b = http_response_body(res);
    buf_printf(b, "{\"status\":\"%s\",\"redis\":\"%s\",\"clickhouse\":\"%s\"", word,
               rc == HDP_OK ? "ok" : "down", ch);
    if (rc == HDP_OK)
        buf_printf(b, ",\"speed\":\"%s\"", speed_word(&p));
    if (rc != HDP_OK || p.fault || !p.state) {
        const char *msg = rc != HDP_OK ? e.msg
                          : p.fault    ? "the speed layer stopped on a fault (see hdp status; "
                                         "hdp rebuild speed repairs it)"
                                       : "the speed layer's state is missing from Redis (data "
                                         "lost? see hdp status)";
        buf_puts(b, ",\"error\":{\"code\":\"unavailable\",\"message\":");
        buf_put_json_str(b, msg, strlen(msg));
        buf_putc(b, '}');
    }
    buf_putc(b, '}');
    metrics_request(&s->metrics, EP_HEALTH, status);
}

/* ---------------------------------------------------------------- /metrics */

typedef struct metrics_read {
    hdp_buf *out;
} metrics_read;

static int run_ops_metrics(PGconn *c, void *ctx, hdp_err *e)
{
    metrics_read *m = ctx;
    const char *tasks[16];
    size_t n = 0;
    for (size_t i = 0; batch_dag[i] != NULL && n + 1 < sizeof(tasks) / sizeof(tasks[0]); i++)
        tasks[n++] = batch_dag[i]->name;
    tasks[n] = NULL;
    size_t mark = m->out->len;
    int rc = ops_metrics(c, tasks, m->out, e);
    if (rc != HDP_OK) /* a retry starts over */
        m->out->len = mark;
    return rc;
}

void serve_do_metrics(hdp_server *s, const http_request *req, http_response *res)
{
    hdp_err e;
    speed_probe p;
    int rc = serve_with_redis(s, op_speed_probe, &p, &e);
    if (rc != HDP_OK)
        atomic_fetch_add(&s->metrics.redis_errors, 1);
    metrics_request(&s->metrics, EP_METRICS, 200);
    http_server_stats st;
    http_server_stats_get(req->server, &st);
    const char *ch = clickhouse_word(s);
    http_respond_status(res, 200, "text/plain; version=0.0.4");
    hdp_buf *b = http_response_body(res);
    metrics_render(&s->metrics, b, rc == HDP_OK ? p.quarantined : -1, rc == HDP_OK);
    if (rc == HDP_OK)
        buf_printf(b,
                   "# HELP hdp_speed_fault 1 when the speed layer stopped on a fault or lost "
                   "its state.\n# TYPE hdp_speed_fault gauge\nhdp_speed_fault %d\n",
                   p.fault || !p.state);
    if (strcmp(ch, "off") != 0)
        buf_printf(b,
                   "# HELP hdp_serve_clickhouse_up 1 when ClickHouse answered the last probe.\n"
                   "# TYPE hdp_serve_clickhouse_up gauge\nhdp_serve_clickhouse_up %d\n",
                   strcmp(ch, "ok") == 0);
    metrics_read m = {b};
    int dwh_rc = dwh_run(s->dwh, run_ops_metrics, &m, &e);
    if (dwh_rc != HDP_OK) {
        atomic_fetch_add(&s->metrics.dwh_errors, 1);
        serve_log_failure(s, EP_METRICS, "ops", e.msg);
    }
    buf_printf(b,
               "# HELP hdp_serve_dwh_up 1 when dwh answered the last metrics read.\n"
               "# TYPE hdp_serve_dwh_up gauge\nhdp_serve_dwh_up %d\n",
               dwh_rc == HDP_OK);
    metrics_render_http(&st, b);
}

/* ---------------------------------------------------------------- /api/v1/pipeline/runs */

typedef struct runs_read {
    int limit;
    hdp_buf *body;
    int64_t request_id;
} runs_read;

static int run_runs(PGconn *c, void *ctx, hdp_err *e)
{
    runs_read *r = ctx;
    buf_reset(r->body);
    return ops_runs_json(c, r->limit, r->body, e);
}

static int run_request(PGconn *c, void *ctx, hdp_err *e)
{
    runs_read *r = ctx;
    return ops_request_run(c, "api", &r->request_id, e);
}

/* limit=N (1..OPS_RUNS_MAX); anything else is a 400 message in e. */
static int parse_limit(const http_request *req, int *limit, hdp_err *e)
{
    *limit = OPS_RUNS_DEFAULT;
    if (req->query_error != NULL)
        return hdp_fail(e, "%s", req->query_error);
    for (size_t i = 0; i < req->nparams; i++) {
        const char *k = req->params[i].key, *v = req->params[i].val;
        if (strcmp(k, "limit") != 0 || i > 0)
            return hdp_fail(e, "this endpoint takes only 'limit' (once)");
        char *end = NULL;
        long n = v ? strtol(v, &end, 10) : 0;
        if (v == NULL || *v == '\0' || *end != '\0' || n < 1 || n > OPS_RUNS_MAX)
            return hdp_fail(e, "invalid limit: expected an integer in 1..%d", OPS_RUNS_MAX);
        *limit = (int)n;
    }
    return HDP_OK;
}

/* Answers a dwh failure: 503 when it is away, 500 otherwise. */
static void send_dwh_error(hdp_server *s, http_response *res, serve_endpoint ep, int rc,
                           const hdp_err *e)
{
    atomic_fetch_add(&s->metrics.dwh_errors, 1);
    serve_log_failure(s, ep, "ops", e->msg);
    if (rc == HDP_RETRY)
        serve_send_error(s, res, ep, 503, "unavailable", "dwh is unreachable");
    else
        serve_send_error(s, res, ep, 500, "internal", "reading the pipeline's runs failed");
}

void serve_do_runs(hdp_server *s, const http_request *req, http_response *res)
{
    hdp_err e;
    runs_read r = {.body = http_response_body(res)};
    if (strcmp(req->method, "POST") == 0) {
        /* A run costs the machine: only with a token configured, and only for its holder. */
        if (s->token == NULL) {
            serve_send_error(s, res, EP_RUNS, 403, "forbidden",
                             "triggering runs is disabled: no HDP_API_TOKEN is configured");
            return;
        }
        if (http_request_header(req, "Authorization") == NULL) {
            serve_send_error(s, res, EP_RUNS, 401, "unauthorized",
                             "missing 'Authorization: Bearer <token>'");
            return;
        }
        if (!serve_token_ok(s, req)) {
            serve_send_error(s, res, EP_RUNS, 403, "forbidden", "wrong token");
            return;
        }
        int rc = dwh_run(s->dwh, run_request, &r, &e);
        if (rc != HDP_OK) {
            send_dwh_error(s, res, EP_RUNS, rc, &e);
            return;
        }
        metrics_request(&s->metrics, EP_RUNS, 202);
        http_respond_status(res, 202, JSON);
        buf_printf(r.body, "{\"request_id\":%lld,\"status\":\"queued\"}", (long long)r.request_id);
        return;
    }
    if (parse_limit(req, &r.limit, &e) != HDP_OK) {
        serve_send_error(s, res, EP_RUNS, 400, "bad_request", e.msg);
        return;
    }
    int rc = dwh_run(s->dwh, run_runs, &r, &e);
    if (rc != HDP_OK) {
        buf_reset(r.body);
        send_dwh_error(s, res, EP_RUNS, rc, &e);
        return;
    }
    metrics_request(&s->metrics, EP_RUNS, 200);
    http_respond_status(res, 200, JSON);
}

/* ---------------------------------------------------------------- /api/v1/pipeline/status */

typedef struct status_read {
    long segment_seconds;
    hdp_buf *out;
    long long q_compact, q_vault;
} status_read;

static int run_status(PGconn *c, void *ctx, hdp_err *e)
{
    status_read *r = ctx;
    size_t mark = r->out->len;
    int rc = ops_status_json(c, r->segment_seconds, r->out, &r->q_compact, &r->q_vault, e);
    if (rc != HDP_OK)
        r->out->len = mark;
    return rc;
}

static int run_slots(PGconn *c, void *ctx, hdp_err *e)
{
    status_read *r = ctx;
    size_t mark = r->out->len;
    int rc = ops_slots_json(c, r->out, e);
    if (rc != HDP_OK)
        r->out->len = mark;
    return rc;
}

static void put_time_us(hdp_buf *b, long long us)
{
    char ts[32];
    ts_format(us, ts);
    buf_printf(b, "\"%s\"", ts);
}

/* Every part that answers, each down part as null: the portal shows what it can. */
void serve_do_pipeline(hdp_server *s, const http_request *req, http_response *res)
{
    if (req->nparams > 0 || req->query_error != NULL) {
        serve_send_error(s, res, EP_PIPELINE, 400, "bad_request",
                         "this endpoint takes no query parameters");
        return;
    }
    hdp_err e;
    speed_probe p;
    int redis_rc = serve_with_redis(s, op_speed_probe, &p, &e);
    const char *ch = clickhouse_word(s);
    hdp_buf dwh_part = HDP_BUF_INIT, slots = HDP_BUF_INIT;
    status_read sr = {s->segment_seconds, &dwh_part, 0, 0};
    int dwh_rc = dwh_run(s->dwh, run_status, &sr, &e);
    status_read sl = {s->segment_seconds, &slots, 0, 0};
    int shop_rc = dwh_run(s->shop, run_slots, &sl, &e);
    if (dwh_rc != HDP_OK && redis_rc != HDP_OK) {
        buf_free(&dwh_part);
        buf_free(&slots);
        serve_send_error(s, res, EP_PIPELINE, 503, "unavailable",
                         "neither dwh nor Redis is reachable");
        return;
    }
    http_respond_status(res, 200, JSON);
    hdp_buf *b = http_response_body(res);
    buf_printf(b, "{\"redis\":\"%s\",\"clickhouse\":\"%s\",\"dwh\":\"%s\",\"source\":\"%s\",",
               redis_rc == HDP_OK ? "ok" : "down", ch, dwh_rc == HDP_OK ? "ok" : "down",
               shop_rc == HDP_OK ? "ok" : "down");
    if (dwh_rc == HDP_OK)
        buf_append(b, dwh_part.data, dwh_part.len);
    else
        buf_puts(b, "\"watermark\":null,\"lake\":[]");
    buf_puts(b, ",\"quarantine\":{\"speed\":");
    if (redis_rc == HDP_OK)
        buf_printf(b, "%lld", p.quarantined);
    else
        buf_puts(b, "null");
    if (dwh_rc == HDP_OK)
        buf_printf(b, ",\"compact\":%lld,\"vault\":%lld}", sr.q_compact, sr.q_vault);
    else
        buf_puts(b, ",\"compact\":null,\"vault\":null}");
    buf_puts(b, ",\"speed\":");
    if (redis_rc == HDP_OK) {
        buf_printf(b, "{\"status\":\"%s\",\"fault\":", speed_word(&p));
        if (p.fault)
            buf_put_json_str(b, p.fault_reason, strlen(p.fault_reason));
        else
            buf_puts(b, "null");
        buf_puts(b, ",\"last_commit_at\":");
        if (p.commit_us > 0) {
            put_time_us(b, p.commit_us);
            long long age = now_unix_us() - p.commit_us;
            buf_printf(b, ",\"lag_seconds\":%.3f", (double)(age > 0 ? age : 0) / 1e6);
        } else {
            buf_puts(b, "null,\"lag_seconds\":null");
        }
        buf_putc(b, '}');
    } else {
        buf_puts(b, "null");
    }
    buf_puts(b, ",\"slots\":");
    if (shop_rc == HDP_OK)
        buf_append(b, slots.data, slots.len);
    else
        buf_puts(b, "[]");
    buf_putc(b, '}');
    buf_free(&dwh_part);
    buf_free(&slots);
    metrics_request(&s->metrics, EP_PIPELINE, 200);
}
