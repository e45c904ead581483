/* hkmap.h — open-addressing hash map keyed by 16-byte hash keys (vault_hash.h), holding per
 * key a fixed-size value (what a load must remember of the key: the last hashdiff emitted
 * and its load time), or nothing: a set. A load keeps one per satellite and link, a slot per
 * key it met, so slots are packed (key then value, no flag: occupancy is a bitmap) — at a
 * million orders they are most of the loader's memory. Linear probing on the key's first 8
 * bytes (already uniformly distributed), power-of-two capacity, grows at 70 % load, no
 * deletion. Value pointers are valid until the next hkmap_put. */
#ifndef HDP_VAULT_HKMAP_H
#define HDP_VAULT_HKMAP_H

#include <stddef.h>
#include <stdint.h>

#include "vault/vault_hash.h"

typedef struct hkmap {
    uint8_t *slots; /* cap slots of VH_LEN key bytes then vsize value bytes */
    uint64_t *used; /* bit i: slot i holds a key */
    size_t cap, len;
    size_t vsize; /* a multiple of 8 (values stay 8-byte aligned) */
} hkmap;

/* vsize: bytes of value per key, a multiple of 8 (0: a set). */
void hkmap_init(hkmap *m, size_t vsize);
void hkmap_free(hkmap *m);
/* The value of key (its slot, for a set), or NULL. */
void *hkmap_get(const hkmap *m, const uint8_t key[VH_LEN]);
/* The value of key, zeroed when created; *created says whether the key is new. */
void *hkmap_put(hkmap *m, const uint8_t key[VH_LEN], int *created);
/* Walks the keys in slot order: *pos starts at 0; returns the next key (its value follows
 * it, vsize bytes), or NULL at the end. The map must not change during the walk. */
const uint8_t *hkmap_next(const hkmap *m, size_t *pos);

#endif
