#include "io/telegram.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "io/http_client.h"

void tg_escape_html(hdp_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':
            buf_puts(out, "&amp;");
            break;
        case '<':
            buf_puts(out, "&lt;");
            break;
        case '>':
            buf_puts(out, "&gt;");
            break;
        default:
            buf_putc(out, s[i]);
        }
    }
}

/* Masks the bot token in s (Telegram's description of a refusal: a proxy may echo the URL
 * it was asked for). The part after ':' is what is masked, so a percent-encoded echo
 * ("123%3AAbc") is caught too. */
static void mask_token(char *s, const char *token)
{
    const char *colon = strchr(token, ':');
    const char *secret = colon && colon[1] ? colon + 1 : token;
    size_t n = strlen(secret);
    if (n == 0)
        return;
    for (char *p = strstr(s, secret); p; p = strstr(p, secret)) {
        if (n >= 3) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + n, strlen(p + n) + 1);
            p += 3;
        } else {
            memset(p, '*', n);
            p += n;
        }
    }
}

int tg_send(const tg_target *t, const char *text, long timeout_ms, long *retry_after_s, hdp_err *e)
{
    *retry_after_s = 0;
    hdp_buf url = HDP_BUF_INIT, body = HDP_BUF_INIT, resp = HDP_BUF_INIT;
    buf_printf(&url, "%s/bot%s/sendMessage", t->api, t->token);
    buf_puts(&body, "{\"chat_id\":");
    buf_put_json_str(&body, t->chat_id, strlen(t->chat_id));
    buf_puts(&body, ",\"parse_mode\":\"HTML\",\"disable_web_page_preview\":true,\"text\":");
    buf_put_json_str(&body, text, strlen(text));
    buf_putc(&body, '}');
    long status = 0;
    int rc = http_post(url.data, "Telegram", "application/json", body.data, body.len, timeout_ms,
                       &status, &resp, e);
    memset(url.data, 0, url.len); /* the token is in it */
    if (rc == HDP_OK && status != 200) {
        json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
        const char *desc = json_string_value(json_object_get(j, "description"));
        json_t *params = json_object_get(j, "parameters");
        json_t *ra = json_object_get(params, "retry_after");
        if (json_is_integer(ra))
            *retry_after_s = (long)json_integer_value(ra);
        hdp_buf d = HDP_BUF_INIT; /* masked whole, then cut: no piece of the token stays */
        buf_puts(&d, desc ? desc : "no description");
        mask_token(d.data, t->token);
        char why[200];
        snprintf(why, sizeof(why), "%.180s", d.data);
        buf_free(&d);
        if (status == 429 || status >= 500)
            rc = hdp_retry(e, "Telegram answered HTTP %ld: %s", status, why);
        else
            rc = hdp_fail(e, "Telegram refused the message (HTTP %ld): %s", status, why);
        json_decref(j);
    }
    buf_free(&url);
    buf_free(&body);
    buf_free(&resp);
    return rc;
}
