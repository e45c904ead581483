#include "core/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, int *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

int hostport_parse(const char *s, char *host, unsigned hostlen, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    return parse_port(colon + 1, port);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int url_pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen)
            return -1;
        out[o++] = (char)c;
    }
    if (outlen == 0)
        return -1;
    out[o] = '\0';
    return 0;
}

int redis_url_parse(const char *url, hdp_redis_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    const char *p;
    if (strncmp(url, "redis://", 8) == 0)
        p = url + 8;
    else
        return -1;
    const char *slash = strchr(p, '/');
    size_t auth_len = slash ? (size_t)(slash - p) : strlen(p);
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++) /* the last '@' before the path ends the userinfo */
        if (p[i] == '@')
            at = p + i;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        if (colon && url_pct_decode(p, (size_t)(colon - p), out->user, sizeof(out->user)) != 0)
            return -1;
        if (url_pct_decode(pw, (size_t)(at - pw), out->password, sizeof(out->password)) != 0)
            return -1;
        p = at + 1;
    }
    slash = strchr(p, '/');
    size_t hp_len = slash ? (size_t)(slash - p) : strlen(p);
    char hp[300];
    if (hp_len == 0 || hp_len >= sizeof(hp))
        return -1;
    memcpy(hp, p, hp_len);
    hp[hp_len] = '\0';
    if (strchr(hp, ':') || hp[0] == '[') {
        if (hostport_parse(hp, out->host, sizeof(out->host), &out->port))
            return -1;
    } else {
        if (strlen(hp) >= sizeof(out->host))
            return -1;
        strcpy(out->host, hp);
    }
    if (slash && slash[1]) {
        char *end;
        long db = strtol(slash + 1, &end, 10);
        if (*end != '\0' || db < 0 || db > 1000 || slash[1] == '-' || slash[1] == '+')
            return -1;
        out->db = (int)db;
    }
    return 0;
}

void url_redact(const char *url, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : NULL;
    /* The last '@' ends the userinfo: a password may hold a raw '/', '?' or '#' (a malformed
     * URL must not show it either), so an '@' in a path masks too much, never too little. */
    const char *at = auth ? strrchr(auth, '@') : NULL;
    if (at == NULL) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon)
        snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
    else
        snprintf(out, outlen, "%.*s***%s", (int)(auth - url), url, at);
}

/* ---------------------------------------------------------------- ClickHouse */

static int is_ident(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int ch_fail(char *why, unsigned whylen, const char *msg)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", msg);
    return -1;
}

int ch_url_parse(const char *url, hdp_ch_addr *out, char *why, unsigned whylen)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->database, sizeof(out->database), "hdp");
    const char *p;
    if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        out->https = 1;
    } else {
        return ch_fail(why, whylen, "not an http:// or https:// URL");
    }
    out->port = out->https ? 8443 : 8123;
    size_t alen = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t k = 0; k < alen; k++)
        if (p[k] == '@')
            at = p + k;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
        if (url_pct_decode(p, ulen, out->user, sizeof(out->user)) != 0)
            return ch_fail(why, whylen, "bad user name (too long or bad %-escape)");
        if (colon && url_pct_decode(colon + 1, (size_t)(at - colon - 1), out->password,
                                    sizeof(out->password)))
            return ch_fail(why, whylen, "bad password (too long or bad %-escape)");
        if (out->user[0] == '\0' && out->password[0])
            snprintf(out->user, sizeof(out->user), "default");
    }
    const char *h = at ? at + 1 : p;
    size_t hlen = (size_t)(p + alen - h);
    char hp[300];
    if (hlen == 0 || hlen >= sizeof(hp))
        return ch_fail(why, whylen, "no host");
    memcpy(hp, h, hlen);
    hp[hlen] = '\0';
    if (hp[0] != '[' && strchr(hp, ':') != strrchr(hp, ':'))
        return ch_fail(why, whylen, "an IPv6 host needs brackets: [::1]:8123");
    int has_port = hp[0] == '[' ? strstr(hp, "]:") != NULL : strchr(hp, ':') != NULL;
    if (has_port) {
        if (hostport_parse(hp, out->host, sizeof(out->host), &out->port))
            return ch_fail(why, whylen, "bad host:port");
    } else if (hp[0] == '[') {
        if (hp[hlen - 1] != ']' || hlen < 3)
            return ch_fail(why, whylen, "bad IPv6 host");
        memcpy(out->host, hp + 1, hlen - 2);
        out->host[hlen - 2] = '\0';
    } else {
        if (hlen >= sizeof(out->host))
            return ch_fail(why, whylen, "host too long");
        memcpy(out->host, hp, hlen + 1);
    }
    const char *rest = p + alen;
    if (*rest == '/')
        rest++;
    if (*rest == '\0')
        return 0;
    if (*rest != '?')
        return ch_fail(why, whylen, "a path is not supported (use /?database=NAME)");
    rest++;
    while (*rest) {
        size_t n = strcspn(rest, "&#");
        if (rest[n] == '#')
            return ch_fail(why, whylen, "a #fragment is not supported");
        if (n > 9 && strncmp(rest, "database=", 9) == 0) {
            if (!is_ident(rest + 9, n - 9) || n - 9 >= sizeof(out->database))
                return ch_fail(why, whylen, "database must be a name like hdp ([A-Za-z0-9_])");
            memcpy(out->database, rest + 9, n - 9);
            out->database[n - 9] = '\0';
        } else if (n > 0) {
            return ch_fail(why, whylen, "the only URL parameter allowed is database=NAME");
        }
        rest += n;
        if (*rest == '&')
            rest++;
    }
    return 0;
}

void ch_url_describe(const hdp_ch_addr *a, char *out, unsigned outlen)
{
    int v6 = strchr(a->host, ':') != NULL;
    snprintf(out, outlen, "%s://%s%s%s%s%s%s:%d/?database=%s", a->https ? "https" : "http", a->user,
             a->password[0] ? ":***" : "", a->user[0] ? "@" : "", v6 ? "[" : "", a->host,
             v6 ? "]" : "", a->port, a->database);
}
