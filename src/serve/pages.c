/* pages.c — static documents. The OpenAPI document is web/openapi.json, compiled in:
 * keep it in step with the routes in query.c (tests/integration/test_openapi.py checks that
 * every route is documented and every documented route answers). */
#include "serve/pages.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/embedded.h"

#define OPENAPI_FILE "web/openapi.json"

char *serve_openapi_render(int auth)
{
    const char *spec = embedded_get(OPENAPI_FILE, NULL);
    if (spec == NULL) /* cannot happen: the Makefile embeds web/ */
        return xstrdup("{}");
    if (auth)
        return xstrdup(spec);
    json_t *doc = json_loads(spec, 0, NULL);
    if (doc == NULL) /* cannot happen: test_openapi.py parses the document */
        return xstrdup(spec);
    json_object_del(json_object_get(doc, "components"), "securitySchemes");
    json_object_del(doc, "security");
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            /* without a token nothing is refused for want of one (triggering runs is off:
             * its 403 stays) */
            json_object_del(op, "security");
            json_object_del(json_object_get(op, "responses"), "401");
        }
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (text == NULL)
        return xstrdup(spec);
    char *out = xstrdup(text); /* ours to free with free(), whatever jansson allocates with */
    free(text);
    return out;
}

serve_page serve_html(int docs)
{
    serve_page p = {NULL, 0, "text/html; charset=utf-8", "no-cache"};
    p.body = embedded_get(docs ? "web/docs.html" : "web/index.html", &p.len);
    if (p.body == NULL) /* cannot happen: the Makefile embeds web/ */
        p.body = "", p.len = 0;
    return p;
}

static const struct {
    const char *ext;
    const char *ctype;
} asset_types[] = {
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
};

int serve_asset(const char *name, serve_page *out)
{
    size_t n = strlen(name);
    out->ctype = NULL;
    for (size_t i = 0; i < sizeof(asset_types) / sizeof(asset_types[0]); i++) {
        size_t el = strlen(asset_types[i].ext);
        if (n > el && strcmp(name + n - el, asset_types[i].ext) == 0)
            out->ctype = asset_types[i].ctype;
    }
    if (out->ctype == NULL || n > 200)
        return 0;
    char path[256];
    snprintf(path, sizeof(path), "assets/%s", name);
    out->cache = "public, max-age=86400"; /* pinned by package-lock.json */
    out->body = embedded_get(path, &out->len);
    if (out->body == NULL) {
        snprintf(path, sizeof(path), "web/%s", name);
        out->cache = "no-cache"; /* changes with the binary: revalidate */
        out->body = embedded_get(path, &out->len);
    }
    return out->body != NULL;
}
