#include "cmd/cmd.h"

int cmd_reconcile(int argc, char **argv, hdp_config *cfg)
{
    return cmd_not_built(argc, argv, cfg);
}
