/* copybin.h — rows in PostgreSQL's binary COPY format (COPY ... FROM STDIN (FORMAT binary)):
 * a signature header, then per row a 16-bit field count and per field a 32-bit length (-1:
 * NULL) and the value in the type's send/recv form, all big-endian; a -1 count ends the data.
 * The server then runs each type's recv function instead of parsing text (no strtoll, no
 * ParseDateTime, no hex decoding), which is most of what it spends on a text COPY's input.
 *
 * The types must be exactly the columns' (int4 for int, int8 for bigint, ...): the server
 * does not coerce binary data. Buffers are written row by row and each is one COPY: start
 * every buffer with copybin_header, end it with copybin_trailer. */
#ifndef HDP_FORMAT_COPYBIN_H
#define HDP_FORMAT_COPYBIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define COPYBIN_HEADER_LEN 19 /* signature (11), flags (4), header extension length (4) */

void copybin_header(hdp_buf *b);
void copybin_trailer(hdp_buf *b);

/* A row of nfields fields; the fields follow. */
void copybin_row(hdp_buf *b, int nfields);
void copybin_null(hdp_buf *b);
/* bytea, or text (UTF-8 in the server's encoding; the server checks it). */
void copybin_bytes(hdp_buf *b, const void *p, size_t n);
void copybin_i32(hdp_buf *b, int32_t v);
void copybin_i64(hdp_buf *b, int64_t v);
void copybin_bool(hdp_buf *b, int v);
/* timestamptz from Unix microseconds (the server's epoch is 2000-01-01 UTC). */
void copybin_ts(hdp_buf *b, int64_t unix_us);
/* timestamptz 'infinity'. */
void copybin_ts_infinity(hdp_buf *b);
/* numeric of unscaled * 10^-scale, 0 <= scale <= 4 (NUMERIC(12,2) money: scale 2). */
void copybin_numeric(hdp_buf *b, int64_t unscaled, int scale);

#endif
