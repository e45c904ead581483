#include "vault/hkmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

void hkmap_free(hkmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}

static size_t slot_of(const uint8_t key[VH_LEN], size_t mask)
{
    uint64_t h;
    memcpy(&h, key, sizeof(h));
    return (size_t)h & mask;
}

static hk_entry *find(hk_entry *slots, size_t cap, const uint8_t key[VH_LEN])
{
    size_t mask = cap - 1;
    for (size_t i = slot_of(key, mask);; i = (i + 1) & mask)
        if (!slots[i].used || memcmp(slots[i].key, key, VH_LEN) == 0)
            return &slots[i];
}

static void grow(hkmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    hk_entry *slots = xcalloc(cap, sizeof(*slots));
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used)
            *find(slots, cap, m->slots[i].key) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

hk_entry *hkmap_get(const hkmap *m, const uint8_t key[VH_LEN])
{
    if (m->cap == 0)
        return NULL;
    hk_entry *e = find(m->slots, m->cap, key);
    return e->used ? e : NULL;
}

hk_entry *hkmap_put(hkmap *m, const uint8_t key[VH_LEN], int *created)
{
    if ((m->len + 1) * 10 > m->cap * 7)
        grow(m);
    hk_entry *e = find(m->slots, m->cap, key);
    *created = !e->used;
    if (!e->used) {
        memset(e, 0, sizeof(*e));
        memcpy(e->key, key, VH_LEN);
        e->used = 1;
        m->len++;
    }
    return e;
}
