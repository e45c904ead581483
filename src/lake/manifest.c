#include "lake/manifest.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

/* ------------------------------------------------------------------ segment sets */

/* a < b with a gap between them (a + 1 < b), without overflow. */
static int apart(int64_t a, int64_t b)
{
    return a < b && (uint64_t)b - (uint64_t)a > 1;
}

void segset_add(seg_set *s, int64_t lo, int64_t hi)
{
    if (lo > hi)
        return;
    /* first range that may touch [lo, hi] (its hi + 1 >= lo), by binary search */
    size_t i = 0, top = s->n;
    while (i < top) {
        size_t mid = i + (top - i) / 2;
        if (apart(s->r[mid].hi, lo))
            i = mid + 1;
        else
            top = mid;
    }
    size_t j = i;
    while (j < s->n && !apart(hi, s->r[j].lo)) {
        if (s->r[j].lo < lo)
            lo = s->r[j].lo;
        if (s->r[j].hi > hi)
            hi = s->r[j].hi;
        j++;
    }
    if (j == i) { /* insert */
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 8;
            s->r = xrealloc(s->r, s->cap * sizeof(*s->r));
        }
        memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
        s->n++;
    } else { /* ranges i..j-1 merge into i */
        memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
        s->n -= j - i - 1;
    }
    s->r[i] = (seg_range){lo, hi};
}

int segset_has(const seg_set *s, int64_t seg)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].hi < seg)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->r[lo].lo <= seg;
}

void segset_free(seg_set *s)
{
    free(s->r);
    memset(s, 0, sizeof(*s));
}

void segset_encode(const seg_set *s, hdp_buf *out)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < s->n; i++)
        buf_printf(out, "%s[%" PRId64 ",%" PRId64 "]", i ? "," : "", s->r[i].lo, s->r[i].hi);
    buf_putc(out, ']');
}

static int segset_decode(json_t *a, seg_set *s)
{
    if (!json_is_array(a))
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        json_t *lo = json_array_get(v, 0), *hi = json_array_get(v, 1);
        if (!json_is_integer(lo) || !json_is_integer(hi) || json_array_size(v) != 2)
            return -1;
        segset_add(s, json_integer_value(lo), json_integer_value(hi));
    }
    return 0;
}

/* ------------------------------------------------------------------ raw objects */

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int raw_key_parse(const char *key, raw_object *o)
{
    size_t klen = strlen(key);
    if (strncmp(key, "raw/", 4) != 0 || klen >= sizeof(o->key))
        return -1;
    const char *t = key + 4, *slash = strchr(t, '/');
    if (slash == NULL || slash == t || (size_t)(slash - t) >= sizeof(o->table) ||
        strncmp(slash, "/dt=", 4) != 0)
        return -1;
    const char *day = slash + 4, *slash2 = strchr(day, '/');
    if (slash2 == NULL || slash2 - day != 10)
        return -1;
    char date[11]; /* a real YYYY-MM-DD: it names curated folders and goes into manifests */
    int64_t dayno;
    memcpy(date, day, 10);
    date[10] = '\0';
    if (date_parse(date, &dayno) != 0)
        return -1;
    const char *name = slash2 + 1, *dash = strchr(name, '-');
    const char *dot = strrchr(name, '.');
    if (dash == NULL || dot == NULL || dot < dash || strcmp(dot, ".jsonl") != 0)
        return -1;
    uint64_t seg, lsn;
    int neg = name[0] == '-'; /* never: segment numbers are positive in practice */
    if (neg || parse_u64(name, (size_t)(dash - name), &seg) != 0 ||
        parse_u64(dash + 1, (size_t)(dot - dash - 1), &lsn) != 0 || seg > INT64_MAX)
        return -1;
    memcpy(o->key, key, klen + 1);
    memcpy(o->table, t, (size_t)(slash - t));
    o->table[slash - t] = '\0';
    memcpy(o->dt, day, 10);
    o->dt[10] = '\0';
    o->segment = (int64_t)seg;
    o->first_lsn = lsn;
    return 0;
}

int marker_decode(const char *json, size_t n, int64_t *segment, raw_object **objs, size_t *nobjs,
                  hdp_err *e)
{
    json_error_t je;
    json_t *j = json_loadb(json, n, 0, &je);
    if (j == NULL)
        return hdp_fail(e, "not JSON: %s", je.text);
    int rc = HDP_OK;
    json_t *seg = json_object_get(j, "segment"), *arr = json_object_get(j, "objects");
    if (!json_is_integer(seg) || !json_is_array(arr)) {
        rc = hdp_fail(e, "no segment or objects");
    } else {
        *segment = json_integer_value(seg);
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
            const char *key = json_string_value(json_object_get(v, "key"));
            raw_object o;
            if (key == NULL || raw_key_parse(key, &o) != 0) {
                rc = hdp_fail(e, "object %zu: bad key %s", i, key ? key : "(none)");
                break;
            }
            if (o.segment != *segment) {
                rc = hdp_fail(e, "object %s is not of segment %" PRId64, key, *segment);
                break;
            }
            json_t *rows = json_object_get(v, "rows"), *bytes = json_object_get(v, "bytes");
            const char *sum = json_string_value(json_object_get(v, "xxh3"));
            o.rows = json_is_integer(rows) ? json_integer_value(rows) : -1;
            o.bytes = json_is_integer(bytes) ? json_integer_value(bytes) : -1;
            o.has_xxh3 = 0;
            if (sum) {
                char *end = NULL;
                o.xxh3 = strtoull(sum, &end, 16);
                if (strlen(sum) != 16 || *end != '\0') {
                    rc = hdp_fail(e, "object %s: bad xxh3 '%.40s'", key, sum);
                    break;
                }
                o.has_xxh3 = 1;
            }
            *objs = xrealloc(*objs, (*nobjs + 1) * sizeof(**objs));
            (*objs)[(*nobjs)++] = o;
        }
    }
    json_decref(j);
    return rc;
}

static const raw_object *sort_base;

static int cmp_obj(const void *a, const void *b)
{
    const raw_object *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    int c = strcmp(x->dt, y->dt);
    if (c)
        return c;
    if (x->segment != y->segment)
        return x->segment < y->segment ? -1 : 1;
    if (x->first_lsn != y->first_lsn)
        return x->first_lsn < y->first_lsn ? -1 : 1;
    return strcmp(x->key, y->key);
}

size_t plan_select(const raw_object *objs, size_t n, const char *table, const seg_set *done,
                   size_t *idx)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(objs[i].table, table) == 0 && !segset_has(done, objs[i].segment))
            idx[k++] = i;
    sort_base = objs;
    qsort(idx, k, sizeof(*idx), cmp_obj);
    sort_base = NULL;
    return k;
}

/* ------------------------------------------------------------------ manifests */

void manifest_add_file(manifest *m, const mf_file *f)
{
    if (m->nfiles == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->files = xrealloc(m->files, m->cap * sizeof(*m->files));
    }
    m->files[m->nfiles] = *f;
    m->files[m->nfiles].key = xstrdup(f->key);
    m->nfiles++;
}

void manifest_encode(const manifest *m, hdp_buf *out)
{
    buf_printf(out, "{\"version\":%" PRId64 ",\"table\":", m->version);
    buf_put_json_str(out, m->table, strlen(m->table));
    /* every string escaped: a decoded manifest may hold anything JSON can */
    buf_puts(out, ",\"created_at\":");
    buf_put_json_str(out, m->created_at, strlen(m->created_at));
    buf_printf(out, ",\"rows\":%" PRId64 ",\"quarantined\":%" PRId64 ",\n\"files\":[", m->rows,
               m->quarantined);
    for (size_t i = 0; i < m->nfiles; i++) {
        const mf_file *f = &m->files[i];
        buf_puts(out, i ? ",\n {\"key\":" : "\n {\"key\":");
        buf_put_json_str(out, f->key, strlen(f->key));
        buf_puts(out, ",\"dt\":");
        buf_put_json_str(out, f->dt, strlen(f->dt));
        buf_printf(out,
                   ",\"segments\":[%" PRId64 ",%" PRId64 "],\"rows\":%" PRId64
                   ",\"quarantined\":%" PRId64 ",\"bytes\":%" PRId64 "}",
                   f->first, f->last, f->rows, f->quarantined, f->bytes);
    }
    buf_puts(out, "],\n\"segments_done\":");
    segset_encode(&m->done, out);
    buf_puts(out, "}\n");
}

static int get_i64(json_t *o, const char *k, int64_t *v)
{
    json_t *x = json_object_get(o, k);
    if (!json_is_integer(x))
        return -1;
    *v = json_integer_value(x);
    return 0;
}

static int copy_str(json_t *o, const char *k, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (s == NULL || strlen(s) >= cap)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int manifest_decode(const char *json, size_t n, manifest *m, hdp_err *e)
{
    json_error_t je;
    json_t *j = json_loadb(json, n, 0, &je);
    if (j == NULL)
        return hdp_fail(e, "manifest is not JSON: %s", je.text);
    int rc = HDP_OK;
    json_t *files = json_object_get(j, "files");
    if (get_i64(j, "version", &m->version) != 0 || copy_str(j, "table", m->table, 64) != 0 ||
        copy_str(j, "created_at", m->created_at, 32) != 0 || get_i64(j, "rows", &m->rows) != 0 ||
        get_i64(j, "quarantined", &m->quarantined) != 0 || !json_is_array(files) ||
        segset_decode(json_object_get(j, "segments_done"), &m->done) != 0)
        rc = hdp_fail(e, "manifest lacks version, table, created_at, rows, quarantined, files "
                         "or segments_done");
    size_t i;
    json_t *v;
    json_array_foreach(files, i, v)
    {
        if (rc != HDP_OK)
            break;
        mf_file f = {0};
        json_t *segs = json_object_get(v, "segments");
        const char *key = json_string_value(json_object_get(v, "key"));
        if (key == NULL || copy_str(v, "dt", f.dt, sizeof(f.dt)) != 0 ||
            !json_is_integer(json_array_get(segs, 0)) ||
            !json_is_integer(json_array_get(segs, 1)) || get_i64(v, "rows", &f.rows) != 0 ||
            get_i64(v, "quarantined", &f.quarantined) != 0 || get_i64(v, "bytes", &f.bytes) != 0) {
            rc = hdp_fail(e, "manifest file entry %zu is malformed", i);
            break;
        }
        f.first = json_integer_value(json_array_get(segs, 0));
        f.last = json_integer_value(json_array_get(segs, 1));
        f.key = (char *)key;
        manifest_add_file(m, &f);
    }
    json_decref(j);
    return rc;
}

void manifest_free(manifest *m)
{
    for (size_t i = 0; i < m->nfiles; i++)
        free(m->files[i].key);
    free(m->files);
    segset_free(&m->done);
    memset(m, 0, sizeof(*m));
}
