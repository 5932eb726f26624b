/* sockown: which process listens on a TCP address, in whichever network
 * namespace holds it (this one for local servers, a container's for the
 * servers in it): read from /proc (net/tcp, net/fib_trie, fd links). */
#ifndef RIFT_SOCKOWN_H
#define RIFT_SOCKOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sockown {
    pid_t pid;       /* the process holding the listening socket */
    uint64_t start;  /* its start time (pstat.h) */
    uint64_t netns;  /* inode of its network namespace */
    bool same_netns; /* the namespace rift runs in */
    char comm[32];   /* its name (/proc/PID/comm) */
};

/* The process listening on ip:port (host order): in this namespace when
 * ip is one of its addresses, else in the namespace that has ip as a local
 * address. 0, or -1 with errno ENOENT (no listener found) or another. */
int sockown_find(uint32_t ip, uint16_t port, struct sockown *out);

/* Parse a /proc/net/tcp text: does it hold a LISTEN socket on port with
 * local address ip or 0.0.0.0? Its inode, or 0. */
uint64_t sockown_listen_inode(const char *tcp, uint32_t ip, uint16_t port);
/* Does a /proc/net/fib_trie text list ip as a local (host) address? */
bool sockown_fib_local(const char *fib, uint32_t ip);

#endif
