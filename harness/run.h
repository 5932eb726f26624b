/* run: one `rift run`: a private network namespace, the cluster, the shim,
 * the timeline, the observer's samples, the checks and the report. */
#ifndef RIFT_RUN_H
#define RIFT_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"

struct run_opts {
    const char *scenario_file;
    const char *report_dir; /* NULL: no report files */
    const char *server;     /* overrides [cluster] server, or NULL */
    uint64_t seed;
    bool seed_given;
    const char *self_dir; /* folder of the rift binary (rift-shim is beside it) */
};

/* Exit status: 0 every check (or expectation) holds, 1 a check failed,
 * 2 the harness failed, 130 interrupted. */
int run_scenario(const struct run_opts *o);

#endif
