/* registry: what a run created, written down before it exists
 * (/run/rift/runs/ID: owner, netns, tmpdir, pids), and `rift cleanup`, which
 * removes what runs whose rift process is gone left behind. */
#include "registry.h"

#include "cgbind.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "rfile.h"

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

int reg_create(struct registry *r, const char *id, const char *netns, const char *tmpdir, char *err,
               size_t errlen)
{
    char line[512];
    pid_t self = getpid();
    snprintf(r->dir, sizeof(r->dir), "%s/%s", PROC_REGISTRY, id);
    /* the run's own folder must be new: an id that a leftover run still
     * holds is refused (EEXIST), and the caller draws another */
    if (rfile_mkdirs(PROC_REGISTRY) < 0 || mkdir(r->dir, 0755) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create %s: %s", r->dir, strerror(e));
        errno = e;
        return e == EEXIST ? -2 : -1;
    }
    snprintf(line, sizeof(line), "%d %" PRIu64 "\n", (int)self, pstat_start_time(self));
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
    uint64_t start = pstat_start_time(pid);
    if (!start)
        return -ESRCH;
    snprintf(line, sizeof(line), "%d %" PRIu64 " %s\n", (int)pid, start, role ? role : "-");
    return append_line(r->dir, "pids", line);
}

int reg_started(void *reg, pid_t pid, const char *role)
{
    if (!reg)
        return 0; /* a child of no run: nothing to record */
    return reg_add_pid(reg, pid, role);
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

int reg_add_remote(struct registry *r, const char *host, const char *rdir, const char *owner)
{
    char line[400];
    snprintf(line, sizeof(line), "%s %s %s\n", host, rdir, owner);
    return append_line(r->dir, "remote", line);
}

int reg_add_cgroup(struct registry *r, const char *path)
{
    char line[400];
    snprintf(line, sizeof(line), "%s\n", path);
    return append_line(r->dir, "cgroup", line);
}

/* The run's cgroups (rift-RUNID-app and -probe-NAME under the cgroup rift
 * ran in), emptied and removed: how many there were. Only a folder of the
 * cgroup v2 hierarchy named as rift names them. */
static int cleanup_cgroup(const struct registry *r)
{
    char file[512], path[400], root[256], want[300];
    int n = 0;
    FILE *f;
    snprintf(file, sizeof(file), "%s/cgroup", r->dir);
    if (cgbind_root(root, sizeof(root)) < 0 || !(f = fopen(file, "r")))
        return 0;
    snprintf(want, sizeof(want), "%s/", root);
    while (fgets(path, sizeof(path), f)) {
        const char *base = strrchr(path, '/');
        path[strcspn(path, "\n")] = '\0';
        if (strncmp(path, want, strlen(want)) != 0 || strstr(path, "/..") || !base ||
            strncmp(base + 1, CGBIND_PREFIX, strlen(CGBIND_PREFIX)) != 0 || access(path, F_OK) != 0)
            continue;
        n += cgbind_remove_path(path, 2000) == 0;
    }
    fclose(f);
    return n;
}

void reg_remove(struct registry *r)
{
    static const char *const files[] = {"netns", "tmpdir", "pids", "owner", "cgroup", "remote"};
    char path[512];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", r->dir, files[i]);
        unlink(path);
    }
    rmdir(r->dir);
}

/* "PID START [...]" with both numbers whole and PID > 1. */
static bool parse_pid_start(const char *line, pid_t *pid, uint64_t *start)
{
    uint64_t p;
    if (!pstat_u64(&line, &p) || !pstat_u64(&line, start) || p <= 1 || p > 4194304 || !*start)
        return false;
    *pid = (pid_t)p;
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
    return pstat_alive_since(*owner, start);
}

/* The run's processes, killed with their groups at once. */
static int stop_registered(const struct registry *r)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/pids", r->dir);
    return (f = fopen(path, "r")) ? pstat_stop_listed(f, 0) : 0;
}

int proc_mark_owner(const char *dir)
{
    char line[64];
    pid_t self = getpid();
    snprintf(line, sizeof(line), "%d %" PRIu64 "\n", (int)self, pstat_start_time(self));
    return append_line(dir, ".rift-owner", line);
}

int proc_work_dir(struct rfile_dir *d, const char *prefix, const char *report_dir, char *err,
                  size_t el)
{
    char dir[RFILE_PATH_MAX];
    if (report_dir) {
        char why[RFILE_PATH_MAX + 100];
        if (rfile_dir_open(d, report_dir, why, sizeof(why)) == 0)
            return 0;
        snprintf(err, el, "--report %s", why);
        return -1;
    }
    snprintf(dir, sizeof(dir), "%sXXXXXX", prefix);
    if (!mkdtemp(dir) || proc_mark_owner(dir) != 0) {
        snprintf(err, el, "%s: %s", dir, strerror(errno));
        return -1;
    }
    return rfile_dir_open(d, dir, err, el) == 0 ? 0 : -1;
}

/* A directory (not a symlink) owned by us with a parseable .rift-owner. */
static bool own_marked_dir(const struct registry *r)
{
    struct stat sb;
    char line[64];
    pid_t pid;
    uint64_t start;
    if (lstat(r->dir, &sb) < 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid())
        return false;
    return read_line(r->dir, ".rift-owner", line, sizeof(line)) == 0 &&
           parse_pid_start(line, &pid, &start);
}

/* Temp dirs of rift matrix, chaos and shrink whose rift process is gone. */
static void cleanup_owned_tmp(void)
{
    DIR *d = opendir("/tmp");
    struct dirent *e;
    const char *base = PROC_TMP_PREFIX + 5, *chaos = PROC_TMP_CHAOS + 5; /* after "/tmp/" */
    if (!d)
        return;
    while ((e = readdir(d))) {
        struct registry r;
        pid_t owner;
        if ((strncmp(e->d_name, base, strlen(base)) != 0 &&
             strncmp(e->d_name, chaos, strlen(chaos)) != 0) ||
            strchr(e->d_name, '/'))
            continue;
        snprintf(r.dir, sizeof(r.dir), "/tmp/%s", e->d_name);
        /* only a real directory of ours, marked by its matrix, whose matrix
         * is gone: a user's --report folder of the same name has no marker */
        if (!own_marked_dir(&r) || owner_alive(&r, &owner))
            continue;
        rfile_rm_rf(r.dir);
        printf("rift cleanup: removed %s (its rift %s is gone)\n", r.dir,
               strncmp(e->d_name, base, strlen(base)) ? "chaos or shrink" : "matrix");
    }
    closedir(d);
}

int reg_cleanup_all(int (*remote)(const char *regdir, const char *id, void *ctx), void *ctx,
                    int *kept)
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
        {
            char rfile[400];
            snprintf(rfile, sizeof(rfile), "%s/remote", r.dir);
            if (access(rfile, F_OK) == 0 && (!remote || remote(r.dir, e->d_name, ctx) < 0)) {
                if (!remote)
                    printf("rift cleanup: run %s left folders and processes on other hosts: "
                           "run `rift cleanup --hosts HOSTS.ini`\n",
                           e->d_name);
                if (kept)
                    (*kept)++;
                continue; /* kept for another try */
            }
        }
        int cgroups = cleanup_cgroup(&r);
        if (cgroups)
            printf("rift cleanup: run %s: removed its application's and probes' cgroups (%d)\n",
                   e->d_name, cgroups);
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
            rfile_rm_rf(tmp);
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
