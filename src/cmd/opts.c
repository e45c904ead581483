#include "cmd/opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const cmd_opt *find(const cmd_opt *t, const char *name, size_t n)
{
    for (; t && t->name; t++)
        if (strlen(t->name) == n && strncmp(t->name, name, n) == 0)
            return t;
    return NULL;
}

/* Prints "hdp CMD: <what>" (what already formatted) and returns the usage exit code. */
static int usage(const char *cmd, const char *what)
{
    fprintf(stderr, "hdp %s: %s (see 'hdp %s --help')\n", cmd, what, cmd);
    return 2;
}

int opts_parse(const char *cmd, const cmd_opt *table, int argc, char **argv, void *out,
               const char **pos, int max_pos, int *npos)
{
    *npos = 0;
    int only_pos = 0;
    char msg[320];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos == max_pos) {
                snprintf(msg, sizeof(msg), "unexpected argument '%.200s'", a);
                return usage(cmd, msg);
            }
            pos[(*npos)++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        const cmd_opt *o = find(table, a, n);
        if (o == NULL) {
            snprintf(msg, sizeof(msg), "unknown option '%.200s'", a);
            return usage(cmd, msg);
        }
        char *slot = (char *)out + o->off;
        if (o->type == OPT_FLAG) {
            if (eq) {
                snprintf(msg, sizeof(msg), "%s takes no value", o->name);
                return usage(cmd, msg);
            }
            *(int *)slot = 1;
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (v == NULL && o->type == OPT_STR) {
            snprintf(msg, sizeof(msg), "%s needs a value", o->name);
            return usage(cmd, msg);
        }
        if (o->type == OPT_STR) {
            *(const char **)slot = v;
            continue;
        }
        char *end = NULL;
        errno = 0;
        long x = v ? strtol(v, &end, 10) : 0;
        if (v == NULL || *v == '\0' || *end != '\0' || errno || x < o->min || x > o->max) {
            snprintf(msg, sizeof(msg), "%s needs an integer in %ld..%ld", o->name, o->min, o->max);
            return usage(cmd, msg);
        }
        *(long *)slot = x;
    }
    return 0;
}

void opts_print_help(FILE *f, const cmd_opt *table)
{
    if (table == NULL || table->name == NULL)
        return;
    fprintf(f, "Options:\n");
    for (const cmd_opt *o = table; o->name; o++) {
        char left[64];
        if (o->type == OPT_INT)
            snprintf(left, sizeof(left), "%s %s", o->name, o->arg ? o->arg : "N");
        else if (o->type == OPT_STR)
            snprintf(left, sizeof(left), "%s %s", o->name, o->arg ? o->arg : "VALUE");
        else
            snprintf(left, sizeof(left), "%s", o->name);
        if (o->type == OPT_INT)
            fprintf(f, "  %-24s %s (%ld..%ld)\n", left, o->help, o->min, o->max);
        else
            fprintf(f, "  %-24s %s\n", left, o->help);
    }
}
