/* policy: the rift-shim policy language (INI, inih), loaded and validated
 * as a whole before anything is applied. A loaded policy is immutable. */
#ifndef RIFT_POLICY_H
#define RIFT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "value.h"

#define POL_MAX_NODES 64
#define POL_MAX_RULES 64
#define POL_MAX_QUEUES 64 /* [shim] queues */
#define POL_NAME_MAX 64
#define POL_PATH_MAX 512
#define POL_ERR_MAX 512

#define POL_START_MANUAL INT64_C(-1)

enum pol_ports { POL_PORTS_BUS = 1, POL_PORTS_CLIENT = 2, POL_PORTS_ALL = 3 };
enum pol_dist { POL_DIST_UNIFORM, POL_DIST_NORMAL, POL_DIST_PARETO };
enum pol_loss_model { POL_LOSS_RANDOM, POL_LOSS_GEMODEL };
enum pol_proto { POL_PROTO_TCP = 6, POL_PROTO_UDP = 17 };
enum pol_rules_mode { POL_RULES_IPTABLES, POL_RULES_NONE };
/* Which end of a TCP connection dialed: any, the rule's `from` side, or its
 * `to` side (the other of a pair's two connections). */
enum pol_opened_by { POL_OPENED_ANY, POL_OPENED_FROM, POL_OPENED_TO };

struct pol_node {
    char name[POL_NAME_MAX];
    uint32_t ip;   /* host byte order */
    uint16_t port; /* client port, 0: a host without a listening port */
    uint16_t bus;  /* bus port, 0 when port is 0 */
    /* Its cluster node id (CLUSTER MYID, 40 hex digits), or "": nodes that
     * share an address are told apart by it on the bus (a dialer's port is
     * ephemeral, its messages carry the id) */
    char id[41];
    int line;
    int addr_line;
};

/* What a rule does to each packet it matches, in netem's order:
 * loss, duplicate, hold | (rate, delay+jitter, reorder). */
struct pol_effects {
    uint64_t delay_ns, jitter_ns;
    enum pol_dist dist;
    uint64_t delay_corr; /* correlation, fixed point */
    enum pol_loss_model loss_model;
    uint64_t loss, loss_corr;        /* random loss */
    uint64_t ge_p, ge_r, ge_h, ge_k; /* Gilbert-Elliott: p good->bad, r bad->good,
                                        h delivery in bad, k delivery in good */
    uint64_t reorder, reorder_corr;
    uint64_t duplicate, duplicate_corr;
    uint64_t rate_bps; /* 0: unlimited */
    bool hold;
};

/* Source line of each rule key, for errors found after parsing. */
enum pol_key {
    PK_FROM,
    PK_TO,
    PK_PORTS,
    PK_DIRECTION,
    PK_OPENED_BY,
    PK_PROTO,
    PK_MESSAGES,
    PK_DELAY,
    PK_JITTER,
    PK_DIST,
    PK_CORR,
    PK_LOSS,
    PK_LOSS_CORR,
    PK_LOSS_MODEL,
    PK_GE_P,
    PK_GE_R,
    PK_GE_H,
    PK_GE_K,
    PK_REORDER,
    PK_REORDER_CORR,
    PK_DUP,
    PK_DUP_CORR,
    PK_RATE,
    PK_HOLD,
    PK_START,
    PK_DURATION,
    PK__COUNT
};

struct pol_rule {
    char name[POL_NAME_MAX];
    int line;                /* line of the section header */
    int key_line[PK__COUNT]; /* 0: key not given */
    char from_spec[256], to_spec[256];
    uint64_t from, to; /* node bitmasks, resolved */
    enum pol_ports ports;
    bool both; /* direction = both */
    enum pol_opened_by opened_by;
    enum pol_proto proto;
    struct pol_effects fx;
    int64_t start_ns;     /* POL_START_MANUAL or offset from shim start */
    uint64_t duration_ns; /* 0: until turned off */
    uint32_t messages;    /* cluster-bus types (bit per type), 0: all traffic */
};

#define POL_OWNER_MAX 16
struct pol_shim {
    unsigned queue, queues; /* NFQUEUE numbers queue .. queue+queues-1 */
    uint64_t seed;
    bool seed_given;
    char capture[POL_PATH_MAX];
    char control[POL_PATH_MAX];
    enum pol_rules_mode rules;
    uint32_t queue_maxlen;
    bool overflow_pass;
    uint64_t timer_spin_ns; /* wake early by this much, then poll the clock */
    uint64_t busy_poll_ns;  /* after a packet, poll this long before sleeping;
                               UINT64_MAX: never sleep */
    bool realtime;          /* run SCHED_FIFO: wake up ahead of other work */
    /* Whose chain RIFT-<queue>-<owner> is (a run's id); "": pid<PID> */
    char owner[POL_OWNER_MAX + 1];
    /* When another process holds the queues: try the next queues blocks
     * (queue + k * queues), at most this many; 0: refuse */
    unsigned queue_search;
};

struct policy {
    char file[POL_PATH_MAX];
    struct pol_shim shim;
    struct pol_node nodes[POL_MAX_NODES];
    int n_nodes;
    struct pol_rule rules[POL_MAX_RULES];
    int n_rules;
};

/* Load and validate FILE. On error returns -1 and writes "FILE:LINE: what"
 * into err. */
int pol_load(struct policy *p, const char *file, char *err, size_t errlen);
/* Same, from a string (tests); name is used in messages. */
int pol_load_string(struct policy *p, const char *name, const char *text, char *err, size_t errlen);

/* Set one rule key (used by the loader and by `set RULE KEY VALUE`), then
 * pol_rule_check() validates the rule as a whole. Both return 0 or -1 with
 * a message (without file:line) in err. */
int pol_rule_set(struct pol_rule *r, const char *key, const char *value, char *err, size_t errlen);
int pol_rule_check(const struct policy *p, struct pol_rule *r, int *line, char *err, size_t errlen);

/* The policy as INI text that pol_load_string reads back to the same
 * policy (rules with the keys they were given). 0, or -1 (errno EINVAL: a
 * control or capture path that an INI line cannot carry). */
int pol_write(FILE *o, const struct policy *p);

/* A name of letters, digits, '-', '_' or '.' that fits. */
bool pol_valid_name(const char *s);
/* Name of rule key k (enum pol_key), or NULL. */
const char *pol_key_name(int k);
/* Every rule key's name, ", " between them. */
void pol_key_names(char *out, size_t len);
/* Index of a rule key (enum pol_key), or -1. */
int pol_key_index(const char *key);
/* Rule key k's value as the loader reads it back ("20ms", "33.333%",
 * "bus", "PONG, FAILOVER_AUTH_ACK", "manual"). */
void pol_key_format(const struct pol_rule *r, int k, char *out, size_t len);
/* printf into err; returns -1, for `return pol_errf(...)`. */
int pol_errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A time as "20ms", "250us" or "7ns". */
void pol_format_time(char *out, size_t len, uint64_t ns);
/* A rule's effects in one short line: "hold", "delay 5ms loss 2% [PONG]". */
void pol_rule_effect(const struct pol_rule *r, char *out, size_t len);
/* What a policy has when the file does not say: [shim] keys, a rule's keys. */
void pol_shim_defaults(struct pol_shim *s);
void pol_rule_defaults(struct pol_rule *r);

int pol_find_rule(const struct policy *p, const char *name);
/* Node i has ports and another node with ports has its address (a local
 * cluster on 127.0.0.1): the shim tells them apart by port and id. */
bool pol_node_shares_addr(const struct policy *p, int i);
int pol_find_node(const struct policy *p, const char *name);

const char *pol_dist_name(enum pol_dist d);

#endif
