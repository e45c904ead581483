/* http_client.h — blocking HTTP GET and POST over libcurl, for hdp's own clients (reconcile,
 * the Telegram alerts). The body is collected into a caller-owned buffer. */
#ifndef HDP_HTTP_CLIENT_H
#define HDP_HTTP_CLIENT_H

#include "core/buf.h"
#include "core/err.h"

/* GETs url (bearer token when not NULL/empty) into body; *status gets the HTTP code.
 * HDP_ERR only when no HTTP answer came (refused, timeout). */
int http_get(const char *url, const char *bearer, long timeout_ms, long *status, hdp_buf *body,
             hdp_err *e);

/* POSTs data (content_type) to url; *status gets the HTTP code, body the answer. Messages
 * name `label`, never the URL (a Telegram URL carries the bot token). HDP_RETRY when no
 * HTTP answer came (refused, timeout, reset). */
int http_post(const char *url, const char *label, const char *content_type, const char *data,
              size_t len, long timeout_ms, long *status, hdp_buf *body, hdp_err *e);

#endif
