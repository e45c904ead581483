/* decimal.h — money as an exact count of cents in an int64.
 *
 * Source money is NUMERIC(12,2); sums of a day's orders fit in int64 cents with room to
 * spare (9.2e16 cents). No float ever touches money. */
#ifndef HDP_DECIMAL_H
#define HDP_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Parses a decimal text ("123.45", "-0.5", "7", "+1.005") into cents. More than two
 * fraction digits round half away from zero (PostgreSQL's numeric rounding). Returns 0, or
 * -1 on anything that is not a plain decimal or does not fit. */
int decimal_parse(const char *s, size_t n, int64_t *cents);

/* Writes cents as text with exactly two fraction digits ("-0.05"). out needs 32 bytes. */
size_t decimal_format(int64_t cents, char *out);
void decimal_put(hdp_buf *b, int64_t cents);

/* Overflow-checked a + b; returns -1 on overflow. */
int decimal_add(int64_t a, int64_t b, int64_t *sum);
/* Overflow-checked quantity * unit price in cents. */
int decimal_mul_qty(int64_t cents, int64_t qty, int64_t *out);

#endif
