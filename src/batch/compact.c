#include "batch/compact.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/lake_layout.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "format/jsonl.h"
#include "format/parquet_reader.h"
#include "format/parquet_writer.h"
#include "io/fsutil.h"
#include "io/lake.h"
#include "lake/lake_conf.h"
#include "io/pg.h"
#include "lake/lake_state.h"
#include "lake/manifest.h"
#include "lake/schema.h"

#define MAX_RESTARTS    5
#define COMPACT_BLOCKED 2  /* compact_object: the object disagrees with its marker */
#define MAX_EXTRA       16 /* columns the source added that the contract does not know */

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
    volatile int *cancel;
    hdp_lake *lake;
    PGconn *locks; /* dwh session holding the table locks */
    char spool[PATH_MAX];
    char blocked_why[640]; /* set with COMPACT_BLOCKED */
    hdp_buf obj;           /* the raw object being read */
    hdp_buf quarantine;    /* its quarantined lines */
    jsonl_scanner sc;
    sch_fast fast;          /* the typing fast path, for the table being read */
    sch_value *rows;        /* nrows * ncols values of the object being read */
    size_t nrows, rows_cap; /* rows_cap counts values */
    row_key *keys;
    size_t keys_cap;
    arena_block *arena;
    row_key last; /* last key written to the current file */
    /* The current file's columns: the contract's, then the ones the source added (ALTER
     * TABLE ... ADD COLUMN), carried as text so readers can union files by name. */
    pq_column_def cols[SCH_MAX_COLS + MAX_EXTRA];
    size_t ncols;
    char extra_names[MAX_EXTRA][64];
    size_t nextra;
    int extras_grew; /* a line had a column the current file lacks: write the file again */
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

/* ------------------------------------------------------------------ one raw object */

static void quarantine_line(compactor *c, const raw_object *o, int64_t lineno, const char *why,
                            const char *line, size_t n)
{
    buf_puts(&c->quarantine, "{\"reason\":");
    buf_put_json_str(&c->quarantine, why, strlen(why));
    buf_puts(&c->quarantine, ",\"object\":");
    buf_put_json_str(&c->quarantine, o->key, strlen(o->key));
    buf_printf(&c->quarantine, ",\"line\":%" PRId64, lineno);
    if (utf8_valid(line, n)) {
        buf_puts(&c->quarantine, ",\"raw\":");
        buf_put_json_str(&c->quarantine, line, n);
    } else { /* the quarantine stays valid JSON: the bytes as hex */
        static const char hex[] = "0123456789abcdef";
        buf_puts(&c->quarantine, ",\"raw_hex\":\"");
        for (size_t i = 0; i < n; i++) {
            buf_putc(&c->quarantine, hex[(unsigned char)line[i] >> 4]);
            buf_putc(&c->quarantine, hex[(unsigned char)line[i] & 15]);
        }
        buf_putc(&c->quarantine, '"');
    }
    buf_puts(&c->quarantine, "}\n");
}

/* Fills the extra columns of row from the line's fields that are no contract column; a field
 * the current file has no column for yet is added to the extras (the file is then written
 * again with it). Keys starting with '_' are capture's own ("_unchanged") and not data. */
static void take_extras(compactor *c, const sch_table *t, sch_value *row)
{
    for (size_t j = 0; j < c->nextra; j++)
        row[t->ncols + j] = (sch_value){0, NULL, 0, 1};
    for (size_t i = 0; i < c->sc.nfields; i++) {
        const jsonl_field *f = &c->sc.fields[i];
        if (f->klen == 0 || f->key[0] == '_' || f->klen >= 64 ||
            sch_column(t, f->key, f->klen) >= 0 ||
            (f->klen == 5 && memcmp(f->key, "table", 5) == 0))
            continue;
        size_t j = 0;
        while (j < c->nextra && !(strlen(c->extra_names[j]) == f->klen &&
                                  memcmp(c->extra_names[j], f->key, f->klen) == 0))
            j++;
        if (j == c->nextra) {
            if (c->nextra < MAX_EXTRA) {
                memcpy(c->extra_names[c->nextra], f->key, f->klen);
                c->extra_names[c->nextra][f->klen] = '\0';
                c->nextra++;
                c->extras_grew = 1;
            }
            continue;
        }
        if (t->ncols + j >= c->ncols)
            continue; /* added during this pass: written on the next one */
        sch_value *v = &row[t->ncols + j];
        v->null = f->kind == JV_NULL;
        if (f->kind == JV_TRUE || f->kind == JV_FALSE) {
            v->s = f->kind == JV_TRUE ? "true" : "false";
            v->n = f->kind == JV_TRUE ? 4 : 5;
        } else if (!v->null) {
            v->s = f->val;
            v->n = (uint32_t)f->vlen;
        }
    }
}

/* Parses one line into the next row slot; 0, or -1 with a reason. */
static int take_line(compactor *c, const sch_table *t, const raw_object *o, const char *line,
                     size_t n, char why_buf[128], const char **why)
{
    size_t stride = t->ncols + MAX_EXTRA;
    if ((c->nrows + 1) * stride > c->rows_cap) {
        c->rows_cap = c->rows_cap ? c->rows_cap * 2 : 1024 * stride;
        c->rows = xrealloc(c->rows, c->rows_cap * sizeof(*c->rows));
    }
    sch_value *row = &c->rows[c->nrows * stride];
    if (c->fast.t != t)
        sch_fast_init(&c->fast, t);
    int fast = sch_map_fast(&c->fast, line, n, row);
    uint64_t unknown = 0;
    if (!fast) { /* not in capture's plain form: the general way, which says what is wrong */
        if (jsonl_scan(&c->sc, line, n, why) != 0)
            return -1;
        int rc = sch_map(t, &c->sc, row, &unknown, why_buf, why);
        c->st->unknown_keys += (int64_t)unknown;
        if (rc != 0)
            return -1;
    }
    if (row[SCH_SEGMENT].i != o->segment) {
        *why = "segment does not match the object's";
        return -1;
    }
    if (unknown)
        take_extras(c, t, row);
    else
        for (size_t j = 0; j < c->nextra; j++)
            row[t->ncols + j] = (sch_value){0, NULL, 0, 1};
    for (size_t k = 0; !fast && k < t->ncols + c->nextra; k++) {
        sch_value *v = &row[k]; /* decoded strings live in the scanner until the next line */
        if (!v->null && v->s && v->s >= c->sc.scratch && v->s < c->sc.scratch + c->sc.cap)
            v->s = arena_copy(c, v->s, v->n);
    }
    c->nrows++;
    return 0;
}

/* One row: the extra columns of the current file, then the contract's (which ends it). */
static int write_row(compactor *c, const sch_table *t, const sch_value *row, pq_writer *w,
                     hdp_err *e)
{
    for (size_t j = 0; t->ncols + j < c->ncols; j++) {
        const sch_value *v = &row[t->ncols + j];
        if (!v->null && pq_write_str(w, t->ncols + j, v->s, v->n, e) != HDP_OK)
            return HDP_ERR;
    }
    return sch_write_row(t, row, w, e);
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

/* Compares the object just read with what its marker says: bytes, lines, XXH3. 0, or -1
 * with c->blocked_why set. (Markers older than a field do not say it; it is not checked.) */
static int check_object(compactor *c, const raw_object *o)
{
    int64_t lines = 0;
    for (const char *p = c->obj.data, *end = p + c->obj.len; p < end; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    if (o->bytes >= 0 && (int64_t)c->obj.len != o->bytes)
        snprintf(c->blocked_why, sizeof(c->blocked_why),
                 "%.300s has %zu bytes, its marker says %" PRId64, o->key, c->obj.len, o->bytes);
    else if (o->rows >= 0 && lines != o->rows)
        snprintf(c->blocked_why, sizeof(c->blocked_why),
                 "%.300s has %" PRId64 " lines, its marker says %" PRId64, o->key, lines, o->rows);
    else if (o->has_xxh3 && XXH3_64bits(c->obj.data, c->obj.len) != o->xxh3)
        snprintf(c->blocked_why, sizeof(c->blocked_why),
                 "%.300s does not match its marker's checksum (changed after capture)", o->key);
    else
        return 0;
    return -1;
}

/* Reads object o of table t, writes its good rows to w in (commit_lsn, seq) order and its
 * bad lines to quarantine. *bad receives the count of quarantined lines. COMPACT_BLOCKED
 * when the object disagrees with its marker (nothing of it written). */
static int compact_object(compactor *c, const sch_table *t, const raw_object *o, pq_writer *w,
                          int64_t *bad, hdp_err *e)
{
    int found = 0;
    int rc = lake_head(c->lake, o->key, &found, NULL, e);
    if (rc == HDP_OK && !found) {
        snprintf(c->blocked_why, sizeof(c->blocked_why), "%.300s is missing (its marker lists it)",
                 o->key);
        return COMPACT_BLOCKED;
    }
    if (rc == HDP_OK)
        rc = lake_get(c->lake, o->key, &c->obj, e);
    if (rc != HDP_OK)
        return rc;
    if (check_object(c, o) != 0)
        return COMPACT_BLOCKED;
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
        const sch_value *row = &c->rows[r * (t->ncols + MAX_EXTRA)];
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
        rc = write_row(c, t, &c->rows[c->keys[r].row * (t->ncols + MAX_EXTRA)], w, e);
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

/* Reads a Parquet file just written back: its footer must parse and hold every row. */
static int verify_file(const char *path, int64_t rows, size_t ncols, int64_t *bytes, hdp_err *e)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return hdp_fail(e, "%s: %s", path, strerror(errno));
    pq_reader *r = pq_reader_open(path, e);
    if (r == NULL) {
        hdp_err_prefix(e, "written file %s does not read back: ", path);
        return HDP_ERR;
    }
    int rc = HDP_OK;
    if (pq_reader_num_rows(r) != rows || pq_reader_ncols(r) != ncols)
        rc = hdp_fail(
            e, "written file %s reads back %" PRId64 " rows of %zu columns, not %" PRId64 " of %zu",
            path, pq_reader_num_rows(r), pq_reader_ncols(r), rows, ncols);
    pq_reader_free(r);
    *bytes = (int64_t)sb.st_size;
    return rc;
}

/* Writes objs[idx[0..n)] (one day of table t) into one Parquet file, stores it, and adds its
 * entry to next (a file with no good row is not written: its segments are still done).
 * COMPACT_BLOCKED with *bad_at = the index (into idx) of an object that disagrees with its
 * marker. */
static int compact_group(compactor *c, const sch_table *t, const raw_object *objs,
                         const size_t *idx, size_t n, manifest *next, size_t *bad_at, hdp_err *e)
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
    compact_stats before = *c->st;
    pq_writer *w = NULL;
    int rc = HDP_OK;
again:
    memcpy(c->cols, t->cols, t->ncols * sizeof(*t->cols));
    for (size_t j = 0; j < c->nextra; j++)
        c->cols[t->ncols + j] = (pq_column_def){c->extra_names[j], PQ_STRING, 0, 0};
    c->ncols = t->ncols + c->nextra;
    c->extras_grew = 0;
    w = pq_writer_open(tmp, c->cols, c->ncols, &po, e);
    if (w == NULL)
        return HDP_ERR;
    c->last = (row_key){-1, -1, 0};
    f.quarantined = 0;
    for (size_t i = 0; rc == HDP_OK && i < n; i++) {
        int64_t bad = 0;
        if (*c->cancel) {
            rc = hdp_retry(e, "interrupted");
            break;
        }
        rc = compact_object(c, t, &objs[idx[i]], w, &bad, e);
        if (rc == COMPACT_BLOCKED)
            *bad_at = i;
        f.quarantined += bad;
    }
    if (rc != HDP_OK) {
        pq_writer_free(w);
        unlink(tmp);
        return rc;
    }
    if (c->extras_grew) { /* the source added a column: this file again, with it */
        pq_writer_free(w);
        unlink(tmp);
        *c->st = before;
        log_info("%s: the source added column(s); %s written with %zu extra column(s)", t->name,
                 key, c->nextra);
        goto again;
    }
    f.rows = pq_writer_rows(w);
    rc = pq_writer_close(w, e);
    if (rc == HDP_OK && f.rows > 0)
        rc = verify_file(tmp, f.rows, c->ncols, &f.bytes, e);
    if (rc == HDP_OK && f.rows > 0) {
        /* Not listed by any manifest yet, so nobody reads it: (re)writing it is safe. */
        rc = lake_put_file(c->lake, key, tmp, e);
        int found = 0;
        uint64_t size = 0;
        if (rc == HDP_OK)
            rc = lake_head(c->lake, key, &found, &size, e);
        if (rc == HDP_OK && (!found || size != (uint64_t)f.bytes))
            rc = hdp_retry(e, "%s: stored object has %llu bytes, the file %" PRId64, key,
                           (unsigned long long)size, f.bytes);
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
    if (c->st->seg_first < 0 || f.first < c->st->seg_first)
        c->st->seg_first = f.first;
    if (f.last > c->st->seg_last)
        c->st->seg_last = f.last;
    return HDP_OK;
}

/* ------------------------------------------------------------------ one table */

/* Compacts table t's new objects (objs: every object the run knows of, any table) into
 * files and publishes manifest v(N+1) with a create-only write. *blocked_seg receives the
 * segment of an object that disagrees with its marker (-1: none); everything before it is
 * compacted and published. *m_out receives the newest manifest (published or found). */
static int compact_table(compactor *c, const sch_table *t, const raw_object *objs, size_t nobjs,
                         int64_t *blocked_seg, manifest *m_out, hdp_err *e)
{
    size_t *idx = xmalloc((nobjs ? nobjs : 1) * sizeof(*idx));
    int rc = HDP_OK;
    *blocked_seg = -1;
    c->nextra = 0;             /* extra columns are the table's own */
    int64_t limit = INT64_MAX; /* only segments below it: set once an object is bad */
    for (int attempt = 0;; attempt++) {
        manifest cur = {0}, next = {0};
        rc = manifest_load_latest(c->lake, t->name, &cur, e);
        size_t k = rc == HDP_OK ? plan_select(objs, nobjs, t->name, &cur.done, idx) : 0;
        while (k > 0 && objs[idx[k - 1]].segment >= limit)
            k--; /* plan order is by day, then segment: a segment cut is a suffix */
        if (rc != HDP_OK || k == 0) {
            manifest_free(m_out);
            *m_out = cur;
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
        int cut = 0;
        for (size_t g = 0; rc == HDP_OK && g < k;) {
            size_t h = g + 1, bad_at = 0;
            while (h < k && strcmp(objs[idx[h]].dt, objs[idx[g]].dt) == 0)
                h++;
            rc = compact_group(c, t, objs, idx + g, h - g, &next, &bad_at, e);
            if (rc == COMPACT_BLOCKED) {
                limit = objs[idx[g + bad_at]].segment;
                *blocked_seg = limit;
                log_error("%s: stopped at segment %" PRId64 ": %s", t->name, limit, c->blocked_why);
                cut = 1;
                rc = HDP_OK;
                break;
            }
            g = h;
        }
        if (cut) { /* plan again without the bad object and what follows it */
            manifest_free(&cur);
            manifest_free(&next);
            continue;
        }
        char key[160];
        manifest_key(key, sizeof(key), t->name, next.version);
        int created = 0;
        if (rc == HDP_OK) {
            char ts[32];
            ts_format(now_unix_us(), ts);
            snprintf(next.created_at, sizeof(next.created_at), "%s", ts);
            hdp_buf b = HDP_BUF_INIT;
            manifest_encode(&next, &b);
            rc = lake_put_new(c->lake, key, b.data, b.len, &created, e);
            buf_free(&b);
        }
        if (rc == HDP_OK && created) {
            c->st->manifests++;
            log_info("published %s: %zu file(s)", key, next.nfiles);
            manifest_free(m_out);
            *m_out = next;
            memset(&next, 0, sizeof(next));
        }
        manifest_free(&cur);
        manifest_free(&next);
        if (rc != HDP_OK || created)
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

/* ------------------------------------------------------------------ markers */

/* Every marker the run may need: the keys under raw/_segments/ and, read on demand, what
 * they list. */
typedef struct marker_set {
    int64_t *segs; /* sorted */
    size_t n;
    seg_set loaded; /* segments whose objects are in objs */
    raw_object *objs;
    size_t nobjs;
    int64_t bad_seg; /* a marker that does not parse (-1: none) */
    char bad_why[640];
} marker_set;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_markers(compactor *c, marker_set *ms, hdp_err *e)
{
    lake_keys l = {0};
    int rc = lake_list_keys(c->lake, LAKE_SEGMENTS_PREFIX, &l, e);
    ms->segs = xmalloc((l.n ? l.n : 1) * sizeof(*ms->segs));
    ms->bad_seg = -1;
    for (size_t i = 0; rc == HDP_OK && i < l.n; i++) {
        const char *name = l.keys[i] + strlen(LAKE_SEGMENTS_PREFIX);
        char *end = NULL;
        long long seg = strtoll(name, &end, 10);
        if (end == name || strcmp(end, ".json") != 0 || seg < 0) {
            log_warn("ignoring %s: not a segment marker", l.keys[i]);
            continue;
        }
        ms->segs[ms->n++] = seg;
    }
    lake_keys_free(&l);
    qsort(ms->segs, ms->n, sizeof(*ms->segs), cmp_i64);
    return rc;
}

/* Makes sure the objects of every marker a table has not handled (not in done) are loaded;
 * a marker that does not parse stops every table at its segment. */
static int load_markers_for(compactor *c, marker_set *ms, const seg_set *done, hdp_err *e)
{
    hdp_buf b = HDP_BUF_INIT;
    int rc = HDP_OK;
    for (size_t i = 0; rc == HDP_OK && i < ms->n; i++) {
        int64_t seg = ms->segs[i];
        if (segset_has(done, seg) || segset_has(&ms->loaded, seg))
            continue;
        if (ms->bad_seg >= 0 && seg >= ms->bad_seg)
            break;
        char key[128];
        snprintf(key, sizeof(key), LAKE_SEGMENT_KEY_FMT, (long long)seg);
        rc = lake_get(c->lake, key, &b, e);
        if (rc != HDP_OK)
            break;
        int64_t mseg = -1;
        size_t before = ms->nobjs;
        hdp_err me;
        if (marker_decode(b.data, b.len, &mseg, &ms->objs, &ms->nobjs, &me) != HDP_OK ||
            mseg != seg) {
            ms->nobjs = before;
            ms->bad_seg = seg;
            snprintf(ms->bad_why, sizeof(ms->bad_why), "%.100s: %.500s", key,
                     mseg != seg && mseg >= 0 ? "names another segment" : me.msg);
            log_error("marker %s does not parse: every table stops at segment %" PRId64, key, seg);
            break;
        }
        segset_add(&ms->loaded, seg, seg);
        c->st->segments++;
        for (size_t k = before; k < ms->nobjs; k++)
            if (sch_find(ms->objs[k].table, strlen(ms->objs[k].table)) == NULL) {
                log_warn("%s: table %s is not in the schema list; skipped", ms->objs[k].key,
                         ms->objs[k].table);
                c->st->unknown_table++;
            }
    }
    buf_free(&b);
    return rc;
}

static void marker_set_free(marker_set *ms)
{
    free(ms->segs);
    free(ms->objs);
    segset_free(&ms->loaded);
}

/* ------------------------------------------------------------------ the run */

/* Takes table t's lock in dwh: *got 0 when another run holds it. */
static int lock_table(compactor *c, const sch_table *t, int lock, int *got, hdp_err *e)
{
    char name[128];
    snprintf(name, sizeof(name), "hdp.compact.%s", t->name);
    const char *p[1] = {name};
    PGresult *r = pg_query(c->locks,
                           lock ? "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
                                : "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                           1, p, e);
    if (r == NULL)
        return pg_conn_lost(c->locks) ? HDP_RETRY : HDP_ERR;
    *got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return HDP_OK;
}

/* Mirrors t's progress into dwh's ops.lake_table (monitoring reads it there). */
static int mirror_state(compactor *c, const sch_table *t, const compact_state *st, hdp_err *e)
{
    char ct[24], rows[24], q[24], files[24], bs[24];
    snprintf(ct, sizeof(ct), "%" PRId64, st->complete_through);
    snprintf(rows, sizeof(rows), "%" PRId64, st->rows);
    snprintf(q, sizeof(q), "%" PRId64, st->quarantined);
    snprintf(files, sizeof(files), "%" PRId64, st->files);
    snprintf(bs, sizeof(bs), "%" PRId64, st->blocked_segment);
    const char *p[7] = {t->name,
                        ct,
                        rows,
                        q,
                        files,
                        st->blocked ? bs : NULL,
                        st->blocked ? st->blocked_reason : NULL};
    PGresult *r = pg_query(c->locks,
                           "INSERT INTO ops.lake_table (table_name, complete_through, rows, "
                           "quarantined, files, blocked_segment, blocked_reason) VALUES ($1, $2, "
                           "$3, $4, $5, $6, $7) ON CONFLICT (table_name) DO UPDATE SET "
                           "complete_through = $2, rows = $3, quarantined = $4, files = $5, "
                           "blocked_segment = $6, blocked_reason = $7, updated_at = "
                           "clock_timestamp()",
                           7, p, e);
    if (r == NULL)
        return pg_conn_lost(c->locks) ? HDP_RETRY : HDP_ERR;
    PQclear(r);
    return HDP_OK;
}

/* One table under its lock: compact what is new, then record how far it is complete. */
static int run_table(compactor *c, const sch_table *t, marker_set *ms, int64_t closed, hdp_err *e)
{
    compact_state st;
    int rc = compact_state_load(c->lake, t->name, &st, e);
    if (rc == HDP_OK)
        rc = load_markers_for(c, ms, &st.markers_done, e);
    manifest m = {0};
    int64_t blocked = -1;
    if (rc == HDP_OK)
        rc = compact_table(c, t, ms->objs, ms->nobjs, &blocked, &m, e);
    if (rc == HDP_OK) {
        /* Everything below the first segment this table cannot take is complete. */
        int64_t stop = blocked;
        if (ms->bad_seg >= 0 && (stop < 0 || ms->bad_seg < stop))
            stop = ms->bad_seg;
        /* Capture's state says how far every segment is closed; a marker beyond it (capture
         * stopped between a marker and its state) is compacted, but counts only later. */
        int64_t through = closed;
        int changed = 0;
        for (size_t i = 0; i < ms->n; i++) {
            int64_t seg = ms->segs[i];
            if (stop >= 0 && seg >= stop)
                break;
            if (!segset_has(&st.markers_done, seg)) {
                segset_add(&st.markers_done, seg, seg);
                changed = 1;
            }
        }
        if (stop >= 0)
            through = stop - 1;
        compact_state next = st;
        next.complete_through =
            through > st.complete_through || stop >= 0 ? through : st.complete_through;
        next.rows = m.rows;
        next.quarantined = m.quarantined;
        next.files = (int64_t)m.nfiles;
        next.blocked = stop >= 0;
        next.blocked_segment = stop;
        if (stop >= 0) {
            const char *why = blocked == stop ? c->blocked_why : ms->bad_why;
            snprintf(next.blocked_reason, sizeof(next.blocked_reason), "%s", why);
            snprintf(next.blocked_object, sizeof(next.blocked_object), "%s",
                     blocked == stop ? "" : "marker");
        }
        changed |= next.complete_through != st.complete_through || next.rows != st.rows ||
                   next.quarantined != st.quarantined || next.files != st.files ||
                   next.blocked != st.blocked || next.blocked_segment != st.blocked_segment;
        if (changed) /* a run with nothing new writes nothing */
            rc = compact_state_save(c->lake, t->name, &next, e);
        if (rc == HDP_OK)
            rc = mirror_state(c, t, &next, e);
        if (rc == HDP_OK && stop >= 0)
            rc = COMPACT_BLOCKED;
        st = next;
    }
    compact_state_free(&st);
    manifest_free(&m);
    return rc;
}

int compact_run(const hdp_config *cfg, const compact_opts *o, volatile int *cancel,
                compact_stats *st, hdp_err *e)
{
    compactor c;
    memset(&c, 0, sizeof(c));
    memset(st, 0, sizeof(*st));
    st->seg_first = st->seg_last = -1;
    c.cfg = cfg;
    c.opts = o;
    c.st = st;
    c.cancel = cancel;
    size_t ntables;
    const sch_table *tables = sch_tables(&ntables);
    if (o->table && sch_find(o->table, strlen(o->table)) == NULL)
        return hdp_fail(e, "--table %s: not a table of the curated schema", o->table);
    /* A spool folder of this run's own: concurrent runs never share a file. */
    char base[PATH_MAX];
    snprintf(base, sizeof(base), "%s/spool/compact", cfg->var_dir);
    if (fs_mkdirs(base, e) != HDP_OK)
        return HDP_ERR;
    snprintf(c.spool, sizeof(c.spool), "%.3900s/run-XXXXXX", base);
    if (mkdtemp(c.spool) == NULL)
        return hdp_fail(e, "cannot create a spool folder under %s: %s", base, strerror(errno));
    int rc = pg_open(&c.locks, cfg->dwh_dsn, NULL, NULL, e);
    if (rc != HDP_OK)
        hdp_err_prefix(e, "dwh (compaction's locks): ");
    c.lake = rc == HDP_OK ? lake_open_config(cfg, e) : NULL;
    if (rc == HDP_OK && c.lake == NULL)
        rc = HDP_ERR;
    int64_t closed = -1;
    marker_set ms = {0};
    if (rc == HDP_OK)
        rc = capture_closed_segment(c.lake, &closed, e);
    if (rc == HDP_OK)
        rc = list_markers(&c, &ms, e);
    hdp_buf blocked = HDP_BUF_INIT, busy = HDP_BUF_INIT;
    for (size_t t = 0; rc == HDP_OK && t < ntables; t++) {
        if (o->table && strcmp(o->table, tables[t].name) != 0)
            continue;
        if (*cancel) {
            rc = hdp_retry(e, "interrupted");
            break;
        }
        int got = 0;
        rc = lock_table(&c, &tables[t], 1, &got, e);
        if (rc != HDP_OK)
            break;
        if (!got) {
            st->busy++;
            buf_printf(&busy, "%s%s", busy.len ? ", " : "", tables[t].name);
            continue;
        }
        rc = run_table(&c, &tables[t], &ms, closed, e);
        if (rc == COMPACT_BLOCKED) {
            st->blocked++;
            compact_state bs;
            hdp_err ignored;
            if (compact_state_load(c.lake, tables[t].name, &bs, &ignored) == HDP_OK)
                buf_printf(&blocked, "%s%s stopped at segment %" PRId64 ": %s",
                           blocked.len ? "; " : "", tables[t].name, bs.blocked_segment,
                           bs.blocked_reason);
            compact_state_free(&bs);
            rc = HDP_OK;
        }
        int unlocked = 0;
        hdp_err ue;
        if (lock_table(&c, &tables[t], 0, &unlocked, &ue) != HDP_OK && rc == HDP_OK)
            rc = HDP_RETRY, *e = ue;
    }
    if (rc == HDP_OK && blocked.len)
        rc = hdp_fail(e,
                      "%s (restore the object from a backup or from capture's source, then "
                      "run compaction again)",
                      blocked.data);
    else if (rc == HDP_OK && busy.len)
        rc = hdp_retry(e, "another compaction is running (tables %s)", busy.data);
    buf_free(&blocked);
    buf_free(&busy);
    marker_set_free(&ms);
    free(c.rows);
    free(c.keys);
    arena_free(&c);
    jsonl_scanner_free(&c.sc);
    buf_free(&c.obj);
    buf_free(&c.quarantine);
    lake_close(c.lake);
    if (c.locks)
        PQfinish(c.locks);
    fs_remove_tree(c.spool);
    return rc;
}
