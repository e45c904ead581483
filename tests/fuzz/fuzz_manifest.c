/* fuzz_manifest — what compaction reads back from the lake: manifests, segment markers and
 * raw object keys (src/batch/manifest.c). Anyone who can write to the lake writes these.
 *
 * The input goes whole to manifest_decode and marker_decode, and, as a string and line by
 * line, to raw_key_parse. Invariants: a decoded manifest encodes to JSON that decodes to the
 * same manifest and encodes to the same bytes; its segments_done is sorted, disjoint and
 * non-adjacent; a marker's objects all belong to its segment and their keys parse to the same
 * objects; a parsed raw key, written back in canonical form, parses to the same fields; the
 * plan over a marker and a manifest lists objects of the table, not done, in order. */
#include "fuzz.h"

#include <inttypes.h>

#include "lake/manifest.h"
#include "core/buf.h"
#include "core/err.h"

static void check_segset(const seg_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        FUZZ_CHECK(s->r[i].lo <= s->r[i].hi);
        if (i)
            FUZZ_CHECK(s->r[i - 1].hi < s->r[i].lo &&
                       (uint64_t)s->r[i].lo - (uint64_t)s->r[i - 1].hi > 1);
        FUZZ_CHECK(segset_has(s, s->r[i].lo) && segset_has(s, s->r[i].hi));
    }
}

static void same_manifest(const manifest *a, const manifest *b)
{
    FUZZ_CHECK(a->version == b->version && strcmp(a->table, b->table) == 0);
    FUZZ_CHECK(strcmp(a->created_at, b->created_at) == 0);
    FUZZ_CHECK(a->rows == b->rows && a->quarantined == b->quarantined && a->nfiles == b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        const mf_file *x = &a->files[i], *y = &b->files[i];
        FUZZ_CHECK(strcmp(x->key, y->key) == 0 && strcmp(x->dt, y->dt) == 0);
        FUZZ_CHECK(x->first == y->first && x->last == y->last && x->rows == y->rows &&
                   x->quarantined == y->quarantined && x->bytes == y->bytes);
    }
    FUZZ_CHECK(a->done.n == b->done.n);
    for (size_t i = 0; i < a->done.n; i++)
        FUZZ_CHECK(a->done.r[i].lo == b->done.r[i].lo && a->done.r[i].hi == b->done.r[i].hi);
}

static void check_manifest(const char *json, size_t n, manifest *m)
{
    hdp_err e;
    if (manifest_decode(json, n, m, &e) != HDP_OK) {
        FUZZ_CHECK(e.msg[0] != '\0');
        return;
    }
    check_segset(&m->done);
    hdp_buf b = HDP_BUF_INIT, b2 = HDP_BUF_INIT;
    manifest_encode(m, &b);
    manifest again = {0};
    FUZZ_CHECK(manifest_decode(b.data, b.len, &again, &e) == HDP_OK);
    same_manifest(m, &again);
    manifest_encode(&again, &b2);
    FUZZ_CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
    manifest_free(&again);
    buf_free(&b);
    buf_free(&b2);
}

static void check_key(const char *key)
{
    raw_object o, o2;
    if (raw_key_parse(key, &o) != 0)
        return;
    FUZZ_CHECK(strcmp(o.key, key) == 0 && o.table[0] != '\0' && strchr(o.table, '/') == NULL);
    FUZZ_CHECK(strlen(o.dt) == 10 && strchr(o.dt, '/') == NULL && o.segment >= 0);
    char canon[600];
    snprintf(canon, sizeof(canon), "raw/%s/dt=%s/%" PRId64 "-%" PRIu64 ".jsonl", o.table, o.dt,
             o.segment, o.first_lsn);
    FUZZ_CHECK(raw_key_parse(canon, &o2) == 0);
    FUZZ_CHECK(strcmp(o.table, o2.table) == 0 && strcmp(o.dt, o2.dt) == 0 &&
               o.segment == o2.segment && o.first_lsn == o2.first_lsn);
}

static void check_marker(const char *json, size_t n, const manifest *m)
{
    hdp_err e;
    int64_t seg = 0;
    raw_object *objs = NULL;
    size_t nobjs = 0;
    if (marker_decode(json, n, &seg, &objs, &nobjs, &e) == HDP_OK) {
        for (size_t i = 0; i < nobjs; i++) {
            raw_object o;
            FUZZ_CHECK(objs[i].segment == seg);
            FUZZ_CHECK(raw_key_parse(objs[i].key, &o) == 0 && strcmp(o.table, objs[i].table) == 0 &&
                       strcmp(o.dt, objs[i].dt) == 0 && o.segment == objs[i].segment &&
                       o.first_lsn == objs[i].first_lsn);
        }
        const char *table = nobjs ? objs[0].table : m->table;
        size_t *idx = malloc((nobjs ? nobjs : 1) * sizeof(*idx));
        size_t k = plan_select(objs, nobjs, table, &m->done, idx);
        FUZZ_CHECK(k <= nobjs);
        for (size_t i = 0; i < k; i++) {
            const raw_object *o = &objs[idx[i]];
            FUZZ_CHECK(strcmp(o->table, table) == 0 && !segset_has(&m->done, o->segment));
            if (i) {
                const raw_object *p = &objs[idx[i - 1]];
                int c = strcmp(p->dt, o->dt);
                FUZZ_CHECK(c < 0 || (c == 0 && p->segment <= o->segment));
            }
        }
        free(idx);
    } else {
        FUZZ_CHECK(e.msg[0] != '\0');
    }
    free(objs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    manifest m = {0};
    check_manifest(json, size, &m);
    check_marker(json, size, &m);
    manifest_free(&m);
    char *s = fuzz_strndup(data, size);
    check_key(s);
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
        check_key(line);
    free(s);
    return 0;
}
