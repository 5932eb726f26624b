/* cgbind: an address of its own for a program that binds nothing. A
 * cgroup v2 folder carries a BPF cgroup/connect4 program that binds every
 * IPv4 socket one of its processes connects, and has not bound itself,
 * to one address (the bpf_bind helper, port 0: the kernel picks the
 * port). Whatever the program forks stays in the cgroup, so all of its
 * connections leave from that address; the rest of the namespace keeps
 * the default source (127.0.0.1). The cgroup also names every process of
 * the program, for stopping them all. */
#ifndef RIFT_CGBIND_H
#define RIFT_CGBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CGBIND_PREFIX "rift-" /* cgroup folders rift makes: rift-RUNID-app */

struct cgbind {
    char path[300]; /* the cgroup folder, "" when none */
    int prog_fd;
};

/* The cgroup v2 mount point ("/sys/fs/cgroup" or ".../unified"): 0 or -1. */
int cgbind_root(char *out, size_t len);
/* ROOT/RIFT'S OWN CGROUP/NAME, the folder cgbind_create makes (to
 * register it first). */
int cgbind_path(const char *name, char *out, size_t len, char *err, size_t el);
/* Creates ROOT/NAME with the program binding to ip (host order). 0, or -1
 * with err. */
int cgbind_create(struct cgbind *c, const char *name, uint32_t ip, char *err, size_t el);
/* SIGKILL to every process left in the cgroup (cgroup.kill, or each one
 * listed on kernels without it), then waits up to ms for it to empty and
 * removes it. 0, or -1 if it would not go (c->path is kept). */
int cgbind_remove(struct cgbind *c, int ms);
/* Removes a cgroup folder of a run that is gone (rift cleanup): its
 * processes killed first. */
int cgbind_remove_path(const char *path, int ms);

#endif
