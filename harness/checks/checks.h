/* checks: turning observations into check results, with [check] and
 * [expect]; whether the shim applied every fault. */
#ifndef RIFT_CHECKS_H
#define RIFT_CHECKS_H

#include "../cluster/runstate.h"

struct check_result {
    const char *name;
    const char *status; /* pass | fail */
    char detail[256];
    bool seen;
};

int checks_evaluate(struct run *r, struct check_result *res);
/* The shim could not apply every fault (queue full, verdicts lost): true,
 * with why. */
bool checks_faults_not_applied(struct run *r, char *why, size_t wl);

#endif
