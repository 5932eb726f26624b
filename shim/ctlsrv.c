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

static struct client *client_of(struct shim *s, int fd)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->clients[i].fd == fd && fd >= 0)
            return &s->clients[i];
    return NULL;
}

/* Writes what the client has not read yet, as far as its socket takes it
 * now; watches for room while some is left. 0, or -1 when the client is
 * gone. */
static int client_flush(struct shim *s, struct client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return -1;
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    watch_out(s, c->fd, c->out_len > 0);
    return 0;
}

/* A reply line to the control client on fd. It is written without
 * blocking; what its socket does not take waits in the client's buffer,
 * and a client with more than CTL_OUT_MAX bytes unread is closed (at the
 * end of this loop turn) and logged. A descriptor that is not a client's
 * (a connection refused at accept) gets one attempt. */
void ctlsrv_reply(struct shim *s, int fd, const char *fmt, ...)
{
    char buf[1 << 16];
    struct client *c = client_of(s, fd);
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
    if (!c) {
        if (send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
            /* refused anyway; it is closed next */
        }
        return;
    }
    if (c->closing)
        return;
    if (!c->out && !(c->out = malloc(CTL_OUT_MAX))) {
        fprintf(stderr,
                "rift-shim: control connection %d: out of memory for its reply: "
                "closed\n",
                fd);
        c->closing = true;
        return;
    }
    if (c->out_len + (size_t)n > CTL_OUT_MAX && c->out_off) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + (size_t)n > CTL_OUT_MAX) {
        fprintf(stderr,
                "rift-shim: control connection %d does not read its replies (%zu bytes unread "
                "after %" PRIu64 " replies, over %u KiB): closed\n",
                fd, c->out_len, c->replies, CTL_OUT_MAX >> 10);
        c->closing = true;
        return;
    }
    memcpy(c->out + c->out_len, buf, (size_t)n);
    c->out_len += (size_t)n;
    c->replies++;
    if (client_flush(s, c) < 0)
        c->closing = true;
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
                ",\"duplicate_failed\":%" PRIu64 ",\"hold_failed\":%" PRIu64 ",\"pairs\":{",
                i ? "," : "", s->pol->rules[i].name, rt->active ? "true" : "false", st->matched,
                st->passed, st->delayed, st->dropped, st->reordered, st->duplicated, st->held_total,
                hold_count(&rt->store), st->max_held, st->queue_overflows, st->dup_failed,
                st->hold_failed);
        /* node names are pol_valid_name: nothing to escape */
        for (int k = 0; k < st->n_pairs; k++)
            fprintf(f, "%s\"%s>%s\":%" PRIu64, k ? "," : "", s->pol->nodes[st->pairs[k].from].name,
                    s->pol->nodes[st->pairs[k].to].name, st->pairs[k].n);
        fprintf(f, "},\"pairs_other\":%" PRIu64 "}", st->pairs_other);
    }
    fprintf(f, "},\"endpoints_learned\":%" PRIu64 ",\"endpoints_forgotten\":%" PRIu64 "}",
            s->mi.n_learned, s->mi.n_forgot);
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
            ctlsrv_reply(s, fd,
                         "error: %s cannot change while the shim runs (it decides which "
                         "packets are queued)",
                         c->key);
            return;
        }
    np = malloc(sizeof(*np));
    if (!np) {
        ctlsrv_reply(s, fd, "error: out of memory");
        return;
    }
    memcpy(np, s->pol, sizeof(*np));
    struct pol_rule *r = &np->rules[ri];
    if (pol_rule_set(r, c->key, c->value, err, sizeof(err)) < 0) {
        ctlsrv_reply(s, fd, "error: %s", err);
        free(np);
        return;
    }
    /* mark the key as given, so cross-field checks see it */
    int k = pol_key_index(c->key);
    if (k >= 0 && !r->key_line[k])
        r->key_line[k] = r->line;
    if (pol_rule_check(np, r, &line, err, sizeof(err)) < 0) {
        ctlsrv_reply(s, fd, "error: %s", err);
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
    ctlsrv_reply(s, fd, "ok");
}

static void handle_request(struct shim *s, int fd, const char *line)
{
    struct ctl_cmd c;
    char err[256];
    uint64_t now = s->now();
    int ri = -1;
    if (ctl_parse(line, &c, err, sizeof(err)) < 0) {
        ctlsrv_reply(s, fd, "error: %s", err);
        return;
    }
    if (c.op == CTL_ON || c.op == CTL_OFF || c.op == CTL_SET) {
        ri = pol_find_rule(s->pol, c.rule);
        if (ri < 0) {
            ctlsrv_reply(s, fd, "error: no rule '%s'", c.rule);
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
            ctlsrv_reply(s, fd, "%s", js);
        else
            ctlsrv_reply(s, fd, "error: out of memory");
        free(js);
        break;
    }
    case CTL_RELEASE:
        path_release_all(s, now);
        ctlsrv_reply(s, fd, "ok");
        break;
    case CTL_QUIT:
        ctlsrv_reply(s, fd, "ok");
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
    watch_del(s, c->fd);
    close(c->fd);
    free(c->out);
    c->out = NULL;
    c->out_off = c->out_len = 0;
    c->closing = false;
    c->replies = 0;
    c->fd = -1;
    c->len = 0;
}

/* Closes the clients marked closing (never in the middle of a request,
 * whose handler may still name the descriptor). */
void ctlsrv_reap(struct shim *s)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->clients[i].fd >= 0 && s->clients[i].closing)
            client_close(s, &s->clients[i]);
}

/* At the end: what each client's socket takes now, then it is closed. */
void ctlsrv_close_all(struct shim *s)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &s->clients[i];
        if (c->fd < 0)
            continue;
        if (!c->closing)
            client_flush(s, c);
        client_close(s, c);
    }
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
        while (!c->closing && (nl = strchr(c->buf, '\n'))) {
            *nl = '\0';
            handle_request(s, c->fd, c->buf);
            c->len -= (size_t)(nl + 1 - c->buf);
            memmove(c->buf, nl + 1, c->len + 1);
        }
        if (c->closing)
            return; /* ctlsrv_reap closes it */
        if (c->len == sizeof(c->buf) - 1) {
            ctlsrv_reply(s, c->fd, "error: request too long");
            client_flush(s, c);
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
            ctlsrv_reply(s, fd, "error: too many control connections");
            close(fd);
            continue;
        }
        *c = (struct client){.fd = fd};
        if (watch_add(s, fd, ctlsrv_on_client, (int)(c - s->clients)) < 0) {
            ctlsrv_reply(s, fd, "error: the shim cannot watch another connection");
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

/* The client's socket is readable or has room: replies waiting go out
 * first, then requests are read. */
void ctlsrv_on_client(struct shim *s, int client)
{
    struct client *c = &s->clients[client];
    if (c->fd < 0 || c->closing)
        return;
    if (c->out_len && client_flush(s, c) < 0) {
        c->closing = true;
        return;
    }
    client_read(s, c);
}
