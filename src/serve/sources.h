/* sources.h — where the serving layer's numbers come from, and the serving rule.
 *
 * answer(day) = batch(segments <= W) + speed(segments > W), with W read once per request
 * from hdp:batch:watermark (absent: no batch layer yet, watermark null, batch part zero). */
#ifndef HDP_SERVE_SOURCES_H
#define HDP_SERVE_SOURCES_H

#include <stdint.h>

#include "core/err.h"
#include "io/redis.h"
#include "serve/agg.h"

/* Reads W: *has = 0 when the key is absent. A value that is not an integer is HDP_ERR. */
int source_watermark(hdp_redis *r, int *has, long long *w, hdp_err *e);

/* Sums the speed layer's hashes hdp:sp:<seg>:<date> of every segment listed in
 * hdp:sp:days:<date> with seg > w (every segment when !has_w) into out (agg_init()ed by the
 * caller). One ZRANGEBYSCORE, then the HGETALLs pipelined. HDP_RETRY when Redis is away. */
int speed_read_day(hdp_redis *r, const char *date, int has_w, long long w, day_agg *out,
                   hdp_err *e);

/* Whether the speed layer alone still holds every transaction of the days from_day..to_day
 * (what a degraded answer needs while the batch layer is away): publish dropped none of
 * their buckets (hdp:sp:dropped:<day>), and the floor a rebuild left (hdp:sp:floor) is at or
 * below the first segment of from_day. HDP_RETRY when Redis is away. */
int speed_holds_days(hdp_redis *r, int64_t from_day, int64_t to_day, long segment_seconds,
                     int *holds, hdp_err *e);

/* The batch views (ClickHouse facts, sql/clickhouse/10_facts.sql). NULL when no ClickHouse
 * is configured (an empty URL); e set when the URL is bad. Thread-safe. */
typedef struct batch_source batch_source;
batch_source *batch_source_new(const char *clickhouse_url, hdp_err *e);
void batch_source_free(batch_source *b); /* NULL is a no-op */

/* Adds the batch part of a day — facts of segments <= w — to out, cached by (day, w).
 * HDP_RETRY when ClickHouse is away (and, for a second after, at once), or when none is
 * configured (b NULL): a watermark then names batch data this server cannot read. */
int batch_read_day(batch_source *b, const char *date, long long w, day_agg *out, hdp_err *e);

/* Asks ClickHouse for SELECT 1 (fails fast for a second after a failure). HDP_ERR when none
 * is configured, HDP_RETRY when it is away. */
int batch_source_ping(batch_source *b, hdp_err *e);

#endif
