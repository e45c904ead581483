/* render.h — the JSON bodies of the HTTP API, built from aggregates (pure, no I/O).
 *
 * Money is a JSON string with two decimals ("123.45"); `total_revenue` alone is a JSON
 * number, printed from the exact cents (integer part, '.', two digits), never via float. */
#ifndef HDP_SERVE_RENDER_H
#define HDP_SERVE_RENDER_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "serve/agg.h"
#include "serve/query.h"

/* The batch/speed split behind one answer: the watermark that was read, and both parts,
 * summed over the query's days. degraded: the batch layer was away, so the answer is the
 * speed layer's alone (every segment; batch empty, watermark not used). */
typedef struct serve_answer {
    int has_watermark;
    long long watermark;
    int degraded;
    const day_agg *batch;
    const day_agg *speed;
    const day_agg *total;  /* batch + speed */
    const hdp_buf *points; /* timeseries: the points rendered day by day (render_points) */
} serve_answer;

/* "123.45" with the quotes / 123.45 as a bare JSON number. */
void render_money(hdp_buf *b, int64_t cents);
void render_money_number(hdp_buf *b, int64_t cents);

/* Average of cents over orders, rounded half away from zero to the cent, in exact integer
 * arithmetic. Returns 0, or -1 when orders <= 0. */
int avg_check_cents(int64_t cents, int64_t orders, int64_t *avg);

/* Sorts named buckets by cents descending, then name ascending (bytewise). */
void sort_by_revenue(agg_named *items, size_t n);

/* {"error":{"code":...,"message":...}} */
void render_error(hdp_buf *b, const char *code, const char *message);

/* Appends one day's timeseries points for interval iv to points, comma-separated from
 * those already there: every day for IV_DAY, the non-empty hours or minutes otherwise. */
void render_points(hdp_buf *points, serve_interval iv, int64_t day, const day_agg *t);

/* Renders the body for q's endpoint. HDP_ERR (message in e) only on arithmetic overflow. */
int render_answer(hdp_buf *b, const serve_query *q, const serve_answer *a, hdp_err *e);

#endif
