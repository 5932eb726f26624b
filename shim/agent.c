/* agent: what `rift run --hosts` needs on a host besides the shim itself,
 * as `rift-shim agent COMMAND ...` run over SSH, so that nothing but
 * rift-shim and the server has to be installed there and no remote shell
 * command is ever built from text:
 *
 *   version                    "rift-shim agent 1"
 *   clock                      CLOCK_REALTIME in ns (clock offsets)
 *   mkdir DIR                  the run's folder (mode 0700)
 *   put FILE / get FILE        stdin to FILE / FILE to stdout
 *   spawn DIR ROLE LOG -- ARGV start ARGV detached, under a supervisor that
 *                              records how it ends; prints "PID START"
 *   signal DIR PID START SIG   only a process DIR/pids lists, still started at START
 *   status DIR ROLE...         a line per role: running PID | exited N T |
 *                              signal N T (T: when, CLOCK_REALTIME ns) | unknown
 *   cleanup DIR [OWNER]        stop everything DIR/pids lists (start times
 *                              checked), remove the chains of OWNER (the
 *                              run id) whose shim is gone,
 *                              remove DIR
 *   serve                      the commands above but put/get, one per line
 *                              on stdin, answered on stdout (see serve())
 *
 * DIR must be an absolute path whose last part starts with "rift-" (mkdir:
 * one inside such a folder too). FILE and LOG must be in a run folder
 * this agent made (the deepest part named rift-..., marked AGENT_MARK by
 * mkdir; LOG in DIR), reached without ".." and without a symbolic link
 * below it: put writes a new file and renames it over FILE (a link there
 * is replaced), get and LOG refuse a link. */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../proto/pstat.h"
#include "../proto/tabline.h"
#include "ipt.h"

/* What mkdir leaves in a run folder it made: put, get and a spawn's log
 * work only inside a folder with it. */
#define AGENT_MARK ".rift-agent"

/* Where a command answers: stdout and stderr, or a request's buffers
 * under `agent serve`. */
static FILE *OUT, *ERR;

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "rift-shim agent: WHAT ARG" on stderr; exit status 2. */
static int fail(const char *what, const char *arg)
{
    fprintf(ERR, "rift-shim agent: %s %s\n", what, arg);
    return 2;
}

/* A run folder: absolute, no "..", last part "rift-...". */
static bool run_dir_ok(const char *d)
{
    const char *base = strrchr(d, '/');
    return d[0] == '/' && !strstr(d, "/..") && base && !strncmp(base + 1, "rift-", 5) &&
           strlen(d) < PATH_MAX - 64;
}

/* A folder of a run or inside one: absolute, no "..", a "/rift-" part. */
static bool in_run_dir(const char *d)
{
    return d[0] == '/' && !strstr(d, "/..") && strstr(d, "/rift-") && strlen(d) < PATH_MAX - 64;
}

static bool role_ok(const char *r)
{
    if (!*r || strlen(r) > 32)
        return false;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-' || *r == '_'))
            return false;
    return true;
}

static int copy_fd(int in, int out)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            off += w;
        }
    return n < 0 ? -1 : 0;
}

/* A folder that is ours: a real directory (not a symlink), owned by us,
 * open to nobody else. Every command that reads a run's records or acts on
 * its processes checks its folder first: a folder someone else made cannot
 * point the agent at their processes. */
static bool dir_ours(const char *dir)
{
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           (st.st_mode & 077) == 0;
}

/* An open folder that is ours, as dir_ours. */
static bool fd_ours(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           (st.st_mode & 077) == 0;
}

/* A part below the run folder: a name, not "", "." or "..". */
static bool part_ok(const char *p, size_t n)
{
    return n && !(n == 1 && p[0] == '.') && !(n == 2 && p[0] == '.' && p[1] == '.');
}

/* The folder holding path, opened from the run folder path is in (its
 * deepest part named rift-..., one of ours that mkdir marked) part by
 * part, never through a link: its descriptor with path's last part in
 * *last, or -1. */
static int open_in_run(const char *path, const char **last)
{
    const char *cut = NULL, *p, *slash;
    char top[PATH_MAX];
    struct stat st;
    int fd;
    if (path[0] != '/' || strlen(path) >= PATH_MAX - 64 || strstr(path, "/.."))
        return -1;
    for (p = path; (slash = strchr(p + 1, '/')); p = slash)
        if (!strncmp(p + 1, "rift-", 5))
            cut = slash; /* a folder part: the last part is the file */
    if (!cut)
        return -1;
    snprintf(top, sizeof(top), "%.*s", (int)(cut - path), path);
    if ((fd = open(top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return -1;
    if (!fd_ours(fd) || fstatat(fd, AGENT_MARK, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || st.st_uid != geteuid())
        goto fail;
    for (p = cut + 1; (slash = strchr(p, '/')); p = slash + 1) {
        char part[NAME_MAX + 1];
        int sub;
        if (!part_ok(p, (size_t)(slash - p)) || (size_t)(slash - p) > NAME_MAX)
            goto fail;
        snprintf(part, sizeof(part), "%.*s", (int)(slash - p), p);
        sub = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        if ((fd = sub) < 0)
            return -1;
    }
    if (!part_ok(p, strlen(p)))
        goto fail;
    *last = p;
    return fd;
fail:
    close(fd);
    return -1;
}

/* get: a regular file (not a link, a FIFO or a device) to stdout. */
static int cmd_get(const char *file)
{
    const char *name;
    struct stat st;
    int dfd = open_in_run(file, &name), fd = -1, rc = -1;
    if (dfd >= 0)
        fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fail("get: not a file in a run folder of this agent's:", file);
        goto out;
    }
    rc = copy_fd(fd, 1) < 0 ? fail("i/o error on", file) : 0;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

/* put: stdin to a new file beside FILE, renamed over it. */
static int cmd_put(const char *file)
{
    const char *name;
    char tmp[NAME_MAX + 16];
    int dfd = open_in_run(file, &name), fd = -1, rc;
    if (dfd < 0 || snprintf(tmp, sizeof(tmp), ".%s.put", name) >= (int)sizeof(tmp)) {
        rc = fail("put: not a file in a run folder of this agent's:", file);
        goto out;
    }
    unlinkat(dfd, tmp, 0); /* a put that died half-way (a link goes, unfollowed) */
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = fail("put: cannot create a file beside", file);
        goto out;
    }
    rc = copy_fd(0, fd);
    if (close(fd) != 0 || rc < 0 || renameat(dfd, tmp, dfd, name) != 0) {
        unlinkat(dfd, tmp, 0);
        rc = fail("i/o error on", file);
        goto out;
    }
    rc = 0;
out:
    if (dfd >= 0)
        close(dfd);
    return rc;
}

/* A spawn's log: in dir, appended to, never through a link. A descriptor
 * or -1. */
static int open_log(const char *dir, const char *log)
{
    const char *name;
    size_t n = strlen(dir);
    struct stat st;
    int dfd, fd;
    if (strncmp(log, dir, n) != 0 || log[n] != '/' || (dfd = open_in_run(log, &name)) < 0)
        return -1;
    fd = openat(dfd, name, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                0600);
    close(dfd);
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* text appended to path, or written whole through a temp file and a
 * rename (a reader never sees half of it). 0 or -1. */
static int write_file(const char *path, const char *text, bool append)
{
    char tmp[PATH_MAX];
    int fd, rc = 0;
    size_t n = strlen(text);
    if (append) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return -1;
        rc = write(fd, text, n) == (ssize_t)n ? 0 : -1;
        return close(fd) == 0 ? rc : -1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    rc = write(fd, text, n) == (ssize_t)n ? 0 : -1;
    if (close(fd) != 0 || rc < 0)
        return -1;
    return rename(tmp, path);
}

static FILE *open_pids(const char *dir)
{
    char path[PATH_MAX];
    int fd;
    snprintf(path, sizeof(path), "%s/pids", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? NULL : fdopen(fd, "r");
}

/* A run's folder is made here and now (one that exists belongs to someone
 * else); a folder inside it may exist if it is ours (a restarted node's). */
static int cmd_mkdir(const char *d)
{
    char parent[PATH_MAX];
    const char *slash = strrchr(d, '/');
    if (run_dir_ok(d)) {
        char mark[PATH_MAX];
        if (mkdir(d, 0700) != 0)
            return fail(errno == EEXIST ? "mkdir: already there (not this run's):"
                                        : "mkdir: cannot make",
                        d);
        snprintf(mark, sizeof(mark), "%s/%s", d, AGENT_MARK);
        return write_file(mark, "rift-shim agent 1\n", false) == 0 ? 0
                                                                   : fail("mkdir: cannot mark", d);
    }
    if (!in_run_dir(d) || !slash)
        return fail("mkdir: not inside a run folder:", d);
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - d), d);
    if (!dir_ours(parent) || (mkdir(d, 0700) != 0 && !(errno == EEXIST && dir_ours(d))))
        return fail("mkdir: cannot make", d);
    return 0;
}

/* The supervisor: starts argv with its output in log, registers it in
 * DIR/pids before it may exec, reports "PID START" on report_fd, then waits
 * and writes DIR/ROLE.exit. */
static void supervise(const char *dir, const char *role, int out, char **argv, int report_fd)
{
    int gate[2], status;
    char line[256], path[PATH_MAX];
    pid_t pid;
    if (pipe2(gate, O_CLOEXEC) < 0)
        _exit(1);
    pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        char c;
        close(gate[1]);
        if (in < 0 || read(gate[0], &c, 1) != 1)
            _exit(127); /* the supervisor went away before registering us */
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        execvp(argv[0], argv);
        dprintf(2, "rift-shim agent: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(gate[0]);
    close(out);
    if (pid < 0)
        _exit(1);
    snprintf(line, sizeof(line), "%d %" PRIu64 " %s\n", (int)pid, pstat_start_time(pid), role);
    snprintf(path, sizeof(path), "%s/pids", dir);
    /* unregistered, it must not run: closing the gate ends it */
    if (write_file(path, line, true) < 0 || write(gate[1], "g", 1) != 1)
        _exit(1);
    close(gate[1]);
    dprintf(report_fd, "%d %" PRIu64 "\n", (int)pid, pstat_start_time(pid));
    close(report_fd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    snprintf(line, sizeof(line), "%s %d %" PRIu64 "\n", WIFSIGNALED(status) ? "signal" : "exited",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), realtime_ns());
    snprintf(path, sizeof(path), "%s/%s.exit", dir, role);
    write_file(path, line, false);
    _exit(0);
}

static int cmd_spawn(const char *dir, const char *role, const char *log, char **argv)
{
    int rep[2], out;
    char buf[128];
    ssize_t n;
    pid_t sup;
    char exit_path[PATH_MAX];
    if (!run_dir_ok(dir) || !role_ok(role) || !dir_ours(dir))
        return fail("spawn: bad folder or role:", dir);
    if ((out = open_log(dir, log)) < 0)
        return fail("spawn: the log is not a file of the run's folder:", log);
    snprintf(exit_path, sizeof(exit_path), "%s/%s.exit", dir, role);
    unlink(exit_path); /* a restart: the last run's end is not this one's */
    if (pipe2(rep, O_CLOEXEC) < 0) {
        close(out);
        return fail("spawn:", strerror(errno));
    }
    sup = fork();
    if (sup == 0) {
        /* off the SSH session: its own session, nothing of the channel kept */
        close(rep[0]);
        setsid();
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (fork() != 0)
            _exit(0); /* the supervisor is the grandchild: no zombie for the agent */
        supervise(dir, role, out, argv, rep[1]);
    }
    close(out);
    close(rep[1]);
    if (sup < 0)
        return fail("spawn:", strerror(errno));
    waitpid(sup, NULL, 0);
    n = read(rep[0], buf, sizeof(buf) - 1);
    close(rep[0]);
    if (n <= 0)
        return fail("spawn: did not start:", argv[0]);
    buf[n] = 0;
    fputs(buf, OUT);
    return 0;
}

/* A whole argument as a decimal number: 0, or -1. */
static int parse_u64(const char *s, uint64_t *v)
{
    return pstat_u64(&s, v) && !*s ? 0 : -1;
}

/* PID START is a process the run in dir started (its pids file). */
static bool listed(const char *dir, uint64_t pid, uint64_t start)
{
    char line[256];
    bool found = false;
    FILE *f = open_pids(dir);
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        const char *p = line;
        uint64_t a, b;
        found = pstat_u64(&p, &a) && pstat_u64(&p, &b) && a == pid && b == start;
    }
    fclose(f);
    return found;
}

static int cmd_signal(const char *dir, const char *pid_s, const char *start_s, const char *sig_s)
{
    uint64_t pid, start, sig;
    if (parse_u64(pid_s, &pid) < 0 || parse_u64(start_s, &start) < 0 ||
        parse_u64(sig_s, &sig) < 0 || pid <= 1 || pid > INT_MAX || sig > 64)
        return fail("signal: expected DIR PID START SIGNAL, got PID", pid_s);
    if (!run_dir_ok(dir) || !dir_ours(dir) || !listed(dir, pid, start))
        return fail("signal: not a process of the run in", dir);
    if (!pstat_alive_since((pid_t)pid, start)) {
        fprintf(OUT, "gone\n");
        return 1;
    }
    if (kill((pid_t)pid, (int)sig) != 0)
        return fail("signal:", strerror(errno));
    fprintf(OUT, "sent\n");
    return 0;
}

/* One line, "ROLE running PID | exited N T | signal N T | unknown". */
static int cmd_status(const char *dir, const char *role)
{
    char path[PATH_MAX], line[256];
    FILE *f;
    int fd;
    if (!run_dir_ok(dir) || !role_ok(role) || !dir_ours(dir))
        return fail("status: bad folder or role:", dir);
    snprintf(path, sizeof(path), "%s/%s.exit", dir, role);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0 && (f = fdopen(fd, "r"))) {
        bool got = fgets(line, sizeof(line), f) != NULL;
        fclose(f);
        if (got && strchr(line, '\n')) {
            fprintf(OUT, "%s %s", role, line);
            return 0;
        }
    } else if (fd >= 0) {
        close(fd);
    }
    if ((f = open_pids(dir))) {
        char r[40];
        uint64_t start = 0, last_pid = 0, last_start = 0;
        while (fgets(line, sizeof(line), f)) {
            const char *p = line;
            uint64_t v;
            if (pstat_u64(&p, &v) && pstat_u64(&p, &start) && pstat_word(&p, r, sizeof(r)) &&
                !strcmp(r, role)) {
                last_pid = v;
                last_start = start;
            }
        }
        fclose(f);
        if (last_pid && pstat_alive_since((pid_t)last_pid, last_start)) {
            fprintf(OUT, "%s running %" PRIu64 "\n", role, last_pid);
            return 0;
        }
    }
    fprintf(OUT, "%s unknown\n", role);
    return 0;
}

static int rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        if (!d)
            return -1;
        while ((e = readdir(d))) {
            char sub[PATH_MAX];
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
            rm_rf(sub);
        }
        closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

static int cmd_cleanup(const char *dir, const char *owner)
{
    char err[256];
    struct ipt_sweep sw = {0};
    int n, chains = 0;
    int removed = -1;
    FILE *f;
    if (!run_dir_ok(dir))
        return fail("cleanup: bad folder", dir);
    if (access(dir, F_OK) != 0) {
        fprintf(OUT, "stopped 0, chains 0 (no folder)\n");
        return 0;
    }
    if (!dir_ours(dir))
        return fail("cleanup: not a folder of ours:", dir);
    if (owner && !ipt_owner_ok(owner))
        return fail("cleanup: bad owner", owner);
    /* TERM (and CONT, for a paused one), then KILL after 3 s */
    n = (f = open_pids(dir)) ? pstat_stop_listed(f, 3000) : 0;
    /* the run's own chains only, and only those whose shim is gone */
    if (owner && (chains = ipt_cleanup(owner, -1, 0, &sw, err, sizeof(err))) < 0)
        fprintf(ERR, "rift-shim agent: cleanup: %s\n", err);
    /* a supervisor may still be writing its record of the end */
    for (int attempt = 0; attempt < 20 && (removed = rm_rf(dir)) != 0 && errno != ENOENT; attempt++)
        usleep(50000);
    if (removed != 0 && errno != ENOENT)
        return fail("cleanup: cannot remove", dir);
    fprintf(OUT, "stopped %d, chains %d%s%s\n", n, chains < 0 ? 0 : chains,
            sw.kept ? ", kept: " : "", sw.kept ? sw.first_kept : "");
    return chains < 0 ? 1 : 0;
}

static int dispatch(int argc, char **argv, bool served)
{
    const char *c = argc >= 3 ? argv[2] : "";
    if (served && (!strcmp(c, "put") || !strcmp(c, "get") || !strcmp(c, "serve")))
        return fail("not under serve:", c);
    if (!strcmp(c, "version") && argc == 3)
        return fprintf(OUT, "rift-shim agent 1\n") < 0;
    if (!strcmp(c, "clock") && argc == 3)
        return fprintf(OUT, "%" PRIu64 "\n", realtime_ns()) < 0;
    if (!strcmp(c, "mkdir") && argc == 4)
        return cmd_mkdir(argv[3]);
    if (!strcmp(c, "put") && argc == 4)
        return cmd_put(argv[3]);
    if (!strcmp(c, "get") && argc == 4)
        return cmd_get(argv[3]);
    if (!strcmp(c, "spawn") && argc >= 8 && !strcmp(argv[6], "--"))
        return cmd_spawn(argv[3], argv[4], argv[5], argv + 7);
    if (!strcmp(c, "signal") && argc == 7)
        return cmd_signal(argv[3], argv[4], argv[5], argv[6]);
    if (!strcmp(c, "status") && argc >= 5) {
        int rc = 0;
        for (int k = 4; k < argc && !rc; k++)
            rc = cmd_status(argv[3], argv[k]);
        return rc;
    }
    if (!strcmp(c, "cleanup") && (argc == 4 || argc == 5))
        return cmd_cleanup(argv[3], argc == 5 ? argv[4] : NULL);
    fprintf(ERR, "usage: rift-shim agent version | clock | mkdir DIR | put FILE | get FILE |\n"
                 "       spawn DIR ROLE LOG -- ARGV... | signal DIR PID START SIG |\n"
                 "       status DIR ROLE... | cleanup DIR [OWNER]\n");
    return 2;
}

/* A node's command line is its longest request: spawn's 5 words, the
 * server's 30 and two per [server] directive. */
#define SERVE_WORDS 256

/* `agent serve`: one request per line on stdin, one reply per line on
 * stdout: "STATUS<TAB>OUTPUT<TAB>ERRORS", escaped as the requests. One SSH
 * session carries every command of a run: a round trip each, no session
 * set-up. */
static int serve(void)
{
    char *line = NULL;
    size_t cap = 0;
    /* the channel on descriptors of its own: what the commands run
     * (iptables-restore) must not write into it */
    int cin = fcntl(0, F_DUPFD_CLOEXEC, 3), cout = fcntl(1, F_DUPFD_CLOEXEC, 3);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    FILE *in = cin >= 0 ? fdopen(cin, "r") : NULL, *chan = cout >= 0 ? fdopen(cout, "w") : NULL;
    if (!in || !chan || devnull < 0)
        return 2;
    dup2(devnull, 0);
    dup2(devnull, 1);
    close(devnull);
    while (getline(&line, &cap, in) > 0) {
        char *w[SERVE_WORDS + 3], *out = NULL, *err = NULL;
        size_t ol = 0, el = 0;
        int n = tl_split(line, w + 2, SERVE_WORDS), rc;
        w[0] = "rift-shim";
        w[1] = "agent";
        w[n < 0 ? 2 : n + 2] = NULL; /* spawn's command ends here, as argv does */
        OUT = open_memstream(&out, &ol);
        ERR = open_memstream(&err, &el);
        if (!OUT || !ERR)
            return 2;
        rc = n < 0 ? fail("too many words", "") : dispatch(n + 2, w, true);
        fclose(OUT);
        fclose(ERR);
        fprintf(chan, "%d\t", rc);
        tl_put(chan, out, ol);
        fputc('\t', chan);
        tl_put(chan, err, el);
        fputc('\n', chan);
        fflush(chan);
        free(out);
        free(err);
    }
    free(line);
    fclose(in);
    fclose(chan);
    return 0;
}

int agent_main(int argc, char **argv)
{
    OUT = stdout;
    ERR = stderr;
    if (argc == 3 && !strcmp(argv[2], "serve"))
        return serve();
    return dispatch(argc, argv, false);
}
