/* home: where rift finds what it runs besides itself, one search path for
 * every resource.
 *
 * A root is either a source tree (ROOT/harness/scenarios and ROOT/bin) or
 * an install prefix (PREFIX/lib/rift). It is, first found:
 *   1. $RIFT_HOME, which must be one or the other;
 *   2. the source tree the running rift was built in (BIN/..);
 *   3. the prefix compiled in (RIFT_PREFIX: /usr/local from make install,
 *      /usr from the Debian package).
 * The cache of fetched servers is $RIFT_CACHE, else ROOT/build in a source
 * tree, else the directory compiled in (RIFT_CACHE_DIR, /var/cache/rift).
 *
 *                 source tree              prefix
 *   HOME_BIN      ROOT/bin                 PREFIX/bin          rift-shim
 *   HOME_HELPER   ROOT/bin                 PREFIX/lib/rift     rift-probe
 *   HOME_CLIENTS  ROOT/harness/clients     PREFIX/lib/rift/clients
 *   HOME_APPS     ROOT/harness/apps        PREFIX/lib/rift/apps
 *   HOME_DATA     ROOT/harness             PREFIX/share/rift   scenarios/, chaos/
 *   HOME_CACHE    ROOT/build               /var/cache/rift     SUITE/, valkey-1912/
 */
#ifndef RIFT_HOME_H
#define RIFT_HOME_H

#include <stdbool.h>
#include <stddef.h>

enum home_kind { HOME_BIN, HOME_HELPER, HOME_CLIENTS, HOME_APPS, HOME_DATA, HOME_CACHE, HOME__N };

#define HOME_PATH_MAX 512

/* From the path of the running rift (/proc/self/exe) and the environment:
 * 0, or -1 with why in err ($RIFT_HOME that is neither layout, a path too
 * long). Before it, every directory is the compiled-in prefix's. */
int home_init(const char *self_exe, char *err, size_t el);

/* The directory of kind k, no trailing slash. */
const char *home_dir(enum home_kind k);

/* DIR/rel of kind k into out (cut to len); out. */
const char *home_path(char *out, size_t len, enum home_kind k, const char *rel);

/* A source tree: the make targets exist and are named in hints. */
bool home_is_tree(void);

/* What gets a missing NAME: "`rift fetch NAME`" and, from a source tree,
 * " (or `make TARGET`)" when target is not NULL. */
const char *home_fetch_hint(char *out, size_t len, const char *name, const char *target);

/* The cache is safe to run servers from: absent, or a directory owned by
 * root or by the caller and writable by no one else. 0, or -1 with why. */
int home_cache_safe(char *err, size_t el);

#endif
