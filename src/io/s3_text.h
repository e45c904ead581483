/* s3_text.h — the text side of the S3 protocol, pure and without I/O: SigV4 URI encoding
 * and a small, careful extractor for the few XML elements hdp reads from S3 answers. */
#ifndef HDP_IO_S3_TEXT_H
#define HDP_IO_S3_TEXT_H

#include <stddef.h>

#include "core/buf.h"

/* Appends s URI-encoded per SigV4: every byte but A-Z a-z 0-9 - _ . ~ becomes %XX
 * (upper-case hex); the slash is kept when keep_slash (object keys), encoded otherwise (query
 * values). */
void s3_uri_encode(hdp_buf *out, const char *s, int keep_slash);

/* Finds the first <tag>...</tag> in [doc, doc+len) starting at *pos; on success sets
 * *val, *vlen to the raw (still escaped) text between the tags, advances *pos past the
 * closing tag and returns 1; returns 0 when there is none. <tag/> is an empty value. */
int s3_xml_find(const char *doc, size_t len, size_t *pos, const char *tag, const char **val,
                size_t *vlen);

/* Like s3_xml_find for a container element: the text between <tag> and the next </tag>
 * (the same tag must not nest, as with S3's <Contents>). */
int s3_xml_block(const char *doc, size_t len, size_t *pos, const char *tag, const char **val,
                 size_t *vlen);

/* Appends the XML text [s, s+n) with &amp; &lt; &gt; &quot; &apos; and &#N; / &#xN;
 * decoded (UTF-8). Returns -1 on a malformed or unknown entity, 0 otherwise. */
int s3_xml_unescape(hdp_buf *out, const char *s, size_t n);

/* Appends s with & < > " ' escaped, for XML we send. */
void s3_xml_escape(hdp_buf *out, const char *s);

/* Copies at most outlen-1 bytes of [s, s+n) into out, with control characters turned into
 * spaces, so a server's text cannot break our one-line messages. */
void s3_one_line(char *out, size_t outlen, const char *s, size_t n);

#endif
