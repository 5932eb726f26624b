/* daemon: rift-shim's one context, shared by its parts: the packet path
 * (path.c), rules on and off with their iptables jobs (rules.c), the
 * control server (ctlsrv.c) and the event loop (loop.c). Only main (shim.c)
 * owns it; every other function gets it as an argument. */
#ifndef RIFT_DAEMON_H
#define RIFT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../policies/model.h"
#include "../policies/policy.h"
#include "../proto/ctl.h"
#include "capture.h"
#include "hold.h"
#include "ipt.h"
#include "match.h"
#include "msgflow.h"
#include "queue.h"

#define SHIM_VERSION "0.1.0"
#define MAX_CLIENTS 16
#define MAX_JOBS 64
#define HEADER_COPY 128 /* IPv4 + TCP headers with options */
#define FULL_COPY 0xffff
#define OVERFLOW_SAMPLE_NS 100000000ull
#define RX_BUDGET 8              /* recvmmsg batches before looking at timers */
#define SMALL_BATCH 4            /* packets per recvmmsg when a release is near */
#define WARM_QUIET_NS 1000000ull /* a verdict path unused this long is warmed */

/* The packets a rule matched by node pair (from > to), for the pairs
 * the rule named first; the rest, and packets whose ends are not one node
 * each, are counted in pairs_other. */
#define RULE_PAIRS_MAX 32
struct rule_pair {
    int8_t from, to;
    uint64_t n;
};

struct rule_stats {
    uint64_t matched, passed, delayed, dropped, reordered, duplicated, held_total, max_held,
        queue_overflows, dup_failed, hold_failed;
    struct rule_pair pairs[RULE_PAIRS_MAX];
    int n_pairs;
    uint64_t pairs_other;
};

struct rule_rt {
    bool active;
    uint64_t on_at, off_at; /* monotonic ns, 0: nothing scheduled */
    struct model_state model;
    struct hold_store store;
    struct match_pat *pats;
    int npats;
    bool installed; /* its iptables rules are in the chain */
    struct rule_stats st;
};

/* A control connection: the request line being read, and the replies the
 * client has not read yet (at most CTL_OUT_MAX bytes: past that it is
 * closed, so a client that never reads cannot stall the shim). */
#define CTL_OUT_MAX (256u << 10)
struct client {
    int fd;
    size_t len;
    char buf[CTL_LINE_MAX];
    char *out; /* CTL_OUT_MAX bytes once a reply waits */
    size_t out_off, out_len;
    bool closing; /* over its bound: closed at the end of this loop turn */
    uint64_t replies;
};

struct ipt_job {
    int rule;
    bool add;   /* install (on) or remove (off) its rules */
    int client; /* fd waiting for the reply, -1 none */
};

struct shim {
    struct policy *pol;
    struct match_index mi;
    struct rule_rt rt[POL_MAX_RULES];
    struct queue q;
    int epfd, tfd, sfd, lfd, rawfd, tsfd;
    struct client clients[MAX_CLIENTS];
    struct capture cap;
    bool capturing;
    uint64_t seed;
    uint64_t seq;
    uint64_t t0;
    uint64_t (*now)(void);
    uint64_t armed;   /* deadline the timer is set to */
    uint64_t spin_ns; /* wake this early for a packet deadline */
    uint64_t warmed;  /* seq + 1 of the held packet path_warm_due last prepared */
    uint64_t last_tx; /* when verdicts last went out (loop time) */
    uint64_t tx_seen; /* q.tx_calls at that time */
    /* the clocks read once before a receive batch (rx_mono 0: outside one),
     * so that a packet's arrival costs no clock reads of its own */
    uint64_t rx_mono, rx_real;
    uint64_t hot_until; /* poll without sleeping until then */
    int n_installed;    /* rules whose iptables rules are in */
    struct ipt_job jobs[MAX_JOBS];
    int njobs;
    pid_t job_pid;
    int job_errfd;
    bool quitting;
    uint64_t next_sample;
    uint64_t kq_dropped0, kq_user0, kq_dropped, kq_user;
    uint64_t total, unmatched, unparsed, verdict_errors;
    /* Packets of each queue waiting for their verdict, and when a queue was
     * full: the kernel then drops (on_overflow = drop, counted by it) or
     * passes unqueued (pass: it counts nothing) what arrives. */
    uint32_t waiting[POL_MAX_QUEUES];
    uint64_t queue_full, queue_full_ns, full_since[POL_MAX_QUEUES];
    struct msgflow_table flows; /* message boundaries, for `messages =` rules */
    uint8_t scratch[65536];     /* a packet being rewritten */
    bool use_ipt;
    bool timer_woke; /* this loop turn began with the timer */
    /* What each descriptor in the epoll set is for (watch_add). */
    struct loop_src {
        int fd;
        void (*fn)(struct shim *s, int arg);
        int arg;
    } srcs[MAX_CLIENTS + 8];
    int n_srcs;
    /* A reply to the control client on fd (ctlsrv_reply, set by main):
     * rules answer through it once their iptables job is done. */
    void (*reply)(struct shim *s, int fd, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* Our iptables chain, RIFT-<queue>-<owner>, and its owner */
    char chain[IPT_CHAIN_MAX], owner[IPT_OWNER_MAX + 1];
    struct ctl_bound lbound; /* the control socket's file */
};

/* daemon.c: the clock (s->now is this unless a test injects its own). */
uint64_t shim_mono_now(void);
uint64_t shim_since_us(struct shim *s, uint64_t t);

/* path.c: the packet path: a decision and one verdict per packet. */
void path_on_packet(const struct queue_packet *pkt, void *arg);
void path_verdict(struct shim *s, uint16_t queue, uint32_t id, uint32_t mark, int v);
void path_flush(struct shim *s);
/* Release a rule's packets in order: all, or those due by now. */
void path_release_rule(struct shim *s, int ri, uint64_t now, bool all);
void path_release_all(struct shim *s, uint64_t now);
/* Release what is due by now, every rule. */
void path_release_due(struct shim *s, uint64_t now);
/* Reads the clocks for the receive batch about to be read (now: its
 * CLOCK_MONOTONIC time); set rx_mono to 0 after the batch. */
void path_rx_clock(struct shim *s, uint64_t now);
/* The packet due within spin_ns, its verdict path warmed (once), or NULL. */
const struct hold_pkt *path_warm_due(struct shim *s, uint64_t now);
/* The earliest release time of a held packet, UINT64_MAX if none. */
uint64_t path_next_due(const struct shim *s);
/* Wait out a deadline closer than spin_ns; returns the time after. */
uint64_t path_spin_until_due(struct shim *s, uint64_t now);
uint64_t path_verdict_errors(const struct shim *s);
uint64_t path_queue_full_ns(const struct shim *s, uint64_t now);
void path_sample_overflows(struct shim *s);
/* How much of each packet the kernel should copy to us. */
uint32_t path_copy_range(const struct shim *s);

/* rules.c: rules on and off; their iptables rules installed by one child
 * at a time, in order; a control client waiting gets the answer. */
void rules_on(struct shim *s, int ri, uint64_t now, int client);
void rules_off(struct shim *s, int ri, uint64_t now, int client);
void rules_schedule(struct shim *s, uint64_t now);
void rules_job_done(struct shim *s, int status);
void rules_abandon_jobs(struct shim *s);

/* ctlsrv.c: the control socket's server side. */
void ctlsrv_reply(struct shim *s, int fd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ctlsrv_reap(struct shim *s);
void ctlsrv_close_all(struct shim *s);
void ctlsrv_on_listen(struct shim *s, int arg);
void ctlsrv_on_client(struct shim *s, int client);
void ctlsrv_print_counters(struct shim *s, FILE *out);

/* loop.c: the event loop: descriptors dispatched by a handler table. */
/* watch.c: the descriptors the loop waits on. */
int watch_add(struct shim *s, int fd, void (*fn)(struct shim *s, int arg), int arg);
void watch_del(struct shim *s, int fd);
/* Watch fd for room to write as well (out), or for input only. */
int watch_out(struct shim *s, int fd, bool out);
/* Queue, timer and signal sources; then run until quitting. */
int loop_setup(struct shim *s);
void loop_run(struct shim *s);
void loop_arm_timer(struct shim *s, uint64_t now);
/* Verdict what is still queued once our rules are gone. */
void loop_drain_queue(struct shim *s);

#endif
