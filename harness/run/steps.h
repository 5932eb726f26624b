/* steps: the timeline's steps (faults through the shim's control socket,
 * failovers, migrations, kills, pauses, restarts, waits) and the shim
 * that applies the faults. */
#ifndef RIFT_STEPS_H
#define RIFT_STEPS_H

#include "../cluster/runstate.h"

int step_start_shim(struct run *r, char *err, size_t el);
/* One control request; on failure r->shim_err says why. */
int step_shim_request(struct run *r, const char *line, char *reply, size_t len);
int step_run(struct run *r, const struct scn_step *st, char *err, size_t el);
/* What ran, now, as r->steps[r->steps_done] (the caller counts it). */
void step_record(struct run *r, const char *line, const char *skipped);
bool step_migrations_done(const struct run *r);
/* Samples until the cluster converged (and migrations are over) or limit
 * ns passed: whether it did, else why not. */
bool step_wait_converged_within(struct run *r, uint64_t limit, char *why, size_t wl);
void step_join_migrations(struct run *r);

#endif
