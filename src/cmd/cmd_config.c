#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

typedef struct config_args {
    int markdown;
} config_args;

const cmd_opt cmd_config_opts[] = {
    {"--markdown", OPT_FLAG, NULL, 0, 0, OPT_AT(config_args, markdown),
     "the table of every variable, as in the README"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

int cmd_config(int argc, char **argv, hdp_config *cfg)
{
    config_args a = {0};
    int npos = 0;
    int code = opts_parse("config", cmd_config_opts, argc, argv, &a, NULL, 0, &npos);
    if (code != EXIT_OK)
        return code;
    if (a.markdown)
        config_print_markdown(stdout);
    else
        config_print(cfg, stdout);
    return EXIT_OK;
}
