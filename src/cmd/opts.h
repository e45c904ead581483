/* opts.h — command-line options as one declarative table per command (name, type, range,
 * help), as the environment variables are (core/config.c): the table drives parsing, the
 * checks and the "Options:" part of `hdp COMMAND --help`. No command parses by hand.
 *
 *   static const cmd_opt run_opts[] = {
 *       {"--every", OPT_INT, "SECONDS", 1, 604800, OPT_AT(run_args, every),
 *        "repeat every SECONDS until SIGTERM/SIGINT"},
 *       {NULL}};
 *
 * Values go into the command's own struct at the given offset: OPT_FLAG an int (set to 1),
 * OPT_INT a long, OPT_STR a const char * (pointing into argv). Arguments that are not
 * options are positional; "--" ends the options. */
#ifndef HDP_CMD_OPTS_H
#define HDP_CMD_OPTS_H

#include <stddef.h>
#include <stdio.h>

typedef enum { OPT_FLAG, OPT_INT, OPT_STR } opt_type;

typedef struct cmd_opt {
    const char *name; /* "--every" */
    opt_type type;
    const char *arg; /* metavariable for the help ("SECONDS"); NULL for flags */
    long min, max;   /* OPT_INT range */
    size_t off;      /* offset of the value in the command's struct */
    const char *help;
} cmd_opt;

#define OPT_AT(type, field) offsetof(type, field)

/* Parses argv[1..argc) (argv[0] is the command's name) into out. Positional arguments go to
 * pos[0..max_pos), their count into *npos. On a usage error prints one line naming the
 * option ("hdp run: --every needs an integer in 1..604800") and returns 2; else 0. */
int opts_parse(const char *cmd, const cmd_opt *table, int argc, char **argv, void *out,
               const char **pos, int max_pos, int *npos);

/* Prints the table as the "Options:" block of --help. */
void opts_print_help(FILE *f, const cmd_opt *table);

#endif
