#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

typedef enum {
    CFG_STR,     /* free text */
    CFG_SECRET,  /* free text, never printed */
    CFG_INT,     /* integer within [min, max] */
    CFG_DSN,     /* libpq connection string (key=value or postgresql:// URI) */
    CFG_REDIS,   /* redis:// URL */
    CFG_HTTPURL, /* http:// or https:// URL, or empty */
    CFG_CHURL,   /* ClickHouse http(s):// URL (credentials masked when printed), or empty */
    CFG_LAKE,    /* file:///path or s3://bucket/prefix */
    CFG_ADDR,    /* host:port */
    CFG_LEVEL,   /* debug|info|warn|error */
} cfg_type;

typedef struct cfg_var {
    const char *name;
    cfg_type type;
    const char *def;
    size_t off;
    long min, max;
    const char *help;
} cfg_var;

#define S(f) offsetof(hdp_config, f)

/* The table. Keep in the order the README shows; `hdp config --markdown` regenerates it. */
static const cfg_var vars[] = {
    {"HDP_SOURCE_DSN", CFG_DSN, "host=127.0.0.1 port=55432 dbname=shop user=hdp", S(source_dsn), 0,
     0, "libpq connection string of the OLTP source database `shop`"},
    {"HDP_DWH_DSN", CFG_DSN, "host=127.0.0.1 port=55432 dbname=dwh user=hdp", S(dwh_dsn), 0, 0,
     "libpq connection string of the Data Vault warehouse database `dwh`"},
    {"HDP_REDIS_URL", CFG_REDIS, "redis://127.0.0.1:56379/0", S(redis_url), 0, 0,
     "Redis of the speed layer (`redis://[[user]:password@]host[:port][/db]`, user and password "
     "percent-encoded)"},
    {"HDP_CLICKHOUSE_URL", CFG_CHURL, "http://127.0.0.1:58123", S(clickhouse_url), 0, 0,
     "ClickHouse HTTP interface of the marts (`http(s)://[user[:password]@]host[:port]"
     "[/?database=db]`, database `hdp` by default); empty: no ClickHouse, batch marts off"},
    {"HDP_LAKE_URL", CFG_LAKE, NULL, S(lake_url), 0, 0,
     "data lake root: `file:///path` or `s3://bucket/prefix`; unset: `file://` + the absolute "
     "path of `$HDP_VAR_DIR/lake`"},
    {"HDP_S3_ENDPOINT", CFG_HTTPURL, "", S(s3_endpoint), 0, 0,
     "S3 endpoint for `s3://` lakes (empty: AWS); path-style addressing"},
    {"HDP_S3_REGION", CFG_STR, "us-east-1", S(s3_region), 0, 0, "S3 region used in signatures"},
    {"HDP_S3_ACCESS_KEY", CFG_SECRET, "", S(s3_access_key), 0, 0, "S3 access key id"},
    {"HDP_S3_SECRET_KEY", CFG_SECRET, "", S(s3_secret_key), 0, 0, "S3 secret access key"},
    {"HDP_HTTP_ADDR", CFG_ADDR, "127.0.0.1:8080", S(http_addr), 0, 0,
     "where `hdp serve` listens (host:port)"},
    {"HDP_API_TOKEN", CFG_SECRET, "", S(api_token), 0, 0,
     "bearer token required by the API when set (empty: open)"},
    {"HDP_BATCH_INTERVAL", CFG_INT, "120", S(batch_interval), 1, 86400,
     "seconds between batch DAG runs of `hdp scheduler`"},
    {"HDP_SEGMENT_SECONDS", CFG_INT, "60", S(segment_seconds), 1, 3600,
     "longest a change-stream segment stays open; it closes by itself on a quiet source"},
    {"TELEGRAM_TOKEN", CFG_SECRET, "", S(telegram_token), 0, 0,
     "Telegram bot token for pipeline alerts (empty: alerts off)"},
    {"TELEGRAM_CHAT_ID", CFG_STR, "", S(telegram_chat_id), 0, 0, "Telegram chat for alerts"},
    {"HDP_TELEGRAM_API", CFG_HTTPURL, "https://api.telegram.org", S(telegram_api), 0, 0,
     "base URL of the Telegram Bot API"},
    {"HDP_LOG_LEVEL", CFG_LEVEL, "info", S(log_level), 0, 0, "debug, info, warn or error"},
    {"HDP_VAR_DIR", CFG_STR, "./var", S(var_dir), 0, 0,
     "where `hdp up` keeps its private PostgreSQL, Redis, ClickHouse, lake and logs"},
    {"HDP_HTTP_THREADS", CFG_INT, "2", S(http_threads), 1, 256, "worker threads of `hdp serve`"},
    {"HDP_HTTP_MAX_CONNS", CFG_INT, "4096", S(http_max_conns), 16, 1000000,
     "most connections `hdp serve` holds open (lowered to fit the descriptor limit); at the cap "
     "the oldest idle or slow ones are closed first"},
    {"HDP_HTTP_PER_ADDR", CFG_INT, "64", S(http_per_addr), 1, 1000000,
     "most open connections of one client address (IPv6: one /64), event streams included; "
     "more are answered 429"},
    {"HDP_HTTP_HEADER_TIMEOUT", CFG_INT, "10", S(http_header_timeout), 1, 3600,
     "seconds a client has to send a whole request (head and body) from its first byte "
     "(else 408), and the longest a response write may stall"},
    {"HDP_HTTP_IDLE_TIMEOUT", CFG_INT, "30", S(http_idle_timeout), 1, 3600,
     "seconds an idle keep-alive connection of `hdp serve` stays open"},
    {"HDP_SPEED_BATCH_MS", CFG_INT, "20", S(speed_batch_ms), 0, 10000,
     "longest `hdp speed` holds applied transactions before one atomic Redis write"},
    {"HDP_SERVE_CACHE_MS", CFG_INT, "50", S(serve_cache_ms), 0, 10000,
     "longest `hdp serve` reuses an answer before asking Redis again (freshness bound)"},
    {"HDP_GC_RETENTION", CFG_INT, "86400", S(gc_retention), 0, 31536000,
     "`hdp run gc` removes orphan curated files and old manifests older than this (seconds)"},
    {"HDP_GC_KEEP_MANIFESTS", CFG_INT, "10", S(gc_keep_manifests), 1, 100000,
     "`hdp run gc` keeps at least this many newest manifest versions per table"},
    {"HDP_SPEED_DROP_GRACE", CFG_INT, "60", S(speed_drop_grace), 0, 86400,
     "seconds a published W must be old before speed buckets at or below it are dropped (days "
     "before yesterday only)"},
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

/* ------------------------------------------------------------------ .env */

/* Reads KEY=VALUE lines (optional `export `, quotes, # comments) into a flat list. */
typedef struct dotenv {
    char **keys;
    char **vals;
    size_t n;
} dotenv;

static void dotenv_free(dotenv *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->keys[i]);
        free(d->vals[i]);
    }
    free(d->keys);
    free(d->vals);
}

int config_dotenv_line(const char *line, char **key, char **val)
{
    const char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '#' || *p == '\0')
        return 0;
    if (strncmp(p, "export ", 7) == 0)
        p += 7;
    const char *eq = strchr(p, '=');
    if (eq == NULL)
        return -1;
    const char *k_end = eq;
    while (k_end > p && isspace((unsigned char)k_end[-1]))
        k_end--;
    const char *v = eq + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vl = strlen(v);
    /* Trim the line end first, so `KEY="v"  ` still loses its quotes. */
    while (vl > 0 && isspace((unsigned char)v[vl - 1]))
        vl--;
    if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
        v++;
        vl -= 2;
    }
    *key = xstrndup(p, (size_t)(k_end - p));
    *val = xstrndup(v, vl);
    return 1;
}

static int dotenv_load(const char *path, int required, dotenv *d, hdp_err *e)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (!required && errno == ENOENT)
            return HDP_OK;
        return hdp_fail(e, "HDP_ENV_FILE: cannot read %s: %s", path, strerror(errno));
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n' && fgetc(f) != EOF) {
            fclose(f); /* the rest would be read as a line of its own */
            return hdp_fail(e, "%s:%d: line longer than %zu bytes", path, lineno, sizeof(line) - 1);
        }
        char *k, *v;
        int rc = config_dotenv_line(line, &k, &v);
        if (rc == 0)
            continue;
        if (rc < 0) {
            fclose(f);
            return hdp_fail(e, "%s:%d: expected KEY=VALUE", path, lineno);
        }
        d->keys = xrealloc(d->keys, (d->n + 1) * sizeof(char *));
        d->vals = xrealloc(d->vals, (d->n + 1) * sizeof(char *));
        d->keys[d->n] = k;
        d->vals[d->n] = v;
        d->n++;
    }
    fclose(f);
    return HDP_OK;
}

static const char *dotenv_get(const dotenv *d, const char *key)
{
    for (size_t i = d->n; i-- > 0;)
        if (strcmp(d->keys[i], key) == 0)
            return d->vals[i];
    return NULL;
}

/* ------------------------------------------------------------------ validation */

static int is_http_url(const char *v)
{
    return strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0;
}

/* The value as it may be printed: secrets masked, credentials in URLs and DSNs masked. */
static void printable(const cfg_var *var, const char *v, char *out, size_t outlen)
{
    if (var->type == CFG_SECRET)
        snprintf(out, outlen, "%s", *v ? "***" : "");
    else if (var->type == CFG_DSN)
        config_redact_dsn(v, out, outlen);
    else
        url_redact(v, out, outlen);
}

static int validate(const cfg_var *var, const char *raw, hdp_config *cfg, hdp_err *e)
{
    char *slot = (char *)cfg + var->off;
    char v[300]; /* what error messages may show of the value */
    printable(var, raw, v, sizeof(v));
    switch (var->type) {
    case CFG_INT: {
        char *end;
        errno = 0;
        long n = strtol(raw, &end, 10);
        if (*raw == '\0' || *end != '\0' || errno)
            return hdp_fail(e, "%s: '%s' is not an integer", var->name, v);
        if (n < var->min || n > var->max)
            return hdp_fail(e, "%s: %ld is out of range %ld..%ld", var->name, n, var->min,
                            var->max);
        *(long *)slot = n;
        return HDP_OK;
    }
    case CFG_DSN:
        if (*raw == '\0')
            return hdp_fail(e, "%s: must not be empty", var->name);
        break;
    case CFG_REDIS:
        if (redis_url_parse(raw, &cfg->redis))
            return hdp_fail(e, "%s: '%s' is not a redis://host[:port][/db] URL", var->name, v);
        break;
    case CFG_HTTPURL:
        if (strchr(raw, '@')) /* not even the user is shown: for S3 it is the access key */
            return hdp_fail(e, "%s: must not hold user:password@%s", var->name,
                            var->off == S(s3_endpoint) ? " (the keys go in HDP_S3_ACCESS_KEY "
                                                         "and HDP_S3_SECRET_KEY)"
                                                       : "");
        if (*raw && !is_http_url(raw))
            return hdp_fail(e, "%s: '%s' is not an http:// or https:// URL", var->name, v);
        break;
    case CFG_CHURL: {
        char why[128];
        hdp_ch_addr a;
        if (*raw && ch_url_parse(raw, &a, why, sizeof(why)))
            return hdp_fail(e, "%s: %s", var->name, why);
        break;
    }
    case CFG_LAKE:
        if (strncmp(raw, "file://", 7) != 0 && strncmp(raw, "s3://", 5) != 0)
            return hdp_fail(e, "%s: '%s' must start with file:// or s3://", var->name, v);
        if (strncmp(raw, "s3://", 5) == 0 && strchr(raw, '@'))
            return hdp_fail(e,
                            "%s: an s3:// URL holds no '@' (the keys go in "
                            "HDP_S3_ACCESS_KEY and HDP_S3_SECRET_KEY)",
                            var->name);
        if (strncmp(raw, "s3://", 5) == 0 && (raw[5] == '\0' || raw[5] == '/'))
            return hdp_fail(e, "%s: '%s' names no bucket", var->name, v);
        if (strncmp(raw, "file://", 7) == 0 && raw[7] == '\0')
            return hdp_fail(e, "%s: '%s' names no folder", var->name, v);
        break;
    case CFG_ADDR:
        if (hostport_parse(raw, cfg->http_host, sizeof(cfg->http_host), &cfg->http_port))
            return hdp_fail(e, "%s: '%s' is not host:port", var->name, v);
        break;
    case CFG_LEVEL:
        if (log_level_parse(raw) < 0)
            return hdp_fail(e, "%s: '%s' is not one of debug, info, warn, error", var->name, v);
        break;
    case CFG_STR:
    case CFG_SECRET:
        break;
    }
    *(char **)slot = xstrdup(raw);
    return HDP_OK;
}

/* The default lake: file:// + the absolute path of $HDP_VAR_DIR/lake, so that it follows
 * HDP_VAR_DIR and does not depend on where a command is started from later. */
static char *default_lake_url(const char *var_dir)
{
    hdp_buf b = HDP_BUF_INIT;
    buf_puts(&b, "file://");
    if (var_dir[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd)) != NULL) {
            buf_puts(&b, cwd);
            buf_putc(&b, '/');
        }
    }
    const char *d = var_dir;
    if (d[0] == '.' && d[1] == '/') /* ./var → var */
        d += 2;
    buf_puts(&b, d);
    while (b.len > 7 && b.data[b.len - 1] == '/')
        b.len--;
    buf_puts(&b, "/lake");
    return buf_detach(&b);
}

int config_load(hdp_config *cfg, hdp_err *e)
{
    memset(cfg, 0, sizeof(*cfg));
    dotenv d = {0};
    const char *envfile = getenv("HDP_ENV_FILE");
    int rc = dotenv_load(envfile ? envfile : ".env", envfile != NULL, &d, e);
    size_t derived = NVARS;
    for (size_t i = 0; rc == HDP_OK && i < NVARS; i++) {
        const char *v = getenv(vars[i].name);
        if (v == NULL)
            v = dotenv_get(&d, vars[i].name);
        if (v == NULL && vars[i].def == NULL) {
            derived = i; /* filled below, once every variable it may follow is known */
            continue;
        }
        if (v == NULL)
            v = vars[i].def;
        rc = validate(&vars[i], v, cfg, e);
    }
    if (rc == HDP_OK && derived < NVARS) {
        char *lake = default_lake_url(cfg->var_dir);
        rc = validate(&vars[derived], lake, cfg, e);
        free(lake);
    }
    dotenv_free(&d);
    if (rc == HDP_OK)
        log_set_level(log_level_parse(cfg->log_level));
    return rc;
}

void config_free(hdp_config *cfg)
{
    for (size_t i = 0; i < NVARS; i++)
        if (vars[i].type != CFG_INT) {
            char **slot = (char **)((char *)cfg + vars[i].off);
            free(*slot);
            *slot = NULL;
        }
}

/* Is dsn[i] the start of a key named `password` or `sslpassword` followed by '=' (spaces
 * allowed around it, as libpq allows)? Returns the offset just past '=', or 0. */
static size_t password_key_at(const char *dsn, size_t i)
{
    if (i > 0 && !isspace((unsigned char)dsn[i - 1]) && dsn[i - 1] != '?' && dsn[i - 1] != '&')
        return 0;
    size_t j = i;
    if (strncmp(dsn + j, "ssl", 3) == 0)
        j += 3;
    if (strncmp(dsn + j, "password", 8) != 0)
        return 0;
    j += 8;
    while (dsn[j] == ' ' || dsn[j] == '\t')
        j++;
    return dsn[j] == '=' ? j + 1 : 0;
}

/* Masks the user:password@ of a URI and the value of every password/sslpassword key, in
 * key=value form (quoted values included) and in URI query parameters. */
void config_redact_dsn(const char *dsn, char *out, size_t outlen)
{
    hdp_buf b = HDP_BUF_INIT;
    size_t i = 0;
    const char *scheme = strstr(dsn, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        const char *at = strrchr(auth, '@'); /* as url_redact: a raw '/' in the password */
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            buf_append(&b, dsn, (size_t)(colon - dsn) + 1);
            buf_puts(&b, "***");
            i = (size_t)(at - dsn);
        }
    }
    while (dsn[i]) {
        size_t v = password_key_at(dsn, i);
        if (v == 0) {
            buf_putc(&b, dsn[i++]);
            continue;
        }
        buf_append(&b, dsn + i, v - i);
        i = v;
        while (dsn[i] == ' ' || dsn[i] == '\t')
            buf_putc(&b, dsn[i++]);
        buf_puts(&b, "***");
        if (dsn[i] == '\'') {
            i++;
            while (dsn[i] && dsn[i] != '\'')
                i += (dsn[i] == '\\' && dsn[i + 1]) ? 2 : 1;
            if (dsn[i])
                i++;
        } else {
            while (dsn[i] && !isspace((unsigned char)dsn[i]) && dsn[i] != '&')
                i++;
            /* Words after it that are no `key=` (libpq refuses them) are likely the rest of
             * an unquoted password with a space in it: masked too. */
            for (size_t w = i; dsn[i] && dsn[i] != '&';) {
                while (isspace((unsigned char)dsn[w]))
                    w++;
                size_t k = w;
                while (dsn[k] && !isspace((unsigned char)dsn[k]) && dsn[k] != '=')
                    k++;
                size_t eq = k;
                while (dsn[eq] == ' ' || dsn[eq] == '\t')
                    eq++;
                if (k == w || dsn[eq] == '=')
                    break;
                while (dsn[k] && !isspace((unsigned char)dsn[k]))
                    k++;
                i = w = k;
            }
        }
    }
    snprintf(out, outlen, "%s", b.data ? b.data : "");
    buf_free(&b);
}

void config_print(const hdp_config *cfg, FILE *out)
{
    for (size_t i = 0; i < NVARS; i++) {
        const char *slot = (const char *)cfg + vars[i].off;
        if (vars[i].type == CFG_INT) {
            fprintf(out, "%s=%ld\n", vars[i].name, *(const long *)slot);
            continue;
        }
        const char *v = *(char *const *)slot;
        if (v == NULL)
            v = "";
        char shown[2048];
        printable(&vars[i], v, shown, sizeof(shown));
        fprintf(out, "%s=%s\n", vars[i].name, shown);
    }
}

void config_print_markdown(FILE *out)
{
    fprintf(out, "| variable | default | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < NVARS; i++) {
        const cfg_var *v = &vars[i];
        char range[64] = "";
        if (v->type == CFG_INT)
            snprintf(range, sizeof(range), " (%ld..%ld)", v->min, v->max);
        const char *def = v->def ? v->def : "(derived)";
        int code = v->def && *v->def;
        fprintf(out, "| `%s` | %s%s%s%s | %s%s |\n", v->name, code ? "`" : "",
                *def ? def : "(empty)", code ? "`" : "", v->type == CFG_SECRET ? " (secret)" : "",
                v->help, range);
    }
}

void config_print_help(FILE *out)
{
    for (size_t i = 0; i < NVARS; i++)
        fprintf(out, "  %-20s %s\n", vars[i].name, vars[i].help);
}
