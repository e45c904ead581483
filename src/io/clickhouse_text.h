/* clickhouse_text.h — the pure parts of the ClickHouse client: the server's exception text,
 * TabSeparated escaping, result lines split across chunk boundaries, SQL scripts split into
 * statements. No I/O; unit-tested on their own.
 *
 * TabSeparated (ClickHouse's TSV) is PostgreSQL COPY's text format in all that matters:
 * rows end with \n, fields are separated by \t, NULL is \N, and inside a value backslash,
 * tab and newline (also \r \b \f \0) are written as \\ \t \n (\r \b \f \0). ClickHouse also
 * writes a single quote as \' and reads \v, \a, \xHH and \<any other char> as that char, so
 * PostgreSQL's COPY TO text output can be fed to ClickHouse unchanged. */
#ifndef HDP_IO_CLICKHOUSE_TEXT_H
#define HDP_IO_CLICKHOUSE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* ------------------------------------------------------------------ exceptions */

/* Reads ClickHouse's exception out of an error answer: its first non-empty line, trimmed,
 * without 18.16's trailing ", e.what() = DB::Exception". Both forms are understood:
 *   18.16:   Code: 60, e.displayText() = DB::Exception: Table hdp.x doesn't exist., e.what() = ...
 *   current: Code: 60. DB::Exception: Table hdp.x does not exist. (UNKNOWN_TABLE) (version ...)
 * *code gets N of "Code: N" (0 when the text has none). msg gets the line (or "" when the
 * body is empty). Returns 1 when the text is a ClickHouse exception, else 0. */
int ch_exception_parse(const char *body, size_t len, int *code, char *msg, size_t msglen);

/* 1 for the codes of a refused login: 192 unknown user, 193 wrong password, 194 password
 * required, 195 address not allowed (18.16); 516 authentication failed (current). */
int ch_code_is_auth(int code);

/* 1 for exceptions that say "not now" rather than "never": too many simultaneous queries
 * (202), socket timeout (209), network error (210), a query with the same id still running
 * (216). The client returns HDP_RETRY for them (without trying again itself). */
int ch_code_is_transient(int code);

/* ------------------------------------------------------------------ TabSeparated */

/* Appends p[0..n) as one TSV field value (escaped; no separator). */
void ch_tsv_escape(hdp_buf *out, const char *p, size_t n);

/* Appends the NULL marker \N. */
void ch_tsv_null(hdp_buf *out);

/* 1 when the raw field is the NULL marker \N. */
int ch_tsv_is_null(const char *p, size_t n);

/* Appends the unescaped value of raw field p[0..n). -1 when it ends in a lone backslash or a
 * \x escape is cut short (a malformed field); 0 otherwise. */
int ch_tsv_unescape(hdp_buf *out, const char *p, size_t n);

/* One raw (still escaped) field of a line. */
typedef struct ch_field {
    const char *p;
    size_t n;
} ch_field;

/* Splits a line (without its \n) on tabs into at most max fields. Returns the number of
 * fields, or -1 when the line has more than max. An empty line is one empty field. */
int ch_tsv_fields(const char *line, size_t len, ch_field *out, int max);

/* ------------------------------------------------------------------ lines */

/* Receives one line without its \n. The pointer is valid only during the call. A nonzero
 * return stops the feed and is passed on as is. */
typedef int (*ch_line_fn)(void *ctx, const char *line, size_t len, hdp_err *e);

/* Turns a stream of chunks into whole lines: lines inside a chunk are passed without a copy,
 * a line cut by a chunk boundary is assembled in `partial` (so memory is bounded by the
 * longest line, not by the result). */
typedef struct ch_lines {
    ch_line_fn fn;
    void *ctx;
    hdp_buf partial;
    uint64_t lines; /* lines delivered so far */
} ch_lines;

void ch_lines_init(ch_lines *l, ch_line_fn fn, void *ctx);
/* Feeds one chunk. The signature fits ch_chunk_fn (clickhouse.h): pass ch_lines_feed with a
 * ch_lines * as the context of ch_query_stream. */
int ch_lines_feed(void *lines, const char *p, size_t n, hdp_err *e);
/* After the last chunk: HDP_ERR when the stream ended inside a line (TSV rows always end
 * with \n, so a missing one means a cut result). */
int ch_lines_finish(ch_lines *l, hdp_err *e);
void ch_lines_free(ch_lines *l); /* NULL is a no-op */

/* ------------------------------------------------------------------ scripts */

/* Receives one statement (trimmed, without its ';') and the line it starts on. */
typedef int (*ch_stmt_fn)(void *ctx, const char *sql, size_t len, int lineno, hdp_err *e);

/* Splits a SQL script into statements for ClickHouse, which takes one per request: a ';'
 * outside quotes ('...', "...", `...`, with backslash escapes) and comments (-- to the line
 * end, block comments) ends a statement; a last statement without ';' counts too. Leading
 * comment lines are dropped (lineno is the statement's first line of SQL) and a statement of
 * only comments and blanks is skipped. Returns HDP_OK or the first nonzero return of fn. */
int ch_split_statements(const char *script, ch_stmt_fn fn, void *ctx, hdp_err *e);

#endif
