/* clickhouse.h — a ClickHouse client over its HTTP interface (libcurl).
 *
 * One client owns one curl handle, so connections are kept alive and reused; it is not
 * thread-safe: use one client per thread. Statements go in the POST body (inserts: the
 * INSERT in the URL, the data in the body); credentials travel as X-ClickHouse-User and
 * X-ClickHouse-Key headers, never in a URL, a log line or a message (ch_describe() masks
 * them). Every request but inserts runs with wait_end_of_query=1, so the server buffers the
 * result (spilling to its disk) and an exception raised after the first row still arrives as
 * an HTTP error instead of text appended to a 200 answer.
 *
 * Results: HDP_OK; HDP_ERR for a ClickHouse exception (e holds its first line), wrong
 * credentials (e says so, naming the user), a bad request or URL; HDP_RETRY for a server that
 * is away or failing transiently (refused, timed out, reset, HTTP 502/503/504, or the
 * transient codes of ch_code_is_transient()). Every message starts "ClickHouse at URL".
 *
 * Retries happen inside the client, with exponential backoff and jitter, only on connection
 * errors and 502/503/504, and only when resending cannot run the statement twice or deliver
 * rows twice:
 *   - a request that never reached the server (connection refused, connect timeout): always
 *     resent, except a streamed insert whose producer was already called;
 *   - ch_query (read-only by contract): resent; ch_query_stream: resent while no byte went
 *     to the callback;
 *   - ch_exec and ch_insert_buf: resent after reaching the server only when the call says
 *     .idempotent (DDL with IF NOT EXISTS, REPLACE PARTITION, inserts into a staging table
 *     that is cleared first); otherwise HDP_RETRY goes to the caller;
 *   - ch_insert (streamed body): never resent; HDP_RETRY goes to the caller, whose producer
 *     must start over.
 * ClickHouse inserts a body in blocks as it parses it (max_insert_block_size rows, about a
 * million): an insert that failed half-way may have stored its first blocks. Make writes
 * idempotent above this layer (write a staging table or partition, then REPLACE PARTITION). */
#ifndef HDP_IO_CLICKHOUSE_H
#define HDP_IO_CLICKHOUSE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "io/clickhouse_text.h"

typedef struct ch_client ch_client;

/* Timeouts and retries of a client; zero fields take the defaults. */
typedef struct ch_limits {
    long connect_timeout_ms; /* 0: 5000 */
    long timeout_ms;         /* one whole request; 0: 300000 (a call may override it) */
    int max_tries;           /* tries of a request that may be resent; 0: 4 */
    long backoff_ms;         /* pause after the first failed try, doubled each time; 0: 200 */
} ch_limits;

/* A ClickHouse setting sent as a URL parameter (e.g. {"max_execution_time", "60"}). The
 * name must be [A-Za-z0-9_]; the value is URL-encoded. */
typedef struct ch_setting {
    const char *name;
    const char *value;
} ch_setting;

/* Per-call options; a NULL ch_call * means all defaults. */
typedef struct ch_call {
    const char *query_id;       /* NULL: the server picks one; kept on every retry */
    const char *database;       /* NULL: the client's; "": none (the server's default) */
    const ch_setting *settings; /* array ended by {NULL, NULL}; NULL: none */
    long timeout_ms;            /* 0: the client's timeout */
    int idempotent;             /* ch_exec, ch_insert_buf: may be resent after reaching the
                                   server (running it twice does no harm) */
} ch_call;

/* Opens a client for url (http(s)://[user[:password]@]host[:port][/?database=db], see
 * ch_url_parse in core/url.h); lim may be NULL. Connects lazily: HDP_ERR only for a bad URL
 * or a curl failure, never for an unreachable server. */
ch_client *ch_open(const char *url, const ch_limits *lim, hdp_err *e);
void ch_close(ch_client *c); /* NULL is a no-op; wipes the password */

/* The URL for messages, password masked: "http://hdp:***@127.0.0.1:58123/?database=hdp". */
const char *ch_describe(const ch_client *c);
/* The database of the URL ("hdp" by default). */
const char *ch_database(const ch_client *c);
/* The ClickHouse error code of the last request that failed with an exception, else 0. */
int ch_last_code(const ch_client *c);

/* Runs a statement without a result (DDL, ALTER, INSERT ... SELECT, OPTIMIZE). */
int ch_exec(ch_client *c, const char *sql, const ch_call *call, hdp_err *e);

/* Runs each statement of a script (see ch_split_statements) with ch_exec; *count (may be
 * NULL) gets how many ran. On failure e names the statement's line. */
int ch_exec_script(ch_client *c, const char *script, const ch_call *call, int *count, hdp_err *e);

/* Runs a read-only query and appends its whole result to out (as sent: say FORMAT
 * TabSeparated, JSONEachRow, ... in sql). On failure out is as it was before the call. */
int ch_query(ch_client *c, const char *sql, const ch_call *call, hdp_buf *out, hdp_err *e);

/* Receives result bytes as they arrive (chunks of at most 16 KiB at no fixed boundaries).
 * A nonzero return stops the query and is returned by ch_query_stream as is. */
typedef int (*ch_chunk_fn)(void *ctx, const char *p, size_t n, hdp_err *e);

/* Runs a read-only query and streams its result to fn; memory stays bounded whatever the
 * result's size. For TSV lines use ch_lines (clickhouse_text.h): pass ch_lines_feed as fn
 * and call ch_lines_finish after HDP_OK. On a failure after bytes were delivered, what fn
 * got is incomplete and must be discarded. */
int ch_query_stream(ch_client *c, const char *sql, const ch_call *call, ch_chunk_fn fn, void *ctx,
                    hdp_err *e);

/* Produces the body of a streamed insert: append the next bytes to out (any amount, e.g. a
 * block of rows) and set *done = 1 with or after the last ones. A nonzero return aborts the
 * insert and is returned by ch_insert as is. */
typedef int (*ch_body_fn)(void *ctx, hdp_buf *out, int *done, hdp_err *e);

/* Sends "INSERT INTO t [(cols)] FORMAT TabSeparated|RowBinary|..." with the body fn
 * produces, in HTTP chunks as it comes, holding no more than one piece of fn in memory. Never
 * resent once fn was called (see above). */
int ch_insert(ch_client *c, const char *insert_sql, const ch_call *call, ch_body_fn fn, void *ctx,
              hdp_err *e);

/* The same with the whole body in memory. */
int ch_insert_buf(ch_client *c, const char *insert_sql, const void *data, size_t len,
                  const ch_call *call, hdp_err *e);

/* SELECT version(), with no database (so it works before `hdp init`). */
int ch_server_version(ch_client *c, char *out, size_t outlen, hdp_err *e);

#endif
