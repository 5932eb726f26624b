/* flavour: server names and how each server is launched. */
#include "flavour.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../sys/home.h"

static bool suite_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
           s[0] != '-';
}

/* "redis8" -> "redis@trixie"; others unchanged. */
static const char *unalias(const char *name)
{
    if (!strcmp(name, "redis8"))
        return "redis@trixie";
    if (!strcmp(name, "valkey"))
        return "valkey@trixie";
    return name;
}

bool flavour_name_ok(const char *name)
{
    const char *at;
    name = unalias(name);
    if (!strcmp(name, "redis") || !strcmp(name, "valkey-1912"))
        return true;
    if (name[0] == '/')
        return strlen(name) < FLAVOUR_PATH_MAX;
    if (!(at = strchr(name, '@')))
        return false;
    return ((at - name == 5 && !strncmp(name, "redis", 5)) ||
            (at - name == 6 && !strncmp(name, "valkey", 6))) &&
           suite_ok(at + 1);
}

void flavour_package_version(const char *dir, const char *pkg, const char *suite, char *out,
                             size_t len)
{
    char path[FLAVOUR_PATH_MAX + 16], line[160];
    size_t n = strlen(pkg);
    FILE *f;
    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/versions", dir);
    if (!(f = fopen(path, "r")))
        return;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, pkg, n) && line[n] == ' ') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, len, suite ? "%s (%s)" : "%s", line, suite);
            break;
        }
    fclose(f);
}

static int from_suite(struct flavour *f, char *err, size_t el)
{
    char dir[FLAVOUR_PATH_MAX], root[FLAVOUR_PATH_MAX], link[64], server[32];
    ssize_t n;
    home_path(dir, sizeof(dir), HOME_CACHE, f->suite);
    snprintf(root, sizeof(root), "%s/root", dir);
    snprintf(server, sizeof(server), "%s-server", f->product);
    /* NAME-server is a link to the multi-call binary (NAME-check-rdb),
     * which must see NAME-server as its name */
    snprintf(f->bin, sizeof(f->bin), "%s/usr/bin/%s", root, server);
    if ((n = readlink(f->bin, link, sizeof(link) - 1)) > 0 && link[0] != '/') {
        link[n] = '\0';
        snprintf(f->bin, sizeof(f->bin), "%s/usr/bin/%s", root, link);
    }
    snprintf(f->launch[0], sizeof(f->launch[0]), "%s/usr/lib64/ld-linux-x86-64.so.2", root);
    if (access(f->launch[0], X_OK) != 0) /* not merged-/usr (bookworm and older) */
        snprintf(f->launch[0], sizeof(f->launch[0]), "%s/lib64/ld-linux-x86-64.so.2", root);
    snprintf(f->launch[1], sizeof(f->launch[1]), "--library-path");
    snprintf(f->launch[2], sizeof(f->launch[2]),
             "%s/usr/lib/x86_64-linux-gnu:%s/lib/x86_64-linux-gnu", root, root);
    snprintf(f->launch[3], sizeof(f->launch[3]), "--argv0");
    snprintf(f->launch[4], sizeof(f->launch[4]), "%s", server);
    f->n_launch = 5;
    if (access(f->bin, X_OK) != 0 || access(f->launch[0], X_OK) != 0) {
        char target[48], hint[160];
        snprintf(target, sizeof(target), "server-%s", f->suite);
        snprintf(err, el, "server %s (%s of Debian %s, in %s): run %s", f->name, server, f->suite,
                 dir, home_fetch_hint(hint, sizeof(hint), f->name, target));
        return -2;
    }
    flavour_package_version(dir, server, f->suite, f->package, sizeof(f->package));
    return 0;
}

int flavour_resolve(const char *name, struct flavour *f, char *err, size_t el)
{
    const char *real = unalias(name);
    memset(f, 0, sizeof(*f));
    if (!flavour_name_ok(name)) {
        snprintf(err, el,
                 "server '%s': expected redis, redis8, valkey, valkey-1912, NAME@SUITE (redis@sid, "
                 "valkey@bookworm-backports, ...) or an absolute path",
                 name);
        return -1;
    }
    snprintf(f->name, sizeof(f->name), "%s", name);
    if (!strcmp(real, "redis") || real[0] == '/') {
        snprintf(f->product, sizeof(f->product), "%s", real[0] == '/' ? "" : "redis");
        snprintf(f->bin, sizeof(f->bin), "%s", real[0] == '/' ? real : "/usr/bin/redis-server");
        snprintf(f->launch[0], sizeof(f->launch[0]), "%s", f->bin);
        f->n_launch = 1;
        return 0;
    }
    if (!strcmp(real, "valkey-1912")) {
        snprintf(f->product, sizeof(f->product), "valkey");
        home_path(f->bin, sizeof(f->bin), HOME_CACHE, "valkey-1912/valkey-server");
        snprintf(f->launch[0], sizeof(f->launch[0]), "%s", f->bin);
        f->n_launch = 1;
        snprintf(f->package, sizeof(f->package),
                 "valkey 8.1.1 (trixie's source) with valkey#1950 reverted");
        if (access(f->bin, X_OK) != 0) {
            char hint[160];
            snprintf(err, el, "server valkey-1912 (%s): run %s", f->bin,
                     home_fetch_hint(hint, sizeof(hint), "valkey-1912", "valkey-1912"));
            return -2;
        }
        return home_cache_safe(err, el) < 0 ? -1 : 0;
    }
    const char *at = strchr(real, '@');
    snprintf(f->product, sizeof(f->product), "%.*s", (int)(at - real), real);
    snprintf(f->suite, sizeof(f->suite), "%s", at + 1);
    if (home_cache_safe(err, el) < 0)
        return -1;
    return from_suite(f, err, el);
}

const char *flavour_fetch_of(const char *name)
{
    const char *real = unalias(name), *at;
    if (!flavour_name_ok(name) || real[0] == '/')
        return NULL;
    if (!strcmp(real, "valkey-1912"))
        return "valkey-1912";
    return (at = strchr(real, '@')) ? at + 1 : NULL;
}
