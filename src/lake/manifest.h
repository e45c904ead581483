/* manifest.h — what compaction publishes and reads back: sets of segments, the raw objects
 * named by segment markers, and the per-table manifest of curated files.
 *
 * A manifest curated/_manifests/<table>/v<NNNNNNNNNN>.json is
 *   {"version":V, "table":"orders", "created_at":"...Z", "rows":R, "quarantined":Q,
 *    "files":[{"key":"curated/orders/dt=2026-11-23/part-5-9.parquet","dt":"2026-11-23",
 *              "segments":[5,9],"rows":R,"quarantined":Q,"bytes":B}, ...],
 *    "segments_done":[[1,3],[5,9]]}
 * rows/quarantined at the top are totals over every version so far; segments_done is the
 * set of segments whose objects of this table are in the listed files (or quarantined), as
 * sorted, disjoint, inclusive ranges. Everything here is pure: no I/O. */
#ifndef HDP_LAKE_MANIFEST_H
#define HDP_LAKE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* ------------------------------------------------------------------ segment sets */

typedef struct seg_range {
    int64_t lo, hi; /* inclusive */
} seg_range;

/* Sorted, disjoint, non-adjacent ranges. A zeroed set is empty; segset_free releases it. */
typedef struct seg_set {
    seg_range *r;
    size_t n, cap;
} seg_set;

void segset_add(seg_set *s, int64_t lo, int64_t hi);
int segset_has(const seg_set *s, int64_t seg);
void segset_free(seg_set *s);
/* Appends the set as JSON ([[lo,hi],...]). */
void segset_encode(const seg_set *s, hdp_buf *out);

/* ------------------------------------------------------------------ raw objects */

typedef struct raw_object {
    char key[512];
    char table[64];
    char dt[11];
    int64_t segment;
    uint64_t first_lsn;
    /* what the marker says of it (-1: not said, by markers older than the field) */
    int64_t rows, bytes;
    int has_xxh3;
    uint64_t xxh3;
} raw_object;

/* Parses "raw/<table>/dt=<YYYY-MM-DD>/<segment>-<first lsn>.jsonl". Returns 0 or -1. */
int raw_key_parse(const char *key, raw_object *o);

/* Decodes a marker raw/_segments/<seg>.json: *segment, and its objects (with the rows,
 * bytes and checksum it lists for them) appended to
 * (*objs, *nobjs) (realloc'ed; the caller frees). HDP_ERR with e set on a bad marker. */
int marker_decode(const char *json, size_t n, int64_t *segment, raw_object **objs, size_t *nobjs,
                  hdp_err *e);

/* "What is new": indexes of objs of `table` whose segment is not in done, ordered by
 * (dt, segment, first_lsn) — the order compaction reads them in. idx needs room for n.
 * Returns how many. */
size_t plan_select(const raw_object *objs, size_t n, const char *table, const seg_set *done,
                   size_t *idx);

/* ------------------------------------------------------------------ manifests */

typedef struct mf_file {
    char *key;
    char dt[11];
    int64_t first, last; /* segment range the file holds */
    int64_t rows, quarantined, bytes;
} mf_file;

typedef struct manifest {
    int64_t version; /* 0: none published yet */
    char table[64];
    char created_at[32];
    int64_t rows, quarantined;
    mf_file *files;
    size_t nfiles, cap;
    seg_set done;
} manifest;

/* Adds a file entry (key copied). */
void manifest_add_file(manifest *m, const mf_file *f);
void manifest_encode(const manifest *m, hdp_buf *out);
/* Fills a zeroed m from JSON; HDP_ERR with e set on anything malformed. */
int manifest_decode(const char *json, size_t n, manifest *m, hdp_err *e);
void manifest_free(manifest *m); /* and zero it */

#endif
