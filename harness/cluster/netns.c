/* netns: ip netns add/delete and setns. */
#include "netns.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <sched.h>

int netns_enter(struct run *r, char *err, size_t el)
{
    char path[64];
    int fd;
    char *const add[] = {"ip", "netns", "add", r->netns, NULL};
    if (proc_run(add) != 0) {
        snprintf(err, el, "ip netns add %s failed", r->netns);
        return -1;
    }
    r->ns_made = true;
    r->orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof(path), "/run/netns/%s", r->netns);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        snprintf(err, el, "cannot enter %s: %s", r->netns, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    char *const up[] = {"ip", "link", "set", "lo", "up", NULL};
    if (proc_run(up) != 0) {
        snprintf(err, el, "ip link set lo up failed in %s", r->netns);
        return -1;
    }
    return 0;
}

void netns_leave(struct run *r)
{
    if (r->orig_ns >= 0) {
        setns(r->orig_ns, CLONE_NEWNET);
        close(r->orig_ns);
        r->orig_ns = -1;
    }
    if (r->ns_made) {
        char *const del[] = {"ip", "netns", "delete", r->netns, NULL};
        proc_run(del);
        r->ns_made = false;
    }
}
