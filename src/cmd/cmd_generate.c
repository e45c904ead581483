/* cmd_generate.c — `hdp generate`: options, connection, progress and summary lines. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
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

/* The options as parsed; -1 (NULL for rate) marks one not given. */
typedef struct gen_args {
    long orders, days, duration, seed, customers, products;
    const char *rate;
} gen_args;

const cmd_opt cmd_generate_opts[] = {
    {"--orders", OPT_INT, "N", 1, MAX_ORDERS, OPT_AT(gen_args, orders),
     "backfill N orders paid over the last --days"},
    {"--days", OPT_INT, "D", 1, MAX_DAYS, OPT_AT(gen_args, days),
     "days the backfill spreads over (default 30)"},
    {"--rate", OPT_STR, "R", 0, 0, OPT_AT(gen_args, rate),
     "place R orders a second (a positive number, up to 1000000)"},
    {"--duration", OPT_INT, "S", 0, 315360000, OPT_AT(gen_args, duration),
     "with --rate: for S seconds (0, the default: until stopped)"},
    {"--seed", OPT_INT, "S", 0, LONG_MAX, OPT_AT(gen_args, seed),
     "deterministic for a given seed (default 1)"},
    {"--customers", OPT_INT, "N", 1, MAX_DIMS, OPT_AT(gen_args, customers),
     "customers to create when fewer exist (default 5000)"},
    {"--products", OPT_INT, "N", 1, MAX_DIMS, OPT_AT(gen_args, products),
     "products to create when fewer exist (default 500)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* Fills o from argv (the table, then the rules between options). Returns the exit code:
 * EXIT_OK, or EXIT_USAGE after one line on stderr. */
static int parse_args(int argc, char **argv, gen_options *o, int *backfill)
{
    gen_args a = {-1, -1, -1, -1, -1, -1, NULL};
    int npos = 0;
    int code = opts_parse("generate", cmd_generate_opts, argc, argv, &a, NULL, 0, &npos);
    if (code != EXIT_OK)
        return code;
    memset(o, 0, sizeof(*o));
    o->seed = a.seed >= 0 ? (uint64_t)a.seed : 1;
    o->customers = a.customers > 0 ? a.customers : 5000;
    o->products = a.products > 0 ? a.products : 500;
    o->days = a.days > 0 ? a.days : 30;
    o->orders = a.orders > 0 ? a.orders : 0;
    o->duration = a.duration >= 0 ? a.duration : 0;
    const char *why = NULL;
    if (a.rate) {
        char *end;
        errno = 0;
        o->rate = strtod(a.rate, &end);
        if (errno != 0 || end == a.rate || *end != '\0' || !(o->rate > 0) || o->rate > MAX_RATE)
            why = "--rate needs a positive number up to 1000000";
    }
    if (why == NULL && a.orders > 0 && a.rate)
        why = "--orders (backfill) and --rate (live) exclude each other";
    if (why == NULL && a.orders < 0 && !a.rate)
        why = "give --orders N --days D (backfill) or --rate R (live)";
    if (why == NULL && a.orders > 0 && a.duration >= 0)
        why = "--duration goes with --rate, not --orders";
    if (why == NULL && a.rate && a.days > 0)
        why = "--days goes with --orders, not --rate";
    if (why)
        return cmd_error(EXIT_USAGE, "generate", "%s (see 'hdp generate --help')", why);
    *backfill = a.orders > 0;
    return EXIT_OK;
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
    gen_options opt;
    int backfill = 0;
    int code = parse_args(argc, argv, &opt, &backfill);
    if (code != EXIT_OK)
        return code;
    hdp_err e;
    cmd_install_stop_handlers();
    opt.stop = &hdp_stop_requested;
    opt.progress = on_progress;

    PGconn *c = pg_connect(cfg->source_dsn, NULL, NULL, &e);
    if (c == NULL)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    gen_stats st;
    int rc = gen_run(c, &opt, &st, &e);
    PQfinish(c);
    if (rc != HDP_OK)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    print_summary(&st);
    if (st.interrupted && backfill)
        return cmd_error(EXIT_RUNTIME, argv[0], "stopped after %" PRId64 " of %" PRId64 " orders",
                         st.orders, st.target);
    return EXIT_OK;
}
