/* hdp status — per consumer its slot's confirmed LSN, the source's current LSN and the lag
 * in bytes; the health of each service (ClickHouse with an empty HDP_CLICKHOUSE_URL is "off",
 * not down); the speed layer's state (and its fault, when it stopped because Redis lost its
 * data); the batch layer's last runs and the lake's compaction progress (status_batch.c).
 * Exit 0 when all is well, 1 when a configured service is down or something needs attention
 * (a speed fault, a failed task, a stopped table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/status.h"
#include "core/buf.h"
#include "core/speed_model.h"
#include "io/clickhouse.h"
#include "io/pg.h"
#include "io/redis.h"
#include "cdc/cdc.h"

typedef struct consumer_info {
    const char *name;
    const char *slot;
} consumer_info;

static const consumer_info consumers[] = {
    {"speed", CDC_SLOT_SPEED}, {"capture", CDC_SLOT_LAKE}, {NULL, NULL}};

typedef struct svc {
    const char *name;
    int ok;
    char detail[512];
    int off;          /* not configured (ClickHouse only) */
    char version[64]; /* ClickHouse only; empty when unknown */
} svc;

static void check_pg(const char *dsn, svc *s, PGconn **keep)
{
    hdp_err e;
    PGconn *c = pg_connect(dsn, NULL, NULL, &e);
    s->ok = c != NULL;
    if (c == NULL) {
        snprintf(s->detail, sizeof(s->detail), "%s", e.msg);
        return;
    }
    snprintf(s->detail, sizeof(s->detail), "PostgreSQL %d at %s:%s/%s", PQserverVersion(c) / 10000,
             PQhost(c), PQport(c), PQdb(c));
    if (keep)
        *keep = c;
    else
        PQfinish(c);
}

/* Redis, the speed state and its fault. *fault is set when the speed layer stopped (or its
 * state is missing: Redis lost its data). */
static void check_redis(const hdp_config *cfg, svc *s, long long *quarantined, char *state,
                        size_t statelen, hdp_buf *fault_json, int *fault)
{
    hdp_redis *r = redis_new(&cfg->redis, 2000);
    hdp_err e;
    redisReply *rep;
    s->ok = redis_command(r, &rep, &e, "PING") == HDP_OK;
    if (!s->ok) {
        snprintf(s->detail, sizeof(s->detail), "%s", e.msg);
        redis_free(r);
        return;
    }
    freeReplyObject(rep);
    snprintf(s->detail, sizeof(s->detail), "Redis at %s:%d", cfg->redis.host, cfg->redis.port);
    if (redis_command(r, &rep, &e, "GET %s", SPEED_QUARN_KEY) == HDP_OK) {
        redis_reply_i64(rep, quarantined);
        freeReplyObject(rep);
    }
    if (redis_command(r, &rep, &e, "HMGET %s lsn segment closed", SPEED_STATE_KEY) == HDP_OK) {
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3) {
            const char *v[3];
            for (int i = 0; i < 3; i++)
                v[i] = rep->element[i]->type == REDIS_REPLY_STRING ? rep->element[i]->str : "null";
            char lsn[32] = "null", txt[24];
            if (strcmp(v[0], "null") != 0) {
                pg_lsn_format(strtoull(v[0], NULL, 10), txt);
                snprintf(lsn, sizeof(lsn), "\"%s\"", txt);
            }
            snprintf(state, statelen,
                     "{\"applied_lsn\": %s, \"segment\": %s, \"closed_through\": %s}", lsn, v[1],
                     v[2]);
            if (rep->element[0]->type != REDIS_REPLY_STRING) {
                *fault = 1;
                buf_puts(fault_json, "{\"reason\": \"hdp:speed:state is missing: Redis lost the "
                                     "speed layer's data (run `hdp rebuild speed`)\"}");
            }
        }
        freeReplyObject(rep);
    }
    if (!*fault && redis_command(r, &rep, &e, "GET %s", SPEED_FAULT_KEY) == HDP_OK) {
        if (rep->type == REDIS_REPLY_STRING) {
            *fault = 1;
            buf_append(fault_json, rep->str, rep->len);
        }
        freeReplyObject(rep);
    }
    redis_free(r);
}

/* Reachable, its version, and whether `hdp init` created the marts' database. */
static void check_clickhouse(const hdp_config *cfg, svc *s)
{
    if (cfg->clickhouse_url[0] == '\0') {
        s->ok = 1;
        s->off = 1;
        snprintf(s->detail, sizeof(s->detail),
                 "not configured (HDP_CLICKHOUSE_URL is empty): batch marts off");
        return;
    }
    hdp_err e;
    ch_limits lim = {.connect_timeout_ms = 2000, .timeout_ms = 5000, .max_tries = 1};
    ch_client *c = ch_open(cfg->clickhouse_url, &lim, &e);
    s->ok = c && ch_server_version(c, s->version, sizeof(s->version), &e) == HDP_OK;
    if (!s->ok) {
        snprintf(s->detail, sizeof(s->detail), "%s", e.msg);
        ch_close(c);
        return;
    }
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count() FROM system.databases WHERE name = '%s'",
             ch_database(c));
    ch_call server = {.database = ""};
    hdp_buf out = HDP_BUF_INIT;
    if (ch_query(c, sql, &server, &out, &e) != HDP_OK) {
        s->ok = 0;
        snprintf(s->detail, sizeof(s->detail), "%s", e.msg);
    } else if (atoi(out.data ? out.data : "0") == 0) {
        s->ok = 0;
        snprintf(s->detail, sizeof(s->detail),
                 "ClickHouse %s at %s: database %s does not exist (run hdp init)", s->version,
                 ch_describe(c), ch_database(c));
    } else {
        snprintf(s->detail, sizeof(s->detail), "ClickHouse %s at %s", s->version, ch_describe(c));
    }
    buf_free(&out);
    ch_close(c);
}

typedef struct status_args {
    int json;
} status_args;

const cmd_opt cmd_status_opts[] = {
    {"--json", OPT_FLAG, NULL, 0, 0, OPT_AT(status_args, json), "machine-readable output"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

int cmd_status(int argc, char **argv, hdp_config *cfg)
{
    status_args a = {0};
    int npos = 0;
    int code = opts_parse("status", cmd_status_opts, argc, argv, &a, NULL, 0, &npos);
    if (code != EXIT_OK)
        return code;
    int json = a.json;
    svc source = {.name = "source"}, dwh = {.name = "dwh"}, redis = {.name = "redis"};
    svc clickhouse = {.name = "clickhouse"};
    PGconn *src = NULL;
    long long quarantined = 0;
    char speed_state[256] = "null";
    check_pg(cfg->source_dsn, &source, &src);
    check_pg(cfg->dwh_dsn, &dwh, NULL);
    hdp_buf fault = HDP_BUF_INIT;
    int has_fault = 0, problems = 0;
    check_redis(cfg, &redis, &quarantined, speed_state, sizeof(speed_state), &fault, &has_fault);
    check_clickhouse(cfg, &clickhouse);
    hdp_buf bj = HDP_BUF_INIT, bt = HDP_BUF_INIT;
    status_batch(cfg, &bj, &bt, &problems);
    buf_puts(&bj, ", ");
    status_lake(cfg, &bj, &bt, &problems);

    hdp_buf out = HDP_BUF_INIT;
    buf_puts(&out, json ? "{\"consumers\": [" : "");
    if (!json)
        buf_printf(&out, "%-8s %-10s %-14s %-14s %12s %s\n", "consumer", "slot", "confirmed",
                   "current", "lag_bytes", "active");
    for (int i = 0; consumers[i].name; i++) {
        char confirmed[32] = "", current[32] = "", active[8] = "false";
        long long lag = -1;
        if (src) {
            const char *p[1] = {consumers[i].slot};
            hdp_err e;
            PGresult *r =
                pg_query(src,
                         "SELECT confirmed_flush_lsn, pg_current_wal_lsn(), "
                         "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, "
                         "active FROM pg_replication_slots WHERE slot_name = $1",
                         1, p, &e);
            if (r && PQntuples(r) == 1) {
                snprintf(confirmed, sizeof(confirmed), "%s", PQgetvalue(r, 0, 0));
                snprintf(current, sizeof(current), "%s", PQgetvalue(r, 0, 1));
                lag = atoll(PQgetvalue(r, 0, 2));
                snprintf(active, sizeof(active), "%s",
                         PQgetvalue(r, 0, 3)[0] == 't' ? "true" : "false");
            }
            PQclear(r);
        }
        if (json) {
            buf_printf(&out, "%s{\"name\": \"%s\", \"slot\": \"%s\", ", i ? ", " : "",
                       consumers[i].name, consumers[i].slot);
            if (confirmed[0])
                buf_printf(
                    &out,
                    "\"confirmed_lsn\": \"%s\", \"current_lsn\": \"%s\", \"lag_bytes\": %lld, "
                    "\"active\": %s}",
                    confirmed, current, lag, active);
            else
                buf_puts(&out, "\"confirmed_lsn\": null, \"current_lsn\": null, "
                               "\"lag_bytes\": null, \"active\": false}");
        } else {
            char num[24] = "-";
            if (lag >= 0)
                snprintf(num, sizeof(num), "%lld", lag);
            buf_printf(&out, "%-8s %-10s %-14s %-14s %12s %s\n", consumers[i].name,
                       consumers[i].slot, confirmed[0] ? confirmed : "-",
                       current[0] ? current : "-", num, active);
        }
    }
    svc *svcs[] = {&source, &dwh, &redis, &clickhouse};
    int nsvcs = (int)(sizeof(svcs) / sizeof(svcs[0]));
    if (json) {
        buf_puts(&out, "], \"services\": {");
        for (int i = 0; i < nsvcs; i++) {
            buf_printf(&out, "%s\"%s\": {\"ok\": %s, \"detail\": ", i ? ", " : "", svcs[i]->name,
                       svcs[i]->ok ? "true" : "false");
            buf_put_json_str(&out, svcs[i]->detail, strlen(svcs[i]->detail));
            if (svcs[i] == &clickhouse) {
                buf_printf(
                    &out, ", \"configured\": %s, \"version\": ", clickhouse.off ? "false" : "true");
                if (clickhouse.version[0])
                    buf_put_json_str(&out, clickhouse.version, strlen(clickhouse.version));
                else
                    buf_puts(&out, "null");
            }
            buf_putc(&out, '}');
        }
        buf_printf(&out,
                   "}, \"speed\": %s, \"speed_fault\": %s, \"quarantined\": {\"speed\": %lld}, ",
                   speed_state, has_fault ? fault.data : "null", quarantined);
        buf_append(&out, bj.data, bj.len);
        buf_puts(&out, "}\n");
    } else {
        buf_puts(&out, "\nservice    state  detail\n");
        for (int i = 0; i < nsvcs; i++)
            buf_printf(&out, "%-10s %-6s %s\n", svcs[i]->name,
                       svcs[i]->off  ? "off"
                       : svcs[i]->ok ? "ok"
                                     : "DOWN",
                       svcs[i]->detail);
        buf_printf(&out, "\nspeed state: %s; quarantined records: %lld\n", speed_state,
                   quarantined);
        if (has_fault)
            buf_printf(&out, "SPEED LAYER STOPPED: %s\n", fault.data);
        buf_append(&out, bt.data, bt.len);
    }
    fputs(out.data, stdout);
    buf_free(&out);
    buf_free(&bj);
    buf_free(&bt);
    buf_free(&fault);
    if (src)
        PQfinish(src);
    return source.ok && dwh.ok && redis.ok && clickhouse.ok && !has_fault && problems == 0
               ? EXIT_OK
               : EXIT_RUNTIME;
}
