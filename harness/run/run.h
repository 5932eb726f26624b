/* run: one `rift run`: a private network namespace, the cluster, the shim,
 * the timeline, the observer's samples, the checks and the report. */
#ifndef RIFT_RUN_H
#define RIFT_RUN_H

#include "../cluster/runstate.h" /* struct run_opts, struct run_result */

/* Exit status: 0 every check (or expectation) holds, 1 a check failed,
 * 2 the harness failed, 130 interrupted. */
int run_scenario(const struct run_opts *o);

#endif
