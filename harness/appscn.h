/* appscn: the [app] section of a scenario (the user's own program under
 * faults) and the splitting of its command line. */
#ifndef RIFT_APPSCN_H
#define RIFT_APPSCN_H

#include "../policies/ini.h"
#include "scenario.h"

#define APP_TIMEOUT_DEFAULT_NS (600ull * 1000000000ull) /* stop = wait: 10 min */

/* One key of [app]: 1, or 0 after ini_fail. */
int app_key(struct ini *in, struct scn_app *a, const char *key, const char *v);

#endif
