#include "lake/lake_state.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lake_layout.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "lake/schema.h"

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
    lake_keys l = {0};
    int rc = lake_list_keys(lk, prefix, &l, e);
    int64_t best = 0;
    for (size_t i = 0; rc == HDP_OK && i < l.n; i++) {
        int64_t v = manifest_key_version(l.keys[i]);
        if (v > best)
            best = v;
    }
    lake_keys_free(&l);
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

/* Reads a small JSON document of the lake; *j NULL when the key is absent. */
static int load_json(hdp_lake *lk, const char *key, json_t **j, hdp_err *e)
{
    *j = NULL;
    int found = 0;
    int rc = lake_head(lk, key, &found, NULL, e);
    if (rc != HDP_OK || !found)
        return rc;
    hdp_buf b = HDP_BUF_INIT;
    rc = lake_get(lk, key, &b, e);
    if (rc == HDP_OK) {
        json_error_t je;
        *j = json_loadb(b.data, b.len, 0, &je);
        if (*j == NULL)
            log_warn("%s is not JSON (%s): ignored", key, je.text);
    }
    buf_free(&b);
    return rc;
}

static int64_t get_i64(json_t *j, const char *k, int64_t def)
{
    json_t *v = json_object_get(j, k);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

int compact_state_load(hdp_lake *lk, const char *table, compact_state *st, hdp_err *e)
{
    memset(st, 0, sizeof(*st));
    st->complete_through = -1;
    char key[160];
    snprintf(key, sizeof(key), LAKE_COMPACT_STATE_KEY_FMT, table);
    json_t *j = NULL;
    int rc = load_json(lk, key, &j, e);
    if (rc != HDP_OK || j == NULL)
        return rc;
    json_t *a = json_object_get(j, "markers_done");
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        json_t *lo = json_array_get(v, 0), *hi = json_array_get(v, 1);
        if (json_is_integer(lo) && json_is_integer(hi))
            segset_add(&st->markers_done, json_integer_value(lo), json_integer_value(hi));
    }
    st->complete_through = get_i64(j, "complete_through", -1);
    st->rows = get_i64(j, "rows", 0);
    st->quarantined = get_i64(j, "quarantined", 0);
    st->files = get_i64(j, "files", 0);
    json_t *b = json_object_get(j, "blocked");
    if (json_is_object(b)) {
        st->blocked = 1;
        st->blocked_segment = get_i64(b, "segment", -1);
        const char *o = json_string_value(json_object_get(b, "object"));
        const char *r = json_string_value(json_object_get(b, "reason"));
        snprintf(st->blocked_object, sizeof(st->blocked_object), "%s", o ? o : "");
        snprintf(st->blocked_reason, sizeof(st->blocked_reason), "%s", r ? r : "");
    }
    json_decref(j);
    return HDP_OK;
}

int compact_state_save(hdp_lake *lk, const char *table, const compact_state *st, hdp_err *e)
{
    char key[160], ts[32];
    snprintf(key, sizeof(key), LAKE_COMPACT_STATE_KEY_FMT, table);
    ts_format(now_unix_us(), ts);
    hdp_buf b = HDP_BUF_INIT;
    buf_puts(&b, "{\"table\":");
    buf_put_json_str(&b, table, strlen(table));
    buf_puts(&b, ",\"markers_done\":");
    segset_encode(&st->markers_done, &b);
    buf_printf(&b,
               ",\"complete_through\":%" PRId64 ",\"rows\":%" PRId64 ",\"quarantined\":%" PRId64
               ",\"files\":%" PRId64 ",\"blocked\":",
               st->complete_through, st->rows, st->quarantined, st->files);
    if (st->blocked) {
        buf_printf(&b, "{\"segment\":%" PRId64 ",\"object\":", st->blocked_segment);
        buf_put_json_str(&b, st->blocked_object, strlen(st->blocked_object));
        buf_puts(&b, ",\"reason\":");
        buf_put_json_str(&b, st->blocked_reason, strlen(st->blocked_reason));
        buf_putc(&b, '}');
    } else {
        buf_puts(&b, "null");
    }
    buf_printf(&b, ",\"updated_at\":\"%s\"}\n", ts);
    int rc = lake_put(lk, key, b.data, b.len, e);
    buf_free(&b);
    return rc;
}

void compact_state_free(compact_state *st)
{
    segset_free(&st->markers_done);
}

int compact_frontier(hdp_lake *lk, int64_t *through, hdp_err *e)
{
    size_t n;
    const sch_table *t = sch_tables(&n);
    int64_t f = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        compact_state st;
        int rc = compact_state_load(lk, t[i].name, &st, e);
        compact_state_free(&st);
        if (rc != HDP_OK)
            return rc;
        if (st.complete_through < f)
            f = st.complete_through;
    }
    *through = n ? f : -1;
    return HDP_OK;
}

int capture_closed_segment(hdp_lake *lk, int64_t *closed, hdp_err *e)
{
    *closed = -1;
    json_t *j = NULL;
    int rc = load_json(lk, LAKE_CAPTURE_STATE_KEY, &j, e);
    if (rc == HDP_OK && j != NULL)
        *closed = get_i64(j, "segment", -1);
    json_decref(j);
    return rc;
}
