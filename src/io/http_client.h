/* http_client.h — blocking HTTP GET over libcurl, for hdp's own clients (reconcile, alerts).
 * The body is collected into a caller-owned buffer. */
#ifndef HDP_HTTP_CLIENT_H
#define HDP_HTTP_CLIENT_H

#include "core/buf.h"
#include "core/err.h"

/* GETs url (bearer token when not NULL/empty) into body; *status gets the HTTP code.
 * HDP_ERR only when no HTTP answer came (refused, timeout). */
int http_get(const char *url, const char *bearer, long timeout_ms, long *status, hdp_buf *body,
             hdp_err *e);

#endif
