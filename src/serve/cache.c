#include "serve/cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

typedef struct entry {
    char *key;
    uint32_t hash;
    char *body; /* NULL until the first fill is done */
    size_t len;
    int status;
    int64_t born_us; /* mono time the body was computed */
    int computing;   /* a fill() is running for this key */
    int waiters;     /* threads waiting on it: it must not be evicted */
    /* a refresh queued for the refresher thread (not started yet): its fill and a copy of
     * the caller's context */
    int queued;
    cache_fill_fn fill;
    void *ctx;
    size_t ctx_len, ctx_cap;
    struct entry *next_queued;
} entry;

struct serve_cache {
    pthread_mutex_t mu;
    pthread_cond_t done; /* a fill finished */
    pthread_cond_t work; /* the refresh queue grew, or stop */
    int64_t ttl_us;
    entry **v;
    size_t len, max;
    entry *queue_head, *queue_tail;
    pthread_t refresher;
    int refresher_started, stop;
};

static void *refresher_main(void *arg);

serve_cache *cache_new(long ttl_ms, size_t max_entries)
{
    serve_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->done, NULL);
    pthread_cond_init(&c->work, NULL);
    c->ttl_us = (int64_t)ttl_ms * 1000;
    c->max = max_entries ? max_entries : 4096;
    c->v = xcalloc(c->max, sizeof(*c->v));
    /* without a refresher, stale answers are refilled by the caller, as with ctx_len 0 */
    if (c->ttl_us > 0)
        c->refresher_started = pthread_create(&c->refresher, NULL, refresher_main, c) == 0;
    return c;
}

static void entry_free(entry *en)
{
    if (en == NULL)
        return;
    free(en->key);
    free(en->body);
    free(en->ctx);
    free(en);
}

void cache_free(serve_cache *c)
{
    if (c == NULL)
        return;
    if (c->refresher_started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_signal(&c->work);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->refresher, NULL);
    }
    for (size_t i = 0; i < c->len; i++)
        entry_free(c->v[i]);
    free(c->v);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static entry *find(serve_cache *c, const char *key, uint32_t h)
{
    for (size_t i = 0; i < c->len; i++)
        if (c->v[i]->hash == h && strcmp(c->v[i]->key, key) == 0)
            return c->v[i];
    return NULL;
}

/* Drops expired entries nobody uses; called with the lock held when the table is full. */
static void sweep(serve_cache *c, int64_t now)
{
    size_t j = 0;
    for (size_t i = 0; i < c->len; i++) {
        entry *en = c->v[i];
        if (!en->computing && !en->queued && en->waiters == 0 && now - en->born_us >= c->ttl_us)
            entry_free(en);
        else
            c->v[j++] = en;
    }
    c->len = j;
}

static void copy_out(const entry *en, char **body, size_t *len, int *status)
{
    *body = xmalloc(en->len + 1);
    memcpy(*body, en->body, en->len + 1);
    *len = en->len;
    *status = en->status;
}

static void fill_direct(cache_fill_fn fill, void *ctx, const char *key, char **body, size_t *len,
                        int *status)
{
    hdp_buf b = HDP_BUF_INIT;
    *status = 500;
    fill(ctx, key, &b, status);
    *len = b.len;
    *body = b.data ? buf_detach(&b) : xstrdup("");
}

/* Stores a fill's answer (body, malloc'ed, now the entry's) in en and wakes its waiters;
 * called without the lock. */
static void store(serve_cache *c, entry *en, char *body, size_t len, int status)
{
    pthread_mutex_lock(&c->mu);
    free(en->body);
    en->body = body;
    en->len = len;
    en->status = status;
    en->born_us = mono_us();
    en->computing = 0;
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->mu);
}

/* Queues en for the refresher with a copy of ctx; the lock is held. */
static void enqueue(serve_cache *c, entry *en, cache_fill_fn fill, const void *ctx, size_t ctx_len)
{
    if (en->ctx_cap < ctx_len) {
        free(en->ctx);
        en->ctx = xmalloc(ctx_len);
        en->ctx_cap = ctx_len;
    }
    memcpy(en->ctx, ctx, ctx_len);
    en->ctx_len = ctx_len;
    en->fill = fill;
    en->queued = 1;
    en->next_queued = NULL;
    if (c->queue_tail != NULL)
        c->queue_tail->next_queued = en;
    else
        c->queue_head = en;
    c->queue_tail = en;
    pthread_cond_signal(&c->work);
}

/* Takes en out of the refresh queue (a caller fills it itself); the lock is held. */
static void unqueue(serve_cache *c, entry *en)
{
    entry **pp = &c->queue_head, *prev = NULL;
    while (*pp != NULL && *pp != en) {
        prev = *pp;
        pp = &(*pp)->next_queued;
    }
    if (*pp == en) {
        *pp = en->next_queued;
        if (c->queue_tail == en)
            c->queue_tail = prev;
    }
    en->queued = 0;
    en->next_queued = NULL;
}

/* Refills stale answers off the request path, so that no worker thread — and none of the
 * connections it serves — waits for a fill while a stale answer may still be served. */
static void *refresher_main(void *arg)
{
    serve_cache *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->stop && c->queue_head == NULL)
            pthread_cond_wait(&c->work, &c->mu);
        if (c->stop)
            break;
        entry *en = c->queue_head;
        unqueue(c, en);
        en->computing = 1;
        pthread_mutex_unlock(&c->mu);
        char *body;
        size_t len;
        int status;
        fill_direct(en->fill, en->ctx, en->key, &body, &len, &status);
        store(c, en, body, len, status);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

void cache_get(serve_cache *c, const char *key, cache_fill_fn fill, void *ctx, size_t ctx_len,
               char **body, size_t *len, int *status, int *hit)
{
    *hit = 0;
    if (c->ttl_us <= 0) {
        fill_direct(fill, ctx, key, body, len, status);
        return;
    }
    uint32_t h = hash_str(key);
    pthread_mutex_lock(&c->mu);
    entry *en = find(c, key, h);
    int64_t now = mono_us();
    int64_t age = en != NULL ? now - en->born_us : 0;
    int ahead = ctx_len > 0 && c->refresher_started;
    if (en != NULL && en->body != NULL && age < 2 * c->ttl_us) {
        /* With the refresher, a refill starts half a window early: the new answer is ready
         * about when the old one would have expired, so answers are no older than they were
         * when the request that found one expired refilled it itself (the merged answers'
         * p99 behind commits went from 85 to 110 ms without it). */
        if (age >= (ahead ? c->ttl_us / 2 : c->ttl_us) && !en->computing && !en->queued) {
            if (ahead)
                enqueue(c, en, fill, ctx, ctx_len);
            else
                goto fill_here;
        }
        /* fresh, or stale by less than another ttl while it is recomputed: an answer is never
         * more than two windows old */
        copy_out(en, body, len, status);
        pthread_mutex_unlock(&c->mu);
        *hit = 1;
        return;
    }
    if (en != NULL && en->queued)
        unqueue(c, en); /* too old to serve and not started yet: fill it here, now */
    if (en != NULL && en->computing) {
        /* first fill, or a stale answer too old to serve: wait for the fill */
        en->waiters++;
        while (en->computing)
            pthread_cond_wait(&c->done, &c->mu);
        en->waiters--;
        if (en->body != NULL) {
            copy_out(en, body, len, status);
            pthread_mutex_unlock(&c->mu);
            *hit = 1;
            return;
        }
    }
    if (en == NULL) {
        if (c->len == c->max)
            sweep(c, now);
        if (c->len == c->max) {
            pthread_mutex_unlock(&c->mu);
            fill_direct(fill, ctx, key, body, len, status);
            return;
        }
        en = xcalloc(1, sizeof(*en));
        en->key = xstrdup(key);
        en->hash = h;
        c->v[c->len++] = en;
    }
fill_here:
    en->computing = 1;
    pthread_mutex_unlock(&c->mu);

    fill_direct(fill, ctx, key, body, len, status);
    char *copy = xmalloc(*len + 1); /* the caller's answer and the entry's */
    memcpy(copy, *body, *len + 1);
    store(c, en, copy, *len, *status);
}
