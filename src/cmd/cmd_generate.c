/* cmd_generate.c — `hdp generate`: options, connection, progress and summary lines. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/timeutil.h"
#include "gen/generate.h"
#include "io/pg.h"

#define MAX_ORDERS INT64_C(10000000000)
#define MAX_DAYS   36500
#define MAX_RATE   1000000.0
#define MAX_DIMS   INT64_C(100000000)

typedef struct gen_args {
    gen_options opt;
    int have_orders, have_days, have_rate, have_duration;
} gen_args;

/* Parses a whole decimal integer in [lo, hi]; 0 or -1. */
static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Fills a from argv; on a usage error writes one line into e and returns HDP_ERR. */
static int parse_args(int argc, char **argv, gen_args *a, hdp_err *e)
{
    memset(a, 0, sizeof(*a));
    a->opt.seed = 1;
    a->opt.customers = 5000;
    a->opt.products = 500;
    a->opt.days = 30;
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strncmp(name, "--", 2) != 0)
            return hdp_fail(e, "unexpected argument '%s'", name);
        if (i + 1 >= argc)
            return hdp_fail(e, "%s needs a value", name);
        const char *v = argv[++i];
        int64_t n = 0;
        int bad = 0;
        if (strcmp(name, "--orders") == 0) {
            bad = parse_i64(v, 1, MAX_ORDERS, &a->opt.orders);
            a->have_orders = 1;
        } else if (strcmp(name, "--days") == 0) {
            bad = parse_i64(v, 1, MAX_DAYS, &a->opt.days);
            a->have_days = 1;
        } else if (strcmp(name, "--rate") == 0) {
            char *end;
            errno = 0;
            a->opt.rate = strtod(v, &end);
            bad = errno != 0 || end == v || *end != '\0' || !(a->opt.rate > 0) ||
                  a->opt.rate > MAX_RATE;
            a->have_rate = 1;
        } else if (strcmp(name, "--duration") == 0) {
            bad = parse_i64(v, 0, INT64_C(315360000), &a->opt.duration);
            a->have_duration = 1;
        } else if (strcmp(name, "--seed") == 0) {
            bad = parse_i64(v, 0, INT64_MAX, &n);
            a->opt.seed = (uint64_t)n;
        } else if (strcmp(name, "--customers") == 0) {
            bad = parse_i64(v, 1, MAX_DIMS, &a->opt.customers);
        } else if (strcmp(name, "--products") == 0) {
            bad = parse_i64(v, 1, MAX_DIMS, &a->opt.products);
        } else {
            return hdp_fail(e, "unknown option '%s'", name);
        }
        if (bad)
            return hdp_fail(e, "bad value '%s' for %s", v, name);
    }
    if (a->have_orders && a->have_rate)
        return hdp_fail(e, "--orders (backfill) and --rate (live) exclude each other");
    if (!a->have_orders && !a->have_rate)
        return hdp_fail(e, "give --orders N --days D (backfill) or --rate R (live)");
    if (a->have_orders && a->have_duration)
        return hdp_fail(e, "--duration goes with --rate, not --orders");
    if (a->have_rate && a->have_days)
        return hdp_fail(e, "--days goes with --orders, not --rate");
    return HDP_OK;
}

static void on_progress(const gen_stats *st, void *arg)
{
    (void)arg;
    double secs = (double)st->elapsed_us / (double)USEC_PER_SEC;
    double rate = secs > 0 ? (double)st->orders / secs : 0;
    if (st->target > 0)
        fprintf(stderr, "generate: %" PRId64 "/%" PRId64 " orders, %.0f/s\n", st->orders,
                st->target, rate);
    else
        fprintf(stderr, "generate: %" PRId64 " orders, %.0f/s\n", st->orders, rate);
}

static void print_summary(const gen_stats *st)
{
    double secs = (double)st->elapsed_us / (double)USEC_PER_SEC;
    printf("generate: %" PRId64 " orders, %" PRId64 " items, %" PRId64 " shipped, %" PRId64
           " delivered, %" PRId64 " refunded; %" PRId64 " customers and %" PRId64
           " products created, %" PRId64 " customers moved, %" PRId64
           " products changed; %.2f s, %.0f orders/s%s\n",
           st->orders, st->items, st->shipped, st->delivered, st->refunded, st->customers_created,
           st->products_created, st->customers_moved, st->products_changed, secs,
           secs > 0 ? (double)st->orders / secs : 0.0, st->interrupted ? " (stopped)" : "");
    fflush(stdout);
}

int cmd_generate(int argc, char **argv, hdp_config *cfg)
{
    gen_args a;
    hdp_err e;
    if (parse_args(argc, argv, &a, &e) != HDP_OK)
        return cmd_error(EXIT_USAGE, argv[0], "%s (see 'hdp generate --help')", e.msg);

    cmd_install_stop_handlers();
    a.opt.stop = &hdp_stop_requested;
    a.opt.progress = on_progress;

    PGconn *c = pg_connect(cfg->source_dsn, NULL, NULL, &e);
    if (c == NULL)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    gen_stats st;
    int rc = gen_run(c, &a.opt, &st, &e);
    PQfinish(c);
    if (rc != HDP_OK)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    print_summary(&st);
    if (st.interrupted && a.have_orders)
        return cmd_error(EXIT_RUNTIME, argv[0], "stopped after %" PRId64 " of %" PRId64 " orders",
                         st.orders, st.target);
    return EXIT_OK;
}
