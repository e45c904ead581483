/* lake_s3.c — the s3:// lake backend: keys live under s3://BUCKET/PREFIX/ through s3.c.
 *
 * Small objects go up in one signed PUT; objects over the multipart threshold go up part by
 * part (memory stays at one part). Both become visible whole, at once. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/lake_impl.h"
#include "io/s3.h"

#define MIB (1024ULL * 1024ULL)

typedef struct s3_lake {
    s3_client *c;
    char *bucket;
    char *prefix; /* "" or ending in '/' */
    uint64_t threshold;
    uint64_t part_size;
    int list_page;
} s3_lake;

static s3_lake *sl_of(hdp_lake *lk)
{
    return lk->impl;
}

/* Returns prefix + key; the caller frees it. */
static char *full_key(const s3_lake *sl, const char *key)
{
    hdp_buf b = HDP_BUF_INIT;
    buf_puts(&b, sl->prefix);
    buf_puts(&b, key);
    return buf_detach(&b);
}

/* S3 bucket naming rules, so a typo fails here and not as a server's puzzle. */
static int bucket_check_name(const char *b, size_t n, hdp_err *e)
{
    if (n < 3 || n > 63)
        return hdp_fail(e, "lake: S3 bucket name '%.*s' must have 3 to 63 characters", (int)n, b);
    for (size_t i = 0; i < n; i++) {
        char ch = b[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
        if (!ok)
            return hdp_fail(e, "lake: S3 bucket name '%.*s' may hold only a-z, 0-9, '-' and '.'",
                            (int)n, b);
    }
    if (b[0] == '-' || b[0] == '.' || b[n - 1] == '-' || b[n - 1] == '.')
        return hdp_fail(e, "lake: S3 bucket name '%.*s' must start and end with a letter or digit",
                        (int)n, b);
    return HDP_OK;
}

static int s3l_open(hdp_lake *lk, const char *rest, const hdp_lake_conf *cfg, hdp_err *e)
{
    const hdp_lake_opts *o = &cfg->tuning;
    const char *slash = strchr(rest, '/');
    size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (bucket_check_name(rest, blen, e) != HDP_OK)
        return HDP_ERR;
    hdp_buf prefix = HDP_BUF_INIT;
    if (slash) {
        const char *p = slash + 1;
        while (*p == '/')
            p++;
        buf_puts(&prefix, p);
        while (prefix.len > 0 && prefix.data[prefix.len - 1] == '/')
            prefix.data[--prefix.len] = '\0';
        if (prefix.len > 0 && lake_key_check(prefix.data, 0, e) != HDP_OK) {
            hdp_err_prefix(e, "HDP_LAKE_URL prefix: ");
            buf_free(&prefix);
            return HDP_ERR;
        }
        if (prefix.len > 0)
            buf_putc(&prefix, '/');
    }
    s3_settings st = {
        .endpoint = cfg->s3_endpoint,
        .region = cfg->s3_region,
        .access_key = cfg->s3_access_key,
        .secret_key = cfg->s3_secret_key,
        .max_tries = o->max_tries,
        .backoff_ms = o->backoff_ms,
    };
    s3_client *c = s3_client_new(&st, e);
    if (c == NULL) {
        buf_free(&prefix);
        return HDP_ERR;
    }
    s3_lake *sl = xcalloc(1, sizeof(*sl));
    sl->c = c;
    sl->bucket = xstrndup(rest, blen);
    sl->prefix = prefix.data ? buf_detach(&prefix) : xstrdup("");
    sl->threshold = o->multipart_threshold ? o->multipart_threshold : 16 * MIB;
    sl->part_size = o->part_size ? o->part_size : 8 * MIB;
    if (sl->part_size < 5 * MIB)
        sl->part_size = 5 * MIB;
    sl->list_page = o->list_page > 0 && o->list_page <= 1000 ? o->list_page : 1000;
    lk->impl = sl;
    hdp_buf d = HDP_BUF_INIT;
    buf_printf(&d, "s3://%s/%s @ %s", sl->bucket, sl->prefix, s3_client_endpoint(c));
    lk->desc = buf_detach(&d);
    return HDP_OK;
}

static void s3l_close(hdp_lake *lk)
{
    s3_lake *sl = sl_of(lk);
    s3_client_free(sl->c);
    free(sl->bucket);
    free(sl->prefix);
    free(sl);
    lk->impl = NULL;
}

static int s3l_ensure(hdp_lake *lk, hdp_err *e)
{
    s3_lake *sl = sl_of(lk);
    return s3_bucket_ensure(sl->c, sl->bucket, e);
}

/* Part reader over memory: points into the caller's bytes. */
static int mem_part(void *ctx, uint64_t off, size_t n, hdp_buf *scratch, const char **p, hdp_err *e)
{
    *p = (const char *)ctx + off;
    return HDP_OK;
}

typedef struct file_src {
    int fd;
    const char *path;
} file_src;

/* Part reader over a local file: reads [off, off+n) into scratch. */
static int file_part(void *ctx, uint64_t off, size_t n, hdp_buf *scratch, const char **p,
                     hdp_err *e)
{
    const file_src *fs = ctx;
    buf_reset(scratch);
    buf_reserve(scratch, n);
    while (scratch->len < n) {
        ssize_t r = pread(fs->fd, scratch->data + scratch->len, n - scratch->len,
                          (off_t)(off + scratch->len));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return hdp_fail(e, "lake: reading %s: %s", fs->path, strerror(errno));
        if (r == 0)
            return hdp_fail(e, "lake: %s shrank while being uploaded", fs->path);
        scratch->len += (size_t)r;
    }
    scratch->data[scratch->len] = '\0';
    *p = scratch->data;
    return HDP_OK;
}

static int s3l_put(hdp_lake *lk, const char *key, const void *data, size_t len, hdp_err *e)
{
    s3_lake *sl = sl_of(lk);
    char *k = full_key(sl, key);
    int rc;
    if ((uint64_t)len > sl->threshold)
        rc = s3_multipart_upload(sl->c, sl->bucket, k, len, sl->part_size, mem_part, (void *)data,
                                 e);
    else
        rc = s3_put_object(sl->c, sl->bucket, k, data, len, e);
    free(k);
    return rc;
}

static int s3l_put_new(hdp_lake *lk, const char *key, const void *data, size_t len, int *created,
                       hdp_err *e)
{
    s3_lake *sl = sl_of(lk);
    char *k = full_key(sl, key);
    int rc = s3_put_object_new(sl->c, sl->bucket, k, data, len, created, e);
    free(k);
    return rc;
}

static int s3l_put_file(hdp_lake *lk, const char *key, const char *path, hdp_err *e)
{
    s3_lake *sl = sl_of(lk);
    file_src fs = {.fd = open(path, O_RDONLY | O_CLOEXEC), .path = path};
    if (fs.fd < 0)
        return hdp_fail(e, "lake: cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fs.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fs.fd);
        return hdp_fail(e, "lake: %s is not a readable regular file", path);
    }
    uint64_t total = (uint64_t)st.st_size;
    char *k = full_key(sl, key);
    int rc;
    if (total > sl->threshold) {
        rc = s3_multipart_upload(sl->c, sl->bucket, k, total, sl->part_size, file_part, &fs, e);
    } else {
        hdp_buf data = HDP_BUF_INIT;
        const char *p = "";
        rc = total ? file_part(&fs, 0, (size_t)total, &data, &p, e) : HDP_OK;
        if (rc == HDP_OK)
            rc = s3_put_object(sl->c, sl->bucket, k, p, (size_t)total, e);
        buf_free(&data);
    }
    free(k);
    close(fs.fd);
    return rc;
}

static int s3l_get(hdp_lake *lk, const char *key, hdp_buf *out, hdp_err *e)
{
    s3_lake *sl = sl_of(lk);
    char *k = full_key(sl, key);
    int found = 0;
    int rc = s3_get_object(sl->c, sl->bucket, k, out, &found, e);
    if (rc == HDP_OK && !found)
        rc = hdp_fail(e, "lake: '%.300s' not found in %s", key, lake_describe(lk));
    free(k);
    return rc;
}

static int s3l_head(hdp_lake *lk, const char *key, int *found, uint64_t *size, hdp_err *e)
{
    s3_lake *sl = sl_of(lk);
    char *k = full_key(sl, key);
    int rc = s3_head_object(sl->c, sl->bucket, k, found, size, e);
    free(k);
    return rc;
}

static int s3l_del(hdp_lake *lk, const char *key, hdp_err *e)
{
    s3_lake *sl = sl_of(lk);
    char *k = full_key(sl, key);
    int rc = s3_delete_object(sl->c, sl->bucket, k, e);
    free(k);
    return rc;
}

typedef struct strip_ctx {
    size_t plen;
    lake_list_cb cb;
    void *ctx;
} strip_ctx;

/* Hands listed keys to the caller without the lake's prefix. */
static int strip_prefix(void *ctx, const char *key, uint64_t size, int64_t mtime)
{
    const strip_ctx *sc = ctx;
    if (strlen(key) <= sc->plen)
        return HDP_OK; /* the prefix's own "folder" marker, not an object of ours */
    return sc->cb(sc->ctx, key + sc->plen, size, mtime);
}

static int s3l_list(hdp_lake *lk, const char *prefix, lake_list_cb cb, void *ctx, hdp_err *e)
{
    s3_lake *sl = sl_of(lk);
    char *p = full_key(sl, prefix);
    strip_ctx sc = {.plen = strlen(sl->prefix), .cb = cb, .ctx = ctx};
    int rc = s3_list_objects(sl->c, sl->bucket, p, sl->list_page, strip_prefix, &sc, e);
    free(p);
    return rc;
}

const lake_backend lake_s3_backend = {
    .scheme = "s3://",
    .open = s3l_open,
    .close = s3l_close,
    .ensure = s3l_ensure,
    .put = s3l_put,
    .put_new = s3l_put_new,
    .put_file = s3l_put_file,
    .get = s3l_get,
    .head = s3l_head,
    .del = s3l_del,
    .list = s3l_list,
};
