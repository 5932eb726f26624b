/* timeline: parsing a scenario's [timeline] steps. */
#ifndef RIFT_TIMELINE_H
#define RIFT_TIMELINE_H

#include "../../policies/ini.h"
#include "scenario.h"

/* One step's text (after "TIME ="); st->line and st->at_ns are already set.
 * 0, or -1 with the error in ini at the step's line. */
int tl_parse_step(struct ini *ini, const struct scenario *s, struct scn_step *st, char *text);

#endif
