/* compact.h — `hdp run compact`: raw JSON Lines of closed segments → Parquet in the curated
 * zone, published through per-table manifests (layout in core/lake_layout.h, progress in
 * lake/lake_state.h).
 *
 * What a run takes. A segment is closed when its marker raw/_segments/<seg>.json exists; the
 * marker lists the segment's objects with their rows, bytes and XXH3 checksum. For each table
 * of the schema list (or the one --table names), the newest manifest says which segments are
 * done; the run takes every marker-listed object of the table whose segment is not done.
 * The table's progress file says which markers were handled already, so old markers are not
 * read again (a cache: the manifests decide).
 *
 * Exclusion. Each table is compacted under its own PostgreSQL advisory lock in dwh, so runs
 * for different tables (Airflow's per-table tasks) go side by side while two runs never
 * compact one table at once: the second skips a busy table and ends with HDP_RETRY
 * ("another compaction is running"). Every run spools in a folder of its own.
 *
 * What it writes. New objects are grouped by day (the dt of their key); each group becomes
 * ONE file curated/<table>/dt=<day>/part-<first seg>-<last seg>.parquet, read in (segment,
 * first lsn) order, each object's rows sorted by (commit_lsn, seq) when capture's order is not
 * already that. The name and bytes depend only on the input, so a crashed run writes the same
 * file again. Every file is checked before it is published — its footer read back, its row
 * count and size compared — and then manifest v(N+1) (every file of vN plus the new ones)
 * goes to a NEW key with a create-only write: if v(N+1) exists already the table starts over
 * from the newest manifest. A manifest never lists a file that is not a complete Parquet
 * file; nothing a manifest lists is ever rewritten; a run with nothing new writes nothing.
 *
 * The marker is the contract. An object whose size, line count or checksum disagrees with
 * its marker (truncated, edited, missing) is not compacted: its table stops at that segment
 * (everything before it is compacted and published), the reason is kept in the table's
 * progress file, the other tables go on, and the run ends with HDP_ERR naming it. Restoring
 * the object lets the next run continue.
 *
 * Bad lines. A line that is not a flat JSON object of valid UTF-8, whose value does not fit
 * its column's type exactly, lacks a required meta field or belongs to another table/segment
 * goes, whole, to quarantine/<table>/<segment>-<first lsn>.jsonl with the reason, is counted,
 * and the rest of the object is compacted. Objects of a table outside the schema list are
 * skipped: warned and counted once, when their marker is first read; they stay in raw/.
 *
 * Memory: one raw object (bytes plus its typed rows) and one row group of compressed pages. */
#ifndef HDP_BATCH_COMPACT_H
#define HDP_BATCH_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/stage.h"

typedef struct compact_opts {
    size_t row_group_rows; /* 0: 1,048,576 */
    const char *table;     /* only this table; NULL: every table of the schema */
} compact_opts;

typedef struct compact_stats {
    int64_t segments;      /* markers read */
    int64_t objects;       /* raw objects read */
    int64_t bytes;         /* raw bytes read */
    int64_t rows;          /* rows written to Parquet */
    int64_t files;         /* Parquet files written */
    int64_t quarantined;   /* lines quarantined */
    int64_t unknown_keys;  /* fields that are no column (ignored) */
    int64_t unknown_table; /* objects of tables outside the schema (skipped) */
    int64_t manifests;     /* manifest versions published */
    int64_t seg_first;     /* segment range compacted (-1: none) */
    int64_t seg_last;
    int64_t blocked; /* tables stopped at an object that disagrees with its marker */
    int64_t busy;    /* tables skipped: another run held them */
} compact_stats;

/* One compaction run over the lake of cfg. HDP_OK (also when there was nothing to do);
 * HDP_RETRY when the lake or dwh was unreachable or another run held a table; HDP_ERR when a
 * table is blocked by a bad object, or on a permanent failure; e set on failure. *cancel is
 * checked between objects. */
int compact_run(const hdp_config *cfg, const compact_opts *o, volatile int *cancel,
                compact_stats *st, hdp_err *e);

extern const hdp_stage compact_stage;

#endif
