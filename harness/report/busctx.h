/* busctx: the bus messages an observer got just before a finding. */
#ifndef RIFT_BUSCTX_H
#define RIFT_BUSCTX_H

#include <stdint.h>
#include <stdio.h>

#include "../cluster/runstate.h"

/* The bus messages to observer in the second before first_ms, as shown
 * under a finding, indent spaces in (nothing without a bus timeline). */
void report_bus_context(const struct run *r, FILE *out, const char *observer, int64_t first_ms,
                        int indent);

#endif
