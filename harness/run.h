/* run: one `rift run`: a private network namespace, the cluster, the shim,
 * the timeline, the observer's samples, the checks and the report. */
#ifndef RIFT_RUN_H
#define RIFT_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"

/* What a run found, for callers that run scenarios themselves (chaos,
 * shrink): the verdict and each check as the summary shows it. */
#define RUN_MAX_CHECKS 12
struct run_check {
    char name[24];
    bool fail; /* status fail */
    bool seen; /* the check saw what it looks for (forbidden or expected) */
    char detail[256];
};
struct run_result {
    char verdict[16]; /* pass | fail | invalid | error | interrupted */
    char error[512];  /* why, for error and invalid */
    uint64_t seed;
    char server[64]; /* "redis 7.0.15" */
    int n;
    struct run_check c[RUN_MAX_CHECKS];
};

struct rfile_dir;
struct run_opts {
    const char *scenario_file;
    const char *report_dir;              /* NULL: no report files */
    const struct rfile_dir *report_open; /* report_dir, opened by the caller (chaos), or NULL */
    const char *server;                  /* overrides [cluster] server, or NULL */
    uint64_t seed;
    bool seed_given;
    const char *self_dir;      /* folder of the rift binary (rift-shim is beside it) */
    bool quiet;                /* no progress lines and no summary (errors still) */
    struct run_result *result; /* filled in when not NULL */
    const char *hosts_file;    /* --hosts: the nodes run on these hosts (hosts.h) */
    int app_argc;              /* `rift run SCN -- CMD...`: the application's command */
    char *const *app_argv;
};

/* Exit status: 0 every check (or expectation) holds, 1 a check failed,
 * 2 the harness failed, 130 interrupted. */
int run_scenario(const struct run_opts *o);

#endif
