#include "core/url.h"

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

int redis_url_parse(const char *url, hdp_redis_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    const char *p;
    if (strncmp(url, "redis://", 8) == 0)
        p = url + 8;
    else
        return -1;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        size_t n = (size_t)(at - pw);
        if (n >= sizeof(out->password))
            return -1;
        memcpy(out->password, pw, n);
        out->password[n] = '\0';
        p = at + 1;
    }
    const char *slash = strchr(p, '/');
    size_t hp_len = slash ? (size_t)(slash - p) : strlen(p);
    char hp[300];
    if (hp_len == 0 || hp_len >= sizeof(hp))
        return -1;
    memcpy(hp, p, hp_len);
    hp[hp_len] = '\0';
    if (strchr(hp, ':') && hp[0] != '[') {
        if (hostport_parse(hp, out->host, sizeof(out->host), &out->port))
            return -1;
    } else if (hp[0] == '[') {
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
        if (*end != '\0' || db < 0 || db > 1000)
            return -1;
        out->db = (int)db;
    }
    return 0;
}
