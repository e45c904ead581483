/* parquet_meta.h — the Parquet footer and page headers as C structs, to and from thrift.
 *
 * Only the fields hdp writes or reads are modelled; unknown fields are skipped on decode.
 * Decoded byte strings (names, statistics) point into the decoded input, which must outlive
 * the structs. Decoded arrays are heap-allocated; pqm_file_free releases them. Field numbers
 * follow parquet.thrift (apache/parquet-format). */
#ifndef HDP_PARQUET_META_H
#define HDP_PARQUET_META_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* parquet.thrift enums (the subset in use) */
enum {
    PQT_BOOLEAN = 0,
    PQT_INT32 = 1,
    PQT_INT64 = 2,
    PQT_INT96 = 3,
    PQT_FLOAT = 4,
    PQT_DOUBLE = 5,
    PQT_BYTE_ARRAY = 6,
    PQT_FIXED_LEN_BYTE_ARRAY = 7
};
enum { PQR_REQUIRED = 0, PQR_OPTIONAL = 1, PQR_REPEATED = 2 };
enum {
    PQC_UTF8 = 0,
    PQC_DECIMAL = 5,
    PQC_DATE = 6,
    PQC_TIMESTAMP_MILLIS = 9,
    PQC_TIMESTAMP_MICROS = 10,
    PQC_INT_8 = 15,
    PQC_INT_16 = 16,
    PQC_INT_32 = 17,
    PQC_INT_64 = 18
};
enum {
    PQE_PLAIN = 0,
    PQE_PLAIN_DICTIONARY = 2,
    PQE_RLE = 3,
    PQE_BIT_PACKED = 4,
    PQE_RLE_DICTIONARY = 8
};
enum { PQP_DATA_PAGE = 0, PQP_INDEX_PAGE = 1, PQP_DICTIONARY_PAGE = 2, PQP_DATA_PAGE_V2 = 3 };

/* LogicalType union member ids (0 = absent) */
enum {
    PQL_NONE = 0,
    PQL_STRING = 1,
    PQL_DECIMAL = 5,
    PQL_DATE = 6,
    PQL_TIMESTAMP = 8,
    PQL_INTEGER = 10
};
/* TimeUnit union member ids */
enum { PQU_MILLIS = 1, PQU_MICROS = 2, PQU_NANOS = 3 };

typedef struct pqm_bytes {
    const uint8_t *p; /* NULL = absent */
    size_t n;
} pqm_bytes;

typedef struct pqm_stats {
    pqm_bytes min_value, max_value; /* fields 6, 5 (sort order of the logical type) */
    pqm_bytes min, max;             /* fields 2, 1 (deprecated, signed order) */
    int has_null_count;
    int64_t null_count;
} pqm_stats;

typedef struct pqm_schema {
    int has_type;
    int type; /* PQT_* */
    int32_t type_length;
    int has_repetition;
    int repetition; /* PQR_* */
    pqm_bytes name;
    int32_t num_children;
    int has_converted;
    int converted; /* PQC_* */
    int32_t scale, precision;
    int logical; /* PQL_* */
    int32_t lt_scale, lt_precision;
    int lt_utc, lt_unit;    /* TIMESTAMP */
    int lt_bits, lt_signed; /* INTEGER */
} pqm_schema;

typedef struct pqm_column {
    int type;
    uint32_t nencodings;
    int32_t encodings[8]; /* decode keeps the first 8 */
    pqm_bytes path;       /* writer: the column name; reader: the last path element */
    uint32_t path_len;
    int codec;
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    int64_t data_page_offset;
    int has_dictionary_page_offset;
    int64_t dictionary_page_offset;
    int has_stats;
    pqm_stats stats;
    int64_t file_offset; /* ColumnChunk.file_offset */
} pqm_column;

typedef struct pqm_row_group {
    pqm_column *columns;
    uint32_t ncolumns;
    int64_t total_byte_size;
    int64_t num_rows;
    int64_t file_offset;
    int64_t total_compressed_size;
} pqm_row_group;

typedef struct pqm_file {
    int32_t version;
    pqm_schema *schema; /* [0] is the root */
    uint32_t nschema;
    int64_t num_rows;
    pqm_row_group *row_groups;
    uint32_t nrow_groups;
    pqm_bytes created_by;
} pqm_file;

typedef struct pqm_page_header {
    int type; /* PQP_* */
    int32_t uncompressed_size;
    int32_t compressed_size;
    int32_t num_values;
    int encoding;
    int def_encoding; /* v1 */
    /* v2 */
    int32_t num_nulls, num_rows;
    int32_t def_len, rep_len;
    int is_compressed;
} pqm_page_header;

/* Appends the thrift encoding of f to out. */
void pqm_file_encode(const pqm_file *f, hdp_buf *out);
void pqm_page_header_encode(const pqm_page_header *h, hdp_buf *out);

/* Decodes a FileMetaData from p[0..n). On error *f is left empty (nothing to free). */
int pqm_file_decode(const uint8_t *p, size_t n, pqm_file *f, hdp_err *e);
void pqm_file_free(pqm_file *f);

/* Decodes a PageHeader at p[0..n); *used receives its encoded length. */
int pqm_page_header_decode(const uint8_t *p, size_t n, pqm_page_header *h, size_t *used,
                           hdp_err *e);

#endif
