/* prng.h — a small deterministic PRNG (xoshiro256**, seeded with splitmix64).
 *
 * The generator's whole workload is a function of the seed and the starting database, so it
 * never touches rand() or the clock for its choices. */
#ifndef HDP_GEN_PRNG_H
#define HDP_GEN_PRNG_H

#include <stdint.h>

typedef struct gen_prng {
    uint64_t s[4];
} gen_prng;

/* Seeds the four state words from seed through splitmix64 (never all zero). */
void prng_seed(gen_prng *p, uint64_t seed);

/* Next 64 random bits. */
uint64_t prng_next(gen_prng *p);

/* Uniform integer in [0, n); n = 0 returns 0. Unbiased (rejection). */
uint64_t prng_below(gen_prng *p, uint64_t n);

/* Uniform integer in [lo, hi], inclusive; lo > hi returns lo. */
int64_t prng_range(gen_prng *p, int64_t lo, int64_t hi);

/* True with probability per_10k / 10000. */
int prng_chance(gen_prng *p, unsigned per_10k);

#endif
