#include "format/parquet_reader.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "format/codec.h"
#include "format/parquet_meta.h"
#include "format/rle.h"

#define PQ_MAX_PAGE_BYTES  (256u << 20) /* larger pages are treated as corruption */
#define PQ_MAX_PAGE_VALUES (64u << 20)
/* A loaded row group lives in memory (about 9 bytes a value): runs of NULLs or of one
 * dictionary index cost a few bytes for any count, so the counts themselves are bounded. */
#define PQ_MAX_RG_ROWS   ((size_t)64 << 20)
#define PQ_MAX_RG_VALUES ((size_t)128 << 20) /* rows x columns */

/* Decoded values of one column in the loaded row group (or of a dictionary). */
typedef struct pq_vals {
    uint8_t *valid;
    int64_t *iv;    /* non-string columns */
    uint64_t *soff; /* strings: offset into arena */
    uint32_t *slen;
    hdp_buf arena;
    size_t n, cap;
} pq_vals;

typedef struct pq_rcol {
    pq_column_def def;  /* def.name owned */
    int phys;           /* PQT_* */
    int type_length;    /* FIXED_LEN_BYTE_ARRAY */
    int max_def;        /* 0 REQUIRED, 1 OPTIONAL */
    int ts_mul, ts_div; /* timestamps: µs = v * mul / div */
    pq_vals v;
    pq_vals dict;
    int have_dict;
    int dict_copied; /* the dictionary's strings are in v.arena, at dict_base */
    uint64_t dict_base;
} pq_rcol;

struct pq_reader {
    const uint8_t *data;
    size_t len;
    void *map; /* mmap'ed file, or NULL when the memory is borrowed */
    size_t map_len;
    size_t footer_start;
    pqm_file meta;
    pq_rcol *cols;
    size_t ncols;
    char *created_by;
    hdp_buf page; /* decompressed page */
    pq_codec_ctx cctx;
    uint8_t *defs; /* definition levels of a page */
    uint32_t *idx; /* dictionary indices of a page */
    size_t lvl_cap;
};

/* ------------------------------------------------------------------ values storage */

static void vals_free(pq_vals *v)
{
    free(v->valid);
    free(v->iv);
    free(v->soff);
    free(v->slen);
    buf_free(&v->arena);
    memset(v, 0, sizeof(*v));
}

static void vals_clear(pq_vals *v)
{
    v->n = 0;
    buf_reset(&v->arena);
}

/* Room for `more` values. */
static void vals_reserve(pq_vals *v, size_t more, int strings)
{
    if (v->n + more <= v->cap)
        return;
    size_t cap = v->cap ? v->cap : 1024;
    while (cap < v->n + more)
        cap *= 2;
    v->valid = xrealloc(v->valid, cap);
    if (strings) {
        v->soff = xrealloc(v->soff, cap * sizeof(*v->soff));
        v->slen = xrealloc(v->slen, cap * sizeof(*v->slen));
    } else {
        v->iv = xrealloc(v->iv, cap * sizeof(*v->iv));
    }
    v->cap = cap;
}

/* ------------------------------------------------------------------ schema */

static int map_column(pq_rcol *c, const pqm_schema *s, hdp_err *e)
{
    const char *nm = c->def.name;
    int logical = s->logical;
    int conv = s->has_converted ? s->converted : -1;
    int is_dec = logical == PQL_DECIMAL || conv == PQC_DECIMAL;
    if (s->num_children > 0 || !s->has_type)
        return hdp_fail(e, "parquet: column %s: nested schemas are not supported", nm);
    if (s->has_repetition && s->repetition == PQR_REPEATED)
        return hdp_fail(e, "parquet: column %s: repeated fields are not supported", nm);
    c->phys = s->type;
    c->type_length = s->type_length;
    c->max_def = s->has_repetition && s->repetition == PQR_OPTIONAL ? 1 : 0;
    c->ts_mul = c->ts_div = 1;
    if (is_dec) {
        c->def.type = PQ_DECIMAL;
        c->def.precision = logical == PQL_DECIMAL ? s->lt_precision : s->precision;
        c->def.scale = logical == PQL_DECIMAL ? s->lt_scale : s->scale;
        if (c->def.scale < 0 || c->def.scale > 38 || c->def.precision < 1)
            return hdp_fail(e, "parquet: column %s: bad decimal precision/scale", nm);
        if (c->phys == PQT_FIXED_LEN_BYTE_ARRAY && (c->type_length < 1 || c->type_length > 16))
            return hdp_fail(e, "parquet: column %s: bad decimal length %d", nm, c->type_length);
        if (c->phys == PQT_INT32 || c->phys == PQT_INT64 || c->phys == PQT_BYTE_ARRAY ||
            c->phys == PQT_FIXED_LEN_BYTE_ARRAY)
            return HDP_OK;
        return hdp_fail(e, "parquet: column %s: decimal on an unsupported type", nm);
    }
    int plain_int = logical == PQL_NONE || logical == PQL_INTEGER;
    if (logical == PQL_INTEGER && !s->lt_signed)
        return hdp_fail(e, "parquet: column %s: unsigned integers are not supported", nm);
    switch (c->phys) {
    case PQT_BOOLEAN:
        c->def.type = PQ_BOOLEAN;
        return HDP_OK;
    case PQT_INT32:
        if (plain_int &&
            (conv == -1 || conv == PQC_INT_8 || conv == PQC_INT_16 || conv == PQC_INT_32)) {
            c->def.type = PQ_INT32;
            return HDP_OK;
        }
        break;
    case PQT_INT64:
        if (logical == PQL_TIMESTAMP || conv == PQC_TIMESTAMP_MICROS ||
            conv == PQC_TIMESTAMP_MILLIS) {
            int unit = logical == PQL_TIMESTAMP       ? s->lt_unit
                       : conv == PQC_TIMESTAMP_MILLIS ? PQU_MILLIS
                                                      : PQU_MICROS;
            c->def.type = PQ_TIMESTAMP_US;
            if (unit == PQU_MILLIS)
                c->ts_mul = 1000;
            else if (unit == PQU_NANOS)
                c->ts_div = 1000;
            else if (unit != PQU_MICROS)
                return hdp_fail(e, "parquet: column %s: unknown time unit", nm);
            return HDP_OK;
        }
        if (plain_int && (conv == -1 || conv == PQC_INT_64)) {
            c->def.type = PQ_INT64;
            return HDP_OK;
        }
        break;
    case PQT_BYTE_ARRAY:
        if (logical == PQL_NONE || logical == PQL_STRING || logical == 4 /* ENUM */ ||
            logical == 12 /* JSON */) {
            c->def.type = PQ_STRING;
            return HDP_OK;
        }
        break;
    default:
        break;
    }
    return hdp_fail(e,
                    "parquet: column %s: unsupported type (physical %d, converted %d, logical %d)",
                    nm, c->phys, conv, logical);
}

static int init_schema(pq_reader *r, hdp_err *e)
{
    const pqm_file *f = &r->meta;
    if (f->nschema < 2)
        return hdp_fail(e, "parquet: schema has no columns");
    if ((uint32_t)f->schema[0].num_children != f->nschema - 1)
        return hdp_fail(e, "parquet: nested schemas are not supported");
    r->ncols = f->nschema - 1;
    r->cols = xcalloc(r->ncols, sizeof(*r->cols));
    for (size_t i = 0; i < r->ncols; i++) {
        const pqm_schema *s = &f->schema[i + 1];
        if (s->name.p == NULL)
            return hdp_fail(e, "parquet: schema element %zu has no name", i + 1);
        r->cols[i].def.name = xstrndup((const char *)s->name.p, s->name.n);
        if (map_column(&r->cols[i], s, e) != HDP_OK)
            return HDP_ERR;
    }
    for (uint32_t g = 0; g < f->nrow_groups; g++) {
        const pqm_row_group *rg = &f->row_groups[g];
        if (rg->ncolumns != r->ncols)
            return hdp_fail(e, "parquet: row group %u has %u columns, schema has %zu", g,
                            rg->ncolumns, r->ncols);
        if (rg->num_rows < 0)
            return hdp_fail(e, "parquet: row group %u has a negative row count", g);
        for (size_t i = 0; i < r->ncols; i++)
            if (rg->columns[i].type != r->cols[i].phys)
                return hdp_fail(e, "parquet: row group %u column %zu: type differs from schema", g,
                                i);
    }
    return HDP_OK;
}

/* ------------------------------------------------------------------ open */

static pq_reader *open_common(pq_reader *r, hdp_err *e)
{
    if (r->len < 12 || memcmp(r->data, "PAR1", 4) != 0 ||
        memcmp(r->data + r->len - 4, "PAR1", 4) != 0) {
        hdp_fail(e, "parquet: not a Parquet file (magic bytes missing)");
        goto fail;
    }
    const uint8_t *t = r->data + r->len - 8;
    uint32_t flen = get_le32(t);
    if ((size_t)flen > r->len - 12) {
        hdp_fail(e, "parquet: footer length %u exceeds the file", flen);
        goto fail;
    }
    r->footer_start = r->len - 8 - flen;
    if (pqm_file_decode(r->data + r->footer_start, flen, &r->meta, e) != HDP_OK)
        goto fail;
    if (init_schema(r, e) != HDP_OK)
        goto fail;
    r->created_by = xstrndup(r->meta.created_by.p ? (const char *)r->meta.created_by.p : "",
                             r->meta.created_by.n);
    return r;
fail:
    pq_reader_free(r);
    return NULL;
}

pq_reader *pq_reader_open_mem(const void *data, size_t len, hdp_err *e)
{
    pq_reader *r = xcalloc(1, sizeof(*r));
    r->data = data;
    r->len = len;
    return open_common(r, e);
}

pq_reader *pq_reader_open(const char *path, hdp_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        hdp_fail(e, "parquet: open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        hdp_fail(e, "parquet: stat %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (st.st_size < 12) {
        close(fd);
        hdp_fail(e, "parquet: %s: not a Parquet file (%lld bytes)", path, (long long)st.st_size);
        return NULL;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        hdp_fail(e, "parquet: mmap %s: %s", path, strerror(errno));
        return NULL;
    }
    pq_reader *r = xcalloc(1, sizeof(*r));
    r->map = m;
    r->map_len = (size_t)st.st_size;
    r->data = m;
    r->len = (size_t)st.st_size;
    r = open_common(r, e);
    if (r == NULL)
        hdp_err_prefix(e, "%s: ", path);
    return r;
}

void pq_reader_free(pq_reader *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ncols; i++) {
        free((char *)r->cols[i].def.name);
        vals_free(&r->cols[i].v);
        vals_free(&r->cols[i].dict);
    }
    free(r->cols);
    pqm_file_free(&r->meta);
    free(r->created_by);
    buf_free(&r->page);
    pq_codec_ctx_free(&r->cctx);
    free(r->defs);
    free(r->idx);
    if (r->map)
        munmap(r->map, r->map_len);
    free(r);
}

size_t pq_reader_ncols(const pq_reader *r)
{
    return r->ncols;
}

const pq_column_def *pq_reader_column(const pq_reader *r, size_t col)
{
    return col < r->ncols ? &r->cols[col].def : NULL;
}

long pq_reader_find_column(const pq_reader *r, const char *name)
{
    for (size_t i = 0; i < r->ncols; i++)
        if (strcmp(r->cols[i].def.name, name) == 0)
            return (long)i;
    return -1;
}

int64_t pq_reader_num_rows(const pq_reader *r)
{
    return r->meta.num_rows;
}

size_t pq_reader_num_row_groups(const pq_reader *r)
{
    return r->meta.nrow_groups;
}

const char *pq_reader_created_by(const pq_reader *r)
{
    return r->created_by;
}

/* ------------------------------------------------------------------ value decoding */

static int64_t le_i64(const uint8_t *p)
{
    return (int64_t)get_le64(p);
}

static int64_t le_i32(const uint8_t *p)
{
    return (int32_t)get_le32(p);
}

/* Big-endian two's complement (decimal bytes) to int64; -1 when it does not fit. */
static int be_to_i64(const uint8_t *p, size_t n, int64_t *out)
{
    if (n == 0) {
        *out = 0;
        return 0;
    }
    uint8_t sign = (p[0] & 0x80) ? 0xFF : 0x00;
    size_t skip = 0;
    while (n - skip > 8) {
        if (p[skip] != sign)
            return -1;
        skip++;
    }
    uint64_t v = sign ? UINT64_MAX : 0;
    for (size_t i = skip; i < n; i++)
        v = (v << 8) | p[i];
    if (n - skip == 8 && ((p[skip] & 0x80) ? 0xFF : 0x00) != sign)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int ts_convert(const pq_rcol *c, int64_t v, int64_t *out, hdp_err *e)
{
    if (c->ts_mul != 1) {
        if (__builtin_mul_overflow(v, (int64_t)c->ts_mul, out))
            return hdp_fail(e, "parquet: column %s: timestamp out of range", c->def.name);
        return HDP_OK;
    }
    if (c->ts_div != 1) {
        int64_t q = v / c->ts_div;
        if (v % c->ts_div < 0)
            q--;
        *out = q;
        return HDP_OK;
    }
    *out = v;
    return HDP_OK;
}

/* Decodes nvals PLAIN values from p[0..len) into dst (appending, all valid). */
static int decode_plain(pq_rcol *c, pq_vals *dst, const uint8_t *p, size_t len, size_t nvals,
                        hdp_err *e)
{
    const uint8_t *end = p + len;
    int strings = c->def.type == PQ_STRING;
    size_t w, fit;
    /* the most values the bytes can hold, checked before anything is allocated */
    switch (c->phys) {
    case PQT_BOOLEAN:
        fit = len > SIZE_MAX / 8 ? SIZE_MAX : len * 8;
        break;
    case PQT_INT64:
        fit = len / 8;
        break;
    case PQT_FIXED_LEN_BYTE_ARRAY:
        fit = c->type_length > 0 ? len / (size_t)c->type_length : 0;
        break;
    default:
        fit = len / 4;
    }
    if (nvals > fit)
        goto short_data;
    vals_reserve(dst, nvals, strings);
    switch (c->phys) {
    case PQT_BOOLEAN:
        if ((nvals + 7) / 8 > len)
            goto short_data;
        for (size_t i = 0; i < nvals; i++)
            dst->iv[dst->n++] = (p[i / 8] >> (i % 8)) & 1;
        return HDP_OK;
    case PQT_INT32:
    case PQT_INT64:
        w = c->phys == PQT_INT32 ? 4 : 8;
        if (nvals > len / w)
            goto short_data;
        for (size_t i = 0; i < nvals; i++, p += w) {
            int64_t v = w == 4 ? le_i32(p) : le_i64(p);
            if (c->def.type == PQ_TIMESTAMP_US && ts_convert(c, v, &v, e) != HDP_OK)
                return HDP_ERR;
            dst->iv[dst->n++] = v;
        }
        return HDP_OK;
    case PQT_BYTE_ARRAY:
    case PQT_FIXED_LEN_BYTE_ARRAY:
        for (size_t i = 0; i < nvals; i++) {
            size_t n;
            if (c->phys == PQT_BYTE_ARRAY) {
                if (end - p < 4)
                    goto short_data;
                n = (uint32_t)le_i32(p);
                p += 4;
            } else {
                n = (size_t)c->type_length;
            }
            if (n > (size_t)(end - p))
                goto short_data;
            if (strings) {
                dst->soff[dst->n] = dst->arena.len;
                dst->slen[dst->n] = (uint32_t)n;
                buf_append(&dst->arena, p, n);
                dst->n++;
            } else {
                int64_t v;
                if (be_to_i64(p, n, &v) != 0)
                    return hdp_fail(e, "parquet: column %s: decimal does not fit 64 bits",
                                    c->def.name);
                dst->iv[dst->n++] = v;
            }
            p += n;
        }
        return HDP_OK;
    default:
        return hdp_fail(e, "parquet: column %s: unsupported physical type", c->def.name);
    }
short_data:
    return hdp_fail(e, "parquet: column %s: page ends inside its values", c->def.name);
}

/* Spreads the `nvals` values just appended at the end of c->v over `n` rows by their
 * definition levels (NULL = all present), filling the valid flags. */
static void spread_nulls(pq_rcol *c, const uint8_t *defs, size_t n, size_t nvals)
{
    pq_vals *v = &c->v;
    size_t base = v->n - nvals; /* first row of this page */
    int strings = c->def.type == PQ_STRING;
    if (n == 0)
        return;
    if (defs == NULL) {
        memset(v->valid + base, 1, n);
        return;
    }
    /* walk backwards so values move only to higher slots */
    size_t src = v->n; /* one past the last non-null value */
    for (size_t i = n; i-- > 0;) {
        size_t dstpos = base + i;
        v->valid[dstpos] = defs[i];
        if (defs[i]) {
            src--;
            if (strings) {
                v->soff[dstpos] = v->soff[src];
                v->slen[dstpos] = v->slen[src];
            } else {
                v->iv[dstpos] = v->iv[src];
            }
        } else if (strings) {
            v->soff[dstpos] = 0;
            v->slen[dstpos] = 0;
        } else {
            v->iv[dstpos] = 0;
        }
    }
    v->n = base + n;
}

/* Appends dictionary entries idx[0..n) to c->v. Strings point into one copy of the
 * dictionary in c->v's arena, so memory stays bounded by the pages, whatever n is. */
static int take_dict(pq_reader *r, pq_rcol *c, size_t n, hdp_err *e)
{
    int strings = c->def.type == PQ_STRING;
    pq_vals *d = &c->dict, *v = &c->v;
    vals_reserve(v, n, strings);
    if (strings && !c->dict_copied) {
        c->dict_base = v->arena.len;
        buf_append(&v->arena, d->arena.data, d->arena.len);
        c->dict_copied = 1;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t k = r->idx[i];
        if (k >= d->n)
            return hdp_fail(e, "parquet: column %s: dictionary index %u out of range", c->def.name,
                            k);
        if (strings) {
            v->soff[v->n] = c->dict_base + d->soff[k];
            v->slen[v->n] = d->slen[k];
        } else {
            v->iv[v->n] = d->iv[k];
        }
        v->n++;
    }
    return HDP_OK;
}

static void levels_reserve(pq_reader *r, size_t n)
{
    if (n <= r->lvl_cap)
        return;
    r->defs = xrealloc(r->defs, n);
    r->idx = xrealloc(r->idx, n * sizeof(*r->idx));
    r->lvl_cap = n;
}

/* Decodes the values section of a data page (after the levels) for n rows of which
 * nvals are non-null, appending n rows to c->v. */
static int decode_values(pq_reader *r, pq_rcol *c, int encoding, const uint8_t *p, size_t len,
                         const uint8_t *defs, size_t n, size_t nvals, hdp_err *e)
{
    int strings = c->def.type == PQ_STRING;
    vals_reserve(&c->v, n, strings);
    if (encoding == PQE_PLAIN) {
        if (decode_plain(c, &c->v, p, len, nvals, e) != HDP_OK)
            return HDP_ERR;
    } else if (encoding == PQE_RLE_DICTIONARY || encoding == PQE_PLAIN_DICTIONARY) {
        if (!c->have_dict)
            return hdp_fail(e, "parquet: column %s: dictionary page missing", c->def.name);
        if (len < 1 && nvals > 0)
            return hdp_fail(e, "parquet: column %s: empty dictionary-encoded page", c->def.name);
        if (nvals > 0) {
            if (rle_decode_u32(p + 1, len - 1, p[0], r->idx, nvals, NULL, e) != HDP_OK) {
                hdp_err_prefix(e, "parquet: column %s: ", c->def.name);
                return HDP_ERR;
            }
            if (take_dict(r, c, nvals, e) != HDP_OK)
                return HDP_ERR;
        }
    } else if (encoding == PQE_RLE && c->phys == PQT_BOOLEAN) {
        /* booleans in v2 pages: 4-byte length, then the RLE hybrid at bit width 1 */
        size_t bl = len >= 4 ? (size_t)(uint32_t)le_i32(p) : SIZE_MAX;
        if (bl > len - 4)
            return hdp_fail(e, "parquet: column %s: bad RLE boolean length", c->def.name);
        if (rle_decode_u32(p + 4, bl, 1, r->idx, nvals, NULL, e) != HDP_OK) {
            hdp_err_prefix(e, "parquet: column %s: ", c->def.name);
            return HDP_ERR;
        }
        for (size_t i = 0; i < nvals; i++)
            c->v.iv[c->v.n++] = r->idx[i];
    } else {
        return hdp_fail(e, "parquet: column %s: unsupported encoding %d", c->def.name, encoding);
    }
    spread_nulls(c, defs, n, nvals);
    return HDP_OK;
}

/* Definition levels of n values as RLE hybrid at p[0..len); counts the non-nulls. */
static int decode_defs(pq_reader *r, pq_rcol *c, const uint8_t *p, size_t len, size_t n,
                       size_t *nvals, size_t *used, hdp_err *e)
{
    if (rle_decode_u32(p, len, 1, r->idx, n, used, e) != HDP_OK) {
        hdp_err_prefix(e, "parquet: column %s: definition levels: ", c->def.name);
        return HDP_ERR;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        r->defs[i] = (uint8_t)r->idx[i];
        k += r->idx[i];
    }
    *nvals = k;
    return HDP_OK;
}

/* ------------------------------------------------------------------ pages */

/* Decompresses a page body into r->page (exactly `ulen` bytes). */
static int inflate(pq_reader *r, int codec, const uint8_t *p, size_t n, size_t ulen, hdp_err *e)
{
    if (ulen > PQ_MAX_PAGE_BYTES)
        return hdp_fail(e, "parquet: page of %zu bytes is too large", ulen);
    buf_reset(&r->page);
    buf_reserve(&r->page, ulen);
    if (pq_decompress(&r->cctx, codec, p, n, r->page.data, ulen, e) != HDP_OK) {
        hdp_err_prefix(e, "parquet: ");
        return HDP_ERR;
    }
    r->page.len = ulen;
    return HDP_OK;
}

static int read_dict_page(pq_reader *r, pq_rcol *c, const pqm_column *m, const pqm_page_header *h,
                          const uint8_t *body, hdp_err *e)
{
    if (c->have_dict)
        return hdp_fail(e, "parquet: column %s: second dictionary page", c->def.name);
    if (h->encoding != PQE_PLAIN && h->encoding != PQE_PLAIN_DICTIONARY)
        return hdp_fail(e, "parquet: column %s: dictionary encoding %d", c->def.name, h->encoding);
    if (inflate(r, m->codec, body, (size_t)h->compressed_size, (size_t)h->uncompressed_size, e) !=
        HDP_OK)
        return HDP_ERR;
    if ((size_t)h->num_values > r->page.len * 8 + 8)
        return hdp_fail(e, "parquet: column %s: dictionary count too large", c->def.name);
    vals_clear(&c->dict);
    if (decode_plain(c, &c->dict, (const uint8_t *)r->page.data, r->page.len, (size_t)h->num_values,
                     e) != HDP_OK)
        return HDP_ERR;
    c->have_dict = 1;
    return HDP_OK;
}

static int read_data_page(pq_reader *r, pq_rcol *c, const pqm_column *m, const pqm_page_header *h,
                          const uint8_t *body, size_t remaining, hdp_err *e)
{
    size_t n = (size_t)h->num_values;
    if (n > remaining || n > PQ_MAX_PAGE_VALUES)
        return hdp_fail(e, "parquet: column %s: page has more values than the chunk", c->def.name);
    levels_reserve(r, n);
    const uint8_t *p, *defs = NULL;
    size_t len, nvals = n;
    if (h->type == PQP_DATA_PAGE) {
        if (inflate(r, m->codec, body, (size_t)h->compressed_size, (size_t)h->uncompressed_size,
                    e) != HDP_OK)
            return HDP_ERR;
        p = (const uint8_t *)r->page.data;
        len = r->page.len;
        if (c->max_def > 0) {
            if (h->def_encoding != PQE_RLE)
                return hdp_fail(e, "parquet: column %s: unsupported level encoding %d", c->def.name,
                                h->def_encoding);
            if (len < 4)
                return hdp_fail(e, "parquet: column %s: page too short", c->def.name);
            size_t dl = (size_t)(uint32_t)le_i32(p);
            if (dl > len - 4)
                return hdp_fail(e, "parquet: column %s: levels exceed the page", c->def.name);
            if (decode_defs(r, c, p + 4, dl, n, &nvals, NULL, e) != HDP_OK)
                return HDP_ERR;
            defs = r->defs;
            p += 4 + dl;
            len -= 4 + dl;
        }
    } else { /* v2: levels uncompressed in front, then the (maybe compressed) values */
        size_t dl = (size_t)h->def_len, rl = (size_t)h->rep_len;
        size_t cs = (size_t)h->compressed_size, us = (size_t)h->uncompressed_size;
        if (h->def_len < 0 || h->rep_len < 0 || dl + rl > cs || dl + rl > us)
            return hdp_fail(e, "parquet: column %s: bad v2 level lengths", c->def.name);
        if (rl != 0)
            return hdp_fail(e, "parquet: column %s: repetition levels in a flat column",
                            c->def.name);
        if (c->max_def > 0) {
            if (decode_defs(r, c, body, dl, n, &nvals, NULL, e) != HDP_OK)
                return HDP_ERR;
            defs = r->defs;
        }
        int codec = h->is_compressed ? m->codec : PQ_CODEC_NONE;
        if (inflate(r, codec, body + dl + rl, cs - dl - rl, us - dl - rl, e) != HDP_OK)
            return HDP_ERR;
        p = (const uint8_t *)r->page.data;
        len = r->page.len;
    }
    return decode_values(r, c, h->encoding, p, len, defs, n, nvals, e);
}

/* Decodes column chunk m of a row group with `rows` rows into c->v. */
static int read_chunk(pq_reader *r, pq_rcol *c, const pqm_column *m, size_t rows, hdp_err *e)
{
    vals_clear(&c->v);
    vals_clear(&c->dict);
    c->have_dict = c->dict_copied = 0;
    if (m->num_values != (int64_t)rows)
        return hdp_fail(e, "parquet: column %s: %lld values in a row group of %zu rows",
                        c->def.name, (long long)m->num_values, rows);
    int64_t start = m->data_page_offset;
    if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 &&
        m->dictionary_page_offset < start)
        start = m->dictionary_page_offset;
    if (start < 4 || m->total_compressed_size < 0 || (uint64_t)start > r->footer_start ||
        (uint64_t)m->total_compressed_size > r->footer_start - (uint64_t)start)
        return hdp_fail(e, "parquet: column %s: chunk lies outside the file", c->def.name);
    size_t pos = (size_t)start, end = pos + (size_t)m->total_compressed_size;
    size_t remaining = rows;
    while (remaining > 0) {
        pqm_page_header h;
        size_t used;
        if (pos >= end)
            return hdp_fail(e, "parquet: column %s: chunk ends after %zu of %zu values",
                            c->def.name, rows - remaining, rows);
        if (pqm_page_header_decode(r->data + pos, end - pos, &h, &used, e) != HDP_OK) {
            hdp_err_prefix(e, "parquet: column %s: ", c->def.name);
            return HDP_ERR;
        }
        pos += used;
        if ((size_t)h.compressed_size > end - pos)
            return hdp_fail(e, "parquet: column %s: page exceeds the chunk", c->def.name);
        const uint8_t *body = r->data + pos;
        pos += (size_t)h.compressed_size;
        int rc = HDP_OK;
        if (h.type == PQP_DICTIONARY_PAGE) {
            rc = read_dict_page(r, c, m, &h, body, e);
        } else if (h.type == PQP_DATA_PAGE || h.type == PQP_DATA_PAGE_V2) {
            rc = read_data_page(r, c, m, &h, body, remaining, e);
            remaining -= (size_t)h.num_values;
        }
        if (rc != HDP_OK)
            return HDP_ERR;
    }
    return HDP_OK;
}

int pq_reader_load(pq_reader *r, size_t rg, size_t *nrows, hdp_err *e)
{
    if (rg >= r->meta.nrow_groups)
        return hdp_fail(e, "parquet: no row group %zu", rg);
    const pqm_row_group *g = &r->meta.row_groups[rg];
    size_t rows = (size_t)g->num_rows;
    if (rows > PQ_MAX_RG_ROWS || rows * r->ncols > PQ_MAX_RG_VALUES)
        return hdp_fail(e,
                        "parquet: row group %zu has %zu rows of %zu columns; this reader loads at "
                        "most %zu rows and %zu values per row group",
                        rg, rows, r->ncols, PQ_MAX_RG_ROWS, PQ_MAX_RG_VALUES);
    for (size_t i = 0; i < r->ncols; i++) {
        if (read_chunk(r, &r->cols[i], &g->columns[i], rows, e) != HDP_OK) {
            for (size_t j = 0; j < r->ncols; j++)
                vals_clear(&r->cols[j].v);
            return HDP_ERR;
        }
    }
    *nrows = rows;
    return HDP_OK;
}

int pq_is_null(const pq_reader *r, size_t col, size_t row)
{
    return !r->cols[col].v.valid[row];
}

int64_t pq_get_i64(const pq_reader *r, size_t col, size_t row)
{
    const pq_vals *v = &r->cols[col].v;
    return v->iv ? v->iv[row] : 0;
}

const char *pq_get_str(const pq_reader *r, size_t col, size_t row, size_t *len)
{
    const pq_vals *v = &r->cols[col].v;
    if (v->soff == NULL) {
        *len = 0;
        return "";
    }
    *len = v->slen[row];
    return v->arena.data ? v->arena.data + v->soff[row] : "";
}

/* ------------------------------------------------------------------ statistics */

static int stat_value(const pq_rcol *c, pqm_bytes b, int64_t *out, hdp_err *e)
{
    int64_t v;
    switch (c->phys) {
    case PQT_BOOLEAN:
        if (b.n < 1)
            return hdp_fail(e, "parquet: bad statistics");
        *out = b.p[0] & 1;
        return HDP_OK;
    case PQT_INT32:
        if (b.n != 4)
            return hdp_fail(e, "parquet: bad statistics");
        *out = le_i32(b.p);
        return HDP_OK;
    case PQT_INT64:
        if (b.n != 8)
            return hdp_fail(e, "parquet: bad statistics");
        v = le_i64(b.p);
        if (c->def.type == PQ_TIMESTAMP_US)
            return ts_convert(c, v, out, e);
        *out = v;
        return HDP_OK;
    default:
        if (be_to_i64(b.p, b.n, out) != 0)
            return hdp_fail(e, "parquet: decimal statistics do not fit 64 bits");
        return HDP_OK;
    }
}

int pq_reader_stats(const pq_reader *r, size_t rg, size_t col, pq_stats *out, hdp_err *e)
{
    memset(out, 0, sizeof(*out));
    if (rg >= r->meta.nrow_groups || col >= r->ncols)
        return hdp_fail(e, "parquet: no row group %zu column %zu", rg, col);
    const pqm_column *m = &r->meta.row_groups[rg].columns[col];
    const pq_rcol *c = &r->cols[col];
    if (!m->has_stats)
        return HDP_OK;
    out->has_null_count = m->stats.has_null_count;
    out->null_count = m->stats.null_count;
    pqm_bytes mn = m->stats.min_value, mx = m->stats.max_value;
    if (!mn.p || !mx.p) {
        /* deprecated fields: signed order, trustworthy for numbers only */
        if (c->def.type == PQ_STRING || c->phys == PQT_BYTE_ARRAY ||
            c->phys == PQT_FIXED_LEN_BYTE_ARRAY)
            return HDP_OK;
        mn = m->stats.min;
        mx = m->stats.max;
        if (!mn.p || !mx.p)
            return HDP_OK;
    }
    if (c->def.type == PQ_STRING) {
        out->min_s = (const char *)mn.p;
        out->min_n = mn.n;
        out->max_s = (const char *)mx.p;
        out->max_n = mx.n;
    } else if (stat_value(c, mn, &out->min_i, e) != HDP_OK ||
               stat_value(c, mx, &out->max_i, e) != HDP_OK) {
        return HDP_ERR;
    }
    out->has_min_max = 1;
    return HDP_OK;
}
