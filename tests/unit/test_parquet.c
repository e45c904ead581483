/* Parquet writer -> reader round trips, RLE hybrid cases, writer misuse and corrupt files. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/buf.h"
#include "format/parquet_meta.h"
#include "format/parquet_reader.h"
#include "format/parquet_writer.h"
#include "format/rle.h"

/* ------------------------------------------------------------------ helpers */

static int mem_sink(void *ctx, const void *p, size_t n, hdp_err *e)
{
    (void)e;
    buf_append(ctx, p, n);
    return HDP_OK;
}

static int failing_sink(void *ctx, const void *p, size_t n, hdp_err *e)
{
    (void)ctx;
    (void)p;
    (void)n;
    return hdp_fail(e, "disk full");
}

enum { C_ID, C_AMOUNT, C_TS, C_NAME, C_FLAG, C_QTY, NCOLS };

static const pq_column_def COLS[NCOLS] = {
    {"id", PQ_INT64, 0, 0},    {"amount", PQ_DECIMAL, 12, 2}, {"ts", PQ_TIMESTAMP_US, 0, 0},
    {"name", PQ_STRING, 0, 0}, {"flag", PQ_BOOLEAN, 0, 0},    {"qty", PQ_INT32, 0, 0},
};

static const char *NAMES[] = {"", "Zürich", "東京", "a\"b\\c", "Berlin", "😀 emoji", "x"};
#define NNAMES (sizeof(NAMES) / sizeof(NAMES[0]))

/* Expected content of row i of the generated table (distinct: every name unique). */
static int is_null(size_t i, int col)
{
    return (i * 7 + (size_t)col * 3) % 11 == 0;
}
static int64_t exp_amount(size_t i)
{
    return (int64_t)(i * 104729 % 2000003) - 1000000; /* negative and positive cents */
}
static int64_t exp_ts(size_t i)
{
    if (i % 97 == 1)
        return INT64_MIN;
    if (i % 97 == 2)
        return INT64_MAX;
    return 1700000000000000 + (int64_t)i * 1000003;
}
static void exp_name(size_t i, int distinct, char *out, size_t cap)
{
    if (distinct)
        snprintf(out, cap, "%s-%zu", NAMES[i % NNAMES], i);
    else
        snprintf(out, cap, "%s", NAMES[i % NNAMES]);
}

static void write_table(hdp_buf *out, const pq_writer_opts *o, size_t rows, int distinct)
{
    hdp_err e = {{0}};
    pq_writer *w = pq_writer_open_sink(mem_sink, out, COLS, NCOLS, o, &e);
    assert_non_null(w);
    char name[64];
    for (size_t i = 0; i < rows; i++) {
        if (!is_null(i, C_ID))
            assert_int_equal(pq_write_i64(w, C_ID, (int64_t)i, &e), HDP_OK);
        if (!is_null(i, C_AMOUNT))
            assert_int_equal(pq_write_i64(w, C_AMOUNT, exp_amount(i), &e), HDP_OK);
        else
            assert_int_equal(pq_write_null(w, C_AMOUNT, &e), HDP_OK);
        if (!is_null(i, C_TS))
            assert_int_equal(pq_write_i64(w, C_TS, exp_ts(i), &e), HDP_OK);
        if (!is_null(i, C_NAME)) {
            exp_name(i, distinct, name, sizeof(name));
            assert_int_equal(pq_write_str(w, C_NAME, name, strlen(name), &e), HDP_OK);
        }
        if (!is_null(i, C_FLAG))
            assert_int_equal(pq_write_bool(w, C_FLAG, i % 3 == 0, &e), HDP_OK);
        if (!is_null(i, C_QTY))
            assert_int_equal(pq_write_i32(w, C_QTY, (int32_t)(i % 5 ? i : -i), &e), HDP_OK);
        assert_int_equal(pq_end_row(w, &e), HDP_OK);
    }
    assert_int_equal(pq_writer_rows(w), (int64_t)rows);
    assert_int_equal(pq_writer_close(w, &e), HDP_OK);
}

/* Reads the table back and checks every value and the statistics of every row group. */
static void check_table(const hdp_buf *file, size_t rows, size_t rg_rows, int distinct)
{
    hdp_err e = {{0}};
    pq_reader *r = pq_reader_open_mem(file->data, file->len, &e);
    if (r == NULL)
        fail_msg("open: %s", e.msg);
    assert_int_equal(pq_reader_ncols(r), NCOLS);
    for (int c = 0; c < NCOLS; c++) {
        const pq_column_def *d = pq_reader_column(r, (size_t)c);
        assert_string_equal(d->name, COLS[c].name);
        assert_int_equal(d->type, COLS[c].type);
    }
    assert_int_equal(pq_reader_find_column(r, "flag"), C_FLAG);
    assert_int_equal(pq_reader_find_column(r, "nope"), -1);
    assert_null(pq_reader_column(r, NCOLS));
    assert_int_equal(pq_reader_column(r, C_AMOUNT)->precision, 12);
    assert_int_equal(pq_reader_column(r, C_AMOUNT)->scale, 2);
    assert_string_equal(pq_reader_created_by(r), "hdp version 0.1");
    assert_int_equal(pq_reader_num_rows(r), (int64_t)rows);
    assert_int_equal(pq_reader_num_row_groups(r), (rows + rg_rows - 1) / rg_rows);
    size_t row = 0;
    char name[64];
    for (size_t g = 0; g < pq_reader_num_row_groups(r); g++) {
        size_t n;
        if (pq_reader_load(r, g, &n, &e) != HDP_OK)
            fail_msg("load: %s", e.msg);
        int64_t amin = INT64_MAX, amax = INT64_MIN, anulls = 0;
        for (size_t k = 0; k < n; k++, row++) {
            for (int c = 0; c < NCOLS; c++)
                assert_int_equal(pq_is_null(r, (size_t)c, k), is_null(row, c));
            if (!is_null(row, C_ID))
                assert_int_equal(pq_get_i64(r, C_ID, k), (int64_t)row);
            if (!is_null(row, C_AMOUNT)) {
                assert_int_equal(pq_get_i64(r, C_AMOUNT, k), exp_amount(row));
                amin = exp_amount(row) < amin ? exp_amount(row) : amin;
                amax = exp_amount(row) > amax ? exp_amount(row) : amax;
            } else {
                anulls++;
            }
            if (!is_null(row, C_TS))
                assert_true(pq_get_i64(r, C_TS, k) == exp_ts(row));
            if (!is_null(row, C_NAME)) {
                size_t len;
                const char *s = pq_get_str(r, C_NAME, k, &len);
                exp_name(row, distinct, name, sizeof(name));
                assert_int_equal(len, strlen(name));
                assert_memory_equal(s, name, len);
            }
            if (!is_null(row, C_FLAG))
                assert_int_equal(pq_get_i64(r, C_FLAG, k), row % 3 == 0);
            if (!is_null(row, C_QTY))
                assert_int_equal(pq_get_i64(r, C_QTY, k), (int64_t)(row % 5 ? row : -row));
        }
        pq_stats s;
        assert_int_equal(pq_reader_stats(r, g, C_AMOUNT, &s, &e), HDP_OK);
        assert_true(s.has_min_max && s.has_null_count);
        assert_int_equal(s.min_i, amin);
        assert_int_equal(s.max_i, amax);
        assert_int_equal(s.null_count, anulls);
    }
    assert_int_equal(row, rows);
    pq_reader_free(r);
}

/* ------------------------------------------------------------------ round trips */

static void roundtrip(pq_codec codec)
{
    pq_writer_opts o = pq_writer_opts_default();
    o.codec = codec;
    o.row_group_rows = 300;
    hdp_buf f = HDP_BUF_INIT;
    write_table(&f, &o, 1000, 0);
    check_table(&f, 1000, 300, 0);
    buf_free(&f);
}

static void test_roundtrip_none(void **state)
{
    (void)state;
    roundtrip(PQ_CODEC_NONE);
}

static void test_roundtrip_snappy(void **state)
{
    (void)state;
    roundtrip(PQ_CODEC_SNAPPY);
}

static void test_roundtrip_zstd(void **state)
{
    (void)state;
    roundtrip(PQ_CODEC_ZSTD);
}

/* Small pages: many pages per chunk, including pages of only NULLs. */
static void test_small_pages(void **state)
{
    (void)state;
    pq_writer_opts o = pq_writer_opts_default();
    o.page_bytes = 64;
    o.row_group_rows = 500;
    hdp_buf f = HDP_BUF_INIT;
    write_table(&f, &o, 1200, 1);
    check_table(&f, 1200, 500, 1);
    buf_free(&f);
}

static void test_string_stats_unsigned(void **state)
{
    (void)state;
    /* bytewise unsigned order: "" < "Z" < "a" < "é" (0xC3...) */
    pq_column_def col = {"s", PQ_STRING, 0, 0};
    const char *vals[] = {"a", "é", "", "Z"};
    hdp_buf f = HDP_BUF_INIT;
    hdp_err e = {{0}};
    for (int dict = 0; dict < 2; dict++) {
        pq_writer_opts o = pq_writer_opts_default();
        o.dict_max_bytes = dict ? 0 : 1; /* 1 byte: PLAIN from the first value */
        buf_reset(&f);
        pq_writer *w = pq_writer_open_sink(mem_sink, &f, &col, 1, &o, &e);
        assert_non_null(w);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(pq_write_str(w, 0, vals[i], strlen(vals[i]), &e), HDP_OK);
            assert_int_equal(pq_end_row(w, &e), HDP_OK);
        }
        assert_int_equal(pq_end_row(w, &e), HDP_OK); /* a NULL row */
        assert_int_equal(pq_writer_close(w, &e), HDP_OK);
        pq_reader *r = pq_reader_open_mem(f.data, f.len, &e);
        assert_non_null(r);
        pq_stats s;
        assert_int_equal(pq_reader_stats(r, 0, 0, &s, &e), HDP_OK);
        assert_true(s.has_min_max);
        assert_int_equal(s.min_n, 0);
        assert_int_equal(s.max_n, strlen("é"));
        assert_memory_equal(s.max_s, "é", s.max_n);
        assert_int_equal(s.null_count, 1);
        pq_reader_free(r);
    }
    /* a string bound longer than 4 KiB: no min/max, but the null count stays */
    char *big = malloc(5000);
    memset(big, 'x', 5000);
    buf_reset(&f);
    pq_writer *w = pq_writer_open_sink(mem_sink, &f, &col, 1, NULL, &e);
    assert_int_equal(pq_write_str(w, 0, big, 5000, &e), HDP_OK);
    assert_int_equal(pq_end_row(w, &e), HDP_OK);
    assert_int_equal(pq_write_str(w, 0, NULL, 0, &e), HDP_OK); /* NULL pointer, empty */
    assert_int_equal(pq_end_row(w, &e), HDP_OK);
    assert_int_equal(pq_writer_close(w, &e), HDP_OK);
    pq_reader *r = pq_reader_open_mem(f.data, f.len, &e);
    pq_stats s;
    size_t rows, len;
    assert_int_equal(pq_reader_stats(r, 0, 0, &s, &e), HDP_OK);
    assert_false(s.has_min_max);
    assert_true(s.has_null_count);
    assert_int_equal(pq_reader_load(r, 0, &rows, &e), HDP_OK);
    assert_int_equal(rows, 2);
    assert_memory_equal(pq_get_str(r, 0, 0, &len), big, 5000);
    assert_int_equal(len, 5000);
    (void)pq_get_str(r, 0, 1, &len);
    assert_int_equal(len, 0);
    assert_false(pq_is_null(r, 0, 1));
    pq_reader_free(r);
    free(big);
    buf_free(&f);
}

/* Finds the footer of an in-memory file and decodes it. */
static void footer_of(const hdp_buf *f, pqm_file *m)
{
    hdp_err e;
    const uint8_t *p = (const uint8_t *)f->data;
    uint32_t len = (uint32_t)p[f->len - 8] | (uint32_t)p[f->len - 7] << 8 |
                   (uint32_t)p[f->len - 6] << 16 | (uint32_t)p[f->len - 5] << 24;
    assert_int_equal(pqm_file_decode(p + f->len - 8 - len, len, m, &e), HDP_OK);
}

static int has_encoding(const pqm_column *c, int enc)
{
    for (uint32_t i = 0; i < c->nencodings; i++)
        if (c->encodings[i] == enc)
            return 1;
    return 0;
}

static void test_dictionary_fallback(void **state)
{
    (void)state;
    pq_writer_opts o = pq_writer_opts_default();
    o.row_group_rows = 2000;
    o.page_bytes = 4096;
    o.dict_max_bytes = 8192; /* ~500 distinct names fit, 2000 do not */
    hdp_buf f = HDP_BUF_INIT;
    write_table(&f, &o, 5000, 1);
    check_table(&f, 5000, 2000, 1);
    pqm_file m;
    footer_of(&f, &m);
    assert_int_equal(m.nrow_groups, 3);
    /* first chunk: dictionary pages, then PLAIN after the fallback */
    const pqm_column *c0 = &m.row_groups[0].columns[C_NAME];
    assert_true(c0->has_dictionary_page_offset);
    assert_true(has_encoding(c0, PQE_RLE_DICTIONARY));
    assert_true(has_encoding(c0, PQE_PLAIN));
    /* the fallback sticks: later chunks are PLAIN only */
    const pqm_column *c2 = &m.row_groups[2].columns[C_NAME];
    assert_false(c2->has_dictionary_page_offset);
    assert_false(has_encoding(c2, PQE_RLE_DICTIONARY));
    pqm_file_free(&m);

    /* few distinct values stay dictionary-encoded in every row group */
    buf_reset(&f);
    write_table(&f, &o, 5000, 0);
    footer_of(&f, &m);
    for (uint32_t g = 0; g < m.nrow_groups; g++)
        assert_true(m.row_groups[g].columns[C_NAME].has_dictionary_page_offset);
    pqm_file_free(&m);
    buf_free(&f);
}

/* Integers of few distinct values are dictionary-encoded (line numbers, quantities, product
 * ids: the compaction output was 1.054x DuckDB's size without it); a column of many distinct
 * values writes no dictionary; one that outgrows its dictionary after dictionary pages goes
 * PLAIN after them. Every value and the statistics survive each path. */
static int64_t int_value(int col, size_t i)
{
    switch (col) {
    case 0:
        return (int64_t)(i % 7) - 3; /* few, negative too */
    case 1:
        return (int64_t)(i * 2654435761u); /* all distinct */
    case 2:
        return i < 30000 ? (int64_t)(i % 5) : (int64_t)i; /* few, then many */
    default:
        return (int64_t)(i % 500) * 100; /* a product id, INT32 */
    }
}

static void test_integer_dictionaries(void **state)
{
    (void)state;
    static const pq_column_def cols[] = {
        {"few", PQ_INT64, 0, 0},
        {"many", PQ_DECIMAL, 12, 2},
        {"grows", PQ_TIMESTAMP_US, 0, 0},
        {"product", PQ_INT32, 0, 0},
    };
    const size_t rows = 60000;
    pq_writer_opts o = pq_writer_opts_default();
    o.row_group_rows = 50000;
    o.page_bytes = 32768; /* ~29,000 indices a page: "grows" overflows in its second page,
                           * "many" in its first */
    hdp_buf f = HDP_BUF_INIT;
    hdp_err e = {{0}};
    pq_writer *w = pq_writer_open_sink(mem_sink, &f, cols, 4, &o, &e);
    assert_non_null(w);
    for (size_t i = 0; i < rows; i++) {
        for (int c = 0; c < 4; c++) {
            if (i % 11 == 3 && c == 0)
                continue; /* some NULLs */
            int rc = c == 3 ? pq_write_i32(w, 3, (int32_t)int_value(3, i), &e)
                            : pq_write_i64(w, (size_t)c, int_value(c, i), &e);
            assert_int_equal(rc, HDP_OK);
        }
        assert_int_equal(pq_end_row(w, &e), HDP_OK);
    }
    assert_int_equal(pq_writer_close(w, &e), HDP_OK);

    pqm_file m;
    footer_of(&f, &m);
    assert_int_equal(m.nrow_groups, 2);
    for (uint32_t g = 0; g < 2; g++) {
        assert_true(m.row_groups[g].columns[0].has_dictionary_page_offset);
        assert_true(m.row_groups[g].columns[3].has_dictionary_page_offset);
        assert_false(has_encoding(&m.row_groups[g].columns[3], PQE_PLAIN) &&
                     !has_encoding(&m.row_groups[g].columns[3], PQE_RLE_DICTIONARY));
        assert_false(m.row_groups[g].columns[1].has_dictionary_page_offset);
        assert_false(has_encoding(&m.row_groups[g].columns[1], PQE_RLE_DICTIONARY));
    }
    const pqm_column *grows = &m.row_groups[0].columns[2];
    assert_true(grows->has_dictionary_page_offset);
    assert_true(has_encoding(grows, PQE_RLE_DICTIONARY));
    assert_false(m.row_groups[1].columns[2].has_dictionary_page_offset); /* it sticks */
    /* a dictionary of 7 values: the chunk is a small fraction of 8 bytes a value */
    assert_true(m.row_groups[0].columns[0].total_uncompressed_size < 40000 * 2);
    pqm_file_free(&m);

    pq_reader *r = pq_reader_open_mem(f.data, f.len, &e);
    if (r == NULL)
        fail_msg("open: %s", e.msg);
    size_t row = 0;
    for (size_t g = 0; g < pq_reader_num_row_groups(r); g++) {
        size_t n;
        if (pq_reader_load(r, g, &n, &e) != HDP_OK)
            fail_msg("load: %s", e.msg);
        int64_t mn[4] = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
        int64_t mx[4] = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
        for (size_t k = 0; k < n; k++, row++) {
            for (int c = 0; c < 4; c++) {
                if (c == 0 && row % 11 == 3) {
                    assert_true(pq_is_null(r, 0, k));
                    continue;
                }
                assert_false(pq_is_null(r, (size_t)c, k));
                int64_t v = c == 3 ? (int32_t)int_value(3, row) : int_value(c, row);
                assert_true(pq_get_i64(r, (size_t)c, k) == v);
                mn[c] = v < mn[c] ? v : mn[c];
                mx[c] = v > mx[c] ? v : mx[c];
            }
        }
        for (int c = 0; c < 4; c++) {
            pq_stats st;
            assert_int_equal(pq_reader_stats(r, g, (size_t)c, &st, &e), HDP_OK);
            assert_true(st.has_min_max);
            assert_true(st.min_i == mn[c] && st.max_i == mx[c]);
        }
    }
    assert_int_equal(row, rows);
    pq_reader_free(r);
    buf_free(&f);
}

static void test_file_path_and_streaming(void **state)
{
    (void)state;
    char path[] = "/tmp/hdp_test_pq_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    hdp_err e = {{0}};
    pq_writer_opts o = pq_writer_opts_default();
    o.row_group_rows = 10;
    pq_writer *w = pq_writer_open(path, COLS, NCOLS, &o, &e);
    assert_non_null(w);
    for (int i = 0; i < 25; i++) {
        assert_int_equal(pq_write_i64(w, C_ID, i, &e), HDP_OK);
        assert_int_equal(pq_end_row(w, &e), HDP_OK);
        if (i == 10) {
            /* the first row group reached the file before close */
            FILE *fp = fopen(path, "rb");
            fseek(fp, 0, SEEK_END);
            assert_true(ftell(fp) > 100);
            fclose(fp);
        }
    }
    assert_int_equal(pq_writer_close(w, &e), HDP_OK);
    pq_reader *r = pq_reader_open(path, &e);
    assert_non_null(r);
    assert_int_equal(pq_reader_num_row_groups(r), 3);
    size_t n;
    assert_int_equal(pq_reader_load(r, 2, &n, &e), HDP_OK);
    assert_int_equal(n, 5);
    assert_int_equal(pq_get_i64(r, C_ID, 4), 24);
    assert_true(pq_is_null(r, C_NAME, 4));
    assert_int_equal(pq_reader_load(r, 3, &n, &e), HDP_ERR);
    pq_reader_free(r);
    unlink(path);
    assert_null(pq_reader_open(path, &e));
    assert_non_null(strstr(e.msg, path));
}

static void test_writer_misuse(void **state)
{
    (void)state;
    hdp_buf f = HDP_BUF_INIT;
    hdp_err e = {{0}};
    pq_column_def bad_dec = {"d", PQ_DECIMAL, 19, 2};
    assert_null(pq_writer_open_sink(mem_sink, &f, &bad_dec, 1, NULL, &e));
    assert_non_null(strstr(e.msg, "DECIMAL(19,2)"));
    pq_column_def dup[2] = {{"a", PQ_INT64, 0, 0}, {"a", PQ_STRING, 0, 0}};
    assert_null(pq_writer_open_sink(mem_sink, &f, dup, 2, NULL, &e));
    assert_non_null(strstr(e.msg, "duplicate"));
    assert_null(pq_writer_open_sink(mem_sink, &f, dup, 0, NULL, &e));

    pq_writer *w = pq_writer_open_sink(mem_sink, &f, COLS, NCOLS, NULL, &e);
    assert_int_equal(pq_write_str(w, C_ID, "x", 1, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "wrong type"));
    pq_writer_free(w);

    w = pq_writer_open_sink(mem_sink, &f, COLS, NCOLS, NULL, &e);
    assert_int_equal(pq_write_i64(w, C_ID, 1, &e), HDP_OK);
    assert_int_equal(pq_write_i64(w, C_ID, 2, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "twice"));
    assert_int_equal(pq_end_row(w, &e), HDP_ERR);
    assert_int_equal(pq_writer_close(w, &e), HDP_ERR); /* frees */

    w = pq_writer_open_sink(mem_sink, &f, COLS, NCOLS, NULL, &e);
    assert_int_equal(pq_write_i64(w, 99, 1, &e), HDP_ERR);
    pq_writer_free(w);
    pq_writer_free(NULL);
    pq_reader_free(NULL);

    /* sink failures surface as errors */
    assert_null(pq_writer_open_sink(failing_sink, NULL, COLS, NCOLS, NULL, &e));
    assert_non_null(strstr(e.msg, "disk full"));
    buf_free(&f);
}

/* An empty table is a valid file with no row groups. */
static void test_empty_file(void **state)
{
    (void)state;
    hdp_buf f = HDP_BUF_INIT;
    hdp_err e = {{0}};
    pq_writer *w = pq_writer_open_sink(mem_sink, &f, COLS, NCOLS, NULL, &e);
    assert_int_equal(pq_writer_close(w, &e), HDP_OK);
    pq_reader *r = pq_reader_open_mem(f.data, f.len, &e);
    assert_non_null(r);
    assert_int_equal(pq_reader_num_rows(r), 0);
    assert_int_equal(pq_reader_num_row_groups(r), 0);
    pq_reader_free(r);
    buf_free(&f);
}

/* ------------------------------------------------------------------ RLE hybrid */

static void rle_roundtrip(const uint32_t *v, size_t n, int bw)
{
    hdp_buf b = HDP_BUF_INIT;
    hdp_err e;
    rle_encode_u32(&b, v, n, bw);
    uint32_t *out = calloc(n + 1, sizeof(*out));
    size_t used = 0;
    uint8_t *copy = malloc(b.len ? b.len : 1);
    if (b.len)
        memcpy(copy, b.data, b.len);
    assert_int_equal(rle_decode_u32(copy, b.len, bw, out, n, &used, &e), HDP_OK);
    assert_int_equal(used, b.len);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i], v[i]);
    free(copy);
    free(out);
    buf_free(&b);
}

static void test_rle_roundtrips(void **state)
{
    (void)state;
    static const int widths[] = {0, 1, 2, 3, 7, 8, 9, 17, 31, 32};
    uint32_t v[1003];
    for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
        int bw = widths[wi];
        uint64_t mask = bw == 0 ? 0 : bw == 32 ? 0xFFFFFFFFu : ((1u << bw) - 1);
        for (size_t pattern = 0; pattern < 4; pattern++) {
            for (size_t i = 0; i < 1003; i++) {
                uint64_t x;
                if (pattern == 0)
                    x = 5; /* one long run */
                else if (pattern == 1)
                    x = i * 2654435761u; /* noise */
                else if (pattern == 2)
                    x = (i / 13) % 3; /* runs of 13 */
                else
                    x = (i % 40 < 20) ? i : 0xFFFFFFFFu; /* literals then runs of max */
                v[i] = (uint32_t)(x & mask);
            }
            for (size_t n = 0; n <= 1003; n += n < 20 ? 1 : 197)
                rle_roundtrip(v, n, bw);
        }
    }
}

static void test_rle_known_bytes(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    hdp_err e;
    uint8_t zeros[8] = {0};
    rle_encode_u8(&b, zeros, 8, 1);
    assert_int_equal(b.len, 2);
    assert_int_equal((uint8_t)b.data[0], 8 << 1); /* RLE run of 8 */
    assert_int_equal((uint8_t)b.data[1], 0);
    buf_reset(&b);
    uint8_t alt[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    rle_encode_u8(&b, alt, 8, 1);
    assert_int_equal(b.len, 2);
    assert_int_equal((uint8_t)b.data[0], 0x03); /* one bit-packed group */
    assert_int_equal((uint8_t)b.data[1], 0xAA);
    buf_free(&b);

    /* the spec's example: values 0..7 at bit width 3 */
    const uint8_t spec[] = {0x03, 0x88, 0xC6, 0xFA};
    uint32_t out[8];
    assert_int_equal(rle_decode_u32(spec, sizeof(spec), 3, out, 8, NULL, &e), HDP_OK);
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(out[i], i);
    /* truncated, value wider than the bit width, empty run */
    assert_int_equal(rle_decode_u32(spec, 3, 3, out, 8, NULL, &e), HDP_ERR);
    const uint8_t wide[] = {0x10, 0x05};
    assert_int_equal(rle_decode_u32(wide, 2, 1, out, 8, NULL, &e), HDP_ERR);
    const uint8_t empty[] = {0x00, 0x00};
    assert_int_equal(rle_decode_u32(empty, 2, 1, out, 1, NULL, &e), HDP_ERR);
    assert_int_equal(rle_decode_u32(spec, 0, 3, out, 1, NULL, &e), HDP_ERR);
}

/* ------------------------------------------------------------------ corruption */

/* Opens and reads everything; returns 0 when the whole file read, -1 on a clean error. */
static int read_all(const uint8_t *p, size_t n)
{
    hdp_err e = {{0}};
    pq_reader *r = pq_reader_open_mem(p, n, &e);
    if (r == NULL) {
        assert_true(e.msg[0] != '\0');
        return -1;
    }
    int rc = 0;
    for (size_t g = 0; g < pq_reader_num_row_groups(r) && rc == 0; g++) {
        size_t rows;
        if (pq_reader_load(r, g, &rows, &e) != HDP_OK) {
            assert_true(e.msg[0] != '\0');
            rc = -1;
            break;
        }
        for (size_t k = 0; k < rows; k++) {
            for (size_t c = 0; c < pq_reader_ncols(r); c++) {
                size_t len;
                if (pq_reader_column(r, c)->type == PQ_STRING) {
                    const char *s = pq_get_str(r, c, k, &len);
                    volatile char sink = len ? s[len - 1] : 0;
                    (void)sink;
                } else {
                    (void)pq_get_i64(r, c, k);
                }
                (void)pq_is_null(r, c, k);
            }
        }
        for (size_t c = 0; c < pq_reader_ncols(r); c++) {
            pq_stats s;
            (void)pq_reader_stats(r, g, c, &s, &e);
        }
    }
    pq_reader_free(r);
    return rc;
}

static void corrupt_all(pq_codec codec)
{
    pq_writer_opts o = pq_writer_opts_default();
    o.codec = codec;
    o.row_group_rows = 40;
    o.page_bytes = 200;
    o.dict_max_bytes = 300;
    hdp_buf f = HDP_BUF_INIT;
    write_table(&f, &o, 100, 1);
    assert_int_equal(read_all((const uint8_t *)f.data, f.len), 0);
    uint8_t *copy = malloc(f.len);
    size_t errors = 0;
    for (size_t cut = 0; cut < f.len; cut++) {
        uint8_t *t = malloc(cut ? cut : 1); /* exact size so ASan catches overreads */
        memcpy(t, f.data, cut);
        errors += read_all(t, cut) != 0;
        free(t);
    }
    assert_int_equal(errors, f.len); /* every truncation loses the footer magic */
    static const uint8_t flips[] = {0xFF, 0x01, 0x80, 0x40};
    for (size_t pos = 0; pos < f.len; pos++) {
        for (size_t k = 0; k < sizeof(flips); k++) {
            memcpy(copy, f.data, f.len);
            copy[pos] ^= flips[k];
            (void)read_all(copy, f.len); /* an error or data; never a crash */
        }
    }
    /* several random bytes at once, from a fixed seed so a failure reproduces */
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, f.data, f.len);
        for (int k = 0; k < 1 + iter % 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t span = iter % 2 && f.len > 600 ? 600 : f.len; /* odd: the footer end */
            copy[f.len - 1 - (seed >> 33) % span] = (uint8_t)(seed >> 25);
        }
        (void)read_all(copy, f.len);
    }
    free(copy);
    buf_free(&f);
}

static void test_corruption_none(void **state)
{
    (void)state;
    corrupt_all(PQ_CODEC_NONE);
}

static void test_corruption_zstd(void **state)
{
    (void)state;
    corrupt_all(PQ_CODEC_ZSTD);
}

static void test_corruption_snappy(void **state)
{
    (void)state;
    corrupt_all(PQ_CODEC_SNAPPY);
}

static void test_not_parquet(void **state)
{
    (void)state;
    hdp_err e = {{0}};
    const char junk[] = "PAR1 this is not a parquet file PAR1";
    assert_null(pq_reader_open_mem(junk, sizeof(junk) - 1, &e));
    assert_non_null(strstr(e.msg, "parquet"));
    assert_null(pq_reader_open_mem("", 0, &e));
}

/* ------------------------------------------------------------------ hostile sizes */

/* A file of one OPTIONAL column (`type`, dictionary-encoded strings when `dict` is set) whose
 * pages are built here: `npages` data pages of `per_page` values each, every value NULL (one
 * RLE run of definition levels) or, with a dictionary, the dictionary's entry 0 (one RLE run
 * of indices). A few hundred bytes that declare as many rows as the caller likes. */
static void hostile_file(hdp_buf *f, int type, const char *dict, size_t dict_len, int npages,
                         uint32_t per_page)
{
    buf_append(f, "PAR1", 4);
    size_t start = f->len;
    if (dict) {
        hdp_buf body = HDP_BUF_INIT;
        uint32_t l = (uint32_t)dict_len;
        buf_append(&body, &l, 4);
        buf_append(&body, dict, dict_len);
        pqm_page_header h = {.type = PQP_DICTIONARY_PAGE,
                             .uncompressed_size = (int32_t)body.len,
                             .compressed_size = (int32_t)body.len,
                             .num_values = 1,
                             .encoding = PQE_PLAIN};
        pqm_page_header_encode(&h, f);
        buf_append(f, body.data, body.len);
        buf_free(&body);
    }
    for (int i = 0; i < npages; i++) {
        hdp_buf body = HDP_BUF_INIT, defs = HDP_BUF_INIT;
        buf_put_uvarint(&defs, (uint64_t)per_page << 1); /* one run ... */
        buf_putc(&defs, dict ? 1 : 0);                   /* ... of present, or of NULL */
        uint32_t l = (uint32_t)defs.len;
        buf_append(&body, &l, 4);
        buf_append(&body, defs.data, defs.len);
        if (dict) { /* bit width 0: every index is 0 */
            buf_putc(&body, 0);
            buf_put_uvarint(&body, (uint64_t)per_page << 1);
        }
        pqm_page_header h = {.type = PQP_DATA_PAGE,
                             .uncompressed_size = (int32_t)body.len,
                             .compressed_size = (int32_t)body.len,
                             .num_values = (int32_t)per_page,
                             .encoding = dict ? PQE_RLE_DICTIONARY : PQE_PLAIN,
                             .def_encoding = PQE_RLE};
        pqm_page_header_encode(&h, f);
        buf_append(f, body.data, body.len);
        buf_free(&body);
        buf_free(&defs);
    }
    int64_t rows = (int64_t)per_page * npages;
    pqm_schema sch[2] = {{0}};
    sch[0].name = (pqm_bytes){(const uint8_t *)"schema", 6};
    sch[0].num_children = 1;
    sch[1].has_type = sch[1].has_repetition = 1;
    sch[1].type = type;
    sch[1].repetition = PQR_OPTIONAL;
    sch[1].name = (pqm_bytes){(const uint8_t *)"x", 1};
    pqm_column col = {.type = type,
                      .nencodings = 1,
                      .path = {(const uint8_t *)"x", 1},
                      .num_values = rows,
                      .total_uncompressed_size = (int64_t)(f->len - start),
                      .total_compressed_size = (int64_t)(f->len - start),
                      .data_page_offset = (int64_t)start};
    pqm_row_group rg = {.columns = &col, .ncolumns = 1, .num_rows = rows};
    pqm_file meta = {.version = 1,
                     .schema = sch,
                     .nschema = 2,
                     .num_rows = rows,
                     .row_groups = &rg,
                     .nrow_groups = 1};
    size_t footer = f->len;
    pqm_file_encode(&meta, f);
    uint32_t flen = (uint32_t)(f->len - footer);
    buf_append(f, &flen, 4);
    buf_append(f, "PAR1", 4);
}

/* Found while writing the Parquet fuzz target: nothing bounded a row group's row count, so 152
 * bytes of NULL runs made the reader allocate 1.5 GB (and a few KB, all of memory). */
static void test_row_group_too_large(void **state)
{
    (void)state;
    hdp_buf f = HDP_BUF_INIT;
    hostile_file(&f, PQT_INT64, NULL, 0, 2, 64u << 20);
    assert_true(f.len < 200);
    hdp_err e;
    pq_reader *r = pq_reader_open_mem(f.data, f.len, &e);
    assert_non_null(r);
    size_t rows = 0;
    assert_int_equal(pq_reader_load(r, 0, &rows, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "rows"));
    pq_reader_free(r);
    buf_free(&f);
    /* 1Mi NULLs in one page still load */
    hdp_buf g = HDP_BUF_INIT;
    hostile_file(&g, PQT_INT64, NULL, 0, 1, 1u << 20);
    r = pq_reader_open_mem(g.data, g.len, &e);
    assert_non_null(r);
    assert_int_equal(pq_reader_load(r, 0, &rows, &e), HDP_OK);
    assert_int_equal(rows, 1u << 20);
    assert_true(pq_is_null(r, 0, 0) && pq_is_null(r, 0, rows - 1));
    pq_reader_free(r);
    buf_free(&g);
}

/* Found while writing the Parquet fuzz target: each dictionary-encoded string was copied out of the
 * dictionary, so one 1 MiB entry referenced by a run of 1Mi indices asked for 1 TiB. Values now
 * point into one copy of the dictionary. */
static void test_dictionary_strings_are_not_copied_per_value(void **state)
{
    (void)state;
    size_t big = 1u << 20;
    char *s = malloc(big);
    for (size_t i = 0; i < big; i++)
        s[i] = (char)('a' + i % 26);
    hdp_buf f = HDP_BUF_INIT;
    hostile_file(&f, PQT_BYTE_ARRAY, s, big, 1, 1u << 20);
    hdp_err e;
    pq_reader *r = pq_reader_open_mem(f.data, f.len, &e);
    assert_non_null(r);
    size_t rows = 0, n = 0;
    assert_int_equal(pq_reader_load(r, 0, &rows, &e), HDP_OK);
    assert_int_equal(rows, 1u << 20);
    for (size_t row = 0; row < rows; row += rows / 4 - 1) {
        const char *v = pq_get_str(r, 0, row, &n);
        assert_int_equal(n, big);
        assert_memory_equal(v, s, big);
    }
    pq_reader_free(r);
    buf_free(&f);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_group_too_large),
        cmocka_unit_test(test_dictionary_strings_are_not_copied_per_value),
        cmocka_unit_test(test_roundtrip_none),
        cmocka_unit_test(test_roundtrip_snappy),
        cmocka_unit_test(test_roundtrip_zstd),
        cmocka_unit_test(test_small_pages),
        cmocka_unit_test(test_string_stats_unsigned),
        cmocka_unit_test(test_dictionary_fallback),
        cmocka_unit_test(test_integer_dictionaries),
        cmocka_unit_test(test_file_path_and_streaming),
        cmocka_unit_test(test_writer_misuse),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_rle_roundtrips),
        cmocka_unit_test(test_rle_known_bytes),
        cmocka_unit_test(test_corruption_none),
        cmocka_unit_test(test_corruption_zstd),
        cmocka_unit_test(test_corruption_snappy),
        cmocka_unit_test(test_not_parquet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
