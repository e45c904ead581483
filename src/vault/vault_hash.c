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
    /* fetched once: EVP_md5() in EVP_DigestInit_ex looks the algorithm up under a lock on
     * every call, which cost more than the hash itself */
    h->md = EVP_MD_fetch(NULL, "MD5", NULL);
    if (h->md_ctx == NULL || h->md == NULL)
        abort(); /* out of memory, or a libcrypto without MD5: nothing to recover */
}

void vh_free(vh_builder *h)
{
    buf_free(&h->s);
    EVP_MD_CTX_free(h->md_ctx);
    EVP_MD_free(h->md);
    h->md_ctx = NULL;
    h->md = NULL;
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
    if (!EVP_DigestInit_ex2(ctx, h->md, NULL) ||
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
