/* remote: running rift-shim's agent (and the server's --version) on the
 * hosts of a hosts file over SSH. One master connection per host (ssh -M,
 * registered as a process of the run) carries every command and the
 * forwarding of each shim's control socket, so a command costs a round
 * trip, not a key exchange. A remote command is an argv: each word is
 * single-quoted for the remote shell, never pasted into a command line. */
#ifndef RIFT_REMOTE_H
#define RIFT_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

#include "../scenario/hosts.h"
#include "../sys/registry.h"

struct remote {
    const struct hosts *hs;
    char dir[256]; /* local: control sockets ssh-N, forwarded sockets */
    pid_t master[HOSTS_MAX];
    char master_log[HOSTS_MAX][300];
    /* `rift-shim agent serve` on each host: a request per line */
    pid_t serve[HOSTS_MAX];
    int serve_in[HOSTS_MAX];    /* we write requests */
    FILE *serve_out[HOSTS_MAX]; /* we read replies */
    pthread_mutex_t lock[HOSTS_MAX];
};

/* Open a master connection to every host (each registered under role
 * "ssh-HOST"); -1 with err naming the host that does not answer. */
int remote_open(struct remote *rm, const struct hosts *hs, const char *dir, struct registry *reg,
                char *err, size_t el);
/* Run argv on host h: stdin from in_path (NULL: nothing), stdout into out
 * (NUL-terminated, may be NULL) or appended to out_path; stderr's last
 * line into err on failure. The remote exit status, or -1 (ssh failed:
 * err says why). */
int remote_run(struct remote *rm, int h, char *const argv[], const char *in_path, char *out,
               size_t out_len, const char *out_path, char *err, size_t el);
/* `rift-shim agent WORDS...` on host h through its serve session: the
 * agent's exit status, its output in out; -1 when the session is gone
 * (err says why). Safe from several threads. */
int remote_agent(struct remote *rm, int h, char *const words[], char *out, size_t ol, char *err,
                 size_t el);
/* Forward a local Unix socket to one on host h (through the master). */
int remote_forward(struct remote *rm, int h, const char *local, const char *remote_path, char *err,
                   size_t el);
/* Host h's clock minus ours, in ns, from the best of n round trips;
 * rtt_ns: that round trip. -1 with err. */
int remote_clock(struct remote *rm, int h, int n, int64_t *offset_ns, int64_t *rtt_ns, char *err,
                 size_t el);
/* rift-shim's path on host h. */
const char *remote_shim(const struct remote *rm, int h);
/* Close the masters. */
void remote_close(struct remote *rm);
/* word quoted for a POSIX shell: 'it'\''s' */
void remote_quote(char *out, size_t len, const char *word);

#endif
