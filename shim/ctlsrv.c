/* ctlsrv: the control socket's server: requests, replies, stats. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
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

void ctlsrv_reply(int fd, const char *fmt, ...)
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
    path_sample_overflows(s);
    fprintf(f,
            "{\"uptime_ms\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"queue\":%u,\"queues\":%u,"
            "\"packets\":%" PRIu64 ",\"unmatched\":%" PRIu64 ",\"unparsed\":%" PRIu64
            ",\"queue_overflows\":%" PRIu64 ",\"queue_user_dropped\":%" PRIu64
            ",\"verdict_errors\":%" PRIu64 ",\"verdict_send_errors\":%" PRIu64
            ",\"verdict_kernel_errors\":%" PRIu64 ",\"queue_full\":%" PRIu64
            ",\"queue_full_ms\":%" PRIu64 ",\"queue_maxlen\":%u"
            ",\"on_overflow\":\"%s\",\"rx_syscalls\":%" PRIu64 ",\"verdict_syscalls\":%" PRIu64
            ",\"accepts_batched\":%" PRIu64 ",\"rules\":{",
            (now - s->t0) / 1000000, s->seed, s->pol->shim.queue, s->pol->shim.queues, s->total,
            s->unmatched, s->unparsed, s->kq_dropped, s->kq_user, path_verdict_errors(s),
            s->q.send_errors, s->q.kernel_errors, s->queue_full,
            path_queue_full_ns(s, now) / 1000000, s->pol->shim.queue_maxlen,
            s->pol->shim.overflow_pass ? "pass" : "drop", s->q.rx_calls, s->q.tx_calls,
            s->q.batched);
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
                st->passed, st->delayed, st->dropped, st->reordered, st->duplicated, st->held_total,
                hold_count(&rt->store), st->max_held, st->queue_overflows, st->dup_failed,
                st->hold_failed);
    }
    fputs("}}", f);
    fclose(f);
    return buf;
}

/* set RULE KEY VALUE: validate on a copy of the policy, then swap it in. */
static void ctl_set(struct shim *s, int fd, int ri, const struct ctl_cmd *c)
{
    static const char *const fixed[] = {"from", "to", "ports", "direction", "opened_by", "proto"};
    struct policy *np;
    char err[POL_ERR_MAX];
    int line;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (!strcmp(c->key, fixed[i])) {
            ctlsrv_reply(fd,
                         "error: %s cannot change while the shim runs (it decides which "
                         "packets are queued)",
                         c->key);
            return;
        }
    np = malloc(sizeof(*np));
    if (!np) {
        ctlsrv_reply(fd, "error: out of memory");
        return;
    }
    memcpy(np, s->pol, sizeof(*np));
    struct pol_rule *r = &np->rules[ri];
    if (pol_rule_set(r, c->key, c->value, err, sizeof(err)) < 0) {
        ctlsrv_reply(fd, "error: %s", err);
        free(np);
        return;
    }
    /* mark the key as given, so cross-field checks see it */
    int k = pol_key_index(c->key);
    if (k >= 0 && !r->key_line[k])
        r->key_line[k] = r->line;
    if (pol_rule_check(np, r, &line, err, sizeof(err)) < 0) {
        ctlsrv_reply(fd, "error: %s", err);
        free(np);
        return;
    }
    bool was_hold = s->pol->rules[ri].fx.hold;
    free(s->pol);
    s->pol = np;
    queue_set_copy_range(&s->q, path_copy_range(s));
    uint64_t now = s->now();
    struct rule_rt *rt = &s->rt[ri];
    /* Packets held by a hold that no longer exists leave now, in order. */
    if (was_hold && !r->fx.hold) {
        path_release_rule(s, ri, now, true);
        path_flush(s);
    }
    if (k == PK_START && !rt->active)
        rt->on_at = r->start_ns == POL_START_MANUAL ? 0 : s->t0 + (uint64_t)r->start_ns;
    if (k == PK_DURATION && rt->active)
        rt->off_at = now + r->duration_ns;
    ctlsrv_reply(fd, "ok");
}

static void handle_request(struct shim *s, int fd, const char *line)
{
    struct ctl_cmd c;
    char err[256];
    uint64_t now = s->now();
    int ri = -1;
    if (ctl_parse(line, &c, err, sizeof(err)) < 0) {
        ctlsrv_reply(fd, "error: %s", err);
        return;
    }
    if (c.op == CTL_ON || c.op == CTL_OFF || c.op == CTL_SET) {
        ri = pol_find_rule(s->pol, c.rule);
        if (ri < 0) {
            ctlsrv_reply(fd, "error: no rule '%s'", c.rule);
            return;
        }
    }
    switch (c.op) {
    case CTL_ON:
        rules_on(s, ri, now, fd);
        break;
    case CTL_OFF:
        rules_off(s, ri, now, fd);
        break;
    case CTL_SET:
        ctl_set(s, fd, ri, &c);
        break;
    case CTL_STATS: {
        char *js = stats_json(s, now);
        if (js)
            ctlsrv_reply(fd, "%s", js);
        else
            ctlsrv_reply(fd, "error: out of memory");
        free(js);
        break;
    }
    case CTL_RELEASE:
        path_release_all(s, now);
        ctlsrv_reply(fd, "ok");
        break;
    case CTL_QUIT:
        ctlsrv_reply(fd, "ok");
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
    loop_del(s, c->fd);
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
            ctlsrv_reply(c->fd, "error: request too long");
            client_close(s, c);
            return;
        }
    }
}

void ctlsrv_on_listen(struct shim *s, int arg)
{
    (void)arg;
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
            ctlsrv_reply(fd, "error: too many control connections");
            close(fd);
            continue;
        }
        c->fd = fd;
        c->len = 0;
        if (loop_add(s, fd, ctlsrv_on_client, (int)(c - s->clients)) < 0) {
            ctlsrv_reply(fd, "error: the shim cannot watch another connection");
            close(fd);
            c->fd = -1;
        }
    }
}

void ctlsrv_print_counters(struct shim *s, FILE *out)
{
    uint64_t now = s->now();
    path_sample_overflows(s);
    fprintf(out,
            "rift-shim: %.1f s, %" PRIu64 " packets: %" PRIu64 " matched no rule, %" PRIu64
            " queue overflows, queue full %" PRIu64 " time%s for %.3f s, %" PRIu64
            " verdict errors\n",
            (double)(now - s->t0) / 1e9, s->total, s->unmatched + s->unparsed,
            s->kq_dropped + s->kq_user, s->queue_full, s->queue_full == 1 ? "" : "s",
            (double)path_queue_full_ns(s, now) / 1e9, path_verdict_errors(s));
    fprintf(out, "%-20s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "rule", "matched", "passed",
            "delayed", "dropped", "reordered", "dupl", "held", "max_held", "overflows");
    for (int i = 0; i < s->pol->n_rules; i++) {
        const struct rule_stats *st = &s->rt[i].st;
        fprintf(out,
                "%-20s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
                " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n",
                s->pol->rules[i].name, st->matched, st->passed, st->delayed, st->dropped,
                st->reordered, st->duplicated, st->held_total, st->max_held, st->queue_overflows);
    }
}

void ctlsrv_on_client(struct shim *s, int client)
{
    struct client *c = &s->clients[client];
    if (c->fd >= 0)
        client_read(s, c);
}
