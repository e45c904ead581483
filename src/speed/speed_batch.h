/* speed_batch.h — the deltas of many transactions, merged in memory and written to Redis
 * as one atomic MULTI/EXEC together with the LSN guard (see core/speed_model.h). */
#ifndef HDP_SPEED_BATCH_H
#define HDP_SPEED_BATCH_H

#include <stdint.h>

#include "core/buf.h"
#include "core/strmap.h"

typedef struct speed_batch {
    strmap deltas;      /* "SEG\x1fYYYY-MM-DD\x1fFIELD" → increment */
    strmap segdays;     /* "SEG\x1fYYYY-MM-DD" → 1: index entries to add */
    hdp_buf quarantine; /* JSON records, one per line */
    size_t nquarantine;
    uint64_t end_lsn;  /* commit end LSN of the last transaction in the batch */
    int64_t segment;   /* segment of that transaction */
    int64_t commit_us; /* its commit time, Unix µs (0: unknown, as after a rebuild) */
    size_t ntx;        /* transactions merged */
    int64_t opened_us; /* monotonic time the first transaction was added */
} speed_batch;

void speed_batch_init(speed_batch *b);
void speed_batch_free(speed_batch *b);
void speed_batch_reset(speed_batch *b);

/* Adds delta to a field of the aggregates of (seg, day). day is days since 1970-01-01. */
void speed_batch_add(speed_batch *b, int64_t seg, int64_t day, const char *field, size_t flen,
                     int64_t delta);

/* Appends one quarantine record: reason plus a JSON object of context (may be NULL). */
void speed_batch_quarantine(speed_batch *b, uint64_t lsn, const char *table, const char *reason,
                            const char *detail_json);

#endif
