/* pages.c — static documents. The OpenAPI document is web/openapi.json, compiled in:
 * keep it in step with the routes in query.c (tests/integration/test_openapi.py checks that
 * every route is documented and every documented route answers). */
#include "serve/pages.h"

#include <jansson.h>
#include <stdlib.h>

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

const char serve_docs_html[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>hdp API</title>"
    "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
    "pre{background:#f4f4f4;padding:1em;overflow:auto}code{background:#f4f4f4}</style>"
    "</head><body><h1>hdp API</h1>"
    "<p>JSON everywhere. Money is a string with two decimals; errors are "
    "<code>{\"error\":{\"code\",\"message\"}}</code>. When HDP_API_TOKEN is set, /api/ needs "
    "<code>Authorization: Bearer &lt;token&gt;</code>.</p><ul id=\"paths\"></ul>"
    "<h2>OpenAPI document</h2><p><a href=\"/openapi.json\">/openapi.json</a></p>"
    "<pre id=\"spec\">loading...</pre>"
    "<script>fetch('/openapi.json').then(r=>r.json()).then(s=>{"
    "document.getElementById('spec').textContent=JSON.stringify(s,null,2);"
    "const ul=document.getElementById('paths');"
    "for(const [p,ops] of Object.entries(s.paths)){for(const [m,op] of Object.entries(ops)){"
    "const li=document.createElement('li');const a=document.createElement('a');a.href=p;"
    "a.textContent=m.toUpperCase()+' '+p;li.appendChild(a);"
    "li.appendChild(document.createTextNode(' \\u2014 '+(op.summary||'')));"
    "const ps=(op.parameters||[]).map(x=>x.name).join(', ');"
    "if(ps)li.appendChild(document.createTextNode(' (query: '+ps+')'));ul.appendChild(li);}}"
    "}).catch(e=>{document.getElementById('spec').textContent=String(e);});</script>"
    "</body></html>\n";

const char serve_index_html[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>hdp</title></head><body>"
    "<h1>hdp</h1><p>Order analytics: batch + speed. The dashboard comes later.</p><ul>"
    "<li><a href=\"/api/v1/revenue\">/api/v1/revenue</a></li>"
    "<li><a href=\"/api/v1/revenue/timeseries\">/api/v1/revenue/timeseries</a></li>"
    "<li><a href=\"/api/v1/revenue/by-city\">/api/v1/revenue/by-city</a></li>"
    "<li><a href=\"/api/v1/revenue/by-category\">/api/v1/revenue/by-category</a></li>"
    "<li><a href=\"/api/v1/cities/average-check\">/api/v1/cities/average-check</a></li>"
    "<li>/api/v1/users/{id}/history (and /api/v1/user/{id}/history)</li>"
    "<li><a href=\"/docs\">/docs</a> and <a href=\"/openapi.json\">/openapi.json</a></li>"
    "<li><a href=\"/health\">/health</a>, <a href=\"/metrics\">/metrics</a></li>"
    "</ul></body></html>\n";
