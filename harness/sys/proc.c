/* proc: starting, signalling, reaping and stopping child processes. */
#include "proc.h"

#include "../../proto/pstat.h"
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A descriptor for out/err: a file appended to, /dev/null, or -1 to keep
 * the caller's. */
static int open_out(const char *path)
{
    if (path == PROC_KEEP)
        return -1;
    return path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0644) : open("/dev/null", O_WRONLY);
}

/* In the child, before exec: redirect, reset signals, detach the group. */
static void child_setup(const struct proc_opts *o, int capture_fd)
{
    int fo = capture_fd >= 0 ? capture_fd : open_out(o->out);
    int fe = o->err ? open_out(o->err) : fo;
    int in = open("/dev/null", O_RDONLY);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    /* Own process group: a Ctrl-C meant for rift does not hit the servers
     * before rift has decided what to do. */
    if (!o->same_group)
        setpgid(0, 0);
    if (in >= 0)
        dup2(in, 0);
    if (fo >= 0)
        dup2(fo, 1);
    if (fe >= 0)
        dup2(fe, 2);
    /* nothing runs outside the namespace it was meant for */
    if (o->netns && setns(*o->netns, CLONE_NEWNET) < 0) {
        dprintf(2, "rift: cannot enter the network namespace: %s\n", strerror(errno));
        _exit(126);
    }
    for (int i = 3; i < 1024; i++)
        close(i);
    if (o->env)
        putenv((char *)o->env);
    for (int i = 0; o->envs && o->envs[i]; i++)
        putenv(o->envs[i]);
    if (o->cgroup) { /* joined, or nothing runs: outside it, it would not be what it claims */
        char path[512];
        snprintf(path, sizeof(path), "%s/cgroup.procs", o->cgroup);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) {
            dprintf(2, "rift: cannot join cgroup %s: %s\n", o->cgroup, strerror(errno));
            _exit(126);
        }
        close(fd);
    }
}

/* Waits for the gate: the parent registers the child first; EOF means it
 * died, and the child must not run anything. */
static void child_wait_gate(int gate)
{
    char go;
    ssize_t n;
    while ((n = read(gate, &go, 1)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        _exit(126);
}

static pid_t start(char *const argv[], const struct proc_opts *o, int capture_fd)
{
    int gate[2];
    pid_t pid;
    if (pipe2(gate, O_CLOEXEC) < 0)
        return -1;
    if ((pid = fork()) < 0) {
        close(gate[0]);
        close(gate[1]);
        return -1;
    }
    if (pid == 0) {
        close(gate[1]);
        child_wait_gate(gate[0]);
        child_setup(o, capture_fd);
        execvp(argv[0], argv);
        dprintf(2, "rift: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(gate[0]);
    if ((o->started && o->started(o->started_ctx, pid, o->role) < 0) ||
        write(gate[1], "g", 1) != 1) {
        int st;
        close(gate[1]); /* the child exits without running anything */
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        errno = EIO;
        return -1;
    }
    close(gate[1]);
    return pid;
}

pid_t proc_start(char *const argv[], const struct proc_opts *o)
{
    return start(argv, o, -1);
}

pid_t proc_spawn(char *const argv[], const char *log)
{
    const struct proc_opts o = {.out = log};
    return proc_start(argv, &o);
}

/* Wait for a child; its wait status, or -1. */
static int wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

int proc_capture(char *const argv[], char *out, size_t len)
{
    const struct proc_opts o = {.err = PROC_KEEP};
    int fd[2], status;
    size_t got = 0;
    pid_t pid;
    if (pipe2(fd, O_CLOEXEC) < 0)
        return -1;
    pid = start(argv, &o, fd[1]);
    close(fd[1]);
    /* read to the end: what does not fit is dropped, so that the child
     * never dies of a closed pipe */
    while (pid > 0) {
        char sink[512];
        char *to = got + 1 < len ? out + got : sink;
        size_t room = got + 1 < len ? len - 1 - got : sizeof(sink);
        ssize_t n = read(fd[0], to, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (to != sink)
            got += (size_t)n;
    }
    close(fd[0]);
    out[got] = '\0';
    if (pid < 0 || (status = wait_child(pid)) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
    proc_stop_all(&pid, &ms, &status, 1);
    return status;
}

void proc_stop_all(pid_t *pids, const int *ms, int *status, int n)
{
    int waiting = 0;
    struct timespec t0;
    for (int i = 0; i < n; i++) {
        status[i] = 0;
        if (pids[i] <= 0)
            continue;
        if (proc_signal_child(pids[i], SIGTERM) < 0) {
            /* exited already (reap it) or not ours: nothing to signal */
            proc_reap(pids[i], &status[i]);
            pids[i] = 0;
            continue;
        }
        /* a paused process cannot act on SIGTERM */
        proc_signal_child(pids[i], SIGCONT);
        waiting++;
    }
    /* 2 ms between looks: a server's shutdown is tens of milliseconds */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (waiting) {
        struct timespec t1, pause = {0, 2000000};
        long waited;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        for (int i = 0; i < n; i++) {
            if (pids[i] <= 0)
                continue;
            if (!proc_reap(pids[i], &status[i])) {
                if (waited < ms[i])
                    continue;
                int rc = proc_signal_child(pids[i], SIGKILL);
                if (rc == 0 || rc == -ESRCH)
                    while (waitpid(pids[i], &status[i], 0) < 0 && errno == EINTR)
                        ;
            }
            pids[i] = 0;
            waiting--;
        }
        if (waiting)
            nanosleep(&pause, NULL);
    }
}

int proc_run(char *const argv[])
{
    pid_t pid = proc_spawn(argv, NULL);
    int status = pid < 0 ? -1 : wait_child(pid);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int proc_run_shown(char *const argv[], const char *env)
{
    const struct proc_opts o = {.out = PROC_KEEP, .err = PROC_KEEP, .env = env, .same_group = true};
    pid_t pid = proc_start(argv, &o);
    int status = pid < 0 ? -1 : wait_child(pid);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *proc_read_file(const char *path, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 1 << 16, len = 0;
    char *buf;
    if (fd < 0)
        return NULL;
    if (!(buf = malloc(cap))) {
        close(fd);
        return NULL;
    }
    for (;;) {
        ssize_t n;
        if (len + 1 == cap) {
            char *b = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    if (out_len)
        *out_len = len;
    return buf;
}
