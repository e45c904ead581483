/* pgoutput.h — decoder of PostgreSQL's logical replication protocol (pgoutput,
 * proto_version 1) and of the streaming-replication frames that carry it.
 *
 * Pure parsing: no I/O. Values point into the caller's message buffer and stay valid until
 * that buffer is reused. Relations are cached by the decoder (a Relation message precedes
 * the first change of a table in each session); changes to unknown relations are an error.
 * Truncated or malformed input returns HDP_ERR with a message; it never reads out of bounds. */
#ifndef HDP_PGOUTPUT_H
#define HDP_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ------------------------------------------------------------------ frames */

/* One CopyData payload of a START_REPLICATION stream. */
typedef struct pgrepl_frame {
    char kind;           /* 'w' XLogData or 'k' primary keepalive */
    uint64_t wal_start;  /* 'w': start LSN of the data */
    uint64_t wal_end;    /* 'w' and 'k': server's current end of WAL */
    int64_t send_time;   /* µs since 2000-01-01 (PostgreSQL epoch) */
    int reply_requested; /* 'k': the server wants a status update now */
    const uint8_t *data; /* 'w': the pgoutput message */
    size_t len;
} pgrepl_frame;

int pgrepl_parse_frame(const uint8_t *buf, size_t len, pgrepl_frame *out, hdp_err *e);

/* Builds the 34-byte standby status update ('r'): write, flush and apply positions and the
 * client clock (µs since 2000-01-01). Returns the number of bytes written to out. */
size_t pgrepl_build_status(uint8_t out[34], uint64_t write, uint64_t flush, uint64_t apply,
                           int64_t now_pg_us, int reply);

/* ------------------------------------------------------------------ messages */

typedef struct pgo_column {
    char *name;
    uint32_t type_oid;
    int32_t typmod;
    uint8_t flags; /* 1 = part of the key */
} pgo_column;

typedef struct pgo_relation {
    uint32_t relid;
    char *nspname;
    char *relname;
    char replident; /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    uint16_t ncols;
    pgo_column *cols;
} pgo_relation;

typedef struct pgo_value {
    char kind; /* 'n' NULL, 'u' unchanged TOASTed value (not sent), 't' text */
    const char *data;
    uint32_t len;
} pgo_value;

typedef struct pgo_tuple {
    uint16_t ncols;
    pgo_value *vals; /* owned by the decoder, reused by the next message */
} pgo_tuple;

typedef struct pgo_msg {
    char kind; /* 'B','C','R','I','U','D','T','Y','O' */
    /* B: final_lsn = commit LSN, commit_ts, xid.  C: commit_lsn, end_lsn, commit_ts, flags. */
    uint64_t final_lsn;
    uint64_t commit_lsn;
    uint64_t end_lsn;
    int64_t commit_ts; /* µs since 2000-01-01 */
    uint32_t xid;
    uint8_t flags;
    /* R, I, U, D: the relation (cached; owned by the decoder). */
    const pgo_relation *rel;
    /* U, D: old tuple when sent: old_kind 'K' (key columns) or 'O' (REPLICA IDENTITY FULL);
     * 0 when absent. I, U: the new tuple. */
    char old_kind;
    pgo_tuple old_tuple;
    pgo_tuple new_tuple;
    /* O: commit_lsn = the commit LSN on the origin server, name = origin name.
     * Y: type_oid, nspname and name of a non-builtin type used by a following Relation.
     * The strings point into the caller's buffer (NUL-terminated there). */
    uint32_t type_oid;
    const char *nspname;
    const char *name;
    /* T: relation ids and options (1 cascade, 2 restart identity). */
    uint32_t ntruncated;
    const uint8_t *truncated_relids; /* ntruncated big-endian uint32 */
    uint8_t truncate_options;
} pgo_msg;

typedef struct pgo_decoder pgo_decoder;

pgo_decoder *pgo_decoder_new(void);
void pgo_decoder_free(pgo_decoder *d); /* NULL is a no-op */

/* Decodes one pgoutput message. out is valid until the next call or until buf changes. */
int pgo_decode(pgo_decoder *d, const uint8_t *buf, size_t len, pgo_msg *out, hdp_err *e);

const pgo_relation *pgo_relation_get(const pgo_decoder *d, uint32_t relid);

/* Index of a column by name in a relation, or -1. */
int pgo_col_index(const pgo_relation *r, const char *name);

#endif
