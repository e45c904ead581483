/* lake.h — the data lake: one interface over two backends, chosen by HDP_LAKE_URL's scheme.
 *
 *   file://PATH            a local folder (relative to the working directory unless PATH
 *                          starts with '/'); writes go to a temporary name, are fsynced and
 *                          renamed, so readers see a whole object or none.
 *   s3://BUCKET[/PREFIX]   an S3-compatible store over libcurl with SigV4, path-style URLs
 *                          at HDP_S3_ENDPOINT (MinIO, SeaweedFS, AWS).
 *
 * Keys are relative, '/'-separated names ("raw/orders/dt=2026-11-23/x.jsonl"): not empty,
 * no leading or trailing '/', no empty, "." or ".." segment, no control character, no
 * segment starting with ".tmp-" (the file backend's temporary names), at most 1024 bytes.
 * The S3 prefix is prepended to every key and stripped from listed keys.
 *
 * Every operation returns HDP_OK, HDP_ERR (a permanent failure: bad key, access denied,
 * missing bucket, missing object) or HDP_RETRY (the store stayed unreachable or kept
 * answering 5xx after the backend's own retries: the unit of work may be tried later), with
 * a one-line message in e. Messages never contain credentials. */
#ifndef HDP_IO_LAKE_H
#define HDP_IO_LAKE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct hdp_lake hdp_lake;

/* Tuning knobs of the S3 backend; zero fields take the defaults. The file backend ignores
 * them. Tests shrink them to exercise multipart upload and pagination on small data. */
typedef struct hdp_lake_opts {
    uint64_t multipart_threshold; /* objects larger than this go multipart (16 MiB) */
    uint64_t part_size;           /* multipart part size, at least 5 MiB (8 MiB) */
    int list_page;                /* ListObjectsV2 max-keys, 1..1000 (1000) */
    int max_tries;                /* tries per request on 5xx/429/network errors (5) */
    int backoff_ms;               /* first backoff, doubled per try, with jitter (100) */
} hdp_lake_opts;

/* What opening a lake takes: its URL and, for s3://, the server and keys (the names are the
 * configuration's: HDP_LAKE_URL, HDP_S3_*, for messages). lake/lake_conf.h fills one from
 * the configuration. */
typedef struct hdp_lake_conf {
    const char *url; /* file:///path or s3://bucket/prefix */
    const char *s3_endpoint, *s3_region, *s3_access_key, *s3_secret_key;
    hdp_lake_opts tuning;
} hdp_lake_conf;

/* Opens the lake named by c->url. Does no I/O: a missing folder or bucket shows at the first
 * operation, or is created by lake_ensure(). NULL on a bad URL, with e set. The caller
 * closes the lake with lake_close(). */
hdp_lake *lake_open(const hdp_lake_conf *c, hdp_err *e);
void lake_close(hdp_lake *lk); /* NULL is a no-op */

/* Makes the lake usable: file: creates the root folder (mkdir -p); S3: creates the bucket
 * when missing and succeeds when it exists. Idempotent. */
int lake_ensure(hdp_lake *lk, hdp_err *e);

/* Stores len bytes under key, replacing any object there. Atomic: a reader sees the old
 * object, or the whole new one, never a part. */
int lake_put(hdp_lake *lk, const char *key, const void *data, size_t len, hdp_err *e);

/* Stores len bytes under key only if no object holds it (create-only, atomic: file: link(2);
 * S3: If-None-Match: *). *created = 1 when stored, 0 when the key was taken; the existing
 * object is left as it is. Manifests are published with it, so two writers of the same
 * version can never both win. */
int lake_put_new(hdp_lake *lk, const char *key, const void *data, size_t len, int *created,
                 hdp_err *e);

/* Stores the contents of the local file local_path under key, atomically like lake_put.
 * Memory stays bounded: on S3, files over the multipart threshold go up part by part. */
int lake_put_file(hdp_lake *lk, const char *key, const char *local_path, hdp_err *e);

/* Reads the whole object into out (replacing its contents). A missing key is HDP_ERR with
 * "not found" in the message; use lake_head() to ask whether a key exists. */
int lake_get(hdp_lake *lk, const char *key, hdp_buf *out, hdp_err *e);

/* Sets *found to 1 and *size (may be NULL) to the object's size when key exists, *found to
 * 0 when it does not. Only failures to ask are errors. */
int lake_head(hdp_lake *lk, const char *key, int *found, uint64_t *size, hdp_err *e);

/* Removes the object; removing a missing key succeeds. */
int lake_delete(hdp_lake *lk, const char *key, hdp_err *e);

/* Calls cb(ctx, key, size, mtime) for every object whose key starts with prefix ("" for all),
 * in byte-wise lexicographic key order (S3's order); mtime is the object's last modification
 * (Unix seconds; 0 when the store does not say). A non-zero return from cb stops the walk and
 * lake_list() returns that value as is (e untouched). */
typedef int (*lake_list_cb)(void *ctx, const char *key, uint64_t size, int64_t mtime);
int lake_list(hdp_lake *lk, const char *prefix, lake_list_cb cb, void *ctx, hdp_err *e);

/* Every key under prefix, collected (for callers that list, then read). */
typedef struct lake_keys {
    char **keys;
    size_t n, cap;
} lake_keys;
int lake_list_keys(hdp_lake *lk, const char *prefix, lake_keys *out, hdp_err *e);
void lake_keys_free(lake_keys *l); /* and zero it */

/* "file:///abs/path" or "s3://bucket/prefix @ endpoint": for logs, never with secrets. */
const char *lake_describe(const hdp_lake *lk);

/* Checks a key (or, with is_prefix, a listing prefix, which may be empty, end in '/' or in
 * part of a segment) against the rules above. */
int lake_key_check(const char *key, int is_prefix, hdp_err *e);

#endif
