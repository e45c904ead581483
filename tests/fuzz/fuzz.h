/* fuzz.h — what every libFuzzer target in tests/fuzz/ includes.
 *
 * A target defines LLVMFuzzerTestOneInput and nothing else global. It is linked twice: with
 * libFuzzer (build/fuzz/fuzz_<name>, `make fuzz`) and with replay.c's main() against the
 * ASan library (build/asan/fuzz/replay_<name>, part of `make unit-asan`), which feeds it
 * every file of tests/fuzz/corpus/<name>/. A failed FUZZ_CHECK aborts, which both count as
 * a crash. */
#ifndef HDP_FUZZ_H
#define HDP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: aborts with the condition when it does not hold. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Splits an input into pieces: each piece is a 2-byte big-endian length and that many bytes
 * (the last piece takes what is left when the length runs past the end). Returns 1 with the
 * next piece in (*p, *n), 0 at the end. The seeds are written in this framing. */
typedef struct fuzz_split {
    const uint8_t *p, *end;
} fuzz_split;

static inline int fuzz_next(fuzz_split *s, const uint8_t **p, size_t *n)
{
    if (s->end - s->p < 2)
        return 0;
    size_t len = (size_t)s->p[0] << 8 | s->p[1];
    s->p += 2;
    if (len > (size_t)(s->end - s->p))
        len = (size_t)(s->end - s->p);
    *p = s->p;
    *n = len;
    s->p += len;
    return 1;
}

/* A NUL-terminated heap copy of data[0..n) (which may hold NUL bytes: C-string parsers see
 * only the part before the first). */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

#endif
