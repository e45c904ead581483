/* cmd.h — the shape of a subcommand. hdp.c holds the table; each cmd_*.c one command.
 *
 * A command gets its argv (argv[0] is the command name) and the loaded configuration, and
 * returns the process exit code: 0 ok, 1 runtime failure, 2 usage error. Commands are the
 * only layer that prints errors. */
#ifndef HDP_CMD_H
#define HDP_CMD_H

#include "cmd/opts.h"
#include "core/config.h"

#define EXIT_OK      0
#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

typedef struct hdp_command {
    const char *name;
    int (*run)(int argc, char **argv, hdp_config *cfg);
    const char *summary;
    const char *usage;   /* text for `hdp NAME --help` (options too, unless in opts) */
    const cmd_opt *opts; /* the command's option table, printed after usage (or NULL) */
} hdp_command;

extern const cmd_opt cmd_run_opts[];
extern const cmd_opt cmd_scheduler_opts[];
extern const cmd_opt cmd_rebuild_opts[];
extern const cmd_opt cmd_init_opts[];
extern const cmd_opt cmd_up_opts[];
extern const cmd_opt cmd_generate_opts[];
extern const cmd_opt cmd_status_opts[];
extern const cmd_opt cmd_reconcile_opts[];
extern const cmd_opt cmd_config_opts[];

/* Set by SIGINT/SIGTERM; long-running commands poll it and stop cleanly. */
extern volatile int hdp_stop_requested;
void cmd_install_stop_handlers(void);

/* Prints "hdp NAME: message" on stderr; returns code, for `return cmd_error(...)`. */
int cmd_error(int code, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when argv holds -h or --help; prints the command's usage then. */
int cmd_wants_help(int argc, char **argv, const hdp_command *self);

int cmd_init(int argc, char **argv, hdp_config *cfg);
int cmd_up(int argc, char **argv, hdp_config *cfg);
int cmd_generate(int argc, char **argv, hdp_config *cfg);
int cmd_speed(int argc, char **argv, hdp_config *cfg);
int cmd_capture(int argc, char **argv, hdp_config *cfg);
int cmd_run(int argc, char **argv, hdp_config *cfg);
int cmd_scheduler(int argc, char **argv, hdp_config *cfg);
int cmd_rebuild(int argc, char **argv, hdp_config *cfg);
int cmd_serve(int argc, char **argv, hdp_config *cfg);
int cmd_status(int argc, char **argv, hdp_config *cfg);
int cmd_reconcile(int argc, char **argv, hdp_config *cfg);
int cmd_config(int argc, char **argv, hdp_config *cfg);

extern const hdp_command hdp_commands[];
const hdp_command *cmd_find(const char *name);

#endif
