/* proc: spawning, stopping and the registry of a run's resources. */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "a");
    if (!f)
        return -1;
    fputs(text, f);
    fclose(f);
    return 0;
}

int reg_create(struct registry *r, const char *id, const char *netns, const char *tmpdir,
               char *err, size_t errlen)
{
    char line[512];
    snprintf(r->dir, sizeof(r->dir), "%s/%s", PROC_REGISTRY, id);
    if (mkdirs(r->dir) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", r->dir, strerror(errno));
        return -1;
    }
    snprintf(line, sizeof(line), "%s\n", netns);
    write_file(r->dir, "netns", line);
    snprintf(line, sizeof(line), "%s\n", tmpdir);
    write_file(r->dir, "tmpdir", line);
    return 0;
}

void reg_add_pid(struct registry *r, pid_t pid)
{
    char line[32];
    snprintf(line, sizeof(line), "%d\n", (int)pid);
    write_file(r->dir, "pids", line);
}

void reg_remove(struct registry *r)
{
    static const char *const files[] = {"netns", "tmpdir", "pids"};
    char path[512];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", r->dir, files[i]);
        unlink(path);
    }
    rmdir(r->dir);
}

pid_t proc_spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : open("/dev/null", O_WRONLY);
        int in = open("/dev/null", O_RDONLY);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Own process group: a Ctrl-C meant for rift does not hit the
         * servers before rift has decided what to do. */
        setpgid(0, 0);
        if (in >= 0)
            dup2(in, 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        for (int i = 3; i < 1024; i++)
            close(i);
        execvp(argv[0], argv);
        dprintf(2, "rift: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int proc_stop(pid_t pid, int ms)
{
    int status = 0;
    if (pid <= 0)
        return 0;
    kill(pid, SIGTERM);
    for (int waited = 0; waited < ms; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return status;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
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

/* Only stop a registered PID if it still runs one of our programs: the
 * number may have been reused since. */
static bool is_ours(pid_t pid)
{
    char path[64], cmd[256] = "";
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    n = fread(cmd, 1, sizeof(cmd) - 1, f);
    fclose(f);
    cmd[n] = '\0';
    return strstr(cmd, "redis-server") || strstr(cmd, "valkey-server") ||
           strstr(cmd, "rift-shim") || strstr(cmd, "ld-linux");
}

static bool alive(pid_t pid)
{
    char path[64], line[256];
    FILE *f;
    bool running = false;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return false;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "State:", 6)) {
            running = !strchr(line, 'Z') && !strchr(line, 'X');
            break;
        }
    fclose(f);
    return running;
}

int reg_cleanup_all(void)
{
    DIR *d = opendir(PROC_REGISTRY);
    struct dirent *e;
    int runs = 0;
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        struct registry r;
        char netns[128], tmp[256], path[512];
        FILE *f;
        int killed = 0;
        if (e->d_name[0] == '.')
            continue;
        snprintf(r.dir, sizeof(r.dir), "%s/%s", PROC_REGISTRY, e->d_name);
        snprintf(path, sizeof(path), "%s/pids", r.dir);
        if ((f = fopen(path, "r"))) {
            int pid, pids[256], np = 0;
            while (fscanf(f, "%d", &pid) == 1)
                if (pid > 1 && is_ours(pid) && np < 256) {
                    kill(pid, SIGKILL);
                    pids[np++] = pid;
                    killed++;
                }
            fclose(f);
            /* Wait until they are gone (or zombies): the caller's next look
             * should not find them. */
            for (int waited = 0; waited < 3000; waited += 10) {
                int running = 0;
                for (int k = 0; k < np; k++)
                    running += alive(pids[k]);
                if (!running)
                    break;
                struct timespec ts = {0, 10000000};
                nanosleep(&ts, NULL);
            }
        }
        if (read_line(r.dir, "netns", netns, sizeof(netns)) == 0 && !strncmp(netns, "rift-", 5)) {
            char *const argv[] = {"ip", "netns", "delete", netns, NULL};
            proc_run(argv);
        } else {
            netns[0] = '\0';
        }
        if (read_line(r.dir, "tmpdir", tmp, sizeof(tmp)) == 0 && !strncmp(tmp, "/tmp/rift-", 10)) {
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
