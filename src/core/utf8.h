/* utf8.h — UTF-8 validation, the one definition every consumer of outside text uses.
 *
 * Valid means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF. PostgreSQL's UTF8 encoding, JSON and Parquet's UTF8 logical type all require it,
 * so a string that fails here is quarantined where it enters, never written on. */
#ifndef HDP_UTF8_H
#define HDP_UTF8_H

#include <stddef.h>

/* Length (1..4) of the valid sequence starting at s (avail bytes readable), or 0. */
size_t utf8_seq_len(const unsigned char *s, size_t avail);

/* True when s[0..n) is valid UTF-8. */
int utf8_valid(const char *s, size_t n);

/* Offset of the first invalid byte of s[0..n), or n when all is valid. */
size_t utf8_invalid_at(const char *s, size_t n);

/* The longest prefix of s[0..n) of at most max bytes that ends on a character boundary
 * (for cutting text that is then echoed). s must be valid UTF-8. */
size_t utf8_cut(const char *s, size_t n, size_t max);

#endif
