/* marts_sql.h — the PostgreSQL side of the marts: COPY statements that produce the fact rows
 * of a segment range from the Data Vault, in ClickHouse's TabSeparated layout of the
 * fact_order / fact_order_line columns (sql/clickhouse/10_facts.sql). Pure text building. */
#ifndef HDP_MARTS_SQL_H
#define HDP_MARTS_SQL_H

#include <stdint.h>

#include "core/buf.h"

/* Segments per ClickHouse partition: PARTITION BY intDiv(segment, 64) in 10_facts.sql. */
#define MARTS_PARTITION_SEGMENTS 64

/* COPY (...) TO STDOUT of the fact_order rows of segments [lo, hi], stamped with build. */
void marts_sql_orders(hdp_buf *q, int64_t lo, int64_t hi, int64_t build);
/* COPY (...) TO STDOUT of the fact_order_line rows of segments [lo, hi], stamped with build. */
void marts_sql_lines(hdp_buf *q, int64_t lo, int64_t hi, int64_t build);
/* SELECT of the partitions (segment / 64) that hold vault versions in [lo, hi]. */
void marts_sql_partitions(hdp_buf *q, int64_t lo, int64_t hi);

#endif
