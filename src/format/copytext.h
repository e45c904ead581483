/* copytext.h — values in PostgreSQL's COPY text format (tab-separated columns, \N for NULL,
 * one row a line): the escapes every COPY writer needs. */
#ifndef HDP_FORMAT_COPYTEXT_H
#define HDP_FORMAT_COPYTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Appends s with COPY text escapes: backslash, tab, newline and carriage return. */
void copy_put_text(hdp_buf *b, const char *s);
void copy_put_textn(hdp_buf *b, const char *s, size_t n);

/* Appends a UTC timestamp as "YYYY-MM-DD HH:MM:SS.ffffff+00" (unix_us from year 1 to 9999). */
void copy_put_ts(hdp_buf *b, int64_t unix_us);

#endif
