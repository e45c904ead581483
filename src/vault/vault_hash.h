/* vault_hash.h — the one definition of Data Vault hash keys and hashdiffs (sql/postgres/dwh.sql).
 *
 * The standard string: every part as text, trimmed of spaces, tabs, CR and LF, ASCII letters
 * upper-cased (other bytes, UTF-8 included, kept as they are: locale-independent, and what
 * PostgreSQL's upper() does under COLLATE "C"), parts joined with "||", a NULL part written
 * "^^". The key is MD5 of that string, 16 bytes. In SQL, for one part:
 *   decode(md5(upper(btrim(x::text, E' \t\r\n') COLLATE "C")), 'hex')
 * Value texts: integers in decimal, money with two decimals ("12.50"), timestamps as
 * ISO-8601 UTC with microseconds ("2026-11-23T10:00:00.000000Z"), booleans true/false.
 *
 * Usage: vh_begin, then one vh_* call per part in the fixed order, then vh_end. The builder
 * keeps its buffer between keys, so hashing a row allocates nothing. */
#ifndef HDP_VAULT_HASH_H
#define HDP_VAULT_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define VH_LEN 16

typedef struct vh_builder {
    hdp_buf s;    /* the standard string being built */
    int nparts;   /* parts added since vh_begin */
    void *md_ctx; /* OpenSSL digest context, reused */
    void *md;     /* the MD5 implementation, fetched once */
} vh_builder;

void vh_init(vh_builder *h);
void vh_free(vh_builder *h);

void vh_begin(vh_builder *h);
void vh_str(vh_builder *h, const char *s, size_t n); /* s NULL: a NULL part */
void vh_null(vh_builder *h);
void vh_i64(vh_builder *h, int64_t v);
void vh_money(vh_builder *h, int64_t cents);
void vh_ts(vh_builder *h, int64_t unix_us);
void vh_bool(vh_builder *h, int v);
/* MD5 of the standard string into out. */
void vh_end(vh_builder *h, uint8_t out[VH_LEN]);

/* The standard string of the parts added since vh_begin (NUL-terminated, owned by h). */
const char *vh_text(const vh_builder *h, size_t *len);

#endif
