#include "vault/hkmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

void hkmap_init(hkmap *m, size_t vsize)
{
    memset(m, 0, sizeof(*m));
    m->vsize = vsize;
}

void hkmap_free(hkmap *m)
{
    free(m->slots);
    free(m->used);
    m->slots = NULL;
    m->used = NULL;
    m->cap = m->len = 0;
}

static int is_used(const uint64_t *used, size_t i)
{
    return (used[i / 64] >> (i % 64)) & 1;
}

/* The slot of key in (slots, used, cap): where it is, or the free slot where it goes. */
static size_t find(const uint8_t *slots, const uint64_t *used, size_t cap, size_t width,
                   const uint8_t key[VH_LEN])
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    size_t mask = cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask)
        if (!is_used(used, i) || memcmp(slots + i * width, key, VH_LEN) == 0)
            return i;
}

static void rehash(hkmap *m, size_t cap)
{
    size_t width = VH_LEN + m->vsize;
    uint8_t *slots = xmalloc(cap * width);
    uint64_t *used = xcalloc((cap + 63) / 64, sizeof(*used));
    for (size_t i = 0; i < m->cap; i++)
        if (is_used(m->used, i)) {
            size_t j = find(slots, used, cap, width, m->slots + i * width);
            memcpy(slots + j * width, m->slots + i * width, width);
            used[j / 64] |= UINT64_C(1) << (j % 64);
        }
    free(m->slots);
    free(m->used);
    m->slots = slots;
    m->used = used;
    m->cap = cap;
}

/* Doubles the capacity before a put would fill the map past 70 %. */
static void grow_for(hkmap *m, size_t n)
{
    if (n * 10 > m->cap * 7)
        rehash(m, m->cap ? m->cap * 2 : 1024);
}

void *hkmap_get(const hkmap *m, const uint8_t key[VH_LEN])
{
    if (m->cap == 0)
        return NULL;
    size_t width = VH_LEN + m->vsize;
    size_t i = find(m->slots, m->used, m->cap, width, key);
    return is_used(m->used, i) ? m->slots + i * width + VH_LEN : NULL;
}

void *hkmap_put(hkmap *m, const uint8_t key[VH_LEN], int *created)
{
    grow_for(m, m->len + 1);
    size_t width = VH_LEN + m->vsize;
    size_t i = find(m->slots, m->used, m->cap, width, key);
    uint8_t *slot = m->slots + i * width;
    *created = !is_used(m->used, i);
    if (*created) {
        memcpy(slot, key, VH_LEN);
        memset(slot + VH_LEN, 0, m->vsize);
        m->used[i / 64] |= UINT64_C(1) << (i % 64);
        m->len++;
    }
    return slot + VH_LEN;
}

const uint8_t *hkmap_next(const hkmap *m, size_t *pos)
{
    size_t width = VH_LEN + m->vsize;
    for (size_t i = *pos; i < m->cap; i++)
        if (is_used(m->used, i)) {
            *pos = i + 1;
            return m->slots + i * width;
        }
    *pos = m->cap;
    return NULL;
}
