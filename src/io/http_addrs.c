#include "io/http_addrs.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

void http_addr_key_of(const struct sockaddr *sa, http_addr_key *k)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(k, 0, sizeof(*k));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        k->b[0] = 4;
        memcpy(k->b + 1, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, mapped, 12) == 0) {
            k->b[0] = 4;
            memcpy(k->b + 1, a + 12, 4);
        } else {
            k->b[0] = 6;
            memcpy(k->b + 1, a, 8);
        }
    }
}

static size_t hash_key(const http_addr_key *k)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < sizeof(k->b); i++) {
        h ^= k->b[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 29));
}

/* The slot holding k, or the free slot where it would go. */
static size_t find(const http_addrs *t, const http_addr_key *k)
{
    size_t mask = t->cap - 1, i = hash_key(k) & mask;
    while (t->slots[i].count != 0 && memcmp(&t->slots[i].key, k, sizeof(*k)) != 0)
        i = (i + 1) & mask;
    return i;
}

static void grow(http_addrs *t)
{
    http_addrs n = {xcalloc(t->cap ? t->cap * 2 : 64, sizeof(http_addr_slot)),
                    t->cap ? t->cap * 2 : 64, t->len};
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].count != 0)
            n.slots[find(&n, &t->slots[i].key)] = t->slots[i];
    free(t->slots);
    *t = n;
}

int http_addrs_acquire(http_addrs *t, const http_addr_key *k, uint32_t limit)
{
    if ((t->len + 1) * 2 > t->cap)
        grow(t);
    size_t i = find(t, k);
    if (t->slots[i].count == 0) {
        if (limit == 0)
            return 0;
        t->slots[i].key = *k;
        t->len++;
    } else if (t->slots[i].count >= limit) {
        return 0;
    }
    t->slots[i].count++;
    return 1;
}

/* Empties slot i and moves later entries of its probe run back (no tombstones). */
static void remove_at(http_addrs *t, size_t i)
{
    size_t mask = t->cap - 1, j = i;
    t->slots[i].count = 0;
    for (;;) {
        j = (j + 1) & mask;
        if (t->slots[j].count == 0)
            break;
        size_t home = hash_key(&t->slots[j].key) & mask;
        /* j's entry may move to i when i lies cyclically in [home, j) */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            t->slots[i] = t->slots[j];
            t->slots[j].count = 0;
            i = j;
        }
    }
    t->len--;
}

void http_addrs_release(http_addrs *t, const http_addr_key *k)
{
    if (t->cap == 0)
        return;
    size_t i = find(t, k);
    if (t->slots[i].count == 0)
        return;
    if (--t->slots[i].count == 0)
        remove_at(t, i);
}

uint32_t http_addrs_count(const http_addrs *t, const http_addr_key *k)
{
    return t->cap == 0 ? 0 : t->slots[find(t, k)].count;
}

void http_addrs_free(http_addrs *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->len = 0;
}
