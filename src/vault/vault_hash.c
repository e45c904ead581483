#include "vault/vault_hash.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/timeutil.h"

static int is_trim(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void vh_init(vh_builder *h)
{
    h->s = (hdp_buf)HDP_BUF_INIT;
    h->nparts = 0;
    h->md_ctx = EVP_MD_CTX_new();
    if (h->md_ctx == NULL)
        abort(); /* out of memory, as x* allocators do */
}

void vh_free(vh_builder *h)
{
    buf_free(&h->s);
    EVP_MD_CTX_free(h->md_ctx);
    h->md_ctx = NULL;
}

void vh_begin(vh_builder *h)
{
    buf_reset(&h->s);
    h->nparts = 0;
}

static void separate(vh_builder *h)
{
    if (h->nparts++ > 0)
        buf_append(&h->s, "||", 2);
}

void vh_null(vh_builder *h)
{
    separate(h);
    buf_append(&h->s, "^^", 2);
}

void vh_str(vh_builder *h, const char *s, size_t n)
{
    if (s == NULL) {
        vh_null(h);
        return;
    }
    separate(h);
    while (n > 0 && is_trim((unsigned char)s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_trim((unsigned char)s[n - 1]))
        n--;
    buf_reserve(&h->s, n);
    char *d = h->s.data + h->s.len;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        d[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    h->s.len += n;
    h->s.data[h->s.len] = '\0';
}

void vh_i64(vh_builder *h, int64_t v)
{
    separate(h);
    buf_put_i64(&h->s, v);
}

void vh_money(vh_builder *h, int64_t cents)
{
    separate(h);
    decimal_put(&h->s, cents);
}

void vh_ts(vh_builder *h, int64_t unix_us)
{
    char ts[32];
    ts_format(unix_us, ts);
    vh_str(h, ts, strlen(ts)); /* 'T' and 'Z' are upper case already */
}

void vh_bool(vh_builder *h, int v)
{
    vh_str(h, v ? "true" : "false", v ? 4 : 5);
}

void vh_end(vh_builder *h, uint8_t out[VH_LEN])
{
    unsigned int n = 0;
    EVP_MD_CTX *ctx = h->md_ctx;
    if (!EVP_DigestInit_ex(ctx, EVP_md5(), NULL) ||
        !EVP_DigestUpdate(ctx, h->s.data ? h->s.data : "", h->s.len) ||
        !EVP_DigestFinal_ex(ctx, out, &n) || n != VH_LEN)
        abort(); /* MD5 is always available in libcrypto; failing here is a broken install */
}

const char *vh_text(const vh_builder *h, size_t *len)
{
    if (len)
        *len = h->s.len;
    return h->s.data ? h->s.data : "";
}

void vh_put_copy_hex(hdp_buf *b, const uint8_t key[VH_LEN])
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(b, 3 + 2 * VH_LEN);
    char *d = b->data + b->len;
    *d++ = '\\';
    *d++ = '\\';
    *d++ = 'x';
    for (int i = 0; i < VH_LEN; i++) {
        *d++ = hex[key[i] >> 4];
        *d++ = hex[key[i] & 15];
    }
    b->len += 3 + 2 * VH_LEN;
    b->data[b->len] = '\0';
}
