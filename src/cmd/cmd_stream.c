/* cmd_stream.c — `hdp capture` and `hdp speed`: a stream stage through the driver until
 * SIGTERM/SIGINT. A transient failure (the source or the sink away) is retried with backoff;
 * a permanent one (wrong credentials, a missing slot or bucket, a Redis that lost its data)
 * ends the command with exit 1 and one line naming the cause. */
#include "cmd/cmd.h"

#include "orchestrate/driver.h"
#include "orchestrate/stages.h"

static int run_stream(int argc, char **argv, hdp_config *cfg)
{
    if (argc > 1)
        return cmd_error(EXIT_USAGE, argv[0], "unexpected argument '%s'", argv[1]);
    const hdp_stage *st = stage_find(argv[0]);
    cmd_install_stop_handlers();
    driver_opts o = {.first_ms = 250, .max_ms = 5000};
    hdp_err e;
    if (driver_run(st, cfg, NULL, &o, &hdp_stop_requested, NULL, NULL, &e) != HDP_OK)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    return EXIT_OK;
}

int cmd_capture(int argc, char **argv, hdp_config *cfg)
{
    return run_stream(argc, argv, cfg);
}

int cmd_speed(int argc, char **argv, hdp_config *cfg)
{
    return run_stream(argc, argv, cfg);
}
