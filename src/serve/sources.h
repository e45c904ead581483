/* sources.h — where the serving layer's numbers come from, and the serving rule.
 *
 * answer(day) = batch(segments <= W) + speed(segments > W), with W read once per request
 * from hdp:batch:watermark (absent: no batch layer, watermark null, batch part zero). */
#ifndef HDP_SERVE_SOURCES_H
#define HDP_SERVE_SOURCES_H

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

/* The batch views' part of a day: segments <= w. There is no batch layer yet, so this adds
 * nothing. TODO(batch): read ClickHouse's batch views (facts up to watermark W) here; the
 * signature stays, with a ClickHouse client in place of the unused context. */
int batch_read_day(void *ctx, const char *date, int has_w, long long w, day_agg *out, hdp_err *e);

#endif
