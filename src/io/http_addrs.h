/* http_addrs.h — how many connections each client address holds open, for the per-address
 * limit of the HTTP server. A client is an IPv4 address or an IPv6 /64 (one host gets a whole
 * /64, so counting single IPv6 addresses would limit nothing); IPv4-mapped IPv6 addresses
 * count as IPv4.
 *
 * An open-addressing hash table that grows as needed and forgets addresses whose count drops
 * to zero. Not thread-safe: the server calls it under its own lock. */
#ifndef HDP_IO_HTTP_ADDRS_H
#define HDP_IO_HTTP_ADDRS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct http_addr_key {
    uint8_t b[9]; /* b[0]: 4 or 6, then the address (IPv4) or the /64 prefix (IPv6) */
} http_addr_key;

typedef struct http_addr_slot {
    http_addr_key key;
    uint32_t count; /* 0: free slot */
} http_addr_slot;

typedef struct http_addrs {
    http_addr_slot *slots;
    size_t cap, len; /* cap is a power of two (or 0) */
} http_addrs;

#define HTTP_ADDRS_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* The key of a peer address (AF_INET or AF_INET6; anything else maps to one shared key). */
void http_addr_key_of(const struct sockaddr *sa, http_addr_key *k);

/* Counts one more connection of k unless it already holds limit; returns 1 when counted,
 * 0 when at the limit. */
int http_addrs_acquire(http_addrs *t, const http_addr_key *k, uint32_t limit);
/* Counts one connection of k less (it must have been acquired). */
void http_addrs_release(http_addrs *t, const http_addr_key *k);
/* Connections k holds now. */
uint32_t http_addrs_count(const http_addrs *t, const http_addr_key *k);
/* Frees the table; accepts a zeroed one. */
void http_addrs_free(http_addrs *t);

#endif
