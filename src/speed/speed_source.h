/* speed_source.h — the speed layer's lookups in the source database (see speed_source.c). */
#ifndef HDP_SPEED_SOURCE_H
#define HDP_SPEED_SOURCE_H

#include <libpq-fe.h>

#include "core/buf.h"
#include "core/err.h"
#include "speed/speed_dims.h"
#include "speed/speed_tx.h"

/* Every product's category into dims. HDP_RETRY when the query fails. */
int speed_source_products(PGconn *c, speed_dims *dims, hdp_err *e);

/* What tx needs that dims lack (products of its items, categories of orders whose money
 * moves): loaded into dims. ids_p and ids_o are scratch buffers. HDP_RETRY on failure. */
int speed_source_missing(PGconn *c, speed_tx *tx, speed_dims *dims, hdp_buf *ids_p, hdp_buf *ids_o,
                         hdp_err *e);

#endif
