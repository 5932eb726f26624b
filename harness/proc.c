/* proc: spawning, stopping and the registry of a run's resources. */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int mkdirs(const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* One write(2) per line, appended: a harness killed mid-way leaves whole
 * lines or none. */
static int append_line(const char *dir, const char *name, const char *text)
{
    char path[512];
    size_t len = strlen(text);
    int fd, rc = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (write(fd, text, len) != (ssize_t)len)
        rc = errno ? -errno : -EIO;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    return rc;
}

/* /proc/PID/stat read into buf; returns what follows the command name
 * (which may hold spaces and parentheses: fields count from the last ')'),
 * or NULL. */
static char *read_stat(pid_t pid, char *buf, size_t len)
{
    char path[64], *p;
    ssize_t n;
    int fd;
    if (pid <= 0)
        return NULL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p + 2 : NULL;
}

uint64_t proc_start_time(pid_t pid)
{
    char buf[1024], *p = read_stat(pid, buf, sizeof(buf)), *end;
    unsigned long long v;
    if (!p)
        return 0;
    /* p is field 3 (state); the start time is field 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
        return 0;
    return (uint64_t)v;
}

static char proc_state(pid_t pid)
{
    char buf[1024], *p = read_stat(pid, buf, sizeof(buf));
    if (!p)
        return '\0';
    return *p;
}

bool proc_alive_since(pid_t pid, uint64_t start)
{
    char st;
    if (pid <= 1 || !start || proc_start_time(pid) != start)
        return false;
    st = proc_state(pid);
    return st && st != 'Z' && st != 'X';
}

int reg_create(struct registry *r, const char *id, const char *netns, const char *tmpdir, char *err,
               size_t errlen)
{
    char line[512];
    pid_t self = getpid();
    snprintf(r->dir, sizeof(r->dir), "%s/%s", PROC_REGISTRY, id);
    if (mkdirs(r->dir) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", r->dir, strerror(errno));
        return -1;
    }
    snprintf(line, sizeof(line), "%d %" PRIu64 "\n", (int)self, proc_start_time(self));
    if (append_line(r->dir, "owner", line) < 0)
        goto fail;
    snprintf(line, sizeof(line), "%s\n", netns);
    if (append_line(r->dir, "netns", line) < 0)
        goto fail;
    snprintf(line, sizeof(line), "%s\n", tmpdir);
    if (append_line(r->dir, "tmpdir", line) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot write the registry %s: %s", r->dir, strerror(errno));
    reg_remove(r);
    return -1;
}

int reg_add_pid(struct registry *r, pid_t pid, const char *role)
{
    char line[128];
    uint64_t start = proc_start_time(pid);
    if (!start)
        return -ESRCH;
    snprintf(line, sizeof(line), "%d %" PRIu64 " %s\n", (int)pid, start, role ? role : "-");
    return append_line(r->dir, "pids", line);
}

void reg_remove(struct registry *r)
{
    static const char *const files[] = {"netns", "tmpdir", "pids", "owner"};
    char path[512];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", r->dir, files[i]);
        unlink(path);
    }
    rmdir(r->dir);
}

static int open_out(const char *path)
{
    return path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0644) : open("/dev/null", O_WRONLY);
}

pid_t proc_spawn_reg(struct registry *reg, const char *role, char *const argv[], const char *out,
                     const char *err, const char *env)
{
    int gate[2];
    pid_t pid;
    if (pipe2(gate, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(gate[0]);
        close(gate[1]);
        return -1;
    }
    if (pid == 0) {
        int fo, fe, in;
        char go;
        ssize_t n;
        sigset_t none;
        close(gate[1]);
        /* Wait until the parent has registered us; EOF means it died. */
        while ((n = read(gate[0], &go, 1)) < 0 && errno == EINTR)
            ;
        if (n != 1)
            _exit(126);
        fo = open_out(out);
        fe = err ? open_out(err) : -1;
        in = open("/dev/null", O_RDONLY);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        /* Own process group: a Ctrl-C meant for rift does not hit the
         * servers before rift has decided what to do. */
        setpgid(0, 0);
        if (in >= 0)
            dup2(in, 0);
        if (fo >= 0) {
            dup2(fo, 1);
            dup2(fe >= 0 ? fe : fo, 2);
        }
        for (int i = 3; i < 1024; i++)
            close(i);
        if (env)
            putenv((char *)env);
        execvp(argv[0], argv);
        dprintf(2, "rift: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(gate[0]);
    if (reg && reg_add_pid(reg, pid, role) < 0) {
        int st;
        close(gate[1]); /* the child exits without running anything */
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        errno = EIO;
        return -1;
    }
    if (write(gate[1], "g", 1) != 1) {
        int st;
        close(gate[1]);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        return -1;
    }
    close(gate[1]);
    return pid;
}

pid_t proc_spawn(char *const argv[], const char *log)
{
    return proc_spawn_reg(NULL, NULL, argv, log, NULL, NULL);
}

int proc_signal_child(pid_t pid, int sig)
{
    siginfo_t si;
    if (pid <= 1)
        return -EINVAL;
    /* WNOWAIT: look without reaping, so whoever reaps still gets the status.
     * An unreaped child's PID cannot have been reused. */
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return -errno;
    if (si.si_pid == pid)
        return -ESRCH;
    return kill(pid, sig) < 0 ? -errno : 0;
}

bool proc_reap(pid_t pid, int *status)
{
    int st;
    pid_t r;
    if (pid <= 1)
        return false;
    while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r != pid)
        return false;
    if (status)
        *status = st;
    return true;
}

int proc_stop(pid_t pid, int ms)
{
    int status = 0;
    if (proc_signal_child(pid, SIGTERM) < 0) {
        /* exited already (reap it) or not ours: nothing to signal */
        proc_reap(pid, &status);
        return status;
    }
    /* a paused process cannot act on SIGTERM */
    proc_signal_child(pid, SIGCONT);
    for (int waited = 0; waited < ms; waited += 10) {
        if (proc_reap(pid, &status))
            return status;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    int rc = proc_signal_child(pid, SIGKILL);
    if (rc == -ECHILD || rc == -EINVAL)
        return status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

int proc_run(char *const argv[])
{
    int status;
    pid_t pid = proc_spawn(argv, NULL);
    if (pid < 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int read_line(const char *dir, const char *name, char *out, size_t len)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "r");
    if (!f)
        return -1;
    if (!fgets(out, (int)len, f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

/* "PID START [...]" with both numbers whole and PID > 1. */
static bool parse_pid_start(const char *line, pid_t *pid, uint64_t *start)
{
    char *end;
    long p;
    unsigned long long s;
    errno = 0;
    p = strtol(line, &end, 10);
    if (errno || end == line || *end != ' ' || p <= 1 || p > 4194304)
        return false;
    line = end + 1;
    s = strtoull(line, &end, 10);
    if (errno || end == line || (*end != ' ' && *end != '\n' && *end != '\0') || !s)
        return false;
    *pid = (pid_t)p;
    *start = (uint64_t)s;
    return true;
}

/* A run (or matrix) whose rift process still runs is not left over. */
static bool owner_alive(const struct registry *r, pid_t *owner)
{
    char line[64];
    uint64_t start;
    if ((read_line(r->dir, "owner", line, sizeof(line)) < 0 &&
         read_line(r->dir, ".rift-owner", line, sizeof(line)) < 0) ||
        !parse_pid_start(line, owner, &start))
        return false;
    return proc_alive_since(*owner, start);
}

#define CLEANUP_MAX_PIDS 1024

/* SIGKILL every registered process that is still the one registered. */
static int stop_registered(const struct registry *r)
{
    char path[512], line[256];
    pid_t pids[CLEANUP_MAX_PIDS];
    uint64_t starts[CLEANUP_MAX_PIDS];
    int np = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/pids", r->dir);
    if (!(f = fopen(path, "r")))
        return 0;
    while (np < CLEANUP_MAX_PIDS && fgets(line, sizeof(line), f)) {
        pid_t pid;
        uint64_t start;
        if (!parse_pid_start(line, &pid, &start) || !proc_alive_since(pid, start))
            continue;
        if (kill(pid, SIGKILL) == 0) {
            pids[np] = pid;
            starts[np++] = start;
        }
    }
    fclose(f);
    /* Wait until they are gone (or zombies): the caller's next look should
     * not find them. */
    for (int waited = 0; waited < 5000; waited += 10) {
        int running = 0;
        for (int k = 0; k < np; k++)
            running += proc_alive_since(pids[k], starts[k]);
        if (!running)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return np;
}

int proc_mark_owner(const char *dir)
{
    char line[64];
    pid_t self = getpid();
    snprintf(line, sizeof(line), "%d %" PRIu64 "\n", (int)self, proc_start_time(self));
    return append_line(dir, ".rift-owner", line);
}

/* rift matrix's temp dirs whose rift process is gone. */
static void cleanup_owned_tmp(void)
{
    DIR *d = opendir("/tmp");
    struct dirent *e;
    const char *base = PROC_TMP_PREFIX + 5; /* after "/tmp/" */
    if (!d)
        return;
    while ((e = readdir(d))) {
        struct registry r;
        pid_t owner;
        if (strncmp(e->d_name, base, strlen(base)) != 0 || strchr(e->d_name, '/'))
            continue;
        snprintf(r.dir, sizeof(r.dir), "/tmp/%s", e->d_name);
        if (owner_alive(&r, &owner))
            continue;
        char *const argv[] = {"rm", "-rf", r.dir, NULL};
        proc_run(argv);
        printf("rift cleanup: removed %s (its rift matrix is gone)\n", r.dir);
    }
    closedir(d);
}

int reg_cleanup_all(void)
{
    DIR *d;
    struct dirent *e;
    int runs = 0;
    cleanup_owned_tmp();
    if (!(d = opendir(PROC_REGISTRY)))
        return 0;
    while ((e = readdir(d))) {
        struct registry r;
        char netns[128], tmp[256];
        pid_t owner;
        int killed;
        if (e->d_name[0] == '.')
            continue;
        snprintf(r.dir, sizeof(r.dir), "%s/%s", PROC_REGISTRY, e->d_name);
        if (owner_alive(&r, &owner)) {
            printf("rift cleanup: run %s is still running (rift pid %d): left alone\n", e->d_name,
                   (int)owner);
            continue;
        }
        killed = stop_registered(&r);
        if (read_line(r.dir, "netns", netns, sizeof(netns)) == 0 && !strncmp(netns, "rift-", 5) &&
            !strchr(netns, '/')) {
            char path[512];
            snprintf(path, sizeof(path), "/run/netns/%s", netns);
            if (access(path, F_OK) == 0) {
                char *const argv[] = {"ip", "netns", "delete", netns, NULL};
                proc_run(argv);
            } else {
                netns[0] = '\0';
            }
        } else {
            netns[0] = '\0';
        }
        if (read_line(r.dir, "tmpdir", tmp, sizeof(tmp)) == 0 && !strncmp(tmp, "/tmp/rift-", 10) &&
            !strstr(tmp, "..") && access(tmp, F_OK) == 0) {
            char *const argv[] = {"rm", "-rf", tmp, NULL};
            proc_run(argv);
        } else {
            tmp[0] = '\0';
        }
        printf("rift cleanup: run %s: stopped %d process%s, removed namespace %s, temp dir %s\n",
               e->d_name, killed, killed == 1 ? "" : "es", netns[0] ? netns : "-",
               tmp[0] ? tmp : "-");
        reg_remove(&r);
        runs++;
    }
    closedir(d);
    return runs;
}
