/* fuzz_parquet — the Parquet reader: footer, schema mapping, page headers, dictionary and
 * data pages (v1 and v2, PLAIN / dictionary / RLE, uncompressed, Snappy, Zstandard),
 * definition levels, statistics.
 *
 * The input is a whole file, read from memory. Every column of every row group is loaded
 * and every value read. Invariant: whatever the reader accepts, hdp's writer can write again
 * (when the schema is one it writes: unique names, DECIMAL precision <= 18), and reading
 * that file gives the same columns and the same values, row for row. */
#include "fuzz.h"

#include "core/buf.h"
#include "format/parquet_reader.h"
#include "format/parquet_writer.h"

#define MAX_ROWS_KEPT  100000     /* rows compared in the round trip; more are only read */
#define MAX_BYTES_KEPT (16 << 20) /* string bytes kept for it */

typedef struct cell {
    int null;
    int64_t i;
    size_t off, n; /* strings: bytes at off in the arena */
} cell;

static const char *at(const hdp_buf *b, size_t off)
{
    return b->data ? b->data + off : "";
}

static int sink(void *ctx, const void *p, size_t n, hdp_err *e)
{
    (void)e;
    buf_append(ctx, p, n);
    return HDP_OK;
}

static int write_cell(pq_writer *w, const pq_column_def *d, size_t c, const cell *v, const char *s,
                      hdp_err *e)
{
    if (v->null)
        return pq_write_null(w, c, e);
    switch (d->type) {
    case PQ_BOOLEAN:
        return pq_write_bool(w, c, (int)v->i, e);
    case PQ_INT32:
        return pq_write_i32(w, c, (int32_t)v->i, e);
    case PQ_STRING:
        return pq_write_str(w, c, s, v->n, e);
    default:
        return pq_write_i64(w, c, v->i, e);
    }
}

/* Reads every row group of r; keeps copies of up to MAX_ROWS_KEPT rows in *cells (row-major,
 * string bytes in *arena). Returns the number of rows kept, or -1 on a read error. */
static long read_all(pq_reader *r, cell **cells, hdp_buf *arena, size_t *total)
{
    size_t ncols = pq_reader_ncols(r), kept = 0, cap = 0;
    *total = 0;
    for (size_t g = 0; g < pq_reader_num_row_groups(r); g++) {
        hdp_err e;
        size_t rows = 0;
        pq_stats st;
        for (size_t c = 0; c < ncols; c++)
            if (pq_reader_stats(r, g, c, &st, &e) == HDP_OK && st.has_min_max &&
                pq_reader_column(r, c)->type == PQ_STRING)
                FUZZ_CHECK(st.min_s != NULL && st.max_s != NULL);
        if (pq_reader_load(r, g, &rows, &e) != HDP_OK)
            return -1;
        *total += rows;
        for (size_t row = 0; row < rows; row++) {
            int keep =
                kept == row + *total - rows && kept < MAX_ROWS_KEPT && arena->len < MAX_BYTES_KEPT;
            if (keep && kept == cap) {
                cap = cap ? cap * 2 : 64;
                *cells = realloc(*cells, cap * ncols * sizeof(cell));
                FUZZ_CHECK(*cells != NULL);
            }
            for (size_t c = 0; c < ncols; c++) {
                const pq_column_def *d = pq_reader_column(r, c);
                cell v = {pq_is_null(r, c, row), 0, arena->len, 0};
                if (d->type == PQ_STRING) {
                    const char *s = pq_get_str(r, c, row, &v.n);
                    FUZZ_CHECK(s != NULL);
                    if (keep)
                        buf_append(arena, s, v.n);
                } else {
                    v.i = pq_get_i64(r, c, row);
                    if (d->type == PQ_BOOLEAN)
                        FUZZ_CHECK(v.i == 0 || v.i == 1);
                    if (d->type == PQ_INT32)
                        FUZZ_CHECK(v.i >= INT32_MIN && v.i <= INT32_MAX);
                }
                if (v.null)
                    FUZZ_CHECK(v.i == 0 && v.n == 0);
                if (keep)
                    (*cells)[kept * ncols + c] = v;
            }
            kept += keep;
        }
    }
    return (long)kept;
}

static int writable(const pq_reader *r)
{
    size_t n = pq_reader_ncols(r);
    for (size_t c = 0; c < n; c++) {
        const pq_column_def *d = pq_reader_column(r, c);
        if (d->name[0] == '\0')
            return 0;
        if (d->type == PQ_DECIMAL && (d->precision > 18 || d->scale > d->precision))
            return 0;
        for (size_t k = 0; k < c; k++)
            if (strcmp(pq_reader_column(r, k)->name, d->name) == 0)
                return 0;
    }
    return 1;
}

static void round_trip(const pq_reader *r, const cell *cells, const hdp_buf *strs, size_t rows)
{
    size_t ncols = pq_reader_ncols(r);
    pq_column_def *defs = calloc(ncols, sizeof(*defs));
    for (size_t c = 0; c < ncols; c++)
        defs[c] = *pq_reader_column(r, c);
    hdp_buf file = HDP_BUF_INIT;
    hdp_err e;
    pq_writer_opts o = {PQ_CODEC_NONE, 0, 1000, 4096, 1024};
    pq_writer *w = pq_writer_open_sink(sink, &file, defs, ncols, &o, &e);
    FUZZ_CHECK(w != NULL);
    for (size_t row = 0; row < rows; row++) {
        for (size_t c = 0; c < ncols; c++)
            FUZZ_CHECK(write_cell(w, &defs[c], c, &cells[row * ncols + c],
                                  at(strs, cells[row * ncols + c].off), &e) == HDP_OK);
        FUZZ_CHECK(pq_end_row(w, &e) == HDP_OK);
    }
    FUZZ_CHECK(pq_writer_close(w, &e) == HDP_OK);

    pq_reader *back = pq_reader_open_mem(file.data, file.len, &e);
    FUZZ_CHECK(back != NULL && pq_reader_ncols(back) == ncols);
    for (size_t c = 0; c < ncols; c++) {
        const pq_column_def *a = &defs[c], *b = pq_reader_column(back, c);
        FUZZ_CHECK(strcmp(a->name, b->name) == 0 && a->type == b->type);
        if (a->type == PQ_DECIMAL)
            FUZZ_CHECK(a->precision == b->precision && a->scale == b->scale);
    }
    cell *again = NULL;
    hdp_buf arena = HDP_BUF_INIT;
    size_t total;
    FUZZ_CHECK(read_all(back, &again, &arena, &total) == (long)rows && total == rows);
    for (size_t k = 0; k < rows * ncols; k++) {
        const cell *x = &cells[k], *y = &again[k];
        FUZZ_CHECK(x->null == y->null && x->i == y->i && x->n == y->n);
        FUZZ_CHECK(x->n == 0 || memcmp(at(strs, x->off), at(&arena, y->off), x->n) == 0);
    }
    free(again);
    buf_free(&arena);
    pq_reader_free(back);
    buf_free(&file);
    free(defs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hdp_err e;
    pq_reader *r = pq_reader_open_mem(data, size, &e);
    if (r == NULL) {
        FUZZ_CHECK(e.msg[0] != '\0');
        return 0;
    }
    size_t ncols = pq_reader_ncols(r);
    FUZZ_CHECK(ncols > 0 && pq_reader_column(r, ncols) == NULL);
    for (size_t c = 0; c < ncols; c++)
        FUZZ_CHECK(pq_reader_find_column(r, pq_reader_column(r, c)->name) <= (long)c);
    FUZZ_CHECK(pq_reader_created_by(r) != NULL);
    cell *cells = NULL;
    hdp_buf arena = HDP_BUF_INIT;
    size_t total = 0;
    long kept = read_all(r, &cells, &arena, &total);
    if (kept >= 0 && (size_t)kept == total && writable(r))
        round_trip(r, cells, &arena, (size_t)kept);
    free(cells);
    buf_free(&arena);
    pq_reader_free(r);
    return 0;
}
