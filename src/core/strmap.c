#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a: short keys, good enough spread, no dependency. */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

void strmap_free(strmap *m)
{
    free(m->entries);
    free(m->slots);
    buf_free(&m->arena);
    *m = (strmap)STRMAP_INIT;
}

void strmap_clear(strmap *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof(uint32_t));
    m->len = 0;
    buf_reset(&m->arena);
}

static void rehash(strmap *m, size_t cap)
{
    free(m->slots);
    m->slots = xcalloc(cap, sizeof(uint32_t));
    m->cap = cap;
    for (size_t i = 0; i < m->len; i++) {
        size_t s = (size_t)m->entries[i].hash & (cap - 1);
        while (m->slots[s])
            s = (s + 1) & (cap - 1);
        m->slots[s] = (uint32_t)(i + 1);
    }
}

static long find(const strmap *m, const char *key, size_t len, uint64_t h, size_t *slot)
{
    size_t s = (size_t)h & (m->cap - 1);
    while (m->slots[s]) {
        const strmap_entry *e = &m->entries[m->slots[s] - 1];
        if (e->hash == h && e->key_len == len &&
            memcmp(m->arena.data + e->key_off, key, len) == 0) {
            *slot = s;
            return (long)(m->slots[s] - 1);
        }
        s = (s + 1) & (m->cap - 1);
    }
    *slot = s;
    return -1;
}

size_t strmap_add(strmap *m, const char *key, size_t len, int64_t delta)
{
    if ((m->len + 1) * 10 > m->cap * 7)
        rehash(m, m->cap ? m->cap * 2 : 256);
    uint64_t h = hash_bytes(key, len);
    size_t slot;
    long idx = find(m, key, len, h, &slot);
    if (idx >= 0) {
        m->entries[idx].val += delta;
        return (size_t)idx;
    }
    if (m->len == m->entries_cap) {
        m->entries_cap = m->entries_cap ? m->entries_cap * 2 : 256;
        m->entries = xrealloc(m->entries, m->entries_cap * sizeof(strmap_entry));
    }
    strmap_entry *e = &m->entries[m->len];
    e->key_off = m->arena.len;
    e->key_len = (uint32_t)len;
    e->hash = h;
    e->val = delta;
    buf_append(&m->arena, key, len);
    buf_putc(&m->arena, '\0');
    m->slots[slot] = (uint32_t)(++m->len);
    return m->len - 1;
}

int strmap_get(const strmap *m, const char *key, size_t len, int64_t *val)
{
    if (m->cap == 0)
        return 0;
    size_t slot;
    long idx = find(m, key, len, hash_bytes(key, len), &slot);
    if (idx < 0)
        return 0;
    *val = m->entries[idx].val;
    return 1;
}
