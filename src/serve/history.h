/* history.h — a customer's order history from the Data Vault (database dwh): one SQL query,
 * its rows rendered as the JSON body of /api/v1/users/{id}/history.
 *
 * Current state is each satellite's latest row (max load_dts); an order's status history is
 * its sat_order rows by load_dts with consecutive repeats of a status collapsed. Keys are
 * reached by business key through the hubs and links (their indexes), never by recomputing
 * hashes. A customer, order or line whose latest satellite row is a source DELETE
 * (is_deleted) is left out: the shop no longer has it. */
#ifndef HDP_SERVE_HISTORY_H
#define HDP_SERVE_HISTORY_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef enum history_shape {
    HISTORY_USERS,    /* {"customer_id","name","city","orders"} */
    HISTORY_ORIGINAL, /* the same plus the original platform's "user_id" and "history" */
} history_shape;

/* The query: $1 is the customer id; rows as history_render() reads them. */
extern const char history_sql[];

/* Runs history_sql for id on c and renders the body into body. HDP_OK with *found = 0 when
 * dwh has no such customer (body untouched); HDP_RETRY when the connection is lost; HDP_ERR
 * for any other failure (message in e). */
int history_fetch(PGconn *c, int64_t id, history_shape shape, hdp_buf *body, int *found,
                  hdp_err *e);

/* Renders history_sql's rows (pure; a hand-built PGresult serves in unit tests). HDP_ERR when
 * a value is malformed (a money or time text that does not parse). */
int history_render(const PGresult *r, history_shape shape, hdp_buf *body, int *found, hdp_err *e);

#endif
