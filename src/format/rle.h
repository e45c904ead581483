/* rle.h — Parquet's RLE / bit-packed hybrid encoding (definition levels, dictionary indices).
 *
 * Values are unsigned and fit `bit_width` bits (0..32). The encoder emits RLE runs for
 * 8 or more equal values and bit-packed groups of 8 otherwise; only the last group is
 * padded. No length prefix is written: callers add the 4-byte prefix where Parquet wants it. */
#ifndef HDP_RLE_H
#define HDP_RLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Appends the encoding of vals[0..n) to out. */
void rle_encode_u32(hdp_buf *out, const uint32_t *vals, size_t n, int bit_width);
/* Same for byte-sized values (definition levels). */
void rle_encode_u8(hdp_buf *out, const uint8_t *vals, size_t n, int bit_width);

/* Decodes exactly n values from p[0..len) into out. Returns HDP_OK, or HDP_ERR when the
 * input ends early or is malformed. *used (may be NULL) receives the bytes consumed. */
int rle_decode_u32(const uint8_t *p, size_t len, int bit_width, uint32_t *out, size_t n,
                   size_t *used, hdp_err *e);

/* Smallest bit width that holds max_value (0 for 0). */
int rle_bit_width(uint32_t max_value);

#endif
