#include "format/copybin.h"

#include <string.h>

#include "core/bytes.h"
#include "core/timeutil.h"

static const char signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

void copybin_header(hdp_buf *b)
{
    uint8_t h[COPYBIN_HEADER_LEN];
    memcpy(h, signature, sizeof(signature));
    memset(h + sizeof(signature), 0, 8); /* no flags (no OIDs), no header extension */
    buf_append_fast(b, h, sizeof(h));
}

void copybin_trailer(hdp_buf *b)
{
    uint8_t t[2];
    put_be16(t, 0xffff);
    buf_append_fast(b, t, 2);
}

void copybin_row(hdp_buf *b, int nfields)
{
    uint8_t t[2];
    put_be16(t, (uint16_t)nfields);
    buf_append_fast(b, t, 2);
}

void copybin_null(hdp_buf *b)
{
    uint8_t t[4];
    put_be32(t, 0xffffffffu);
    buf_append_fast(b, t, 4);
}

void copybin_bytes(hdp_buf *b, const void *p, size_t n)
{
    uint8_t t[4];
    put_be32(t, (uint32_t)n);
    buf_append_fast(b, t, 4);
    buf_append_fast(b, p, n);
}

void copybin_i32(hdp_buf *b, int32_t v)
{
    uint8_t t[8];
    put_be32(t, 4);
    put_be32(t + 4, (uint32_t)v);
    buf_append_fast(b, t, 8);
}

void copybin_i64(hdp_buf *b, int64_t v)
{
    uint8_t t[12];
    put_be32(t, 8);
    put_be64(t + 4, (uint64_t)v);
    buf_append_fast(b, t, 12);
}

void copybin_bool(hdp_buf *b, int v)
{
    uint8_t t[5];
    put_be32(t, 1);
    t[4] = v ? 1 : 0;
    buf_append_fast(b, t, 5);
}

void copybin_ts(hdp_buf *b, int64_t unix_us)
{
    copybin_i64(b, unix_us - PG_EPOCH_UNIX_USEC);
}

void copybin_ts_infinity(hdp_buf *b)
{
    copybin_i64(b, INT64_MAX); /* DT_NOEND */
}

/* numeric_send's form: ndigits, weight, sign, dscale (16 bits each), then ndigits base-10000
 * digits, most significant first; the value is sum(digit[i] * 10000^(weight - i)). Leading
 * and trailing zero digits are left out, as numeric_send does; zero has no digits. */
void copybin_numeric(hdp_buf *b, int64_t unscaled, int scale)
{
    static const uint32_t frac_mul[5] = {1, 1000, 100, 10, 1}; /* scale s: to 4 digits */
    static const uint64_t pow10[5] = {1, 10, 100, 1000, 10000};
    uint64_t mag = unscaled < 0 ? -(uint64_t)unscaled : (uint64_t)unscaled;
    uint64_t ip = mag / pow10[scale];
    uint16_t frac = (uint16_t)(mag % pow10[scale] * frac_mul[scale]); /* one base-10000 digit */
    uint16_t digits[8];
    int n = 0;
    uint16_t ipd[6];
    int ni = 0;
    for (; ip > 0; ip /= 10000)
        ipd[ni++] = (uint16_t)(ip % 10000);
    for (int i = ni - 1; i >= 0; i--)
        digits[n++] = ipd[i];
    int weight = ni - 1; /* -1 when the integer part is zero */
    if (scale > 0)
        digits[n++] = frac;
    int first = 0; /* strip leading zeros (each moves the weight down) and trailing ones */
    while (first < n && digits[first] == 0) {
        first++;
        weight--;
    }
    while (n > first && digits[n - 1] == 0)
        n--;
    int nd = n - first;
    if (nd == 0)
        weight = 0;
    uint8_t t[4 + 8 + 2 * 8];
    put_be32(t, (uint32_t)(8 + 2 * nd));
    put_be16(t + 4, (uint16_t)nd);
    put_be16(t + 6, (uint16_t)(int16_t)weight);
    put_be16(t + 8, unscaled < 0 && nd > 0 ? 0x4000 : 0x0000);
    put_be16(t + 10, (uint16_t)scale);
    for (int i = 0; i < nd; i++)
        put_be16(t + 12 + 2 * i, digits[first + i]);
    buf_append_fast(b, t, (size_t)(12 + 2 * nd));
}
