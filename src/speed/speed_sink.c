#include "speed/speed_sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/speed_model.h"
#include "core/timeutil.h"

int speed_sink_load(hdp_redis *r, speed_state *st, hdp_err *e)
{
    memset(st, 0, sizeof(*st));
    st->segment = -1;
    redisReply *rep;
    int rc = redis_command(r, &rep, e, "HMGET %s lsn segment slot_created held", SPEED_STATE_KEY);
    if (rc != HDP_OK) /* RETRY: away or loading; ERR: refused (NOAUTH, WRONGPASS, ...) */
        return rc;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
        if (rep->element[0]->type == REDIS_REPLY_STRING) {
            st->exists = 1;
            st->lsn = strtoull(rep->element[0]->str, NULL, 10);
        }
        if (rep->element[1]->type == REDIS_REPLY_STRING)
            st->segment = strtoll(rep->element[1]->str, NULL, 10);
        if (rep->element[2]->type == REDIS_REPLY_STRING)
            st->slot_created = strtoull(rep->element[2]->str, NULL, 10);
        if (rep->element[3]->type == REDIS_REPLY_STRING)
            st->held = strtoull(rep->element[3]->str, NULL, 10);
        if (st->held < st->lsn)
            st->held = st->lsn;
    } else {
        rc = hdp_fail(e, "redis HMGET %s: unexpected reply (not an array)", SPEED_STATE_KEY);
    }
    freeReplyObject(rep);
    return rc;
}

void speed_sink_fault(hdp_redis *r, const char *reason)
{
    hdp_buf b = HDP_BUF_INIT;
    char ts[32];
    ts_format(now_unix_us(), ts);
    buf_puts(&b, "{\"reason\":");
    buf_put_json_str(&b, reason, strlen(reason));
    buf_printf(&b, ",\"at\":\"%s\"}", ts);
    redisReply *rep = NULL;
    hdp_err ignored;
    if (redis_command(r, &rep, &ignored, "SET %s %b", SPEED_FAULT_KEY, b.data, b.len) == HDP_OK)
        freeReplyObject(rep);
    buf_free(&b);
}

/* WATCHes the state and checks it still holds expect_lsn: HDP_OK, HDP_RETRY (connection) or
 * HDP_ERR with *lost set and e saying what was found. */
static int check_guard(hdp_redis *r, uint64_t expect_lsn, int *lost, hdp_err *e)
{
    int rc = redis_append(r, e, "WATCH %s", SPEED_STATE_KEY);
    if (rc == HDP_OK)
        rc = redis_append(r, e, "HGET %s lsn", SPEED_STATE_KEY);
    redisReply *w = NULL, *v = NULL;
    if (rc == HDP_OK)
        rc = redis_get_reply(r, &w, e);
    if (rc == HDP_OK)
        rc = redis_get_reply(r, &v, e);
    if (rc != HDP_OK) { /* RETRY: the connection broke; ERR: refused (credentials) */
        freeReplyObject(w);
        redis_disconnect(r);
        return rc;
    }
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)expect_lsn);
    if (w->type == REDIS_REPLY_ERROR) {
        rc = hdp_fail(e, "redis WATCH: %s", w->str);
    } else if (v->type == REDIS_REPLY_NIL) {
        *lost = 1;
        rc = hdp_fail(e, "Redis lost the speed layer's data: %s is gone (expected LSN %s there)",
                      SPEED_STATE_KEY, want);
    } else if (v->type != REDIS_REPLY_STRING || strcmp(v->str, want) != 0) {
        *lost = 1;
        rc = hdp_fail(e, "the speed layer's state changed under it: %s holds LSN %s, expected %s",
                      SPEED_STATE_KEY, v->type == REDIS_REPLY_STRING ? v->str : "(not a string)",
                      want);
    }
    freeReplyObject(w);
    freeReplyObject(v);
    if (rc != HDP_OK) {
        redisReply *u = NULL;
        hdp_err ignored;
        if (redis_command(r, &u, &ignored, "UNWATCH") == HDP_OK)
            freeReplyObject(u);
    }
    return rc;
}

int speed_sink_hold(hdp_redis *r, uint64_t expect_lsn, uint64_t held, int *lost, hdp_err *e)
{
    *lost = 0;
    int rc = check_guard(r, expect_lsn, lost, e);
    if (rc != HDP_OK)
        return rc;
    char h[32];
    snprintf(h, sizeof(h), "%llu", (unsigned long long)held);
    redisReply *m = NULL, *q = NULL, *x = NULL;
    rc = redis_append(r, e, "MULTI");
    if (rc == HDP_OK)
        rc = redis_append(r, e, "HSET %s held %s", SPEED_STATE_KEY, h);
    if (rc == HDP_OK)
        rc = redis_append(r, e, "EXEC");
    if (rc == HDP_OK)
        rc = redis_get_reply(r, &m, e);
    if (rc == HDP_OK)
        rc = redis_get_reply(r, &q, e);
    if (rc == HDP_OK)
        rc = redis_get_reply(r, &x, e);
    if (rc == HDP_OK && x->type == REDIS_REPLY_NIL) {
        *lost = 1;
        rc = hdp_fail(e,
                      "the speed layer's state changed while it was written (%s touched by "
                      "someone else)",
                      SPEED_STATE_KEY);
    } else if (rc == HDP_OK && x->type != REDIS_REPLY_ARRAY) {
        rc = hdp_fail(e, "redis EXEC failed: %s",
                      x->type == REDIS_REPLY_ERROR ? x->str : "transaction aborted");
    } else if (rc != HDP_OK) {
        redis_disconnect(r);
        rc = HDP_RETRY;
    }
    freeReplyObject(m);
    freeReplyObject(q);
    freeReplyObject(x);
    return rc;
}

/* A list of key names (owned copies). */
typedef struct lake_keys_t {
    char **v;
    size_t n, cap;
} lake_keys_t;

static void keys_add(lake_keys_t *k, const char *s)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 256;
        k->v = xrealloc(k->v, k->cap * sizeof(char *));
    }
    k->v[k->n++] = xstrdup(s);
}

static void keys_free(lake_keys_t *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
    memset(k, 0, sizeof(*k));
}

/* Queues one command (binary safe); a failure here is a lost connection. */
static void append(hdp_redis *r, int argc, const char **argv, const size_t *lens, int *failed)
{
    hdp_err ignored;
    if (!*failed && redis_append_argv(r, &ignored, argc, argv, lens) != HDP_OK)
        *failed = 1;
}

/* Queues the batch's increments and index entries (and, with quarantine, its quarantine
 * records) inside an open MULTI; counts the queued commands in *ncmds. */
static void queue_batch(hdp_redis *r, const speed_batch *b, int quarantine, size_t *ncmds,
                        int *failed)
{
    const char *av[5];
    size_t al[5];
    char key[400], num[32];
    size_t n = 0;
    for (size_t i = 0; i < b->deltas.len; i++) {
        const strmap_entry *en = &b->deltas.entries[i];
        if (en->val == 0)
            continue;
        const char *k = strmap_key(&b->deltas, i);
        const char *s1 = memchr(k, '\x1f', en->key_len);
        const char *s2 = s1 ? memchr(s1 + 1, '\x1f', en->key_len - (size_t)(s1 + 1 - k)) : NULL;
        if (s2 == NULL)
            continue; /* cannot happen: keys are built by speed_batch_add */
        int kl = snprintf(key, sizeof(key), SPEED_PREFIX "sp:%.*s:%.*s", (int)(s1 - k), k,
                          (int)(s2 - s1 - 1), s1 + 1);
        av[0] = "HINCRBY";
        al[0] = 7;
        av[1] = key;
        al[1] = (size_t)kl;
        av[2] = s2 + 1;
        al[2] = en->key_len - (size_t)(s2 + 1 - k);
        al[3] = (size_t)snprintf(num, sizeof(num), "%lld", (long long)en->val);
        av[3] = num;
        append(r, 4, av, al, failed);
        n++;
    }
    int64_t last_seg = -1;
    for (size_t i = 0; i < b->segdays.len; i++) {
        const char *k = strmap_key(&b->segdays, i);
        const char *s1 = strchr(k, '\x1f');
        int sl = (int)(s1 - k);
        int kl = snprintf(key, sizeof(key), SPEED_DAYS_FMT, s1 + 1);
        snprintf(num, sizeof(num), "%.*s", sl, k);
        av[0] = "ZADD";
        al[0] = 4;
        av[1] = key;
        al[1] = (size_t)kl;
        av[2] = num;
        al[2] = strlen(num);
        av[3] = num;
        al[3] = al[2];
        append(r, 4, av, al, failed);
        n++;
        int64_t seg = strtoll(num, NULL, 10);
        if (seg != last_seg) {
            av[1] = SPEED_SEGMENTS_KEY;
            al[1] = strlen(SPEED_SEGMENTS_KEY);
            append(r, 4, av, al, failed);
            n++;
            last_seg = seg;
        }
    }
    if (quarantine && b->nquarantine) {
        const char *p = b->quarantine.data, *end = p + b->quarantine.len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            av[0] = "LPUSH";
            al[0] = 5;
            av[1] = SPEED_QUAR_KEY;
            al[1] = strlen(SPEED_QUAR_KEY);
            av[2] = p;
            al[2] = len;
            append(r, 3, av, al, failed);
            n++;
            p += len + 1;
        }
        av[0] = "LTRIM";
        al[0] = 5;
        av[2] = "0";
        al[2] = 1;
        av[3] = "9999";
        al[3] = 4;
        append(r, 4, av, al, failed);
        av[0] = "INCRBY";
        al[0] = 6;
        av[1] = SPEED_QUARN_KEY;
        al[1] = strlen(SPEED_QUARN_KEY);
        al[2] = (size_t)snprintf(num, sizeof(num), "%zu", b->nquarantine);
        av[2] = num;
        append(r, 3, av, al, failed);
        n += 2;
    }
    *ncmds += n;
}

/* Sends EXEC's companions and reads every reply of the transaction (ncmds of them); only
 * EXEC's decides. A queued command's error aborts EXEC; a nil EXEC means a WATCHed key
 * changed (*lost). */
static int read_transaction(hdp_redis *r, size_t ncmds, int failed, int *lost, hdp_err *e)
{
    if (failed) {
        redis_disconnect(r);
        return hdp_retry(e, "redis: cannot queue the batch (connection lost)");
    }
    int rc = HDP_OK;
    for (size_t i = 0; i < ncmds; i++) {
        redisReply *rep = NULL;
        int got = redis_get_reply(r, &rep, e);
        if (got != HDP_OK)
            return got;
        if (i + 1 == ncmds) {
            if (rep->type == REDIS_REPLY_NIL) { /* a WATCHed key changed: FLUSHALL, a writer */
                *lost = 1;
                rc = hdp_fail(e,
                              "the speed layer's state changed while a batch was written "
                              "(%s touched by someone else); nothing was applied",
                              SPEED_STATE_KEY);
            } else if (rep->type != REDIS_REPLY_ARRAY) {
                rc = hdp_fail(e, "redis EXEC failed: %s",
                              rep->type == REDIS_REPLY_ERROR ? rep->str : "transaction aborted");
            }
        } else if (rep->type == REDIS_REPLY_ERROR && rc == HDP_OK) {
            rc = hdp_fail(e, "redis rejected a queued command: %s", rep->str);
        }
        freeReplyObject(rep);
    }
    return rc;
}

/* HSET of a state: lsn (and held), segment, closed, updated, and the commit time of the
 * newest transaction applied when known (what "live figures up to ..." reads). */
static void queue_state(hdp_redis *r, uint64_t lsn_v, uint64_t held_v, int64_t segment,
                        int64_t commit_us, int *failed)
{
    char lsn[32], held[32], seg[32], closed[32], upd[32], commit[32];
    snprintf(lsn, sizeof(lsn), "%llu", (unsigned long long)lsn_v);
    snprintf(held, sizeof(held), "%llu", (unsigned long long)held_v);
    snprintf(seg, sizeof(seg), "%lld", (long long)segment);
    snprintf(closed, sizeof(closed), "%lld", (long long)(segment - 1));
    snprintf(upd, sizeof(upd), "%lld", (long long)now_unix_us());
    snprintf(commit, sizeof(commit), "%lld", (long long)commit_us);
    const char *hv[] = {"HSET", SPEED_STATE_KEY, "lsn", lsn,    "segment", seg,      "closed",
                        closed, "updated",       upd,   "held", held,      "commit", commit};
    size_t hl[14];
    int n = commit_us > 0 ? 14 : 12;
    for (int i = 0; i < n; i++)
        hl[i] = strlen(hv[i]);
    append(r, n, hv, hl, failed);
}

static void queue1(hdp_redis *r, int *failed, const char *a, const char *b, const char *c)
{
    const char *av[3] = {a, b, c};
    size_t al[3] = {strlen(a), b ? strlen(b) : 0, c ? strlen(c) : 0};
    append(r, c ? 3 : b ? 2 : 1, av, al, failed);
}

int speed_sink_write(hdp_redis *r, const speed_batch *b, uint64_t expect_lsn, int *lost, hdp_err *e)
{
    *lost = 0;
    int guard = check_guard(r, expect_lsn, lost, e);
    if (guard != HDP_OK)
        return guard;
    int failed = 0;
    size_t ncmds = 4; /* MULTI, HSET state, INCR, EXEC */
    queue1(r, &failed, "MULTI", NULL, NULL);
    queue_batch(r, b, 1, &ncmds, &failed);
    queue_state(r, b->end_lsn, b->end_lsn, b->segment, b->commit_us, &failed);
    queue1(r, &failed, "INCR", SPEED_VERSION_KEY, NULL);
    queue1(r, &failed, "EXEC", NULL, NULL);
    return read_transaction(r, ncmds, failed, lost, e);
}

int speed_sink_replace(hdp_redis *r, const speed_batch *b, uint64_t slot_lsn, int64_t floor_seg,
                       hdp_err *e)
{
    /* every aggregate key first (SCAN, outside the transaction: hdp speed is stopped) */
    lake_keys_t old = {0};
    char cursor[32] = "0";
    int rc = HDP_OK;
    do {
        redisReply *rep = NULL;
        rc = redis_command(r, &rep, e, "SCAN %s MATCH " SPEED_PREFIX "sp:* COUNT 1000", cursor);
        if (rc != HDP_OK)
            break;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
            snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
            for (size_t i = 0; i < rep->element[1]->elements; i++)
                keys_add(&old, rep->element[1]->element[i]->str);
        } else {
            snprintf(cursor, sizeof(cursor), "0");
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0") != 0);
    if (rc != HDP_OK) {
        keys_free(&old);
        return rc;
    }
    int failed = 0, lost = 0;
    size_t ncmds = 0;
    queue1(r, &failed, "MULTI", NULL, NULL);
    ncmds++;
    for (size_t i = 0; i < old.n; i++, ncmds++)
        queue1(r, &failed, "DEL", old.v[i], NULL);
    keys_free(&old);
    queue1(r, &failed, "DEL", SPEED_STATE_KEY, NULL);
    queue1(r, &failed, "DEL", SPEED_FAULT_KEY, NULL);
    ncmds += 2;
    queue_batch(r, b, 0, &ncmds, &failed);
    queue_state(r, b->end_lsn, slot_lsn, b->segment, b->commit_us, &failed);
    char slot[32], fl[32];
    snprintf(slot, sizeof(slot), "%llu", (unsigned long long)slot_lsn);
    snprintf(fl, sizeof(fl), "%lld", (long long)floor_seg);
    const char *hv[] = {"HSET", SPEED_STATE_KEY, "slot_created", slot};
    size_t hl[4] = {4, strlen(SPEED_STATE_KEY), 12, strlen(slot)};
    append(r, 4, hv, hl, &failed);
    queue1(r, &failed, "SET", SPEED_FLOOR_KEY, fl);
    queue1(r, &failed, "INCR", SPEED_VERSION_KEY, NULL);
    queue1(r, &failed, "EXEC", NULL, NULL);
    ncmds += 5;
    return read_transaction(r, ncmds, failed, &lost, e);
}
