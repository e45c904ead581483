/* cmd_run.c — `hdp run TASK|dag [--every SECONDS]`: one batch task, or every task in order.
 *
 * Tasks share one shape (a row of the table below): they take the configuration and the
 * options, return HDP_OK, HDP_RETRY or HDP_ERR with a message, and print their own one-line
 * summary. With --every, the command repeats until SIGTERM/SIGINT; a failed round is
 * reported and retried at the next tick instead of ending the loop. */
#include "cmd/cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/compact.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "vault/vault_load.h"

typedef struct run_opts {
    const char *task;
    long every; /* 0: once */
    compact_opts compact;
} run_opts;

typedef struct batch_task {
    const char *name;
    const char *description;
    int (*run)(const hdp_config *cfg, const run_opts *o, hdp_err *e);
} batch_task;

static int task_compact(const hdp_config *cfg, const run_opts *o, hdp_err *e)
{
    compact_stats st;
    int64_t t0 = mono_us();
    int rc = compact_run(cfg, &o->compact, &st, e);
    double secs = (double)(mono_us() - t0) / 1e6;
    double mbs = secs > 0 ? (double)st.bytes / 1e6 / secs : 0;
    printf("compact: %" PRId64 " segment(s), %" PRId64 " object(s), %" PRId64 " row(s), %" PRId64
           " file(s), %" PRId64 " quarantined, %" PRId64 " manifest(s), %.2f s, %.1f MB/s%s\n",
           st.segments, st.objects, st.rows, st.files, st.quarantined, st.manifests, secs, mbs,
           rc == HDP_OK ? "" : " (failed)");
    if (st.unknown_table || st.unknown_keys)
        printf("compact: %" PRId64 " object(s) of unknown tables skipped, %" PRId64
               " unknown field(s) ignored\n",
               st.unknown_table, st.unknown_keys);
    fflush(stdout);
    return rc;
}

static int task_vault(const hdp_config *cfg, const run_opts *o, hdp_err *e)
{
    (void)o;
    vault_stats st;
    int64_t t0 = mono_us();
    int rc = vault_run(cfg, &st, e);
    double secs = (double)(mono_us() - t0) / 1e6;
    if (rc == HDP_OK && st.load_id == 0)
        printf("vault: nothing new to load%s\n",
               st.waiting_files ? " (files wait for compaction of every table)" : "");
    else if (rc == HDP_OK)
        printf("vault: load %" PRId64 ": %" PRId64 " file(s), %" PRId64 " row(s) read, %" PRId64
               " vault row(s) inserted (hubs %" PRId64 ", links %" PRId64 ", satellites %" PRId64
               "), %" PRId64 " PIT row(s), %" PRId64 " quarantined, %.2f s, %.0f orders/s, %.0f "
               "rows/s\n",
               st.load_id, st.files, st.rows_read, vault_rows_inserted(&st),
               st.inserted[VS_HUB_CUSTOMER] + st.inserted[VS_HUB_PRODUCT] +
                   st.inserted[VS_HUB_ORDER],
               st.inserted[VS_LINK_ORDER_CUSTOMER] + st.inserted[VS_LINK_ORDER_PRODUCT],
               st.inserted[VS_SAT_CUSTOMER] + st.inserted[VS_SAT_PRODUCT] +
                   st.inserted[VS_SAT_ORDER] + st.inserted[VS_SAT_ORDER_LINE],
               st.pit_rows, st.quarantined, secs,
               secs > 0 ? (double)st.inserted[VS_HUB_ORDER] / secs : 0,
               secs > 0 ? (double)vault_rows_inserted(&st) / secs : 0);
    else
        printf("vault: failed after %.2f s\n", secs);
    fflush(stdout);
    return rc;
}

static const batch_task tasks[] = {
    {.name = "compact",
     .description = "raw JSON Lines of closed segments -> Parquet in curated/, by manifest",
     .run = task_compact},
    {.name = "vault",
     .description = "curated Parquet -> Data Vault 2.0 in dwh (hubs, links, satellites, PIT)",
     .run = task_vault},
};
#define NTASKS (sizeof(tasks) / sizeof(tasks[0]))

static int usage_tasks(const char *what)
{
    fprintf(stderr, "hdp run: unknown task '%s'; tasks:\n", what);
    for (size_t i = 0; i < NTASKS; i++)
        fprintf(stderr, "  %-10s %s\n", tasks[i].name, tasks[i].description);
    fprintf(stderr, "  %-10s every task above, in order\n", "dag");
    return EXIT_USAGE;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : 0;
    if (v == NULL || end == v || *end != '\0' || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

static int parse_opts(int argc, char **argv, run_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long n;
        if (strcmp(a, "--every") == 0) {
            if (parse_long(i + 1 < argc ? argv[++i] : NULL, 1, 86400 * 7, &o->every) != 0)
                return cmd_error(EXIT_USAGE, "run", "--every needs seconds (1..604800)");
        } else if (strcmp(a, "--row-group-rows") == 0) {
            if (parse_long(i + 1 < argc ? argv[++i] : NULL, 1, 64L << 20, &n) != 0)
                return cmd_error(EXIT_USAGE, "run", "--row-group-rows needs 1..67108864");
            o->compact.row_group_rows = (size_t)n;
        } else if (a[0] == '-') {
            return cmd_error(EXIT_USAGE, "run", "unknown option '%s' (see 'hdp run --help')", a);
        } else if (o->task == NULL) {
            o->task = a;
        } else {
            return cmd_error(EXIT_USAGE, "run", "unexpected argument '%s'", a);
        }
    }
    if (o->task == NULL)
        return usage_tasks("");
    return EXIT_OK;
}

/* One round: the task, or every task in order (stopping at the first failure). */
static int run_round(const hdp_config *cfg, const run_opts *o, size_t first, size_t last,
                     hdp_err *e)
{
    for (size_t i = first; i < last; i++) {
        int rc = tasks[i].run(cfg, o, e);
        if (rc != HDP_OK) {
            hdp_err_prefix(e, "%s: ", tasks[i].name);
            return rc;
        }
    }
    return HDP_OK;
}

int cmd_run(int argc, char **argv, hdp_config *cfg)
{
    run_opts o;
    int code = parse_opts(argc, argv, &o);
    if (code != EXIT_OK)
        return code;
    size_t first = 0, last = NTASKS;
    if (strcmp(o.task, "dag") != 0) {
        size_t i = 0;
        while (i < NTASKS && strcmp(tasks[i].name, o.task) != 0)
            i++;
        if (i == NTASKS)
            return usage_tasks(o.task);
        first = i;
        last = i + 1;
    }
    hdp_err e;
    if (o.every == 0) {
        if (run_round(cfg, &o, first, last, &e) != HDP_OK)
            return cmd_error(EXIT_RUNTIME, "run", "%s", e.msg);
        return EXIT_OK;
    }
    cmd_install_stop_handlers();
    while (!hdp_stop_requested) {
        if (run_round(cfg, &o, first, last, &e) != HDP_OK)
            log_error("%s (next try in %ld s)", e.msg, o.every);
        for (long ms = 0; ms < o.every * 1000 && !hdp_stop_requested; ms += 100)
            usleep(100 * 1000);
    }
    return EXIT_OK;
}
