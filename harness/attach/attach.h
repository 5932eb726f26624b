/* attach: a scenario on a cluster rift did not start ([cluster] attach,
 * --attach): the nodes found from CLUSTER NODES and named m1, m1r1, ...
 * by their slots and roles, the process behind each node's port (for
 * kill/pause/restart only with attach_signals = yes), and at the end the
 * cluster as rift found it: paused nodes resumed, killed ones started
 * again as they were, rift's keys removed. rift never stops, restarts or
 * reconfigures an attached node but through the steps the scenario asks
 * for. */
#ifndef RIFT_ATTACH_H
#define RIFT_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../cluster/runstate.h"

struct att_node {
    char id[41];
    pid_t pid;      /* the process listening on its port, 0: not found */
    uint64_t start; /* its start time, told from a later process of that PID */
    uint64_t netns; /* its network namespace's inode */
    bool signalled; /* a step stopped it: started again at the end */
    /* how to start it again (restart, and at the end): the server's
     * executable and config file (INFO server: its command line is its
     * process title by now), its environment and working directory; a
     * node started without a config file cannot be */
    char *env; /* /proc/PID/environ (malloc'd), NULL: unknown */
    size_t env_len;
    char cwd[512];
    char exe[512];
    char conf[512];
};

struct attach {
    struct att_node n[SCN_MAX_NODES];
    char seeds[256];  /* as given, for messages */
    int keys_removed; /* rift:* keys removed at the end */
    bool far;         /* the nodes are not on this host's loopback */
};

/* Discover the cluster at scn->attach's addresses: every node answers,
 * every address is a node of the same cluster, its shape is the
 * scenario's (masters, replicas), its state is ok; scn's nodes get the
 * found addresses, ports and ids, r->att and r->remote are set. 0, or -1
 * with err (the run's exit 2: nothing was started). */
int att_init(struct run *r, struct scenario *scn, char *err, size_t el);
/* --attach OPT (NULL: none) over scn's [cluster] attach, checked, then
 * att_init when the scenario attaches; errors printed. 0, or 2. */
int att_begin(struct run *r, struct scenario *scn, const char *opt, bool hosts);
/* r->server_name and server_version from node m1's INFO server. */
void att_server_version(struct run *r);
/* The cluster back as rift found it (teardown): paused nodes resumed,
 * nodes a step stopped started again, rift's keys removed. */
void att_restore(struct run *r);
/* Stop node i's process for a restart (SIGTERM, SIGKILL after ms). */
int att_node_stop(struct run *r, int i, int ms, char *err, size_t el);
void att_free(struct run *r);

#endif
