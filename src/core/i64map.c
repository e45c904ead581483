#include "core/i64map.h"

#include <stdlib.h>

#include "core/buf.h"

static size_t slot_of(int64_t key, size_t cap)
{
    uint64_t h = (uint64_t)key * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 17) & (cap - 1);
}

void i64map_free(i64map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    *m = (i64map)I64MAP_INIT;
}

void i64map_clear(i64map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        m->used[i] = 0;
    m->len = 0;
}

static void grow(i64map *m)
{
    i64map n = I64MAP_INIT;
    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = xmalloc(n.cap * sizeof(int64_t));
    n.vals = xmalloc(n.cap * sizeof(int64_t));
    n.used = xcalloc(n.cap, 1);
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i])
            i64map_put(&n, m->keys[i], m->vals[i]);
    i64map_free(m);
    *m = n;
}

void i64map_put(i64map *m, int64_t key, int64_t val)
{
    if ((m->len + 1) * 10 > m->cap * 7)
        grow(m);
    size_t i = slot_of(key, m->cap);
    while (m->used[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->used[i]) {
        m->used[i] = 1;
        m->keys[i] = key;
        m->len++;
    }
    m->vals[i] = val;
}

int i64map_get(const i64map *m, int64_t key, int64_t *val)
{
    if (m->cap == 0)
        return 0;
    size_t i = slot_of(key, m->cap);
    while (m->used[i]) {
        if (m->keys[i] == key) {
            *val = m->vals[i];
            return 1;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return 0;
}
