/* jsonl.h — a small, fast scanner for one flat JSON object (one line of JSON Lines).
 *
 * jsonl_scan() walks `{"key":value, ...}` once and fills an array of fields. Values are
 * strings (escapes decoded to UTF-8, \uXXXX with surrogate pairs), numbers (JSON grammar
 * checked, text kept), true, false and null. A value that is an array or object is
 * accepted, checked for balance and kept as JV_OTHER (raw text), so an extra field such as
 * capture's "_unchanged":[...] does not make a line bad. Keys are decoded like strings.
 *
 * Pointers in the result point into the line (strings without escapes, numbers) or into
 * the scanner's scratch buffer (decoded strings): valid until the next jsonl_scan() on the
 * same scanner. Anything else — a truncated line, trailing bytes other than whitespace, a
 * bad escape, a lone surrogate, invalid UTF-8, a control character inside a string, more than
 * JSONL_MAX_FIELDS fields — is an error with a short reason. Never reads past n. */
#ifndef HDP_FORMAT_JSONL_H
#define HDP_FORMAT_JSONL_H

#include <stddef.h>

#define JSONL_MAX_FIELDS 64

typedef enum { JV_NULL, JV_TRUE, JV_FALSE, JV_NUM, JV_STR, JV_OTHER } jv_kind;

typedef struct jsonl_field {
    const char *key;
    size_t klen;
    jv_kind kind;
    const char *val; /* JV_STR: decoded bytes; JV_NUM/JV_OTHER: the raw text */
    size_t vlen;
} jsonl_field;

typedef struct jsonl_scanner {
    char *scratch; /* decoded strings; never larger than the line */
    size_t cap;
    jsonl_field fields[JSONL_MAX_FIELDS];
    size_t nfields;
} jsonl_scanner;

/* Scans line[0..n) (a trailing '\n' or '\r\n' is allowed). Returns 0 and fills s->fields,
 * or -1 with *why set to a static reason ("truncated", "bad escape", ...). */
int jsonl_scan(jsonl_scanner *s, const char *line, size_t n, const char **why);

/* Frees the scratch buffer; the scanner may be reused (zeroed scanners need no init). */
void jsonl_scanner_free(jsonl_scanner *s);

#endif
