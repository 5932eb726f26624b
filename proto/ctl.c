/* ctl: request parsing, the listening socket and the command-line client. */
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int words(char *s, char **w, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == max)
            return max + 1;
        w[n++] = t;
    }
    return n;
}

int ctl_parse(const char *line, struct ctl_cmd *c, char *err, size_t errlen)
{
    char buf[CTL_LINE_MAX], *w[5];
    int n;
    if (strlen(line) >= sizeof(buf)) {
        snprintf(err, errlen, "request too long");
        return -1;
    }
    strcpy(buf, line);
    n = words(buf, w, 4);
    memset(c, 0, sizeof(*c));
    if (n == 0) {
        snprintf(err, errlen, "empty request (on, off, set, stats, release, quit)");
        return -1;
    }
    if (!strcmp(w[0], "on") || !strcmp(w[0], "off")) {
        if (n != 2) {
            snprintf(err, errlen, "usage: %s RULE", w[0]);
            return -1;
        }
        c->op = w[0][1] == 'n' ? CTL_ON : CTL_OFF;
    } else if (!strcmp(w[0], "set")) {
        if (n != 4) {
            snprintf(err, errlen, "usage: set RULE KEY VALUE");
            return -1;
        }
        c->op = CTL_SET;
        if (strlen(w[2]) >= sizeof(c->key) || strlen(w[3]) >= sizeof(c->value)) {
            snprintf(err, errlen, "key or value too long");
            return -1;
        }
        strcpy(c->key, w[2]);
        strcpy(c->value, w[3]);
    } else if (!strcmp(w[0], "stats") || !strcmp(w[0], "release") || !strcmp(w[0], "quit")) {
        if (n != 1) {
            snprintf(err, errlen, "usage: %s (no arguments)", w[0]);
            return -1;
        }
        c->op = w[0][0] == 's' ? CTL_STATS : w[0][0] == 'r' ? CTL_RELEASE : CTL_QUIT;
        return 0;
    } else {
        snprintf(err, errlen, "unknown request '%s' (on, off, set, stats, release, quit)", w[0]);
        return -1;
    }
    if (strlen(w[1]) >= sizeof(c->rule)) {
        snprintf(err, errlen, "rule name too long");
        return -1;
    }
    strcpy(c->rule, w[1]);
    return 0;
}

static int make_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *slash;
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int ctl_listen(const char *path, struct ctl_bound *b, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    mode_t old;
    int fd, rc;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "control: socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    if (make_parent(path) < 0) {
        snprintf(err, errlen, "control: cannot create the folder of %s: %s", path, strerror(errno));
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "control: socket: %s", strerror(errno));
        return -1;
    }
    /* A socket file left by a killed shim: remove it only if nobody answers. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        snprintf(err, errlen, "control: %s is in use by a running rift-shim", path);
        close(fd);
        return -1;
    }
    close(fd);
    /* Whatever else sits there is not ours to remove: a file, a link. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "control: %s exists and is not a socket: not removed", path);
            return -1;
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* mode 0600 from the start: no moment when others may connect */
    old = umask(0177);
    rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || lstat(path, &st) < 0 || listen(fd, 16) < 0) {
        snprintf(err, errlen, "control: cannot listen on %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    b->dev = st.st_dev;
    b->ino = st.st_ino;
    return fd;
}

void ctl_unlink(const char *path, const struct ctl_bound *b)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == b->dev && st.st_ino == b->ino)
        unlink(path);
}

int ctl_request(const char *path, const char *line, char *reply, size_t len, int timeout_ms,
                char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t got = 0, ll = strlen(line);
    int fd;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (write(fd, line, ll) != (ssize_t)ll || write(fd, "\n", 1) != 1) {
        snprintf(err, errlen, "write to %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;
        if (got == len - 1) {
            /* a reply cut short is no reply: report.json would embed half a
             * JSON object */
            snprintf(err, errlen, "the reply from %s is longer than %zu bytes", path, len - 1);
            close(fd);
            return -1;
        }
        if (poll(&pfd, 1, timeout_ms) <= 0) {
            snprintf(err, errlen, "no reply from %s within %d ms", path, timeout_ms);
            close(fd);
            return -1;
        }
        n = read(fd, reply + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(reply, '\n', got))
            break;
    }
    close(fd);
    reply[got] = '\0';
    if (!got) {
        snprintf(err, errlen, "the shim closed the connection without a reply");
        return -1;
    }
    if (!memchr(reply, '\n', got)) {
        snprintf(err, errlen, "the reply from %s was cut short (no end of line)", path);
        return -1;
    }
    reply[strcspn(reply, "\n")] = '\0';
    return 0;
}

int ctl_client(const char *path, int argc, char **argv)
{
    char line[CTL_LINE_MAX], *reply, err[512];
    int rc;
    size_t len = 0;

    for (int i = 0; i < argc; i++) {
        int n = snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof(line) - len) {
            fprintf(stderr, "rift-shim ctl: request too long\n");
            return 2;
        }
        len += (size_t)n;
    }
    if (!(reply = malloc(CTL_REPLY_MAX))) {
        fprintf(stderr, "rift-shim ctl: out of memory\n");
        return 2;
    }
    if (ctl_request(path, line, reply, CTL_REPLY_MAX, 30000, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift-shim ctl: %s\n", err);
        free(reply);
        return 2;
    }
    puts(reply);
    rc = strncmp(reply, "error", 5) == 0 ? 1 : 0;
    free(reply);
    return rc;
}
