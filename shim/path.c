/* path: the packet path: match, decide (models), deliver, delay, hold,
 * duplicate, rewrite single bus messages; exactly one verdict per packet. */
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../proto/bus.h"
#include "ipt.h"

void path_verdict(struct shim *s, uint16_t queue, uint32_t id, uint32_t mark, int v)
{
    unsigned qi = queue - s->pol->shim.queue;
    int rc;
    /* An accept while nothing of its queue is held may join the queue's
     * batch verdict: nothing with a lower id still waits for us. */
    if (v == NF_ACCEPT)
        rc = queue_accept(&s->q, queue, id, mark, qi < POL_MAX_QUEUES && !s->waiting[qi]);
    else
        rc = queue_verdict(&s->q, queue, id, v, mark, NULL, 0);
    if (rc < 0)
        s->verdict_errors++;
}

/* A failed batch is resent one verdict at a time; each verdict the kernel
 * still refuses is counted in the queue's send_errors. */
void path_flush(struct shim *s)
{
    queue_flush(&s->q);
}

/* Verdicts that did not reach the kernel or that it refused. */
uint64_t path_verdict_errors(const struct shim *s)
{
    return s->verdict_errors + s->q.send_errors + s->q.kernel_errors;
}

/* A second copy of the packet, sent after the original's verdict through a
 * raw socket; its mark lets it skip the queue. NFQUEUE copies at most 65531
 * bytes (a netlink attribute's limit), so the largest loopback packets
 * cannot be copied whole: those count as duplicate_failed. */
static void inject_dup(struct shim *s, struct rule_rt *rt, const unsigned char *data, uint32_t len,
                       uint32_t orig_len)
{
    struct sockaddr_in dst = {.sin_family = AF_INET};
    if (len < orig_len || len < 20 || s->rawfd < 0) {
        rt->st.dup_failed++;
        return;
    }
    path_flush(s);
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
    capture_event(&s->cap, shim_since_us(s, now), ri >= 0 ? s->pol->rules[ri].name : NULL, sum,
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
                (double)shim_since_us(s, now) / 1e6, queue, s->waiting[qi],
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
uint64_t path_queue_full_ns(const struct shim *s, uint64_t now)
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
        if (queue_verdict(&s->q, p->queue, p->id, NF_ACCEPT, p->mark, p->data, p->len) < 0)
            path_verdict(s, p->queue, p->id, p->mark, NF_ACCEPT);
    } else {
        path_verdict(s, p->queue, p->id, p->mark, NF_ACCEPT);
    }
    if (s->capturing) {
        char detail[64];
        /* 32-bit arithmetic: right for holds shorter than 71 minutes. */
        snprintf(detail, sizeof(detail), "\"held_us\":%" PRIu32,
                 (uint32_t)shim_since_us(s, now) - p->arrived_us);
        event(s, now, p->rule, p->data, p->len, "release", detail);
    }
    if (p->flags & HOLD_F_DUP)
        inject_dup(s, rt, p->data, p->len, p->len);
    hold_free(&rt->store, p);
}

void path_release_due(struct shim *s, uint64_t now)
{
    for (int i = 0; i < s->pol->n_rules; i++)
        path_release_rule(s, i, now, false);
}

/* Release a rule's packets in order: all of them, or those due by now. */
void path_release_rule(struct shim *s, int ri, uint64_t now, bool all)
{
    struct hold_store *st = &s->rt[ri].store;
    struct hold_pkt *p;
    while ((p = hold_peek(st)) && (all || p->deadline <= now))
        release_one(s, hold_pop(st), now);
}

static const struct hold_pkt *next_due(const struct shim *s)
{
    const struct hold_pkt *p = NULL;
    for (int i = 0; i < s->pol->n_rules; i++) {
        const struct hold_pkt *h = hold_peek(&s->rt[i].store);
        if (h && (!p || h->deadline < p->deadline))
            p = h;
    }
    return p;
}

uint64_t path_next_due(const struct shim *s)
{
    const struct hold_pkt *p = next_due(s);
    return p ? p->deadline : UINT64_MAX;
}

/* After a quiet spell the kernel's verdict path and the packet are out of
 * the caches: tens of microseconds at the deadline. Once per packet, when
 * its release is near and no verdict went out for WARM_QUIET_NS, bring
 * both back in (the header and first bytes of the packet: what the
 * verdict reads). The packet due next, or NULL when none is due within
 * spin_ns. The kernel walks the queue to answer, so under traffic, when
 * the path is warm anyway, this is not done. */
const struct hold_pkt *path_warm_due(struct shim *s, uint64_t now)
{
    const struct hold_pkt *p = next_due(s);
    if (!p || p->deadline == HOLD_FOREVER || p->deadline <= now || p->deadline - now > s->spin_ns)
        return NULL;
    if (p->seq + 1 != s->warmed && now - s->last_tx > WARM_QUIET_NS) {
        queue_warm(&s->q, p->queue);
        (void)*(volatile const unsigned char *)p->data;
        s->warmed = p->seq + 1;
    }
    return p;
}

/* The timer wakes us spin_ns early and we wait out the rest here: waking
 * an idle CPU can take far longer than the precision we want. */
uint64_t path_spin_until_due(struct shim *s, uint64_t now)
{
    const struct hold_pkt *p = path_warm_due(s, now);
    if (!p)
        return now;
    while ((now = s->now()) < p->deadline)
        __builtin_ia32_pause();
    return now;
}

void path_release_all(struct shim *s, uint64_t now)
{
    for (int i = 0; i < s->pol->n_rules; i++)
        path_release_rule(s, i, now, true);
    path_flush(s);
}

/* Queue overflows are counted by the kernel per queue; attribute each new
 * one to the rules that were holding packets when it was seen. */
void path_sample_overflows(struct shim *s)
{
    uint64_t d, u, delta;
    if (queue_kernel_counters(s->pol->shim.queue, s->pol->shim.queues, &d, &u) < 0)
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

/* When the packet reached the stack, on our monotonic clock: the kernel's
 * receive stamp (realtime) when it has one that makes sense, else now. The
 * shim may wake up a while after the packet was queued (an idle CPU of a
 * virtual machine takes up to milliseconds); delays count from arrival. */
/* CLOCK_REALTIME in ns, beside the monotonic clock; 0 beside a fake clock
 * (tests), which has none. */
static uint64_t real_now(const struct shim *s)
{
    struct timespec rt;
    if (s->now != shim_mono_now || clock_gettime(CLOCK_REALTIME, &rt) < 0)
        return 0;
    return (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
}

static uint64_t arrival_time(struct shim *s, const struct queue_packet *pkt)
{
    uint64_t now, real, age;
    if (s->rx_mono) {
        /* in a receive batch: the clocks were read once for all of it */
        now = s->rx_mono;
        real = s->rx_real;
    } else {
        now = s->now();
        real = pkt->tstamp_ns ? real_now(s) : 0;
    }
    if (!pkt->tstamp_ns || !real)
        return now;
    if (pkt->tstamp_ns > real) /* came in after the clocks were read */
        return pkt->tstamp_ns - real < 1000000ull ? now + (pkt->tstamp_ns - real) : now;
    age = real - pkt->tstamp_ns;
    return age < 50000000ull && age < now - s->t0 ? now - age : now;
}

void path_rx_clock(struct shim *s, uint64_t now)
{
    s->rx_mono = now;
    s->rx_real = real_now(s);
}

static void on_message_rule(struct shim *s, const struct queue_packet *pkt,
                            const struct pkt_info *pi, int ri, uint64_t now);

/* Keep a copy of the packet (data, len: what its verdict will carry if
 * HOLD_F_MODIFIED) until its deadline or until the rule turns off. Never
 * lose a packet for want of memory: let it through instead. */
static void hold_packet(struct shim *s, int ri, const struct queue_packet *pkt, const uint8_t *data,
                        uint32_t len, uint16_t flags, const struct model_decision *d, uint64_t now)
{
    struct rule_rt *rt = &s->rt[ri];
    struct hold_pkt *h = hold_alloc(&rt->store, len);
    if (h) {
        h->deadline = d->verdict == MODEL_HOLD ? HOLD_FOREVER : d->deadline;
        h->seq = (uint32_t)s->seq++;
        h->id = pkt->id;
        h->rule = (uint8_t)ri;
        h->queue = pkt->queue;
        h->flags = (uint8_t)flags;
        h->arrived_us = (uint32_t)shim_since_us(s, now);
        h->mark = pkt->mark;
        memcpy(h->data, data, len);
    }
    if (!h || hold_push(&rt->store, h) < 0) {
        hold_free(&rt->store, h);
        rt->st.hold_failed++;
        if (queue_verdict(&s->q, pkt->queue, pkt->id, NF_ACCEPT, pkt->mark,
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

static void count_pair(struct rule_stats *st, uint64_t src, uint64_t dst)
{
    int x, y;
    if (!src || !dst || (src & (src - 1)) || (dst & (dst - 1))) {
        st->pairs_other++;
        return;
    }
    x = __builtin_ctzll(src);
    y = __builtin_ctzll(dst);
    for (int i = 0; i < st->n_pairs; i++)
        if (st->pairs[i].from == x && st->pairs[i].to == y) {
            st->pairs[i].n++;
            return;
        }
    if (st->n_pairs == RULE_PAIRS_MAX) {
        st->pairs_other++;
        return;
    }
    st->pairs[st->n_pairs++] = (struct rule_pair){.from = (int8_t)x, .to = (int8_t)y, .n = 1};
}

void path_on_packet(const struct queue_packet *pkt, void *arg)
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
        path_verdict(s, pkt->queue, pkt->id, pkt->mark, NF_ACCEPT);
        return;
    }
    if (s->capturing && pkt->len)
        capture_packet(&s->cap, pkt->data, pkt->len, pkt->orig_len);
    if (!pkt->len || pkt_parse(pkt->data, pkt->len, &pi) < 0) {
        s->unparsed++;
        path_verdict(s, pkt->queue, pkt->id, pkt->mark, NF_ACCEPT);
        event(s, now, -1, pkt->data, pkt->len, "pass", "\"why\":\"unparsed\"");
        return;
    }
    if (s->mi.shared) {
        size_t end = pkt->len < pi.ip_len ? pkt->len : pi.ip_len;
        match_learn(&s->mi, &pi, end > pi.data_off ? pkt->data + pi.data_off : NULL,
                    end > pi.data_off ? end - pi.data_off : 0);
    }
    src = match_endpoint(&s->mi, pi.saddr, pi.sport, pi.daddr, pi.dport);
    dst = match_endpoint(&s->mi, pi.daddr, pi.dport, pi.saddr, pi.sport);
    if (src && dst) {
        for (int i = 0; i < pol->n_rules; i++)
            if (s->rt[i].active && match_rule(pol, &pol->rules[i], &pi, src, dst)) {
                ri = i;
                break;
            }
    }
    if (ri < 0) {
        s->unmatched++;
        path_verdict(s, pkt->queue, pkt->id, pkt->mark, NF_ACCEPT);
        event(s, now, -1, pkt->data, pkt->len, "pass", NULL);
        return;
    }
    rt = &s->rt[ri];
    r = &pol->rules[ri];
    rt->st.matched++;
    count_pair(&rt->st, src & (r->from | r->to), dst & (r->from | r->to));
    if (r->messages) {
        on_message_rule(s, pkt, &pi, ri, now);
        return;
    }
    model_decide(&r->fx, &rt->model, now, pi.ip_len, &d);

    switch (d.verdict) {
    case MODEL_DROP:
        rt->st.dropped++;
        path_verdict(s, pkt->queue, pkt->id, pkt->mark, NF_DROP);
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
        path_verdict(s, pkt->queue, pkt->id, pkt->mark, NF_ACCEPT);
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
        path_verdict(s, pkt->queue, pkt->id, pkt->mark, NF_ACCEPT);
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
        if (queue_verdict(&s->q, pkt->queue, pkt->id, NF_ACCEPT, pkt->mark, changed ? buf : NULL,
                          changed ? pi->ip_len : 0) < 0)
            s->verdict_errors++;
        return;
    }
    model_decide(&fx, &rt->model, now, pi->ip_len, &d);
    hold_packet(s, ri, pkt, buf, pi->ip_len, changed ? HOLD_F_MODIFIED : 0, &d, now);
}

uint32_t path_copy_range(const struct shim *s)
{
    if (s->capturing || s->mi.shared)
        return FULL_COPY; /* shared addresses: the bus headers name the sender */
    for (int i = 0; i < s->pol->n_rules; i++)
        if (s->pol->rules[i].fx.duplicate || s->pol->rules[i].messages)
            return FULL_COPY;
    return HEADER_COPY;
}
