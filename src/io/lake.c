/* lake.c — the lake interface: picks a backend by URL scheme, checks keys, dispatches. */
#include "io/lake.h"

#include <stdlib.h>
#include <string.h>

#include "io/lake_impl.h"

#define LAKE_KEY_MAX 1024

static const lake_backend *const backends[] = {&lake_file_backend, &lake_s3_backend};

/* Checks one segment [s, s+n) of a key. A prefix's last segment may be partial, so it is
 * only checked for being a whole "." or ".." when complete. */
static int segment_check(const char *s, size_t n, int complete, hdp_err *e)
{
    if (n == 0)
        return hdp_fail(e, "lake: key has an empty segment");
    if (complete && ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')))
        return hdp_fail(e, "lake: key has a '.' or '..' segment");
    if (n >= 5 && memcmp(s, ".tmp-", 5) == 0)
        return hdp_fail(e, "lake: key segments must not start with '.tmp-'");
    return HDP_OK;
}

int lake_key_check(const char *key, int is_prefix, hdp_err *e)
{
    if (key == NULL)
        return hdp_fail(e, "lake: no key");
    size_t len = strlen(key);
    if (len == 0 && !is_prefix)
        return hdp_fail(e, "lake: empty key");
    if (len > LAKE_KEY_MAX)
        return hdp_fail(e, "lake: key longer than %d bytes", LAKE_KEY_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f)
            return hdp_fail(e, "lake: key contains a control character");
    }
    if (len > 0 && key[0] == '/')
        return hdp_fail(e, "lake: key '%.200s' must be relative (no leading '/')", key);
    if (len > 0 && key[len - 1] == '/' && !is_prefix)
        return hdp_fail(e, "lake: key '%.200s' must not end in '/'", key);
    const char *seg = key;
    const char *end = key + len;
    while (seg < end) {
        const char *slash = memchr(seg, '/', (size_t)(end - seg));
        size_t n = slash ? (size_t)(slash - seg) : (size_t)(end - seg);
        int complete = slash != NULL || !is_prefix;
        if (segment_check(seg, n, complete, e) != HDP_OK) {
            hdp_err_prefix(e, "'%.200s': ", key);
            return HDP_ERR;
        }
        if (slash == NULL)
            break;
        seg = slash + 1;
    }
    return HDP_OK;
}

hdp_lake *lake_open(const hdp_lake_conf *c, hdp_err *e)
{
    const char *url = c ? c->url : NULL;
    if (url == NULL || *url == '\0') {
        hdp_fail(e, "lake: HDP_LAKE_URL is empty");
        return NULL;
    }
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        const lake_backend *be = backends[i];
        size_t n = strlen(be->scheme);
        if (strncmp(url, be->scheme, n) != 0)
            continue;
        hdp_lake *lk = xcalloc(1, sizeof(*lk));
        lk->be = be;
        if (be->open(lk, url + n, c, e) != HDP_OK) {
            lake_close(lk);
            return NULL;
        }
        return lk;
    }
    hdp_fail(e, "lake: HDP_LAKE_URL '%.200s' must start with file:// or s3://", url);
    return NULL;
}

void lake_close(hdp_lake *lk)
{
    if (lk == NULL)
        return;
    if (lk->impl)
        lk->be->close(lk);
    free(lk->desc);
    free(lk);
}

const char *lake_describe(const hdp_lake *lk)
{
    return lk && lk->desc ? lk->desc : "(no lake)";
}

int lake_ensure(hdp_lake *lk, hdp_err *e)
{
    if (lk == NULL)
        return hdp_fail(e, "lake: not open");
    return lk->be->ensure(lk, e);
}

int lake_put(hdp_lake *lk, const char *key, const void *data, size_t len, hdp_err *e)
{
    if (lk == NULL)
        return hdp_fail(e, "lake: not open");
    if (data == NULL && len > 0)
        return hdp_fail(e, "lake: put '%.200s' without data", key ? key : "");
    if (lake_key_check(key, 0, e) != HDP_OK)
        return HDP_ERR;
    return lk->be->put(lk, key, data ? data : "", len, e);
}

int lake_put_new(hdp_lake *lk, const char *key, const void *data, size_t len, int *created,
                 hdp_err *e)
{
    if (lk == NULL || created == NULL)
        return hdp_fail(e, "lake: not open or no result pointer");
    *created = 0;
    if (data == NULL && len > 0)
        return hdp_fail(e, "lake: put '%.200s' without data", key ? key : "");
    if (lake_key_check(key, 0, e) != HDP_OK)
        return HDP_ERR;
    return lk->be->put_new(lk, key, data ? data : "", len, created, e);
}

int lake_put_file(hdp_lake *lk, const char *key, const char *local_path, hdp_err *e)
{
    if (lk == NULL)
        return hdp_fail(e, "lake: not open");
    if (local_path == NULL || *local_path == '\0')
        return hdp_fail(e, "lake: put '%.200s' without a local file", key ? key : "");
    if (lake_key_check(key, 0, e) != HDP_OK)
        return HDP_ERR;
    return lk->be->put_file(lk, key, local_path, e);
}

int lake_get(hdp_lake *lk, const char *key, hdp_buf *out, hdp_err *e)
{
    if (lk == NULL || out == NULL)
        return hdp_fail(e, "lake: not open or no output buffer");
    if (lake_key_check(key, 0, e) != HDP_OK)
        return HDP_ERR;
    buf_reset(out);
    return lk->be->get(lk, key, out, e);
}

int lake_head(hdp_lake *lk, const char *key, int *found, uint64_t *size, hdp_err *e)
{
    uint64_t ignored = 0;
    if (lk == NULL || found == NULL)
        return hdp_fail(e, "lake: not open or no result pointer");
    *found = 0;
    if (lake_key_check(key, 0, e) != HDP_OK)
        return HDP_ERR;
    if (size == NULL)
        size = &ignored;
    *size = 0;
    return lk->be->head(lk, key, found, size, e);
}

int lake_delete(hdp_lake *lk, const char *key, hdp_err *e)
{
    if (lk == NULL)
        return hdp_fail(e, "lake: not open");
    if (lake_key_check(key, 0, e) != HDP_OK)
        return HDP_ERR;
    return lk->be->del(lk, key, e);
}

int lake_list(hdp_lake *lk, const char *prefix, lake_list_cb cb, void *ctx, hdp_err *e)
{
    if (lk == NULL || cb == NULL)
        return hdp_fail(e, "lake: not open or no callback");
    if (prefix == NULL)
        prefix = "";
    if (lake_key_check(prefix, 1, e) != HDP_OK)
        return HDP_ERR;
    return lk->be->list(lk, prefix, cb, ctx, e);
}

static int collect_key(void *ctx, const char *key, uint64_t size, int64_t mtime)
{
    (void)size;
    (void)mtime;
    lake_keys *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->keys = xrealloc(l->keys, l->cap * sizeof(*l->keys));
    }
    l->keys[l->n++] = xstrdup(key);
    return 0;
}

int lake_list_keys(hdp_lake *lk, const char *prefix, lake_keys *out, hdp_err *e)
{
    return lake_list(lk, prefix, collect_key, out, e);
}

void lake_keys_free(lake_keys *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    memset(l, 0, sizeof(*l));
}
