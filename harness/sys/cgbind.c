/* cgbind: a source address for a cgroup, by a BPF connect4 program. */
#include "cgbind.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *a)
{
    return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

int cgbind_root(char *out, size_t len)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[1024];
    int rc = -1;
    if (!f)
        return -1;
    /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPER" */
    while (rc < 0 && fgets(line, sizeof(line), f)) {
        char mnt[512], *dash = strstr(line, " - ");
        if (dash && !strncmp(dash + 3, "cgroup2 ", 8) &&
            sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1 && strlen(mnt) < len) {
            snprintf(out, len, "%s", mnt);
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

#define INSN(code, dst, src, off, imm) ((struct bpf_insn){(code), (dst), (src), (off), (imm)})

/* bpf_bind(ctx, &{AF_INET, port 0, ip}, 16); allow the connect. */
static int load_prog(uint32_t ip, char *log, size_t loglen)
{
    const struct bpf_insn prog[] = {
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
        INSN(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -16, 0),
        INSN(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8, 0),
        INSN(BPF_ST | BPF_MEM | BPF_H, BPF_REG_10, 0, -16, AF_INET),
        INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -12, (int32_t)htonl(ip)),
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
        INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -16),
        INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 16),
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0),
        INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_bind),
        INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1),
        INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
    a.expected_attach_type = BPF_CGROUP_INET4_CONNECT;
    a.insns = (uint64_t)(uintptr_t)prog;
    a.insn_cnt = sizeof(prog) / sizeof(prog[0]);
    a.license = (uint64_t)(uintptr_t) "GPL";
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = (uint32_t)loglen;
    a.log_level = 1;
    return (int)bpf(BPF_PROG_LOAD, &a);
}

/* rift's own cgroup ("0::/PATH" of /proc/self/cgroup), "" for the root. */
static int own_cgroup(char *out, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512];
    int rc = -1;
    if (!f)
        return -1;
    while (rc < 0 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "0::/", 4) != 0 || strstr(line, "/..") || strlen(line + 3) >= len)
            continue;
        snprintf(out, len, "%s", strcmp(line + 3, "/") ? line + 3 : "");
        rc = 0;
    }
    fclose(f);
    return rc;
}

int cgbind_path(const char *name, char *out, size_t len, char *err, size_t el)
{
    char root[256], own[400];
    if (cgbind_root(root, sizeof(root)) < 0) {
        snprintf(err, el,
                 "no cgroup v2 hierarchy is mounted (needed to give the application "
                 "an address of its own)");
        return -1;
    }
    /* Under rift's own cgroup, not the root: a CI job's limits (memory,
     * CPU, its kill on timeout) then cover what rift starts. */
    if (own_cgroup(own, sizeof(own)) < 0) {
        snprintf(err, el, "cannot read rift's own cgroup v2 path in /proc/self/cgroup");
        return -1;
    }
    if ((size_t)snprintf(out, len, "%s%s/%s", root, own, name) >= len) {
        snprintf(err, el, "the cgroup path %s%s/%s is too long", root, own, name);
        return -1;
    }
    return 0;
}

int cgbind_create(struct cgbind *c, const char *name, uint32_t ip, char *err, size_t el)
{
    char log[2048] = "";
    union bpf_attr a;
    int dfd;
    c->path[0] = '\0';
    c->prog_fd = -1;
    if (cgbind_path(name, c->path, sizeof(c->path), err, el) < 0)
        return -1;
    if (mkdir(c->path, 0755) < 0) {
        snprintf(err, el, "cannot create cgroup %s: %s", c->path, strerror(errno));
        c->path[0] = '\0';
        return -1;
    }
    if ((c->prog_fd = load_prog(ip, log, sizeof(log))) < 0) {
        snprintf(err, el, "cannot load the BPF connect4 program: %s%s%.200s", strerror(errno),
                 log[0] ? ": " : "", log);
        goto fail;
    }
    if ((dfd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, el, "%s: %s", c->path, strerror(errno));
        goto fail;
    }
    memset(&a, 0, sizeof(a));
    a.target_fd = (uint32_t)dfd;
    a.attach_bpf_fd = (uint32_t)c->prog_fd;
    a.attach_type = BPF_CGROUP_INET4_CONNECT;
    int rc = (int)bpf(BPF_PROG_ATTACH, &a);
    int e = errno;
    close(dfd);
    if (rc < 0) {
        snprintf(err, el, "cannot attach the BPF connect4 program to %s: %s", c->path, strerror(e));
        goto fail;
    }
    return 0;
fail:
    cgbind_remove(c, 0);
    return -1;
}

static bool cg_empty(const char *path)
{
    char file[400], buf[64];
    snprintf(file, sizeof(file), "%s/cgroup.procs", path);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    return n <= 0;
}

/* SIGKILL to every process in the cgroup: they are the application's, as
 * only its processes and what they forked can be in it. */
static void kill_listed(const char *path)
{
    char file[400], line[32];
    snprintf(file, sizeof(file), "%s/cgroup.procs", path);
    FILE *f = fopen(file, "r");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *end;
        long pid = strtol(line, &end, 10);
        if (end != line && pid > 1)
            kill((pid_t)pid, SIGKILL);
    }
    fclose(f);
}

int cgbind_remove_path(const char *path, int ms)
{
    char file[400];
    struct timespec nap = {0, 10000000L}; /* 10 ms */
    snprintf(file, sizeof(file), "%s/cgroup.kill", path);
    if (!cg_empty(path)) {
        int fd = open(file, O_WRONLY | O_CLOEXEC);
        bool killed = fd >= 0 && write(fd, "1", 1) == 1;
        if (fd >= 0)
            close(fd);
        if (!killed) /* no cgroup.kill (before Linux 5.14): each process listed */
            kill_listed(path);
    }
    for (int waited = 0; !cg_empty(path) && waited < ms; waited += 10)
        nanosleep(&nap, NULL);
    if (rmdir(path) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

int cgbind_remove(struct cgbind *c, int ms)
{
    int rc = 0;
    if (c->path[0] && (rc = cgbind_remove_path(c->path, ms)) == 0)
        c->path[0] = '\0'; /* kept when it would not go, for rift cleanup */
    if (c->prog_fd >= 0) {
        close(c->prog_fd);
        c->prog_fd = -1;
    }
    return rc;
}
