/* loop: the shim's event loop: one epoll set, a handler per descriptor
 * (queue socket, timerfd with absolute deadlines, signalfd, control socket
 * and its clients). */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void loop_arm_timer(struct shim *s, uint64_t now)
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

/* Verdict whatever is still queued after our rules are gone: closing the
 * queue socket would make the kernel drop it. */
void loop_drain_queue(struct shim *s)
{
    uint64_t quiet_since = s->now(), give_up = quiet_since + 500000000ull;
    while (s->now() - quiet_since < 20000000ull && s->now() < give_up) {
        int n = queue_receive(&s->q, path_on_packet, s, QUEUE_RX_BATCH);
        /* every rule is off now, so each packet is accepted */
        path_flush(s);
        if (n > 0)
            quiet_since = s->now();
        else
            usleep(1000);
    }
}

/* Send the verdicts; when some went out, now is the last time the verdict
 * path was used (path_warm_due). */
static void flush(struct shim *s, uint64_t now)
{
    path_flush(s);
    if (s->q.tx_calls != s->tx_seen) {
        s->tx_seen = s->q.tx_calls;
        s->last_tx = now;
    }
}

/* The queue socket: a few batches, then look at the timers again. Each
 * batch's verdicts go out before the next is read, and packets due by then
 * go with them: the kernel passes a verdicted packet up the stack inside
 * the sendmsg, so a packet due behind hundreds of others would wait for
 * all of them. */
static void on_queue(struct shim *s, int arg)
{
    uint64_t now = s->now();
    (void)arg;
    for (int b = 0; b < RX_BUDGET; b++) {
        /* a release close by: small batches, so that it waits for few */
        uint64_t due = path_next_due(s);
        int max = due <= now || due - now < 4 * s->spin_ns ? SMALL_BATCH : QUEUE_RX_BATCH;
        int n;
        if (due != UINT64_MAX)
            path_warm_due(s, now);
        path_rx_clock(s, now);
        n = queue_receive(&s->q, path_on_packet, s, max);
        s->rx_mono = 0;
        /* with nothing held there is nothing to release, and no need to
         * read the clock again */
        if (path_next_due(s) != UINT64_MAX) {
            now = s->now();
            path_release_due(s, now);
        }
        flush(s, now);
        if (n < max)
            break;
        now = s->now();
    }
    if (s->pol->shim.busy_poll_ns)
        s->hot_until = s->pol->shim.busy_poll_ns == UINT64_MAX
                           ? UINT64_MAX
                           : s->now() + s->pol->shim.busy_poll_ns;
}

static void on_timer(struct shim *s, int arg)
{
    uint64_t exp;
    (void)arg;
    if (read(s->tfd, &exp, sizeof(exp)) < 0) {
        /* spurious wakeup */
    }
    s->armed = 0;
    s->timer_woke = true;
}

/* SIGCHLD: an iptables job ended. SIGINT, SIGTERM, SIGHUP: stop. */
static void on_signal(struct shim *s, int arg)
{
    struct signalfd_siginfo si;
    (void)arg;
    while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            int st;
            if (s->job_pid > 0 && waitpid(s->job_pid, &st, WNOHANG) == s->job_pid)
                rules_job_done(s, st);
        } else {
            fprintf(stderr, "rift-shim: %s, stopping\n", strsignal((int)si.ssi_signo));
            s->quitting = true;
        }
    }
}

int loop_setup(struct shim *s)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->tfd < 0 || s->sfd < 0 || s->epfd < 0)
        return -1;
    if (watch_add(s, queue_fd(&s->q), on_queue, 0) < 0 || watch_add(s, s->tfd, on_timer, 0) < 0 ||
        watch_add(s, s->sfd, on_signal, 0) < 0 || watch_add(s, s->lfd, ctlsrv_on_listen, 0) < 0)
        return -1;
    return 0;
}

void loop_run(struct shim *s)
{
    uint64_t now = s->now();
    while (!s->quitting) {
        struct epoll_event evs[MAX_CLIENTS + 8];
        int n;
        loop_arm_timer(s, now);
        /* Right after traffic, poll instead of sleeping: waking up costs
         * more latency than the packets are worth. */
        n = epoll_wait(s->epfd, evs, MAX_CLIENTS + 8,
                       s->hot_until && s->now() < s->hot_until ? 0 : -1);
        s->timer_woke = false;
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            const struct loop_src *src = &s->srcs[evs[i].data.u32];
            if (src->fd >= 0)
                src->fn(s, src->arg);
        }
        ctlsrv_reap(s);
        now = s->now();
        rules_schedule(s, now);
        /* Spin only when the timer woke us: under steady traffic deadlines
         * are always near, and spinning then would take the whole CPU. */
        if (s->timer_woke)
            now = path_spin_until_due(s, now);
        path_release_due(s, now);
        if (s->next_sample && now >= s->next_sample) {
            path_sample_overflows(s);
            s->next_sample = 0;
        }
        flush(s, now);
    }
}
