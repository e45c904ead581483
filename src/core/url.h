/* url.h — parsing of the few address forms hdp's configuration takes. Pure, no I/O. */
#ifndef HDP_URL_H
#define HDP_URL_H

typedef struct hdp_redis_addr {
    char host[256];
    int port;
    int db;
    char password[256]; /* empty when none */
} hdp_redis_addr;

/* redis://[[user]:password@]host[:port][/db] — port 6379, db 0 by default. 0 or -1. */
int redis_url_parse(const char *url, hdp_redis_addr *out);

/* host:port (IPv4 or a name; [v6]:port) with port 1..65535. 0 or -1. */
int hostport_parse(const char *s, char *host, unsigned hostlen, int *port);

#endif
