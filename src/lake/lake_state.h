/* lake_state.h — reading and writing what the batch layer keeps in the lake beside the data:
 * the newest manifest of a table, compaction's per-table progress, capture's closed segment,
 * and the frontier downstream loaders may take (core/lake_layout.h has the keys).
 *
 * Compaction's progress of table T (_state/compact/<T>.json):
 *   {"table":T, "markers_done":[[lo,hi],...], "complete_through":S, "rows":R,
 *    "quarantined":Q, "files":F, "blocked":null | {"segment":X,"object":K,"reason":"..."},
 *    "updated_at":"..."}
 * markers_done: segments whose marker compaction has handled for T (T had no object in it, or
 * it is compacted: a cache, so markers are not read again). complete_through: every change
 * of T in a segment <= S is in a file the newest manifest lists (or quarantined): written
 * only after that manifest is published, so it never runs ahead of the data. blocked: T
 * stopped at segment X because an object disagreed with its marker; restoring the object
 * lets the next run go on. A missing or unreadable file costs reads, never correctness. */
#ifndef HDP_LAKE_STATE_H
#define HDP_LAKE_STATE_H

#include "core/err.h"
#include "io/lake.h"
#include "lake/manifest.h"

/* Key of version `version` of table's manifest (out needs 160 bytes). */
void manifest_key(char *out, size_t n, const char *table, int64_t version);

/* The newest manifest of table into a zeroed m (version 0 and empty when none). */
int manifest_load_latest(hdp_lake *lk, const char *table, manifest *m, hdp_err *e);

typedef struct compact_state {
    seg_set markers_done;
    int64_t complete_through; /* -1: nothing yet */
    int64_t rows, quarantined, files;
    int blocked;
    int64_t blocked_segment;
    char blocked_object[512];
    char blocked_reason[640];
} compact_state;

/* Reads T's progress into a zeroed st (complete_through -1 when there is none; an unreadable
 * file is warned about and counts as none). */
int compact_state_load(hdp_lake *lk, const char *table, compact_state *st, hdp_err *e);
int compact_state_save(hdp_lake *lk, const char *table, const compact_state *st, hdp_err *e);
void compact_state_free(compact_state *st);

/* The segment every table of the curated schema is complete through: the lowest
 * complete_through over them (-1 when any table has none yet). What downstream loaders may
 * take: a file whose last segment is beyond it waits. */
int compact_frontier(hdp_lake *lk, int64_t *through, hdp_err *e);

/* Capture's progress: every segment <= *closed is closed (-1: none yet). */
int capture_closed_segment(hdp_lake *lk, int64_t *closed, hdp_err *e);

#endif
