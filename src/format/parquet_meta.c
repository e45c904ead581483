#include "format/parquet_meta.h"

#include <stdlib.h>
#include <string.h>

#include "format/thrift_compact.h"

/* ------------------------------------------------------------------ encode */

static void put_bytes_field(tc_writer *w, int16_t id, pqm_bytes b)
{
    if (b.p)
        tc_field_binary(w, id, b.p, b.n);
}

static void encode_stats(tc_writer *w, const pqm_stats *s)
{
    tc_struct_begin(w);
    put_bytes_field(w, 1, s->max);
    put_bytes_field(w, 2, s->min);
    if (s->has_null_count)
        tc_field_i64(w, 3, s->null_count);
    put_bytes_field(w, 5, s->max_value);
    put_bytes_field(w, 6, s->min_value);
    tc_struct_end(w);
}

static void encode_logical(tc_writer *w, const pqm_schema *s)
{
    tc_field(w, TC_STRUCT, 10);
    tc_struct_begin(w); /* LogicalType union */
    tc_field(w, TC_STRUCT, (int16_t)s->logical);
    tc_struct_begin(w);
    if (s->logical == PQL_DECIMAL) {
        tc_field_i32(w, 1, s->lt_scale);
        tc_field_i32(w, 2, s->lt_precision);
    } else if (s->logical == PQL_TIMESTAMP) {
        tc_field_bool(w, 1, s->lt_utc);
        tc_field(w, TC_STRUCT, 2);
        tc_struct_begin(w); /* TimeUnit union */
        tc_field(w, TC_STRUCT, (int16_t)s->lt_unit);
        tc_struct_begin(w);
        tc_struct_end(w);
        tc_struct_end(w);
    } else if (s->logical == PQL_INTEGER) {
        tc_field(w, TC_BYTE, 1);
        buf_putc(w->out, (char)s->lt_bits);
        tc_field_bool(w, 2, s->lt_signed);
    }
    tc_struct_end(w);
    tc_struct_end(w);
}

static void encode_schema(tc_writer *w, const pqm_schema *s)
{
    tc_struct_begin(w);
    if (s->has_type)
        tc_field_i32(w, 1, s->type);
    if (s->type_length)
        tc_field_i32(w, 2, s->type_length);
    if (s->has_repetition)
        tc_field_i32(w, 3, s->repetition);
    tc_field_binary(w, 4, s->name.p, s->name.n);
    if (s->num_children)
        tc_field_i32(w, 5, s->num_children);
    if (s->has_converted)
        tc_field_i32(w, 6, s->converted);
    if (s->has_converted && s->converted == PQC_DECIMAL) {
        tc_field_i32(w, 7, s->scale);
        tc_field_i32(w, 8, s->precision);
    }
    if (s->logical)
        encode_logical(w, s);
    tc_struct_end(w);
}

static void encode_column(tc_writer *w, const pqm_column *c)
{
    tc_struct_begin(w); /* ColumnChunk */
    tc_field_i64(w, 2, c->file_offset);
    tc_field(w, TC_STRUCT, 3);
    tc_struct_begin(w); /* ColumnMetaData */
    tc_field_i32(w, 1, c->type);
    tc_field(w, TC_LIST, 2);
    tc_list_begin(w, TC_I32, c->nencodings);
    for (uint32_t i = 0; i < c->nencodings; i++)
        tc_put_i32(w, c->encodings[i]);
    tc_field(w, TC_LIST, 3);
    tc_list_begin(w, TC_BINARY, 1);
    tc_put_binary(w, c->path.p, c->path.n);
    tc_field_i32(w, 4, c->codec);
    tc_field_i64(w, 5, c->num_values);
    tc_field_i64(w, 6, c->total_uncompressed_size);
    tc_field_i64(w, 7, c->total_compressed_size);
    tc_field_i64(w, 9, c->data_page_offset);
    if (c->has_dictionary_page_offset)
        tc_field_i64(w, 11, c->dictionary_page_offset);
    if (c->has_stats) {
        tc_field(w, TC_STRUCT, 12);
        encode_stats(w, &c->stats);
    }
    tc_struct_end(w);
    tc_struct_end(w);
}

void pqm_file_encode(const pqm_file *f, hdp_buf *out)
{
    tc_writer w;
    tc_writer_init(&w, out);
    tc_struct_begin(&w);
    tc_field_i32(&w, 1, f->version);
    tc_field(&w, TC_LIST, 2);
    tc_list_begin(&w, TC_STRUCT, f->nschema);
    for (uint32_t i = 0; i < f->nschema; i++)
        encode_schema(&w, &f->schema[i]);
    tc_field_i64(&w, 3, f->num_rows);
    tc_field(&w, TC_LIST, 4);
    tc_list_begin(&w, TC_STRUCT, f->nrow_groups);
    for (uint32_t i = 0; i < f->nrow_groups; i++) {
        const pqm_row_group *rg = &f->row_groups[i];
        tc_struct_begin(&w);
        tc_field(&w, TC_LIST, 1);
        tc_list_begin(&w, TC_STRUCT, rg->ncolumns);
        for (uint32_t c = 0; c < rg->ncolumns; c++)
            encode_column(&w, &rg->columns[c]);
        tc_field_i64(&w, 2, rg->total_byte_size);
        tc_field_i64(&w, 3, rg->num_rows);
        tc_field_i64(&w, 5, rg->file_offset);
        tc_field_i64(&w, 6, rg->total_compressed_size);
        if (i <= INT16_MAX) {
            tc_field(&w, TC_I16, 7); /* ordinal */
            tc_put_i32(&w, (int32_t)i);
        }
        tc_struct_end(&w);
    }
    put_bytes_field(&w, 6, f->created_by);
    /* column_orders: TypeDefinedOrder for every leaf, so readers trust min_value/max_value */
    uint32_t leaves = f->nschema ? f->nschema - 1 : 0;
    tc_field(&w, TC_LIST, 7);
    tc_list_begin(&w, TC_STRUCT, leaves);
    for (uint32_t i = 0; i < leaves; i++) {
        tc_struct_begin(&w);
        tc_field(&w, TC_STRUCT, 1);
        tc_struct_begin(&w);
        tc_struct_end(&w);
        tc_struct_end(&w);
    }
    tc_struct_end(&w);
}

void pqm_page_header_encode(const pqm_page_header *h, hdp_buf *out)
{
    tc_writer w;
    tc_writer_init(&w, out);
    tc_struct_begin(&w);
    tc_field_i32(&w, 1, h->type);
    tc_field_i32(&w, 2, h->uncompressed_size);
    tc_field_i32(&w, 3, h->compressed_size);
    if (h->type == PQP_DATA_PAGE) {
        tc_field(&w, TC_STRUCT, 5);
        tc_struct_begin(&w);
        tc_field_i32(&w, 1, h->num_values);
        tc_field_i32(&w, 2, h->encoding);
        tc_field_i32(&w, 3, h->def_encoding);
        tc_field_i32(&w, 4, PQE_RLE);
        tc_struct_end(&w);
    } else if (h->type == PQP_DICTIONARY_PAGE) {
        tc_field(&w, TC_STRUCT, 7);
        tc_struct_begin(&w);
        tc_field_i32(&w, 1, h->num_values);
        tc_field_i32(&w, 2, h->encoding);
        tc_struct_end(&w);
    }
    tc_struct_end(&w);
}

/* ------------------------------------------------------------------ decode */

/* Field loop helper: iterates the fields of the struct the reader is in. */
#define FOR_FIELDS(r, t, id)                                                                       \
    for (int rc_ = tc_read_field((r), &(t), &(id)); rc_ > 0; rc_ = tc_read_field((r), &(t), &(id)))

static int read_i32_field(tc_reader *r, int t, int32_t *v)
{
    if (t != TC_I32 && t != TC_I16 && t != TC_BYTE)
        return tc_fail(r, "field has wrong type");
    if (t == TC_BYTE) {
        int8_t b;
        if (tc_read_byte(r, &b) < 0)
            return -1;
        *v = b;
        return 0;
    }
    return tc_read_i32(r, v);
}

static int read_i64_field(tc_reader *r, int t, int64_t *v)
{
    if (t != TC_I64 && t != TC_I32 && t != TC_I16)
        return tc_fail(r, "field has wrong type");
    return tc_read_i64(r, v);
}

static int read_bytes_field(tc_reader *r, int t, pqm_bytes *b)
{
    if (t != TC_BINARY)
        return tc_fail(r, "field has wrong type");
    return tc_read_binary(r, &b->p, &b->n);
}

static int read_bool_field(tc_reader *r, int t, int *v)
{
    if (t != TC_BOOL_TRUE && t != TC_BOOL_FALSE)
        return tc_fail(r, "field has wrong type");
    *v = t == TC_BOOL_TRUE;
    return 0;
}

static int enter(tc_reader *r, int t)
{
    if (t != TC_STRUCT)
        return tc_fail(r, "field has wrong type");
    return tc_struct_enter(r);
}

static int decode_stats(tc_reader *r, pqm_stats *s)
{
    int t;
    int16_t id;
    FOR_FIELDS(r, t, id)
    {
        int rc;
        switch (id) {
        case 1:
            rc = read_bytes_field(r, t, &s->max);
            break;
        case 2:
            rc = read_bytes_field(r, t, &s->min);
            break;
        case 3:
            s->has_null_count = 1;
            rc = read_i64_field(r, t, &s->null_count);
            break;
        case 5:
            rc = read_bytes_field(r, t, &s->max_value);
            break;
        case 6:
            rc = read_bytes_field(r, t, &s->min_value);
            break;
        default:
            rc = tc_skip(r, t);
        }
        if (rc < 0)
            return -1;
    }
    tc_struct_leave(r);
    return r->failed ? -1 : 0;
}

/* TimeUnit union: the member's field id is the unit. */
static int decode_time_unit(tc_reader *r, int *unit)
{
    int t;
    int16_t id;
    FOR_FIELDS(r, t, id)
    {
        *unit = id;
        if (tc_skip(r, t) < 0)
            return -1;
    }
    tc_struct_leave(r);
    return r->failed ? -1 : 0;
}

static int decode_logical_member(tc_reader *r, pqm_schema *s)
{
    int t;
    int16_t id;
    FOR_FIELDS(r, t, id)
    {
        int rc = 0;
        if (s->logical == PQL_DECIMAL && id == 1)
            rc = read_i32_field(r, t, &s->lt_scale);
        else if (s->logical == PQL_DECIMAL && id == 2)
            rc = read_i32_field(r, t, &s->lt_precision);
        else if (s->logical == PQL_TIMESTAMP && id == 1)
            rc = read_bool_field(r, t, &s->lt_utc);
        else if (s->logical == PQL_TIMESTAMP && id == 2)
            rc = enter(r, t) < 0 ? -1 : decode_time_unit(r, &s->lt_unit);
        else if (s->logical == PQL_INTEGER && id == 1)
            rc = read_i32_field(r, t, &s->lt_bits);
        else if (s->logical == PQL_INTEGER && id == 2)
            rc = read_bool_field(r, t, &s->lt_signed);
        else
            rc = tc_skip(r, t);
        if (rc < 0)
            return -1;
    }
    tc_struct_leave(r);
    return r->failed ? -1 : 0;
}

static int decode_logical(tc_reader *r, pqm_schema *s)
{
    int t;
    int16_t id;
    FOR_FIELDS(r, t, id)
    {
        s->logical = id;
        if (enter(r, t) < 0 || decode_logical_member(r, s) < 0)
            return -1;
    }
    tc_struct_leave(r);
    return r->failed ? -1 : 0;
}

static int decode_schema(tc_reader *r, pqm_schema *s)
{
    int t;
    int16_t id;
    FOR_FIELDS(r, t, id)
    {
        int rc;
        switch (id) {
        case 1:
            s->has_type = 1;
            rc = read_i32_field(r, t, &s->type);
            break;
        case 2:
            rc = read_i32_field(r, t, &s->type_length);
            break;
        case 3:
            s->has_repetition = 1;
            rc = read_i32_field(r, t, &s->repetition);
            break;
        case 4:
            rc = read_bytes_field(r, t, &s->name);
            break;
        case 5:
            rc = read_i32_field(r, t, &s->num_children);
            break;
        case 6:
            s->has_converted = 1;
            rc = read_i32_field(r, t, &s->converted);
            break;
        case 7:
            rc = read_i32_field(r, t, &s->scale);
            break;
        case 8:
            rc = read_i32_field(r, t, &s->precision);
            break;
        case 10:
            rc = enter(r, t) < 0 ? -1 : decode_logical(r, s);
            break;
        default:
            rc = tc_skip(r, t);
        }
        if (rc < 0)
            return -1;
    }
    tc_struct_leave(r);
    return r->failed ? -1 : 0;
}

static int decode_column_meta(tc_reader *r, pqm_column *c)
{
    int t, et;
    int16_t id;
    uint32_t n;
    FOR_FIELDS(r, t, id)
    {
        int rc = 0;
        switch (id) {
        case 1:
            rc = read_i32_field(r, t, &c->type);
            break;
        case 2:
            if (t != TC_LIST || tc_read_list(r, &et, &n) < 0 || et != TC_I32)
                return tc_fail(r, "bad encodings list");
            c->nencodings = 0;
            for (uint32_t i = 0; i < n && rc == 0; i++) {
                int32_t enc;
                rc = tc_read_i32(r, &enc);
                if (rc == 0 && c->nencodings < 8)
                    c->encodings[c->nencodings++] = enc;
            }
            break;
        case 3:
            if (t != TC_LIST || tc_read_list(r, &et, &n) < 0 || et != TC_BINARY)
                return tc_fail(r, "bad path_in_schema");
            c->path_len = n;
            for (uint32_t i = 0; i < n && rc == 0; i++)
                rc = tc_read_binary(r, &c->path.p, &c->path.n);
            break;
        case 4:
            rc = read_i32_field(r, t, &c->codec);
            break;
        case 5:
            rc = read_i64_field(r, t, &c->num_values);
            break;
        case 6:
            rc = read_i64_field(r, t, &c->total_uncompressed_size);
            break;
        case 7:
            rc = read_i64_field(r, t, &c->total_compressed_size);
            break;
        case 9:
            rc = read_i64_field(r, t, &c->data_page_offset);
            break;
        case 11:
            c->has_dictionary_page_offset = 1;
            rc = read_i64_field(r, t, &c->dictionary_page_offset);
            break;
        case 12:
            c->has_stats = 1;
            rc = enter(r, t) < 0 ? -1 : decode_stats(r, &c->stats);
            break;
        default:
            rc = tc_skip(r, t);
        }
        if (rc < 0)
            return -1;
    }
    tc_struct_leave(r);
    return r->failed ? -1 : 0;
}

static int decode_column(tc_reader *r, pqm_column *c)
{
    int t;
    int16_t id;
    int have_meta = 0;
    FOR_FIELDS(r, t, id)
    {
        int rc;
        if (id == 1) {
            return tc_fail(r, "column chunks in external files are not supported");
        } else if (id == 2) {
            rc = read_i64_field(r, t, &c->file_offset);
        } else if (id == 3) {
            have_meta = 1;
            rc = enter(r, t) < 0 ? -1 : decode_column_meta(r, c);
        } else {
            rc = tc_skip(r, t);
        }
        if (rc < 0)
            return -1;
    }
    tc_struct_leave(r);
    if (!r->failed && !have_meta)
        return tc_fail(r, "column chunk without metadata");
    return r->failed ? -1 : 0;
}

static int decode_row_group(tc_reader *r, pqm_row_group *g)
{
    int t, et;
    int16_t id;
    uint32_t n;
    FOR_FIELDS(r, t, id)
    {
        int rc = 0;
        switch (id) {
        case 1:
            if (g->columns || t != TC_LIST || tc_read_list(r, &et, &n) < 0 || et != TC_STRUCT)
                return tc_fail(r, "bad columns list");
            g->columns = xcalloc(n ? n : 1, sizeof(*g->columns));
            g->ncolumns = n;
            for (uint32_t i = 0; i < n && rc == 0; i++)
                rc = tc_struct_enter(r) < 0 ? -1 : decode_column(r, &g->columns[i]);
            break;
        case 2:
            rc = read_i64_field(r, t, &g->total_byte_size);
            break;
        case 3:
            rc = read_i64_field(r, t, &g->num_rows);
            break;
        default:
            rc = tc_skip(r, t);
        }
        if (rc < 0)
            return -1;
    }
    tc_struct_leave(r);
    return r->failed ? -1 : 0;
}

int pqm_file_decode(const uint8_t *p, size_t n, pqm_file *f, hdp_err *e)
{
    tc_reader r;
    int t, et;
    int16_t id;
    uint32_t cnt;
    memset(f, 0, sizeof(*f));
    tc_reader_init(&r, p, n, e);
    FOR_FIELDS(&r, t, id)
    {
        int rc = 0;
        switch (id) {
        case 1:
            rc = read_i32_field(&r, t, &f->version);
            break;
        case 2:
            if (f->schema || t != TC_LIST || tc_read_list(&r, &et, &cnt) < 0 || et != TC_STRUCT) {
                rc = tc_fail(&r, "bad schema list");
                break;
            }
            f->schema = xcalloc(cnt ? cnt : 1, sizeof(*f->schema));
            f->nschema = cnt;
            for (uint32_t i = 0; i < cnt && rc == 0; i++)
                rc = tc_struct_enter(&r) < 0 ? -1 : decode_schema(&r, &f->schema[i]);
            break;
        case 3:
            rc = read_i64_field(&r, t, &f->num_rows);
            break;
        case 4:
            if (f->row_groups || t != TC_LIST || tc_read_list(&r, &et, &cnt) < 0 ||
                et != TC_STRUCT) {
                rc = tc_fail(&r, "bad row group list");
                break;
            }
            f->row_groups = xcalloc(cnt ? cnt : 1, sizeof(*f->row_groups));
            f->nrow_groups = cnt;
            for (uint32_t i = 0; i < cnt && rc == 0; i++)
                rc = tc_struct_enter(&r) < 0 ? -1 : decode_row_group(&r, &f->row_groups[i]);
            break;
        case 6:
            rc = read_bytes_field(&r, t, &f->created_by);
            break;
        default:
            rc = tc_skip(&r, t);
        }
        if (rc < 0)
            break;
    }
    if (r.failed) {
        hdp_err_prefix(e, "parquet footer: ");
        pqm_file_free(f);
        return HDP_ERR;
    }
    if (f->schema == NULL) {
        pqm_file_free(f);
        return hdp_fail(e, "parquet footer: no schema");
    }
    return HDP_OK;
}

void pqm_file_free(pqm_file *f)
{
    if (f == NULL)
        return;
    for (uint32_t i = 0; i < f->nrow_groups; i++)
        free(f->row_groups[i].columns);
    free(f->row_groups);
    free(f->schema);
    memset(f, 0, sizeof(*f));
}

static int decode_data_page_header(tc_reader *r, pqm_page_header *h, int v2)
{
    int t;
    int16_t id;
    FOR_FIELDS(r, t, id)
    {
        int rc;
        if (id == 1) {
            rc = read_i32_field(r, t, &h->num_values);
        } else if (!v2 && id == 2) {
            rc = read_i32_field(r, t, &h->encoding);
        } else if (!v2 && id == 3 && t == TC_I32) { /* v1 def encoding; dict: is_sorted */
            rc = read_i32_field(r, t, &h->def_encoding);
        } else if (v2 && id == 2) {
            rc = read_i32_field(r, t, &h->num_nulls);
        } else if (v2 && id == 3) {
            rc = read_i32_field(r, t, &h->num_rows);
        } else if (v2 && id == 4) {
            rc = read_i32_field(r, t, &h->encoding);
        } else if (v2 && id == 5) {
            rc = read_i32_field(r, t, &h->def_len);
        } else if (v2 && id == 6) {
            rc = read_i32_field(r, t, &h->rep_len);
        } else if (v2 && id == 7) {
            rc = read_bool_field(r, t, &h->is_compressed);
        } else {
            rc = tc_skip(r, t);
        }
        if (rc < 0)
            return -1;
    }
    tc_struct_leave(r);
    return r->failed ? -1 : 0;
}

int pqm_page_header_decode(const uint8_t *p, size_t n, pqm_page_header *h, size_t *used, hdp_err *e)
{
    tc_reader r;
    int t;
    int16_t id;
    int have_type = 0;
    memset(h, 0, sizeof(*h));
    h->is_compressed = 1;
    h->def_encoding = PQE_RLE;
    tc_reader_init(&r, p, n, e);
    FOR_FIELDS(&r, t, id)
    {
        int rc;
        switch (id) {
        case 1:
            have_type = 1;
            rc = read_i32_field(&r, t, &h->type);
            break;
        case 2:
            rc = read_i32_field(&r, t, &h->uncompressed_size);
            break;
        case 3:
            rc = read_i32_field(&r, t, &h->compressed_size);
            break;
        case 5:
        case 7:
            rc = enter(&r, t) < 0 ? -1 : decode_data_page_header(&r, h, 0);
            break;
        case 8:
            rc = enter(&r, t) < 0 ? -1 : decode_data_page_header(&r, h, 1);
            break;
        default:
            rc = tc_skip(&r, t);
        }
        if (rc < 0)
            break;
    }
    if (r.failed) {
        hdp_err_prefix(e, "page header: ");
        return HDP_ERR;
    }
    if (!have_type || h->uncompressed_size < 0 || h->compressed_size < 0 || h->num_values < 0)
        return hdp_fail(e, "page header: missing or negative fields");
    *used = tc_reader_pos(&r, p);
    return HDP_OK;
}
