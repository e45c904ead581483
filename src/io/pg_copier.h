/* pg_copier.h — COPY ... FROM STDIN from a thread of its own, so that the caller prepares the
 * next buffer while PostgreSQL ingests the last one (the vault load took turns: the server
 * idle while hdp staged rows, hdp idle while the server parsed and inserted them).
 *
 * One COPY at a time is in flight. pg_copier_send waits for the one before to end, then
 * takes the caller's buffer (swapping in an emptied one, capacity kept, so the caller's
 * memory stays one buffer per output plus one in flight). While a copier runs, nothing else
 * may use its connection: pg_copier_wait first. The first error sticks: every later call
 * returns it (the transaction is aborted anyway). */
#ifndef HDP_IO_PG_COPIER_H
#define HDP_IO_PG_COPIER_H

#include <libpq-fe.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct pg_copier pg_copier;

/* Starts the thread for connection c. */
int pg_copier_start(pg_copier **out, PGconn *c, hdp_err *e);
/* COPYs b's bytes with statement sql (a string that outlives the COPY) and leaves b empty. */
int pg_copier_send(pg_copier *p, const char *sql, hdp_buf *b, hdp_err *e);
/* Returns once no COPY is in flight: HDP_OK, or the first error. */
int pg_copier_wait(pg_copier *p, hdp_err *e);
/* Waits for the COPY in flight, stops the thread and frees p (accepts NULL). */
void pg_copier_stop(pg_copier *p);

#endif
