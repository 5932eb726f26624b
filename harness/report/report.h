/* report: summary.txt and stdout, report.json, junit.xml, the bus
 * timeline and the bus messages behind each finding, copied logs. */
#ifndef RIFT_REPORT_H
#define RIFT_REPORT_H

#include "../cluster/runstate.h"

#include "../checks/checks.h"

/* report.json's layout; README.md documents it field by field. */
#define REPORT_SCHEMA_VERSION 1

void report_decode_bus(struct run *r);

/* The observations of check as a JSON array (report.json's, and the
 * checks request of a live run). */
void report_json_observations(FILE *f, const struct run *r, const char *check);
void report_summary(struct run *r, FILE *f, const struct check_result *res, int n,
                    const char *verdict);
/* --report DIR, checked and kept open in r->report before anything
 * starts (rfile.h; fd -1 without one): 0, or -errno after saying why it
 * is refused. */
int report_open(struct run *r);
/* The report folder, if there is one; error: why there is no verdict, or
 * NULL. */
void report_write(struct run *r, const struct check_result *res, int n, const char *verdict,
                  const char *error);

#endif
