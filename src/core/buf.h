/* buf.h — a growable byte buffer, always NUL-terminated (like Redis' sds, but a struct).
 *
 * The buffer owns its memory; buf_free() releases it and accepts a zeroed buffer.
 * Allocation failure aborts: hdp does not try to run on in an out-of-memory state. */
#ifndef HDP_BUF_H
#define HDP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct hdp_buf {
    char *data;
    size_t len;
    size_t cap;
} hdp_buf;

#define HDP_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_free(hdp_buf *b);
void buf_reset(hdp_buf *b);                 /* len = 0, keeps capacity */
void buf_reserve(hdp_buf *b, size_t extra); /* room for `extra` more bytes + NUL */
void buf_append(hdp_buf *b, const void *p, size_t n);
void buf_puts(hdp_buf *b, const char *s);
void buf_putc(hdp_buf *b, char c);
void buf_printf(hdp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_put_i64(hdp_buf *b, int64_t v);
/* buf_append and buf_putc for hot loops (encoders writing a value at a time): the common
 * case, room left, inline. */
static inline void buf_append_fast(hdp_buf *b, const void *p, size_t n)
{
    if (b->len + n < b->cap) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
    } else {
        buf_append(b, p, n);
    }
}

static inline void buf_putc_fast(hdp_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
    } else {
        buf_putc(b, c);
    }
}

/* Appends v as an unsigned LEB128 varint (Thrift compact and Parquet RLE headers). */
void buf_put_uvarint(hdp_buf *b, uint64_t v);
/* Appends s as a JSON string literal, quotes included. */
void buf_put_json_str(hdp_buf *b, const char *s, size_t n);
/* Takes the bytes out: the caller owns the returned pointer, the buffer is empty again. */
char *buf_detach(hdp_buf *b);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
