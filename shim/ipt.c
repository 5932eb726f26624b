/* ipt: iptables-restore scripts and the child processes that apply them. */
#include "ipt.h"

#include <errno.h>
#include <fcntl.h>
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

void ipt_script_setup(FILE *f, unsigned queue)
{
    fprintf(f, ":RIFT-Q%u - [0:0]\n", queue);
    fprintf(f, "-A RIFT-Q%u -m mark --mark 0x%x -j RETURN\n", queue, IPT_MARK);
}

void ipt_script_rule(FILE *f, unsigned queue, unsigned nqueues, const char *rule,
                     const struct match_pat *pats, int n, bool add)
{
    for (int i = 0; i < n; i++) {
        const struct match_pat *p = &pats[i];
        /* The kernel's --queue-balance hashes addresses only, so one node
         * pair would use one queue: share packets out in turn instead. The
         * shim verdicts in arrival order, so order is kept. */
        for (unsigned k = 0; k < nqueues; k++) {
            fprintf(f, "%s RIFT-Q%u -s ", add ? "-A" : "-D", queue);
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

void ipt_script_jump(FILE *f, unsigned queue, bool add)
{
    if (add)
        fprintf(f, "-I INPUT 1 -j RIFT-Q%u\n", queue);
    else
        fprintf(f, "-D INPUT -j RIFT-Q%u\n", queue);
}

void ipt_script_teardown(FILE *f, unsigned queue)
{
    fprintf(f, "-F RIFT-Q%u\n", queue);
    fprintf(f, "-X RIFT-Q%u\n", queue);
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

    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
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

int ipt_chain_exists(unsigned queue)
{
    char err[256], pat[32];
    char *s = save_filter(err, sizeof(err));
    int found;
    if (!s)
        return -1;
    snprintf(pat, sizeof(pat), "\n:RIFT-Q%u ", queue);
    found = strstr(s, pat) != NULL;
    free(s);
    return found;
}

/* The queue of a ":RIFT-Q<n> - [0:0]" line, or -1. Only the name we write
 * (n as "%u" prints it, 0-65535) is ours: RIFT-Q12abc or RIFT-Q012 is not
 * RIFT-Q12, and a huge n must not wrap onto another shim's queue. */
static int chain_queue(const char *line, unsigned *q)
{
    const char *d = line + 7;
    char *end;
    unsigned long v;
    if (strncmp(line, ":RIFT-Q", 7) != 0 || *d < '0' || *d > '9' || (*d == '0' && d[1] != ' '))
        return -1;
    errno = 0;
    v = strtoul(d, &end, 10);
    if (errno || *end != ' ' || v > 65535)
        return -1;
    *q = (unsigned)v;
    return 0;
}

int ipt_cleanup(int only_queue, char *err, size_t errlen)
{
    char *s = save_filter(err, errlen), *line, *save = NULL, *script = NULL;
    size_t slen = 0;
    unsigned queues[256];
    int nq = 0, rc = 0;
    FILE *f;

    if (!s)
        return -1;
    for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned q;
        if (chain_queue(line, &q) == 0 && nq < 256 && (only_queue < 0 || (unsigned)only_queue == q))
            queues[nq++] = q;
    }
    free(s);
    if (!nq)
        return 0;
    f = open_memstream(&script, &slen);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ipt_script_begin(f);
    for (int i = 0; i < nq; i++)
        fprintf(f, "-F RIFT-Q%u\n", queues[i]);
    ipt_script_end(f);
    fclose(f);
    rc = ipt_run(script, slen, err, errlen);
    free(script);
    if (rc < 0)
        return -1;
    for (int i = 0; i < nq; i++) {
        char cmd[96], ignored[256];
        snprintf(cmd, sizeof(cmd), "*filter\n-D INPUT -j RIFT-Q%u\nCOMMIT\n", queues[i]);
        /* There may be more than one jump; -D fails once none is left. */
        for (int k = 0; k < 16 && ipt_run(cmd, strlen(cmd), ignored, sizeof(ignored)) == 0; k++)
            ;
        snprintf(cmd, sizeof(cmd), "*filter\n-X RIFT-Q%u\nCOMMIT\n", queues[i]);
        if (ipt_run(cmd, strlen(cmd), err, errlen) < 0)
            return -1;
    }
    return nq;
}
