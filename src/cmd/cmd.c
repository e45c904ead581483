#include "cmd/cmd.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

volatile int hdp_stop_requested = 0;

static void on_stop(int sig)
{
    (void)sig;
    hdp_stop_requested = 1;
}

void cmd_install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cmd_error(int code, const char *name, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "hdp %s: %s\n", name, msg);
    return code;
}

int cmd_wants_help(int argc, char **argv, const hdp_command *self)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: hdp %s\n\n%s\n\n%s", self->name, self->summary, self->usage);
            opts_print_help(stdout, self->opts);
            return 1;
        }
    }
    return 0;
}

const hdp_command *cmd_find(const char *name)
{
    for (const hdp_command *c = hdp_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}
