/* need: what a scenario needs from this machine (tools, the server binary,
 * every probe's library), checked before anything starts, so that a
 * missing piece is rift's error naming the command that gets it (rift
 * fetch, apt-get, or the make target in a source tree),
 * never a finding about the cluster. */
#ifndef RIFT_NEED_H
#define RIFT_NEED_H

#include <stdbool.h>
#include <stddef.h>

#include "../scenario/scenario.h"

/* 0 when everything is there; else -1 and err holds one line naming each
 * missing piece and what gets it. */
int need_check(const struct scenario *s, char *err, size_t errlen);

/* prog is executable: a path, or a name found in PATH. */
bool need_on_path(const char *prog);

#endif
