/* home: where rift finds what it runs besides itself (home.h). */
#include "home.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef RIFT_PREFIX
#define RIFT_PREFIX "/usr/local"
#endif
#ifndef RIFT_CACHE_DIR
#define RIFT_CACHE_DIR "/var/cache/rift"
#endif

static const char *const tree_rel[HOME__N] = {
    [HOME_BIN] = "bin",           [HOME_HELPER] = "bin",   [HOME_CLIENTS] = "harness/clients",
    [HOME_APPS] = "harness/apps", [HOME_DATA] = "harness", [HOME_CACHE] = "build",
};
static const char *const prefix_rel[HOME__N] = {
    [HOME_BIN] = "bin",
    [HOME_HELPER] = "lib/rift",
    [HOME_CLIENTS] = "lib/rift/clients",
    [HOME_APPS] = "lib/rift/apps",
    [HOME_DATA] = "share/rift",
};

static char dirs[HOME__N][HOME_PATH_MAX];
static bool tree, ready;

static bool is_dir(const char *root, const char *rel)
{
    char p[HOME_PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_tree(const char *root)
{
    return is_dir(root, "harness/scenarios") && is_dir(root, "harness/clients");
}

static int set_root(const char *root, bool as_tree, char *err, size_t el)
{
    const char *cache = getenv("RIFT_CACHE");
    tree = as_tree;
    for (int k = 0; k < HOME__N; k++) {
        const char *rel = (as_tree ? tree_rel : prefix_rel)[k];
        int n;
        if (k == HOME_CACHE && cache && *cache)
            n = snprintf(dirs[k], sizeof(dirs[k]), "%s", cache);
        else if (k == HOME_CACHE && !as_tree)
            n = snprintf(dirs[k], sizeof(dirs[k]), "%s", RIFT_CACHE_DIR);
        else
            n = snprintf(dirs[k], sizeof(dirs[k]), "%s/%s", strcmp(root, "/") ? root : "", rel);
        if (n < 0 || (size_t)n >= sizeof(dirs[k]))
            return snprintf(err, el, "%s: path too long", root), -1;
    }
    ready = true;
    return 0;
}

int home_init(const char *self_exe, char *err, size_t el)
{
    const char *env = getenv("RIFT_HOME");
    char bin[HOME_PATH_MAX], *slash;
    if (env && *env) {
        if (env[0] != '/')
            return snprintf(err, el, "RIFT_HOME=%s: expected an absolute path", env), -1;
        if (is_tree(env))
            return set_root(env, true, err, el);
        if (is_dir(env, "lib/rift"))
            return set_root(env, false, err, el);
        return snprintf(err, el,
                        "RIFT_HOME=%s: neither a rift source tree (harness/scenarios) nor an "
                        "install prefix (lib/rift)",
                        env),
               -1;
    }
    /* BIN/rift of a source tree: BIN/.. holds harness/ */
    snprintf(bin, sizeof(bin), "%s", self_exe ? self_exe : "");
    if ((slash = strrchr(bin, '/'))) {
        *slash = '\0';
        if ((slash = strrchr(bin, '/')) && !strcmp(slash, "/bin")) {
            *slash = '\0';
            if (bin[0] && is_tree(bin))
                return set_root(bin, true, err, el);
        }
    }
    return set_root(RIFT_PREFIX, false, err, el);
}

const char *home_dir(enum home_kind k)
{
    if (!ready) {
        char e[64];
        set_root(RIFT_PREFIX, false, e, sizeof(e));
    }
    return dirs[k];
}

const char *home_path(char *out, size_t len, enum home_kind k, const char *rel)
{
    snprintf(out, len, "%s/%s", home_dir(k), rel);
    return out;
}

bool home_is_tree(void)
{
    (void)home_dir(HOME_BIN);
    return tree;
}

const char *home_fetch_hint(char *out, size_t len, const char *name, const char *target)
{
    if (home_is_tree() && target)
        snprintf(out, len, "`rift fetch %s` (or `make %s`)", name, target);
    else
        snprintf(out, len, "`rift fetch %s`", name);
    return out;
}

int home_cache_safe(char *err, size_t el)
{
    const char *d = home_dir(HOME_CACHE);
    struct stat st;
    if (lstat(d, &st) != 0)
        return errno == ENOENT ? 0 : (snprintf(err, el, "%s: %s", d, strerror(errno)), -1);
    if (!S_ISDIR(st.st_mode))
        return snprintf(err, el, "%s: the server cache is not a directory", d), -1;
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return snprintf(err, el, "%s: the server cache is owned by uid %u: not run from", d,
                        (unsigned)st.st_uid),
               -1;
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return snprintf(err, el, "%s: the server cache is writable by others: not run from", d), -1;
    return 0;
}
