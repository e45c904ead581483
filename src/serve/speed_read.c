#include "serve/sources.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/speed_model.h"
#include "core/timeutil.h"

int source_watermark(hdp_redis *r, int *has, long long *w, hdp_err *e)
{
    redisReply *rep = NULL;
    *has = 0;
    *w = 0;
    int rc = redis_command(r, &rep, e, "GET %s", BATCH_WATERMARK_KEY);
    if (rc != HDP_OK)
        return rc;
    if (rep->type != REDIS_REPLY_NIL) {
        if (redis_reply_i64(rep, w) != 0)
            rc = hdp_fail(e, "%s holds no segment number", BATCH_WATERMARK_KEY);
        else
            *has = 1;
    }
    freeReplyObject(rep);
    return rc;
}

/* Adds one HGETALL reply (a flat array name, value, ...) to out. */
static int add_hash(day_agg *out, const redisReply *rep, const char *key, hdp_err *e)
{
    if (rep->type == REDIS_REPLY_ERROR)
        return hdp_fail(e, "redis: HGETALL %s: %s", key, rep->str);
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2 != 0)
        return hdp_fail(e, "redis: HGETALL %s: unexpected reply", key);
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        const redisReply *k = rep->element[i], *v = rep->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return hdp_fail(e, "redis: HGETALL %s: unexpected element", key);
        if (agg_add_field(out, k->str, k->len, v->str, v->len, e) != HDP_OK) {
            hdp_err_prefix(e, "%s: ", key);
            return HDP_ERR;
        }
    }
    return HDP_OK;
}

int speed_read_day(hdp_redis *r, const char *date, int has_w, long long w, day_agg *out, hdp_err *e)
{
    char key[96], min[32];
    snprintf(key, sizeof(key), SPEED_DAYS_FMT, date);
    if (has_w)
        snprintf(min, sizeof(min), "(%lld", w);
    else
        snprintf(min, sizeof(min), "-inf");
    redisReply *segs = NULL;
    int rc = redis_command(r, &segs, e, "ZRANGEBYSCORE %s %s +inf", key, min);
    if (rc != HDP_OK)
        return rc;
    if (segs->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(segs);
        return hdp_fail(e, "redis: ZRANGEBYSCORE %s: unexpected reply", key);
    }
    size_t n = segs->elements;
    for (size_t i = 0; i < n && rc == HDP_OK; i++) {
        const redisReply *m = segs->element[i];
        long long seg;
        if (m->type != REDIS_REPLY_STRING || redis_parse_i64(m->str, m->len, &seg) != 0)
            rc = hdp_fail(e, "%s: member is not a segment number", key);
        else
            rc = redis_append(r, e, "HGETALL " SPEED_AGG_FMT, seg, date);
    }
    /* Take every reply queued so far, even after an error, to keep the stream in step. */
    for (size_t i = 0; i < n; i++) {
        redisReply *rep = NULL;
        if (!redis_connected(r))
            break;
        if (rc != HDP_OK) {
            redis_discard(r);
            break;
        }
        char hkey[96];
        snprintf(hkey, sizeof(hkey), SPEED_PREFIX "sp:%.*s:%s", (int)segs->element[i]->len,
                 segs->element[i]->str, date);
        rc = redis_get_reply(r, &rep, e);
        if (rc == HDP_OK) {
            rc = add_hash(out, rep, hkey, e);
            out->segments++;
        }
        freeReplyObject(rep);
    }
    freeReplyObject(segs);
    return rc;
}

int speed_holds_days(hdp_redis *r, int64_t from_day, int64_t to_day, long segment_seconds,
                     int *holds, hdp_err *e)
{
    *holds = 0;
    redisReply *rep = NULL;
    int rc = redis_command(r, &rep, e, "GET %s", SPEED_FLOOR_KEY);
    if (rc != HDP_OK)
        return rc;
    long long floor_seg = 0;
    if (rep->type != REDIS_REPLY_NIL && redis_reply_i64(rep, &floor_seg) != 0)
        rc = hdp_fail(e, "%s holds no segment number", SPEED_FLOOR_KEY);
    freeReplyObject(rep);
    if (rc != HDP_OK)
        return rc;
    /* A day's events commit at or after the day begins, so in segments from its first on. */
    if (segment_seconds <= 0 || floor_seg > from_day * 86400 / segment_seconds)
        return HDP_OK;
    size_t n = (size_t)(to_day - from_day + 1);
    for (int64_t d = from_day; d <= to_day && rc == HDP_OK; d++) {
        char date[11];
        date_format(d, date);
        rc = redis_append(r, e, "EXISTS " SPEED_PREFIX "sp:dropped:%s", date);
    }
    int dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (!redis_connected(r))
            break;
        if (rc != HDP_OK) {
            redis_discard(r);
            break;
        }
        rc = redis_get_reply(r, &rep, e);
        if (rc == HDP_OK && rep->type == REDIS_REPLY_INTEGER && rep->integer != 0)
            dropped = 1;
        freeReplyObject(rep);
        rep = NULL;
    }
    if (rc == HDP_OK)
        *holds = !dropped;
    return rc;
}
