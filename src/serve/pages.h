/* pages.h — the static documents `hdp serve` hands out: the OpenAPI 3 description of the
 * API, the /docs page that shows it (no CDN), and the placeholder home page. */
#ifndef HDP_SERVE_PAGES_H
#define HDP_SERVE_PAGES_H

/* /openapi.json as served, malloc'ed: web/openapi.json when a token is configured (auth),
 * else the same without the bearer scheme, the operations' security and their 401 answers,
 * since no request is ever refused for want of a token. */
char *serve_openapi_render(int auth);
extern const char serve_docs_html[];
extern const char serve_index_html[];

#endif
