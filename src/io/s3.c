/* s3.c — the S3 client (see s3.h): request core with retries, then the operations. */
#include "io/s3.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "core/timeutil.h"
#include "core/url.h"

#include "io/s3_text.h"

#define MIN_PART  (5ULL << 20)
#define MAX_PARTS 10000ULL
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_client {
    CURL *curl;
    char *endpoint; /* no trailing '/' */
    char *shown;    /* the endpoint as messages show it (url_redact) */
    char *region;
    char *access_key;
    char *secret_key;
    char *sigv4; /* "aws:amz:REGION:s3" */
    int max_tries;
    int backoff_ms;
    uint64_t rng;
    char *bucket_ok; /* the last bucket seen to exist, to tell missing keys from buckets */
};

typedef struct s3_req {
    const char *method; /* GET HEAD PUT POST DELETE */
    const char *bucket;
    const char *key;   /* NULL for bucket requests */
    const char *query; /* canonical: sorted, SigV4-encoded; NULL for none */
    const void *body;
    size_t body_len;
    const char *content_type;
    int if_none_match; /* PUT only when no object holds the key (412 otherwise) */
} s3_req;

typedef struct s3_resp {
    long status;
    hdp_buf *body; /* the caller's buffer for the body, or NULL to use own */
    hdp_buf own;   /* freed by s3_do() before it returns */
    char etag[256];
    uint64_t length;
    char code[64];
    char message[200];
} s3_resp;

/* ------------------------------------------------------------------ client */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

s3_client *s3_client_new(const s3_settings *s, hdp_err *e)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        hdp_fail(e, "S3: libcurl init failed: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    const char *region = s->region && *s->region ? s->region : "us-east-1";
    for (const char *p = region; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            hdp_fail(e, "S3: region '%.60s' is not like us-east-1", region);
            return NULL;
        }
    }
    if (s->access_key == NULL || *s->access_key == '\0' || s->secret_key == NULL ||
        *s->secret_key == '\0') {
        hdp_fail(e, "S3: HDP_S3_ACCESS_KEY and HDP_S3_SECRET_KEY must be set for s3:// lakes");
        return NULL;
    }
    s3_client *c = xcalloc(1, sizeof(*c));
    hdp_buf b = HDP_BUF_INIT;
    if (s->endpoint && *s->endpoint)
        buf_puts(&b, s->endpoint);
    else
        buf_printf(&b, "https://s3.%s.amazonaws.com", region);
    while (b.len > 0 && b.data[b.len - 1] == '/')
        b.data[--b.len] = '\0';
    c->endpoint = buf_detach(&b);
    c->shown = xcalloc(1, strlen(c->endpoint) + 8);
    url_redact(c->endpoint, c->shown, strlen(c->endpoint) + 8);
    c->region = xstrdup(region);
    c->access_key = xstrdup(s->access_key);
    c->secret_key = xstrdup(s->secret_key);
    buf_printf(&b, "aws:amz:%s:s3", region);
    c->sigv4 = buf_detach(&b);
    c->max_tries = s->max_tries > 0 ? s->max_tries : 5;
    c->backoff_ms = s->backoff_ms > 0 ? s->backoff_ms : 100;
    if (getrandom(&c->rng, sizeof(c->rng), 0) != (ssize_t)sizeof(c->rng))
        c->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
    c->rng |= 1;
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        s3_client_free(c);
        hdp_fail(e, "S3: cannot create a curl handle");
        return NULL;
    }
    return c;
}

void s3_client_free(s3_client *c)
{
    if (c == NULL)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->endpoint);
    free(c->shown);
    free(c->region);
    if (c->secret_key)
        memset(c->secret_key, 0, strlen(c->secret_key));
    free(c->access_key);
    free(c->secret_key);
    free(c->sigv4);
    free(c->bucket_ok);
    free(c);
}

const char *s3_client_endpoint(const s3_client *c)
{
    return c ? c->shown : "";
}

/* ------------------------------------------------------------------ request core */

static hdp_buf *resp_body(s3_resp *rs)
{
    return rs->body ? rs->body : &rs->own;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    s3_resp *rs = ud;
    buf_append(resp_body(rs), p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    s3_resp *rs = ud;
    size_t len = size * n;
    if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
        const char *v = p + 5;
        const char *end = p + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        s3_one_line(rs->etag, sizeof(rs->etag), v, (size_t)(end - v));
    }
    return len;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Pulls <Code> and <Message> of an S3 error document into the response. */
static void parse_error(s3_resp *rs)
{
    rs->code[0] = rs->message[0] = '\0';
    const hdp_buf *body = resp_body(rs);
    if (body->len == 0)
        return;
    const char *v;
    size_t vl, pos = 0;
    hdp_buf t = HDP_BUF_INIT;
    if (s3_xml_find(body->data, body->len, &pos, "Code", &v, &vl) &&
        s3_xml_unescape(&t, v, vl) == 0)
        s3_one_line(rs->code, sizeof(rs->code), t.data ? t.data : "", t.len);
    buf_reset(&t);
    pos = 0;
    if (s3_xml_find(body->data, body->len, &pos, "Message", &v, &vl) &&
        s3_xml_unescape(&t, v, vl) == 0)
        s3_one_line(rs->message, sizeof(rs->message), t.data ? t.data : "", t.len);
    buf_free(&t);
}

/* Errors of curl itself (bad options, our callbacks) that no retry can fix. */
static int curl_permanent(CURLcode rc)
{
    return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
           rc == CURLE_NOT_BUILT_IN || rc == CURLE_BAD_FUNCTION_ARGUMENT ||
           rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR || rc == CURLE_READ_ERROR ||
           rc == CURLE_UNKNOWN_OPTION || rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_LOGIN_DENIED;
}

static void backoff(s3_client *c, int attempt)
{
    long ms = (long)c->backoff_ms << (attempt < 16 ? attempt : 16);
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    ms = ms / 2 + (long)(c->rng % (uint64_t)(ms / 2 + 1)); /* jitter: [ms/2, ms] */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void build_url(const s3_client *c, const s3_req *rq, hdp_buf *url)
{
    buf_puts(url, c->endpoint);
    buf_putc(url, '/');
    s3_uri_encode(url, rq->bucket, 0);
    if (rq->key) {
        buf_putc(url, '/');
        s3_uri_encode(url, rq->key, 1);
    }
    if (rq->query) {
        buf_putc(url, '?');
        buf_puts(url, rq->query);
    }
}

/* One attempt. Returns the curl code; the status and body land in rs. */
static CURLcode attempt(s3_client *c, const s3_req *rq, const char *url, const char *sha,
                        s3_resp *rs, char *errbuf)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    struct curl_slist *hdrs = NULL;
    char line[128];
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", sha);
    hdrs = curl_slist_append(hdrs, line);
    /* No "Expect:" override: curl 7.88 signs the empty header yet never sends it. */
    if (rq->content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", rq->content_type);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (rq->if_none_match)
        hdrs = curl_slist_append(hdrs, "If-None-Match: *");
    errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret_key);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rs);
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "PUT") == 0 || strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
        curl_off_t cl = -1;
        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        rs->length = cl > 0 ? (uint64_t)cl : 0;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return rc;
}

/* Sends rq, retrying network errors, 5xx and 429 with backoff. HDP_OK means an answer
 * came (any status; rs holds it, error code parsed); HDP_RETRY means the tries ran out. */
static int s3_do(s3_client *c, const s3_req *rq, s3_resp *rs, hdp_err *e)
{
    hdp_buf url = HDP_BUF_INIT;
    build_url(c, rq, &url);
    char sha[65];
    if (rq->body_len > 0)
        sha256_hex(rq->body, rq->body_len, sha);
    else
        memcpy(sha, EMPTY_SHA, sizeof(sha));
    char errbuf[CURL_ERROR_SIZE];
    int rc = HDP_OK;
    for (int i = 0;; i++) {
        buf_reset(resp_body(rs));
        rs->etag[0] = '\0';
        rs->status = 0;
        rs->length = 0;
        CURLcode cr = attempt(c, rq, url.data, sha, rs, errbuf);
        int last = i + 1 >= c->max_tries;
        if (cr != CURLE_OK) {
            const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cr);
            if (curl_permanent(cr)) {
                rc = hdp_fail(e, "S3 %s at %s: %s", rq->method, c->shown, why);
                break;
            }
            if (last) {
                rc = hdp_retry(e, "cannot reach S3 endpoint %s: %s (after %d tries)", c->shown, why,
                               c->max_tries);
                break;
            }
        } else {
            parse_error(rs);
            int transient = rs->status >= 500 || rs->status == 429;
            if (!transient)
                break;
            if (last) {
                rc = hdp_retry(e, "S3 %s %s%s%s: HTTP %ld %s %s (after %d tries)", rq->method,
                               rq->bucket, rq->key ? "/" : "", rq->key ? rq->key : "", rs->status,
                               rs->code, rs->message, c->max_tries);
                break;
            }
        }
        backoff(c, i);
    }
    buf_free(&url);
    buf_free(&rs->own);
    return rc;
}

/* Turns an unexpected answer into the one-line message callers see. */
static int status_error(const s3_client *c, const s3_req *rq, const s3_resp *rs, hdp_err *e)
{
    if (rs->status == 403 || strcmp(rs->code, "InvalidAccessKeyId") == 0 ||
        strcmp(rs->code, "SignatureDoesNotMatch") == 0) {
        if (rs->code[0] == '\0')
            return hdp_fail(e,
                            "S3 access denied (check HDP_S3_ACCESS_KEY/HDP_S3_SECRET_KEY): "
                            "HTTP %ld on %s",
                            rs->status, rq->method);
        return hdp_fail(e, "S3 access denied (check HDP_S3_ACCESS_KEY/HDP_S3_SECRET_KEY): %s %s",
                        rs->code, rs->message);
    }
    if (strcmp(rs->code, "NoSuchBucket") == 0)
        return hdp_fail(e, "S3 bucket '%s' does not exist at %s", rq->bucket, c->shown);
    return hdp_fail(e, "S3 %s %s%s%.300s at %s: HTTP %ld %s %s", rq->method, rq->bucket,
                    rq->key ? "/" : "", rq->key ? rq->key : "", c->shown, rs->status,
                    rs->code[0] ? rs->code : "", rs->message);
}

/* Sends rq and requires a 2xx answer. */
static int s3_do_ok(s3_client *c, const s3_req *rq, s3_resp *rs, hdp_err *e)
{
    int rc = s3_do(c, rq, rs, e);
    if (rc != HDP_OK)
        return rc;
    if (rs->status < 200 || rs->status > 299)
        return status_error(c, rq, rs, e);
    return HDP_OK;
}

/* ------------------------------------------------------------------ buckets */

int s3_bucket_check(s3_client *c, const char *bucket, hdp_err *e)
{
    if (c->bucket_ok && strcmp(c->bucket_ok, bucket) == 0)
        return HDP_OK;
    s3_req rq = {.method = "GET", .bucket = bucket, .query = "list-type=2&max-keys=1"};
    s3_resp rs = {0};
    int rc = s3_do_ok(c, &rq, &rs, e);
    if (rc == HDP_OK) {
        free(c->bucket_ok);
        c->bucket_ok = xstrdup(bucket);
    }
    return rc;
}

int s3_bucket_ensure(s3_client *c, const char *bucket, hdp_err *e)
{
    s3_req rq = {.method = "GET", .bucket = bucket, .query = "list-type=2&max-keys=1"};
    s3_resp rs = {0};
    int rc = s3_do(c, &rq, &rs, e);
    if (rc != HDP_OK)
        return rc;
    if (rs.status == 200)
        return HDP_OK;
    if (strcmp(rs.code, "NoSuchBucket") != 0 && rs.status != 404)
        return status_error(c, &rq, &rs, e);
    hdp_buf body = HDP_BUF_INIT;
    if (strcmp(c->region, "us-east-1") != 0) {
        buf_puts(&body, "<CreateBucketConfiguration "
                        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>");
        buf_puts(&body, c->region);
        buf_puts(&body, "</LocationConstraint></CreateBucketConfiguration>");
    }
    s3_req put = {.method = "PUT",
                  .bucket = bucket,
                  .body = body.data,
                  .body_len = body.len,
                  .content_type = body.len ? "application/xml" : NULL};
    s3_resp prs = {0};
    rc = s3_do(c, &put, &prs, e);
    buf_free(&body);
    if (rc != HDP_OK)
        return rc;
    if ((prs.status >= 200 && prs.status <= 299) ||
        strcmp(prs.code, "BucketAlreadyOwnedByYou") == 0)
        return s3_bucket_check(c, bucket, e); /* confirms we can use it */
    return status_error(c, &put, &prs, e);
}

/* ------------------------------------------------------------------ objects */

int s3_put_object(s3_client *c, const char *bucket, const char *key, const void *data, size_t len,
                  hdp_err *e)
{
    s3_req rq = {.method = "PUT",
                 .bucket = bucket,
                 .key = key,
                 .body = data,
                 .body_len = len,
                 .content_type = "application/octet-stream"};
    s3_resp rs = {0};
    return s3_do_ok(c, &rq, &rs, e);
}

int s3_put_object_new(s3_client *c, const char *bucket, const char *key, const void *data,
                      size_t len, int *created, hdp_err *e)
{
    s3_req rq = {.method = "PUT",
                 .bucket = bucket,
                 .key = key,
                 .body = data,
                 .body_len = len,
                 .content_type = "application/octet-stream",
                 .if_none_match = 1};
    s3_resp rs = {0};
    *created = 0;
    int rc = s3_do(c, &rq, &rs, e);
    if (rc != HDP_OK)
        return rc;
    if (rs.status == 412 || strcmp(rs.code, "PreconditionFailed") == 0)
        return HDP_OK; /* the key is taken */
    if (rs.status < 200 || rs.status > 299)
        return status_error(c, &rq, &rs, e);
    *created = 1;
    return HDP_OK;
}

int s3_get_object(s3_client *c, const char *bucket, const char *key, hdp_buf *out, int *found,
                  hdp_err *e)
{
    s3_req rq = {.method = "GET", .bucket = bucket, .key = key};
    s3_resp rs = {.body = out};
    *found = 0;
    int rc = s3_do(c, &rq, &rs, e);
    if (rc != HDP_OK)
        return rc;
    if (rs.status == 200) {
        *found = 1;
        return HDP_OK;
    }
    if (rs.status == 404 && strcmp(rs.code, "NoSuchKey") == 0) {
        buf_reset(out);
        return HDP_OK;
    }
    rc = status_error(c, &rq, &rs, e);
    buf_reset(out);
    return rc;
}

int s3_head_object(s3_client *c, const char *bucket, const char *key, int *found, uint64_t *size,
                   hdp_err *e)
{
    s3_req rq = {.method = "HEAD", .bucket = bucket, .key = key};
    s3_resp rs = {0};
    *found = 0;
    *size = 0;
    int rc = s3_do(c, &rq, &rs, e);
    if (rc != HDP_OK)
        return rc;
    if (rs.status == 200) {
        *found = 1;
        *size = rs.length;
        return HDP_OK;
    }
    /* A HEAD answer has no body: ask the bucket to tell a missing key from a missing
     * bucket or bad credentials, and for the server's own words. */
    rc = s3_bucket_check(c, bucket, e);
    if (rc != HDP_OK)
        return rc;
    if (rs.status == 404)
        return HDP_OK;
    return status_error(c, &rq, &rs, e);
}

int s3_delete_object(s3_client *c, const char *bucket, const char *key, hdp_err *e)
{
    s3_req rq = {.method = "DELETE", .bucket = bucket, .key = key};
    s3_resp rs = {0};
    int rc = s3_do(c, &rq, &rs, e);
    if (rc != HDP_OK)
        return rc;
    if ((rs.status >= 200 && rs.status <= 299) || strcmp(rs.code, "NoSuchKey") == 0)
        return HDP_OK;
    return status_error(c, &rq, &rs, e);
}

/* ------------------------------------------------------------------ listing */

/* Calls cb for each <Contents> of one ListObjectsV2 page. */
static int list_page(const hdp_buf *doc, s3_list_cb cb, void *ctx, hdp_err *e)
{
    size_t pos = 0;
    const char *blk;
    size_t blen;
    hdp_buf key = HDP_BUF_INIT;
    int rc = HDP_OK;
    while (rc == HDP_OK && s3_xml_block(doc->data, doc->len, &pos, "Contents", &blk, &blen)) {
        const char *v, *sv;
        size_t vl, svl, p1 = 0, p2 = 0;
        if (!s3_xml_find(blk, blen, &p1, "Key", &v, &vl) ||
            !s3_xml_find(blk, blen, &p2, "Size", &sv, &svl) || svl == 0 || svl > 20) {
            rc = hdp_fail(e, "S3 list: malformed <Contents> in the answer");
            break;
        }
        char num[24];
        memcpy(num, sv, svl);
        num[svl] = '\0';
        char *end = NULL;
        unsigned long long size = strtoull(num, &end, 10);
        buf_reset(&key);
        if (*end != '\0' || num[0] == '-' || s3_xml_unescape(&key, v, vl) != 0) {
            rc = hdp_fail(e, "S3 list: malformed key or size in the answer");
            break;
        }
        int64_t mtime = 0, us;
        size_t p3 = 0;
        if (s3_xml_find(blk, blen, &p3, "LastModified", &v, &vl) && ts_parse(v, vl, &us) == 0)
            mtime = floor_div(us, USEC_PER_SEC);
        rc = cb(ctx, key.data ? key.data : "", (uint64_t)size, mtime);
    }
    buf_free(&key);
    return rc;
}

int s3_list_objects(s3_client *c, const char *bucket, const char *prefix, int page, s3_list_cb cb,
                    void *ctx, hdp_err *e)
{
    if (page < 1 || page > 1000)
        page = 1000;
    hdp_buf token = HDP_BUF_INIT, query = HDP_BUF_INIT, doc = HDP_BUF_INIT;
    int rc = HDP_OK;
    for (;;) {
        buf_reset(&query);
        if (token.len) {
            buf_puts(&query, "continuation-token=");
            s3_uri_encode(&query, token.data, 0);
            buf_putc(&query, '&');
        }
        buf_printf(&query, "list-type=2&max-keys=%d&prefix=", page);
        s3_uri_encode(&query, prefix, 0);
        s3_req rq = {.method = "GET", .bucket = bucket, .query = query.data};
        s3_resp rs = {.body = &doc};
        rc = s3_do_ok(c, &rq, &rs, e);
        if (rc != HDP_OK)
            break;
        rc = list_page(&doc, cb, ctx, e);
        if (rc != HDP_OK)
            break;
        const char *v;
        size_t vl, pos = 0;
        int truncated = s3_xml_find(doc.data, doc.len, &pos, "IsTruncated", &v, &vl) && vl == 4 &&
                        memcmp(v, "true", 4) == 0;
        if (!truncated)
            break;
        pos = 0;
        hdp_buf next = HDP_BUF_INIT;
        if (!s3_xml_find(doc.data, doc.len, &pos, "NextContinuationToken", &v, &vl) || vl == 0 ||
            s3_xml_unescape(&next, v, vl) != 0 ||
            (token.len == next.len && memcmp(token.data, next.data, next.len) == 0)) {
            buf_free(&next);
            rc = hdp_fail(e, "S3 list of %s: truncated page without a new continuation token",
                          bucket);
            break;
        }
        buf_free(&token);
        token = next;
    }
    buf_free(&token);
    buf_free(&query);
    buf_free(&doc);
    return rc;
}

/* ------------------------------------------------------------------ multipart */

typedef struct part_etags {
    char **v;
    size_t n;
} part_etags;

static void etags_free(part_etags *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
}

static int mp_create(s3_client *c, const char *bucket, const char *key, hdp_buf *upload_id,
                     hdp_err *e)
{
    s3_req rq = {.method = "POST",
                 .bucket = bucket,
                 .key = key,
                 .query = "uploads=",
                 .content_type = "application/octet-stream"};
    hdp_buf doc = HDP_BUF_INIT;
    s3_resp rs = {.body = &doc};
    int rc = s3_do_ok(c, &rq, &rs, e);
    const char *v;
    size_t vl, pos = 0;
    if (rc == HDP_OK && (!s3_xml_find(doc.data, doc.len, &pos, "UploadId", &v, &vl) || vl == 0 ||
                         s3_xml_unescape(upload_id, v, vl) != 0))
        rc =
            hdp_fail(e, "S3 multipart upload of %s/%.300s: no UploadId in the answer", bucket, key);
    buf_free(&doc);
    return rc;
}

static void mp_abort(s3_client *c, const char *bucket, const char *key, const char *qid)
{
    hdp_buf q = HDP_BUF_INIT;
    buf_printf(&q, "uploadId=%s", qid);
    s3_req rq = {.method = "DELETE", .bucket = bucket, .key = key, .query = q.data};
    s3_resp rs = {0};
    hdp_err ignored;
    s3_do(c, &rq, &rs, &ignored); /* best effort: the caller reports the first failure */
    buf_free(&q);
}

static int mp_complete(s3_client *c, const char *bucket, const char *key, const char *qid,
                       const part_etags *t, hdp_err *e)
{
    hdp_buf body = HDP_BUF_INIT, q = HDP_BUF_INIT, doc = HDP_BUF_INIT;
    buf_puts(&body, "<CompleteMultipartUpload "
                    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (size_t i = 0; i < t->n; i++) {
        buf_printf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        s3_xml_escape(&body, t->v[i]);
        buf_puts(&body, "</ETag></Part>");
    }
    buf_puts(&body, "</CompleteMultipartUpload>");
    buf_printf(&q, "uploadId=%s", qid);
    s3_req rq = {.method = "POST",
                 .bucket = bucket,
                 .key = key,
                 .query = q.data,
                 .body = body.data,
                 .body_len = body.len,
                 .content_type = "application/xml"};
    s3_resp rs = {.body = &doc};
    int rc = s3_do_ok(c, &rq, &rs, e);
    /* CompleteMultipartUpload may fail after a 200: the error is then in the body. */
    if (rc == HDP_OK && doc.len && memmem(doc.data, doc.len, "<Error>", 7)) {
        parse_error(&rs);
        rc = hdp_fail(e, "S3 completing multipart upload of %s/%.300s: %s %s", bucket, key, rs.code,
                      rs.message);
    }
    buf_free(&body);
    buf_free(&q);
    buf_free(&doc);
    return rc;
}

int s3_multipart_upload(s3_client *c, const char *bucket, const char *key, uint64_t total,
                        uint64_t part_size, s3_part_reader read, void *ctx, hdp_err *e)
{
    if (part_size < MIN_PART)
        part_size = MIN_PART;
    if ((total + part_size - 1) / part_size > MAX_PARTS)
        part_size = (total + MAX_PARTS - 1) / MAX_PARTS;
    hdp_buf id = HDP_BUF_INIT, qid = HDP_BUF_INIT, q = HDP_BUF_INIT, scratch = HDP_BUF_INIT;
    int rc = mp_create(c, bucket, key, &id, e);
    if (rc != HDP_OK) {
        buf_free(&id);
        return rc;
    }
    s3_uri_encode(&qid, id.data, 0);
    part_etags t = {0};
    size_t nparts = total == 0 ? 1 : (size_t)((total + part_size - 1) / part_size);
    t.v = xcalloc(nparts, sizeof(*t.v));
    for (size_t i = 0; i < nparts && rc == HDP_OK; i++) {
        uint64_t off = (uint64_t)i * part_size;
        size_t n = (size_t)(total - off < part_size ? total - off : part_size);
        const char *p = NULL;
        buf_reset(&scratch);
        rc = read(ctx, off, n, &scratch, &p, e);
        if (rc != HDP_OK)
            break;
        buf_reset(&q);
        buf_printf(&q, "partNumber=%zu&uploadId=%s", i + 1, qid.data);
        s3_req rq = {.method = "PUT",
                     .bucket = bucket,
                     .key = key,
                     .query = q.data,
                     .body = p,
                     .body_len = n,
                     .content_type = "application/octet-stream"};
        s3_resp rs = {0};
        rc = s3_do_ok(c, &rq, &rs, e);
        if (rc == HDP_OK && rs.etag[0] == '\0')
            rc = hdp_fail(e, "S3 multipart upload of %s/%.300s: part %zu got no ETag", bucket, key,
                          i + 1);
        if (rc == HDP_OK)
            t.v[t.n++] = xstrdup(rs.etag);
    }
    if (rc == HDP_OK)
        rc = mp_complete(c, bucket, key, qid.data, &t, e);
    if (rc != HDP_OK)
        mp_abort(c, bucket, key, qid.data);
    etags_free(&t);
    buf_free(&id);
    buf_free(&qid);
    buf_free(&q);
    buf_free(&scratch);
    return rc;
}
