/* ipt: iptables-restore scripts and the child processes that apply them. */
#include "ipt.h"

#include "../proto/pstat.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void ip4(FILE *f, uint32_t ip)
{
    char a[PKT_ADDR_MAX];
    fputs(pkt_addr(ip, a, sizeof(a)), f);
}

void ipt_script_begin(FILE *f)
{
    fputs("*filter\n", f);
}

void ipt_script_end(FILE *f)
{
    fputs("COMMIT\n", f);
}

void ipt_chain_name(char *out, size_t len, unsigned queue, const char *owner)
{
    snprintf(out, len, "RIFT-%u-%s", queue, owner);
}

bool ipt_owner_ok(const char *owner)
{
    size_t n = strlen(owner);
    return n >= 1 && n <= IPT_OWNER_MAX &&
           strspn(owner, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

void ipt_script_setup(FILE *f, const char *chain, const char *owner, long pid, uint64_t start)
{
    fprintf(f, ":%s - [0:0]\n", chain);
    /* The first rule says whose chain it is: `--cleanup` removes a chain
     * only when that process is gone. */
    fprintf(f,
            "-A %s -m mark --mark 0x%x -m comment --comment rift-owner:%s:pid=%ld:start=%" PRIu64
            " -j RETURN\n",
            chain, IPT_MARK, owner, pid, start);
}

void ipt_script_rule(FILE *f, const char *chain, unsigned queue, unsigned nqueues, const char *rule,
                     const struct match_pat *pats, int n, bool add)
{
    for (int i = 0; i < n; i++) {
        const struct match_pat *p = &pats[i];
        /* The kernel's --queue-balance hashes addresses only, so one node
         * pair would use one queue: share packets out in turn instead. The
         * shim verdicts in arrival order, so order is kept. */
        for (unsigned k = 0; k < nqueues; k++) {
            fprintf(f, "%s %s -s ", add ? "-A" : "-D", chain);
            ip4(f, p->src);
            fputs("/32 -d ", f);
            ip4(f, p->dst);
            fprintf(f, "/32 -p %s", p->proto == 17 ? "udp" : "tcp");
            if (p->sport)
                fprintf(f, " --sport %u", p->sport);
            if (p->dport)
                fprintf(f, " --dport %u", p->dport);
            if (k + 1 < nqueues)
                fprintf(f, " -m statistic --mode nth --every %u --packet 0", nqueues - k);
            fprintf(f, " -m comment --comment rift:%s -j NFQUEUE --queue-num %u --queue-bypass\n",
                    rule, queue + k);
        }
    }
}

/* Packets a shim has seen carry IPT_SEEN_BIT (its NF_REPEAT sets it) and
 * skip every shim's jump: the host's rules after it see them once more. */
#define JUMP_MATCH "-m mark ! --mark 0x%x/0x%x -j %s"

void ipt_script_jump(FILE *f, const char *chain, bool add)
{
    fprintf(f, add ? "-I INPUT 1 " JUMP_MATCH "\n" : "-D INPUT " JUMP_MATCH "\n", IPT_SEEN_BIT,
            IPT_SEEN_BIT, chain);
}

void ipt_script_teardown(FILE *f, const char *chain)
{
    fprintf(f, "-F %s\n", chain);
    fprintf(f, "-X %s\n", chain);
}

static pid_t spawn(char *const argv[], int in_fd, int out_fd, int err_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (in_fd >= 0)
            dup2(in_fd, 0);
        if (out_fd >= 0)
            dup2(out_fd, 1);
        if (err_fd >= 0)
            dup2(err_fd, 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execvp(argv[0], argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

pid_t ipt_spawn(const char *script, size_t len, int *errfd, char *err, size_t errlen)
{
    char *const argv[] = {"iptables-restore", "-w", "5", "--noflush", NULL};
    int in[2], ep[2];
    pid_t pid;
    size_t off = 0;

    if (pipe2(in, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid = spawn(argv, in[0], -1, ep[1]);
    close(in[0]);
    close(ep[1]);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(in[1]);
        close(ep[0]);
        return -1;
    }
    while (off < len) {
        ssize_t n = write(in[1], script + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        off += (size_t)n;
    }
    close(in[1]);
    *errfd = ep[0];
    return pid;
}

int ipt_finish(pid_t pid, int status, int errfd, char *err, size_t errlen)
{
    char msg[512];
    ssize_t n;
    if (status == -1) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    n = read(errfd, msg, sizeof(msg) - 1);
    close(errfd);
    msg[n > 0 ? n : 0] = '\0';
    if (n > 0 && msg[n - 1] == '\n')
        msg[n - 1] = '\0';
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    snprintf(err, errlen, "iptables-restore failed (%s %d): %s",
             WIFEXITED(status) ? "exit" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), msg);
    return -1;
}

int ipt_run(const char *script, size_t len, char *err, size_t errlen)
{
    int errfd;
    pid_t pid = ipt_spawn(script, len, &errfd, err, errlen);
    if (pid < 0)
        return -1;
    return ipt_finish(pid, -1, errfd, err, errlen);
}

/* iptables-save -t filter into a malloc'd string. */
static char *save_filter(char *err, size_t errlen)
{
    char *const argv[] = {"iptables-save", "-t", "filter", NULL};
    int out[2];
    pid_t pid;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int status;

    if (pipe2(out, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return NULL;
    }
    pid = spawn(argv, -1, out[1], -1);
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        snprintf(err, errlen, "fork: %s", strerror(errno));
        return NULL;
    }
    for (;;) {
        ssize_t n;
        if (len + 4096 > cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!nb)
                break;
            buf = nb;
        }
        n = read(out[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(out[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!buf || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(buf);
        snprintf(err, errlen, "iptables-save failed");
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* One rift chain in iptables-save's output. */
struct chain_info {
    char name[IPT_CHAIN_MAX];
    unsigned queue;
    char owner[IPT_OWNER_MAX + 1]; /* "" for an older shim's RIFT-Q<n> */
    long pid;                      /* from its first rule's comment; 0: none */
    uint64_t start;
};

/* A queue number as "%u" prints it, 0-65535, up to end; NULL if not. */
static const char *queue_num(const char *d, unsigned *q)
{
    char *end;
    unsigned long v;
    if (*d < '0' || *d > '9' || (*d == '0' && d[1] >= '0' && d[1] <= '9'))
        return NULL;
    errno = 0;
    v = strtoul(d, &end, 10);
    if (errno || v > 65535)
        return NULL;
    *q = (unsigned)v;
    return end;
}

/* ":RIFT-<n>-<owner> - [0:0]" or an older ":RIFT-Q<n> - [0:0]": only names
 * a shim writes (RIFT-Q12abc or RIFT-012-x is nobody's of ours). */
static int chain_line(const char *line, struct chain_info *c)
{
    const char *e;
    memset(c, 0, sizeof(*c));
    if (strncmp(line, ":RIFT-", 6) != 0)
        return -1;
    if (line[6] == 'Q') {
        if (!(e = queue_num(line + 7, &c->queue)) || *e != ' ')
            return -1;
    } else {
        if (!(e = queue_num(line + 6, &c->queue)) || *e != '-')
            return -1;
        size_t n = strcspn(e + 1, " ");
        if (e[1 + n] != ' ' || n > IPT_OWNER_MAX)
            return -1;
        memcpy(c->owner, e + 1, n);
        c->owner[n] = '\0';
        if (!ipt_owner_ok(c->owner))
            return -1;
        e += 1 + n;
    }
    snprintf(c->name, sizeof(c->name), "%.*s", (int)(e - line - 1), line + 1);
    return 0;
}

/* "-A CHAIN ... --comment rift-owner:OWNER:pid=P:start=S ..." */
static void owner_rule(const char *line, struct chain_info *cs, int n)
{
    const char *c = strstr(line, "rift-owner:");
    for (int i = 0; c && i < n; i++) {
        size_t len = strlen(cs[i].name);
        if (strncmp(line, "-A ", 3) != 0 || strncmp(line + 3, cs[i].name, len) != 0 ||
            line[3 + len] != ' ')
            continue;
        const char *p = strstr(c, ":pid="), *st = strstr(c, ":start=");
        if (p && st) {
            cs[i].pid = strtol(p + 5, NULL, 10);
            cs[i].start = strtoull(st + 7, NULL, 10);
        }
    }
}

/* Why chain c must stay (into why), or false when nothing uses it. */
static bool in_use(const struct chain_info *c, int flags, char *why, size_t wl)
{
    if (c->pid > 0 && pstat_alive_since((pid_t)c->pid, c->start)) {
        snprintf(why, wl, "%s: its rift-shim (pid %ld) is running", c->name, c->pid);
        return true;
    }
    if (!(flags & IPT_SWEEP_QUEUE_OURS) && queue_bound(c->queue)) {
        snprintf(why, wl, "%s: NFQUEUE %u is held by a running process", c->name, c->queue);
        return true;
    }
    return false;
}

int ipt_remove_chain(const char *chain, char *err, size_t errlen)
{
    char cmd[160], ignored[256];
    /* Every jump to it: ours, and an older shim's without the mark match;
     * -D fails once none is left. */
    for (int form = 0; form < 2; form++)
        for (int k = 0; k < 16; k++) {
            if (form)
                snprintf(cmd, sizeof(cmd), "*filter\n-D INPUT -j %s\nCOMMIT\n", chain);
            else
                snprintf(cmd, sizeof(cmd), "*filter\n-D INPUT " JUMP_MATCH "\nCOMMIT\n",
                         IPT_SEEN_BIT, IPT_SEEN_BIT, chain);
            if (ipt_run(cmd, strlen(cmd), ignored, sizeof(ignored)) != 0)
                break;
        }
    snprintf(cmd, sizeof(cmd), "*filter\n-F %s\n-X %s\nCOMMIT\n", chain, chain);
    return ipt_run(cmd, strlen(cmd), err, errlen);
}

int ipt_cleanup(const char *owner, int queue, int flags, struct ipt_sweep *sw, char *err,
                size_t errlen)
{
    char *s = save_filter(err, errlen), *line, *save = NULL;
    struct chain_info *cs;
    int n = 0;
    memset(sw, 0, sizeof(*sw));
    if (!s)
        return -1;
    if (!(cs = calloc(IPT_SWEEP_MAX, sizeof(*cs)))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == ':' && n < IPT_SWEEP_MAX && chain_line(line, &cs[n]) == 0)
            n++;
        else if (line[0] == '-')
            owner_rule(line, cs, n);
    }
    free(s);
    for (int i = 0; i < n; i++) {
        char why[160];
        if ((owner && strcmp(cs[i].owner, owner) != 0) ||
            (queue >= 0 && cs[i].queue != (unsigned)queue))
            continue;
        if (in_use(&cs[i], flags, why, sizeof(why))) {
            if (!sw->kept++)
                snprintf(sw->first_kept, sizeof(sw->first_kept), "%s", why);
            continue;
        }
        if (ipt_remove_chain(cs[i].name, err, errlen) < 0) {
            free(cs);
            return -1;
        }
        sw->removed++;
    }
    free(cs);
    return sw->removed;
}
