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
    const char *at = NULL;
    if (auth) {
        size_t alen = strcspn(auth, "/?#");
        for (size_t k = 0; k < alen; k++)
            if (auth[k] == '@')
                at = auth + k;
    }
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
