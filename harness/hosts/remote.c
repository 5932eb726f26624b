/* remote: SSH to the hosts, through one master connection each. */
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../proto/pstat.h"
#include "../../proto/tabline.h"
#include "../sys/proc.h"

#define SSH_ARGS 24

void remote_quote(char *out, size_t len, const char *word)
{
    size_t n = 0;
    if (len < 3) {
        if (len)
            out[0] = 0;
        return;
    }
    out[n++] = '\'';
    for (const char *p = word; *p && n + 6 <= len; p++) {
        if (*p == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *p;
        }
    }
    out[n++] = '\'';
    out[n] = 0;
}

const char *remote_shim(const struct remote *rm, int h)
{
    return rm->hs->h[h].shim[0] ? rm->hs->h[h].shim : "rift-shim";
}

/* The master's control socket for host h, into out. */
static char *cp_path(const struct remote *rm, int h, char *out, size_t len)
{
    snprintf(out, len, "%s/ssh-%d", rm->dir, h);
    return out;
}

/* ssh's own arguments for host h, before the destination. */
static int ssh_args(const struct remote *rm, int h, const char **a, char *cp, size_t cpl)
{
    int n = 0;
    a[n++] = "ssh";
    if (rm->hs->ssh_config[0]) {
        a[n++] = "-F";
        a[n++] = rm->hs->ssh_config;
    }
    char path[300];
    snprintf(cp, cpl, "ControlPath=%s", cp_path(rm, h, path, sizeof(path)));
    a[n++] = "-o";
    a[n++] = cp;
    a[n++] = "-o";
    a[n++] = "BatchMode=yes";
    a[n++] = "-o";
    a[n++] = "ServerAliveInterval=5";
    /* a root agent on a shared host gets neither the caller's keys nor
     * its display, whatever ssh_config says */
    a[n++] = "-o";
    a[n++] = "ForwardAgent=no";
    a[n++] = "-o";
    a[n++] = "ForwardX11=no";
    a[n++] = "-o";
    a[n++] = "ControlMaster=no"; /* remote_open overrides it for the master */
    return n;
}

static uint64_t now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* fork + exec argv with stdin from in_path, stdout to a pipe read into out
 * (or appended to out_path), stderr to a pipe read into errbuf. */
static int run_capture(char *const argv[], const char *in_path, char *out, size_t out_len,
                       const char *out_path, char *errbuf, size_t el)
{
    int po[2], pe[2], status;
    size_t no = 0, ne = 0;
    pid_t pid;
    if (pipe2(po, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(pe, O_CLOEXEC) < 0) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        int in = open(in_path ? in_path : "/dev/null", O_RDONLY | O_CLOEXEC);
        setpgid(0, 0); /* a Ctrl-C is the harness's to handle, not ssh's */
        int o = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : po[1];
        if (in < 0 || o < 0)
            _exit(126);
        dup2(in, 0);
        dup2(o, 1);
        dup2(pe[1], 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    for (int open_fds = 2; open_fds;) {
        struct pollfd p[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        char buf[4096];
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < 2; k++) {
            ssize_t r;
            if (p[k].fd < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            r = read(p[k].fd, buf, sizeof(buf));
            if (r <= 0) {
                close(k ? pe[0] : po[0]);
                if (k)
                    pe[0] = -1;
                else
                    po[0] = -1;
                open_fds--;
                continue;
            }
            if (!k && out && no + 1 < out_len) {
                size_t c = (size_t)r < out_len - 1 - no ? (size_t)r : out_len - 1 - no;
                memcpy(out + no, buf, c);
                no += c;
            }
            if (k && errbuf && ne + 1 < el) {
                size_t c = (size_t)r < el - 1 - ne ? (size_t)r : el - 1 - ne;
                memcpy(errbuf + ne, buf, c);
                ne += c;
            }
        }
        if (po[0] < 0 && pe[0] < 0)
            break;
        /* poll ignores negative descriptors: the loop ends when both closed */
    }
    if (po[0] >= 0)
        close(po[0]);
    if (pe[0] >= 0)
        close(pe[0]);
    if (out)
        out[no] = 0;
    if (errbuf && el)
        errbuf[ne] = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void last_line(char *s)
{
    size_t n = strlen(s);
    char *nl;
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
    if ((nl = strrchr(s, '\n')))
        memmove(s, nl + 1, strlen(nl + 1) + 1);
}

int remote_run(struct remote *rm, int h, char *const argv[], const char *in_path, char *out,
               size_t out_len, const char *out_path, char *err, size_t el)
{
    const char *a[SSH_ARGS + 2];
    char cp[400], *cmd;
    size_t len = 1, off = 0;
    int n, rc;
    for (int i = 0; argv[i]; i++)
        len += strlen(argv[i]) * 4 + 3;
    if (!(cmd = malloc(len)))
        return snprintf(err, el, "out of memory"), -1;
    cmd[0] = 0;
    for (int i = 0; argv[i]; i++) {
        char *q = malloc(strlen(argv[i]) * 4 + 3);
        if (!q) {
            free(cmd);
            return snprintf(err, el, "out of memory"), -1;
        }
        remote_quote(q, strlen(argv[i]) * 4 + 3, argv[i]);
        off += (size_t)snprintf(cmd + off, len - off, "%s%s", i ? " " : "", q);
        free(q);
    }
    n = ssh_args(rm, h, a, cp, sizeof(cp));
    a[n++] = rm->hs->h[h].ssh;
    a[n++] = "--";
    a[n++] = cmd;
    if (getenv("RIFT_SSH_DEBUG"))
        fprintf(stderr, "ssh %s -- %s\n", rm->hs->h[h].ssh, cmd);
    a[n] = NULL;
    rc = run_capture((char *const *)a, in_path, out, out_len, out_path, err, el);
    free(cmd);
    if (rc == 255 || rc < 0) {
        last_line(err);
        if (!err[0])
            snprintf(err, el, "ssh %s failed", rm->hs->h[h].ssh);
        return -1;
    }
    if (rc != 0)
        last_line(err);
    return rc;
}

/* The serve session of host h: ssh through the master, registered before
 * it may exec (as proc_start does), its stdin and stdout kept. */
static int open_serve(struct remote *rm, int h, struct registry *reg, char *err, size_t el)
{
    const char *a[SSH_ARGS + 8];
    char cp[400], cmd[HOSTS_PATH * 4 + 32], q[HOSTS_PATH * 4 + 3], role[48];
    int in[2], out[2], gate[2], n = ssh_args(rm, h, a, cp, sizeof(cp));
    pid_t pid;
    remote_quote(q, sizeof(q), remote_shim(rm, h));
    snprintf(cmd, sizeof(cmd), "%s 'agent' 'serve'", q);
    a[n++] = rm->hs->h[h].ssh;
    a[n++] = "--";
    a[n++] = cmd;
    a[n] = NULL;
    in[0] = in[1] = out[0] = out[1] = gate[0] = gate[1] = -1;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(gate, O_CLOEXEC) < 0) {
        int fds[] = {in[0], in[1], out[0], out[1], gate[0], gate[1]};
        snprintf(err, el, "pipe: %s", strerror(errno));
        for (size_t k = 0; k < 6; k++)
            if (fds[k] >= 0)
                close(fds[k]);
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        char c;
        setpgid(0, 0); /* a Ctrl-C is the harness's to handle, not ssh's */
        close(gate[1]);
        if (read(gate[0], &c, 1) != 1)
            _exit(127);
        dup2(in[0], 0);
        dup2(out[1], 1);
        execvp(a[0], (char *const *)a);
        _exit(127);
    }
    close(gate[0]);
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(gate[1]);
        close(in[1]);
        close(out[0]);
        return snprintf(err, el, "fork: %s", strerror(errno)), -1;
    }
    snprintf(role, sizeof(role), "ssh-serve-%s", rm->hs->h[h].name);
    if (reg)
        reg_add_pid(reg, pid, role);
    if (write(gate[1], "g", 1) != 1) {
        /* the child exits when the gate closes */
    }
    close(gate[1]);
    rm->serve[h] = pid;
    rm->serve_in[h] = in[1];
    rm->serve_out[h] = fdopen(out[0], "r");
    return rm->serve_out[h] ? 0 : (snprintf(err, el, "fdopen: %s", strerror(errno)), -1);
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* getline that a signal does not cut short. */
static ssize_t read_line(char **line, size_t *cap, FILE *f)
{
    for (;;) {
        ssize_t n;
        clearerr(f);
        errno = 0;
        n = getline(line, cap, f);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

int remote_agent(struct remote *rm, int h, char *const words[], char *out, size_t ol, char *err,
                 size_t el)
{
    char *req = NULL, *line = NULL, *f3[3];
    size_t rl = 0, cap = 0;
    FILE *f = open_memstream(&req, &rl);
    int rc = -1;
    if (!f)
        return snprintf(err, el, "out of memory"), -1;
    for (int i = 0; words[i]; i++) {
        if (i)
            fputc('\t', f);
        tl_put(f, words[i], strlen(words[i]));
    }
    fputc('\n', f);
    fclose(f);
    pthread_mutex_lock(&rm->lock[h]);
    if (!rm->serve_out[h]) {
        snprintf(err, el, "host %s: no agent session", rm->hs->h[h].name);
    } else if (write_all(rm->serve_in[h], req, rl) < 0 ||
               read_line(&line, &cap, rm->serve_out[h]) <= 0) {
        /* a reply that may still come must never answer the next request */
        snprintf(err, el, "host %s: the agent session ended", rm->hs->h[h].name);
        fclose(rm->serve_out[h]);
        rm->serve_out[h] = NULL;
        close(rm->serve_in[h]);
        rm->serve_in[h] = -1;
    } else if (tl_split(line, f3, 3) != 3) {
        snprintf(err, el, "host %s: the agent answered '%.80s'", rm->hs->h[h].name, line);
    } else {
        /* STATUS, OUTPUT, ERRORS */
        const char *st = f3[0];
        uint64_t v;
        rc = pstat_u64(&st, &v) && v < 256 ? (int)v : 255;
        if (out && ol)
            snprintf(out, ol, "%s", f3[1]);
        snprintf(err, el, "%s", f3[2]);
        last_line(err);
    }
    pthread_mutex_unlock(&rm->lock[h]);
    free(req);
    free(line);
    return rc;
}

int remote_open(struct remote *rm, const struct hosts *hs, const char *dir, struct registry *reg,
                char *err, size_t el)
{
    memset(rm->master, 0, sizeof(rm->master));
    memset(rm->serve, 0, sizeof(rm->serve));
    memset(rm->serve_out, 0, sizeof(rm->serve_out));
    for (int h = 0; h < HOSTS_MAX; h++) {
        rm->serve_in[h] = -1;
        pthread_mutex_init(&rm->lock[h], NULL);
    }
    rm->hs = hs;
    snprintf(rm->dir, sizeof(rm->dir), "%s", dir);
    for (int h = 0; h < hs->n; h++) {
        const char *a[SSH_ARGS + 8];
        char cp[400], role[48];
        int n = ssh_args(rm, h, a, cp, sizeof(cp));
        n -= 2; /* drop ControlMaster=no: this is the master */
        a[n++] = "-o";
        a[n++] = "ControlMaster=yes";
        a[n++] = "-o";
        a[n++] = "ControlPersist=no";
        a[n++] = "-N";
        a[n++] = hs->h[h].ssh;
        a[n] = NULL;
        snprintf(role, sizeof(role), "ssh-%s", hs->h[h].name);
        snprintf(rm->master_log[h], sizeof(rm->master_log[h]), "%s/ssh-%d.log", dir, h);
        struct proc_opts po = {
            .out = rm->master_log[h], .started = reg_started, .started_ctx = reg, .role = role};
        if ((rm->master[h] = proc_start((char *const *)a, &po)) < 0)
            return snprintf(err, el, "host %s: cannot run ssh: %s", hs->h[h].name, strerror(errno)),
                   -1;
    }
    /* each master is ready when a command through it answers */
    for (int h = 0; h < hs->n; h++) {
        char *const v[] = {(char *)remote_shim(rm, h), "agent", "version", NULL};
        char out[128], e[300] = "";
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        int rc = -1;
        while (now_ns(CLOCK_MONOTONIC) - t0 < 20000000000ull) {
            int st;
            if (proc_reap(rm->master[h], &st)) {
                rm->master[h] = 0;
                break;
            }
            char path[300];
            if (access(cp_path(rm, h, path, sizeof(path)), F_OK) == 0 &&
                (rc = remote_run(rm, h, v, NULL, out, sizeof(out), NULL, e, sizeof(e))) >= 0)
                break;
            usleep(50000);
        }
        if (rc != 0 || strncmp(out, "rift-shim agent ", 16) != 0) {
            char log[300] = "";
            FILE *f = fopen(rm->master_log[h], "r");
            if (f) {
                size_t n = fread(log, 1, sizeof(log) - 1, f);
                log[n] = 0;
                fclose(f);
                last_line(log);
            }
            return snprintf(err, el, "host %s (%s): %s", hs->h[h].name, hs->h[h].ssh,
                            rc > 0   ? (e[0] ? e : "rift-shim agent did not answer")
                            : log[0] ? log
                                     : (e[0] ? e : "ssh does not connect")),
                   -1;
        }
        if (open_serve(rm, h, reg, err, el) < 0)
            return -1;
    }
    return 0;
}

int remote_forward(struct remote *rm, int h, const char *local, const char *remote_path, char *err,
                   size_t el)
{
    const char *a[SSH_ARGS + 8];
    char cp[400], spec[700];
    int n = ssh_args(rm, h, a, cp, sizeof(cp)), rc;
    snprintf(spec, sizeof(spec), "%s:%s", local, remote_path);
    a[n++] = "-O";
    a[n++] = "forward";
    a[n++] = "-L";
    a[n++] = spec;
    a[n++] = rm->hs->h[h].ssh;
    a[n] = NULL;
    rc = run_capture((char *const *)a, NULL, NULL, 0, NULL, err, el);
    if (rc != 0) {
        last_line(err);
        return -1;
    }
    return 0;
}

int remote_clock(struct remote *rm, int h, int n, int64_t *offset_ns, int64_t *rtt_ns, char *err,
                 size_t el)
{
    char *const v[] = {"clock", NULL};
    int64_t best = -1;
    for (int i = 0; i < n; i++) {
        char out[64];
        uint64_t t0 = now_ns(CLOCK_REALTIME), t1, there;
        if (remote_agent(rm, h, v, out, sizeof(out), err, el) != 0)
            return -1;
        t1 = now_ns(CLOCK_REALTIME);
        const char *o = out;
        if (!pstat_u64(&o, &there))
            return snprintf(err, el, "host %s: agent clock said '%s'", rm->hs->h[h].name, out), -1;
        if (best < 0 || (int64_t)(t1 - t0) < best) {
            best = (int64_t)(t1 - t0);
            *offset_ns = (int64_t)there - (int64_t)(t0 / 2 + t1 / 2);
        }
    }
    *rtt_ns = best;
    return 0;
}

void remote_close(struct remote *rm)
{
    for (int h = 0; rm->hs && h < rm->hs->n; h++) {
        if (rm->serve_in[h] >= 0)
            close(rm->serve_in[h]); /* the agent sees its end and exits */
        rm->serve_in[h] = -1;
        if (rm->serve_out[h])
            fclose(rm->serve_out[h]);
        rm->serve_out[h] = NULL;
        if (rm->serve[h] > 0)
            proc_stop(rm->serve[h], 2000);
        rm->serve[h] = 0;
    }
    for (int h = 0; rm->hs && h < rm->hs->n; h++)
        if (rm->master[h] > 0) {
            proc_stop(rm->master[h], 2000);
            rm->master[h] = 0;
            char path[300];
            unlink(cp_path(rm, h, path, sizeof(path)));
        }
}
