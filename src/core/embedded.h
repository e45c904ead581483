/* embedded.h — files compiled into the binary (SQL DDL, web assets), so `hdp` runs from any
 * folder. Generated from the repo's sql/ and web/ folders by scripts/embed.sh at build time. */
#ifndef HDP_EMBEDDED_H
#define HDP_EMBEDDED_H

#include <stddef.h>

/* The NUL-terminated contents of a file by its repo path ("sql/postgres/shop.sql"), or NULL.
 * len, when not NULL, receives the size without the NUL. */
const char *embedded_get(const char *name, size_t *len);
/* The i-th embedded path, or NULL past the end (for listing). */
const char *embedded_name(size_t i);

#endif
