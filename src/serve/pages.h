/* pages.h — the static documents `hdp serve` hands out, all compiled in (no CDN): the
 * OpenAPI 3 description of the API, /docs (Swagger UI of it), the portal at / and the files
 * both load from /assets/. */
#ifndef HDP_SERVE_PAGES_H
#define HDP_SERVE_PAGES_H

/* /openapi.json as served, malloc'ed: web/openapi.json when a token is configured (auth),
 * else the same without the bearer scheme, the operations' security and their 401 answers,
 * since no request is ever refused for want of a token. */
char *serve_openapi_render(int auth);

#include <stddef.h>

/* A compiled-in document: its bytes (static, never freed), length, Content-Type and
 * Cache-Control values. */
typedef struct serve_page {
    const char *body;
    size_t len;
    const char *ctype;
    const char *cache;
} serve_page;

/* The portal (web/index.html) when docs is 0, else /docs (web/docs.html). */
serve_page serve_html(int docs);
/* /assets/<name> (name from serve_asset_name): a library from npm (assets/<name>, cached for
 * a day) or the portal's own script or style (web/<name>, revalidated every time). Only .js
 * and .css are served. 0 when there is no such asset. */
int serve_asset(const char *name, serve_page *out);

#endif
