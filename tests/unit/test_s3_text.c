/* test_s3_text.c — SigV4 URI encoding and the XML extractor, on answers shaped like S3's. */
#include "unit.h"

#include "io/s3_text.h"

static void test_uri_encode(void **state)
{
    (void)state;
    hdp_buf b = HDP_BUF_INIT;
    s3_uri_encode(&b, "raw/a b+c/dt=2026-11-23/é~x_y.z", 1);
    assert_string_equal(b.data, "raw/a%20b%2Bc/dt%3D2026-11-23/%C3%A9~x_y.z");
    buf_reset(&b);
    s3_uri_encode(&b, "a/b=c&d", 0);
    assert_string_equal(b.data, "a%2Fb%3Dc%26d");
    buf_free(&b);
}

static const char page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>p/a&amp;b &lt;1&gt;</Key><LastModified>x</LastModified>"
    "<ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents>"
    "<Contents><Key>p/&#233;&#x263A;</Key><Size>0</Size></Contents>"
    "<NextContinuationToken>tok/+=</NextContinuationToken><KeyStuff/>"
    "</ListBucketResult>";

static void test_xml_list_page(void **state)
{
    (void)state;
    size_t pos = 0, n = sizeof(page) - 1;
    const char *blk, *v;
    size_t blen, vl;
    hdp_buf out = HDP_BUF_INIT;
    assert_true(s3_xml_block(page, n, &pos, "Contents", &blk, &blen));
    size_t p = 0;
    assert_true(s3_xml_find(blk, blen, &p, "Key", &v, &vl));
    assert_int_equal(s3_xml_unescape(&out, v, vl), 0);
    assert_string_equal(out.data, "p/a&b <1>");
    p = 0;
    assert_true(s3_xml_find(blk, blen, &p, "Size", &v, &vl));
    assert_int_equal(vl, 2);
    assert_memory_equal(v, "12", 2);
    assert_true(s3_xml_block(page, n, &pos, "Contents", &blk, &blen));
    p = 0;
    assert_true(s3_xml_find(blk, blen, &p, "Key", &v, &vl));
    buf_reset(&out);
    assert_int_equal(s3_xml_unescape(&out, v, vl), 0);
    assert_string_equal(out.data, "p/\xC3\xA9\xE2\x98\xBA");
    assert_false(s3_xml_block(page, n, &pos, "Contents", &blk, &blen));
    pos = 0;
    assert_true(s3_xml_find(page, n, &pos, "IsTruncated", &v, &vl));
    assert_memory_equal(v, "true", 4);
    pos = 0;
    assert_true(s3_xml_find(page, n, &pos, "NextContinuationToken", &v, &vl));
    assert_memory_equal(v, "tok/+=", 6);
    pos = 0;
    /* "Key" must not match <KeyCount> or <KeyStuff/> */
    assert_true(s3_xml_find(page, n, &pos, "KeyStuff", &v, &vl));
    assert_int_equal(vl, 0);
    pos = 0;
    assert_false(s3_xml_find(page, n, &pos, "Missing", &v, &vl));
    buf_free(&out);
}

static void test_xml_bad_input(void **state)
{
    (void)state;
    hdp_buf out = HDP_BUF_INIT;
    assert_int_equal(s3_xml_unescape(&out, "a&b", 3), -1);
    assert_int_equal(s3_xml_unescape(&out, "&bogus;", 7), -1);
    assert_int_equal(s3_xml_unescape(&out, "&#;", 3), -1);
    assert_int_equal(s3_xml_unescape(&out, "&#x110000;", 10), -1);
    assert_int_equal(s3_xml_unescape(&out, "&#0;", 4), -1);
    const char *v;
    size_t vl, pos = 0;
    const char trunc[] = "<Key>abc";
    assert_false(s3_xml_find(trunc, sizeof(trunc) - 1, &pos, "Key", &v, &vl));
    pos = 0;
    assert_false(s3_xml_find("", 0, &pos, "Key", &v, &vl));
    pos = 0;
    assert_false(s3_xml_block("<Contents>", 10, &pos, "Contents", &v, &vl));
    buf_free(&out);
    char line[16];
    s3_one_line(line, sizeof(line), "a\nb\rc\td and more text", 22);
    assert_string_equal(line, "a b c d and mor");
    buf_reset(&out);
    s3_xml_escape(&out, "\"e\"&<'>");
    assert_string_equal(out.data, "&quot;e&quot;&amp;&lt;&apos;&gt;");
    buf_free(&out);
}

/* Found by fuzz_s3_xml under ASan: an empty value (<Key></Key>, <Key/>) unescaped into a fresh
 * buffer left it allocated but unterminated, and the listing handed that garbage to its callback as
 * the key. Buffers are NUL-terminated as soon as they own memory. */
static void test_empty_value_is_an_empty_string(void **state)
{
    (void)state;
    const char doc[] = "<Contents><Key/><Size>0</Size></Contents>";
    const char *v;
    size_t vl, pos = 0;
    assert_true(s3_xml_find(doc, sizeof(doc) - 1, &pos, "Key", &v, &vl));
    hdp_buf key = HDP_BUF_INIT;
    assert_int_equal(s3_xml_unescape(&key, v, vl), 0);
    assert_int_equal(key.len, 0);
    assert_non_null(key.data);
    assert_int_equal(strlen(key.data), 0);
    buf_free(&key);
    hdp_buf b = HDP_BUF_INIT;
    buf_reserve(&b, 100);
    assert_int_equal(b.data[0], '\0');
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_value_is_an_empty_string),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_xml_list_page),
        cmocka_unit_test(test_xml_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
