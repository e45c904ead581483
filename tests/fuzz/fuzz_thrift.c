/* fuzz_thrift — the Thrift compact protocol reader, the Parquet footer and page header
 * decoders on top of it, and the writer/reader pair.
 *
 * The same input is (1) walked as a generic struct with tc_skip, (2) decoded as a
 * FileMetaData and (3) as a PageHeader, and (4) read as a little program of writer calls
 * whose output the reader must read back exactly.
 * Invariants: a decoded footer or page header re-encodes (pqm_*_encode) to bytes that
 * decode to the same modelled fields; a page header's length lies within the input; what
 * the writer writes, the reader reads back value for value. */
#include "fuzz.h"

#include "core/buf.h"
#include "format/parquet_meta.h"
#include "format/thrift_compact.h"

static void walk(const uint8_t *p, size_t n)
{
    hdp_err e;
    tc_reader r;
    tc_reader_init(&r, p, n, &e);
    int t, rc;
    int16_t id;
    while ((rc = tc_read_field(&r, &t, &id)) > 0)
        if (tc_skip(&r, t) < 0)
            break;
    FUZZ_CHECK(tc_reader_pos(&r, p) <= n);
    if (rc < 0)
        FUZZ_CHECK(r.failed && e.msg[0] != '\0');
}

static int same(pqm_bytes a, pqm_bytes b)
{
    return (a.p == NULL) == (b.p == NULL) && a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static void footer(const uint8_t *p, size_t n)
{
    hdp_err e;
    pqm_file f, g;
    if (pqm_file_decode(p, n, &f, &e) != HDP_OK)
        return;
    FUZZ_CHECK(f.schema != NULL);
    /* the encoder writes one path element (the column name) and only the fields it models */
    for (uint32_t i = 0; i < f.nrow_groups; i++)
        for (uint32_t c = 0; c < f.row_groups[i].ncolumns; c++)
            if (f.row_groups[i].columns[c].path.p == NULL)
                goto out;
    hdp_buf b = HDP_BUF_INIT;
    pqm_file_encode(&f, &b);
    FUZZ_CHECK(pqm_file_decode((const uint8_t *)b.data, b.len, &g, &e) == HDP_OK);
    FUZZ_CHECK(g.version == f.version && g.num_rows == f.num_rows && g.nschema == f.nschema);
    FUZZ_CHECK(g.nrow_groups == f.nrow_groups && same(g.created_by, f.created_by));
    for (uint32_t i = 0; i < f.nschema; i++) {
        const pqm_schema *x = &f.schema[i], *y = &g.schema[i];
        FUZZ_CHECK(same(x->name, y->name) || (x->name.p == NULL && y->name.n == 0));
        FUZZ_CHECK(x->has_type == y->has_type && (!x->has_type || x->type == y->type));
        FUZZ_CHECK(x->type_length == y->type_length && x->num_children == y->num_children);
        FUZZ_CHECK(x->has_repetition == y->has_repetition &&
                   (!x->has_repetition || x->repetition == y->repetition));
        FUZZ_CHECK(x->has_converted == y->has_converted &&
                   (!x->has_converted || x->converted == y->converted));
        if (x->has_converted && x->converted == PQC_DECIMAL)
            FUZZ_CHECK(x->scale == y->scale && x->precision == y->precision);
        FUZZ_CHECK(x->logical == y->logical);
        if (x->logical == PQL_DECIMAL)
            FUZZ_CHECK(x->lt_scale == y->lt_scale && x->lt_precision == y->lt_precision);
        if (x->logical == PQL_TIMESTAMP)
            FUZZ_CHECK(x->lt_utc == y->lt_utc && x->lt_unit == y->lt_unit);
        if (x->logical == PQL_INTEGER) /* the encoder writes the width as a byte */
            FUZZ_CHECK((int8_t)x->lt_bits == y->lt_bits && x->lt_signed == y->lt_signed);
    }
    for (uint32_t i = 0; i < f.nrow_groups; i++) {
        const pqm_row_group *x = &f.row_groups[i], *y = &g.row_groups[i];
        FUZZ_CHECK(x->ncolumns == y->ncolumns && x->num_rows == y->num_rows &&
                   x->total_byte_size == y->total_byte_size);
        for (uint32_t c = 0; c < x->ncolumns; c++) {
            const pqm_column *u = &x->columns[c], *v = &y->columns[c];
            FUZZ_CHECK(u->type == v->type && u->codec == v->codec && same(u->path, v->path));
            FUZZ_CHECK(u->file_offset == v->file_offset);
            FUZZ_CHECK(u->num_values == v->num_values &&
                       u->data_page_offset == v->data_page_offset);
            FUZZ_CHECK(u->total_compressed_size == v->total_compressed_size &&
                       u->total_uncompressed_size == v->total_uncompressed_size);
            FUZZ_CHECK(u->has_dictionary_page_offset == v->has_dictionary_page_offset &&
                       u->dictionary_page_offset == v->dictionary_page_offset);
            FUZZ_CHECK(u->nencodings == v->nencodings &&
                       memcmp(u->encodings, v->encodings, u->nencodings * sizeof(int32_t)) == 0);
            FUZZ_CHECK(u->has_stats == v->has_stats);
            if (u->has_stats)
                FUZZ_CHECK(same(u->stats.min_value, v->stats.min_value) &&
                           same(u->stats.max_value, v->stats.max_value) &&
                           same(u->stats.min, v->stats.min) && same(u->stats.max, v->stats.max) &&
                           u->stats.has_null_count == v->stats.has_null_count &&
                           u->stats.null_count == v->stats.null_count);
        }
    }
    pqm_file_free(&g);
    buf_free(&b);
out:
    pqm_file_free(&f);
}

static void page_header(const uint8_t *p, size_t n)
{
    hdp_err e;
    pqm_page_header h, g;
    size_t used = 0, used2 = 0;
    if (pqm_page_header_decode(p, n, &h, &used, &e) != HDP_OK)
        return;
    FUZZ_CHECK(used >= 1 && used <= n);
    FUZZ_CHECK(h.uncompressed_size >= 0 && h.compressed_size >= 0 && h.num_values >= 0);
    if (h.type != PQP_DATA_PAGE && h.type != PQP_DICTIONARY_PAGE)
        return;
    hdp_buf b = HDP_BUF_INIT;
    pqm_page_header_encode(&h, &b);
    FUZZ_CHECK(pqm_page_header_decode((const uint8_t *)b.data, b.len, &g, &used2, &e) == HDP_OK);
    FUZZ_CHECK(used2 == b.len && g.type == h.type && g.uncompressed_size == h.uncompressed_size &&
               g.compressed_size == h.compressed_size && g.num_values == h.num_values &&
               g.encoding == h.encoding);
    if (h.type == PQP_DATA_PAGE)
        FUZZ_CHECK(g.def_encoding == h.def_encoding);
    buf_free(&b);
}

/* ------------------------------------------------------------------ writer round trip */

enum { OP_I32, OP_I64, OP_BIN, OP_BOOL, OP_STRUCT, OP_END, OP_LIST, OP_N };

typedef struct op {
    int kind;
    int16_t id;
    int64_t v;
    const uint8_t *p;
    size_t n;
} op;

static uint64_t take(const uint8_t **p, const uint8_t *end, size_t k)
{
    uint64_t v = 0;
    for (size_t i = 0; i < k && *p < end; i++)
        v = v << 8 | *(*p)++;
    return v;
}

/* Reads ops from the input: kind, id, value bytes. Returns how many (at most max). */
static size_t parse_ops(const uint8_t *p, size_t n, op *ops, size_t max)
{
    const uint8_t *end = p + n;
    size_t k = 0;
    while (p < end && k < max) {
        op *o = &ops[k++];
        memset(o, 0, sizeof(*o));
        o->kind = *p++ % OP_N;
        o->id = (int16_t)take(&p, end, 2);
        if (o->kind == OP_I32)
            o->v = (int32_t)take(&p, end, 4);
        else if (o->kind == OP_I64 || o->kind == OP_LIST)
            o->v = (int64_t)take(&p, end, 8);
        else if (o->kind == OP_BOOL)
            o->v = (int64_t)take(&p, end, 1) & 1;
        else if (o->kind == OP_BIN) {
            o->n = take(&p, end, 1);
            if (o->n > (size_t)(end - p))
                o->n = (size_t)(end - p);
            o->p = p;
            p += o->n;
        }
    }
    return k;
}

static void writer_round_trip(const uint8_t *p, size_t n)
{
    op ops[256];
    size_t nops = parse_ops(p, n, ops, 256);
    hdp_buf b = HDP_BUF_INIT;
    tc_writer w;
    tc_writer_init(&w, &b);
    int depth = 0;
    for (size_t i = 0; i < nops; i++) {
        op *o = &ops[i];
        if (o->kind == OP_STRUCT && depth + 2 >= TC_MAX_DEPTH)
            o->kind = OP_END; /* too deep: taken as the end of a struct instead */
        if (o->kind == OP_END && depth == 0)
            o->kind = -1; /* nothing to end: ignored */
        switch (o->kind) {
        case OP_I32:
            tc_field_i32(&w, o->id, (int32_t)o->v);
            break;
        case OP_I64:
            tc_field_i64(&w, o->id, o->v);
            break;
        case OP_BIN:
            tc_field_binary(&w, o->id, o->p, o->n);
            break;
        case OP_BOOL:
            tc_field_bool(&w, o->id, (int)o->v);
            break;
        case OP_LIST: /* a list of i64: the value's low byte is the count */
            tc_field(&w, TC_LIST, o->id);
            tc_list_begin(&w, TC_I64, (uint32_t)(o->v & 0x1f));
            for (int64_t k = 0; k < (o->v & 0x1f); k++)
                tc_put_i64(&w, o->v >> k);
            break;
        case OP_STRUCT:
            tc_field(&w, TC_STRUCT, o->id);
            tc_struct_begin(&w);
            depth++;
            break;
        case OP_END:
            tc_struct_end(&w);
            depth--;
            break;
        }
    }
    while (depth-- > 0)
        tc_struct_end(&w);
    buf_putc(&b, TC_STOP);

    hdp_err e;
    tc_reader r;
    tc_reader_init(&r, b.data, b.len, &e);
    int t;
    int16_t id;
    depth = 0;
    for (size_t i = 0; i < nops; i++) {
        op *o = &ops[i];
        if (o->kind == -1)
            continue;
        if (o->kind == OP_END) {
            FUZZ_CHECK(tc_read_field(&r, &t, &id) == 0);
            tc_struct_leave(&r);
            depth--;
            continue;
        }
        FUZZ_CHECK(tc_read_field(&r, &t, &id) == 1 && id == o->id);
        int32_t v32;
        int64_t v64;
        const uint8_t *bp;
        size_t bn;
        int et;
        uint32_t cnt;
        switch (o->kind) {
        case OP_I32:
            FUZZ_CHECK(t == TC_I32 && tc_read_i32(&r, &v32) == 0 && v32 == o->v);
            break;
        case OP_I64:
            FUZZ_CHECK(t == TC_I64 && tc_read_i64(&r, &v64) == 0 && v64 == o->v);
            break;
        case OP_BIN:
            FUZZ_CHECK(t == TC_BINARY && tc_read_binary(&r, &bp, &bn) == 0 && bn == o->n &&
                       (bn == 0 || memcmp(bp, o->p, bn) == 0));
            break;
        case OP_BOOL:
            FUZZ_CHECK(t == (o->v ? TC_BOOL_TRUE : TC_BOOL_FALSE));
            break;
        case OP_LIST:
            FUZZ_CHECK(t == TC_LIST && tc_read_list(&r, &et, &cnt) == 0 && et == TC_I64 &&
                       cnt == (uint32_t)(o->v & 0x1f));
            for (uint32_t k = 0; k < cnt; k++)
                FUZZ_CHECK(tc_read_i64(&r, &v64) == 0 && v64 == o->v >> k);
            break;
        case OP_STRUCT:
            FUZZ_CHECK(t == TC_STRUCT && tc_struct_enter(&r) == 0);
            depth++;
            break;
        }
    }
    while (depth-- > 0) {
        FUZZ_CHECK(tc_read_field(&r, &t, &id) == 0);
        tc_struct_leave(&r);
    }
    FUZZ_CHECK(tc_read_field(&r, &t, &id) == 0 && !r.failed && r.p == r.end);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(data, size);
    footer(data, size);
    page_header(data, size);
    writer_round_trip(data, size);
    return 0;
}
