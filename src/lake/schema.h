/* schema.h — the typed shape of each source table in the curated zone (the shop contract of
 * sql/postgres/shop.sql), and the mapping of one raw line onto it.
 *
 * Every table starts with the meta columns of a raw line — commit_lsn INT64, seq INT32,
 * commit_ts TIMESTAMP_US, xid INT64, segment INT64, op STRING — followed by the table's own
 * columns in source order. All columns are nullable in Parquet; commit_lsn, seq, commit_ts,
 * segment and op must be present and non-null in a raw line (xid may be missing).
 *
 * The contract, checked value by value: money is DECIMAL(12,2) exactly (a value finer than a
 * cent or beyond 12 digits is refused, never rounded); text is valid UTF-8 (the scanner checks
 * it); a line capture marked "_invalid" (source text that was not UTF-8) is refused. */
#ifndef HDP_LAKE_SCHEMA_H
#define HDP_LAKE_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "format/jsonl.h"
#include "format/pgoutput.h"
#include "format/parquet_writer.h"

#define SCH_MAX_COLS 24
enum { SCH_COMMIT_LSN, SCH_SEQ, SCH_COMMIT_TS, SCH_XID, SCH_SEGMENT, SCH_OP, SCH_NMETA };

typedef struct sch_table {
    const char *name;
    const pq_column_def *cols; /* meta columns first */
    size_t ncols;
} sch_table;

/* One typed value: integers, cents and µs in i; strings as (s, n), not owned. */
typedef struct sch_value {
    int64_t i;
    const char *s;
    uint32_t n;
    uint8_t null;
} sch_value;

/* The table named (name, n), or NULL when it is not part of the contract. */
const sch_table *sch_find(const char *name, size_t n);
/* Every known table, for listings: *count receives how many. */
const sch_table *sch_tables(size_t *count);

/* Maps a scanned line of `t` onto out[0..t->ncols). The line's "table" field, when present,
 * must name t. Keys that are not columns are ignored and counted in *unknown_keys. Returns
 * 0, or -1 with *why pointing at a reason of at most 127 bytes written to why_buf
 * ("column total: not a decimal", "missing commit_lsn"). String values point into the
 * scanner's line or scratch buffer. */
int sch_map(const sch_table *t, const jsonl_scanner *sc, sch_value *out, uint64_t *unknown_keys,
            char why_buf[128], const char **why);

/* The fast path of sch_map for lines in capture's own form: `{"key":value,...}` with no
 * whitespace, no escapes, keys of the contract only. It types the line straight from its
 * bytes, guessing each key from the order of the last line's. It accepts a subset of what
 * jsonl_scan + sch_map accept, with the same values: anything else (a bad line, an unknown
 * key, an escape, a number where text goes) returns 0, and the caller maps the line the
 * general way, which also gives the reason when the line is bad. */
typedef struct sch_fast {
    const sch_table *t;
    uint8_t order[SCH_MAX_COLS + 2]; /* the column of the last line's k-th key */
    size_t nkeys;
    /* each column's `name":` as two little-endian words and masks (names up to 14 bytes;
     * longer ones are compared bytewise) */
    uint64_t key_word[SCH_MAX_COLS][2], key_mask[SCH_MAX_COLS][2];
    uint8_t key_len[SCH_MAX_COLS]; /* bytes of `name":` */
    size_t table_len;
} sch_fast;

void sch_fast_init(sch_fast *f, const sch_table *t);
/* 1 when line[0..n) (a trailing '\n' allowed) was mapped onto out[0..t->ncols), else 0. */
int sch_map_fast(sch_fast *f, const char *line, size_t n, sch_value *out);

/* Checks a source relation's shape against t's contract: every contract column present, of a
 * compatible type (money numeric, ids integers, times timestamps, text text). Returns 0, or -1
 * with a reason in why ("column ship_city is missing in the source", "column total is text in
 * the source, the contract says decimal"). Capture and speed call it on every Relation
 * message, so a schema change that breaks the contract is seen where changes enter, alike in
 * both layers; columns the contract does not know are fine (they are carried along). */
int sch_relation_check(const sch_table *t, const pgo_relation *rel, char *why, size_t whylen);

/* Index of the column named key[0..klen) in t, or -1. */
long sch_column(const sch_table *t, const char *key, size_t klen);

/* Writes one mapped row to a Parquet writer opened with t->cols, ending the row. */
int sch_write_row(const sch_table *t, const sch_value *row, pq_writer *w, hdp_err *e);

#endif
