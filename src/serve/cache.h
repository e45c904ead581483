/* cache.h — rendered answers cached by key for a short time, with single flight.
 *
 * cache_get() returns a fresh copy of the answer under key: from the cache while it is
 * younger than ttl, else computed by fill(). Concurrent misses on one key run fill() once:
 * the others serve the previous (stale) answer while it is recomputed, or wait for it when
 * there is none — or when it is older than two ttl: no answer is ever served more than 2 × ttl
 * after it was computed. With a refresher (ctx_len > 0), an answer half a window old is
 * recomputed by the cache's own thread while it is still served, so no request waits for a
 * fill (nor do the other connections of its worker thread) and the new answer is ready when
 * the old one expires. Every answer fill() produces is cached, errors included (a 503 is
 * then retried after ttl at most, so a dead Redis is asked ~1/ttl times a second per key). */
#ifndef HDP_SERVE_CACHE_H
#define HDP_SERVE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct serve_cache serve_cache;

/* fill writes the body and HTTP status for key; it runs without the cache's lock held. */
typedef void (*cache_fill_fn)(void *ctx, const char *key, hdp_buf *body, int *status);

/* ttl_ms 0 disables caching (every call fills); max_entries bounds memory (0: 4096). */
serve_cache *cache_new(long ttl_ms, size_t max_entries);
void cache_free(serve_cache *c); /* accepts NULL */

/* On return *body (malloc'ed, caller frees) and *len hold the answer, *status its HTTP
 * status; *hit is 1 when no fill() ran in this call. The refresher runs fill() on a copy of
 * the ctx_len bytes at ctx, so they must hold no pointer into the caller's stack; with
 * ctx_len 0 the caller refills a stale answer itself. */
void cache_get(serve_cache *c, const char *key, cache_fill_fn fill, void *ctx, size_t ctx_len,
               char **body, size_t *len, int *status, int *hit);

#endif
