/* cmd_up.c — `hdp up`: the local stack for development and the demo.
 *
 * Order of things: private PostgreSQL (reused when already running from VAR/pg), Redis and
 * (unless HDP_CLICKHOUSE_URL is empty) ClickHouse, `hdp init` once, then `hdp speed`, `hdp
 * capture`, `hdp scheduler` (the batch DAG every HDP_BATCH_INTERVAL, alerts to Telegram when
 * configured), `hdp serve` and optionally `hdp generate`, each restarted with backoff when it
 * exits. SIGINT/SIGTERM stops the children,
 * then Redis and ClickHouse, then PostgreSQL, and exits 0. The pieces live in src/orchestrate/. */
#include "cmd/cmd.h"
#include "io/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "orchestrate/localch.h"
#include "orchestrate/localpg.h"
#include "orchestrate/localredis.h"
#include "orchestrate/netprobe.h"
#include "orchestrate/proc.h"
#include "orchestrate/supervise.h"

#define STOP_GRACE_MS  10000
#define REDIS_READY_MS 30000
#define CH_READY_MS    60000
#define LOOP_PERIOD_MS 200

typedef struct up_opts {
    const char *rate; /* NULL: no generator */
    int no_services;
    int no_init;
} up_opts;

typedef struct up_stack {
    char var[PATH_MAX];
    char log_dir[PATH_MAX + 8];
    char self[PATH_MAX];
    localpg pg;
    localredis redis;
    localch ch;
    int ch_on;       /* a private ClickHouse is part of this stack */
    sup_table infra; /* redis-server, clickhouse-server */
    sup_table apps;  /* speed, serve, generate */
    int pg_ours;     /* PostgreSQL in VAR/pg is running and is ours to stop */
} up_stack;

/* ---------------------------------------------------------------- options */

const cmd_opt cmd_up_opts[] = {
    {"--generate-rate", OPT_STR, "R", 0, 0, OPT_AT(up_opts, rate), "also place R orders a second"},
    {"--no-services", OPT_FLAG, NULL, 0, 0, OPT_AT(up_opts, no_services),
     "do not start PostgreSQL, Redis and ClickHouse (use the configured ones)"},
    {"--no-init", OPT_FLAG, NULL, 0, 0, OPT_AT(up_opts, no_init), "do not run `hdp init` first"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static int parse_opts(int argc, char **argv, up_opts *o)
{
    memset(o, 0, sizeof(*o));
    int npos = 0;
    int code = opts_parse("up", cmd_up_opts, argc, argv, o, NULL, 0, &npos);
    if (code != EXIT_OK)
        return code;
    if (o->rate) {
        char *end = NULL;
        double r = strtod(o->rate, &end);
        if (end == o->rate || *end != '\0' || !(r > 0) || r > 1e6)
            return cmd_error(EXIT_USAGE, "up", "--generate-rate needs a positive number");
    }
    return EXIT_OK;
}

/* ---------------------------------------------------------------- directories */

/* Creates VAR and its subfolders; s->var becomes VAR's absolute path. */
static int make_var(up_stack *s, const char *var_dir, hdp_err *e)
{
    if (fs_mkdirs(var_dir, e) != HDP_OK)
        return HDP_ERR;
    if (realpath(var_dir, s->var) == NULL)
        return hdp_fail(e, "%s: %s", var_dir, strerror(errno));
    static const char *subs[] = {"log", "redis", "lake"};
    for (int i = 0; i < 3; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof(p), "%s/%s", s->var, subs[i]);
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return hdp_fail(e, "mkdir %s: %s", p, strerror(errno));
    }
    snprintf(s->log_dir, sizeof(s->log_dir), "%s/log", s->var);
    return HDP_OK;
}

static void log_file(const up_stack *s, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.log", s->log_dir, name);
}

/* ---------------------------------------------------------------- services */

/* Before anything starts: the ports we will listen on must be free (or ours). */
static int check_ports(up_stack *s, const up_opts *o, const hdp_config *cfg, hdp_err *e)
{
    if (!o->no_services) {
        int port = 0;
        if (localpg_running(&s->pg, &port)) {
            if (port != s->pg.port)
                return hdp_fail(e,
                                "the PostgreSQL in %s runs on port %d but HDP_SOURCE_DSN says "
                                "%d; stop it with: %s/pg_ctl -D %s stop",
                                s->pg.datadir, port, s->pg.port, s->pg.bindir, s->pg.datadir);
            s->pg_ours = 1;
        } else if (netprobe_in_use(s->pg.host, s->pg.port)) {
            return hdp_fail(e,
                            "port %s:%d (HDP_SOURCE_DSN) is already in use by another process; "
                            "choose another port",
                            s->pg.host, s->pg.port);
        }
        if (netprobe_in_use(s->redis.host, s->redis.port))
            return hdp_fail(e,
                            "port %s:%d (HDP_REDIS_URL) is already in use by another process; "
                            "choose another port",
                            s->redis.host, s->redis.port);
    }
    if (s->ch_on) {
        if (netprobe_in_use(s->ch.addr.host, s->ch.addr.port))
            return hdp_fail(e,
                            "port %s:%d (HDP_CLICKHOUSE_URL) is already in use by another "
                            "process; choose another port",
                            s->ch.addr.host, s->ch.addr.port);
        if (s->ch.tcp_port && netprobe_in_use(s->ch.addr.host, s->ch.tcp_port)) {
            log_warn("port %d is in use: ClickHouse runs without its native TCP port",
                     s->ch.tcp_port);
            s->ch.tcp_port = 0;
        }
    }
    if (netprobe_in_use(cfg->http_host, cfg->http_port))
        return hdp_fail(e,
                        "port %s:%d (HDP_HTTP_ADDR) is already in use by another process; "
                        "choose another port",
                        cfg->http_host, cfg->http_port);
    return HDP_OK;
}

static int start_postgres(up_stack *s, hdp_err *e)
{
    if (s->pg_ours) {
        log_info("reusing the PostgreSQL already running from %s on port %d", s->pg.datadir,
                 s->pg.port);
        return HDP_OK;
    }
    if (!localpg_has_cluster(&s->pg)) {
        log_info("initdb: creating a PostgreSQL cluster in %s (superuser %s)", s->pg.datadir,
                 s->pg.user);
        if (localpg_initdb(&s->pg, &hdp_stop_requested, e) != HDP_OK)
            return HDP_ERR;
    } else {
        log_info("using the existing PostgreSQL cluster in %s", s->pg.datadir);
    }
    log_info("starting PostgreSQL on %s:%d (log %s)", s->pg.host, s->pg.port, s->pg.log_path);
    s->pg_ours = 1; /* from here on, stopping is our job even if start fails half-way */
    return localpg_start(&s->pg, &hdp_stop_requested, e);
}

static int start_redis(up_stack *s, hdp_err *e)
{
    log_info("starting Redis on %s:%d (log %s)", s->redis.host, s->redis.port, s->redis.log_path);
    if (sup_add(&s->infra, "redis-server", s->redis.argv, s->redis.log_path, e) != HDP_OK ||
        sup_start_all(&s->infra, e) != HDP_OK)
        return HDP_ERR;
    return localredis_wait_ready(&s->redis, s->infra.child[0].pid, &hdp_stop_requested,
                                 REDIS_READY_MS, e);
}

static int start_clickhouse(up_stack *s, hdp_err *e)
{
    if (localch_write_config(&s->ch, e) != HDP_OK)
        return HDP_ERR;
    log_info("starting ClickHouse on %s:%d (log %s)", s->ch.addr.host, s->ch.addr.port,
             s->ch.log_path);
    if (sup_add(&s->infra, "clickhouse-server", s->ch.argv, s->ch.out_path, e) != HDP_OK ||
        sup_start_all(&s->infra, e) != HDP_OK)
        return HDP_ERR;
    return localch_wait_ready(&s->ch, s->infra.child[s->infra.n - 1].pid, &hdp_stop_requested,
                              CH_READY_MS, e);
}

/* Runs `hdp init` once; on failure e holds its last log line. */
static int run_init(up_stack *s, hdp_err *e)
{
    char path[PATH_MAX + 32];
    log_file(s, "init", path, sizeof(path));
    log_info("running hdp init (log %s)", path);
    char *argv[] = {s->self, "init", NULL};
    proc_opts o = {.log_path = path, .pdeathsig = SIGTERM};
    int st = -1;
    if (proc_run(argv, &o, &hdp_stop_requested, &st, e) == HDP_OK)
        return HDP_OK;
    if (hdp_stop_requested)
        return HDP_ERR;
    char how[128], last[256];
    proc_status_str(st, how, sizeof(how));
    proc_last_line(path, last, sizeof(last));
    return hdp_fail(e, "hdp init %s: %s (see %s)", how, last[0] ? last : "(no output)", path);
}

static int add_app(up_stack *s, const char *name, const char *const argv[], hdp_err *e)
{
    char path[PATH_MAX + 32];
    log_file(s, name, path, sizeof(path));
    return sup_add(&s->apps, name, argv, path, e);
}

static int start_apps(up_stack *s, const up_opts *o, hdp_err *e)
{
    const char *speed[] = {s->self, "speed", NULL};
    const char *capture[] = {s->self, "capture", NULL};
    const char *batch[] = {s->self, "scheduler", NULL};
    const char *serve[] = {s->self, "serve", NULL};
    const char *gen[] = {s->self, "generate", "--rate", o->rate, "--duration", "0", NULL};
    if (add_app(s, "speed", speed, e) != HDP_OK || add_app(s, "capture", capture, e) != HDP_OK ||
        add_app(s, "scheduler", batch, e) != HDP_OK || add_app(s, "serve", serve, e) != HDP_OK)
        return HDP_ERR;
    if (o->rate && add_app(s, "generate", gen, e) != HDP_OK)
        return HDP_ERR;
    return sup_start_all(&s->apps, e);
}

/* Stops, in order, what this `hdp up` runs: the hdp children, Redis, PostgreSQL. */
static void stop_stack(up_stack *s)
{
    if (s->apps.n > 0)
        log_info("stopping hdp children");
    sup_stop(&s->apps, STOP_GRACE_MS);
    if (s->infra.n > 0)
        log_info(s->infra.n > 1 ? "stopping Redis and ClickHouse" : "stopping Redis");
    sup_stop(&s->infra, STOP_GRACE_MS);
    if (s->pg_ours) {
        log_info("stopping PostgreSQL");
        hdp_err e;
        if (localpg_stop(&s->pg, &e) != HDP_OK)
            log_error("%s", e.msg);
    }
}

static void banner(const up_stack *s, const hdp_config *cfg)
{
    char ch[700] = "not configured (HDP_CLICKHOUSE_URL is empty)";
    if (cfg->clickhouse_url[0])
        ch_url_describe(&s->ch.addr, ch, sizeof(ch));
    printf("\nhdp is up.\n"
           "  portal:      http://%s/\n"
           "  API docs:    http://%s/docs\n"
           "  ClickHouse:  %s\n"
           "  batch:       hdp scheduler, every %ld s (W appears after the first run)\n"
           "  logs:        %s/\n"
           "  stop:        Ctrl-C (or kill -TERM %d)\n\n",
           cfg->http_addr, cfg->http_addr, ch, cfg->batch_interval, s->log_dir, (int)getpid());
    fflush(stdout);
}

/* Everything up to the running state. HDP_ERR with e set, or when a stop was requested. */
static int bring_up(up_stack *s, const up_opts *o, hdp_config *cfg, hdp_err *e)
{
    if (make_var(s, cfg->var_dir, e) != HDP_OK)
        return HDP_ERR;
    ssize_t n = readlink("/proc/self/exe", s->self, sizeof(s->self) - 1);
    if (n <= 0)
        return hdp_fail(e, "readlink /proc/self/exe: %s", strerror(errno));
    s->self[n] = '\0';
    if (!o->no_services) {
        if (localpg_setup(&s->pg, s->var, cfg->source_dsn, e) != HDP_OK ||
            localpg_prepare(&s->pg, e) != HDP_OK ||
            localredis_setup(&s->redis, s->var, &cfg->redis, e) != HDP_OK)
            return HDP_ERR;
        s->ch_on = cfg->clickhouse_url[0] != '\0';
        if (s->ch_on && localch_setup(&s->ch, s->var, cfg->clickhouse_url, e) != HDP_OK)
            return HDP_ERR;
    } else if (cfg->clickhouse_url[0]) {
        char why[128];
        if (ch_url_parse(cfg->clickhouse_url, &s->ch.addr, why, sizeof(why)) != 0)
            return hdp_fail(e, "HDP_CLICKHOUSE_URL: %s", why);
    }
    if (check_ports(s, o, cfg, e) != HDP_OK)
        return HDP_ERR;
    if (!o->no_services && (start_postgres(s, e) != HDP_OK || start_redis(s, e) != HDP_OK))
        return HDP_ERR;
    if (s->ch_on && start_clickhouse(s, e) != HDP_OK)
        return HDP_ERR;
    if (!o->no_init && run_init(s, e) != HDP_OK)
        return HDP_ERR;
    if (hdp_stop_requested)
        return HDP_ERR;
    return start_apps(s, o, e);
}

int cmd_up(int argc, char **argv, hdp_config *cfg)
{
    up_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != EXIT_OK)
        return rc;
    cmd_install_stop_handlers();
    up_stack *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return cmd_error(EXIT_RUNTIME, "up", "out of memory");
    sup_init(&s->infra);
    sup_init(&s->apps);
    hdp_err e;
    if (bring_up(s, &o, cfg, &e) != HDP_OK) {
        int stopped = hdp_stop_requested;
        stop_stack(s);
        rc = stopped ? EXIT_OK : cmd_error(EXIT_RUNTIME, "up", "%s", e.msg);
    } else {
        banner(s, cfg);
        while (!hdp_stop_requested) {
            long long now = proc_now_ms();
            sup_poll(&s->apps, now);
            sup_poll(&s->infra, now);
            proc_sleep_ms(LOOP_PERIOD_MS);
        }
        log_info("stop requested");
        stop_stack(s);
        log_info("stopped");
        rc = EXIT_OK;
    }
    sup_free(&s->apps);
    sup_free(&s->infra);
    free(s);
    return rc;
}
