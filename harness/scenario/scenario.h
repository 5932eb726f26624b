/* scenario: the `rift run` scenario file (INI, inih): the cluster to build,
 * server directives, faults (shim rules naming scenario nodes), a timeline
 * of steps, the workload, checks and expectations. Loaded and validated as
 * a whole; errors are "FILE:LINE: what". */
#ifndef RIFT_SCENARIO_H
#define RIFT_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../policies/policy.h"

#define SCN_MAX_NODES 48
#define SCN_MAX_STEPS 256
#define SCN_MAX_CONF 64
#define SCN_PASSWORD_MAX 64
#define SCN_ERR_MAX 512
#define SCN_FILE_MAX (1024 * 1024) /* bytes */

/* Addresses inside the run's namespace. */
#define SCN_NODE_IP(i) (0x7f00000bu + (uint32_t)(i)) /* node i (0-based): 127.0.0.(11+i) */
#define SCN_CLIENTS_IP 0x7f000064u                   /* 127.0.0.100: workload and probes */
#define SCN_ADMIN_IP 0x7f000002u                     /* 127.0.0.2: observer, admin; no rule */
#define SCN_APP_IP 0x7f0000c8u                       /* 127.0.0.200: the application ([app]) */
#define SCN_PORT 7000
#define SCN_SLOTS 16384

enum scn_step_kind {
    STEP_FAULT,    /* fault NAME on|off */
    STEP_FAILOVER, /* failover NODE [force|takeover] */
    STEP_MIGRATE,  /* migrate LO[-HI] SRC DST */
    STEP_KILL,
    STEP_PAUSE,
    STEP_RESUME,
    STEP_RESTART,
    STEP_WAIT_CONVERGED, /* wait converged */
};

struct scn_step {
    int line;
    uint64_t at_ns; /* from cluster ready */
    enum scn_step_kind kind;
    int node;             /* FAILOVER, KILL..RESTART: node index */
    int fault;            /* FAULT: rule index in faults */
    bool on;              /* FAULT */
    char mode[16];        /* FAILOVER: "", "force" or "takeover" */
    int slot_lo, slot_hi; /* MIGRATE */
    bool atomic;          /* MIGRATE: CLUSTER MIGRATESLOTS (Valkey >= 9.0) */
    int src, dst;         /* MIGRATE: node indexes (primaries) */
};

enum scn_rule { SCN_UNSET = 0, SCN_FORBID, SCN_ALLOW };

struct scn_checks {
    enum scn_rule cycles, lost_slots, lost_writes, crashes, open_slots;
    enum scn_rule crossslot; /* unset: allow (the finding is reported either way) */
    enum scn_rule chained_replicas, empty_primaries; /* in the last views */
    uint64_t converge_within_ns;                     /* 0: not checked */
    uint64_t heal_within_ns;                         /* 0: not checked */
};

#define SCN_MAX_PROBES 8
#define SCN_MAX_PROBE_OPTS 8

/* A client probe: a real client library driven by harness/clients/. */
struct scn_probe {
    char name[32]; /* rift | redis-py | redis-py-6 | ioredis | node-redis */
    int n_opts;
    char opts[SCN_MAX_PROBE_OPTS][2][64]; /* library option, value */
};

struct scn_expect {
    bool cycles, lost_slots, lost_writes, crashes; /* true: must be seen ("present") */
    bool crossslot, chained_replicas, empty_primaries;
    unsigned never_heals; /* probes (bit per index) that must NOT heal */
};

/* [app]: the user's own program, run in the namespace beside the cluster
 * (or `rift run SCN -- CMD...`). */
#define SCN_APP_MAX_ARGS 64
#define SCN_APP_MAX_ENV 16
struct scn_app {
    bool on;
    int line;         /* of command = (0: from the command line) */
    char text[1024];  /* the command as written */
    char words[1024]; /* its words, each NUL-terminated */
    int argc;
    int argv_off[SCN_APP_MAX_ARGS]; /* word i starts at words + argv_off[i] */
    uint64_t start_ns;              /* from the start of the timeline */
    bool wait;                      /* stop = wait: the run waits for it to exit */
    int expect_exit;                /* the exit status that passes */
    uint64_t timeout_ns;            /* stop = wait: the longest wait after the last step */
    int n_env;
    char env[SCN_APP_MAX_ENV][2][256];
};

/* [cluster] attach: a cluster rift did not start, found from these
 * addresses (harness/attach). */
#define SCN_ATTACH_MAX 16
struct scn_attach {
    int n; /* 0: rift builds the cluster itself */
    uint32_t ip[SCN_ATTACH_MAX];
    uint16_t port[SCN_ATTACH_MAX];
    int line;     /* of attach = (0: --attach) */
    bool signals; /* attach_signals = yes: kill/pause/restart of the nodes' PIDs */
};

struct scenario {
    char file[POL_PATH_MAX];
    char server[POL_PATH_MAX]; /* redis | redis8 | valkey | /path */
    int masters, replicas;
    bool standalone;               /* [cluster] mode = standalone: one server, cluster mode off */
    int n_nodes;                   /* masters * (1 + replicas) */
    char names[SCN_MAX_NODES][16]; /* m1..mN, then m1r1..mNr1, m1r2.. */
    int primary_of[SCN_MAX_NODES]; /* -1 for primaries */
    int node_timeout_ms;
    /* [cluster] password: the nodes' requirepass/masterauth; "": one made
     * for the run */
    char password[SCN_PASSWORD_MAX + 1];
    int n_conf;
    char conf[SCN_MAX_CONF][2][128]; /* [server] directive, value */
    /* Faults as a shim policy: nodes are the scenario nodes plus the
     * pseudo-node "clients"; one rule per [fault]; [shim] left default. */
    struct policy faults;
    struct scn_step steps[SCN_MAX_STEPS];
    int n_steps;
    int writers; /* [workload] writers, 0: none */
    struct scn_probe probes[SCN_MAX_PROBES];
    int n_probes;
    uint64_t probes_start_ns; /* [clients] start, from the start of the timeline */
    uint64_t probe_seeds;     /* node bitmask the probes are given; 0: every primary */
    struct scn_checks check;
    struct scn_expect expect;
    bool has_expect;
    struct scn_app app;
    struct scn_attach attach;
    int server_line, conf_line, masters_line; /* where [cluster] server, [server] and masters are */
};

/* HOST:PORT[,HOST:PORT...] (IPv4 or localhost) into a. 0, or -1 with err. */
int scn_attach_parse(struct scn_attach *a, const char *text, char *err, size_t el);
/* What an attached cluster cannot have: a server to run, [server]
 * directives, mode = standalone, kill/pause/restart without
 * attach_signals. 0, or -1 with err and *line (0: no line). */
int scn_attach_check(const struct scenario *s, int *line, char *err, size_t el);

/* A password rift can put in a config file and a URL as it is: 8 to
 * SCN_PASSWORD_MAX characters, printable, no blank, quote or backslash. */
bool scn_password_ok(const char *v);
int scn_load(struct scenario *s, const char *file, char *err, size_t errlen);
/* Splits a command line into a->words/argv_off as a shell would split
 * simple words: blanks separate, 'single' and "double" quotes (with \",
 * \\, \$ and \` inside), \X outside; no variables, globs, pipes or
 * redirections (those need `sh -c '...'`). 0, or -1 with err. */
int scn_app_split(struct scn_app *a, const char *text, char *err, size_t el);
/* Sets the command from argv words (`rift run SCN -- CMD...`). 0 or -1. */
int scn_app_argv(struct scn_app *a, int argc, char *const *argv, char *err, size_t el);
int scn_load_string(struct scenario *s, const char *name, const char *text, char *err,
                    size_t errlen);
int scn_node(const struct scenario *s, const char *name); /* index or -1 */
/* Node i's address (host order): 127.0.0.(11+i) on one host, the placed
 * address with --hosts. */
static inline uint32_t scn_node_ip(const struct scenario *s, int i)
{
    return s->faults.nodes[i].ip;
}
/* "m1..m3, m1r1..m3r1", for messages. */
void scn_node_names(const struct scenario *s, char *buf, size_t len);
/* A decimal integer lo..hi, the whole string: 0 or -1. */
int scn_parse_int(const char *s, long lo, long hi, int *v);
/* The shim policy for a run: [shim] with the given control socket, capture
 * and seed, the nodes, and the faults as rules (start = manual unless the
 * fault said otherwise). Returns a malloc'd string. */
char *scn_policy_text(const struct scenario *s, const char *control, const char *capture,
                      uint64_t seed);

#endif
