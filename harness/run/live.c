/* live: the control socket of a run a test suite drives (live.h). */
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../policies/esc.h"
#include "../checks/checks.h"
#include "../cluster/runstate.h"
#include "../report/report.h"
#include "../scenario/timeline.h"
#include "steps.h"

struct live {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd;
    int fd[LIVE_MAX_CLIENTS];
    char buf[LIVE_MAX_CLIENTS][LIVE_LINE_MAX];
    size_t len[LIVE_MAX_CLIENTS];
    int n_clients;
    bool ready, down;
    uint64_t t_ready, lonely_since;
    int down_fd;
    char *summary;
};

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int live_open(struct run *r, char *err, size_t el)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct live *L = calloc(1, sizeof(*L));
    if (!L)
        return snprintf(err, el, "out of memory"), -1;
    L->lfd = L->down_fd = -1;
    for (int i = 0; i < LIVE_MAX_CLIENTS; i++)
        L->fd[i] = -1;
    if ((size_t)snprintf(L->path, sizeof(L->path), "%s/rift.sock", r->tmp) >= sizeof(L->path)) {
        free(L);
        return snprintf(err, el, "%s: the control socket's path is too long", r->tmp), -1;
    }
    memcpy(sa.sun_path, L->path, sizeof(L->path));
    if ((L->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(L->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(L->path, 0600) < 0 ||
        listen(L->lfd, 8) < 0) {
        snprintf(err, el, "control socket %s: %s", L->path, strerror(errno));
        if (L->lfd >= 0)
            close(L->lfd);
        unlink(L->path);
        free(L);
        return -1;
    }
    set_nonblock(L->lfd);
    r->live = L;
    snprintf(r->live_sock, sizeof(r->live_sock), "%s", L->path);
    return 0;
}

/* All of text to fd, or false: a client that does not read for 2 s is
 * dropped, never waited on. */
static bool send_all(int fd, const char *text, size_t n)
{
    while (n) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        ssize_t w;
        if (poll(&p, 1, 2000) <= 0)
            return false;
        if ((w = send(fd, text, n, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return false;
        }
        text += w;
        n -= (size_t)w;
    }
    return true;
}

static void drop(struct live *L, int i)
{
    close(L->fd[i]);
    L->fd[i] = -1;
    L->len[i] = 0;
    L->n_clients--;
}

static void reply(struct live *L, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply(struct live *L, int i, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0 || !send_all(L->fd[i], s, (size_t)n) || !send_all(L->fd[i], "\n", 1))
        drop(L, i);
    free(s);
}

/* ---- what the run is: the ready line, views, checks ---- */

static void ready_json(struct run *r, struct live *L, FILE *f);

static void nodes_json(struct run *r, FILE *f)
{
    char addr[64];
    fputs("\"nodes\":[", f);
    for (int i = 0; i < r->scn->n_nodes; i++) {
        run_node_addr(r, i, addr, sizeof(addr));
        fprintf(f, "%s{\"name\":", i ? "," : "");
        esc_json(f, r->scn->names[i]);
        fputs(",\"addr\":", f);
        esc_json(f, addr);
        fputs(",\"id\":", f);
        esc_json(f, r->nodes[i].id);
        fprintf(f, ",\"down\":%s,\"paused\":%s}", r->nodes[i].down ? "true" : "false",
                r->nodes[i].paused ? "true" : "false");
    }
    fputc(']', f);
}

static void ready_line(struct run *r, struct live *L, FILE *f)
{
    ready_json(r, L, f);
    fputc('\n', f);
}

static void info_json(struct run *r, FILE *f)
{
    ready_json(r, r->live, f);
}

static void ready_json(struct run *r, struct live *L, FILE *f)
{
    char addr[64];
    fputs("{\"id\":", f);
    esc_json(f, r->id);
    fprintf(f, ",\"seed\":%" PRIu64 ",\"pid\":%ld,\"socket\":", r->seed, (long)getpid());
    esc_json(f, L->path);
    fputs(",\"password\":", f);
    esc_json(f, r->password);
    fputs(",\"netns\":", f);
    esc_json(f, r->hr || r->att ? "" : r->netns);
    fputs(",\"report\":", f);
    if (r->o->report_dir)
        esc_json(f, r->o->report_dir);
    else
        fputs("null", f);
    fputs(",\"server\":", f);
    if (r->server_package[0]) {
        esc_json(f, r->server_package);
    } else {
        char v[160];
        snprintf(v, sizeof(v), "%s %s", r->server_name, r->server_version);
        esc_json(f, v);
    }
    fputs(",\"seeds\":\"", f);
    for (int i = 0; i < r->scn->masters; i++) {
        run_node_addr(r, i, addr, sizeof(addr));
        fprintf(f, "%s%s", i ? "," : "", addr);
    }
    fputs("\",", f);
    nodes_json(r, f);
    fputc('}', f);
}

static void view_json(const struct view *v, FILE *f)
{
    fprintf(f, "{\"state_ok\":%s,\"nodes\":[", v->state_ok ? "true" : "false");
    for (int k = 0; k < v->n; k++) {
        const struct view_node *n = &v->nodes[k];
        int lo = -1, first = 1;
        fprintf(f, "%s{\"id\":\"%s\",\"addr\":", k ? "," : "", n->id);
        esc_json(f, n->addr);
        fprintf(f,
                ",\"role\":\"%s\",\"primary\":\"%s\",\"fail\":%s,\"pfail\":%s,\"epoch\":%" PRIu64
                ",\"slots\":[",
                n->flags & VIEW_F_PRIMARY ? "primary" : "replica", n->primary,
                n->flags & VIEW_F_FAIL ? "true" : "false",
                n->flags & VIEW_F_PFAIL ? "true" : "false", n->config_epoch);
        for (int s = 0; s <= VIEW_SLOTS; s++) {
            bool own = s < VIEW_SLOTS && v->owner[s] == k;
            if (own && lo < 0)
                lo = s;
            if (!own && lo >= 0) {
                fprintf(f, "%s[%d,%d]", first ? "" : ",", lo, s - 1);
                first = 0;
                lo = -1;
            }
        }
        fputs("]}", f);
    }
    fputs("]}", f);
}

static void views_json(struct run *r, FILE *f)
{
    fprintf(f, "{\"t_ms\":%" PRId64 ",\"views\":[", run_ms(r));
    for (int i = 0; i < r->scn->n_nodes; i++) {
        fprintf(f, "%s{\"name\":", i ? "," : "");
        esc_json(f, r->scn->names[i]);
        fputs(",\"view\":", f);
        if (r->nodes[i].have_view && !r->nodes[i].down)
            view_json(&r->nodes[i].view, f);
        else
            fputs("null", f);
        fputc('}', f);
    }
    fputs("]}", f);
}

/* Every check so far. lost_writes is read back when the run ends and the
 * clients' healing is judged then: both are "pending" until down. */
static void checks_json(struct run *r, FILE *f)
{
    struct check_result res[12];
    int n = checks_evaluate(r, res);
    fprintf(f, "{\"t_ms\":%" PRId64 ",\"final\":false,\"checks\":[", run_ms(r));
    for (int i = 0; i < n; i++) {
        bool pending = !strcmp(res[i].name, "lost_writes") || !strcmp(res[i].name, "heal");
        fprintf(f, "%s{\"name\":\"%s\",\"status\":\"%s\",\"seen\":%s,\"detail\":", i ? "," : "",
                res[i].name, pending ? "pending" : res[i].status, res[i].seen ? "true" : "false");
        esc_json(f, pending ? "known when the run ends (rift down)" : res[i].detail);
        fputs(",\"observations\":", f);
        report_json_observations(f, r, res[i].name);
        fputc('}', f);
    }
    fputs("]}", f);
}

static void reply_json(struct live *L, int i, struct run *r, void (*fn)(struct run *, FILE *))
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        reply(L, i, "error: out of memory");
        return;
    }
    fputs("ok ", f);
    fn(r, f);
    fclose(f);
    reply(L, i, "%s", buf);
    free(buf);
}

/* ---- requests ---- */

static bool room_for_a_step(struct run *r, struct live *L, int i)
{
    if (r->steps_done < SCN_MAX_STEPS)
        return true;
    reply(L, i, "error: a run records at most %d steps and marks", SCN_MAX_STEPS);
    return false;
}

static void record(struct run *r, const char *line)
{
    step_record(r, line, "");
    r->steps_done++;
}

static int do_wait(struct run *r, struct live *L, int i, const char *arg)
{
    uint64_t limit = 30000000000ull;
    char why[256], line[160];
    uint64_t t0 = run_now_ns();
    if (*arg && pol_parse_duration(arg, &limit) < 0) {
        reply(L, i, "error: wait converged: \"%s\" is not a duration such as 30s", arg);
        return 0;
    }
    if (!room_for_a_step(r, L, i))
        return 0;
    bool ok = step_wait_converged_within(r, limit, why, sizeof(why));
    snprintf(line, sizeof(line), "wait converged%s", ok ? "" : ": gave up");
    record(r, line);
    if (ok)
        reply(L, i, "ok converged after %" PRIu64 " ms", (run_now_ns() - t0) / 1000000);
    else
        reply(L, i, "fail not converged within %.1f s: %s", (double)limit / 1e9, why);
    return 0;
}

static int do_set(struct run *r, struct live *L, int i, char *args)
{
    char name[64], key[64], value[128], req[400], rep[512];
    const struct policy *p = &r->scn->faults;
    int k;
    if (sscanf(args, "%63s %63s %127s", name, key, value) != 3) {
        reply(L, i, "error: set: expected set FAULT KEY VALUE");
        return 0;
    }
    for (k = 0; k < p->n_rules && strcmp(p->rules[k].name, name) != 0; k++)
        ;
    if (k == p->n_rules) {
        reply(L, i, "error: set: no fault named %s", name);
        return 0;
    }
    snprintf(req, sizeof(req), "set %s %s %s", name, key, value);
    if (step_shim_request(r, req, rep, sizeof(rep)) < 0) {
        reply(L, i, "error: set: %s", r->shim_err);
        return 0;
    }
    if (room_for_a_step(r, L, i))
        record(r, req);
    reply(L, i, "ok %s", req);
    return 0;
}

/* A timeline step: parsed as [timeline] parses one, so that a bad one is
 * refused whole before anything happens. */
static int do_step(struct run *r, struct live *L, int i, char *text, char *err, size_t el)
{
    struct scn_step st;
    struct ini in;
    memset(&st, 0, sizeof(st));
    memset(&in, 0, sizeof(in));
    in.kind = "request";
    in.line = st.line = INT_MAX / 2; /* after every [fault] of the scenario */
    if (tl_parse_step(&in, r->scn, &st, text) < 0 || in.err_line) {
        reply(L, i, "error: %s", in.err);
        return 0;
    }
    if (!room_for_a_step(r, L, i))
        return 0;
    if (st.kind == STEP_FAULT && st.on && r->first_fault_ms < 0)
        r->first_fault_ms = run_ms(r);
    if (step_run(r, &st, err, el) < 0) {
        reply(L, i, "error: %s", err);
        return -1; /* rift's own failure: the run ends as an error */
    }
    struct step_rec *rec = &r->steps[r->steps_done++];
    r->last_step_ms = run_ms(r);
    r->converged_ms = -1;
    if (rec->skipped[0])
        reply(L, i, "fail %s: skipped: %s", rec->step, rec->skipped);
    else
        reply(L, i, "ok %s", rec->step);
    return 0;
}

static int handle(struct run *r, struct live *L, int i, char *line, char *err, size_t el)
{
    char *arg;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    while (*line == ' ')
        line++;
    arg = line + strcspn(line, " ");
    if (*arg)
        *arg++ = '\0';
    while (*arg == ' ')
        arg++;
    if (!strcmp(line, "ping"))
        reply(L, i, "ok pong");
    else if (!strcmp(line, "info"))
        reply_json(L, i, r, info_json);
    else if (!strcmp(line, "checks"))
        reply_json(L, i, r, checks_json);
    else if (!strcmp(line, "views"))
        reply_json(L, i, r, views_json);
    else if (!strcmp(line, "mark")) {
        char m[160];
        if (!*arg) {
            reply(L, i, "error: mark: expected mark TEXT");
        } else if (room_for_a_step(r, L, i)) {
            snprintf(m, sizeof(m), "mark %s", arg);
            record(r, m);
            reply(L, i, "ok %s", m);
        }
    } else if (!strcmp(line, "set"))
        return do_set(r, L, i, arg);
    else if (!strcmp(line, "wait") && !strncmp(arg, "converged", 9) &&
             (arg[9] == '\0' || arg[9] == ' '))
        return do_wait(r, L, i, arg + 9 + strspn(arg + 9, " "));
    else if (!strcmp(line, "down") && !r->o->live) {
        reply(L, i, "error: down: this run ends when its program does; down is rift up's");
    } else if (!strcmp(line, "down")) {
        L->down = true;
        L->down_fd = L->fd[i];
        L->fd[i] = -1;
        L->len[i] = 0;
        L->n_clients--;
        run_progress(r, "down: asked by a client");
    } else if (!strcmp(line, "failover") || !strcmp(line, "kill") || !strcmp(line, "restart") ||
               !strcmp(line, "pause") || !strcmp(line, "resume") || !strcmp(line, "migrate") ||
               !strcmp(line, "fault")) {
        char text[LIVE_LINE_MAX + 2];
        snprintf(text, sizeof(text), "%s%s%s", line, *arg ? " " : "", arg);
        return do_step(r, L, i, text, err, el);
    } else if (*line) {
        char t[80];
        esc_text(t, sizeof(t), line);
        reply(L, i,
              "error: unknown request '%s' (expected failover, kill, restart, pause, resume, "
              "migrate, fault, set, wait converged, checks, views, mark, ping or down)",
              t);
    }
    return 0;
}

/* Reads what client i sent; handles each whole line. */
static int read_client(struct run *r, struct live *L, int i, char *err, size_t el)
{
    ssize_t got =
        recv(L->fd[i], L->buf[i] + L->len[i], sizeof(L->buf[i]) - 1 - L->len[i], MSG_DONTWAIT);
    char *nl;
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        drop(L, i);
        return 0;
    }
    if (got < 0)
        return 0;
    L->len[i] += (size_t)got;
    L->buf[i][L->len[i]] = '\0';
    while (L->fd[i] >= 0 && !L->down && (nl = memchr(L->buf[i], '\n', L->len[i]))) {
        char line[LIVE_LINE_MAX];
        size_t n = (size_t)(nl - L->buf[i]);
        memcpy(line, L->buf[i], n);
        line[n] = '\0';
        memmove(L->buf[i], nl + 1, L->len[i] - n - 1);
        L->len[i] -= n + 1;
        L->buf[i][L->len[i]] = '\0';
        if (handle(r, L, i, line, err, el) < 0)
            return -1;
    }
    if (L->fd[i] >= 0 && L->len[i] >= sizeof(L->buf[i]) - 1) {
        reply(L, i, "error: a request longer than %d bytes", LIVE_LINE_MAX - 2);
        if (L->fd[i] >= 0)
            drop(L, i);
    }
    return 0;
}

static void tell_ready(struct run *r, struct live *L)
{
    const struct live_opts *lo = r->o->live;
    int out;
    L->ready = true;
    L->t_ready = L->lonely_since = run_now_ns();
    if (lo->ready_fd >= 0) {
        FILE *f = fdopen(lo->ready_fd, "w");
        if (f) {
            ready_line(r, L, f);
            fclose(f);
        }
    }
    run_progress(r, "up: serving %s", L->path);
    /* the caller of rift up has its answer: nothing more on its terminal */
    fflush(stdout);
    fflush(stderr);
    out = open(lo->log ? lo->log : "/dev/null", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (out >= 0) {
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
        close(out);
    }
}

int live_serve(struct run *r, int ms, char *err, size_t el)
{
    struct live *L = r->live;
    const struct live_opts *lo = r->o->live;
    struct pollfd p[LIVE_MAX_CLIENTS + 1];
    int idx[LIVE_MAX_CLIENTS + 1], n = 0;
    uint64_t now;
    if (lo && !L->ready)
        tell_ready(r, L);
    if (L->down)
        return 1;
    p[n].fd = L->lfd;
    p[n].events = POLLIN;
    idx[n++] = -1;
    for (int i = 0; i < LIVE_MAX_CLIENTS; i++)
        if (L->fd[i] >= 0) {
            p[n].fd = L->fd[i];
            p[n].events = POLLIN;
            idx[n++] = i;
        }
    if (poll(p, (nfds_t)n, ms < 0 ? 0 : ms) > 0) {
        for (int k = 1; k < n; k++)
            if (p[k].revents && L->fd[idx[k]] >= 0 && !L->down &&
                read_client(r, L, idx[k], err, el) < 0)
                return -1;
        if (p[0].revents & POLLIN) {
            int c = accept4(L->lfd, NULL, NULL, SOCK_CLOEXEC);
            int slot = -1;
            for (int i = 0; c >= 0 && i < LIVE_MAX_CLIENTS && slot < 0; i++)
                if (L->fd[i] < 0)
                    slot = i;
            if (c >= 0 && slot < 0) {
                const char full[] = "error: too many clients\n";
                send_all(c, full, sizeof(full) - 1);
                close(c);
            } else if (c >= 0) {
                L->fd[slot] = c;
                L->len[slot] = 0;
                L->n_clients++;
            }
        }
    }
    now = run_now_ns();
    if (!lo) /* rift run -- CMD: the program's end is the run's */
        return 0;
    if (L->n_clients > 0)
        L->lonely_since = 0;
    else if (!L->lonely_since)
        L->lonely_since = now;
    if (!L->down && L->lonely_since && now - L->lonely_since >= lo->grace_ns) {
        run_progress(r, "down: no client for %.1f s", (double)lo->grace_ns / 1e9);
        L->down = true;
    }
    if (!L->down && lo->ttl_ns && now - L->t_ready >= lo->ttl_ns) {
        run_progress(r, "down: the ttl of %.1f s is over", (double)lo->ttl_ns / 1e9);
        L->down = true;
    }
    return L->down ? 1 : 0;
}

void live_summary(struct run *r, const char *text)
{
    if (!r->live)
        return;
    free(r->live->summary);
    r->live->summary = text ? strdup(text) : NULL;
}

void live_close(struct run *r, int status, const char *err)
{
    struct live *L = r->live;
    if (!L)
        return;
    if (L->down_fd >= 0) {
        char tail[700];
        if (L->summary)
            send_all(L->down_fd, L->summary, strlen(L->summary));
        if (status == 2 && err && *err) {
            int n = snprintf(tail, sizeof(tail), "error: %s\n", err);
            send_all(L->down_fd, tail, (size_t)n < sizeof(tail) ? (size_t)n : sizeof(tail) - 1);
        }
        int n = snprintf(tail, sizeof(tail), "exit %d\n", status);
        send_all(L->down_fd, tail, (size_t)n);
        close(L->down_fd);
    }
    for (int i = 0; i < LIVE_MAX_CLIENTS; i++)
        if (L->fd[i] >= 0)
            close(L->fd[i]);
    close(L->lfd);
    unlink(L->path);
    free(L->summary);
    free(L);
    r->live = NULL;
}
