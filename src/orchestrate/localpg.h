/* localpg.h — a private PostgreSQL cluster under HDP_VAR_DIR for `hdp up`.
 *
 * Data in VAR/pg, sockets in VAR/run, server log in VAR/log/postgres.log. Host, port and
 * superuser come from HDP_SOURCE_DSN. The server is started with wal_level=logical (hdp's
 * consumers use logical replication) by pg_ctl, which daemonizes it: it is not our child and
 * outlives a `kill -9` of `hdp up`; the next `hdp up` reuses it.
 *
 * PostgreSQL refuses to run as root: when we are root, initdb, pg_ctl and the server run as
 * the OS user `postgres`, which then owns VAR/pg and VAR/run and must be able to reach VAR. */
#ifndef HDP_LOCALPG_H
#define HDP_LOCALPG_H

#include <limits.h>

#include "core/err.h"
#include "orchestrate/proc.h"

typedef struct localpg {
    char bindir[PATH_MAX];
    char var_dir[PATH_MAX];
    char datadir[PATH_MAX];
    char rundir[PATH_MAX];
    char log_path[PATH_MAX];
    char host[256];
    int port;
    char user[64];
    int as_other;      /* we are root: run PostgreSQL programs as os_user */
    proc_user os_user; /* valid when as_other */
} localpg;

/* Reads host, port and user from the libpq DSN, finds the server binaries (pg_config
 * --bindir, else the newest /usr/lib/postgresql/N/bin) and, as root, the postgres account.
 * var_dir must be absolute. HDP_ERR with a hint when the binaries are missing. */
int localpg_setup(localpg *pg, const char *var_dir, const char *dsn, hdp_err *e);

/* Creates VAR/pg and VAR/run (and the log file) owned by the account that runs the server,
 * and checks that this account can reach them. */
int localpg_prepare(localpg *pg, hdp_err *e);

/* 1 when VAR/pg holds a cluster (PG_VERSION exists). */
int localpg_has_cluster(const localpg *pg);

/* 1 when the cluster in VAR/pg is running; *port (may be NULL) gets the port it listens
 * on, from postmaster.pid. */
int localpg_running(const localpg *pg, int *port);

/* initdb of VAR/pg with the DSN's user as superuser, trust authentication, UTF8. */
int localpg_initdb(const localpg *pg, volatile int *stop, hdp_err *e);

/* pg_ctl start -w with the DSN's host and port and logical replication enabled. */
int localpg_start(const localpg *pg, volatile int *stop, hdp_err *e);

/* pg_ctl stop -m fast -w. HDP_OK also when it was not running. */
int localpg_stop(const localpg *pg, hdp_err *e);

#endif
