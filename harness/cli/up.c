/* up: rift up, rift ctl, rift down (up.h). */
#include "up.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../run/live.h"
#include "../run/run.h"

static volatile sig_atomic_t up_interrupted;

static void on_int(int sig)
{
    (void)sig;
    up_interrupted = 1;
}

/* What the child wrote on its stderr so far, onto ours. */
static bool relay(int from)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n > 0)
        return fwrite(buf, 1, (size_t)n, stderr), true;
    return n < 0 && (errno == EAGAIN || errno == EINTR);
}

static int child_status(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 2;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

int up_main(struct run_opts *o, struct live_opts *lo)
{
    int rp[2], ep[2];
    char line[8192];
    size_t len = 0;
    struct sigaction sa = {.sa_handler = on_int};
    pid_t pid;
    if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
        fprintf(stderr, "rift up: pipe: %s\n", strerror(errno));
        return 2;
    }
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) < 0) {
        fprintf(stderr, "rift up: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR);
        close(rp[0]);
        close(ep[0]);
        setsid(); /* the caller's Ctrl-C and hangup are not the run's */
        if (dn >= 0)
            dup2(dn, STDIN_FILENO);
        dup2(ep[1], STDOUT_FILENO);
        dup2(ep[1], STDERR_FILENO);
        close(ep[1]);
        lo->ready_fd = rp[1];
        o->live = lo;
        _exit(run_scenario(o));
    }
    close(rp[1]);
    close(ep[1]);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fcntl(ep[0], F_SETFL, O_NONBLOCK);
    for (bool err_open = true;;) {
        struct pollfd p[2] = {{.fd = rp[0], .events = POLLIN},
                              {.fd = err_open ? ep[0] : -1, .events = POLLIN}};
        if (up_interrupted) { /* our own child, not yet reaped */
            kill(pid, SIGINT);
            up_interrupted = 0;
        }
        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            break;
        if (p[1].revents && !relay(ep[0]))
            err_open = false;
        if (p[0].revents) {
            ssize_t n = read(rp[0], line + len, sizeof(line) - 1 - len);
            if (n > 0) {
                len += (size_t)n;
                line[len] = '\0';
                if (strchr(line, '\n') || len == sizeof(line) - 1) {
                    /* up: what it said before its ready line, then the line */
                    while (err_open && relay(ep[0]) && poll(p + 1, 1, 100) > 0)
                        ;
                    fputs(line, stdout);
                    return 0;
                }
            } else if (n == 0 || errno != EINTR) {
                break; /* the run ended before it was up */
            }
        }
    }
    while (relay(ep[0]))
        ;
    return child_status(pid);
}

int ctl_main(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    bool down = !strcmp(argv[0], "down");
    char req[4096], *buf = NULL;
    size_t have = 0, cap = 0;
    int fd, status = 2;
    if (argc < (down ? 2 : 3)) {
        fprintf(stderr, down ? "usage: rift down SOCKET\n" : "usage: rift ctl SOCKET REQUEST...\n");
        return 2;
    }
    if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "rift %s: %s: path too long\n", argv[0], argv[1]);
        return 2;
    }
    memcpy(sa.sun_path, argv[1], strlen(argv[1]));
    if (down) {
        snprintf(req, sizeof(req), "down\n");
    } else {
        size_t off = 0;
        for (int i = 2; i < argc && off < sizeof(req); i++)
            off +=
                (size_t)snprintf(req + off, sizeof(req) - off, "%s%s", i > 2 ? " " : "", argv[i]);
        if (off >= sizeof(req) - 1) {
            fprintf(stderr, "rift ctl: the request is too long\n");
            return 2;
        }
        req[off++] = '\n';
        req[off] = '\0';
    }
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "rift %s: %s: %s (is the run still up?)\n", argv[0], argv[1],
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        fprintf(stderr, "rift %s: %s: %s\n", argv[0], argv[1], strerror(errno));
        close(fd);
        return 2;
    }
    for (;;) {
        char *nl;
        if (have + 4096 > cap) { /* views of a large cluster are one long line */
            char *b = cap < (16u << 20) ? realloc(buf, cap = cap ? cap * 2 : 65536) : NULL;
            if (!b)
                break;
            buf = b;
        }
        ssize_t n = read(fd, buf + have, cap - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        while ((nl = strchr(buf, '\n'))) {
            *nl = '\0';
            if (down && !strncmp(buf, "exit ", 5)) {
                status = (int)strtol(buf + 5, NULL, 10);
            } else {
                puts(buf);
                if (!down)
                    status = !strncmp(buf, "ok", 2) ? 0 : !strncmp(buf, "fail", 4) ? 1 : 2;
            }
            memmove(buf, nl + 1, have - (size_t)(nl + 1 - buf) + 1);
            have = strlen(buf);
            if (!down) {
                close(fd);
                free(buf);
                return status;
            }
        }
    }
    close(fd);
    free(buf);
    if (!down)
        fprintf(stderr, "rift ctl: %s: the run closed the connection without a reply\n", argv[1]);
    return status;
}
