/* strmap.h — open-addressing hash map from byte-string keys to int64 counters, with
 * insertion-ordered iteration. Used to merge many increments into one write per key.
 * Keys are copied into one arena owned by the map. */
#ifndef HDP_STRMAP_H
#define HDP_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct strmap_entry {
    size_t key_off; /* into arena */
    uint32_t key_len;
    uint64_t hash;
    int64_t val;
} strmap_entry;

typedef struct strmap {
    strmap_entry *entries; /* dense, insertion order */
    size_t len, entries_cap;
    uint32_t *slots; /* index+1 into entries, 0 = empty */
    size_t cap;
    hdp_buf arena;
} strmap;

#define STRMAP_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, NULL, 0, HDP_BUF_INIT                                                          \
    }

void strmap_free(strmap *m);
void strmap_clear(strmap *m);
/* Adds delta to key's value (a new key starts at 0). Returns the entry index. */
size_t strmap_add(strmap *m, const char *key, size_t len, int64_t delta);
/* Looks up a key; returns 1 and fills *val when present. */
int strmap_get(const strmap *m, const char *key, size_t len, int64_t *val);
static inline const char *strmap_key(const strmap *m, size_t i)
{
    return m->arena.data + m->entries[i].key_off;
}

#endif
