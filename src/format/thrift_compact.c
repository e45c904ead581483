#include "format/thrift_compact.h"

#include <string.h>

/* ------------------------------------------------------------------ writer */

void tc_writer_init(tc_writer *w, hdp_buf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

static uint64_t zigzag64(int64_t v)
{
    uint64_t u = (uint64_t)v;
    return (u << 1) ^ (0 - (u >> 63)); /* all ones when negative */
}

void tc_put_varint(tc_writer *w, uint64_t v)
{
    buf_put_uvarint(w->out, v);
}

void tc_put_i32(tc_writer *w, int32_t v)
{
    tc_put_varint(w, zigzag64(v));
}

void tc_put_i64(tc_writer *w, int64_t v)
{
    tc_put_varint(w, zigzag64(v));
}

void tc_put_binary(tc_writer *w, const void *p, size_t n)
{
    tc_put_varint(w, n);
    buf_append(w->out, p, n);
}

void tc_field(tc_writer *w, int type, int16_t id)
{
    int delta = id - w->last[w->depth];
    if (delta > 0 && delta <= 15) {
        buf_putc(w->out, (char)((delta << 4) | type));
    } else {
        buf_putc(w->out, (char)type);
        tc_put_varint(w, zigzag64(id));
    }
    w->last[w->depth] = id;
}

void tc_field_bool(tc_writer *w, int16_t id, int value)
{
    tc_field(w, value ? TC_BOOL_TRUE : TC_BOOL_FALSE, id);
}

void tc_field_i32(tc_writer *w, int16_t id, int32_t v)
{
    tc_field(w, TC_I32, id);
    tc_put_i32(w, v);
}

void tc_field_i64(tc_writer *w, int16_t id, int64_t v)
{
    tc_field(w, TC_I64, id);
    tc_put_i64(w, v);
}

void tc_field_binary(tc_writer *w, int16_t id, const void *p, size_t n)
{
    tc_field(w, TC_BINARY, id);
    tc_put_binary(w, p, n);
}

void tc_struct_begin(tc_writer *w)
{
    /* Writers build fixed, shallow shapes; overflowing the stack is a programming error. */
    if (w->depth + 1 >= TC_MAX_DEPTH)
        return;
    w->depth++;
    w->last[w->depth] = 0;
}

void tc_struct_end(tc_writer *w)
{
    buf_putc(w->out, TC_STOP);
    if (w->depth > 0)
        w->depth--;
}

void tc_list_begin(tc_writer *w, int elem_type, uint32_t n)
{
    if (n < 15) {
        buf_putc(w->out, (char)((n << 4) | (uint32_t)elem_type));
    } else {
        buf_putc(w->out, (char)(0xF0 | elem_type));
        tc_put_varint(w, n);
    }
}

/* ------------------------------------------------------------------ reader */

void tc_reader_init(tc_reader *r, const void *p, size_t n, hdp_err *e)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->end = r->p + n;
    r->e = e;
}

size_t tc_reader_pos(const tc_reader *r, const void *start)
{
    return (size_t)(r->p - (const uint8_t *)start);
}

int tc_fail(tc_reader *r, const char *what)
{
    if (!r->failed)
        hdp_fail(r->e, "thrift: %s", what);
    r->failed = 1;
    return -1;
}

int tc_read_varint(tc_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    if (r->failed)
        return -1;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return tc_fail(r, "truncated varint");
        uint8_t b = *r->p++;
        if (shift == 63 && (b & 0x7E))
            return tc_fail(r, "varint overflows 64 bits");
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return tc_fail(r, "varint too long");
}

int tc_read_i64(tc_reader *r, int64_t *v)
{
    uint64_t u;
    if (tc_read_varint(r, &u) < 0)
        return -1;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

int tc_read_i32(tc_reader *r, int32_t *v)
{
    int64_t x;
    if (tc_read_i64(r, &x) < 0)
        return -1;
    if (x < INT32_MIN || x > INT32_MAX)
        return tc_fail(r, "i32 out of range");
    *v = (int32_t)x;
    return 0;
}

int tc_read_i16(tc_reader *r, int16_t *v)
{
    int64_t x;
    if (tc_read_i64(r, &x) < 0)
        return -1;
    if (x < INT16_MIN || x > INT16_MAX)
        return tc_fail(r, "i16 out of range");
    *v = (int16_t)x;
    return 0;
}

int tc_read_byte(tc_reader *r, int8_t *v)
{
    if (r->failed)
        return -1;
    if (r->p >= r->end)
        return tc_fail(r, "truncated byte");
    *v = (int8_t)*r->p++;
    return 0;
}

int tc_read_binary(tc_reader *r, const uint8_t **p, size_t *n)
{
    uint64_t len;
    if (tc_read_varint(r, &len) < 0)
        return -1;
    if (len > (uint64_t)(r->end - r->p))
        return tc_fail(r, "binary longer than input");
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

int tc_read_bool_elem(tc_reader *r, int *v)
{
    int8_t b;
    if (tc_read_byte(r, &b) < 0)
        return -1;
    *v = b == 1;
    return 0;
}

int tc_read_field(tc_reader *r, int *type, int16_t *id)
{
    int8_t b;
    if (tc_read_byte(r, &b) < 0)
        return -1;
    uint8_t u = (uint8_t)b;
    if (u == TC_STOP)
        return 0;
    int t = u & 0x0F;
    int delta = u >> 4;
    if (t > TC_STRUCT)
        return tc_fail(r, "bad field type");
    if (delta) {
        *id = (int16_t)(r->last[r->depth] + delta);
    } else if (tc_read_i16(r, id) < 0) {
        return -1;
    }
    r->last[r->depth] = *id;
    *type = t;
    return 1;
}

int tc_struct_enter(tc_reader *r)
{
    if (r->failed)
        return -1;
    if (r->depth + 1 >= TC_MAX_DEPTH)
        return tc_fail(r, "values nested too deep");
    r->depth++;
    r->last[r->depth] = 0;
    return 0;
}

void tc_struct_leave(tc_reader *r)
{
    if (r->depth > 0)
        r->depth--;
}

int tc_read_list(tc_reader *r, int *elem_type, uint32_t *n)
{
    int8_t b;
    if (tc_read_byte(r, &b) < 0)
        return -1;
    uint8_t u = (uint8_t)b;
    uint64_t count = u >> 4;
    if (count == 15 && tc_read_varint(r, &count) < 0)
        return -1;
    *elem_type = u & 0x0F;
    if (*elem_type == TC_STOP || *elem_type > TC_STRUCT)
        return tc_fail(r, "bad list element type");
    if (count > (uint64_t)(r->end - r->p))
        return tc_fail(r, "list longer than input");
    *n = (uint32_t)count;
    return 0;
}

static int skip_bytes(tc_reader *r, size_t n)
{
    if (r->failed)
        return -1;
    if (n > (size_t)(r->end - r->p))
        return tc_fail(r, "truncated value");
    r->p += n;
    return 0;
}

int tc_skip(tc_reader *r, int type)
{
    uint64_t u;
    int8_t b;
    const uint8_t *bp;
    size_t bn;
    switch (type) {
    case TC_BOOL_TRUE:
    case TC_BOOL_FALSE:
        return r->failed ? -1 : 0; /* value lives in the field header */
    case TC_BYTE:
        return tc_read_byte(r, &b);
    case TC_I16:
    case TC_I32:
    case TC_I64:
        return tc_read_varint(r, &u);
    case TC_DOUBLE:
        return skip_bytes(r, 8);
    case TC_BINARY:
        return tc_read_binary(r, &bp, &bn);
    case TC_LIST:
    case TC_SET: {
        int et, rc = 0;
        uint32_t n;
        /* containers nest like structs, so hostile input cannot recurse off the stack */
        if (tc_read_list(r, &et, &n) < 0 || tc_struct_enter(r) < 0)
            return -1;
        for (uint32_t i = 0; i < n && rc == 0; i++) {
            /* bools inside containers take one byte each */
            int st = (et == TC_BOOL_TRUE || et == TC_BOOL_FALSE) ? TC_BYTE : et;
            rc = tc_skip(r, st);
        }
        tc_struct_leave(r);
        return rc;
    }
    case TC_MAP: {
        if (tc_read_varint(r, &u) < 0)
            return -1;
        if (u == 0)
            return 0;
        if (u > (uint64_t)(r->end - r->p))
            return tc_fail(r, "map longer than input");
        if (tc_read_byte(r, &b) < 0)
            return -1;
        int kt = ((uint8_t)b) >> 4, vt = b & 0x0F;
        kt = (kt == TC_BOOL_TRUE || kt == TC_BOOL_FALSE) ? TC_BYTE : kt;
        vt = (vt == TC_BOOL_TRUE || vt == TC_BOOL_FALSE) ? TC_BYTE : vt;
        if (kt == TC_STOP || vt == TC_STOP || kt > TC_STRUCT || vt > TC_STRUCT)
            return tc_fail(r, "bad map types");
        if (tc_struct_enter(r) < 0)
            return -1;
        int rc = 0;
        for (uint64_t i = 0; i < u && rc == 0; i++)
            rc = tc_skip(r, kt) < 0 || tc_skip(r, vt) < 0 ? -1 : 0;
        tc_struct_leave(r);
        return rc;
    }
    case TC_STRUCT: {
        int t, rc;
        int16_t id;
        if (tc_struct_enter(r) < 0)
            return -1;
        while (1) {
            rc = tc_read_field(r, &t, &id);
            if (rc <= 0)
                break;
            if (tc_skip(r, t) < 0) {
                rc = -1;
                break;
            }
        }
        tc_struct_leave(r);
        return rc;
    }
    default:
        return tc_fail(r, "unknown type");
    }
}
