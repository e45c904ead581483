/* cmd_rebuild.c — `hdp rebuild speed`: the speed layer recomputed from the lake
 * (speed/speed_rebuild.c), for when Redis lost the speed layer's data. */
#include "cmd/cmd.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "io/pg.h"
#include "speed/speed_rebuild.h"

typedef struct rebuild_args {
    long wait;
} rebuild_args;

const cmd_opt cmd_rebuild_opts[] = {
    {"--wait", OPT_INT, "SECONDS", 1, 86400, OPT_AT(rebuild_args, wait),
     "how long to wait for capture to close the segment holding the new slot's start "
     "(default 120)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

int cmd_rebuild(int argc, char **argv, hdp_config *cfg)
{
    rebuild_args a = {.wait = 120};
    const char *pos[1];
    int npos = 0;
    int code = opts_parse("rebuild", cmd_rebuild_opts, argc, argv, &a, pos, 1, &npos);
    if (code != EXIT_OK)
        return code;
    if (npos != 1 || strcmp(pos[0], "speed") != 0)
        return cmd_error(EXIT_USAGE, "rebuild",
                         "what to rebuild? `hdp rebuild speed` (the marts: `hdp run marts "
                         "--rebuild`)");
    cmd_install_stop_handlers();
    speed_rebuild_stats st;
    hdp_err e;
    if (speed_rebuild(cfg, a.wait, &st, &e) != HDP_OK)
        return cmd_error(EXIT_RUNTIME, "rebuild", "%s", e.msg);
    char lsn[24];
    pg_lsn_format(st.consistent_lsn, lsn);
    printf("rebuild speed: %" PRId64
           " transaction(s) replayed from the lake, segments from %" PRId64 " kept, %" PRId64
           " raw line(s) skipped (contract), slot %s restarts at LSN %s; start "
           "`hdp speed` again\n",
           st.transactions, st.floor_segment, st.skipped_lines, "hdp_speed", lsn);
    return EXIT_OK;
}
