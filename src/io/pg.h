/* pg.h — thin helpers over libpq: connect, run SQL, COPY, with errors as values.
 * The caller owns every PGconn and PGresult it gets and frees them with PQfinish/PQclear. */
#ifndef HDP_IO_PG_H
#define HDP_IO_PG_H

#include <libpq-fe.h>
#include <stddef.h>

#include "core/err.h"

/* Connects with dsn; dbname, when not NULL, overrides the DSN's database; replication, when
 * not NULL, is passed as libpq's `replication` option ("database" for logical streaming).
 * Sessions run in UTC. NULL on failure with e set. */
PGconn *pg_connect(const char *dsn, const char *dbname, const char *replication, hdp_err *e);

/* The same, classified: HDP_OK with *out set; HDP_RETRY when the server is unreachable,
 * starting, shutting down or out of connection slots (a retry may help); HDP_ERR when it
 * refused us for good (wrong password, no such role or database, no pg_hba.conf entry, a
 * malformed connection string). The message never holds the password. */
int pg_open(PGconn **out, const char *dsn, const char *dbname, const char *replication, hdp_err *e);

/* HDP_OK when libpq can parse dsn (key=value or URI); else HDP_ERR with "invalid PostgreSQL
 * connection string: <libpq's reason>", every quoted piece of the string in it masked (libpq
 * quotes what it could not parse, which may be the password). */
int pg_dsn_check(const char *dsn, hdp_err *e);

/* Is libpq's connection failure text one that no retry mends? (pure; for tests) */
int pg_connect_error_permanent(const char *msg);

/* Runs a statement that returns no rows we need. */
int pg_exec(PGconn *c, const char *sql, hdp_err *e);

/* Runs a query with text parameters; NULL on failure. The caller PQclear()s the result. */
PGresult *pg_query(PGconn *c, const char *sql, int nparams, const char *const *params, hdp_err *e);

/* Runs a query expected to return one value; copies it into out (empty for NULL). */
int pg_query_value(PGconn *c, const char *sql, char *out, size_t outlen, hdp_err *e);

/* COPY ... FROM STDIN: begin, put bytes (text format rows), end. */
int pg_copy_begin(PGconn *c, const char *sql, hdp_err *e);
int pg_copy_put(PGconn *c, const char *data, size_t len, hdp_err *e);
int pg_copy_end(PGconn *c, hdp_err *e);

/* Runs every statement of a .sql file's text (simple query protocol, one round trip). */
int pg_exec_script(PGconn *c, const char *sql, hdp_err *e);

/* Moves a quiet change stream on: one small transaction on hdp_heartbeat (see shop.sql). */
int pg_heartbeat(PGconn *c, hdp_err *e);

/* True when the connection is gone (the caller should reconnect). */
int pg_conn_lost(PGconn *c);

/* Parses "16/B374D848" into a 64-bit LSN, and back (out needs 24 bytes). */
int pg_lsn_parse(const char *s, unsigned long long *lsn);
void pg_lsn_format(unsigned long long lsn, char *out);

#endif
