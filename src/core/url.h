/* url.h — parsing of the few address forms hdp's configuration takes, and masking of the
 * credentials they may carry. Pure, no I/O. */
#ifndef HDP_URL_H
#define HDP_URL_H

#include <stddef.h>

typedef struct hdp_redis_addr {
    char host[256];
    int port;
    int db;
    char user[128];     /* ACL user; empty: the default user */
    char password[256]; /* empty when none */
} hdp_redis_addr;

/* redis://[[user]:password@]host[:port][/db] — port 6379, db 0 by default; user and password
 * are percent-decoded (a password holding '@' or ':' is written %40, %3A). 0 or -1. */
int redis_url_parse(const char *url, hdp_redis_addr *out);

/* A ClickHouse HTTP address: http(s)://[user[:password]@]host[:port][/][?database=db]. */
typedef struct hdp_ch_addr {
    int https;
    char host[256]; /* an IPv6 literal without its brackets */
    int port;       /* 8123 for http, 8443 for https when the URL names none */
    char user[128]; /* empty: the server's `default` user */
    char password[256];
    char database[128]; /* "hdp" when the URL names none */
} hdp_ch_addr;

/* Parses a ClickHouse URL. User and password may be percent-encoded; the database must be an
 * identifier ([A-Za-z_][A-Za-z0-9_]*) and is the only query parameter allowed; no path.
 * 0, or -1 with a reason in why (never the password). */
int ch_url_parse(const char *url, hdp_ch_addr *out, char *why, unsigned whylen);

/* The address for messages: scheme://[user[:***]@]host:port/?database=db (password masked). */
void ch_url_describe(const hdp_ch_addr *a, char *out, unsigned outlen);

/* host:port (IPv4 or a name; [v6]:port) with port 1..65535. 0 or -1. */
int hostport_parse(const char *s, char *host, unsigned hostlen, int *port);

/* Decodes %XX escapes of s[0..n) into out (NUL-terminated, at most outlen - 1 bytes).
 * A bad escape, a decoded NUL or an overlong result is -1. */
int url_pct_decode(const char *s, size_t n, char *out, size_t outlen);

/* Copies url into out with the password of its userinfo masked: "scheme://user:***@host…";
 * a userinfo without ':' (redis://secret@host) is masked whole. The userinfo ends at the last
 * '@' (a password may hold a raw '/'). Text without "://" or without '@' after it is copied as
 * is (cut to outlen). */
void url_redact(const char *url, char *out, size_t outlen);

#endif
