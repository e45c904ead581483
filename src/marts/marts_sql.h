/* marts_sql.h — the PostgreSQL side of the marts: COPY statements that produce the fact rows
 * of a segment range from the Data Vault, in ClickHouse's TabSeparated layout of the
 * fact_order / fact_order_line columns (sql/clickhouse/10_facts.sql). Pure text building. */
#ifndef HDP_MARTS_SQL_H
#define HDP_MARTS_SQL_H

#include <stdint.h>

#include "core/buf.h"

/* Segments per ClickHouse partition: PARTITION BY intDiv(segment, 64) in 10_facts.sql. */
#define MARTS_PARTITION_SEGMENTS 64

/* Statements that fill the session's temp table marts_net with the netted money events of
 * segments [lo, hi]; run before the two COPYs of the range, on the same connection. */
void marts_sql_net(hdp_buf *q, int64_t lo, int64_t hi);
/* COPY (...) TO STDOUT of the fact_order rows of marts_net, stamped with build. */
void marts_sql_orders(hdp_buf *q, int64_t build);
/* COPY (...) TO STDOUT of the fact_order_line rows of marts_net, stamped with build. */
void marts_sql_lines(hdp_buf *q, int64_t build);
/* SELECT of the partitions (segment / 64) that hold vault versions in [lo, hi]. */
void marts_sql_partitions(hdp_buf *q, int64_t lo, int64_t hi);

#endif
