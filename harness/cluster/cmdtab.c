/* cmdtab: the command table, from the server itself. */
#include "../sys/rfile.h"
#include "cmdtab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../proto/resp.h"
#include "../sys/clock.h"
#include "../sys/proc.h"
#include "../sys/registry.h"
#include "nodes.h"

#define CMDTAB_TIMEOUT_MS 5000

struct fetched {
    struct ks_table *t;
    char *err;
    size_t el;
    bool done;
    int rc;
};

static void on_reply(void *ctx, const struct resp_msg *m)
{
    struct fetched *f = ctx;
    if (f->done)
        return;
    f->done = true;
    if (m->type == '-')
        snprintf(f->err, f->el, "COMMAND: the server replied %.*s", (int)m->len, m->str);
    else
        f->rc = ks_load(f->t, m->raw, m->bytes, f->err, f->el);
}

/* COMMAND on a connected socket; the whole reply loaded into t. The
 * decoder goes on from where it stopped as the reply arrives. */
static int fetch(int fd, struct ks_table *t, char *err, size_t el)
{
    static const char req[] = "*1\r\n$7\r\nCOMMAND\r\n";
    struct resp_stream s;
    struct fetched f = {.t = t, .err = err, .el = el, .rc = -1};
    char *chunk = malloc(1 << 16);
    int64_t deadline = (int64_t)clk_now_ms() + CMDTAB_TIMEOUT_MS;
    resp_init(&s, false);
    if (!chunk || write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
        snprintf(err, el, "COMMAND: %s", chunk ? strerror(errno) : "out of memory");
        goto out;
    }
    while (!f.done) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - (int64_t)clk_now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            snprintf(err, el, "COMMAND: no whole reply within %d ms", CMDTAB_TIMEOUT_MS);
            goto out;
        }
        ssize_t n = read(fd, chunk, 1 << 16);
        if (n <= 0) {
            snprintf(err, el, "COMMAND: %s",
                     n ? strerror(errno) : "the server closed the connection");
            goto out;
        }
        if (resp_feed(&s, chunk, (size_t)n, on_reply, &f) < 0 && !f.done) {
            if (s.state == RESP_TOO_BIG)
                snprintf(err, el, "COMMAND: a reply over %u MiB", RESP_MAX_MSG >> 20);
            else
                snprintf(err, el, "COMMAND: the reply is not RESP: %s", s.why);
            goto out;
        }
    }
out:
    resp_free(&s);
    free(chunk);
    return f.rc;
}

/* AUTH pass, and its one-line reply: +OK or it fails. 0 or -1 with err. */
static int auth(int fd, const char *pass, char *err, size_t el)
{
    char req[160], line[128];
    size_t len = 0;
    int n = snprintf(req, sizeof(req), "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", strlen(pass), pass);
    int64_t deadline = (int64_t)clk_now_ms() + CMDTAB_TIMEOUT_MS;
    if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
        return snprintf(err, el, "AUTH: %s", strerror(errno)), -1;
    while (len < sizeof(line) - 1 && (!len || line[len - 1] != '\n')) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - (int64_t)clk_now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return snprintf(err, el, "AUTH: no reply within %d ms", CMDTAB_TIMEOUT_MS), -1;
        /* a byte at a time: nothing after the line may be taken from fetch */
        if (read(fd, line + len, 1) <= 0)
            return snprintf(err, el, "AUTH: the server closed the connection"), -1;
        len++;
    }
    line[len] = '\0';
    if (strcmp(line, "+OK\r\n") != 0)
        return snprintf(err, el, "AUTH: the server replied %.*s", (int)strcspn(line, "\r\n"), line),
               -1;
    return 0;
}

int cmdtab_tcp(uint32_t ip, int port, uint32_t source, const char *pass, struct ks_table *t,
               char *err, size_t el)
{
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(source)};
    struct sockaddr_in dst = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(ip)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;
    if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
        snprintf(err, el, "COMMAND: cannot connect: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    rc = pass && *pass && auth(fd, pass, err, el) < 0 ? -1 : fetch(fd, t, err, el);
    close(fd);
    return rc;
}

int cmdtab_file(const char *file, struct ks_table *t, char *err, size_t el)
{
    FILE *f = fopen(file, "rb");
    char *buf = NULL, e[200];
    size_t len = 0, cap = 0;
    if (!f) {
        snprintf(err, el, "%s: %s", file, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len == cap) {
            char *b = cap < (64u << 20) ? realloc(buf, cap ? cap * 2 : 1 << 16) : NULL;
            if (!b) {
                snprintf(err, el, "%s: bigger than 64 MiB", file);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = b;
            cap = cap ? cap * 2 : 1 << 16;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (!n)
            break;
    }
    fclose(f);
    int rc = ks_load(t, buf, len, e, sizeof(e));
    if (rc < 0)
        snprintf(err, el, "%s: %s", file, e);
    free(buf);
    return rc;
}

/* Connects to the unix socket at path, waiting for the server to create it. */
static int connect_unix(const char *path, pid_t pid)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int64_t deadline = (int64_t)clk_now_ms() + CMDTAB_TIMEOUT_MS;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    while ((int64_t)clk_now_ms() < deadline && proc_signal_child(pid, 0) == 0) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        usleep(20000);
    }
    return -1;
}

int cmdtab_server(const char *server, struct ks_table *t, char *version, size_t vl, char *err,
                  size_t el)
{
    struct run_opts o = {0};
    struct run *r = calloc(1, sizeof(*r));
    char dir[64], sock[96], id[48], e[300];
    int rc = -1, fd;
    pid_t pid = -1;
    if (!r) {
        snprintf(err, el, "out of memory");
        return -1;
    }
    r->o = &o;
    if ((rc = node_pick_server(r, server, err, el)) < 0)
        goto out_free;
    rc = -1;
    node_server_version(r);
    snprintf(version, vl, "%s %s", r->server_name, r->server_version);
    snprintf(dir, sizeof(dir), "%sXXXXXX", PROC_TMP_AUDIT);
    snprintf(id, sizeof(id), "audit-%d", (int)getpid());
    if (!mkdtemp(dir)) {
        snprintf(err, el, "%s: %s", dir, strerror(errno));
        goto out_free;
    }
    if (reg_create(&r->reg, id, "-", dir, e, sizeof(e)) < 0) {
        snprintf(err, el, "%s", e);
        rfile_rm_rf(dir);
        goto out_free;
    }
    snprintf(sock, sizeof(sock), "%s/s.sock", dir);
    char *argv[24];
    int a = 0;
    for (int k = 0; k < r->n_launch; k++)
        argv[a++] = r->launch[k];
    if (r->n_launch > 1)
        argv[a++] = r->server_bin;
    const char *const fixed[] = {"--port",       "0",  "--unixsocket", sock, "--save",      "",
                                 "--appendonly", "no", "--dir",        dir,  "--daemonize", "no"};
    for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
        argv[a++] = (char *)fixed[k];
    argv[a] = NULL;
    const struct proc_opts po = {
        .started = reg_started, .started_ctx = &r->reg, .role = "server:audit"};
    if ((pid = proc_start(argv, &po)) < 0) {
        snprintf(err, el, "cannot start %s: %s", server, strerror(errno));
        goto out_reg;
    }
    if ((fd = connect_unix(sock, pid)) < 0) {
        snprintf(err, el, "%s did not open %s within %d ms", server, sock, CMDTAB_TIMEOUT_MS);
        goto out_stop;
    }
    rc = fetch(fd, t, err, el);
    close(fd);
out_stop:
    proc_stop(pid, 2000);
out_reg:
    rfile_rm_rf(dir);
    reg_remove(&r->reg);
out_free:
    free(r);
    return rc;
}
