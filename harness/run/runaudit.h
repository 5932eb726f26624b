/* runaudit: the CROSSSLOT audit of a run's client port (observe/audit.h)
 * started and stopped with the run, and Redis 8's own count of
 * cluster-incompatible operations beside it. */
#ifndef RIFT_RUNAUDIT_H
#define RIFT_RUNAUDIT_H

#include <stddef.h>

struct run;

/* The server's command table, then the capture of the client port. 0, or
 * -1 with err; off (0) with --hosts. */
int runaudit_start(struct run *r, char *err, size_t el);
/* Standalone Redis 8: asks the server to count them too. */
void runaudit_compat_on(struct run *r);
/* Reads the server's count and ends the capture. */
void runaudit_stop(struct run *r);

#endif
