/* telegram.h — the Telegram Bot API's sendMessage, for pipeline alerts.
 *
 * POST $api/bot<token>/sendMessage with {"chat_id", "text", "parse_mode": "HTML"}. The token
 * is part of the URL, so nothing here ever prints a URL: messages say "Telegram". */
#ifndef HDP_TELEGRAM_H
#define HDP_TELEGRAM_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct tg_target {
    const char *api;     /* base URL, e.g. https://api.telegram.org */
    const char *token;   /* the bot token (a secret) */
    const char *chat_id; /* the chat */
} tg_target;

/* Sends text (HTML parse mode: escape it with tg_escape_html). HDP_OK when Telegram said ok;
 * HDP_RETRY when it was unreachable, slow, answered 5xx or 429 (*retry_after_s then holds its
 * hint, else 0); HDP_ERR for a refusal no retry mends (401 bad token, 400 chat not found). */
int tg_send(const tg_target *t, const char *text, long timeout_ms, long *retry_after_s, hdp_err *e);

/* Appends s[0..n) escaped for Telegram's HTML parse mode (&, <, >). */
void tg_escape_html(hdp_buf *out, const char *s, size_t n);

#endif
