/* hkmap.h — open-addressing hash map keyed by 16-byte hash keys (vault_hash.h), holding per
 * key what a load needs to remember: the last hashdiff emitted and its load time, or a
 * related id. Linear probing on the key's first 8 bytes (already uniformly distributed),
 * power-of-two capacity, grows at 70 % load, no deletion. Entry pointers are valid until
 * the next hkmap_put. */
#ifndef HDP_VAULT_HKMAP_H
#define HDP_VAULT_HKMAP_H

#include <stddef.h>
#include <stdint.h>

#include "vault/vault_hash.h"

typedef struct hk_entry {
    uint8_t key[VH_LEN];
    uint8_t hashdiff[VH_LEN];
    int64_t ts;
    int64_t id;
    uint8_t used;
} hk_entry;

typedef struct hkmap {
    hk_entry *slots;
    size_t cap, len;
} hkmap;

#define HKMAP_INIT                                                                                 \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void hkmap_free(hkmap *m);
/* The entry of key, or NULL. */
hk_entry *hkmap_get(const hkmap *m, const uint8_t key[VH_LEN]);
/* The entry of key, created zeroed (but for its key) when absent; *created says which. */
hk_entry *hkmap_put(hkmap *m, const uint8_t key[VH_LEN], int *created);

#endif
