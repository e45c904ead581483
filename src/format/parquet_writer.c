#include "format/parquet_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "format/parquet_meta.h"
#include "format/rle.h"

#define PQ_CREATED_BY     "hdp version 0.1"
#define PQ_MAX_PAGE_ROWS  (1u << 20)
#define PQ_DEFAULT_RG     (1u << 20)
#define PQ_DEFAULT_PAGE   (1u << 20)
#define PQ_DEFAULT_DICT   (1u << 20)
#define PQ_MAX_STAT_BYTES 4096
#define PQ_DICT_HARD_MAX  (1u << 30) /* entry offsets are 32-bit */
/* Distinct values an integer column chunk may dictionary-encode: product ids, quantities,
 * line numbers and seqs fit and shrink to a few bits a value; ids, keys and times do not and
 * go PLAIN after the first few thousand values. */
#define PQ_INT_DICT_MAX 16384

typedef struct pq_col {
    char *name;
    pq_type type;
    int precision, scale;
    int phys;        /* PQT_* */
    int64_t written; /* rows of this row group that have a value for this column */

    /* page being filled */
    hdp_buf defs;  /* one definition level byte per value */
    hdp_buf vals;  /* PLAIN values (booleans one byte each until the page is packed) */
    uint32_t *idx; /* dictionary indices of the non-null values */
    size_t nidx, idx_cap;

    /* dictionary (strings and integers) */
    int use_dict;    /* this chunk encodes pages with the dictionary */
    int dict_off;    /* fell back once: PLAIN from now on */
    hdp_buf dict;    /* PLAIN-encoded entries (strings: 4-byte length + bytes) */
    uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
    size_t nslots;
    uint32_t *ent_hash, *ent_off, *ent_len; /* off and len: strings only */
    int64_t *ent_val;                       /* integers only */
    size_t nent, ent_cap;
    int64_t last_val; /* integers: the last value looked up and its entry, if have_last */
    uint32_t last_ent;
    int have_last;

    /* column chunk of the current row group */
    hdp_buf chunk; /* data pages: headers and compressed bodies */
    int64_t chunk_values, chunk_nulls, chunk_uncompressed;
    int has_dict_pages, has_plain_pages;
    int has_minmax;
    int64_t imin, imax;
    hdp_buf smin, smax;
} pq_col;

struct pq_writer {
    pq_sink_fn sink;
    void *ctx;
    int fd; /* path variant: owned file, else -1 */
    pq_writer_opts o;
    pq_col *cols;
    size_t ncols;
    int failed;
    int64_t pos;     /* bytes handed to the sink */
    int64_t rg_rows; /* rows in the current row group */
    int64_t total_rows;
    hdp_buf page, comp, hdr; /* scratch */
    pq_codec_ctx cctx;
    pqm_row_group *rgs;
    size_t nrgs, rgs_cap;
};

pq_writer_opts pq_writer_opts_default(void)
{
    pq_writer_opts o = {PQ_CODEC_ZSTD, 1, PQ_DEFAULT_RG, PQ_DEFAULT_PAGE, PQ_DEFAULT_DICT};
    return o;
}

/* ------------------------------------------------------------------ helpers */

static int fail(pq_writer *w, hdp_err *e, const char *msg, const char *col)
{
    w->failed = 1;
    return hdp_fail(e, "parquet writer: %s%s%s", msg, col ? ": column " : "", col ? col : "");
}

static int emit(pq_writer *w, const void *p, size_t n, hdp_err *e)
{
    if (n == 0)
        return HDP_OK;
    if (w->sink(w->ctx, p, n, e) != HDP_OK) {
        w->failed = 1;
        return HDP_ERR;
    }
    w->pos += (int64_t)n;
    return HDP_OK;
}

/* 32-bit hash of a byte string: 8 bytes at a time, multiply-xorshift mixing. */
static uint32_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    while (n >= 8) {
        uint64_t k;
        memcpy(&k, s, 8);
        h = (h ^ k) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t k = 0;
        memcpy(&k, s, n);
        h = (h ^ k) * 0x94D049BB133111EBull;
    }
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

/* 32-bit hash of an integer (the finalizer of MurmurHash3). */
static uint32_t hash_i64(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xFF51AFD7ED558CCDull;
    v ^= v >> 33;
    v *= 0xC4CEB9FE1A85EC53ull;
    v ^= v >> 33;
    return (uint32_t)v;
}

static int pq_type_phys(pq_type t)
{
    switch (t) {
    case PQ_BOOLEAN:
        return PQT_BOOLEAN;
    case PQ_INT32:
        return PQT_INT32;
    case PQ_STRING:
        return PQT_BYTE_ARRAY;
    default:
        return PQT_INT64;
    }
}

/* Keeps the unsigned bytewise min/max of strings seen in the chunk. */
static void stat_str(pq_col *c, const char *s, size_t n)
{
    if (!c->has_minmax) {
        buf_reset(&c->smin);
        buf_append(&c->smin, s, n);
        buf_reset(&c->smax);
        buf_append(&c->smax, s, n);
        c->has_minmax = 1;
        return;
    }
    size_t m = n < c->smin.len ? n : c->smin.len;
    int r = memcmp(s, c->smin.data, m);
    if (r < 0 || (r == 0 && n < c->smin.len)) {
        buf_reset(&c->smin);
        buf_append(&c->smin, s, n);
    }
    m = n < c->smax.len ? n : c->smax.len;
    r = memcmp(s, c->smax.data, m);
    if (r > 0 || (r == 0 && n > c->smax.len)) {
        buf_reset(&c->smax);
        buf_append(&c->smax, s, n);
    }
}

static void stat_int(pq_col *c, int64_t v)
{
    if (!c->has_minmax) {
        c->imin = c->imax = v;
        c->has_minmax = 1;
        return;
    }
    if (v < c->imin)
        c->imin = v;
    if (v > c->imax)
        c->imax = v;
}

/* ------------------------------------------------------------------ pages */

/* Compresses the filled page of c into its chunk buffer and empties the page. */
static int finish_page(pq_writer *w, pq_col *c, hdp_err *e)
{
    size_t nvals = c->defs.len;
    if (nvals == 0)
        return HDP_OK;
    int dict = c->use_dict && c->nent > 0;
    hdp_buf *pg = &w->page;
    buf_reset(pg);
    buf_append(pg, "\0\0\0\0", 4);
    rle_encode_u8(pg, (const uint8_t *)c->defs.data, nvals, 1);
    put_le32((uint8_t *)pg->data, (uint32_t)(pg->len - 4));
    if (dict) {
        int bw = rle_bit_width((uint32_t)(c->nent - 1));
        buf_putc(pg, (char)bw);
        rle_encode_u32(pg, c->idx, c->nidx, bw);
    } else if (c->type == PQ_BOOLEAN) {
        size_t nb = (c->vals.len + 7) / 8;
        buf_reserve(pg, nb);
        uint8_t *o = (uint8_t *)pg->data + pg->len;
        memset(o, 0, nb);
        for (size_t i = 0; i < c->vals.len; i++)
            if (c->vals.data[i])
                o[i / 8] |= (uint8_t)(1u << (i % 8));
        pg->len += nb;
    } else {
        buf_append(pg, c->vals.data, c->vals.len);
    }
    if (pg->len > INT32_MAX)
        return fail(w, e, "page too large", c->name);
    buf_reset(&w->comp);
    if (pq_compress(&w->cctx, w->o.codec, w->o.zstd_level, pg->data, pg->len, &w->comp, e) !=
        HDP_OK) {
        w->failed = 1;
        return HDP_ERR;
    }
    pqm_page_header h = {0};
    h.type = PQP_DATA_PAGE;
    h.uncompressed_size = (int32_t)pg->len;
    h.compressed_size = (int32_t)w->comp.len;
    h.num_values = (int32_t)nvals;
    h.encoding = dict ? PQE_RLE_DICTIONARY : PQE_PLAIN;
    h.def_encoding = PQE_RLE;
    size_t before = c->chunk.len;
    pqm_page_header_encode(&h, &c->chunk);
    c->chunk_uncompressed += (int64_t)(c->chunk.len - before + pg->len);
    buf_append(&c->chunk, w->comp.data, w->comp.len);
    if (dict)
        c->has_dict_pages = 1;
    else
        c->has_plain_pages = 1;
    buf_reset(&c->defs);
    buf_reset(&c->vals);
    c->nidx = 0;
    return HDP_OK;
}

/* Called after each value: closes the page when it reached its size. */
static int maybe_finish_page(pq_writer *w, pq_col *c, hdp_err *e)
{
    size_t est = c->vals.len + c->nidx + c->defs.len / 8;
    if (est >= w->o.page_bytes || c->defs.len >= PQ_MAX_PAGE_ROWS)
        return finish_page(w, c, e);
    return HDP_OK;
}

/* ------------------------------------------------------------------ dictionary */

static void dict_reset(pq_col *c)
{
    c->have_last = 0;
    buf_reset(&c->dict);
    if (c->slots)
        memset(c->slots, 0, c->nslots * sizeof(*c->slots));
    c->nent = 0;
}

static void dict_grow(pq_col *c)
{
    size_t n = c->nslots ? c->nslots * 2 : 1024;
    uint32_t *s = xcalloc(n, sizeof(*s));
    for (size_t i = 0; i < c->nent; i++) {
        size_t j = c->ent_hash[i] & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = (uint32_t)i + 1;
    }
    free(c->slots);
    c->slots = s;
    c->nslots = n;
}

/* Room for one more dictionary entry. */
static void dict_reserve(pq_col *c)
{
    if (c->nent < c->ent_cap)
        return;
    c->ent_cap = c->ent_cap ? c->ent_cap * 2 : 1024;
    c->ent_hash = xrealloc(c->ent_hash, c->ent_cap * sizeof(uint32_t));
    if (c->type == PQ_STRING) {
        c->ent_off = xrealloc(c->ent_off, c->ent_cap * sizeof(uint32_t));
        c->ent_len = xrealloc(c->ent_len, c->ent_cap * sizeof(uint32_t));
    } else {
        c->ent_val = xrealloc(c->ent_val, c->ent_cap * sizeof(int64_t));
    }
}

/* Finds or adds s in the dictionary. Returns the entry index, or -1 when adding it would
 * exceed the dictionary limit (the caller falls back to PLAIN). */
static int64_t dict_lookup(pq_writer *w, pq_col *c, const char *s, size_t n)
{
    uint32_t h = hash_bytes(s, n);
    if (c->nslots == 0)
        dict_grow(c);
    size_t mask = c->nslots - 1;
    size_t j = h & mask;
    while (c->slots[j]) {
        uint32_t k = c->slots[j] - 1;
        if (c->ent_hash[k] == h && c->ent_len[k] == n &&
            memcmp(c->dict.data + c->ent_off[k], s, n) == 0)
            return k;
        j = (j + 1) & mask;
    }
    if (c->dict.len + 4 + n > w->o.dict_max_bytes)
        return -1;
    dict_reserve(c);
    uint8_t le[4];
    put_le32(le, (uint32_t)n);
    buf_append(&c->dict, le, 4);
    size_t k = c->nent++;
    c->ent_hash[k] = h;
    c->ent_off[k] = (uint32_t)c->dict.len;
    c->ent_len[k] = (uint32_t)n;
    buf_append(&c->dict, s, n);
    c->slots[j] = (uint32_t)k + 1;
    stat_str(c, s, n);
    if (c->nent * 2 > c->nslots)
        dict_grow(c);
    return (int64_t)k;
}

/* The integer counterpart of dict_lookup: at most PQ_INT_DICT_MAX entries. A run of one
 * value (a segment, a seq, a line number) skips the hash. */
static int64_t dict_lookup_int(pq_writer *w, pq_col *c, int64_t v)
{
    if (c->have_last && c->last_val == v)
        return c->last_ent;
    uint32_t h = hash_i64((uint64_t)v);
    if (c->nslots == 0)
        dict_grow(c);
    size_t mask = c->nslots - 1;
    size_t j = h & mask;
    while (c->slots[j]) {
        uint32_t k = c->slots[j] - 1;
        if (c->ent_val[k] == v) {
            c->last_val = v;
            c->last_ent = k;
            c->have_last = 1;
            return k;
        }
        j = (j + 1) & mask;
    }
    size_t width = c->phys == PQT_INT32 ? 4 : 8;
    if (c->nent >= PQ_INT_DICT_MAX || c->dict.len + width > w->o.dict_max_bytes)
        return -1;
    dict_reserve(c);
    uint8_t le[8];
    if (width == 4)
        put_le32(le, (uint32_t)v);
    else
        put_le64(le, (uint64_t)v);
    buf_append(&c->dict, le, width);
    size_t k = c->nent++;
    c->ent_hash[k] = h;
    c->ent_val[k] = v;
    c->slots[j] = (uint32_t)k + 1;
    c->last_val = v;
    c->last_ent = (uint32_t)k;
    c->have_last = 1;
    if (c->nent * 2 > c->nslots)
        dict_grow(c);
    return (int64_t)k;
}

static void push_index(pq_col *c, int64_t k)
{
    if (c->nidx == c->idx_cap) {
        c->idx_cap = c->idx_cap ? c->idx_cap * 2 : 1024;
        c->idx = xrealloc(c->idx, c->idx_cap * sizeof(*c->idx));
    }
    c->idx[c->nidx++] = (uint32_t)k;
}

static void put_plain_int(pq_col *c, int64_t v)
{
    uint8_t le[8];
    if (c->phys == PQT_INT32) {
        put_le32(le, (uint32_t)v);
        buf_append_fast(&c->vals, le, 4);
    } else {
        put_le64(le, (uint64_t)v);
        buf_append_fast(&c->vals, le, 8);
    }
}

/* Turns the page being filled of an integer column into PLAIN and drops its dictionary;
 * only while no page of the chunk used the dictionary. */
static void dict_to_plain(pq_col *c)
{
    for (size_t i = 0; i < c->nidx; i++)
        put_plain_int(c, c->ent_val[c->idx[i]]);
    c->nidx = 0;
    dict_reset(c);
    c->use_dict = 0;
}

/* The dictionary is full: PLAIN for the rest of the column, in this file. An integer chunk
 * none of whose pages used the dictionary yet goes without one (a column of many distinct
 * values pays for no dictionary page); else the page is closed with the dictionary and the
 * chunk goes on PLAIN after it. */
static int dict_fallback(pq_writer *w, pq_col *c, hdp_err *e)
{
    if (c->type != PQ_STRING && !c->has_dict_pages) {
        dict_to_plain(c);
    } else if (finish_page(w, c, e) != HDP_OK) {
        return HDP_ERR;
    }
    c->use_dict = 0;
    c->dict_off = 1;
    return HDP_OK;
}

/* ------------------------------------------------------------------ open */

static int fd_sink(void *ctx, const void *p, size_t n, hdp_err *e)
{
    int fd = *(int *)ctx;
    const char *q = p;
    while (n > 0) {
        ssize_t r = write(fd, q, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return hdp_fail(e, "write: %s", strerror(errno));
        q += r;
        n -= (size_t)r;
    }
    return HDP_OK;
}

/* Validates the schema and allocates a writer; writes nothing yet. */
static pq_writer *writer_new(pq_sink_fn sink, void *ctx, const pq_column_def *cols, size_t ncols,
                             const pq_writer_opts *o, hdp_err *e)
{
    if (ncols == 0 || ncols > 32767) {
        hdp_fail(e, "parquet writer: need 1..32767 columns, got %zu", ncols);
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++) {
        const pq_column_def *d = &cols[i];
        if (d->name == NULL || d->name[0] == '\0') {
            hdp_fail(e, "parquet writer: column %zu has no name", i);
            return NULL;
        }
        if ((unsigned)d->type > PQ_STRING) {
            hdp_fail(e, "parquet writer: column %s has an unknown type", d->name);
            return NULL;
        }
        if (d->type == PQ_DECIMAL &&
            (d->precision < 1 || d->precision > 18 || d->scale < 0 || d->scale > d->precision)) {
            hdp_fail(e, "parquet writer: column %s: DECIMAL(%d,%d) does not fit INT64", d->name,
                     d->precision, d->scale);
            return NULL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cols[j].name, d->name) == 0) {
                hdp_fail(e, "parquet writer: duplicate column %s", d->name);
                return NULL;
            }
        }
    }
    pq_writer *w = xcalloc(1, sizeof(*w));
    w->sink = sink;
    w->ctx = ctx;
    w->fd = -1;
    w->o = o ? *o : pq_writer_opts_default();
    if (w->o.row_group_rows == 0)
        w->o.row_group_rows = PQ_DEFAULT_RG;
    if (w->o.page_bytes == 0)
        w->o.page_bytes = PQ_DEFAULT_PAGE;
    if (w->o.dict_max_bytes == 0)
        w->o.dict_max_bytes = PQ_DEFAULT_DICT;
    if (w->o.dict_max_bytes > PQ_DICT_HARD_MAX)
        w->o.dict_max_bytes = PQ_DICT_HARD_MAX;
    if (w->o.codec != PQ_CODEC_NONE && w->o.codec != PQ_CODEC_SNAPPY &&
        w->o.codec != PQ_CODEC_ZSTD) {
        hdp_fail(e, "parquet writer: unknown codec %d", (int)w->o.codec);
        free(w);
        return NULL;
    }
    w->cols = xcalloc(ncols, sizeof(*w->cols));
    w->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        pq_col *c = &w->cols[i];
        c->name = xstrdup(cols[i].name);
        c->type = cols[i].type;
        c->precision = cols[i].precision;
        c->scale = cols[i].scale;
        c->phys = pq_type_phys(c->type);
        c->use_dict = c->type != PQ_BOOLEAN;
    }
    return w;
}

pq_writer *pq_writer_open_sink(pq_sink_fn sink, void *ctx, const pq_column_def *cols, size_t ncols,
                               const pq_writer_opts *o, hdp_err *e)
{
    pq_writer *w = writer_new(sink, ctx, cols, ncols, o, e);
    if (w && emit(w, "PAR1", 4, e) != HDP_OK) {
        pq_writer_free(w);
        return NULL;
    }
    return w;
}

pq_writer *pq_writer_open(const char *path, const pq_column_def *cols, size_t ncols,
                          const pq_writer_opts *o, hdp_err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        hdp_fail(e, "parquet writer: open %s: %s", path, strerror(errno));
        return NULL;
    }
    /* the fd lives in the writer; the sink context points at it */
    pq_writer *w = writer_new(fd_sink, NULL, cols, ncols, o, e);
    if (w == NULL) {
        close(fd);
        return NULL;
    }
    w->fd = fd;
    w->ctx = &w->fd;
    if (emit(w, "PAR1", 4, e) != HDP_OK) {
        hdp_err_prefix(e, "parquet writer: %s: ", path);
        pq_writer_free(w);
        return NULL;
    }
    return w;
}

/* ------------------------------------------------------------------ values */

/* Checks that col exists, has type t (one of two) and has no value yet in this row. */
static pq_col *begin_value(pq_writer *w, size_t col, int ok_type, hdp_err *e)
{
    if (w->failed) {
        hdp_fail(e, "parquet writer: already failed");
        return NULL;
    }
    if (col >= w->ncols) {
        hdp_fail(e, "parquet writer: no column %zu", col);
        return NULL;
    }
    pq_col *c = &w->cols[col];
    if (!ok_type) {
        fail(w, e, "value of the wrong type", c->name);
        return NULL;
    }
    if (c->written != w->rg_rows) {
        fail(w, e, "column written twice in one row", c->name);
        return NULL;
    }
    c->written++;
    return c;
}

int pq_write_null(pq_writer *w, size_t col, hdp_err *e)
{
    pq_col *c = begin_value(w, col, 1, e);
    if (c == NULL)
        return HDP_ERR;
    buf_putc_fast(&c->defs, 0);
    c->chunk_nulls++;
    return maybe_finish_page(w, c, e);
}

/* A value's dictionary entry k into the page; k -1 (the dictionary is full) falls back to
 * PLAIN. *taken says whether the value is written (else the caller writes it PLAIN). */
static int put_index(pq_writer *w, pq_col *c, int64_t k, int *taken, hdp_err *e)
{
    *taken = k >= 0;
    if (k < 0)
        return dict_fallback(w, c, e);
    push_index(c, k);
    buf_putc_fast(&c->defs, 1);
    return maybe_finish_page(w, c, e);
}

static int put_int(pq_writer *w, pq_col *c, int64_t v, hdp_err *e)
{
    stat_int(c, v);
    if (c->use_dict) {
        int taken, rc = put_index(w, c, dict_lookup_int(w, c, v), &taken, e);
        if (rc != HDP_OK || taken)
            return rc;
    }
    put_plain_int(c, v);
    buf_putc_fast(&c->defs, 1);
    return maybe_finish_page(w, c, e);
}

int pq_write_i64(pq_writer *w, size_t col, int64_t v, hdp_err *e)
{
    int ok = col < w->ncols && w->cols[col].phys == PQT_INT64;
    pq_col *c = begin_value(w, col, ok, e);
    if (c == NULL)
        return HDP_ERR;
    return put_int(w, c, v, e);
}

int pq_write_i32(pq_writer *w, size_t col, int32_t v, hdp_err *e)
{
    int ok = col < w->ncols && w->cols[col].phys == PQT_INT32;
    pq_col *c = begin_value(w, col, ok, e);
    if (c == NULL)
        return HDP_ERR;
    return put_int(w, c, v, e);
}

int pq_write_bool(pq_writer *w, size_t col, int v, hdp_err *e)
{
    int ok = col < w->ncols && w->cols[col].phys == PQT_BOOLEAN;
    pq_col *c = begin_value(w, col, ok, e);
    if (c == NULL)
        return HDP_ERR;
    buf_putc_fast(&c->defs, 1);
    buf_putc_fast(&c->vals, v ? 1 : 0);
    stat_int(c, v ? 1 : 0);
    return maybe_finish_page(w, c, e);
}

int pq_write_str(pq_writer *w, size_t col, const char *s, size_t n, hdp_err *e)
{
    int ok = col < w->ncols && w->cols[col].phys == PQT_BYTE_ARRAY;
    pq_col *c = begin_value(w, col, ok, e);
    if (c == NULL)
        return HDP_ERR;
    if (n > INT32_MAX)
        return fail(w, e, "string longer than 2 GiB", c->name);
    if (n == 0)
        s = ""; /* callers may pass NULL for the empty string */
    if (c->use_dict) {
        int taken, rc = put_index(w, c, dict_lookup(w, c, s, n), &taken, e);
        if (rc != HDP_OK || taken)
            return rc;
    }
    uint8_t le[4];
    put_le32(le, (uint32_t)n);
    buf_append_fast(&c->vals, le, 4);
    buf_append_fast(&c->vals, s, n);
    buf_putc_fast(&c->defs, 1);
    stat_str(c, s, n);
    return maybe_finish_page(w, c, e);
}

/* ------------------------------------------------------------------ row groups */

static void fill_stats(pq_col *c, pqm_column *m)
{
    m->has_stats = 1;
    m->stats.has_null_count = 1;
    m->stats.null_count = c->chunk_nulls;
    if (!c->has_minmax)
        return;
    /* like parquet-cpp: long strings would bloat the footer, so no min/max at all */
    if (c->phys == PQT_BYTE_ARRAY &&
        (c->smin.len > PQ_MAX_STAT_BYTES || c->smax.len > PQ_MAX_STAT_BYTES))
        return;
    uint8_t *mn, *mx;
    size_t n;
    if (c->phys == PQT_BYTE_ARRAY) {
        n = c->smin.len;
        mn = xmalloc(n ? n : 1);
        memcpy(mn, c->smin.data, n);
        m->stats.min_value = (pqm_bytes){mn, n};
        n = c->smax.len;
        mx = xmalloc(n ? n : 1);
        memcpy(mx, c->smax.data, n);
        m->stats.max_value = (pqm_bytes){mx, n};
        return; /* the deprecated fields used signed byte order: leave them out */
    }
    n = c->phys == PQT_BOOLEAN ? 1 : c->phys == PQT_INT32 ? 4 : 8;
    mn = xmalloc(8);
    mx = xmalloc(8);
    put_le64(mn, (uint64_t)c->imin);
    put_le64(mx, (uint64_t)c->imax);
    m->stats.min_value = m->stats.min = (pqm_bytes){mn, n};
    m->stats.max_value = m->stats.max = (pqm_bytes){mx, n};
}

/* Writes one column chunk (dictionary page, then data pages) and describes it in m. */
static int flush_column(pq_writer *w, pq_col *c, pqm_column *m, hdp_err *e)
{
    /* an integer chunk of one page whose values repeat less than twice on average is
     * smaller PLAIN: its dictionary would hold most of the values again */
    if (c->type != PQ_STRING && c->use_dict && !c->has_dict_pages && c->nent * 2 > c->nidx)
        dict_to_plain(c);
    if (finish_page(w, c, e) != HDP_OK)
        return HDP_ERR;
    memset(m, 0, sizeof(*m));
    m->type = c->phys;
    m->path = (pqm_bytes){(const uint8_t *)c->name, strlen(c->name)};
    m->codec = w->o.codec;
    m->num_values = w->rg_rows;
    m->file_offset = w->pos;
    int64_t start = w->pos, uncompressed = c->chunk_uncompressed;
    if (c->has_dict_pages) {
        if (c->dict.len > INT32_MAX)
            return fail(w, e, "dictionary too large", c->name);
        buf_reset(&w->comp);
        if (pq_compress(&w->cctx, w->o.codec, w->o.zstd_level, c->dict.data, c->dict.len, &w->comp,
                        e) != HDP_OK) {
            w->failed = 1;
            return HDP_ERR;
        }
        pqm_page_header h = {0};
        h.type = PQP_DICTIONARY_PAGE;
        h.uncompressed_size = (int32_t)c->dict.len;
        h.compressed_size = (int32_t)w->comp.len;
        h.num_values = (int32_t)c->nent;
        h.encoding = PQE_PLAIN;
        buf_reset(&w->hdr);
        pqm_page_header_encode(&h, &w->hdr);
        uncompressed += (int64_t)(w->hdr.len + c->dict.len);
        m->has_dictionary_page_offset = 1;
        m->dictionary_page_offset = w->pos;
        if (emit(w, w->hdr.data, w->hdr.len, e) != HDP_OK ||
            emit(w, w->comp.data, w->comp.len, e) != HDP_OK)
            return HDP_ERR;
    }
    m->data_page_offset = w->pos;
    if (emit(w, c->chunk.data, c->chunk.len, e) != HDP_OK)
        return HDP_ERR;
    m->total_compressed_size = w->pos - start;
    m->total_uncompressed_size = uncompressed;
    /* encodings: PLAIN always listed (dictionary page or values), RLE for levels */
    m->encodings[m->nencodings++] = PQE_PLAIN;
    m->encodings[m->nencodings++] = PQE_RLE;
    if (c->has_dict_pages)
        m->encodings[m->nencodings++] = PQE_RLE_DICTIONARY;
    fill_stats(c, m);

    buf_reset(&c->chunk);
    c->chunk_values = c->chunk_nulls = c->chunk_uncompressed = 0;
    c->has_dict_pages = c->has_plain_pages = 0;
    c->has_minmax = 0;
    c->written = 0;
    dict_reset(c);
    c->use_dict = c->type != PQ_BOOLEAN && !c->dict_off;
    return HDP_OK;
}

static int flush_row_group(pq_writer *w, hdp_err *e)
{
    if (w->rg_rows == 0)
        return HDP_OK;
    if (w->nrgs == w->rgs_cap) {
        w->rgs_cap = w->rgs_cap ? w->rgs_cap * 2 : 8;
        w->rgs = xrealloc(w->rgs, w->rgs_cap * sizeof(*w->rgs));
    }
    pqm_row_group *rg = &w->rgs[w->nrgs++];
    memset(rg, 0, sizeof(*rg));
    rg->columns = xcalloc(w->ncols, sizeof(*rg->columns));
    rg->ncolumns = (uint32_t)w->ncols;
    rg->num_rows = w->rg_rows;
    rg->file_offset = w->pos;
    int64_t start = w->pos;
    for (size_t i = 0; i < w->ncols; i++) {
        if (flush_column(w, &w->cols[i], &rg->columns[i], e) != HDP_OK)
            return HDP_ERR;
        rg->total_byte_size += rg->columns[i].total_uncompressed_size;
    }
    rg->total_compressed_size = w->pos - start;
    w->rg_rows = 0;
    return HDP_OK;
}

int pq_end_row(pq_writer *w, hdp_err *e)
{
    if (w->failed)
        return hdp_fail(e, "parquet writer: already failed");
    for (size_t i = 0; i < w->ncols; i++) {
        if (w->cols[i].written == w->rg_rows && pq_write_null(w, i, e) != HDP_OK)
            return HDP_ERR;
    }
    w->rg_rows++;
    w->total_rows++;
    if ((size_t)w->rg_rows >= w->o.row_group_rows)
        return flush_row_group(w, e);
    return HDP_OK;
}

int64_t pq_writer_rows(const pq_writer *w)
{
    return w->total_rows;
}

/* ------------------------------------------------------------------ footer */

static void schema_of(const pq_col *c, pqm_schema *s)
{
    memset(s, 0, sizeof(*s));
    s->has_type = 1;
    s->type = c->phys;
    s->has_repetition = 1;
    s->repetition = PQR_OPTIONAL;
    s->name = (pqm_bytes){(const uint8_t *)c->name, strlen(c->name)};
    switch (c->type) {
    case PQ_DECIMAL:
        s->has_converted = 1;
        s->converted = PQC_DECIMAL;
        s->scale = s->lt_scale = c->scale;
        s->precision = s->lt_precision = c->precision;
        s->logical = PQL_DECIMAL;
        break;
    case PQ_TIMESTAMP_US:
        s->has_converted = 1;
        s->converted = PQC_TIMESTAMP_MICROS;
        s->logical = PQL_TIMESTAMP;
        s->lt_utc = 1;
        s->lt_unit = PQU_MICROS;
        break;
    case PQ_STRING:
        s->has_converted = 1;
        s->converted = PQC_UTF8;
        s->logical = PQL_STRING;
        break;
    default:
        break;
    }
}

int pq_writer_close(pq_writer *w, hdp_err *e)
{
    if (w == NULL)
        return hdp_fail(e, "parquet writer: NULL");
    int rc = HDP_ERR;
    hdp_buf footer = HDP_BUF_INIT;
    pqm_schema *schema = xcalloc(w->ncols + 1, sizeof(*schema));
    if (w->failed) {
        hdp_fail(e, "parquet writer: already failed");
        goto out;
    }
    if (flush_row_group(w, e) != HDP_OK)
        goto out;
    schema[0].name = (pqm_bytes){(const uint8_t *)"schema", 6};
    schema[0].num_children = (int32_t)w->ncols;
    for (size_t i = 0; i < w->ncols; i++)
        schema_of(&w->cols[i], &schema[i + 1]);
    pqm_file f = {0};
    f.version = 1;
    f.schema = schema;
    f.nschema = (uint32_t)w->ncols + 1;
    f.num_rows = w->total_rows;
    f.row_groups = w->rgs;
    f.nrow_groups = (uint32_t)w->nrgs;
    f.created_by = (pqm_bytes){(const uint8_t *)PQ_CREATED_BY, strlen(PQ_CREATED_BY)};
    pqm_file_encode(&f, &footer);
    uint8_t tail[8];
    put_le32(tail, (uint32_t)footer.len);
    memcpy(tail + 4, "PAR1", 4);
    if (emit(w, footer.data, footer.len, e) != HDP_OK || emit(w, tail, 8, e) != HDP_OK)
        goto out;
    if (w->fd >= 0) {
        if (fsync(w->fd) != 0) {
            hdp_fail(e, "parquet writer: fsync: %s", strerror(errno));
            goto out;
        }
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) != 0) {
            hdp_fail(e, "parquet writer: close: %s", strerror(errno));
            goto out;
        }
    }
    rc = HDP_OK;
out:
    buf_free(&footer);
    free(schema);
    pq_writer_free(w);
    return rc;
}

void pq_writer_free(pq_writer *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->ncols; i++) {
        pq_col *c = &w->cols[i];
        free(c->name);
        buf_free(&c->defs);
        buf_free(&c->vals);
        free(c->idx);
        buf_free(&c->dict);
        free(c->slots);
        free(c->ent_hash);
        free(c->ent_off);
        free(c->ent_len);
        free(c->ent_val);
        buf_free(&c->chunk);
        buf_free(&c->smin);
        buf_free(&c->smax);
    }
    for (size_t i = 0; i < w->nrgs; i++) {
        for (uint32_t j = 0; j < w->rgs[i].ncolumns; j++) {
            free((void *)w->rgs[i].columns[j].stats.min_value.p);
            free((void *)w->rgs[i].columns[j].stats.max_value.p);
        }
        free(w->rgs[i].columns);
    }
    free(w->rgs);
    free(w->cols);
    buf_free(&w->page);
    buf_free(&w->comp);
    buf_free(&w->hdr);
    pq_codec_ctx_free(&w->cctx);
    if (w->fd >= 0)
        close(w->fd);
    free(w);
}
