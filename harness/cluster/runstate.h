/* runstate: the state one `rift run` shares between its modules (the
 * nodes, observations, steps as they ran, the shim, probes, workload), the
 * harness's one clock and its progress output, and what a run is given
 * and returns (struct run_opts, struct run_result; run.h runs one). The
 * bottom of the cluster folder: it calls nothing above it. */
#ifndef RIFT_RUNSTATE_H
#define RIFT_RUNSTATE_H

#include <hiredis.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../observe/sniff.h"
#include "../observe/view.h"
#include "../scenario/flavour.h"
#include "../scenario/scenario.h"
#include "../sys/proc.h"
#include "../sys/registry.h"
#include "../sys/rfile.h"
#include "app.h"
#include "migrate.h"
#include "probes.h"
#include "workload.h"

#define SAMPLE_MS 20
#define SUMMARY_ROWS 8
#define MAX_OBS 512

/* What a run found, for callers that run scenarios themselves (chaos,
 * shrink): the verdict and each check as the summary shows it. */
#define RUN_MAX_CHECKS 12
struct run_check {
    char name[24];
    bool fail; /* status fail */
    bool seen; /* the check saw what it looks for (forbidden or expected) */
    char detail[256];
};
struct run_result {
    char verdict[16]; /* pass | fail | invalid | error | interrupted */
    char error[512];  /* why, for error and invalid */
    uint64_t seed;
    char server[64]; /* "redis 7.0.15" */
    int n;
    struct run_check c[RUN_MAX_CHECKS];
};

struct rfile_dir;
struct live_opts;
struct live;
struct attach;
struct run_opts {
    const char *scenario_file;
    const char *report_dir;              /* NULL: no report files */
    const struct rfile_dir *report_open; /* report_dir, opened by the caller (chaos), or NULL */
    const char *server;                  /* overrides [cluster] server, or NULL */
    uint64_t seed;
    bool seed_given;
    bool quiet;                /* no progress lines and no summary (errors still) */
    struct run_result *result; /* filled in when not NULL */
    const char *hosts_file;    /* --hosts: the nodes run on these hosts (hosts.h) */
    int app_argc;              /* `rift run SCN -- CMD...`: the application's command */
    char *const *app_argv;
    const struct live_opts *live; /* rift up: served after the timeline (run/live.h), or NULL */
    const char *attach;           /* --attach HOST:PORT[,...]: overrides [cluster] attach */
};

struct node_rt {
    pid_t pid; /* an unreaped child of ours, or 0 */
    bool down; /* a step stopped it on purpose, or it exited */
    bool paused;
    char down_why[96]; /* how it went down, for steps skipped on it */
    char dir[300], log[340], id[41];
    redisContext *admin;
    struct view view; /* last sample */
    bool have_view;
    bool answered; /* mode = standalone: it answered PING in the last sample */
};

/* A timeline step as it ran: skipped (with the reason) when its node was
 * not there to act on. */
struct step_rec {
    int64_t t_ms;
    char step[160];
    char skipped[160];
};

/* What an observation is about, beside its text: the nodes of a cycle in
 * order, slot ranges (lost or left open). */
#define OBS_MAX_NODES 16
#define OBS_MAX_RANGES 16
struct obs_fields {
    int n_nodes;
    char nodes[OBS_MAX_NODES][16];
    int n_ranges;
    uint16_t ranges[OBS_MAX_RANGES][2];
};

struct obs {
    char check[24];
    char observer[16];
    char what[256];
    int64_t first_ms, last_ms;
    int samples;
    struct obs_fields f;
};

/* How the cluster layer starts, signals and checks a node's server on
 * another host: hostrun fills it in (the cluster layer calls it through
 * this, never up into hostrun). */
struct run;
struct node_remote {
    int (*start)(struct run *r, int node, char *const argv[], const char *conf, char *err,
                 size_t el);
    int (*signal)(struct run *r, int node, int sig, char *why, size_t wl);
    bool (*alive)(const struct run *r, int node); /* its server was started and not reaped */
};

struct run {
    const struct scenario *scn;
    const struct run_opts *o;
    uint64_t seed;
    char id[16], netns[32], tmp[256], server_bin[POL_PATH_MAX], server_version[64];
    char server_name[48];     /* as given: redis, valkey@sid, a path (flavour.h) */
    char server_package[128]; /* "valkey-server 9.1.2-1 (sid)", or "" */
    /* The nodes' requirepass and masterauth: [cluster] password, or made
     * for the run; it never leaves the run but to its own clients. */
    char password[SCN_PASSWORD_MAX + 1];
    /* How to start a server: for trixie's, its own loader, the library
     * path and the name the binary must see as argv[0]. */
    char launch[5][FLAVOUR_PATH_MAX];
    int n_launch;
    struct registry reg;
    struct rfile_dir report; /* --report DIR, checked before anything starts; fd -1 without */
    int orig_ns;
    bool ns_made, reg_made;
    struct node_rt nodes[SCN_MAX_NODES];
    pid_t shim_pid;
    char shim_sock[300], shim_bin[POL_PATH_MAX + 16], shim_log[300], shim_err[512];
    char invalid[512]; /* why the verdict does not count, or "" */
    char unseen[300];  /* what rift could not observe of the servers (hosts), or "" */
    char verdict[16];  /* pass | fail | invalid | error */
    uint64_t t_start, t_ready;
    double t_ready_real;   /* t_ready on CLOCK_REALTIME (pcap times) */
    struct viewlog *views; /* views.jsonl, as changes */
    struct obs obs[MAX_OBS];
    int n_obs;
    int64_t last_step_ms, converged_ms;
    int steps_done;
    struct step_rec steps[SCN_MAX_STEPS];
    char *shim_stats;
    struct workload wl;
    bool wl_running;
    struct wl_result wl_res;
    struct migration mig[8];
    int n_mig;
    struct probe_rt probes[SCN_MAX_PROBES];
    bool probes_started;
    int64_t first_fault_ms;
    /* the CROSSSLOT audit of the client port */
    struct ks_table cmdtab;
    struct audit *audit;
    struct sniff sniff;
    struct app_rt app;
    bool compat_counter; /* Redis 8 counts cluster_incompatible_ops */
    struct hostrun *hr;  /* --hosts: the nodes are on other hosts; NULL: one namespace here */
    const struct node_remote *remote; /* --hosts: set by hostrun; NULL: here */
    uint32_t harness_ip;              /* --hosts: [harness] addr, 0: the kernel's choice */
    bool far;            /* an attached cluster off the loopback: sources are the kernel's choice */
    struct live *live;   /* rift up, [app]: the control socket (run/live.h), or NULL */
    struct attach *att;  /* [cluster] attach: a cluster rift did not start (attach/), or NULL */
    char live_sock[300]; /* its path (RIFT_CTL), or "" */
    uint32_t *round_us;  /* each recorded sampling round's duration */
    int n_rounds, cap_rounds;
};

/* Set by SIGINT/SIGTERM: every wait gives up. */
extern volatile sig_atomic_t run_interrupted;

/* The harness's clock (clock.h), in ns. */
uint64_t run_now_ns(void);
/* ms since the timeline started (0 before). */
int64_t run_ms(const struct run *r);
/* "[   1.234] what" on stderr, seconds since the run started. */
void run_progress(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void run_sleep_ms(int ms);
/* A seed nobody gave: random, 48 bits (short enough to type). */
uint64_t run_random_seed(void);
/* The command that replays the run: rift run with the scenario's absolute
 * path, the seed, the server, the hosts file and the application's words
 * after "--" when they came from the command line. */
struct run_replay {
    int argc;
    const char *argv[SCN_APP_MAX_ARGS + 12];
    char file[4096], hosts[4096], seed[24];
};
void run_replay(const struct run *r, struct run_replay *rp);
/* The nodes' password: [cluster] password, or 128 random bits as 32 hex
 * digits. 0, or -1 with errno. */
int run_make_password(struct run *r);
/* A sample round saw the cluster converged or not: converged_ms is when
 * the current converged stretch began, -1 while it is not. */
void run_track_convergence(struct run *r, bool converged);
/* After the last step: migrations over, converged for a second, and the
 * probes healed or given heal_ns to do so since the convergence. */
bool run_settled(const struct run *r, bool migrations_done, bool probes_healed, uint64_t heal_ns);
/* The last `lines` lines of a file (its last 64 KiB at most) read into buf:
 * where they start in it, or NULL when the file cannot be read. */
const char *run_file_tail(const char *path, int lines, char *buf, size_t len);
/* "127.0.0.X:7000" of node i. */
void run_node_addr(const struct run *r, int i, char *out, size_t len);
/* The source address for rift's own connections of a kind (SCN_ADMIN_IP,
 * SCN_CLIENTS_IP): that loopback address on one host; with --hosts the
 * hosts file's [harness] addr, or "" (the kernel's choice, as for an
 * attached cluster in containers). */
void run_source(const struct run *r, uint32_t local_ip, char *out, size_t len);

#endif
