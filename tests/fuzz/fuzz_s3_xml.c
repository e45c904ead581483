/* fuzz_s3_xml — the text side of S3: answers of ListObjectsV2 (Contents/Key/Size,
 * IsTruncated, NextContinuationToken), CreateMultipartUpload (UploadId) and error bodies
 * (Code, Message), read the way src/io/s3.c reads them, and SigV4 URI encoding.
 *
 * The input is one XML answer. Invariants: every value found lies inside the document, holds
 * no '<' (a leaf) and ends before the position returned, and positions only move forward;
 * unescaping then escaping then unescaping gives the same text; s3_one_line leaves no control
 * character; URI encoding emits only unreserved bytes and %XX and decodes back to its input. */
#include "fuzz.h"

#include "core/buf.h"
#include "io/s3_text.h"

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void check_uri(const char *s)
{
    for (int keep = 0; keep < 2; keep++) {
        hdp_buf b = HDP_BUF_INIT, d = HDP_BUF_INIT;
        s3_uri_encode(&b, s, keep);
        for (size_t i = 0; i < b.len; i++) {
            char c = b.data[i];
            if (c == '%') {
                FUZZ_CHECK(i + 2 < b.len && unhex(b.data[i + 1]) >= 0 && unhex(b.data[i + 2]) >= 0);
                buf_putc(&d, (char)(unhex(b.data[i + 1]) << 4 | unhex(b.data[i + 2])));
                i += 2;
                continue;
            }
            FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '~' || (keep && c == '/'));
            buf_putc(&d, c);
        }
        FUZZ_CHECK(d.len == strlen(s) && (d.len == 0 || memcmp(d.data, s, d.len) == 0));
        buf_free(&b);
        buf_free(&d);
    }
}

/* Unescapes a found value and checks the escape/unescape round trip; returns the text
 * (owned by the caller) or NULL when it does not unescape. */
static char *text_of(const char *v, size_t vl, size_t *n)
{
    hdp_buf t = HDP_BUF_INIT;
    if (s3_xml_unescape(&t, v, vl) != 0) {
        buf_free(&t);
        return NULL;
    }
    const char *s = t.data ? t.data : "";
    if (memchr(s, '\0', t.len) == NULL) {
        hdp_buf esc = HDP_BUF_INIT, back = HDP_BUF_INIT;
        s3_xml_escape(&esc, s);
        FUZZ_CHECK(s3_xml_unescape(&back, esc.data ? esc.data : "", esc.len) == 0);
        FUZZ_CHECK(back.len == t.len && (t.len == 0 || memcmp(back.data, s, t.len) == 0));
        buf_free(&esc);
        buf_free(&back);
    }
    char line[256];
    s3_one_line(line, sizeof(line), s, t.len);
    FUZZ_CHECK(strlen(line) < sizeof(line));
    for (const char *p = line; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    *n = t.len;
    return buf_detach(&t);
}

/* s3_xml_find with its invariants. */
static int find(const char *doc, size_t len, size_t *pos, const char *tag, const char **v,
                size_t *vl)
{
    size_t before = *pos;
    if (!s3_xml_find(doc, len, pos, tag, v, vl)) {
        FUZZ_CHECK(*pos == before);
        return 0;
    }
    FUZZ_CHECK(*pos > before && *pos <= len);
    FUZZ_CHECK(*v >= doc && *vl <= (size_t)(doc + *pos - *v));
    FUZZ_CHECK(memchr(*v, '<', *vl) == NULL);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    const char *v, *blk;
    size_t vl, blen, pos = 0, n;
    char *s;
    /* ListObjectsV2: each <Contents> block, then its Key and Size */
    for (int k = 0; k < 1000; k++) {
        size_t before = pos;
        if (!s3_xml_block(doc, size, &pos, "Contents", &blk, &blen))
            break;
        FUZZ_CHECK(pos > before && pos <= size && blk >= doc && blk + blen <= doc + pos);
        size_t p1 = 0, p2 = 0;
        if (find(blk, blen, &p1, "Key", &v, &vl) && (s = text_of(v, vl, &n)) != NULL) {
            check_uri(s);
            free(s);
        }
        if (find(blk, blen, &p2, "Size", &v, &vl) && (s = text_of(v, vl, &n)) != NULL)
            free(s);
    }
    static const char *const tags[] = {
        "IsTruncated", "NextContinuationToken", "UploadId", "Code", "Message", "Key"};
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        pos = 0;
        for (int k = 0; k < 1000 && find(doc, size, &pos, tags[t], &v, &vl); k++)
            if ((s = text_of(v, vl, &n)) != NULL)
                free(s);
    }
    /* the document itself as one line (an error body shown in a message) */
    char line[512];
    s3_one_line(line, sizeof(line), doc, size);
    return 0;
}
