/* fuzz_config — the `.env` reader and the address forms of the configuration
 * (src/core/config.c's config_dotenv_line, src/core/url.c, config_redact_dsn).
 *
 * The input is a `.env` file, cut into lines the way dotenv_load's fgets() cuts it (at '\n'
 * or after 4095 bytes, where dotenv_load stops with an error). Every line, and every value parsed from one, also goes to
 * redis_url_parse, hostport_parse and config_redact_dsn. Invariants: a parsed key has no
 * '=' and no blank before '='; a value holds no newline; `export KEY="VALUE"`
 * parses back to the same pair; a parsed Redis URL or host:port has a port in 1..65535, a
 * db in 0..1000 and a non-empty host, and re-parses to the same address when formatted
 * back; redaction always terminates its output within the given size. */
#include "fuzz.h"

#include <ctype.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/url.h"

static void check_hostport(const char *s)
{
    char host[256], again[256];
    int port = 0, port2 = 0;
    if (hostport_parse(s, host, sizeof(host), &port) != 0)
        return;
    FUZZ_CHECK(host[0] != '\0' && strlen(host) < sizeof(host) && port >= 1 && port <= 65535);
    /* formatted back (brackets when the host needs them) it parses to the same address */
    if (strchr(host, ']') && strchr(host, ':'))
        return; /* not representable either way */
    char text[300];
    snprintf(text, sizeof(text), strchr(host, ':') || host[0] == '[' ? "[%s]:%d" : "%s:%d", host,
             port);
    FUZZ_CHECK(hostport_parse(text, again, sizeof(again), &port2) == 0);
    FUZZ_CHECK(strcmp(host, again) == 0 && port == port2);
}

static void check_redis(const char *s)
{
    hdp_redis_addr a, b;
    if (redis_url_parse(s, &a) != 0)
        return;
    FUZZ_CHECK(a.host[0] != '\0' && strlen(a.host) < sizeof(a.host));
    FUZZ_CHECK(strlen(a.password) < sizeof(a.password));
    FUZZ_CHECK(a.port >= 1 && a.port <= 65535 && a.db >= 0 && a.db <= 1000);
    if (strchr(a.host, '/') || strchr(a.host, '@') || (strchr(a.host, ']') && strchr(a.host, ':')))
        return; /* such a host came from a form that formatting back cannot reproduce */
    char text[700];
    const char *hostfmt = strchr(a.host, ':') || a.host[0] == '[' ? "[%s]" : "%s";
    char hostpart[300];
    snprintf(hostpart, sizeof(hostpart), hostfmt, a.host);
    snprintf(text, sizeof(text), "redis://%s%s%s%s:%d/%d", a.password[0] ? ":" : "", a.password,
             a.password[0] ? "@" : "", hostpart, a.port, a.db);
    FUZZ_CHECK(redis_url_parse(text, &b) == 0);
    FUZZ_CHECK(strcmp(a.host, b.host) == 0 && strcmp(a.password, b.password) == 0 &&
               a.port == b.port && a.db == b.db);
}

static void check_value(const char *s)
{
    check_hostport(s);
    check_redis(s);
    char red[64];
    memset(red, 'x', sizeof(red));
    config_redact_dsn(s, red, sizeof(red));
    FUZZ_CHECK(memchr(red, '\0', sizeof(red)) != NULL);
}

static void check_line(const char *line)
{
    char *k, *v;
    int rc = config_dotenv_line(line, &k, &v);
    FUZZ_CHECK(rc >= -1 && rc <= 1);
    if (rc != 1) {
        FUZZ_CHECK(rc == 0 || strchr(line, '=') == NULL);
        return;
    }
    FUZZ_CHECK(strchr(k, '=') == NULL);
    size_t kl = strlen(k);
    FUZZ_CHECK(kl == 0 || !isspace((unsigned char)k[kl - 1]));
    FUZZ_CHECK(strchr(v, '\n') == NULL);
    hdp_buf b = HDP_BUF_INIT;
    buf_printf(&b, "export %s=\"%s\"\n", k, v);
    if (b.len < 4096) {
        char *k2, *v2;
        FUZZ_CHECK(config_dotenv_line(b.data, &k2, &v2) == 1);
        FUZZ_CHECK(strcmp(k, k2) == 0 && strcmp(v, v2) == 0);
        free(k2);
        free(v2);
    }
    buf_free(&b);
    check_value(v);
    free(k);
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        /* what fgets(line, 4096, f) returns: through '\n', at most 4095 bytes */
        size_t max = (size_t)(end - p) < 4095 ? (size_t)(end - p) : 4095;
        const uint8_t *nl = memchr(p, '\n', max);
        size_t n = nl ? (size_t)(nl - p) + 1 : max;
        char *line = fuzz_strndup(p, n);
        check_line(line);
        line[strcspn(line, "\r\n")] = '\0';
        check_value(line);
        free(line);
        p += n;
    }
    return 0;
}
