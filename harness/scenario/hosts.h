/* hosts: the hosts file of `rift run SCENARIO --hosts HOSTS.ini`: where a
 * cluster's nodes run when they are spread over machines reached by SSH.
 *
 *   [host h1]
 *   ssh = root@10.0.0.11       ; any ssh destination (options: ~/.ssh/config or ssh_config)
 *   addr = 10.0.0.11, 10.0.0.21 ; addresses nodes on this host listen on, one per node
 *                              ; (addr again on another line adds more)
 *   shim = /usr/local/bin/rift-shim ; optional (default: rift-shim on the host's PATH)
 *   server = /usr/bin/redis-server  ; optional (default: the flavour's name on the PATH)
 *   tmp = /tmp                 ; optional: where the run's folder goes on the host
 *   [placement]
 *   m1 = h1                    ; default: round robin, no primary beside its replica
 *   [ssh]
 *   config = /path/ssh_config  ; optional: ssh -F
 *   [harness]
 *   addr = 10.0.0.1            ; optional: the source address of rift's own connections
 *
 * Every node needs an address of its own: the shim on the receiving host
 * tells the sender of a packet by its source address. */
#ifndef RIFT_HOSTS_H
#define RIFT_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

#define HOSTS_MAX 16
#define HOSTS_ADDRS 16
#define HOSTS_PATH 256

struct host {
    char name[32];
    char ssh[128];
    uint32_t addr[HOSTS_ADDRS]; /* host order */
    int n_addr;
    char shim[HOSTS_PATH];   /* "" : rift-shim on the PATH */
    char server[HOSTS_PATH]; /* "" : the flavour's name on the PATH */
    char tmp[HOSTS_PATH];
    int line;
};

struct hosts {
    char file[HOSTS_PATH];
    struct host h[HOSTS_MAX];
    int n;
    char ssh_config[HOSTS_PATH];
    uint32_t harness_addr; /* 0: let the kernel choose */
    /* [placement] as written: node name, host name, line */
    char place_node[SCN_MAX_NODES][16], place_host[SCN_MAX_NODES][32];
    int place_line[SCN_MAX_NODES], n_place;
};

/* Load and check FILE. 0, or -1 with "FILE:LINE: what" in err. */
int hosts_load(struct hosts *hs, const char *file, char *err, size_t el);
int hosts_load_string(struct hosts *hs, const char *name, const char *text, char *err, size_t el);

/* Where each node of s runs: node_host[i] (a host index) and node_ip[i]
 * (one of that host's addresses, each used once). Written placements
 * first (as written, even a replica beside its primary), then round robin
 * over the hosts, a replica on its primary's host only when no other host
 * has an address left. -1 with err when the placement names an unknown
 * node or host, or the hosts have fewer addresses than nodes. */
int hosts_place(const struct hosts *hs, const struct scenario *s, int *node_host, uint32_t *node_ip,
                char *err, size_t el);

#endif
