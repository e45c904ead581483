/* localpg.c — initdb, start and stop of the private cluster; see localpg.h. */
#include "orchestrate/localpg.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/pg.h"

#define PG_WAIT_SECONDS "60"

/* ---------------------------------------------------------------- setup */

/* Copies host, port and user out of a libpq connection string. */
static int parse_dsn(localpg *pg, const char *dsn, hdp_err *e)
{
    if (pg_dsn_check(dsn, e) != HDP_OK) {
        hdp_err_prefix(e, "HDP_SOURCE_DSN: ");
        return HDP_ERR;
    }
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    if (opts == NULL)
        return hdp_fail(e, "HDP_SOURCE_DSN: out of memory parsing it");
    snprintf(pg->host, sizeof(pg->host), "127.0.0.1");
    snprintf(pg->user, sizeof(pg->user), "hdp");
    pg->port = 5432;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0)
            snprintf(pg->host, sizeof(pg->host), "%s", o->val);
        else if (strcmp(o->keyword, "port") == 0)
            pg->port = atoi(o->val);
        else if (strcmp(o->keyword, "user") == 0)
            snprintf(pg->user, sizeof(pg->user), "%s", o->val);
    }
    PQconninfoFree(opts);
    if (pg->host[0] == '/' || strchr(pg->host, ',') || strchr(pg->host, '\''))
        return hdp_fail(e, "HDP_SOURCE_DSN: hdp up needs one TCP host, not '%s'", pg->host);
    if (pg->port < 1 || pg->port > 65535)
        return hdp_fail(e, "HDP_SOURCE_DSN: bad port");
    return HDP_OK;
}

/* 1 when dir holds the programs we run. */
static int bindir_usable(const char *dir)
{
    static const char *progs[] = {"postgres", "initdb", "pg_ctl"};
    for (int i = 0; i < 3; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof(p), "%s/%s", dir, progs[i]);
        if (access(p, X_OK) != 0)
            return 0;
    }
    return 1;
}

/* pg_config --bindir when it has a server, else the highest /usr/lib/postgresql/N/bin. */
static int find_bindir(localpg *pg, hdp_err *e)
{
    char *argv[] = {"pg_config", "--bindir", NULL};
    char out[PATH_MAX];
    hdp_err ignored;
    if (proc_capture(argv, out, sizeof(out), &ignored) == HDP_OK && bindir_usable(out)) {
        snprintf(pg->bindir, sizeof(pg->bindir), "%s", out);
        return HDP_OK;
    }
    glob_t g;
    long best = -1;
    if (glob("/usr/lib/postgresql/*/bin", GLOB_ONLYDIR, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            long v = strtol(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"), NULL, 10);
            if (v > best && bindir_usable(g.gl_pathv[i])) {
                best = v;
                snprintf(pg->bindir, sizeof(pg->bindir), "%s", g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
    if (best < 0)
        return hdp_fail(e, "PostgreSQL server binaries not found (postgres, initdb, pg_ctl in "
                           "pg_config --bindir or /usr/lib/postgresql/N/bin); run `make deps`");
    return HDP_OK;
}

int localpg_setup(localpg *pg, const char *var_dir, const char *dsn, hdp_err *e)
{
    memset(pg, 0, sizeof(*pg));
    if (parse_dsn(pg, dsn, e) != HDP_OK)
        return HDP_ERR;
    if (strchr(var_dir, '\''))
        return hdp_fail(e, "HDP_VAR_DIR must not contain a quote: %s", var_dir);
    snprintf(pg->var_dir, sizeof(pg->var_dir), "%s", var_dir);
    int n1 = snprintf(pg->datadir, sizeof(pg->datadir), "%s/pg", var_dir);
    int n2 = snprintf(pg->rundir, sizeof(pg->rundir), "%s/run", var_dir);
    int n3 = snprintf(pg->log_path, sizeof(pg->log_path), "%s/log/postgres.log", var_dir);
    if (n1 >= (int)sizeof(pg->datadir) || n2 >= (int)sizeof(pg->rundir) ||
        n3 >= (int)sizeof(pg->log_path))
        return hdp_fail(e, "path too long: %s", var_dir);
    if (find_bindir(pg, e) != HDP_OK)
        return HDP_ERR;
    if (geteuid() == 0) {
        pg->as_other = 1;
        if (proc_user_lookup("postgres", &pg->os_user, e) != HDP_OK)
            return hdp_fail(e, "running as root, but PostgreSQL refuses root and there is no OS "
                               "user 'postgres' to run it as");
    }
    return HDP_OK;
}

/* ---------------------------------------------------------------- running programs */

/* Options for PostgreSQL programs: output to postgres.log, as the right user. */
static proc_opts pg_opts(const localpg *pg)
{
    proc_opts o = {.log_path = pg->log_path,
                   .cwd = pg->var_dir,
                   .user = pg->as_other ? &pg->os_user : NULL,
                   .pdeathsig = SIGTERM};
    return o;
}

static void bin(const localpg *pg, const char *prog, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", pg->bindir, prog);
}

/* Makes dir (mode) if missing and, as root, gives it to the postgres account. */
static int own_dir(const localpg *pg, const char *dir, mode_t mode, hdp_err *e)
{
    if (mkdir(dir, mode) != 0 && errno != EEXIST)
        return hdp_fail(e, "mkdir %s: %s", dir, strerror(errno));
    if (pg->as_other && chown(dir, pg->os_user.uid, pg->os_user.gid) != 0)
        return hdp_fail(e, "chown %s: %s", dir, strerror(errno));
    return HDP_OK;
}

int localpg_prepare(localpg *pg, hdp_err *e)
{
    if (own_dir(pg, pg->datadir, 0700, e) != HDP_OK || own_dir(pg, pg->rundir, 0755, e) != HDP_OK)
        return HDP_ERR;
    int fd = open(pg->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return hdp_fail(e, "open %s: %s", pg->log_path, strerror(errno));
    int rc = pg->as_other ? fchown(fd, pg->os_user.uid, pg->os_user.gid) : 0;
    close(fd);
    if (rc != 0)
        return hdp_fail(e, "chown %s: %s", pg->log_path, strerror(errno));
    if (!pg->as_other)
        return HDP_OK;
    /* As root, the postgres account must be able to walk down to VAR: test it as that user. */
    char *argv[] = {"test", "-x", pg->var_dir, NULL};
    proc_opts o = {.user = &pg->os_user};
    hdp_err ignored;
    if (proc_run(argv, &o, NULL, NULL, &ignored) != HDP_OK)
        return hdp_fail(e,
                        "PostgreSQL runs as OS user 'postgres', which cannot reach %s (a parent "
                        "directory is not traversable); set HDP_VAR_DIR to a path it can reach, "
                        "e.g. /var/tmp/hdp",
                        pg->var_dir);
    return HDP_OK;
}

int localpg_has_cluster(const localpg *pg)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s/PG_VERSION", pg->datadir);
    return access(p, F_OK) == 0;
}

/* Port of the running postmaster (4th line of postmaster.pid), or 0. */
static int pidfile_port(const localpg *pg)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/postmaster.pid", pg->datadir);
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return 0;
    char line[256];
    int port = 0;
    for (int i = 1; i <= 4 && fgets(line, sizeof(line), f); i++)
        if (i == 4)
            port = atoi(line);
    fclose(f);
    return port;
}

int localpg_running(const localpg *pg, int *port)
{
    if (!localpg_has_cluster(pg))
        return 0;
    char pg_ctl[PATH_MAX + 16];
    bin(pg, "pg_ctl", pg_ctl, sizeof(pg_ctl));
    char *argv[] = {pg_ctl, "-D", (char *)pg->datadir, "status", NULL};
    proc_opts o = pg_opts(pg);
    o.log_path = NULL; /* status chatter is not worth logging */
    hdp_err ignored;
    if (proc_run(argv, &o, NULL, NULL, &ignored) != HDP_OK)
        return 0;
    if (port)
        *port = pidfile_port(pg);
    return 1;
}

int localpg_initdb(const localpg *pg, volatile int *stop, hdp_err *e)
{
    char initdb[PATH_MAX + 16], user[80];
    bin(pg, "initdb", initdb, sizeof(initdb));
    snprintf(user, sizeof(user), "%s", pg->user);
    proc_opts o = pg_opts(pg);
    static const char *locales[] = {"--locale=C.UTF-8", "--locale=C"};
    for (int i = 0; i < 2; i++) {
        char *argv[] = {initdb, "-D",   (char *)pg->datadir, "-U", user, "-A", "trust",
                        "-E",   "UTF8", (char *)locales[i],  NULL};
        if (proc_run(argv, &o, stop, NULL, e) == HDP_OK)
            return HDP_OK;
        if (stop && *stop)
            break;
    }
    char last[256];
    proc_last_line(pg->log_path, last, sizeof(last));
    return hdp_fail(e, "initdb of %s failed: %s", pg->datadir, last);
}

int localpg_start(const localpg *pg, volatile int *stop, hdp_err *e)
{
    char pg_ctl[PATH_MAX + 16];
    bin(pg, "pg_ctl", pg_ctl, sizeof(pg_ctl));
    char opts[PATH_MAX + 512];
    snprintf(opts, sizeof(opts),
             "-p %d -k '%s' -c listen_addresses='%s' -c wal_level=logical "
             "-c max_replication_slots=10 -c max_wal_senders=10 -c fsync=on",
             pg->port, pg->rundir, pg->host);
    char *argv[] = {pg_ctl,  "-D", (char *)pg->datadir, "-l", (char *)pg->log_path,
                    "-w",    "-t", PG_WAIT_SECONDS,     "-o", opts,
                    "start", NULL};
    proc_opts o = pg_opts(pg);
    if (proc_run(argv, &o, stop, NULL, e) == HDP_OK)
        return HDP_OK;
    char last[256];
    proc_last_line(pg->log_path, last, sizeof(last));
    return hdp_fail(e, "PostgreSQL did not start: %s (see %s)", last, pg->log_path);
}

int localpg_stop(const localpg *pg, hdp_err *e)
{
    if (!localpg_running(pg, NULL))
        return HDP_OK;
    char pg_ctl[PATH_MAX + 16];
    bin(pg, "pg_ctl", pg_ctl, sizeof(pg_ctl));
    char *argv[] = {pg_ctl, "-D", (char *)pg->datadir, "-m",   "fast",
                    "-w",   "-t", PG_WAIT_SECONDS,     "stop", NULL};
    proc_opts o = pg_opts(pg);
    o.pdeathsig = 0;
    if (proc_run(argv, &o, NULL, NULL, e) != HDP_OK) {
        hdp_err_prefix(e, "pg_ctl stop: ");
        return HDP_ERR;
    }
    return HDP_OK;
}
