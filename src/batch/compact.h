/* compact.h — `hdp run compact`: raw JSON Lines of closed segments → Parquet in the curated
 * zone, published through per-table manifests (layout in core/lake_layout.h).
 *
 * What a run takes. A segment is closed when its marker raw/_segments/<seg>.json exists;
 * the marker lists the segment's objects. For each table of the schema list, the latest
 * manifest (highest v<NNNNNNNNNN>.json under curated/_manifests/<table>/) says which
 * segments are done; the run takes every marker-listed object of the table whose segment
 * is not done. _state/compact.json caches the segments done for every table they touch, so
 * markers of old segments are not read again; it is only a cache (losing it costs reads,
 * never correctness: the manifests decide). It also carries totals over the latest
 * manifests ("rows", "quarantined", "files") for /metrics; it is rewritten only by runs
 * that took something new.
 *
 * What it writes. New objects are grouped by day (the dt of their key); each group becomes
 * ONE file curated/<table>/dt=<day>/part-<first seg>-<last seg>.parquet, read in (segment,
 * first lsn) order, each object's rows sorted by (commit_lsn, seq) when capture's order is
 * not already that (objects of later segments hold later commits). The name and bytes
 * depend only on the input, so a crashed run that re-runs writes the same file; an existing
 * file of the same size is not written again. Then manifest v(N+1) — every file of vN plus
 * the new ones, segments_done extended — goes to a NEW key: if v(N+1) exists already (a
 * concurrent or crashed run), the table starts over from the newest manifest. Nothing a
 * manifest lists is ever rewritten; a run with nothing new writes nothing.
 *
 * Bad input. A line that is not a flat JSON object, whose value does not fit its column's
 * type, lacks a required meta field or belongs to another table/segment goes, whole, to
 * quarantine/<table>/<segment>-<first lsn>.jsonl (one object per raw object, each line
 * {"reason","object","line","raw"}), is counted in the file entry, the manifest and the
 * summary, and the rest of the object is compacted. Objects of a table outside the schema
 * list are skipped: warned and counted once, when their marker is first read; they stay
 * in raw/ untouched.
 *
 * Memory: one raw object (bytes plus its typed rows) and one row group of compressed
 * pages. The Parquet file is written under HDP_VAR_DIR/spool/compact, then stored with
 * lake_put_file (multipart on S3). */
#ifndef HDP_BATCH_COMPACT_H
#define HDP_BATCH_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"

#define COMPACT_STATE_KEY "_state/compact.json"

typedef struct compact_opts {
    size_t row_group_rows; /* 0: 1,048,576 */
} compact_opts;

typedef struct compact_stats {
    int64_t segments;      /* new segments taken (markers read) */
    int64_t objects;       /* raw objects read */
    int64_t bytes;         /* raw bytes read */
    int64_t rows;          /* rows written to Parquet */
    int64_t files;         /* Parquet files written */
    int64_t quarantined;   /* lines quarantined */
    int64_t unknown_keys;  /* fields that are no column (ignored) */
    int64_t unknown_table; /* objects of tables outside the schema (skipped) */
    int64_t manifests;     /* manifest versions published */
} compact_stats;

/* One compaction run over the lake of cfg. HDP_OK (also when there was nothing to do),
 * HDP_RETRY when the lake was unreachable, HDP_ERR otherwise; e set on failure. */
int compact_run(const hdp_config *cfg, const compact_opts *o, compact_stats *st, hdp_err *e);

#endif
