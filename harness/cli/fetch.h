/* fetch: `rift fetch NAME...` gets what a scenario runs besides Debian's
 * own redis-server into the server cache (home.h), and `rift fetch --list`
 * shows what is there and what each shipped scenario needs.
 *   NAME@SUITE, redis8, valkey   the suite's redis-server and valkey-server
 *                                with everything they depend on (and
 *                                python3-redis of trixie and sid), through
 *                                fetch-suite.sh
 *   valkey-1912                  Valkey 8.1.1 rebuilt with valkey#1950
 *                                reverted (build-valkey-1912.sh)
 *   clients                      the probes' libraries: the pinned npm
 *                                modules (npm ci, in a source tree; shipped
 *                                by the package) and trixie's redis-py 6
 * What is there is kept unless --force. Each is made in a temp folder of
 * the cache and renamed into place: an interrupted fetch leaves nothing. */
#ifndef RIFT_FETCH_H
#define RIFT_FETCH_H

/* argv[0] is "fetch". 0, 2 when something could not be fetched or a name
 * is unknown, 130 when interrupted. */
int fetch_main(int argc, char **argv);

#endif
