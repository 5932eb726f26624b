/* appscn: what a scenario runs against its cluster: the application
 * under test ([app], the user's own program, and the splitting of its
 * command line), rift's client probes ([clients]), and `[cluster] mode =
 * standalone` (the one server an application may have only ever met). */
#ifndef RIFT_APPSCN_H
#define RIFT_APPSCN_H

#include "../../policies/ini.h"
#include "scenario.h"

#define APP_TIMEOUT_DEFAULT_NS (600ull * 1000000000ull) /* stop = wait: 10 min */

/* One key of [app]: 1, or 0 after ini_fail. */
int app_key(struct ini *in, struct scn_app *a, const char *key, const char *v);

/* One key of [clients]: probes = a, b; start = TIME; seeds = nodes (kept
 * as text in seeds_spec, resolved once the nodes are known);
 * PROBE.OPTION = VALUE. 1, or 0 after ini_fail. */
int clients_key(struct ini *in, struct scenario *s, const char *key, const char *v,
                char *seeds_spec, size_t seeds_len, int *seeds_line);
/* masters and replicas left out: 3 x 1 for a cluster, 1 x 0 standalone;
 * a standalone scenario that asks for more is an error. 0 or -1. */
int scn_mode_defaults(struct ini *in, struct scenario *s, int cluster_line);
/* What a standalone server cannot serve: the workload and the probes
 * (cluster clients); failover and migrate steps are refused where they
 * are parsed. 0 or -1. */
int scn_standalone_check(struct ini *in, const struct scenario *s, int workload_line,
                         int clients_line);

#endif
