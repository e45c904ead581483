#include "io/http_client.h"

#include <curl/curl.h>
#include <stdio.h>

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

int http_get(const char *url, const char *bearer, long timeout_ms, long *status, hdp_buf *body,
             hdp_err *e)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return hdp_fail(e, "curl_easy_init failed");
    struct curl_slist *hdrs = NULL;
    if (bearer && bearer[0]) {
        char h[512];
        snprintf(h, sizeof(h), "Authorization: Bearer %s", bearer);
        hdrs = curl_slist_append(hdrs, h);
    }
    buf_reset(body);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    int out = HDP_OK;
    if (rc != CURLE_OK)
        out = hdp_fail(e, "GET %s: %s", url, curl_easy_strerror(rc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return out;
}

int http_post(const char *url, const char *label, const char *content_type, const char *data,
              size_t len, long timeout_ms, long *status, hdp_buf *body, hdp_err *e)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return hdp_fail(e, "curl_easy_init failed");
    struct curl_slist *hdrs = NULL;
    char h[256];
    snprintf(h, sizeof(h), "Content-Type: %s", content_type);
    hdrs = curl_slist_append(hdrs, h);
    hdrs = curl_slist_append(hdrs, "Expect:");
    buf_reset(body);
    *status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(c);
    int out = HDP_OK;
    if (rc != CURLE_OK) /* curl's own text, never the URL */
        out = hdp_retry(e, "%s: %s", label, curl_easy_strerror(rc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return out;
}
