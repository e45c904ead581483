/* rowjson.h — one decoded change as one raw-zone JSON line (see core/lake_layout.h).
 * Pure formatting: no I/O. */
#ifndef HDP_ROWJSON_H
#define HDP_ROWJSON_H

#include <stdint.h>

#include "core/buf.h"
#include "format/pgoutput.h"

typedef struct rowjson_meta {
    uint64_t commit_lsn;
    uint32_t seq;
    int64_t commit_unix_us;
    uint32_t xid;
    int64_t segment;
    char op; /* 'I', 'U', 'D' */
} rowjson_meta;

/* Appends the line (with its trailing newline) for tuple t of relation rel. Integers become
 * JSON numbers, numeric a decimal string, timestamps ISO-8601 UTC strings, booleans true/false,
 * NULL null; columns sent as unchanged TOAST are null and listed in "_unchanged"; text that
 * is not valid UTF-8 is written null and kept as hex in "_invalid"; contract_violation (the
 * relation breaks the contract: a column dropped, a type changed; NULL when it does not) goes
 * there too. Compaction quarantines a line with "_invalid", with that reason. The line is
 * always valid UTF-8 JSON. */
void rowjson_append(hdp_buf *out, const rowjson_meta *m, const pgo_relation *rel,
                    const pgo_tuple *t, const char *contract_violation);

#endif
