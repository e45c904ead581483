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
} entry;

struct serve_cache {
    pthread_mutex_t mu;
    pthread_cond_t done;
    int64_t ttl_us;
    entry **v;
    size_t len, max;
};

serve_cache *cache_new(long ttl_ms, size_t max_entries)
{
    serve_cache *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->done, NULL);
    c->ttl_us = (int64_t)ttl_ms * 1000;
    c->max = max_entries ? max_entries : 4096;
    c->v = xcalloc(c->max, sizeof(*c->v));
    return c;
}

static void entry_free(entry *en)
{
    if (en == NULL)
        return;
    free(en->key);
    free(en->body);
    free(en);
}

void cache_free(serve_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->len; i++)
        entry_free(c->v[i]);
    free(c->v);
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
        if (!en->computing && en->waiters == 0 && now - en->born_us >= c->ttl_us)
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

void cache_get(serve_cache *c, const char *key, cache_fill_fn fill, void *ctx, char **body,
               size_t *len, int *status, int *hit)
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
    if (en != NULL && en->body != NULL &&
        (age < c->ttl_us || (en->computing && age < 2 * c->ttl_us))) {
        /* fresh, or stale by less than another ttl while another thread recomputes it: an
         * answer is never more than two windows old */
        copy_out(en, body, len, status);
        pthread_mutex_unlock(&c->mu);
        *hit = 1;
        return;
    }
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
    en->computing = 1;
    pthread_mutex_unlock(&c->mu);

    fill_direct(fill, ctx, key, body, len, status);

    char *copy = xmalloc(*len + 1);
    memcpy(copy, *body, *len + 1);
    pthread_mutex_lock(&c->mu);
    free(en->body);
    en->body = copy;
    en->len = *len;
    en->status = *status;
    en->born_us = mono_us();
    en->computing = 0;
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->mu);
}
