#include "format/rle.h"

#include <string.h>

int rle_bit_width(uint32_t max_value)
{
    int w = 0;
    while (max_value) {
        w++;
        max_value >>= 1;
    }
    return w;
}

/* Both encoders share one algorithm over an accessor; a macro keeps the hot loops free of
 * indirect calls. */
#define RLE_ENCODE_BODY(VALS, N, BW, OUT)                                                          \
    do {                                                                                           \
        size_t i = 0;                                                                              \
        size_t vbytes = ((size_t)(BW) + 7) / 8;                                                    \
        while (i < (N)) {                                                                          \
            size_t r = 1;                                                                          \
            while (i + r < (N) && (VALS)[i + r] == (VALS)[i])                                      \
                r++;                                                                               \
            if (r >= 8) {                                                                          \
                uint32_t v = (VALS)[i];                                                            \
                uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),                \
                                 (uint8_t)(v >> 24)};                                              \
                buf_put_uvarint((OUT), (uint64_t)r << 1);                                          \
                buf_append((OUT), le, vbytes);                                                     \
                i += r;                                                                            \
                continue;                                                                          \
            }                                                                                      \
            /* bit-packed groups until a run of >= 8 starts on a group boundary */                 \
            size_t j = i;                                                                          \
            do {                                                                                   \
                j += 8;                                                                            \
                if (j >= (N))                                                                      \
                    break;                                                                         \
                size_t k = 1;                                                                      \
                while (k < 8 && j + k < (N) && (VALS)[j + k] == (VALS)[j])                         \
                    k++;                                                                           \
                if (k >= 8)                                                                        \
                    break;                                                                         \
            } while (1);                                                                           \
            size_t groups = (j - i) / 8;                                                           \
            buf_put_uvarint((OUT), ((uint64_t)groups << 1) | 1);                                   \
            buf_reserve((OUT), groups *(size_t)(BW) + 8);                                          \
            uint8_t *o = (uint8_t *)(OUT)->data + (OUT)->len;                                      \
            uint64_t acc = 0;                                                                      \
            int bits = 0;                                                                          \
            for (size_t x = i; x < j; x++) {                                                       \
                uint64_t v = x < (N) ? (VALS)[x] : 0;                                              \
                acc |= v << bits;                                                                  \
                bits += (BW);                                                                      \
                while (bits >= 8) {                                                                \
                    *o++ = (uint8_t)acc;                                                           \
                    acc >>= 8;                                                                     \
                    bits -= 8;                                                                     \
                }                                                                                  \
            }                                                                                      \
            (OUT)->len += groups * (size_t)(BW);                                                   \
            (OUT)->data[(OUT)->len] = '\0';                                                        \
            i = j < (N) ? j : (N);                                                                 \
        }                                                                                          \
    } while (0)

void rle_encode_u32(hdp_buf *out, const uint32_t *vals, size_t n, int bit_width)
{
    RLE_ENCODE_BODY(vals, n, bit_width, out);
}

void rle_encode_u8(hdp_buf *out, const uint8_t *vals, size_t n, int bit_width)
{
    RLE_ENCODE_BODY(vals, n, bit_width, out);
}

int rle_decode_u32(const uint8_t *p, size_t len, int bit_width, uint32_t *out, size_t n,
                   size_t *used, hdp_err *e)
{
    const uint8_t *start = p, *end = p + len;
    size_t vbytes = ((size_t)bit_width + 7) / 8;
    size_t got = 0;
    if (bit_width < 0 || bit_width > 32)
        return hdp_fail(e, "rle: bad bit width %d", bit_width);
    while (got < n) {
        uint64_t h = 0;
        int shift = 0;
        while (1) {
            if (p >= end)
                return hdp_fail(e, "rle: truncated run header");
            if (shift > 56)
                return hdp_fail(e, "rle: run header too long");
            uint8_t b = *p++;
            h |= (uint64_t)(b & 0x7F) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
        if (h & 1) {
            uint64_t groups = h >> 1;
            if (groups == 0)
                return hdp_fail(e, "rle: empty bit-packed run");
            size_t want = n - got;
            size_t count = groups > want / 8 + 1 ? want : (size_t)groups * 8;
            if (count > want)
                count = want;
            size_t nbytes = (count * (size_t)bit_width + 7) / 8;
            if (nbytes > (size_t)(end - p))
                return hdp_fail(e, "rle: truncated bit-packed run");
            uint64_t acc = 0;
            int bits = 0;
            uint32_t mask = bit_width == 32 ? 0xFFFFFFFFu : ((1u << bit_width) - 1);
            const uint8_t *q = p;
            for (size_t x = 0; x < count; x++) {
                while (bits < bit_width) {
                    acc |= (uint64_t)*q++ << bits;
                    bits += 8;
                }
                out[got++] = (uint32_t)(acc & mask);
                acc >>= bit_width;
                bits -= bit_width;
            }
            /* skip the whole run, but tolerate a last run whose padding was cut off */
            uint64_t full = groups * (uint64_t)bit_width;
            p += full <= (uint64_t)(end - p) ? full : (uint64_t)(end - p);
        } else {
            uint64_t count = h >> 1;
            if (count == 0)
                return hdp_fail(e, "rle: empty run");
            if (vbytes > (size_t)(end - p))
                return hdp_fail(e, "rle: truncated run value");
            uint32_t v = 0;
            for (size_t b = 0; b < vbytes; b++)
                v |= (uint32_t)p[b] << (8 * b);
            p += vbytes;
            if (bit_width < 32 && (v >> bit_width))
                return hdp_fail(e, "rle: run value wider than %d bits", bit_width);
            size_t take = count < n - got ? (size_t)count : n - got;
            for (size_t x = 0; x < take; x++)
                out[got++] = v;
        }
    }
    if (used)
        *used = (size_t)(p - start);
    return HDP_OK;
}
