/* hostrun: `rift run SCENARIO --hosts HOSTS.ini`: the same run with its
 * nodes on other machines, reached over SSH only (remote.h), where
 * `rift-shim agent` starts, signals and stops the servers and the shim by
 * PID and start time. Every host runs one rift-shim with the whole policy:
 * its INPUT hook sees only the packets that host receives, so each fault
 * acts where its receiving side is. Clocks are compared over the master
 * connection at the start and the end; captures and logs are fetched back
 * and the captures merged on the harness's clock. */
#ifndef RIFT_HOSTRUN_H
#define RIFT_HOSTRUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../scenario/hosts.h"
#include "remote.h"

struct run;
struct scenario;

struct hostrun {
    struct hosts hs;
    struct remote rm;
    int node_host[SCN_MAX_NODES];
    uint64_t rpid[SCN_MAX_NODES], rstart[SCN_MAX_NODES]; /* the server on its host */
    char rdir[HOSTS_MAX][300];                           /* the run's folder there */
    bool rdir_made[HOSTS_MAX];
    uint64_t shim_pid[HOSTS_MAX];   /* 0: no shim started there */
    char shim_sock[HOSTS_MAX][300]; /* local end of the forwarded control socket */
    char *shim_stats[HOSTS_MAX];
    int64_t offset_ns[HOSTS_MAX][2], rtt_ns[HOSTS_MAX][2]; /* at the start, at the end */
    bool open;
    bool left; /* a host's folder could not be cleaned: the registry keeps the run */
    char status_err[HOSTS_MAX][256]; /* hr_reap: why a host's statuses could not be read */
};

/* Load HOSTS.ini, place the scenario's nodes (their addresses written into
 * scn), and refuse what a multi-host run cannot do. 0, or -1 with err. */
int hr_init(struct run *r, struct scenario *scn, const char *hosts_file, char *err, size_t el);
/* Connect to every host, make the run's folders, compare clocks, check the
 * server binary; the version goes to r->server_version. */
int hr_open(struct run *r, char *err, size_t el);
/* Start node i's server: argv is its command line (argv[0] the binary). */
/* argv's first argument is the node's config file: conf, a local file,
 * is put there first. */
int hr_node_start(struct run *r, int i, char *const argv[], const char *conf, char *err, size_t el);
/* Signal node i's server if it still runs with the start time recorded:
 * node_signal's 0, 1 (it has exited) or -1 (the agent could not tell). */
int hr_node_signal(struct run *r, int i, int sig, char *why, size_t wl);
/* Stop node i's server whatever the run thinks of it (a step may have
 * marked it down already): TERM and CONT, then KILL after ms. 0 when it
 * is seen gone, or -1 with err (it may still hold its address). */
int hr_node_stop(struct run *r, int i, int ms, char *err, size_t el);
int hr_start_shims(struct run *r, char *err, size_t el);
/* A control request to every host's shim; the first failure in err. */
int hr_shim_request(struct run *r, const char *line, char *err, size_t el);
/* Exits of servers no step stopped (crashes), counters, everything stopped
 * and fetched, the hosts' folders removed, the connections closed. */
void hr_teardown(struct run *r);
/* bus.txt and bus.jsonl from every host's capture, on one clock. */
void hr_decode_bus(struct run *r);
/* report.json's "hosts" (with a leading comma). */
void hr_json(const struct run *r, FILE *f);
/* Servers that exited on their own since the last look: crashes. -1 when
 * a host could not say (r->unseen tells): no crash seen is not no crash. */
int hr_reap(struct run *r);
void hr_free(struct run *r);
/* reg_cleanup_all's remote cleaner; ctx is the struct hosts to reach them. */
int hr_cleanup_remote(const char *regdir, const char *id, void *ctx);

#endif
