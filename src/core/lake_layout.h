/* lake_layout.h — where things live in the data lake and what the raw zone holds: the
 * contract between `hdp capture` (the only writer of raw/) and `hdp run compact`.
 *
 * Raw zone (immutable, append-only; a retry rewrites an object with the same bytes):
 *   raw/<table>/dt=<YYYY-MM-DD>/<segment>-<first lsn>.jsonl
 *       every change of <table> committed in <segment>, in commit order; dt is the UTC date
 *       of the segment's start; <first lsn> is the commit LSN (decimal) of the segment's first
 *       transaction that touched the table. One JSON object per line:
 *         {"commit_lsn":N,"seq":K,"commit_ts":"2026-11-23T13:05:01.123456Z","xid":X,
 *          "segment":S,"op":"I"|"U"|"D","table":"orders", <every column by source name>}
 *       seq is the change's position inside its transaction (0-based); integers are JSON
 *       numbers, money (numeric) a decimal string, timestamps ISO-8601 UTC strings, booleans
 *       true/false, NULL null. A delete carries the old row (key or full identity).
 *   raw/_segments/<segment>.json
 *       written after every object of the segment is stored: the segment is closed for good.
 *       {"segment":S,"first_lsn":N,"last_lsn":N,"objects":[{"key":"raw/...","rows":R,
 *        "bytes":B}, ...]}
 *
 * Curated zone (Parquet, zstd), published atomically through manifests:
 *   curated/<table>/dt=<YYYY-MM-DD>/part-<first segment>-<last segment>.parquet
 *   curated/_manifests/<table>/v<NNNNNNNNNN>.json   (versions only ever increase; readers
 *       take the highest version; a version lists every file readers may use)
 *   quarantine/<table>/<segment>-<first lsn>.jsonl   raw lines that could not be parsed,
 *       each {"reason":..., "object":..., "line":N, "raw":"..."}
 *
 * State (small JSON documents, each rewritten whole by its one writer):
 *   _state/capture.json            {"segment":S,"end_lsn":N}: every segment <= S is closed
 *       (its marker, if it had changes, is stored) and the slot is confirmed up to N
 *   _state/compact/<table>.json    compaction's progress for one table: the markers it has
 *       handled, the segment up to which the table is complete in the curated zone, totals,
 *       and why it is stopped, if it is (lake/lake_state.h) */
#ifndef HDP_LAKE_LAYOUT_H
#define HDP_LAKE_LAYOUT_H

#define LAKE_RAW_PREFIX        "raw/"
#define LAKE_SEGMENTS_PREFIX   "raw/_segments/"
#define LAKE_CURATED_PREFIX    "curated/"
#define LAKE_MANIFESTS_PREFIX  "curated/_manifests/"
#define LAKE_QUARANTINE_PREFIX "quarantine/"

/* raw/<table>/dt=<day>/<segment>-<lsn>.jsonl */
#define LAKE_RAW_KEY_FMT     "raw/%s/dt=%s/%lld-%llu.jsonl"
#define LAKE_SEGMENT_KEY_FMT "raw/_segments/%lld.json"

#define LAKE_CAPTURE_STATE_KEY     "_state/capture.json"
#define LAKE_COMPACT_STATE_KEY_FMT "_state/compact/%s.json"

#endif
