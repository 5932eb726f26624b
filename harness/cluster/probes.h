/* probes: real cluster client libraries run as probe processes during a
 * run (drivers in harness/clients/), their JSON-lines output read as it
 * comes, and whether and how fast each heals once the cluster converged. */
#ifndef RIFT_PROBES_H
#define RIFT_PROBES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../observe/tseries.h"
#include "../scenario/scenario.h"
#include "../sys/cgbind.h"
#include "../sys/proc.h"
#include "../sys/registry.h"

#define PROBE_MAX_KEYS 64

struct probe_key {
    char name[64];
    int64_t last_ok_ms; /* run time of the last success, -1 none */
    int64_t last_fail_ms;
};

struct probe_rt {
    const struct scn_probe *cfg;
    pid_t pid;
    char out_path[300], log_path[300];
    FILE *in;
    char *line; /* getline's buffer: lines of any length */
    size_t line_cap;
    int64_t started_ms; /* set by the caller: when it was started */
    char version[64];
    char options[512]; /* the driver's own JSON object of settings */
    struct probe_key keys[PROBE_MAX_KEYS];
    int n_keys;
    uint64_t ops, failures;
    char kinds[16][40]; /* error kinds seen during the fault, and counts */
    uint64_t kind_count[16];
    int n_kinds;
    char last_error[200];
    bool judged; /* probe_finish read the probe's results: healed means something */
    bool healed;
    int64_t heal_ms;   /* from convergence, -1 never */
    struct cgbind cg;  /* a library that binds nothing itself (GLIDE): its address */
    struct tseries ts; /* results over time, from the timeline's start (freed by probe_free) */
};

/* argv for a probe; the driver files are found through home.h. */
/* ranges: "LO-HI,..." the scenario migrates; the probe adds keys there. */
/* Where a probe runs: the rift binary's folder (the drivers are found from
 * it), the seeds, the probes' source address, the slot ranges the
 * scenario migrates (the probe adds keys there), the run's temp dir and
 * id (for a cgroup of its own). */
struct probe_env {
    const char *seeds, *source, *ranges, *tmpdir, *run_id;
    const char *pass; /* RIFT_PASSWORD for the probe, NULL or "": none */
};
pid_t probe_start(struct probe_rt *p, const struct scn_probe *cfg, struct registry *reg,
                  const struct probe_env *pe, char *err, size_t el);
/* A probe that exited on its own, or never said who it is within
 * PROBE_START_MS, is rift's trouble, not a finding: -1 with err. */
#define PROBE_START_MS 20000
int probe_check(struct probe_rt *p, int64_t now_ms, char *err, size_t errlen);
/* Read what the probe wrote since the last call. t0_ms: the run's time
 * origin on CLOCK_MONOTONIC; fault_ms..conv_ms is the window whose errors
 * are counted by kind (conv_ms < 0: still open). */
void probe_poll(struct probe_rt *p, int64_t t0_ms, int64_t fault_ms, int64_t conv_ms);
/* Converged, and every key succeeded after its last failure. */
bool probe_healed_since(const struct probe_rt *p, int64_t conv_ms);
/* Final verdict (re-reads the whole output): healed when every key has
 * succeeded after its last failure; heal_ms from conv_ms to the slowest
 * key's recovery (0 if all recovered before the convergence). */
void probe_finish(struct probe_rt *p, int64_t t0_ms, int64_t conv_ms);
void probe_stop(struct probe_rt *p);
void probe_free(struct probe_rt *p);

#endif
