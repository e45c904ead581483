/* timeutil.h — UTC calendar arithmetic on microseconds since the Unix epoch.
 * No time zone database, no locale: civil dates computed directly (Hinnant's algorithms). */
#ifndef HDP_TIMEUTIL_H
#define HDP_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define USEC_PER_SEC INT64_C(1000000)
#define USEC_PER_DAY (INT64_C(86400) * USEC_PER_SEC)
/* PostgreSQL counts from 2000-01-01; Unix from 1970-01-01. */
#define PG_EPOCH_UNIX_USEC (INT64_C(946684800) * USEC_PER_SEC)

int64_t days_from_civil(int y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);

/* floor division, correct for negatives */
int64_t floor_div(int64_t a, int64_t b);

/* Parses a PostgreSQL timestamp/timestamptz text ("2026-11-23 13:05:01.123456+00",
 * "+05:30" offsets, no fraction, 'T' separator) into Unix µs. Returns 0 or -1. */
int ts_parse(const char *s, size_t n, int64_t *unix_us);

/* Parses "YYYY-MM-DD" strictly (real calendar date). Returns 0 or -1. */
int date_parse(const char *s, int64_t *day);

/* Formats: "YYYY-MM-DD" (11 bytes), "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" (28 bytes). */
void date_format(int64_t day, char out[11]);
void ts_format(int64_t unix_us, char out[32]);

int64_t now_unix_us(void);
int64_t mono_us(void);

#endif
