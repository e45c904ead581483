/* i64map.h — open-addressing hash map from int64 keys to int64 values.
 * Linear probing, power-of-two capacity, grows at 70 % load; no deletion (callers that need
 * eviction clear and refill). The map owns its arrays; i64map_free(NULL-initialized) is safe. */
#ifndef HDP_I64MAP_H
#define HDP_I64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct i64map {
    int64_t *keys;
    int64_t *vals;
    uint8_t *used;
    size_t cap;
    size_t len;
} i64map;

#define I64MAP_INIT                                                                                \
    {                                                                                              \
        NULL, NULL, NULL, 0, 0                                                                     \
    }

void i64map_free(i64map *m);
void i64map_clear(i64map *m);
/* Sets key to val (insert or overwrite). */
void i64map_put(i64map *m, int64_t key, int64_t val);
/* Returns 1 and fills *val when key is present, else 0. */
int i64map_get(const i64map *m, int64_t key, int64_t *val);

#endif
