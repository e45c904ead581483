#include "capture/capture.h"
#include "cmd/cmd.h"

int cmd_capture(int argc, char **argv, hdp_config *cfg)
{
    if (argc > 1)
        return cmd_error(EXIT_USAGE, argv[0], "unexpected argument '%s'", argv[1]);
    cmd_install_stop_handlers();
    hdp_err e;
    if (capture_run(cfg, &hdp_stop_requested, &e) != HDP_OK)
        return cmd_error(EXIT_RUNTIME, argv[0], "%s", e.msg);
    return EXIT_OK;
}
