/* s3.h — a small S3 client over libcurl: SigV4 signing by curl (CURLOPT_AWS_SIGV4),
 * path-style URLs (ENDPOINT/bucket/key) so MinIO and SeaweedFS work, payloads hashed with
 * SHA-256 so every byte is signed.
 *
 * Each request is tried up to max_tries times with exponential backoff and jitter on
 * network errors, 5xx and 429; never on other 4xx. Functions return HDP_OK, HDP_ERR
 * (permanent: access denied, missing bucket, bad request) or HDP_RETRY (still unreachable or
 * failing after the tries), with a one-line message that never holds the credentials.
 *
 * A client owns one curl easy handle (connections are reused) and is not thread-safe: use
 * one client per thread. */
#ifndef HDP_IO_S3_H
#define HDP_IO_S3_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct s3_client s3_client;

typedef struct s3_settings {
    const char *endpoint; /* http(s)://host[:port]; "" or NULL: AWS for the region */
    const char *region;   /* "" or NULL: us-east-1 */
    const char *access_key;
    const char *secret_key;
    int max_tries;  /* 0: 5 */
    int backoff_ms; /* 0: 100, doubled per try */
} s3_settings;

/* NULL with e set when the settings are unusable. Copies what it keeps. */
s3_client *s3_client_new(const s3_settings *s, hdp_err *e);
void s3_client_free(s3_client *c); /* NULL is a no-op */
/* The endpoint in use, for messages (a userinfo password masked). */
const char *s3_client_endpoint(const s3_client *c);

/* HDP_OK when bucket exists and the credentials may list it. */
int s3_bucket_check(s3_client *c, const char *bucket, hdp_err *e);
/* Creates bucket when missing; an existing bucket of ours is success. */
int s3_bucket_ensure(s3_client *c, const char *bucket, hdp_err *e);

int s3_put_object(s3_client *c, const char *bucket, const char *key, const void *data, size_t len,
                  hdp_err *e);
/* Reads the object into out; *found = 0 (and HDP_OK) when the key does not exist. */
/* PUT with If-None-Match: *: *created = 1 when stored, 0 when an object holds the key. */
int s3_put_object_new(s3_client *c, const char *bucket, const char *key, const void *data,
                      size_t len, int *created, hdp_err *e);
int s3_get_object(s3_client *c, const char *bucket, const char *key, hdp_buf *out, int *found,
                  hdp_err *e);
/* *found = 0 when the key does not exist (a missing bucket is an error). */
int s3_head_object(s3_client *c, const char *bucket, const char *key, int *found, uint64_t *size,
                   hdp_err *e);
/* Deleting a missing key succeeds. */
int s3_delete_object(s3_client *c, const char *bucket, const char *key, hdp_err *e);

/* ListObjectsV2 over every page (page = max-keys, 1..1000); cb as in lake_list: a non-zero
 * return stops the listing and is returned as is. */
typedef int (*s3_list_cb)(void *ctx, const char *key, uint64_t size, int64_t mtime);
int s3_list_objects(s3_client *c, const char *bucket, const char *prefix, int page, s3_list_cb cb,
                    void *ctx, hdp_err *e);

/* Supplies bytes [off, off+n) of the object being uploaded: either points *p into memory it
 * owns, or fills scratch and points *p at scratch->data. */
typedef int (*s3_part_reader)(void *ctx, uint64_t off, size_t n, hdp_buf *scratch, const char **p,
                              hdp_err *e);

/* Multipart upload of total bytes in parts of part_size (>= 5 MiB; raised when more than
 * 10000 parts would be needed). Aborts the upload on failure, so no parts linger. The
 * object appears whole at completion or not at all. */
int s3_multipart_upload(s3_client *c, const char *bucket, const char *key, uint64_t total,
                        uint64_t part_size, s3_part_reader read, void *ctx, hdp_err *e);

#endif
