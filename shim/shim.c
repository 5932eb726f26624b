/* rift-shim: applies a policy's rules to packets queued by NFQUEUE.
 * One context, one epoll loop: the queue socket, an absolute-deadline
 * timerfd, a signalfd and the control socket. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../policies/model.h"
#include "../policies/policy.h"
#include "capture.h"
#include "../proto/ctl.h"
#include "../proto/bus.h"
#include "hold.h"
#include "msgflow.h"
#include "ipt.h"
#include "match.h"
#include "queue.h"

#define VERSION "0.1.0"
#define MAX_CLIENTS 16
#define MAX_JOBS 64
#define HEADER_COPY 128          /* IPv4 + TCP headers with options */
#define FULL_COPY 0xffff
#define OVERFLOW_SAMPLE_NS 100000000ull
#define RX_BUDGET 8              /* recvmmsg batches before looking at timers */

struct rule_stats {
    uint64_t matched, passed, delayed, dropped, reordered, duplicated, held_total, max_held,
        queue_overflows, dup_failed, hold_failed;
};

struct rule_rt {
    bool active;
    uint64_t on_at, off_at;      /* monotonic ns, 0: nothing scheduled */
    struct model_state model;
    struct hold_store store;
    struct match_pat *pats;
    int npats;
    bool installed;              /* its iptables rules are in the chain */
    struct rule_stats st;
};

struct client {
    int fd;
    size_t len;
    char buf[CTL_LINE_MAX];
};

struct ipt_job {
    int rule;
    bool add;                    /* install (on) or remove (off) its rules */
    int client;                  /* fd waiting for the reply, -1 none */
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
    uint64_t armed;              /* deadline the timer is set to */
    uint64_t spin_ns;            /* wake this early for a packet deadline */
    uint64_t hot_until;          /* poll without sleeping until then */
    int n_installed;             /* rules whose iptables rules are in */
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
    struct msgflow_table flows;  /* message boundaries, for `messages =` rules */
    uint8_t scratch[65536];      /* a packet being rewritten */
    bool use_ipt;
};

static struct shim S; /* the daemon's one context */

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t since_start_us(struct shim *s, uint64_t t)
{
    return (t - s->t0) / 1000;
}

/* ---- iptables jobs, one child at a time, in order ---- */

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void job_pop(struct shim *s)
{
    memmove(&s->jobs[0], &s->jobs[1], (size_t)--s->njobs * sizeof(s->jobs[0]));
}

/* Jobs are scripted when they start, from what is committed, so a failed
 * change never leaves the INPUT jump or a rule's state out of step. */
static void job_start_next(struct shim *s)
{
    char err[512];
    while (s->job_pid <= 0 && s->njobs > 0) {
        struct ipt_job *j = &s->jobs[0];
        struct rule_rt *rt = &s->rt[j->rule];
        char *script = NULL;
        size_t len = 0;
        FILE *f;
        if (rt->installed == j->add) {
            if (j->client >= 0)
                reply(j->client, "ok");
            job_pop(s);
            continue;
        }
        f = open_memstream(&script, &len);
        if (f) {
            ipt_script_begin(f);
            if (j->add && s->n_installed == 0)
                ipt_script_jump(f, s->pol->shim.queue, true);
            ipt_script_rule(f, s->pol->shim.queue, s->pol->shim.queues,
                            s->pol->rules[j->rule].name, rt->pats, rt->npats, j->add);
            if (!j->add && s->n_installed == 1)
                ipt_script_jump(f, s->pol->shim.queue, false);
            ipt_script_end(f);
            fclose(f);
            s->job_pid = ipt_spawn(script, len, &s->job_errfd, err, sizeof(err));
        } else {
            snprintf(err, sizeof(err), "out of memory");
        }
        free(script);
        if (s->job_pid > 0)
            return;
        s->job_pid = 0;
        if (j->add)
            rt->active = false;
        if (j->client >= 0)
            reply(j->client, "error: %s", err);
        job_pop(s);
    }
}

static void job_done(struct shim *s, int status)
{
    char err[768];
    struct ipt_job *j = &s->jobs[0];
    struct rule_rt *rt = &s->rt[j->rule];
    int rc = ipt_finish(s->job_pid, status, s->job_errfd, err, sizeof(err));
    s->job_pid = 0;
    if (rc == 0) {
        rt->installed = j->add;
        s->n_installed += j->add ? 1 : -1;
    } else {
        /* iptables-restore applies all or nothing: the rule cannot be on. */
        fprintf(stderr, "rift-shim: %s\n", err);
        if (j->add)
            rt->active = false;
    }
    if (j->client >= 0) {
        if (rc < 0)
            reply(j->client, "error: %s", err);
        else
            reply(j->client, "ok");
    }
    job_pop(s);
    job_start_next(s);
}

static void job_add_rule(struct shim *s, int ri, bool add, int client)
{
    if (s->njobs == MAX_JOBS) {
        if (add)
            s->rt[ri].active = false;
        if (client >= 0)
            reply(client, "error: too many iptables changes pending");
        return;
    }
    s->jobs[s->njobs++] = (struct ipt_job){.rule = ri, .add = add, .client = client};
    job_start_next(s);
}

/* Wait for the job in progress and drop the others (shutdown). */
static void jobs_abandon(struct shim *s)
{
    if (s->job_pid > 0) {
        char err[512];
        if (ipt_finish(s->job_pid, -1, s->job_errfd, err, sizeof(err)) < 0)
            fprintf(stderr, "rift-shim: %s\n", err);
        s->job_pid = 0;
    }
    for (int i = 0; i < s->njobs; i++)
        if (s->jobs[i].client >= 0)
            reply(s->jobs[i].client, "error: shim is stopping");
    s->njobs = 0;
}

/* ---- verdicts ---- */

static void verdict(struct shim *s, uint16_t queue, uint32_t id, int v)
{
    if (queue_verdict(&s->q, queue, id, v, NULL, 0) < 0)
        s->verdict_errors++;
}

/* A failed batch is resent one verdict at a time; each verdict the kernel
 * still refuses is counted in the queue's send_errors. */
static void flush(struct shim *s)
{
    queue_flush(&s->q);
}

/* Verdicts that did not reach the kernel or that it refused. */
static uint64_t verdict_errors(const struct shim *s)
{
    return s->verdict_errors + s->q.send_errors + s->q.kernel_errors;
}

/* A second copy of the packet, sent after the original's verdict through a
 * raw socket; its mark lets it skip the queue. NFQUEUE copies at most 65531
 * bytes (a netlink attribute's limit), so the largest loopback packets
 * cannot be copied whole: those count as duplicate_failed. */
static void inject_dup(struct shim *s, struct rule_rt *rt, const unsigned char *data,
                       uint32_t len, uint32_t orig_len)
{
    struct sockaddr_in dst = {.sin_family = AF_INET};
    if (len < orig_len || len < 20 || s->rawfd < 0) {
        rt->st.dup_failed++;
        return;
    }
    flush(s);
    memcpy(&dst.sin_addr, data + 16, 4);
    if (sendto(s->rawfd, data, len, 0, (struct sockaddr *)&dst, sizeof(dst)) == (ssize_t)len)
        rt->st.duplicated++;
    else
        rt->st.dup_failed++;
}

static void event(struct shim *s, uint64_t now, int ri, const unsigned char *data, uint32_t len,
                  const char *decision, const char *detail)
{
    struct pkt_info pi;
    char sum[160];
    if (!s->capturing)
        return;
    if (pkt_parse(data, len, &pi) == 0)
        pkt_summary(&pi, sum, sizeof(sum));
    else
        snprintf(sum, sizeof(sum), "unparsed len %u", len);
    capture_event(&s->cap, since_start_us(s, now), ri >= 0 ? s->pol->rules[ri].name : NULL, sum,
                  decision, detail);
}

/* A packet of queue q now waits for its verdict (+1) or got it (-1). */
static void queue_fill(struct shim *s, uint16_t queue, int delta, uint64_t now)
{
    unsigned qi = queue - s->pol->shim.queue;
    if (qi >= s->pol->shim.queues || qi >= POL_MAX_QUEUES)
        return;
    if (delta > 0 && ++s->waiting[qi] >= s->pol->shim.queue_maxlen && !s->full_since[qi]) {
        s->queue_full++;
        s->full_since[qi] = now ? now : 1;
        fprintf(stderr, "rift-shim: %.3f s: queue %u is full (%u packets waiting): %s\n",
                (double)since_start_us(s, now) / 1e6, queue, s->waiting[qi],
                s->pol->shim.overflow_pass ? "what arrives now passes without the rules"
                                           : "the kernel drops what arrives now");
    } else if (delta < 0 && s->waiting[qi]) {
        if (s->waiting[qi]-- == s->pol->shim.queue_maxlen && s->full_since[qi]) {
            s->queue_full_ns += now - s->full_since[qi];
            s->full_since[qi] = 0;
        }
    }
}

/* Time queues have been full, up to now. */
static uint64_t queue_full_ns(const struct shim *s, uint64_t now)
{
    uint64_t t = s->queue_full_ns;
    for (unsigned i = 0; i < s->pol->shim.queues && i < POL_MAX_QUEUES; i++)
        if (s->full_since[i])
            t += now - s->full_since[i];
    return t;
}

static void release_one(struct shim *s, struct hold_pkt *p, uint64_t now)
{
    struct rule_rt *rt = &s->rt[p->rule];
    queue_fill(s, p->queue, -1, now);
    if (p->flags & HOLD_F_MODIFIED) {
        /* the rewrite cannot be sent: at least deliver the packet */
        if (queue_verdict(&s->q, p->queue, p->id, NF_ACCEPT, p->data, p->len) < 0)
            verdict(s, p->queue, p->id, NF_ACCEPT);
    } else {
        verdict(s, p->queue, p->id, NF_ACCEPT);
    }
    if (s->capturing) {
        char detail[64];
        /* 32-bit arithmetic: right for holds shorter than 71 minutes. */
        snprintf(detail, sizeof(detail), "\"held_us\":%" PRIu32,
                 (uint32_t)since_start_us(s, now) - p->arrived_us);
        event(s, now, p->rule, p->data, p->len, "release", detail);
    }
    if (p->flags & HOLD_F_DUP)
        inject_dup(s, rt, p->data, p->len, p->len);
    free(p);
}

/* Release a rule's packets in order: all of them, or those due by now. */
static void release_rule(struct shim *s, int ri, uint64_t now, bool all)
{
    struct hold_store *st = &s->rt[ri].store;
    struct hold_pkt *p;
    while ((p = hold_peek(st)) && (all || p->deadline <= now))
        release_one(s, hold_pop(st), now);
}

static uint64_t next_deadline(const struct shim *s)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < s->pol->n_rules; i++) {
        const struct hold_pkt *p = hold_peek(&s->rt[i].store);
        if (p && p->deadline < next)
            next = p->deadline;
    }
    return next;
}

/* The timer wakes us spin_ns early and we wait out the rest here: waking
 * an idle CPU can take far longer than the precision we want. */
static uint64_t spin_until_due(struct shim *s, uint64_t now)
{
    uint64_t d = next_deadline(s);
    if (d == HOLD_FOREVER || d <= now || d - now > s->spin_ns)
        return now;
    while ((now = s->now()) < d)
        __builtin_ia32_pause();
    return now;
}

static void release_all(struct shim *s, uint64_t now)
{
    for (int i = 0; i < s->pol->n_rules; i++)
        release_rule(s, i, now, true);
    flush(s);
}

/* ---- rules on and off ---- */

static void rule_on(struct shim *s, int ri, uint64_t now, int client)
{
    struct rule_rt *rt = &s->rt[ri];
    const struct pol_rule *r = &s->pol->rules[ri];
    rt->on_at = 0;
    rt->off_at = r->duration_ns ? now + r->duration_ns : 0;
    if (!rt->active)
        fprintf(stderr, "rift-shim: %.3f s: rule %s on\n",
                (double)since_start_us(s, now) / 1e6, r->name);
    rt->active = true;
    if (s->use_ipt) {
        job_add_rule(s, ri, true, client);
        return;
    }
    if (client >= 0)
        reply(client, "ok");
}

static void rule_off(struct shim *s, int ri, uint64_t now, int client)
{
    struct rule_rt *rt = &s->rt[ri];
    rt->on_at = 0;
    rt->off_at = 0;
    if (rt->active)
        fprintf(stderr, "rift-shim: %.3f s: rule %s off (releasing %zu held)\n",
                (double)since_start_us(s, now) / 1e6, s->pol->rules[ri].name,
                hold_count(&rt->store));
    rt->active = false;
    /* Held packets leave first, in order; packets queued after this pass. */
    release_rule(s, ri, now, true);
    flush(s);
    if (s->use_ipt) {
        job_add_rule(s, ri, false, client);
        return;
    }
    if (client >= 0)
        reply(client, "ok");
}

static void run_schedule(struct shim *s, uint64_t now)
{
    for (int i = 0; i < s->pol->n_rules; i++) {
        struct rule_rt *rt = &s->rt[i];
        if (rt->on_at && rt->on_at <= now)
            rule_on(s, i, now, -1);
        if (rt->off_at && rt->off_at <= now)
            rule_off(s, i, now, -1);
    }
}

/* ---- kernel queue counters ---- */

/* Kernel counters summed over our queues. */
static int read_kq(unsigned queue, unsigned nqueues, uint64_t *dropped, uint64_t *user)
{
    FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
    unsigned qn, pid, total, mode, range, one;
    unsigned long long d, u, idseq;
    int found = -1;
    if (!f)
        return -1;
    while (fscanf(f, "%u %u %u %u %u %llu %llu %llu %u", &qn, &pid, &total, &mode, &range, &d,
                  &u, &idseq, &one) == 9) {
        if (qn >= queue && qn < queue + nqueues) {
            if (found < 0)
                *dropped = *user = 0;
            *dropped += d;
            *user += u;
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/* Queue overflows are counted by the kernel per queue; attribute each new
 * one to the rules that were holding packets when it was seen. */
static void sample_overflows(struct shim *s)
{
    uint64_t d, u, delta;
    if (read_kq(s->pol->shim.queue, s->pol->shim.queues, &d, &u) < 0)
        return;
    d -= s->kq_dropped0;
    u -= s->kq_user0;
    delta = (d + u) - (s->kq_dropped + s->kq_user);
    s->kq_dropped = d;
    s->kq_user = u;
    if (!delta)
        return;
    for (int i = 0; i < s->pol->n_rules; i++)
        if (s->rt[i].active && hold_count(&s->rt[i].store))
            s->rt[i].st.queue_overflows += delta;
}

/* ---- packets ---- */

/* When the packet reached the stack, on our monotonic clock: the kernel's
 * receive stamp (realtime) when it has one that makes sense, else now. The
 * shim may wake up a while after the packet was queued (an idle CPU of a
 * virtual machine takes up to milliseconds); delays count from arrival. */
static uint64_t arrival_time(struct shim *s, const struct queue_packet *pkt)
{
    uint64_t now = s->now();
    struct timespec rt;
    uint64_t real, age;
    if (!pkt->tstamp_ns || s->now != mono_now)
        return now;
    clock_gettime(CLOCK_REALTIME, &rt);
    real = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    if (pkt->tstamp_ns > real)
        return now;
    age = real - pkt->tstamp_ns;
    return age < 50000000ull && age < now - s->t0 ? now - age : now;
}

static void on_message_rule(struct shim *s, const struct queue_packet *pkt,
                            const struct pkt_info *pi, int ri, uint64_t now);

/* Keep a copy of the packet (data, len: what its verdict will carry if
 * HOLD_F_MODIFIED) until its deadline or until the rule turns off. Never
 * lose a packet for want of memory: let it through instead. */
static void hold_packet(struct shim *s, int ri, const struct queue_packet *pkt,
                        const uint8_t *data, uint32_t len, uint16_t flags,
                        const struct model_decision *d, uint64_t now)
{
    struct rule_rt *rt = &s->rt[ri];
    struct hold_pkt *h = malloc(sizeof(*h) + len);
    if (h) {
        h->deadline = d->verdict == MODEL_HOLD ? HOLD_FOREVER : d->deadline;
        h->seq = s->seq++;
        h->id = pkt->id;
        h->len = len;
        h->rule = (uint8_t)ri;
        h->queue = pkt->queue;
        h->flags = (uint8_t)flags;
        h->arrived_us = (uint32_t)since_start_us(s, now);
        memcpy(h->data, data, len);
    }
    if (!h || hold_push(&rt->store, h) < 0) {
        free(h);
        rt->st.hold_failed++;
        if (queue_verdict(&s->q, pkt->queue, pkt->id, NF_ACCEPT,
                          flags & HOLD_F_MODIFIED ? data : NULL,
                          flags & HOLD_F_MODIFIED ? len : 0) < 0)
            s->verdict_errors++;
        return;
    }
    queue_fill(s, pkt->queue, +1, now);
    if (d->verdict == MODEL_HOLD)
        rt->st.held_total++;
    else
        rt->st.delayed++;
    if (hold_count(&rt->store) > rt->st.max_held)
        rt->st.max_held = hold_count(&rt->store);
    if (s->capturing) {
        char detail[64] = "";
        if (d->verdict != MODEL_HOLD)
            snprintf(detail, sizeof(detail), "\"delay_us\":%" PRIu64, (d->deadline - now) / 1000);
        event(s, now, ri, pkt->data, pkt->len, d->verdict == MODEL_HOLD ? "hold" : "delay",
              detail[0] ? detail : NULL);
    }
}

static void on_packet(const struct queue_packet *pkt, void *arg)
{
    struct shim *s = arg;
    const struct policy *pol = s->pol;
    uint64_t now = arrival_time(s, pkt);
    struct pkt_info pi;
    struct model_decision d;
    struct rule_rt *rt;
    const struct pol_rule *r;
    uint64_t src, dst;
    int ri = -1;

    s->total++;
    if (pkt->mark == IPT_MARK) {
        /* Our own duplicate, queued by rules we did not write: let it go. */
        verdict(s, pkt->queue, pkt->id, NF_ACCEPT);
        return;
    }
    if (s->capturing && pkt->len)
        capture_packet(&s->cap, pkt->data, pkt->len, pkt->orig_len);
    if (!pkt->len || pkt_parse(pkt->data, pkt->len, &pi) < 0) {
        s->unparsed++;
        verdict(s, pkt->queue, pkt->id, NF_ACCEPT);
        event(s, now, -1, pkt->data, pkt->len, "pass", "\"why\":\"unparsed\"");
        return;
    }
    src = match_nodes_at(&s->mi, pi.saddr);
    dst = match_nodes_at(&s->mi, pi.daddr);
    if (src && dst) {
        for (int i = 0; i < pol->n_rules; i++)
            if (s->rt[i].active && match_rule(pol, &pol->rules[i], &pi, src, dst)) {
                ri = i;
                break;
            }
    }
    if (ri < 0) {
        s->unmatched++;
        verdict(s, pkt->queue, pkt->id, NF_ACCEPT);
        event(s, now, -1, pkt->data, pkt->len, "pass", NULL);
        return;
    }
    rt = &s->rt[ri];
    r = &pol->rules[ri];
    rt->st.matched++;
    if (r->messages) {
        on_message_rule(s, pkt, &pi, ri, now);
        return;
    }
    model_decide(&r->fx, &rt->model, now, pi.ip_len, &d);

    switch (d.verdict) {
    case MODEL_DROP:
        rt->st.dropped++;
        verdict(s, pkt->queue, pkt->id, NF_DROP);
        event(s, now, ri, pkt->data, pkt->len, "drop", NULL);
        return;
    case MODEL_PASS:
    case MODEL_REORDER:
        if (d.verdict == MODEL_REORDER && hold_count(&rt->store)) {
            rt->st.reordered++;
            event(s, now, ri, pkt->data, pkt->len, "reorder", NULL);
        } else {
            rt->st.passed++;
            event(s, now, ri, pkt->data, pkt->len, "accept", NULL);
        }
        verdict(s, pkt->queue, pkt->id, NF_ACCEPT);
        if (d.duplicate)
            inject_dup(s, rt, pkt->data, pkt->len, pkt->orig_len);
        return;
    case MODEL_DELAY:
    case MODEL_HOLD: {
        uint16_t flags = 0;
        if (d.duplicate) {
            if (pkt->len == pkt->orig_len)
                flags |= HOLD_F_DUP;
            else
                rt->st.dup_failed++;
        }
        hold_packet(s, ri, pkt, pkt->data, pkt->len, flags, &d, now);
        return;
    }
    }
}

/* A rule with `messages =`: it acts on the segments that carry those
 * cluster-bus messages. Its loss drops single messages (rewritten so that
 * the receiver ignores them, checksum fixed); delay and hold apply to the
 * whole segment. Everything else in the flow passes untouched. */
static void on_message_rule(struct shim *s, const struct queue_packet *pkt,
                            const struct pkt_info *pi, int ri, uint64_t now)
{
    struct rule_rt *rt = &s->rt[ri];
    const struct pol_rule *r = &s->pol->rules[ri];
    struct msgflow_scan ms;
    struct model_decision d;
    struct pol_effects fx = r->fx;
    bool changed = false;
    uint8_t *buf = s->scratch;
    size_t plen = pi->ip_len > pi->data_off ? (size_t)(pi->ip_len - pi->data_off) : 0;

    if (pkt->len < pkt->orig_len || pkt->len < pi->ip_len) {
        /* not the whole packet: nothing to look into */
        rt->st.passed++;
        verdict(s, pkt->queue, pkt->id, NF_ACCEPT);
        return;
    }
    memcpy(buf, pkt->data, pkt->len);
    msgflow_scan(&s->flows, pi, buf + pi->data_off, plen, &ms, &changed);
    for (int i = 0; fx.loss && i < ms.n_hdrs; i++) {
        if (!((r->messages >> ms.hdrs[i].type) & 1))
            continue;
        if (model_bernoulli(&rt->model.rng, &rt->model.loss, fx.loss, fx.loss_corr) &&
            msgflow_drop(&s->flows, pi, buf + pi->data_off, plen, ms.hdrs[i].offset) == 0) {
            changed = true;
            rt->st.dropped++;
            if (s->capturing) {
                char detail[64];
                snprintf(detail, sizeof(detail), "\"message\":\"%s\"",
                         bus_type_name(ms.hdrs[i].type));
                event(s, now, ri, pkt->data, pkt->len, "drop-message", detail);
            }
        }
    }
    if (changed)
        pkt_tcp_checksum(buf, pi->ip_len);
    fx.loss = 0;
    fx.loss_corr = 0;
    if (!(ms.carried & r->messages) || (!fx.delay_ns && !fx.hold)) {
        rt->st.passed++;
        if (queue_verdict(&s->q, pkt->queue, pkt->id, NF_ACCEPT, changed ? buf : NULL,
                          changed ? pi->ip_len : 0) < 0)
            s->verdict_errors++;
        return;
    }
    model_decide(&fx, &rt->model, now, pi->ip_len, &d);
    hold_packet(s, ri, pkt, buf, pi->ip_len, changed ? HOLD_F_MODIFIED : 0, &d, now);
}

/* ---- timer ---- */

static void arm_timer(struct shim *s, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    bool any_active = false;
    for (int i = 0; i < s->pol->n_rules; i++) {
        struct rule_rt *rt = &s->rt[i];
        struct hold_pkt *p = hold_peek(&rt->store);
        if (p && p->deadline != HOLD_FOREVER) {
            uint64_t wake = p->deadline > s->spin_ns ? p->deadline - s->spin_ns : 0;
            if (wake < next)
                next = wake;
        }
        if (rt->on_at && rt->on_at < next)
            next = rt->on_at;
        if (rt->off_at && rt->off_at < next)
            next = rt->off_at;
        any_active |= rt->active;
    }
    if (any_active) {
        if (!s->next_sample || s->next_sample <= now)
            s->next_sample = now + OVERFLOW_SAMPLE_NS;
        if (s->next_sample < next)
            next = s->next_sample;
    }
    if (next == s->armed)
        return;
    struct itimerspec its = {0};
    if (next != UINT64_MAX) {
        if (next == 0)
            next = 1;
        its.it_value.tv_sec = (time_t)(next / 1000000000ull);
        its.it_value.tv_nsec = (long)(next % 1000000000ull);
    }
    timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    s->armed = next;
}

/* ---- control ---- */

static void reply(int fd, const char *fmt, ...)
{
    char buf[1 << 16];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    /* Replies are short and the socket is fresh: a blocking write is fine. */
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (write(fd, buf, (size_t)n) < 0) {
        /* the client went away; nothing to do */
    }
    fcntl(fd, F_SETFL, fl);
}

static char *stats_json(struct shim *s, uint64_t now)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    sample_overflows(s);
    fprintf(f,
            "{\"uptime_ms\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"queue\":%u,\"queues\":%u,"
            "\"packets\":%" PRIu64
            ",\"unmatched\":%" PRIu64 ",\"unparsed\":%" PRIu64 ",\"queue_overflows\":%" PRIu64
            ",\"queue_user_dropped\":%" PRIu64 ",\"verdict_errors\":%" PRIu64
            ",\"verdict_send_errors\":%" PRIu64 ",\"verdict_kernel_errors\":%" PRIu64
            ",\"queue_full\":%" PRIu64 ",\"queue_full_ms\":%" PRIu64 ",\"queue_maxlen\":%u"
            ",\"on_overflow\":\"%s\",\"rx_syscalls\":%" PRIu64 ",\"verdict_syscalls\":%" PRIu64
            ",\"rules\":{",
            (now - s->t0) / 1000000, s->seed, s->pol->shim.queue, s->pol->shim.queues, s->total,
            s->unmatched, s->unparsed, s->kq_dropped, s->kq_user, verdict_errors(s),
            s->q.send_errors, s->q.kernel_errors, s->queue_full, queue_full_ns(s, now) / 1000000,
            s->pol->shim.queue_maxlen, s->pol->shim.overflow_pass ? "pass" : "drop",
            s->q.rx_calls, s->q.tx_calls);
    for (int i = 0; i < s->pol->n_rules; i++) {
        struct rule_rt *rt = &s->rt[i];
        const struct rule_stats *st = &rt->st;
        fprintf(f,
                "%s\"%s\":{\"active\":%s,\"matched\":%" PRIu64 ",\"passed\":%" PRIu64
                ",\"delayed\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"reordered\":%" PRIu64
                ",\"duplicated\":%" PRIu64 ",\"held\":%" PRIu64 ",\"held_now\":%zu"
                ",\"max_held\":%" PRIu64 ",\"queue_overflows\":%" PRIu64
                ",\"duplicate_failed\":%" PRIu64 ",\"hold_failed\":%" PRIu64 "}",
                i ? "," : "", s->pol->rules[i].name, rt->active ? "true" : "false", st->matched,
                st->passed, st->delayed, st->dropped, st->reordered, st->duplicated,
                st->held_total, hold_count(&rt->store), st->max_held, st->queue_overflows,
                st->dup_failed, st->hold_failed);
    }
    fputs("}}", f);
    fclose(f);
    return buf;
}

static uint32_t wanted_copy_range(const struct shim *s)
{
    if (s->capturing)
        return FULL_COPY;
    for (int i = 0; i < s->pol->n_rules; i++)
        if (s->pol->rules[i].fx.duplicate || s->pol->rules[i].messages)
            return FULL_COPY;
    return HEADER_COPY;
}

/* set RULE KEY VALUE: validate on a copy of the policy, then swap it in. */
static void ctl_set(struct shim *s, int fd, int ri, const struct ctl_cmd *c)
{
    static const char *const fixed[] = {"from", "to", "ports", "direction", "proto"};
    struct policy *np;
    char err[POL_ERR_MAX];
    int line;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (!strcmp(c->key, fixed[i])) {
            reply(fd, "error: %s cannot change while the shim runs (it decides which "
                      "packets are queued)", c->key);
            return;
        }
    np = malloc(sizeof(*np));
    if (!np) {
        reply(fd, "error: out of memory");
        return;
    }
    memcpy(np, s->pol, sizeof(*np));
    struct pol_rule *r = &np->rules[ri];
    if (pol_rule_set(r, c->key, c->value, err, sizeof(err)) < 0) {
        reply(fd, "error: %s", err);
        free(np);
        return;
    }
    /* mark the key as given, so cross-field checks see it */
    int k = pol_key_index(c->key);
    if (k >= 0 && !r->key_line[k])
        r->key_line[k] = r->line;
    if (pol_rule_check(np, r, &line, err, sizeof(err)) < 0) {
        reply(fd, "error: %s", err);
        free(np);
        return;
    }
    bool was_hold = s->pol->rules[ri].fx.hold;
    free(s->pol);
    s->pol = np;
    queue_set_copy_range(&s->q, wanted_copy_range(s));
    uint64_t now = s->now();
    struct rule_rt *rt = &s->rt[ri];
    /* Packets held by a hold that no longer exists leave now, in order. */
    if (was_hold && !r->fx.hold) {
        release_rule(s, ri, now, true);
        flush(s);
    }
    if (k == PK_START && !rt->active)
        rt->on_at = r->start_ns == POL_START_MANUAL ? 0 : s->t0 + (uint64_t)r->start_ns;
    if (k == PK_DURATION && rt->active)
        rt->off_at = now + r->duration_ns;
    reply(fd, "ok");
}

static void handle_request(struct shim *s, int fd, const char *line)
{
    struct ctl_cmd c;
    char err[256];
    uint64_t now = s->now();
    int ri = -1;
    if (ctl_parse(line, &c, err, sizeof(err)) < 0) {
        reply(fd, "error: %s", err);
        return;
    }
    if (c.op == CTL_ON || c.op == CTL_OFF || c.op == CTL_SET) {
        ri = pol_find_rule(s->pol, c.rule);
        if (ri < 0) {
            reply(fd, "error: no rule '%s'", c.rule);
            return;
        }
    }
    switch (c.op) {
    case CTL_ON:
        rule_on(s, ri, now, fd);
        break;
    case CTL_OFF:
        rule_off(s, ri, now, fd);
        break;
    case CTL_SET:
        ctl_set(s, fd, ri, &c);
        break;
    case CTL_STATS: {
        char *js = stats_json(s, now);
        if (js)
            reply(fd, "%s", js);
        else
            reply(fd, "error: out of memory");
        free(js);
        break;
    }
    case CTL_RELEASE:
        release_all(s, now);
        reply(fd, "ok");
        break;
    case CTL_QUIT:
        reply(fd, "ok");
        s->quitting = true;
        break;
    }
}

static void client_close(struct shim *s, struct client *c)
{
    /* A pending iptables job may still want to answer this fd. */
    for (int i = 0; i < s->njobs; i++)
        if (s->jobs[i].client == c->fd)
            s->jobs[i].client = -1;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static void client_read(struct shim *s, struct client *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        char *nl;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            client_close(s, c);
            return;
        }
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
        while ((nl = strchr(c->buf, '\n'))) {
            *nl = '\0';
            handle_request(s, c->fd, c->buf);
            c->len -= (size_t)(nl + 1 - c->buf);
            memmove(c->buf, nl + 1, c->len + 1);
        }
        if (c->len == sizeof(c->buf) - 1) {
            reply(c->fd, "error: request too long");
            client_close(s, c);
            return;
        }
    }
}

static void accept_clients(struct shim *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct client *c = NULL;
        if (fd < 0)
            return;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (s->clients[i].fd < 0) {
                c = &s->clients[i];
                break;
            }
        if (!c) {
            reply(fd, "error: too many control connections");
            close(fd);
            continue;
        }
        c->fd = fd;
        c->len = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 100 + (uint64_t)(c - s->clients)};
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* ---- setup and teardown ---- */

static void print_counters(struct shim *s, FILE *out)
{
    uint64_t now = s->now();
    sample_overflows(s);
    fprintf(out,
            "rift-shim: %.1f s, %" PRIu64 " packets: %" PRIu64 " matched no rule, %" PRIu64
            " queue overflows, queue full %" PRIu64 " time%s for %.3f s, %" PRIu64
            " verdict errors\n",
            (double)(now - s->t0) / 1e9, s->total, s->unmatched + s->unparsed,
            s->kq_dropped + s->kq_user, s->queue_full, s->queue_full == 1 ? "" : "s",
            (double)queue_full_ns(s, now) / 1e9, verdict_errors(s));
    fprintf(out, "%-20s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "rule", "matched", "passed",
            "delayed", "dropped", "reordered", "dupl", "held", "max_held", "overflows");
    for (int i = 0; i < s->pol->n_rules; i++) {
        const struct rule_stats *st = &s->rt[i].st;
        fprintf(out,
                "%-20s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
                " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n",
                s->pol->rules[i].name, st->matched, st->passed, st->delayed, st->dropped,
                st->reordered, st->duplicated, st->held_total, st->max_held,
                st->queue_overflows);
    }
}

/* Verdict whatever is still queued after our rules are gone: closing the
 * queue socket would make the kernel drop it. */
static void drain_queue(struct shim *s)
{
    uint64_t quiet_since = s->now(), give_up = quiet_since + 500000000ull;
    while (s->now() - quiet_since < 20000000ull && s->now() < give_up) {
        int n = queue_receive(&s->q, on_packet, s);
        /* every rule is off now, so each packet is accepted */
        flush(s);
        if (n > 0)
            quiet_since = s->now();
        else
            usleep(1000);
    }
}

/* Remove every jump to our chain and the chain itself, whatever jobs were
 * still pending. */
static int teardown_ipt(struct shim *s)
{
    char err[512];
    if (!s->use_ipt)
        return 0;
    if (ipt_cleanup((int)s->pol->shim.queue, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift-shim: removing chain RIFT-Q%u: %s\n", s->pol->shim.queue, err);
        return -1;
    }
    return 0;
}

static int build_patterns(const struct policy *p, int ri, struct rule_rt *rt)
{
    size_t cap = 64;
    int n;
    for (;;) {
        struct match_pat *np = realloc(rt->pats, cap * sizeof(*np));
        if (!np)
            return -1;
        rt->pats = np;
        n = match_patterns(p, &p->rules[ri], rt->pats, cap);
        if (n >= 0)
            break;
        cap *= 4;
    }
    rt->npats = n;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rift-shim --policy FILE.ini [--seed N] [--check]\n"
               "       rift-shim --cleanup [--queue N]\n"
               "       rift-shim ctl SOCKET on RULE | off RULE | set RULE KEY VALUE | stats |"
               " release | quit\n"
               "Runs as root. See README.md for the policy format.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'}, {"seed", required_argument, NULL, 's'},
        {"check", no_argument, NULL, 'c'},        {"cleanup", no_argument, NULL, 'C'},
        {"queue", required_argument, NULL, 'q'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    struct shim *s = &S;
    const char *policy_file = NULL;
    char err[POL_ERR_MAX + 64];
    bool check_only = false, cleanup = false, seed_opt = false;
    uint64_t seed = 0;
    int queue_opt = -1, c, status = 0;
    sigset_t mask;

    if (argc >= 2 && !strcmp(argv[1], "ctl")) {
        if (argc < 4) {
            usage(stderr);
            return 2;
        }
        return ctl_client(argv[2], argc - 3, argv + 3);
    }
    while ((c = getopt_long(argc, argv, "p:s:cCq:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            policy_file = optarg;
            break;
        case 's': {
            char *end;
            errno = 0;
            seed = strtoull(optarg, &end, 0);
            /* digits first: strtoull takes "", " 5" and "-1" */
            if (*optarg < '0' || *optarg > '9' || *end || errno) {
                fprintf(stderr, "rift-shim: --seed: expected an unsigned integer\n");
                return 2;
            }
            seed_opt = true;
            break;
        }
        case 'c':
            check_only = true;
            break;
        case 'C':
            cleanup = true;
            break;
        case 'q': {
            char *end;
            unsigned long v;
            errno = 0;
            v = strtoul(optarg, &end, 10);
            /* a typo must not become queue 0: --cleanup would remove its chain */
            if (*optarg < '0' || *optarg > '9' || *end || errno || v > 65535) {
                fprintf(stderr, "rift-shim: --queue: expected a queue number 0-65535, not "
                                "\"%s\"\n",
                        optarg);
                return 2;
            }
            queue_opt = (int)v;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("rift-shim %s\n", VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (cleanup) {
        int n = ipt_cleanup(queue_opt, err, sizeof(err));
        if (n < 0) {
            fprintf(stderr, "rift-shim --cleanup: %s\n", err);
            return 2;
        }
        fprintf(stderr, "rift-shim --cleanup: removed %d rift chain%s\n", n, n == 1 ? "" : "s");
        return 0;
    }
    if (!policy_file) {
        usage(stderr);
        return 2;
    }

    s->pol = malloc(sizeof(*s->pol));
    if (!s->pol || pol_load(s->pol, policy_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", s->pol ? err : "rift-shim: out of memory");
        return 2;
    }
    s->use_ipt = s->pol->shim.rules == POL_RULES_IPTABLES;
    for (int i = 0; i < s->pol->n_rules; i++) {
        if (build_patterns(s->pol, i, &s->rt[i]) < 0) {
            fprintf(stderr, "rift-shim: out of memory\n");
            return 2;
        }
    }
    if (check_only) {
        printf("%s: ok: %d nodes, %d rules\n", policy_file, s->pol->n_nodes, s->pol->n_rules);
        return 0;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "rift-shim: must run as root (NFQUEUE and iptables)\n");
        return 2;
    }
    s->seed = seed_opt ? seed : s->pol->shim.seed;
    if (!seed_opt && !s->pol->shim.seed_given &&
        getrandom(&s->seed, sizeof(s->seed), 0) != sizeof(s->seed))
        s->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    s->now = mono_now;
    s->spin_ns = s->pol->shim.timer_spin_ns;
    s->hot_until = s->pol->shim.busy_poll_ns == UINT64_MAX ? UINT64_MAX : 0;
    match_index_build(s->pol, &s->mi);
    for (int i = 0; i < MAX_CLIENTS; i++)
        s->clients[i].fd = -1;
    s->lfd = s->tfd = s->sfd = s->epfd = s->rawfd = s->tsfd = -1;
    prctl(PR_SET_TIMERSLACK, 1UL);
    /* Spinning at SCHED_FIFO would meet the kernel's RT throttling and
     * stall for tens of milliseconds each second: busy polling runs at
     * normal priority. */
    if (s->pol->shim.realtime && !s->pol->shim.busy_poll_ns) {
        /* A woken shim should run at once, not after the cluster's time
         * slice: that wait is most of the jitter on a busy host. Children
         * (iptables-restore) go back to normal scheduling. */
        struct sched_param sp = {.sched_priority = 10};
        if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0)
            fprintf(stderr, "rift-shim: warning: cannot run SCHED_FIFO (%s); delays will be "
                            "less precise\n",
                    strerror(errno));
    }

    /* Signals first, so that a signal during setup still tears down. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (s->pol->shim.capture[0]) {
        if (capture_open(&s->cap, s->pol->shim.capture, err, sizeof(err)) < 0) {
            fprintf(stderr, "rift-shim: %s\n", err);
            return 2;
        }
        s->capturing = true;
    }
    if (queue_open(&s->q, s->pol->shim.queue, s->pol->shim.queues, s->pol->shim.queue_maxlen,
                 s->pol->shim.overflow_pass, wanted_copy_range(s), err, sizeof(err)) < 0) {
        fprintf(stderr, "rift-shim: %s\n", err);
        status = 2;
        goto out_capture;
    }
    read_kq(s->pol->shim.queue, s->pol->shim.queues, &s->kq_dropped0, &s->kq_user0);
    s->lfd = ctl_listen(s->pol->shim.control, err, sizeof(err));
    if (s->lfd < 0) {
        fprintf(stderr, "rift-shim: %s\n", err);
        status = 2;
        goto out_nfq;
    }
    /* Any socket asking for receive timestamps makes the kernel stamp every
     * packet on arrival; NFQUEUE then passes the stamp on. */
    s->tsfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->tsfd >= 0) {
        int on = 1;
        setsockopt(s->tsfd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
    }
    s->rawfd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (s->rawfd >= 0) {
        uint32_t mark = IPT_MARK;
        setsockopt(s->rawfd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
    }
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->tfd < 0 || s->sfd < 0 || s->epfd < 0) {
        fprintf(stderr, "rift-shim: event loop setup: %s\n", strerror(errno));
        status = 2;
        goto out_fds;
    }
    if (s->use_ipt) {
        char *script = NULL;
        size_t len = 0;
        FILE *f;
        /* We hold the queue, so a chain of that number is a leftover. */
        if (ipt_chain_exists(s->pol->shim.queue) == 1) {
            fprintf(stderr, "rift-shim: removing leftover chain RIFT-Q%u\n",
                    s->pol->shim.queue);
            ipt_cleanup((int)s->pol->shim.queue, err, sizeof(err));
        }
        f = open_memstream(&script, &len);
        ipt_script_begin(f);
        ipt_script_setup(f, s->pol->shim.queue);
        ipt_script_end(f);
        fclose(f);
        c = ipt_run(script, len, err, sizeof(err));
        free(script);
        if (c < 0) {
            fprintf(stderr, "rift-shim: %s\n", err);
            status = 2;
            goto out_fds;
        }
    }
    {
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.u64 = 1;
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, queue_fd(&s->q), &ev);
        ev.data.u64 = 2;
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->tfd, &ev);
        ev.data.u64 = 3;
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sfd, &ev);
        ev.data.u64 = 4;
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev);
    }

    s->t0 = s->now();
    for (int i = 0; i < s->pol->n_rules; i++) {
        model_init(&s->rt[i].model, s->seed, (unsigned)i);
        if (i == 0)
            msgflow_init(&s->flows);
        hold_init(&s->rt[i].store);
        if (s->pol->rules[i].start_ns != POL_START_MANUAL)
            s->rt[i].on_at = s->t0 + (uint64_t)s->pol->rules[i].start_ns;
    }
    fprintf(stderr,
            "rift-shim: policy %s: %d nodes, %d rules, queue %u, seed %" PRIu64
            ", control %s%s%s\n",
            policy_file, s->pol->n_nodes, s->pol->n_rules, s->pol->shim.queue, s->seed,
            s->pol->shim.control, s->capturing ? ", capture " : "",
            s->capturing ? s->pol->shim.capture : "");
    /* Rules that start at 0 s go on before we say ready. */
    run_schedule(s, s->now());
    while (s->njobs > 0 && s->job_pid > 0) {
        int st;
        pid_t p;
        while ((p = waitpid(s->job_pid, &st, 0)) < 0 && errno == EINTR)
            ;
        job_done(s, st);
    }
    fprintf(stderr, "rift-shim: ready\n");

    bool timer_woke = false;
    while (!s->quitting) {
        struct epoll_event evs[MAX_CLIENTS + 8];
        uint64_t now;
        int n;
        arm_timer(s, s->now());
        /* Right after traffic, poll instead of sleeping: waking up costs
         * more latency than the packets are worth. */
        n = epoll_wait(s->epfd, evs, MAX_CLIENTS + 8, s->now() < s->hot_until ? 0 : -1);
        timer_woke = false;
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == 1) {
                for (int b = 0; b < RX_BUDGET; b++)
                    if (queue_receive(&s->q, on_packet, s) < QUEUE_RX_BATCH)
                        break;
                s->hot_until = s->pol->shim.busy_poll_ns == UINT64_MAX
                                   ? UINT64_MAX
                                   : s->now() + s->pol->shim.busy_poll_ns;
            } else if (tag == 2) {
                uint64_t exp;
                if (read(s->tfd, &exp, sizeof(exp)) < 0) {
                    /* spurious wakeup */
                }
                s->armed = 0;
                timer_woke = true;
            } else if (tag == 3) {
                struct signalfd_siginfo si;
                while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
                    if (si.ssi_signo == SIGCHLD) {
                        int st;
                        if (s->job_pid > 0 && waitpid(s->job_pid, &st, WNOHANG) == s->job_pid)
                            job_done(s, st);
                    } else {
                        fprintf(stderr, "rift-shim: %s, stopping\n", strsignal((int)si.ssi_signo));
                        s->quitting = true;
                    }
                }
            } else if (tag == 4) {
                accept_clients(s);
            } else if (tag >= 100 && tag < 100 + MAX_CLIENTS) {
                struct client *cl = &s->clients[tag - 100];
                if (cl->fd >= 0)
                    client_read(s, cl);
            }
        }
        now = s->now();
        run_schedule(s, now);
        /* Spin only when the timer woke us: under steady traffic deadlines
         * are always near, and spinning then would take the whole CPU. */
        if (timer_woke)
            now = spin_until_due(s, now);
        for (int i = 0; i < s->pol->n_rules; i++)
            release_rule(s, i, now, false);
        if (s->next_sample && now >= s->next_sample) {
            sample_overflows(s);
            s->next_sample = 0;
        }
        flush(s);
    }

    /* Stop: release every held packet, remove our rules, verdict what is
     * still queued, print the counters. */
    for (int i = 0; i < s->pol->n_rules; i++)
        s->rt[i].active = false;
    release_all(s, s->now());
    jobs_abandon(s);
    if (teardown_ipt(s) < 0)
        status = 1;
    drain_queue(s);
    print_counters(s, stderr);
out_fds:
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->clients[i].fd >= 0)
            close(s->clients[i].fd);
    if (s->lfd >= 0) {
        close(s->lfd);
        unlink(s->pol->shim.control);
    }
    if (s->rawfd >= 0)
        close(s->rawfd);
    if (s->tsfd >= 0)
        close(s->tsfd);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->tfd >= 0)
        close(s->tfd);
    if (s->sfd >= 0)
        close(s->sfd);
out_nfq:
    queue_close(&s->q);
out_capture:
    if (s->capturing)
        capture_close(&s->cap);
    for (int i = 0; i < s->pol->n_rules; i++) {
        hold_destroy(&s->rt[i].store);
        free(s->rt[i].pats);
    }
    free(s->pol);
    return status;
}
