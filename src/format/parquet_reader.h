/* parquet_reader.h — reads flat Parquet files: hdp's own and those of pyarrow, DuckDB, Spark.
 *
 * Supported: flat schemas of REQUIRED or OPTIONAL leaves; data pages v1 and v2; PLAIN,
 * PLAIN_DICTIONARY and RLE_DICTIONARY encodings; uncompressed, Snappy and Zstandard pages.
 * Column types map onto pq_type (parquet_writer.h):
 *   BOOLEAN -> PQ_BOOLEAN; INT32 (plain, INT_8/16/32) -> PQ_INT32; INT64 (plain, INT_64) ->
 *   PQ_INT64; DECIMAL on INT32/INT64/FIXED_LEN_BYTE_ARRAY/BYTE_ARRAY -> PQ_DECIMAL (unscaled
 *   int64; values that do not fit 64 bits are an error); TIMESTAMP millis/micros/nanos on
 *   INT64 -> PQ_TIMESTAMP_US (converted to µs, nanos floored); BYTE_ARRAY (UTF8, STRING,
 *   JSON, ENUM or plain) -> PQ_STRING. Anything else fails at open with a clear message.
 *
 * Access is by row group: pq_reader_load decodes every column of one row group into memory,
 * then the getters read any row of it. Malformed input returns HDP_ERR; the reader never
 * reads outside the file, and allocations are bounded by page sizes and by the row group
 * limits (64 Mi rows, 128 Mi values: a larger row group is an error). */
#ifndef HDP_PARQUET_READER_H
#define HDP_PARQUET_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "format/parquet_writer.h"

typedef struct pq_reader pq_reader;

/* Maps the file read-only into memory. Returns NULL with e set. */
pq_reader *pq_reader_open(const char *path, hdp_err *e);
/* Reads a file held in memory; data is borrowed and must outlive the reader. */
pq_reader *pq_reader_open_mem(const void *data, size_t len, hdp_err *e);
void pq_reader_free(pq_reader *r); /* accepts NULL */

size_t pq_reader_ncols(const pq_reader *r);
/* Column description: name (NUL-terminated, owned by the reader), type, precision, scale. */
const pq_column_def *pq_reader_column(const pq_reader *r, size_t col);
/* Index of the column called name, or -1. */
long pq_reader_find_column(const pq_reader *r, const char *name);
int64_t pq_reader_num_rows(const pq_reader *r);
size_t pq_reader_num_row_groups(const pq_reader *r);
const char *pq_reader_created_by(const pq_reader *r); /* "" when absent */

/* Decodes row group rg; *nrows receives its row count. Values of the previously loaded
 * row group become invalid. */
int pq_reader_load(pq_reader *r, size_t rg, size_t *nrows, hdp_err *e);

/* Getters for the loaded row group; col and row must be in range. */
int pq_is_null(const pq_reader *r, size_t col, size_t row);
/* BOOLEAN (0/1), INT32, INT64, DECIMAL (unscaled), TIMESTAMP_US (µs); 0 for NULL. */
int64_t pq_get_i64(const pq_reader *r, size_t col, size_t row);
/* STRING: pointer to the bytes (not NUL-terminated) valid until the next load. */
const char *pq_get_str(const pq_reader *r, size_t col, size_t row, size_t *len);

/* Column chunk statistics of row group rg as stored in the footer, decoded like values
 * (integers sign-extended, decimals unscaled, timestamps converted to µs). */
typedef struct pq_stats {
    int has_min_max;
    int64_t min_i, max_i;      /* non-string columns */
    const char *min_s, *max_s; /* PQ_STRING, pointing into the file */
    size_t min_n, max_n;
    int has_null_count;
    int64_t null_count;
} pq_stats;
int pq_reader_stats(const pq_reader *r, size_t rg, size_t col, pq_stats *out, hdp_err *e);

#endif
