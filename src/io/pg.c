#include "io/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_connect_error_permanent(const char *msg)
{
    /* libpq has no SQLSTATE for a failed connection, only the server's (English: hdp runs
     * its sessions with lc_messages unset) or its own text. */
    static const char *const permanent[] = {
        "password authentication failed",
        "authentication failed for user",
        "no pg_hba.conf entry",
        "does not exist", /* role or database */
        "invalid PostgreSQL connection string",
        "invalid connection option",
        "missing \"=\" after",
        "invalid URI",
        "invalid integer value",
        "unsupported frontend protocol",
        "is not permitted to log in",
        "permission denied for database",
        "fe_sendauth: no password supplied",
        "SCRAM authentication requires",
        "invalid sslmode value",
        "role \"",
    };
    static const char *const transient[] = {"the database system is starting up",
                                            "the database system is shutting down",
                                            "the database system is in recovery mode",
                                            "too many clients", "remaining connection slots"};
    if (msg == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (strstr(msg, transient[i]))
            return 0;
    for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
        if (strstr(msg, permanent[i]))
            return 1;
    return 0;
}

int pg_open(PGconn **out, const char *dsn, const char *dbname, const char *replication, hdp_err *e)
{
    hdp_err local;
    if (e == NULL)
        e = &local;
    *out = pg_connect(dsn, dbname, replication, e);
    if (*out != NULL)
        return HDP_OK;
    return pg_connect_error_permanent(e->msg) ? HDP_ERR : HDP_RETRY;
}

int pg_dsn_check(const char *dsn, hdp_err *e)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &why);
    if (opts != NULL) {
        PQconninfoFree(opts);
        return HDP_OK;
    }
    /* "missing "=" after "s3cret" in ...": pieces of one character ("=", "]") stay. */
    char shown[256];
    size_t n = 0;
    for (const char *p = why ? why : "cannot parse"; *p && *p != '\n' && n + 6 < sizeof(shown);) {
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (end && end - p > 2) {
            memcpy(shown + n, "\"***\"", 5);
            n += 5;
        } else if (end) {
            memcpy(shown + n, p, (size_t)(end - p) + 1);
            n += (size_t)(end - p) + 1;
        } else {
            shown[n++] = *p++;
            continue;
        }
        p = end + 1;
    }
    shown[n] = '\0';
    PQfreemem(why);
    return hdp_fail(e, "invalid PostgreSQL connection string: %s", shown);
}

PGconn *pg_connect(const char *dsn, const char *dbname, const char *replication, hdp_err *e)
{
    if (pg_dsn_check(dsn, e) != HDP_OK)
        return NULL;
    const char *keys[6];
    const char *vals[6];
    int n = 0;
    keys[n] = "dbname";
    vals[n++] = dsn; /* expanded: the whole DSN */
    if (dbname) {
        keys[n] = "dbname";
        vals[n++] = dbname;
    }
    if (replication) {
        keys[n] = "replication";
        vals[n++] = replication;
    }
    keys[n] = "options";
    vals[n++] =
        "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 -c client_min_messages=warning";
    keys[n] = "application_name";
    vals[n++] = "hdp";
    keys[n] = NULL;
    vals[n] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL) {
        hdp_fail(e, "out of memory connecting to PostgreSQL");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        hdp_fail(e, "cannot connect to PostgreSQL at %s:%s: %s", PQhost(c) ? PQhost(c) : "?",
                 PQport(c) ? PQport(c) : "?", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

int pg_exec(PGconn *c, const char *sql, hdp_err *e)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        hdp_fail(e, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return pg_conn_lost(c) ? HDP_RETRY : HDP_ERR;
    }
    PQclear(r);
    return HDP_OK;
}

int pg_exec_script(PGconn *c, const char *sql, hdp_err *e)
{
    /* PQexec runs a multi-statement string as one implicit transaction unless it has
     * its own BEGIN/COMMIT; we want each DDL file all-or-nothing, which is what it gives. */
    return pg_exec(c, sql, e);
}

PGresult *pg_query(PGconn *c, const char *sql, int nparams, const char *const *params, hdp_err *e)
{
    /* Without parameters use the simple protocol: it also works on replication connections. */
    PGresult *r =
        nparams ? PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0) : PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        hdp_fail(e, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

int pg_query_value(PGconn *c, const char *sql, char *out, size_t outlen, hdp_err *e)
{
    PGresult *r = pg_query(c, sql, 0, NULL, e);
    if (r == NULL)
        return HDP_ERR;
    if (PQntuples(r) < 1 || PQnfields(r) < 1) {
        PQclear(r);
        return hdp_fail(e, "query returned no rows: %.80s", sql);
    }
    snprintf(out, outlen, "%s", PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return HDP_OK;
}

int pg_copy_begin(PGconn *c, const char *sql, hdp_err *e)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        hdp_fail(e, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return HDP_ERR;
    }
    PQclear(r);
    return HDP_OK;
}

int pg_copy_put(PGconn *c, const char *data, size_t len, hdp_err *e)
{
    if (PQputCopyData(c, data, (int)len) != 1)
        return hdp_fail(e, "COPY: %s", PQerrorMessage(c));
    return HDP_OK;
}

int pg_copy_end(PGconn *c, hdp_err *e)
{
    if (PQputCopyEnd(c, NULL) != 1)
        return hdp_fail(e, "COPY end: %s", PQerrorMessage(c));
    int rc = HDP_OK;
    PGresult *r;
    while ((r = PQgetResult(c)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == HDP_OK)
            rc = hdp_fail(e, "COPY: %s", PQresultErrorMessage(r));
        PQclear(r);
    }
    return rc;
}

int pg_conn_lost(PGconn *c)
{
    return c == NULL || PQstatus(c) != CONNECTION_OK;
}

int pg_lsn_parse(const char *s, unsigned long long *lsn)
{
    unsigned int hi, lo;
    char tail;
    if (sscanf(s, "%X/%X%c", &hi, &lo, &tail) != 2)
        return -1;
    *lsn = ((unsigned long long)hi << 32) | lo;
    return 0;
}

void pg_lsn_format(unsigned long long lsn, char *out)
{
    snprintf(out, 24, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

int pg_heartbeat(PGconn *c, hdp_err *e)
{
    return pg_exec(c,
                   "INSERT INTO hdp_heartbeat (id, beat_at) VALUES (1, now()) "
                   "ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at",
                   e);
}
