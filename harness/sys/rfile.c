/* rfile: report folders and their files. rift runs as root: a folder or a
 * name in it that someone else prepared must never make it write a file
 * it did not mean to, so a folder is checked once, kept open, and every
 * file is made new inside it and renamed into place. */
#include "rfile.h"

#include <ftw.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void rfile_dir_init(struct rfile_dir *d)
{
    d->fd = -1;
    d->path[0] = '\0';
}

/* fd is a folder the caller may write in: theirs, and closed to others
 * (who could plant links in it or swap what it holds). */
static int check_owner(int fd, const char *shown, char *err, size_t el)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        snprintf(err, el, "%s: %s", shown, strerror(-rc));
        return rc;
    }
    if (st.st_uid != getuid()) {
        snprintf(err, el, "%s: owned by uid %u, not yours (uid %u)", shown, (unsigned)st.st_uid,
                 (unsigned)getuid());
        return -EPERM;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, el, "%s: writable by others (mode %04o)", shown,
                 (unsigned)(st.st_mode & 07777));
        return -EPERM;
    }
    return 0;
}

/* Folder name in at, made (0700) when missing: its checked descriptor, or
 * -errno with err. */
static int open_at(int at, const char *name, const char *shown, char *err, size_t el)
{
    struct stat st;
    int fd, rc;
    if (mkdirat(at, name, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, el, "%s: cannot create: %s", shown, strerror(-rc));
        return rc;
    }
    fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
            snprintf(err, el, "%s: a symbolic link, not a folder", shown);
            rc = -ELOOP; /* O_DIRECTORY makes it ENOTDIR */
        } else if (rc == -ENOTDIR)
            snprintf(err, el, "%s: not a folder", shown);
        else
            snprintf(err, el, "%s: %s", shown, strerror(-rc));
        return rc;
    }
    if ((rc = check_owner(fd, shown, err, el)) < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int rfile_dir_open(struct rfile_dir *d, const char *path, char *err, size_t el)
{
    char buf[RFILE_PATH_MAX], *slash;
    size_t n = strlen(path);
    int at = AT_FDCWD, fd;
    rfile_dir_init(d);
    while (n > 1 && path[n - 1] == '/')
        n--; /* "out/" would resolve a link named out */
    if (!n || n >= sizeof(buf)) {
        snprintf(err, el, "\"%s\": expected a folder name of 1 to %zu bytes", path,
                 sizeof(buf) - 1);
        return -EINVAL;
    }
    memcpy(buf, path, n);
    buf[n] = '\0';
    memcpy(d->path, buf, n + 1);
    /* missing parents as mkdir -p makes them; one that cannot be made
     * shows below, as the folder that cannot */
    for (char *s = buf + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        (void)mkdir(buf, 0755);
        *s = '/';
    }
    if ((slash = strrchr(buf, '/'))) {
        *slash = '\0';
        at = open(buf[0] ? buf : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (at < 0) {
            int rc = -errno;
            snprintf(err, el, "%s: cannot create: %s", d->path, strerror(-rc));
            return rc;
        }
    }
    fd = open_at(at, !slash ? buf : slash[1] ? slash + 1 : ".", d->path, err, el);
    if (at != AT_FDCWD)
        close(at);
    if (fd < 0)
        return fd;
    d->fd = fd;
    return 0;
}

int rfile_dir_sub(const struct rfile_dir *parent, const char *name, struct rfile_dir *sub,
                  char *err, size_t el)
{
    int fd, n;
    rfile_dir_init(sub);
    n = snprintf(sub->path, sizeof(sub->path), "%s/%s", parent->path, name);
    if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") || n < 0 ||
        (size_t)n >= sizeof(sub->path)) {
        snprintf(err, el, "%s: not a folder name", sub->path);
        return -EINVAL;
    }
    if ((fd = open_at(parent->fd, name, sub->path, err, el)) < 0)
        return fd;
    sub->fd = fd;
    return 0;
}

int rfile_dir_dup(const struct rfile_dir *from, struct rfile_dir *to)
{
    rfile_dir_init(to);
    if ((to->fd = fcntl(from->fd, F_DUPFD_CLOEXEC, 3)) < 0)
        return -errno;
    memcpy(to->path, from->path, sizeof(to->path));
    return 0;
}

void rfile_dir_close(struct rfile_dir *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

/* ".NAME.PID.tmp": hidden, and one per writer. */
static int tmp_name(char *out, size_t len, const char *name)
{
    int n = snprintf(out, len, ".%s.%d.tmp", name, (int)getpid());
    return !*name || strchr(name, '/') || n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

/* The temp file for name, made new: a descriptor, or -errno. */
static int tmp_open(const struct rfile_dir *d, const char *name, mode_t mode)
{
    char tmp[320];
    int fd, rc;
    if (d->fd < 0)
        return -EBADF;
    if ((rc = tmp_name(tmp, sizeof(tmp), name)) < 0)
        return rc;
    fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    /* one a crashed writer left: removed (a link is removed, not followed) */
    if (fd < 0 && errno == EEXIST && unlinkat(d->fd, tmp, 0) == 0)
        fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    return fd < 0 ? -errno : fd;
}

/* rc 0: the temp file replaces name; else it goes. rc, or -errno. */
static int tmp_commit(const struct rfile_dir *d, const char *name, int rc)
{
    char tmp[320];
    if (tmp_name(tmp, sizeof(tmp), name) < 0)
        return -EINVAL;
    if (rc == 0 && renameat(d->fd, tmp, d->fd, name) < 0)
        rc = -errno;
    if (rc < 0)
        unlinkat(d->fd, tmp, 0);
    return rc;
}

FILE *rfile_fopen(const struct rfile_dir *d, const char *name, mode_t mode)
{
    int fd = tmp_open(d, name, mode);
    FILE *f;
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    if (!(f = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        tmp_commit(d, name, -e);
        errno = e;
    }
    return f;
}

int rfile_fclose(const struct rfile_dir *d, FILE *f, const char *name)
{
    int rc;
    if (!f)
        return -EINVAL;
    rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && !rc)
        rc = errno ? -errno : -EIO;
    return tmp_commit(d, name, rc);
}

void rfile_fabort(const struct rfile_dir *d, FILE *f, const char *name)
{
    if (f)
        fclose(f);
    tmp_commit(d, name, -ECANCELED);
}

int rfile_put(const struct rfile_dir *d, const char *name, const char *text, mode_t mode)
{
    FILE *f = rfile_fopen(d, name, mode);
    if (!f)
        return -errno;
    fputs(text, f);
    return rfile_fclose(d, f, name);
}

static int copy_fd(int in, int out)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR)
                return -errno;
            off += w > 0 ? w : 0;
        }
    }
    return 0;
}

int rfile_copy(const struct rfile_dir *d, const char *name, const char *from, mode_t mode)
{
    /* not a FIFO or a device someone put there: no blocking open, and a
     * regular file only */
    int in = open(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), out, rc;
    struct stat st;
    if (in < 0)
        return -errno;
    if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return -EINVAL;
    }
    if ((out = tmp_open(d, name, mode)) < 0) {
        close(in);
        return out;
    }
    rc = copy_fd(in, out);
    if (close(out) != 0 && !rc)
        rc = -errno;
    close(in);
    return tmp_commit(d, name, rc);
}

int rfile_put_path(const char *path, const char *text, mode_t mode)
{
    char dir[RFILE_PATH_MAX];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    struct rfile_dir d;
    int rc;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return -EISDIR;
    if (slash && (size_t)(slash - path) >= sizeof(dir))
        return -ENAMETOOLONG;
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    rfile_dir_init(&d);
    if ((d.fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -errno;
    rc = rfile_put(&d, base, text, mode);
    rfile_dir_close(&d);
    return rc;
}

static bool rfile_named(const char *name, const char *const *keep)
{
    for (int i = 0; keep[i]; i++)
        if (strcmp(name, keep[i]) == 0)
            return true;
    return false;
}

int64_t rfile_remove_except(const struct rfile_dir *d, const char *const *keep)
{
    int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int64_t freed = 0;
    struct dirent *e;
    DIR *dir;
    if (fd < 0)
        return -errno;
    if (!(dir = fdopendir(fd))) {
        int err = -errno;
        close(fd);
        return err;
    }
    while ((e = readdir(dir))) {
        struct stat st;
        if (e->d_name[0] == '.' || rfile_named(e->d_name, keep) ||
            fstatat(d->fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
            continue;
        if (unlinkat(d->fd, e->d_name, 0) == 0)
            freed += st.st_size;
    }
    closedir(dir);
    return freed;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)f;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int rfile_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 ? -1 : 0;
}

int rfile_mkdirs(const char *path)
{
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
        return errno = ENAMETOOLONG, -1;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}
