/* hdp.c — the subcommand table and dispatch, nothing else. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/log.h"

const hdp_command hdp_commands[] = {
    {.name = "init",
     .run = cmd_init,
     .summary =
         "Create databases, schemas, publication, slots and ClickHouse's marts (idempotent).",
     .usage = "",
     .opts = cmd_init_opts},
    {.name = "up",
     .run = cmd_up,
     .summary = "Run the whole platform locally: private services, then every part, supervised.",
     .usage =
         "Starts a private PostgreSQL, Redis and ClickHouse under HDP_VAR_DIR, runs `hdp init`,\n"
         "then speed, capture, scheduler (the batch DAG every HDP_BATCH_INTERVAL s) and serve\n"
         "(the portal and API), and a live order stream with --generate-rate.\n"
         "Data and one log per process under HDP_VAR_DIR (pg/, redis/, clickhouse/, run/, log/,\n"
         "lake/). ClickHouse listens on the port of HDP_CLICKHOUSE_URL (native TCP: that port +\n"
         "877); with HDP_CLICKHOUSE_URL empty it is not started.\n"
         "Children exiting unexpectedly are restarted with backoff (1 s doubling to 30 s).\n"
         "Ctrl-C stops everything it started. After a kill -9 of `hdp up`, PostgreSQL (run by\n"
         "pg_ctl) keeps running; the next `hdp up` reuses it.\n",
     .opts = cmd_up_opts},
    {.name = "generate",
     .run = cmd_generate,
     .summary = "Write a realistic shop workload into the source database.",
     .usage =
         "Either a backfill (--orders N [--days D]) or a live stream (--rate R [--duration S]).\n"
         "Live orders are later shipped, delivered or refunded (~3 %); customers move and\n"
         "products change price, as a shop's data does.\n",
     .opts = cmd_generate_opts},
    {.name = "capture",
     .run = cmd_capture,
     .summary = "Stream changes from slot hdp_lake into the raw zone of the lake (JSON Lines).",
     .usage = "Runs until SIGTERM/SIGINT; one object per table and segment, published when the\n"
              "segment closes. A source or lake that is away is retried with backoff; wrong\n"
              "credentials, a missing slot or bucket exit 1 with one line.\n"},
    {.name = "speed",
     .run = cmd_speed,
     .summary = "Stream changes from slot hdp_speed into per-segment aggregates in Redis.",
     .usage =
         "Runs until SIGTERM/SIGINT. PostgreSQL or Redis away is retried with backoff; wrong\n"
         "credentials, a missing slot, or a Redis that lost the speed layer's data exit 1 with\n"
         "one line (then: `hdp rebuild speed`).\n"},
    {.name = "serve",
     .run = cmd_serve,
     .summary = "Serve the portal, the HTTP API and /metrics on HDP_HTTP_ADDR.",
     .usage = "Runs until SIGTERM/SIGINT.\n"},
    {.name = "scheduler",
     .run = cmd_scheduler,
     .summary = "Run the batch DAG every HDP_BATCH_INTERVAL seconds (with hot standby).",
     .usage = "Runs compact -> vault -> marts -> publish every HDP_BATCH_INTERVAL seconds, each\n"
              "task as `hdp run TASK`, and starts a run at once when POST /api/v1/pipeline/runs\n"
              "asks for one. Only one scheduler is active (a PostgreSQL advisory lock in dwh);\n"
              "others wait as hot standbys and take over when it stops. Every run and task is\n"
              "recorded in dwh.ops.run/task_run; with TELEGRAM_TOKEN and TELEGRAM_CHAT_ID set, a\n"
              "summary of each run that moved data and an alert for each failed one go to\n"
              "Telegram (queued in dwh.ops.notification; Telegram being down delays messages,\n"
              "never runs). SIGTERM stops the running task cleanly.\n",
     .opts = cmd_scheduler_opts},
    {.name = "run",
     .run = cmd_run,
     .summary = "Run one batch task or the whole batch DAG once (or --every S seconds).",
     .usage =
         "Arguments: TASK|batch [OPTIONS]\n"
         "Tasks:\n  compact   raw JSON Lines of closed segments -> Parquet in curated/, published\n"
         "            through curated/_manifests/<table>/v<N>.json; bad lines -> quarantine/\n"
         "  vault     curated files not yet loaded -> Data Vault 2.0 in dwh (one transaction:\n"
         "            hubs, links, satellites, PIT; contract violations -> ops.quarantine)\n"
         "  marts     vault versions of completed segments -> ClickHouse facts (fact_order,\n"
         "            fact_order_line), partition by partition (--rebuild: all of them)\n"
         "  publish   batch watermark W = what compact, vault and marts all completed ->\n"
         "            dwh.ops.watermark and Redis; old speed buckets dropped\n"
         "  batch     every task above, in order, stopping at the first failure (also: dag)\n"
         "  notify    the alerts' outbox -> Telegram (hdp scheduler does this by itself)\n"
         "  gc        manifests beyond the newest HDP_GC_KEEP_MANIFESTS and curated files no\n"
         "            retained manifest lists, older than HDP_GC_RETENTION, removed\n"
         "Prints one summary line per task; every run and task goes to dwh.ops.run/task_run.\n"
         "Transient failures are retried (--attempts) with backoff; exit 2 on an unknown task,\n"
         "1 on a failure.\n",
     .opts = cmd_run_opts},
    {.name = "rebuild",
     .run = cmd_rebuild,
     .summary = "Recompute the speed layer from the lake after Redis lost its data.",
     .usage = "Arguments: speed [OPTIONS]\n"
              "Stop `hdp speed` first. Creates slot hdp_speed anew, waits for `hdp capture` to\n"
              "close the segment holding its start, replays every transaction before it from the\n"
              "raw zone through the speed layer's own logic, and replaces Redis's speed keys in\n"
              "one transaction (segments above the batch watermark and all of today and\n"
              "yesterday). Then start `hdp speed` again. (The marts: `hdp run marts --rebuild`.)\n",
     .opts = cmd_rebuild_opts},
    {.name = "status",
     .run = cmd_status,
     .summary = "Show consumers' replication lag and the health of each service.",
     .usage = "Exit 1 when something needs attention (a service down, a failed task, a blocked\n"
              "lake table, the speed layer stopped).\n",
     .opts = cmd_status_opts},
    {.name = "reconcile",
     .run = cmd_reconcile,
     .summary =
         "Compare every answer the API serves with ground truth computed by SQL on the source.",
     .usage = "Every day, city, category and hour the API serves against SQL on the source, and\n"
              "the ClickHouse facts against the vault, segment by segment. Exits 1 on any\n"
              "mismatch.\n",
     .opts = cmd_reconcile_opts},
    {.name = "config",
     .run = cmd_config,
     .summary = "Print the effective configuration (secrets masked).",
     .usage = "",
     .opts = cmd_config_opts},
    {.name = NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: hdp COMMAND [OPTIONS]\n\n"
                 "hdp — a hybrid (Lambda) data platform for a shop's orders.\n\nCommands:\n");
    for (const hdp_command *c = hdp_commands; c->name; c++) {
        const char *nl = strchr(c->summary, '\n');
        int n = nl ? (int)(nl - c->summary) : (int)strlen(c->summary);
        fprintf(out, "  %-10s %.*s\n", c->name, n, c->summary);
    }
    fprintf(out, "\nRun 'hdp COMMAND --help' for a command's options.\n"
                 "\nConfiguration (environment, then ./.env, then defaults):\n");
    config_print_help(out);
    fprintf(out, "\nExit codes: 0 ok, 1 runtime failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    const hdp_command *c = cmd_find(argv[1]);
    if (c == NULL) {
        fprintf(stderr, "hdp: unknown command '%s' (see 'hdp --help')\n", argv[1]);
        return EXIT_USAGE;
    }
    if (cmd_wants_help(argc - 1, argv + 1, c))
        return EXIT_OK;
    log_set_component(c->name);
    hdp_config cfg;
    hdp_err err;
    if (config_load(&cfg, &err) != HDP_OK) {
        fprintf(stderr, "hdp %s: configuration: %s\n", c->name, err.msg);
        config_free(&cfg);
        return EXIT_USAGE;
    }
    int rc = c->run(argc - 1, argv + 1, &cfg);
    config_free(&cfg);
    return rc;
}
