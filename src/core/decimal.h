/* decimal.h — money as an exact count of cents in an int64.
 *
 * Source money is NUMERIC(12,2); sums of a day's orders fit in int64 cents with room to
 * spare (9.2e16 cents). No float ever touches money. */
#ifndef HDP_DECIMAL_H
#define HDP_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Parses a decimal text ("123.45", "-0.5", "7", "+1.50", "2.500") into cents, exactly:
 * fraction digits beyond the second must be zeros. Returns 0; DECIMAL_INEXACT when the value
 * has a non-zero digit below the cent (3189.551: never rounded, never cut); -1 on anything
 * that is not a plain decimal or does not fit int64 cents. */
#define DECIMAL_INEXACT (-2)
int decimal_parse(const char *s, size_t n, int64_t *cents);

/* The largest magnitude of the source contract's NUMERIC(12,2): 9,999,999,999.99. */
#define DECIMAL_12_2_MAX_CENTS INT64_C(999999999999)

/* Parses money of the contract: decimal_parse, then |cents| <= DECIMAL_12_2_MAX_CENTS.
 * Returns 0, or -1 with *why set to a static reason ("not a decimal", "finer than a cent",
 * "exceeds NUMERIC(12,2)"). */
int decimal_parse_money(const char *s, size_t n, int64_t *cents, const char **why);

/* Writes cents as text with exactly two fraction digits ("-0.05"). out needs 32 bytes. */
size_t decimal_format(int64_t cents, char *out);
void decimal_put(hdp_buf *b, int64_t cents);

/* Overflow-checked a + b; returns -1 on overflow. */
int decimal_add(int64_t a, int64_t b, int64_t *sum);
/* Overflow-checked quantity * unit price in cents. */
int decimal_mul_qty(int64_t cents, int64_t qty, int64_t *out);

#endif
