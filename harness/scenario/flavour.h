/* flavour: what a server name means and how that server is launched.
 *   redis            Debian's own redis-server on this machine (bookworm 7.0.15)
 *   NAME@SUITE       NAME (redis or valkey) of Debian suite SUITE (trixie,
 *                    sid, bookworm-backports, ...), fetched by `rift fetch`
 *                    into the cache (home.h: build/SUITE in a source tree)
 *                    and run through that suite's own dynamic loader and
 *                    libraries
 *   redis8, valkey   aliases of redis@trixie and valkey@trixie
 *   valkey-1912      Valkey 8.1.1 rebuilt with the fix of valkey#1912 reverted
 *   /path            a server binary */
#ifndef RIFT_FLAVOUR_H
#define RIFT_FLAVOUR_H

#include <stdbool.h>
#include <stddef.h>

#define FLAVOUR_PATH_MAX 512
#define FLAVOUR_NAME_MAX 48

struct flavour {
    char name[FLAVOUR_NAME_MAX]; /* as given */
    char product[8];             /* redis | valkey ("" for a path) */
    char suite[32];              /* "" for the machine's own, a path or a build */
    char bin[FLAVOUR_PATH_MAX];  /* what is executed (after the loader) */
    char launch[5][FLAVOUR_PATH_MAX];
    int n_launch;      /* launch[0..n-1], then bin when n > 1 */
    char package[128]; /* "valkey-server 9.1.2-1 (sid)", or "" when unknown */
};

/* Whether name is a flavour's name (syntax only): redis, redis8, valkey,
 * valkey-1912, NAME@SUITE, or an absolute path. */
bool flavour_name_ok(const char *name);
/* Resolves name: 0; -1 a bad name or a cache not safe to run from; -2 not
 * fetched or built (err names the rift fetch command). */
int flavour_resolve(const char *name, struct flavour *f, char *err, size_t el);

/* "PKG VERSION (SUITE)" of package pkg as fetch-suite.sh unpacked it into
 * dir (its versions file; without " (SUITE)" when suite is NULL), or "". */
void flavour_package_version(const char *dir, const char *pkg, const char *suite, char *out,
                             size_t len);

/* The suite a name is fetched from into the cache ("trixie" for redis8),
 * "valkey-1912" for the rebuild, or NULL for redis and a path. */
const char *flavour_fetch_of(const char *name);

#endif
