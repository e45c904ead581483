/* netprobe.h — is anything listening on host:port? Used before starting a private service
 * (the port must be free) and to wait until one answers. */
#ifndef HDP_NETPROBE_H
#define HDP_NETPROBE_H

/* Connects over TCP within timeout_ms. Returns the connected socket (the caller closes it)
 * or -1. */
int netprobe_connect(const char *host, int port, long timeout_ms);

/* 1 when something accepts connections on host:port, else 0. */
int netprobe_in_use(const char *host, int port);

#endif
