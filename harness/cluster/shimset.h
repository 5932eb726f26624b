/* shimset: what a run with several rift-shims (one per host with --hosts,
 * one per network namespace of an attached cluster in containers) does
 * with each alike: wait for one to answer, and read their counters as one
 * object. */
#ifndef RIFT_SHIMSET_H
#define RIFT_SHIMSET_H

#include <stddef.h>
#include <sys/types.h>

#include "runstate.h"

#define SHIMSET_MAX 64

/* The shim pid just started answers `stats` on sock within 10 s: 0; -1
 * when it exited (reaped; err: its log's first line); -2 when it runs
 * but did not answer (err). */
int shimset_wait(pid_t pid, const char *sock, const char *log, char *err, size_t el);
/* The counters of n shims as one object: the sums the checks read first
 * (packets, queue_full, ...), then each shim's own under group ("hosts",
 * "namespaces") by its name; a NULL stats[i] is left out. malloc'd, or
 * NULL. */
char *shimset_combine(const char *group, char *const *stats, const char *const *names, int n);

/* The captures of several shims, each decoded on the run's clock from
 * its own base (the run's start as that host's clock read it). */
struct shimset_bus {
    int n; /* at most SHIMSET_MAX */
    const char *pcaps[SHIMSET_MAX];
    const char *names[SHIMSET_MAX]; /* for messages and part files */
    double base[SHIMSET_MAX];
    const char *what; /* "hosts", "network namespaces" */
};
/* bus.txt and bus.jsonl in r->tmp: the captures merged by time a line at
 * a time (memory does not grow with them); progress says how many. */
void shimset_decode_bus(struct run *r, const struct shimset_bus *b);

#endif
