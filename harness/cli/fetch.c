/* fetch: rift fetch NAME... and rift fetch --list (fetch.h). */
#include "fetch.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../cluster/need.h"
#include "../scenario/flavour.h"
#include "../scenario/scenario.h"
#include "../sys/home.h"
#include "../sys/proc.h"
#include "../sys/rfile.h"

#define P HOME_PATH_MAX

static volatile sig_atomic_t interrupted;

static void on_int(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t du_bytes;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)path;
    (void)f;
    if (flag == FTW_F)
        du_bytes += (uint64_t)st->st_blocks * 512;
    return 0;
}

/* "61.2 MiB": what path holds on disk. */
static const char *size_of(const char *path, char *out, size_t len)
{
    du_bytes = 0;
    nftw(path, du_one, 16, FTW_PHYS);
    snprintf(out, len, "%.1f MiB", (double)du_bytes / (1024.0 * 1024.0));
    return out;
}

static bool exists(const char *dir, const char *rel)
{
    char p[P + 64];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    return access(p, F_OK) == 0;
}

/* mkdir -p of the cache, 0755, then whether it is safe to run from. */
static int cache_ready(void)
{
    char err[P + 128];
    if (rfile_mkdirs(home_dir(HOME_CACHE)) < 0) {
        fprintf(stderr, "rift fetch: %s: %s\n", home_dir(HOME_CACHE), strerror(errno));
        return -1;
    }
    if (home_cache_safe(err, sizeof(err)) < 0) {
        fprintf(stderr, "rift fetch: %s\n", err);
        return -1;
    }
    return 0;
}

/* The versions of the servers and redis-py in a fetched suite. */
static void versions(const char *dir, char *out, size_t len)
{
    static const char *const pkgs[] = {"redis-server", "valkey-server", "python3-redis"};
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(pkgs) / sizeof(pkgs[0]) && off < len; i++) {
        char v[160];
        flavour_package_version(dir, pkgs[i], NULL, v, sizeof(v));
        if (v[0])
            off += (size_t)snprintf(out + off, len - off, "%s%s", off ? ", " : "", v);
    }
}

/* Runs argv, which makes tmp; renames tmp to final (what was there goes)
 * and stamps it. 0, 2 on failure, 130 interrupted; tmp never stays. */
static int make_into(const char *what, char *const argv[], const char *tmp, const char *final)
{
    struct sigaction sa = {.sa_handler = on_int}, old_int, old_term;
    time_t t0 = time(NULL);
    char stamp[P + 16], size[32];
    int rc;
    FILE *f;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rfile_rm_rf(tmp);
    rc = proc_run_shown(argv, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (interrupted || rc != 0) {
        rfile_rm_rf(tmp);
        if (interrupted) {
            fprintf(stderr, "rift fetch: %s: interrupted, nothing kept\n", what);
            return 130;
        }
        fprintf(stderr, "rift fetch: %s: %s %s, nothing kept\n", what, argv[0],
                rc < 0 ? "could not run" : "failed");
        return 2;
    }
    if (rfile_rm_rf(final) < 0 || rename(tmp, final) != 0) {
        fprintf(stderr, "rift fetch: %s: %s: %s\n", what, final, strerror(errno));
        rfile_rm_rf(tmp);
        return 2;
    }
    snprintf(stamp, sizeof(stamp), "%s/.stamp", final);
    if ((f = fopen(stamp, "w")))
        fclose(f);
    printf("rift fetch: %s: %s in %s, %ld s\n", what, size_of(final, size, sizeof(size)), final,
           (long)(time(NULL) - t0));
    return 0;
}

static int fetch_suite(const char *suite, bool force)
{
    char script[P], final[P], tmp[P + 32], what[64], v[400];
    home_path(final, sizeof(final), HOME_CACHE, suite);
    snprintf(what, sizeof(what), "Debian %s", suite);
    if (!force && exists(final, ".stamp")) {
        char size[32];
        versions(final, v, sizeof(v));
        printf("rift fetch: %s: already in %s, %s (%s)\n", what, final,
               size_of(final, size, sizeof(size)), v);
        return 0;
    }
    if (cache_ready() < 0)
        return 2;
    home_path(script, sizeof(script), HOME_CLIENTS, "fetch-suite.sh");
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp-%ld", home_dir(HOME_CACHE), suite, (long)getpid());
    bool py = !strcmp(suite, "trixie") || !strcmp(suite, "sid");
    char *argv[] = {
        script, (char *)suite, tmp, "redis-server", "valkey-server", py ? "=python3-redis" : NULL,
        NULL};
    printf("rift fetch: %s: redis-server and valkey-server with what they depend on%s, from "
           "this machine's Debian mirror\n",
           what, py ? ", and python3-redis" : "");
    fflush(stdout);
    int rc = make_into(what, argv, tmp, final);
    if (rc == 0) {
        versions(final, v, sizeof(v));
        printf("rift fetch: %s: %s\n", what, v);
    }
    return rc;
}

static int fetch_valkey_1912(bool force)
{
    static const char *const tools[] = {"cc", "make", "patch", "tar"};
    char script[P], final[P], tmp[P + 32];
    home_path(final, sizeof(final), HOME_CACHE, "valkey-1912");
    if (!force && exists(final, "valkey-server")) {
        printf("rift fetch: valkey-1912: already built in %s\n", final);
        return 0;
    }
    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        if (!need_on_path(tools[i])) {
            fprintf(stderr,
                    "rift fetch: valkey-1912 is built from source and needs %s: run `apt-get "
                    "install gcc make patch tar`\n",
                    tools[i]);
            return 2;
        }
    if (cache_ready() < 0)
        return 2;
    home_path(script, sizeof(script), HOME_CLIENTS, "build-valkey-1912.sh");
    snprintf(tmp, sizeof(tmp), "%s/.valkey-1912.tmp-%ld", home_dir(HOME_CACHE), (long)getpid());
    char *argv[] = {script, tmp, NULL};
    printf("rift fetch: valkey-1912: trixie's Valkey 8.1.1 source with valkey#1950 reverted, "
           "built here (about 2 minutes on 2 cores)\n");
    fflush(stdout);
    return make_into("valkey-1912", argv, tmp, final);
}

/* npm ci in dir when its node_modules are missing or older than its lock. */
static int npm_ci(const char *dir, bool force)
{
    char lock[P + 32], have[P + 48];
    struct stat a, b;
    snprintf(lock, sizeof(lock), "%s/package-lock.json", dir);
    snprintf(have, sizeof(have), "%s/node_modules/.package-lock.json", dir);
    if (!force && stat(have, &b) == 0 && stat(lock, &a) == 0 && b.st_mtime >= a.st_mtime) {
        printf("rift fetch: clients: npm modules already in %s/node_modules\n", dir);
        return 0;
    }
    if (!need_on_path("npm")) {
        fprintf(stderr, "rift fetch: clients: npm (Node.js) is missing: run `apt-get install "
                        "nodejs npm`\n");
        return 2;
    }
    char *argv[] = {"npm",        "ci",        "--prefix",         (char *)dir,
                    "--no-audit", "--no-fund", "--loglevel=error", NULL};
    printf("rift fetch: clients: npm ci in %s\n", dir);
    fflush(stdout);
    if (proc_run_shown(argv, NULL) != 0) {
        fprintf(stderr, "rift fetch: clients: npm ci in %s failed\n", dir);
        return 2;
    }
    return 0;
}

static int fetch_clients(bool force)
{
    if (home_is_tree()) {
        char dir[P];
        int rc;
        if ((rc = npm_ci(home_dir(HOME_CLIENTS), force)) != 0)
            return rc;
        if ((rc = npm_ci(home_path(dir, sizeof(dir), HOME_APPS, "bullmq"), force)) != 0)
            return rc;
    } else if (!exists(home_dir(HOME_CLIENTS), "node_modules/ioredis")) {
        fprintf(stderr,
                "rift fetch: clients: the npm modules the package ships are not in "
                "%s/node_modules: run `apt-get install --reinstall rift`\n",
                home_dir(HOME_CLIENTS));
        return 2;
    } else {
        printf("rift fetch: clients: npm modules shipped in %s/node_modules\n",
               home_dir(HOME_CLIENTS));
    }
    /* redis-py 6 for the redis-py-6 probe */
    return fetch_suite("trixie", force);
}

/* ---- --list ---- */

static void list_servers(bool names)
{
    char dir[P], v[400], size[32], e_redis[160];
    DIR *d = opendir(home_dir(HOME_CACHE));
    struct dirent *e;
    struct flavour redis;
    bool have_redis = flavour_resolve("redis", &redis, e_redis, sizeof(e_redis)) == 0 &&
                      access(redis.bin, X_OK) == 0;
    if (names) {
        if (have_redis)
            printf("redis\n");
    } else {
        printf("server cache: %s\n", home_dir(HOME_CACHE));
        if (have_redis)
            printf("  %-20s this machine's %s\n", "redis", redis.bin);
        else
            printf("  %-20s missing: run `apt-get install redis-server`\n", "redis");
    }
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "valkey-1912"))
            continue;
        home_path(dir, sizeof(dir), HOME_CACHE, e->d_name);
        if (!exists(dir, ".stamp") || !exists(dir, "root"))
            continue;
        if (names) {
            printf("redis@%s\nvalkey@%s\n", e->d_name, e->d_name);
            if (!strcmp(e->d_name, "trixie"))
                printf("redis8\nvalkey\n");
            continue;
        }
        versions(dir, v, sizeof(v));
        printf("  %-20s redis@%s, valkey@%s%s: %s (%s)\n", e->d_name, e->d_name, e->d_name,
               !strcmp(e->d_name, "trixie") ? " (redis8, valkey)" : "",
               size_of(dir, size, sizeof(size)), v);
    }
    if (d)
        closedir(d);
    home_path(dir, sizeof(dir), HOME_CACHE, "valkey-1912");
    if (names) {
        if (exists(dir, "valkey-server"))
            printf("valkey-1912\n");
        return;
    }
    printf("  %-20s %s\n", "valkey-1912",
           exists(dir, "valkey-server") ? "built" : "not built: rift fetch valkey-1912");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_scenarios(void)
{
    static struct scenario s; /* large */
    char dir[P], file[P + 300], err[2048];
    struct dirent *e;
    char *names[128];
    int n = 0;
    DIR *d = opendir(home_path(dir, sizeof(dir), HOME_DATA, "scenarios"));
    printf("scenarios in %s:\n", dir);
    while (d && (e = readdir(d)) && n < 128) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".ini"))
            names[n++] = strdup(e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), by_name);
    for (int i = 0; i < n; i++) {
        struct flavour f;
        const char *server;
        snprintf(file, sizeof(file), "%s/%s", dir, names[i]);
        if (!names[i] || scn_load(&s, file, err, sizeof(err)) < 0) {
            printf("  %-28s does not load: %s\n", names[i] ? names[i] : "?", err);
            free(names[i]);
            continue;
        }
        server = s.server[0] ? s.server : "redis";
        if (flavour_resolve(server, &f, err, sizeof(err)) != 0 ||
            need_check(&s, err, sizeof(err)) < 0)
            printf("  %-28s %s: missing: %s\n", names[i], server, err);
        else
            printf("  %-28s %s%s: ready\n", names[i], server, s.n_probes ? " and its probes" : "");
        free(names[i]);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rift fetch NAME... [--force]   NAME: SERVER@SUITE (valkey@sid, "
               "redis@trixie, ...), redis8, valkey, valkey-1912, clients\n"
               "       rift fetch --list [--names]\n"
               "See rift(1).\n");
}

int fetch_main(int argc, char **argv)
{
    static const struct option opts[] = {{"list", no_argument, NULL, 'l'},
                                         {"names", no_argument, NULL, 'n'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool list = false, names = false, force = false;
    int c, status = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "lnfh", opts, NULL)) != -1) {
        if (c == 'l')
            list = true;
        else if (c == 'n')
            names = true;
        else if (c == 'f')
            force = true;
        else if (c == 'h')
            return usage(stdout), 0;
        else
            return usage(stderr), 2;
    }
    if (list || names) {
        if (optind != argc)
            return usage(stderr), 2;
        list_servers(names);
        if (!names)
            list_scenarios();
        return 0;
    }
    if (optind == argc)
        return usage(stderr), 2;
    /* every name is known before anything is fetched */
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], "clients") != 0 && !flavour_fetch_of(argv[i])) {
            fprintf(stderr,
                    "rift fetch: '%s': expected SERVER@SUITE (valkey@sid, redis@trixie, ...), "
                    "redis8, valkey, valkey-1912 or clients%s\n",
                    argv[i],
                    !strcmp(argv[i], "redis") ? " (redis is Debian's own: apt-get install "
                                                "redis-server)"
                                              : "");
            return 2;
        }
    for (int i = optind; i < argc && !status; i++) {
        const char *of = flavour_fetch_of(argv[i]);
        if (!strcmp(argv[i], "clients"))
            status = fetch_clients(force);
        else if (!strcmp(of, "valkey-1912"))
            status = fetch_valkey_1912(force);
        else
            status = fetch_suite(of, force);
    }
    return status;
}
