#include "batch/compact.h"
#include "io/fsutil.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch/manifest.h"
#include "batch/manifest_io.h"
#include "batch/schema.h"
#include "core/lake_layout.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "format/jsonl.h"
#include "format/parquet_writer.h"
#include "io/lake.h"

#define MAX_RESTARTS 5

/* Blocks for decoded (escaped) strings of one object's rows; never moved. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

typedef struct row_key {
    int64_t lsn, seq;
    size_t row;
} row_key;

typedef struct compactor {
    const hdp_config *cfg;
    const compact_opts *opts;
    compact_stats *st;
    hdp_lake *lake;
    char spool[PATH_MAX];
    hdp_buf obj;        /* the raw object being read */
    hdp_buf quarantine; /* its quarantined lines */
    jsonl_scanner sc;
    sch_value *rows;        /* nrows * ncols values of the object being read */
    size_t nrows, rows_cap; /* rows_cap counts values */
    row_key *keys;
    size_t keys_cap;
    arena_block *arena;
    row_key last;                                       /* last key written to the current file */
    int64_t total_rows, total_quarantined, total_files; /* over the latest manifests */
} compactor;

/* ------------------------------------------------------------------ small helpers */

static char *arena_copy(compactor *c, const char *s, size_t n)
{
    arena_block *b = c->arena;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        arena_block *nb = xmalloc(sizeof(*nb) + cap);
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        c->arena = b = nb;
    }
    char *p = b->data + b->used;
    memcpy(p, s, n);
    b->used += n;
    return p;
}

static void arena_free(compactor *c)
{
    while (c->arena) {
        arena_block *next = c->arena->next;
        free(c->arena);
        c->arena = next;
    }
}

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

/* ------------------------------------------------------------------ manifests and state */

/* ------------------------------------------------------------------ one raw object */

static void quarantine_line(compactor *c, const raw_object *o, int64_t lineno, const char *why,
                            const char *line, size_t n)
{
    buf_puts(&c->quarantine, "{\"reason\":");
    buf_put_json_str(&c->quarantine, why, strlen(why));
    buf_puts(&c->quarantine, ",\"object\":");
    buf_put_json_str(&c->quarantine, o->key, strlen(o->key));
    buf_printf(&c->quarantine, ",\"line\":%" PRId64 ",\"raw\":", lineno);
    buf_put_json_str(&c->quarantine, line, n);
    buf_puts(&c->quarantine, "}\n");
}

/* Parses one line into the next row slot; 0, or -1 with a reason. */
static int take_line(compactor *c, const sch_table *t, const raw_object *o, const char *line,
                     size_t n, char why_buf[128], const char **why)
{
    if ((c->nrows + 1) * t->ncols > c->rows_cap) {
        c->rows_cap = c->rows_cap ? c->rows_cap * 2 : 1024 * SCH_MAX_COLS;
        c->rows = xrealloc(c->rows, c->rows_cap * sizeof(*c->rows));
    }
    if (jsonl_scan(&c->sc, line, n, why) != 0)
        return -1;
    sch_value *row = &c->rows[c->nrows * t->ncols];
    uint64_t unknown = 0;
    int rc = sch_map(t, &c->sc, row, &unknown, why_buf, why);
    c->st->unknown_keys += (int64_t)unknown;
    if (rc != 0)
        return -1;
    if (row[SCH_SEGMENT].i != o->segment) {
        *why = "segment does not match the object's";
        return -1;
    }
    for (size_t k = 0; k < t->ncols; k++) {
        sch_value *v = &row[k];
        if (!v->null && v->s && v->s >= c->sc.scratch && v->s < c->sc.scratch + c->sc.cap)
            v->s = arena_copy(c, v->s, v->n);
    }
    c->nrows++;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    if (x->lsn != y->lsn)
        return x->lsn < y->lsn ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->row < y->row ? -1 : (x->row > y->row);
}

/* Reads object o of table t, writes its good rows to w in (commit_lsn, seq) order and its
 * bad lines to quarantine. *bad receives the count of quarantined lines. */
static int compact_object(compactor *c, const sch_table *t, const raw_object *o, pq_writer *w,
                          int64_t *bad, hdp_err *e)
{
    int rc = lake_get(c->lake, o->key, &c->obj, e);
    if (rc != HDP_OK)
        return rc;
    c->st->objects++;
    c->st->bytes += (int64_t)c->obj.len;
    c->nrows = 0;
    arena_free(c);
    buf_reset(&c->quarantine);
    *bad = 0;
    const char *p = c->obj.data, *end = c->obj.data + c->obj.len;
    int64_t lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        lineno++;
        char why_buf[128];
        const char *why = NULL;
        if (take_line(c, t, o, p, (size_t)(stop - p), why_buf, &why) != 0) {
            quarantine_line(c, o, lineno, why, p, (size_t)(stop - p));
            ++*bad;
        }
        p = nl ? nl + 1 : end;
    }
    if (c->keys_cap < c->nrows) {
        c->keys_cap = c->nrows;
        c->keys = xrealloc(c->keys, c->keys_cap * sizeof(*c->keys));
    }
    int sorted = 1;
    for (size_t r = 0; r < c->nrows; r++) {
        const sch_value *row = &c->rows[r * t->ncols];
        c->keys[r] = (row_key){row[SCH_COMMIT_LSN].i, row[SCH_SEQ].i, r};
        if (r && cmp_key(&c->keys[r - 1], &c->keys[r]) > 0)
            sorted = 0;
    }
    if (!sorted) {
        log_warn("%s: rows not in (commit_lsn, seq) order; sorted", o->key);
        qsort(c->keys, c->nrows, sizeof(*c->keys), cmp_key);
    }
    if (c->nrows && (c->keys[0].lsn < c->last.lsn ||
                     (c->keys[0].lsn == c->last.lsn && c->keys[0].seq <= c->last.seq)))
        log_warn("%s starts before the end of the previous object of its table", o->key);
    for (size_t r = 0; rc == HDP_OK && r < c->nrows; r++)
        rc = sch_write_row(t, &c->rows[c->keys[r].row * t->ncols], w, e);
    if (rc == HDP_OK && c->nrows)
        c->last = c->keys[c->nrows - 1];
    if (rc == HDP_OK && *bad) {
        char key[600];
        const char *base = strrchr(o->key, '/') + 1;
        snprintf(key, sizeof(key), LAKE_QUARANTINE_PREFIX "%s/%s", t->name, base);
        rc = lake_put(c->lake, key, c->quarantine.data, c->quarantine.len, e);
        log_warn("%s: %" PRId64 " line(s) quarantined to %s", o->key, *bad, key);
    }
    return rc;
}

/* ------------------------------------------------------------------ one (table, day) */

/* Writes objs[idx[0..n)] (one day of table t) into one Parquet file, adds its entry to next
 * (a file with no good row is not written: its segments are still done). */
static int compact_group(compactor *c, const sch_table *t, const raw_object *objs,
                         const size_t *idx, size_t n, manifest *next, hdp_err *e)
{
    const raw_object *first = &objs[idx[0]], *lastobj = &objs[idx[n - 1]];
    mf_file f = {0};
    char key[512], tmp[PATH_MAX + 160];
    snprintf(key, sizeof(key), LAKE_CURATED_PREFIX "%s/dt=%s/part-%" PRId64 "-%" PRId64 ".parquet",
             t->name, first->dt, first->segment, lastobj->segment);
    snprintf(tmp, sizeof(tmp), "%s/%s-%s.parquet", c->spool, t->name, first->dt);
    snprintf(f.dt, sizeof(f.dt), "%s", first->dt);
    f.key = key;
    f.first = first->segment;
    f.last = lastobj->segment;
    pq_writer_opts po = pq_writer_opts_default();
    if (c->opts->row_group_rows)
        po.row_group_rows = c->opts->row_group_rows;
    pq_writer *w = pq_writer_open(tmp, t->cols, t->ncols, &po, e);
    if (w == NULL)
        return HDP_ERR;
    c->last = (row_key){-1, -1, 0};
    int rc = HDP_OK;
    for (size_t i = 0; rc == HDP_OK && i < n; i++) {
        int64_t bad = 0;
        rc = compact_object(c, t, &objs[idx[i]], w, &bad, e);
        f.quarantined += bad;
    }
    if (rc != HDP_OK) {
        pq_writer_free(w);
        unlink(tmp);
        return rc;
    }
    f.rows = pq_writer_rows(w);
    rc = pq_writer_close(w, e);
    struct stat sb;
    if (rc == HDP_OK && stat(tmp, &sb) != 0)
        rc = hdp_fail(e, "%s: %s", tmp, strerror(errno));
    if (rc == HDP_OK && f.rows > 0) {
        f.bytes = (int64_t)sb.st_size;
        int found = 0;
        uint64_t size = 0;
        rc = lake_head(c->lake, key, &found, &size, e);
        if (rc == HDP_OK && !(found && size == (uint64_t)sb.st_size))
            rc = lake_put_file(c->lake, key, tmp, e);
        if (rc == HDP_OK) {
            manifest_add_file(next, &f);
            c->st->files++;
            log_info("%s: %" PRId64 " row(s) from %zu object(s), %" PRId64 " quarantined", key,
                     f.rows, n, f.quarantined);
        }
    }
    unlink(tmp);
    if (rc != HDP_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        segset_add(&next->done, objs[idx[i]].segment, objs[idx[i]].segment);
    next->rows += f.rows;
    next->quarantined += f.quarantined;
    c->st->rows += f.rows;
    c->st->quarantined += f.quarantined;
    return HDP_OK;
}

/* ------------------------------------------------------------------ one table */

/* Compacts table t's new objects into files and publishes manifest v(N+1). On return,
 * *done holds the table's segments_done (published). */
static int compact_table(compactor *c, const sch_table *t, const raw_object *objs, size_t nobjs,
                         seg_set *done, hdp_err *e)
{
    size_t *idx = xmalloc((nobjs ? nobjs : 1) * sizeof(*idx));
    int rc = HDP_OK;
    for (int attempt = 0;; attempt++) {
        manifest cur = {0}, next = {0};
        rc = manifest_load_latest(c->lake, t->name, &cur, e);
        size_t k = rc == HDP_OK ? plan_select(objs, nobjs, t->name, &cur.done, idx) : 0;
        if (rc != HDP_OK || k == 0) {
            c->total_rows += cur.rows;
            c->total_quarantined += cur.quarantined;
            c->total_files += (int64_t)cur.nfiles;
            segset_free(done);
            for (size_t i = 0; i < cur.done.n; i++)
                segset_add(done, cur.done.r[i].lo, cur.done.r[i].hi);
            manifest_free(&cur);
            break;
        }
        next.version = cur.version + 1;
        snprintf(next.table, sizeof(next.table), "%s", t->name);
        next.rows = cur.rows;
        next.quarantined = cur.quarantined;
        for (size_t i = 0; i < cur.nfiles; i++)
            manifest_add_file(&next, &cur.files[i]);
        for (size_t i = 0; i < cur.done.n; i++)
            segset_add(&next.done, cur.done.r[i].lo, cur.done.r[i].hi);
        for (size_t g = 0; rc == HDP_OK && g < k;) {
            size_t h = g + 1;
            while (h < k && strcmp(objs[idx[h]].dt, objs[idx[g]].dt) == 0)
                h++;
            rc = compact_group(c, t, objs, idx + g, h - g, &next, e);
            g = h;
        }
        char key[160];
        manifest_key(key, sizeof(key), t->name, next.version);
        int found = 0;
        if (rc == HDP_OK)
            rc = lake_head(c->lake, key, &found, NULL, e);
        if (rc == HDP_OK && !found) {
            char ts[32];
            ts_format(now_unix_us(), ts);
            snprintf(next.created_at, sizeof(next.created_at), "%s", ts);
            hdp_buf b = HDP_BUF_INIT;
            manifest_encode(&next, &b);
            rc = lake_put(c->lake, key, b.data, b.len, e);
            buf_free(&b);
            if (rc == HDP_OK) {
                c->st->manifests++;
                c->total_rows += next.rows;
                c->total_quarantined += next.quarantined;
                c->total_files += (int64_t)next.nfiles;
                log_info("published %s: %zu file(s)", key, next.nfiles);
                segset_free(done);
                *done = next.done;
                memset(&next.done, 0, sizeof(next.done));
            }
        }
        manifest_free(&cur);
        manifest_free(&next);
        if (rc != HDP_OK || !found)
            break;
        if (attempt + 1 == MAX_RESTARTS) {
            rc = hdp_retry(e, "%s: another run keeps publishing; try again later", key);
            break;
        }
        log_warn("%s appeared meanwhile (another run?): starting %s over", key, t->name);
    }
    free(idx);
    return rc;
}

/* ------------------------------------------------------------------ the run */

/* Reads every marker not in state_done; objects go to (*objs, *nobjs), segments to *segs. */
static int read_markers(compactor *c, const seg_set *state_done, raw_object **objs, size_t *nobjs,
                        seg_set *segs, hdp_err *e)
{
    key_list l = {0};
    int rc = lake_list(c->lake, LAKE_SEGMENTS_PREFIX, collect_key, &l, e);
    hdp_buf b = HDP_BUF_INIT;
    for (size_t i = 0; rc == HDP_OK && i < l.n; i++) {
        const char *name = l.keys[i] + strlen(LAKE_SEGMENTS_PREFIX);
        char *end = NULL;
        long long seg = strtoll(name, &end, 10);
        if (end == name || strcmp(end, ".json") != 0) {
            log_warn("ignoring %s: not a segment marker", l.keys[i]);
            continue;
        }
        if (segset_has(state_done, seg))
            continue;
        rc = lake_get(c->lake, l.keys[i], &b, e);
        int64_t mseg = 0;
        size_t before = *nobjs;
        if (rc == HDP_OK && marker_decode(b.data, b.len, &mseg, objs, nobjs, e) != HDP_OK) {
            hdp_err_prefix(e, "%s: ", l.keys[i]);
            rc = HDP_ERR;
        }
        if (rc == HDP_OK && mseg != seg)
            rc = hdp_fail(e, "%s names segment %" PRId64, l.keys[i], mseg);
        if (rc != HDP_OK)
            break;
        segset_add(segs, seg, seg);
        c->st->segments++;
        for (size_t k = before; k < *nobjs; k++)
            if (sch_find((*objs)[k].table, strlen((*objs)[k].table)) == NULL) {
                log_warn("%s: table %s is not in the schema list; skipped", (*objs)[k].key,
                         (*objs)[k].table);
                c->st->unknown_table++;
            }
    }
    buf_free(&b);
    key_list_free(&l);
    return rc;
}

/* Segments of segs whose every known-table object is in its table's done set. */
static void fully_done(const raw_object *objs, size_t nobjs, const seg_set *segs,
                       const seg_set *table_done, const sch_table *tables, size_t ntables,
                       seg_set *out)
{
    seg_set pending = {0};
    for (size_t i = 0; i < nobjs; i++)
        for (size_t t = 0; t < ntables; t++)
            if (strcmp(objs[i].table, tables[t].name) == 0 &&
                !segset_has(&table_done[t], objs[i].segment))
                segset_add(&pending, objs[i].segment, objs[i].segment);
    for (size_t r = 0; r < segs->n; r++)
        for (int64_t s = segs->r[r].lo;; s++) {
            if (!segset_has(&pending, s))
                segset_add(out, s, s);
            if (s == segs->r[r].hi)
                break;
        }
    segset_free(&pending);
}

static int save_state(compactor *c, const seg_set *done, hdp_err *e)
{
    hdp_buf b = HDP_BUF_INIT;
    char ts[32];
    ts_format(now_unix_us(), ts);
    buf_puts(&b, "{\"segments_done\":");
    segset_encode(done, &b);
    buf_printf(&b,
               ",\"rows\":%" PRId64 ",\"quarantined\":%" PRId64 ",\"files\":%" PRId64
               ",\"updated_at\":\"%s\"}\n",
               c->total_rows, c->total_quarantined, c->total_files, ts);
    int rc = lake_put(c->lake, COMPACT_STATE_KEY, b.data, b.len, e);
    buf_free(&b);
    return rc;
}

int compact_run(const hdp_config *cfg, const compact_opts *o, compact_stats *st, hdp_err *e)
{
    compactor c;
    memset(&c, 0, sizeof(c));
    memset(st, 0, sizeof(*st));
    c.cfg = cfg;
    c.opts = o;
    c.st = st;
    snprintf(c.spool, sizeof(c.spool), "%s/spool/compact", cfg->var_dir);
    if (fs_mkdirs(c.spool, e) != HDP_OK)
        return HDP_ERR;
    c.lake = lake_open(cfg, e);
    if (c.lake == NULL)
        return HDP_ERR;
    size_t ntables;
    const sch_table *tables = sch_tables(&ntables);
    seg_set state_done = {0}, segs = {0};
    seg_set *table_done = xcalloc(ntables, sizeof(*table_done));
    raw_object *objs = NULL;
    size_t nobjs = 0;
    int rc = compact_state_load(c.lake, &state_done, e);
    if (rc == HDP_OK)
        rc = read_markers(&c, &state_done, &objs, &nobjs, &segs, e);
    for (size_t t = 0; rc == HDP_OK && nobjs && t < ntables; t++)
        rc = compact_table(&c, &tables[t], objs, nobjs, &table_done[t], e);
    if (rc == HDP_OK && segs.n) {
        seg_set now = {0};
        fully_done(objs, nobjs, &segs, table_done, tables, ntables, &now);
        for (size_t i = 0; i < now.n; i++)
            segset_add(&state_done, now.r[i].lo, now.r[i].hi);
        if (now.n || st->manifests)
            rc = save_state(&c, &state_done, e);
        segset_free(&now);
    }
    for (size_t t = 0; t < ntables; t++)
        segset_free(&table_done[t]);
    free(table_done);
    segset_free(&state_done);
    segset_free(&segs);
    free(objs);
    free(c.rows);
    free(c.keys);
    arena_free(&c);
    jsonl_scanner_free(&c.sc);
    buf_free(&c.obj);
    buf_free(&c.quarantine);
    lake_close(c.lake);
    return rc;
}
