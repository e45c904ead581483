#include "batch/manifest_io.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/compact.h"
#include "core/lake_layout.h"
#include "core/log.h"

typedef struct key_list {
    char **keys;
    size_t n, cap;
} key_list;

static int collect_key(void *ctx, const char *key, uint64_t size)
{
    (void)size;
    key_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->keys = xrealloc(l->keys, l->cap * sizeof(*l->keys));
    }
    l->keys[l->n++] = xstrdup(key);
    return 0;
}

static void key_list_free(key_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    memset(l, 0, sizeof(*l));
}

/* Version of "curated/_manifests/<table>/vNNNNNNNNNN.json", or -1. */
static int64_t manifest_key_version(const char *key)
{
    const char *v = strrchr(key, '/');
    if (v == NULL || v[1] != 'v' || strlen(v) != 17 || strcmp(v + 12, ".json") != 0)
        return -1;
    int64_t n = 0;
    for (int i = 2; i < 12; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

void manifest_key(char *out, size_t n, const char *table, int64_t version)
{
    snprintf(out, n, LAKE_MANIFESTS_PREFIX "%s/v%010" PRId64 ".json", table, version);
}

int manifest_load_latest(hdp_lake *lk, const char *table, manifest *m, hdp_err *e)
{
    char prefix[128];
    snprintf(prefix, sizeof(prefix), LAKE_MANIFESTS_PREFIX "%s/v", table);
    key_list l = {0};
    int rc = lake_list(lk, prefix, collect_key, &l, e);
    int64_t best = 0;
    for (size_t i = 0; rc == HDP_OK && i < l.n; i++) {
        int64_t v = manifest_key_version(l.keys[i]);
        if (v > best)
            best = v;
    }
    key_list_free(&l);
    snprintf(m->table, sizeof(m->table), "%s", table);
    if (rc != HDP_OK || best == 0)
        return rc;
    char key[160];
    manifest_key(key, sizeof(key), table, best);
    hdp_buf b = HDP_BUF_INIT;
    rc = lake_get(lk, key, &b, e);
    if (rc == HDP_OK && manifest_decode(b.data, b.len, m, e) != HDP_OK) {
        hdp_err_prefix(e, "%s: ", key);
        rc = HDP_ERR;
    }
    if (rc == HDP_OK && (m->version != best || strcmp(m->table, table) != 0))
        rc = hdp_fail(e, "%s: version or table does not match its key", key);
    buf_free(&b);
    return rc;
}

int compact_state_load(hdp_lake *lk, seg_set *done, hdp_err *e)
{
    int found = 0;
    int rc = lake_head(lk, COMPACT_STATE_KEY, &found, NULL, e);
    if (rc != HDP_OK || !found)
        return rc;
    hdp_buf b = HDP_BUF_INIT;
    rc = lake_get(lk, COMPACT_STATE_KEY, &b, e);
    if (rc == HDP_OK) {
        json_t *j = json_loadb(b.data, b.len, 0, NULL);
        json_t *a = json_object_get(j, "segments_done");
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            json_t *lo = json_array_get(v, 0), *hi = json_array_get(v, 1);
            if (json_is_integer(lo) && json_is_integer(hi))
                segset_add(done, json_integer_value(lo), json_integer_value(hi));
        }
        if (j == NULL || !json_is_array(a))
            log_warn("%s is unreadable: every marker is read again", COMPACT_STATE_KEY);
        json_decref(j);
    }
    buf_free(&b);
    return rc;
}

