/* thrift_compact.h — Apache Thrift compact protocol, the encoding of Parquet metadata.
 *
 * Writer: appends to a caller-owned hdp_buf. Field ids are delta-encoded against the last
 * field of the enclosing struct, so structs must be bracketed with tc_struct_begin/end.
 * Writing cannot fail (buffers abort on OOM).
 *
 * Reader: a cursor over a borrowed byte range. Every read checks bounds; the first failure
 * records a message in the reader's hdp_err and makes every later call fail too, so a
 * decoder may check once per struct. Nesting is limited to TC_MAX_DEPTH levels. */
#ifndef HDP_THRIFT_COMPACT_H
#define HDP_THRIFT_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* Compact protocol type ids. A bool field carries its value in the type (TRUE/FALSE). */
enum {
    TC_STOP = 0,
    TC_BOOL_TRUE = 1,
    TC_BOOL_FALSE = 2,
    TC_BYTE = 3,
    TC_I16 = 4,
    TC_I32 = 5,
    TC_I64 = 6,
    TC_DOUBLE = 7,
    TC_BINARY = 8,
    TC_LIST = 9,
    TC_SET = 10,
    TC_MAP = 11,
    TC_STRUCT = 12,
};

#define TC_MAX_DEPTH 32

/* ------------------------------------------------------------------ writer */

typedef struct tc_writer {
    hdp_buf *out;
    int depth;
    int16_t last[TC_MAX_DEPTH]; /* last field id per open struct; [0] is the top level */
} tc_writer;

void tc_writer_init(tc_writer *w, hdp_buf *out);

/* Field header for field `id` of type `type` in the current struct. For bool fields use
 * tc_field_bool, which writes header and value in one byte. */
void tc_field(tc_writer *w, int type, int16_t id);
void tc_field_bool(tc_writer *w, int16_t id, int value);
void tc_field_i32(tc_writer *w, int16_t id, int32_t v);
void tc_field_i64(tc_writer *w, int16_t id, int64_t v);
void tc_field_binary(tc_writer *w, int16_t id, const void *p, size_t n);

/* Opens a nested struct (after its field header or as a list element) and closes it with
 * a STOP byte. A top-level struct is also bracketed by begin/end. */
void tc_struct_begin(tc_writer *w);
void tc_struct_end(tc_writer *w);

/* List header: element type and count; then write `n` bare values. */
void tc_list_begin(tc_writer *w, int elem_type, uint32_t n);

/* Bare values (list elements or after tc_field). */
void tc_put_varint(tc_writer *w, uint64_t v);
void tc_put_i32(tc_writer *w, int32_t v);
void tc_put_i64(tc_writer *w, int64_t v);
void tc_put_binary(tc_writer *w, const void *p, size_t n);

/* ------------------------------------------------------------------ reader */

typedef struct tc_reader {
    const uint8_t *p;
    const uint8_t *end;
    hdp_err *e;
    int failed;
    int depth;
    int16_t last[TC_MAX_DEPTH];
} tc_reader;

void tc_reader_init(tc_reader *r, const void *p, size_t n, hdp_err *e);

/* Number of bytes consumed since `start`. */
size_t tc_reader_pos(const tc_reader *r, const void *start);

/* Reads the next field header of the current struct. Returns 1 with *type and *id set,
 * 0 at the struct's STOP byte, or -1 on error. For bool fields *type is TC_BOOL_TRUE or
 * TC_BOOL_FALSE and no value follows. */
int tc_read_field(tc_reader *r, int *type, int16_t *id);

int tc_struct_enter(tc_reader *r); /* before a nested struct's first field; -1 if too deep */
void tc_struct_leave(tc_reader *r);

/* List/set header: element type and count. The count is checked against the remaining
 * bytes (every element encodes to at least one byte), so a corrupt count cannot make the
 * caller allocate more than the input justifies. */
int tc_read_list(tc_reader *r, int *elem_type, uint32_t *n);

int tc_read_varint(tc_reader *r, uint64_t *v);
int tc_read_i32(tc_reader *r, int32_t *v); /* zigzag varint that must fit 32 bits */
int tc_read_i64(tc_reader *r, int64_t *v);
int tc_read_i16(tc_reader *r, int16_t *v);
int tc_read_byte(tc_reader *r, int8_t *v);
/* Binary/string: *p points into the input, valid as long as the input is. */
int tc_read_binary(tc_reader *r, const uint8_t **p, size_t *n);
/* A bool list element (one byte: 1 true, anything else false). */
int tc_read_bool_elem(tc_reader *r, int *v);

/* Skips one value of the given type (recursively for structs, lists, sets and maps). */
int tc_skip(tc_reader *r, int type);

/* Records an error (first one wins) and returns -1. */
int tc_fail(tc_reader *r, const char *what);

#endif
