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

/* One rift-shim per network namespace that holds nodes of a cluster in
 * containers: each with the whole policy, its own queue and chain. */
struct att_shim {
    uint64_t netns; /* the namespace's inode */
    int node;       /* the first node in it: the shim enters through its process */
    pid_t pid;      /* 0: not running */
    char sock[300], log[300], pcap[300];
    char *stats; /* its counters at the end (malloc'd) */
};

struct attach {
    struct att_node n[SCN_MAX_NODES];
    struct att_shim sh[SCN_MAX_NODES];
    int n_sh;
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

/* attshim.c: a cluster in containers. */
/* What the scenario asks that such a cluster cannot give: 0, or -1 with
 * err at its file:line. */
int att_far_check(const struct scenario *scn, char *err, size_t el);
/* The nodes' network namespaces (each node's process found): 0, or -1
 * with err naming the node whose process was not found. */
int att_group_netns(struct run *r, char *err, size_t el);
/* One rift-shim in each namespace, entered through /proc/PID/ns/net of a
 * node's verified process; r->shim_sock is the first one's. 0, or -1. */
int att_start_shims(struct run *r, char *err, size_t el);
/* line to every shim: 0 with the first reply that is not "ok" (else
 * "ok") in reply, or -1 with r->shim_err. */
int att_shim_request(struct run *r, const char *line, char *reply, size_t len);
/* Every shim's counters into r->shim_stats (summed, then each under
 * "namespaces"), then every shim stopped. */
void att_stop_shims(struct run *r);
/* bus.txt and bus.jsonl from every namespace's capture, merged by time. */
void att_decode_bus(struct run *r);

#endif
