#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

int cmd_config(int argc, char **argv, hdp_config *cfg)
{
    if (argc == 2 && strcmp(argv[1], "--markdown") == 0) {
        config_print_markdown(stdout);
        return EXIT_OK;
    }
    if (argc != 1)
        return cmd_error(EXIT_USAGE, argv[0], "unexpected argument '%s'", argv[1]);
    config_print(cfg, stdout);
    return EXIT_OK;
}
