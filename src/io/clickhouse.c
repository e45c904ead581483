/* clickhouse.c — the ClickHouse HTTP client (see clickhouse.h): client, one request with its
 * classification of failures, the retry loop, then the calls. */
#include "io/clickhouse.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "core/url.h"

#define ERR_BODY_MAX (64 * 1024) /* of an error answer we keep this much */

struct ch_client {
    CURL *curl;
    hdp_ch_addr addr;
    char base[300]; /* scheme://host:port/ without credentials */
    char desc[700];
    struct curl_slist *auth; /* X-ClickHouse-User / -Key, or NULL for the default user */
    ch_limits lim;
    uint64_t rng;
    int last_code;
};

/* ------------------------------------------------------------------ client */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Appends "Name: value" to the list, wiping the temporary copy (it may hold the password). */
static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value)
{
    hdp_buf b = HDP_BUF_INIT;
    buf_printf(&b, "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(l, b.data);
    memset(b.data, 0, b.len);
    buf_free(&b);
    return n;
}

ch_client *ch_open(const char *url, const ch_limits *lim, hdp_err *e)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        hdp_fail(e, "ClickHouse: libcurl init failed: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    ch_client *c = xcalloc(1, sizeof(*c));
    char why[128];
    if (ch_url_parse(url, &c->addr, why, sizeof(why)) != 0) {
        hdp_fail(e, "ClickHouse URL: %s", why);
        ch_close(c);
        return NULL;
    }
    ch_url_describe(&c->addr, c->desc, sizeof(c->desc));
    int v6 = strchr(c->addr.host, ':') != NULL;
    snprintf(c->base, sizeof(c->base), "%s://%s%s%s:%d/", c->addr.https ? "https" : "http",
             v6 ? "[" : "", c->addr.host, v6 ? "]" : "", c->addr.port);
    if (c->addr.user[0]) {
        c->auth = add_header(NULL, "X-ClickHouse-User", c->addr.user);
        if (c->auth)
            c->auth = add_header(c->auth, "X-ClickHouse-Key", c->addr.password);
        if (c->auth == NULL) {
            hdp_fail(e, "ClickHouse: out of memory");
            ch_close(c);
            return NULL;
        }
    }
    if (lim)
        c->lim = *lim;
    if (c->lim.connect_timeout_ms <= 0)
        c->lim.connect_timeout_ms = 5000;
    if (c->lim.timeout_ms <= 0)
        c->lim.timeout_ms = 300000;
    if (c->lim.max_tries <= 0)
        c->lim.max_tries = 4;
    if (c->lim.backoff_ms <= 0)
        c->lim.backoff_ms = 200;
    if (getrandom(&c->rng, sizeof(c->rng), 0) != (ssize_t)sizeof(c->rng))
        c->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
    c->rng |= 1;
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        hdp_fail(e, "ClickHouse: cannot create a curl handle");
        ch_close(c);
        return NULL;
    }
    return c;
}

void ch_close(ch_client *c)
{
    if (c == NULL)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    for (struct curl_slist *l = c->auth; l; l = l->next)
        memset(l->data, 0, strlen(l->data));
    curl_slist_free_all(c->auth);
    memset(&c->addr, 0, sizeof(c->addr));
    free(c);
}

const char *ch_describe(const ch_client *c)
{
    return c ? c->desc : "";
}

const char *ch_database(const ch_client *c)
{
    return c ? c->addr.database : "";
}

int ch_last_code(const ch_client *c)
{
    return c ? c->last_code : 0;
}

/* ------------------------------------------------------------------ one request */

typedef struct ch_req {
    const char *body_sql;  /* exec/query: the statement, sent as the body */
    const char *url_query; /* insert: the INSERT, sent as the query= parameter */
    const void *data;      /* insert: a body in memory ... */
    size_t data_len;
    ch_body_fn produce; /* ... or produced while sending */
    void *pctx;
    ch_chunk_fn sink; /* where result bytes go; NULL: discarded */
    void *sctx;
    int resend; /* may be resent after it reached the server */
    const ch_call *call;
} ch_req;

typedef enum {
    X_OK,          /* 2xx */
    X_HTTP,        /* an HTTP error answer: x.err holds its body */
    X_SINK,        /* the result callback stopped the transfer */
    X_PRODUCER,    /* the body producer stopped the transfer */
    X_NOT_REACHED, /* transient, nothing was sent: safe to resend */
    X_SENT,        /* transient, after (part of) the request was sent */
    X_PERMANENT,   /* a curl failure no retry mends (bad URL, TLS certificate) */
} x_outcome;

typedef struct ch_xfer {
    const ch_req *rq;
    long status; /* of the last status line (100 Continue is followed by the real one) */
    int hdr_code;
    hdp_buf err;
    uint64_t delivered;
    int cb_rc;    /* what the sink or producer returned */
    hdp_err cb_e; /* and its message */
    hdp_buf pend; /* producer output not yet handed to curl */
    size_t pend_off;
    int done;
    int produced; /* the producer was called */
} ch_xfer;

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    ch_xfer *x = ud;
    size_t len = size * n;
    if (len > 12 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        if (sp && sp + 4 <= p + len)
            x->status = strtol(sp + 1, NULL, 10);
        buf_reset(&x->err);
    } else if (len > 28 && strncasecmp(p, "X-ClickHouse-Exception-Code:", 28) == 0) {
        x->hdr_code = (int)strtol(p + 28, NULL, 10);
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ch_xfer *x = ud;
    size_t len = size * n;
    if (x->status < 200 || x->status > 299) {
        size_t room = ERR_BODY_MAX > x->err.len ? ERR_BODY_MAX - x->err.len : 0;
        buf_append(&x->err, p, len < room ? len : room);
        return len;
    }
    if (x->rq->sink == NULL || len == 0)
        return len;
    x->delivered += len;
    int rc = x->rq->sink(x->rq->sctx, p, len, &x->cb_e);
    if (rc != HDP_OK) {
        x->cb_rc = rc;
        return CURL_WRITEFUNC_ERROR;
    }
    return len;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
    ch_xfer *x = ud;
    size_t cap = size * n;
    while (x->pend_off >= x->pend.len && !x->done) {
        buf_reset(&x->pend);
        x->pend_off = 0;
        x->produced = 1;
        int rc = x->rq->produce(x->rq->pctx, &x->pend, &x->done, &x->cb_e);
        if (rc != HDP_OK) {
            x->cb_rc = rc;
            return CURL_READFUNC_ABORT;
        }
    }
    size_t left = x->pend.len - x->pend_off;
    size_t k = left < cap ? left : cap;
    memcpy(dst, x->pend.data + x->pend_off, k);
    x->pend_off += k;
    return k; /* 0 once done: the end of the chunked body */
}

static int name_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

static void add_param(CURL *h, hdp_buf *url, const char *name, const char *value)
{
    char *v = curl_easy_escape(h, value, 0);
    buf_printf(url, "%s%s=%s", url->data[url->len - 1] == '?' ? "" : "&", name, v ? v : "");
    curl_free(v);
}

/* The request URL: base, database, query_id, wait_end_of_query, settings, query. */
static int build_url(ch_client *c, const ch_req *rq, hdp_buf *url, hdp_err *e)
{
    const ch_call *call = rq->call;
    buf_puts(url, c->base);
    buf_putc(url, '?');
    const char *db = call && call->database ? call->database : c->addr.database;
    if (*db)
        add_param(c->curl, url, "database", db);
    if (call && call->query_id)
        add_param(c->curl, url, "query_id", call->query_id);
    if (rq->url_query == NULL)
        add_param(c->curl, url, "wait_end_of_query", "1");
    for (const ch_setting *s = call ? call->settings : NULL; s && s->name; s++) {
        if (!name_ok(s->name))
            return hdp_fail(e, "ClickHouse at %s: bad setting name '%.60s'", c->desc, s->name);
        add_param(c->curl, url, s->name, s->value ? s->value : "");
    }
    if (rq->url_query)
        add_param(c->curl, url, "query", rq->url_query);
    return HDP_OK;
}

/* curl failures that no retry can mend. */
static int curl_permanent(CURLcode rc)
{
    return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
           rc == CURLE_NOT_BUILT_IN || rc == CURLE_BAD_FUNCTION_ARGUMENT ||
           rc == CURLE_OUT_OF_MEMORY || rc == CURLE_UNKNOWN_OPTION ||
           rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SEND_FAIL_REWIND ||
           rc == CURLE_TOO_MANY_REDIRECTS;
}

/* One attempt of rq. The outcome says what happened; curl's words land in errbuf. */
static x_outcome attempt(ch_client *c, const ch_req *rq, const char *url, ch_xfer *x, char *errbuf)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    struct curl_slist *hdrs = NULL;
    for (struct curl_slist *l = c->auth; l; l = l->next)
        hdrs = curl_slist_append(hdrs, l->data);
    errbuf[0] = '\0';
    long timeout = rq->call && rq->call->timeout_ms > 0 ? rq->call->timeout_ms : c->lim.timeout_ms;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->lim.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    if (rq->produce) {
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        /* A reused connection that died would need the body again: take a fresh one. */
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    } else if (rq->body_sql) {
        hdrs = curl_slist_append(hdrs, "Content-Type: text/plain; charset=UTF-8");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(rq->body_sql));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body_sql);
    } else {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->data_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->data_len ? rq->data : "");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    long sent = 0;
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    for (struct curl_slist *l = hdrs; l; l = l->next)
        memset(l->data, 0, strlen(l->data));
    curl_slist_free_all(hdrs);

    if (rc == CURLE_WRITE_ERROR && x->cb_rc != HDP_OK)
        return X_SINK;
    if (rc == CURLE_ABORTED_BY_CALLBACK && x->cb_rc != HDP_OK)
        return X_PRODUCER;
    /* The server may answer an insert with an error before reading all of it and close the
     * connection: its answer, not the broken send, is what happened. */
    if (x->status >= 300 && (rc == CURLE_OK || x->err.len > 0)) {
        if (x->status == 502 || x->status == 503 || x->status == 504) {
            snprintf(errbuf, CURL_ERROR_SIZE, "HTTP %ld", x->status);
            return X_SENT;
        }
        return X_HTTP;
    }
    if (rc == CURLE_OK)
        return X_OK;
    if (curl_permanent(rc))
        return X_PERMANENT;
    if (errbuf[0] == '\0')
        snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    return sent > 0 ? X_SENT : X_NOT_REACHED;
}

static void backoff(ch_client *c, int attempt_no)
{
    long ms = c->lim.backoff_ms << (attempt_no < 12 ? attempt_no : 12);
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    ms = ms / 2 + (long)(c->rng % (uint64_t)(ms / 2 + 1)); /* jitter: [ms/2, ms] */
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Turns an HTTP error answer into the result and the one-line message. */
static int http_error(ch_client *c, const ch_xfer *x, hdp_err *e)
{
    int code = 0;
    char msg[400];
    int is_exc =
        ch_exception_parse(x->err.data ? x->err.data : "", x->err.len, &code, msg, sizeof(msg));
    if (code == 0)
        code = x->hdr_code;
    c->last_code = code;
    if (ch_code_is_auth(code) || x->status == 401 || x->status == 403)
        return hdp_fail(e,
                        "ClickHouse at %s: wrong credentials for user '%s' (check "
                        "HDP_CLICKHOUSE_URL): %s",
                        c->desc, c->addr.user[0] ? c->addr.user : "default",
                        msg[0] ? msg : "access denied");
    if (!is_exc)
        return hdp_fail(e, "ClickHouse at %s: HTTP %ld%s%s", c->desc, x->status, msg[0] ? ": " : "",
                        msg);
    if (ch_code_is_transient(code))
        return hdp_retry(e, "ClickHouse at %s: %s", c->desc, msg);
    return hdp_fail(e, "ClickHouse at %s: %s", c->desc, msg);
}

/* Sends rq, trying again on connection errors when resending is safe (see clickhouse.h).
 * reset is called before each resend so that the caller can drop a partial result. */
static int ch_do(ch_client *c, const ch_req *rq, void (*reset)(void *), void *reset_ctx, hdp_err *e)
{
    hdp_buf url = HDP_BUF_INIT;
    int rc = build_url(c, rq, &url, e);
    char errbuf[CURL_ERROR_SIZE];
    ch_xfer x;
    memset(&x, 0, sizeof(x));
    c->last_code = 0;
    for (int i = 0; rc == HDP_OK; i++) {
        buf_reset(&x.err);
        buf_reset(&x.pend);
        x.rq = rq;
        x.status = 0;
        x.hdr_code = 0;
        x.delivered = 0;
        x.cb_rc = HDP_OK;
        x.pend_off = 0;
        x.done = 0;
        x_outcome o = attempt(c, rq, url.data, &x, errbuf);
        if (o == X_OK)
            break;
        if (o == X_HTTP) {
            rc = http_error(c, &x, e);
            break;
        }
        if (o == X_SINK || o == X_PRODUCER) {
            rc = x.cb_rc;
            if (e)
                *e = x.cb_e;
            break;
        }
        if (o == X_PERMANENT) {
            rc = hdp_fail(e, "ClickHouse at %s: %s", c->desc, errbuf);
            break;
        }
        /* A result delivered in part may be delivered again only when reset can take it
         * back (ch_query's buffer); a produced body cannot be produced again. */
        int replayable = rq->produce == NULL || !x.produced;
        int redeliver = x.delivered == 0 || reset != NULL;
        int may_resend = replayable && (o == X_NOT_REACHED || (rq->resend && redeliver));
        if (!may_resend) {
            const char *why = rq->produce   ? "a streamed insert is not resent"
                              : x.delivered ? "part of the result was delivered"
                                            : "the statement may have run";
            rc = hdp_retry(e, "ClickHouse at %s: connection failed: %s (%s)", c->desc, errbuf, why);
            break;
        }
        if (i + 1 >= c->lim.max_tries) {
            rc = hdp_retry(e, "ClickHouse at %s: unreachable: %s (after %d tries)", c->desc, errbuf,
                           c->lim.max_tries);
            break;
        }
        backoff(c, i);
        if (reset)
            reset(reset_ctx);
    }
    buf_free(&url);
    buf_free(&x.err);
    buf_free(&x.pend);
    return rc;
}

/* ------------------------------------------------------------------ calls */

int ch_exec(ch_client *c, const char *sql, const ch_call *call, hdp_err *e)
{
    ch_req rq = {.body_sql = sql, .resend = call && call->idempotent, .call = call};
    return ch_do(c, &rq, NULL, NULL, e);
}

typedef struct script_ctx {
    ch_client *c;
    const ch_call *call;
    int count;
} script_ctx;

static int script_stmt(void *ctx, const char *sql, size_t len, int lineno, hdp_err *e)
{
    script_ctx *s = ctx;
    char *one = xstrndup(sql, len);
    int rc = ch_exec(s->c, one, s->call, e);
    free(one);
    if (rc != HDP_OK) {
        hdp_err_prefix(e, "statement at line %d: ", lineno);
        return rc;
    }
    s->count++;
    return HDP_OK;
}

int ch_exec_script(ch_client *c, const char *script, const ch_call *call, int *count, hdp_err *e)
{
    script_ctx s = {c, call, 0};
    int rc = ch_split_statements(script, script_stmt, &s, e);
    if (count)
        *count = s.count;
    return rc;
}

static int to_buf(void *ctx, const char *p, size_t n, hdp_err *e)
{
    (void)e;
    buf_append(ctx, p, n);
    return HDP_OK;
}

typedef struct buf_mark {
    hdp_buf *b;
    size_t len;
} buf_mark;

static void buf_back(void *ctx)
{
    buf_mark *m = ctx;
    m->b->len = m->len;
    if (m->b->data)
        m->b->data[m->len] = '\0';
}

int ch_query(ch_client *c, const char *sql, const ch_call *call, hdp_buf *out, hdp_err *e)
{
    ch_req rq = {.body_sql = sql, .sink = to_buf, .sctx = out, .resend = 1, .call = call};
    buf_mark m = {out, out->len};
    int rc = ch_do(c, &rq, buf_back, &m, e);
    if (rc != HDP_OK)
        buf_back(&m);
    return rc;
}

int ch_query_stream(ch_client *c, const char *sql, const ch_call *call, ch_chunk_fn fn, void *ctx,
                    hdp_err *e)
{
    ch_req rq = {.body_sql = sql, .sink = fn, .sctx = ctx, .resend = 1, .call = call};
    return ch_do(c, &rq, NULL, NULL, e);
}

int ch_insert(ch_client *c, const char *insert_sql, const ch_call *call, ch_body_fn fn, void *ctx,
              hdp_err *e)
{
    ch_req rq = {.url_query = insert_sql, .produce = fn, .pctx = ctx, .call = call};
    return ch_do(c, &rq, NULL, NULL, e);
}

int ch_insert_buf(ch_client *c, const char *insert_sql, const void *data, size_t len,
                  const ch_call *call, hdp_err *e)
{
    ch_req rq = {.url_query = insert_sql,
                 .data = data,
                 .data_len = len,
                 .resend = call && call->idempotent,
                 .call = call};
    return ch_do(c, &rq, NULL, NULL, e);
}

int ch_server_version(ch_client *c, char *out, size_t outlen, hdp_err *e)
{
    hdp_buf b = HDP_BUF_INIT;
    ch_call call = {.database = ""};
    int rc = ch_query(c, "SELECT version()", &call, &b, e);
    if (rc == HDP_OK) {
        size_t n = b.len;
        while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r'))
            n--;
        snprintf(out, outlen, "%.*s", (int)n, b.data ? b.data : "");
    }
    buf_free(&b);
    return rc;
}
