/* live: the control socket of a run that a test suite drives (rift up).
 * One request per line, one reply per line: "ok ...", "fail ..." (the
 * request ran and what it waited for did not happen) or "error: ...
 * " (it was refused, nothing of it applied). Requests are served one at a
 * time, in order, from the run's loop between samples; the protocol is in
 * docs/live.md. */
#ifndef RIFT_LIVE_H
#define RIFT_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct run;

struct live_opts {
    uint64_t grace_ns; /* no client this long (since ready, or since the last left): down */
    uint64_t ttl_ns;   /* down this long after ready; 0: no bound */
    int ready_fd;      /* the ready line is written here and it is closed; -1: none */
    const char *log;   /* where stdout and stderr go once ready (NULL: /dev/null) */
};

#define LIVE_MAX_CLIENTS 16
#define LIVE_LINE_MAX 4096

/* The socket in the run's temp dir; 0 or -1 with err. */
int live_open(struct run *r, char *err, size_t el);
/* Tells the caller the run is up (once: the JSON line on ready_fd), then
 * serves what is ready, waiting up to ms for a request. true once the run
 * is to end: `down`, or no client for the grace time, or the ttl. -1 on
 * rift's own failure (err). */
int live_serve(struct run *r, int ms, char *err, size_t el);
/* The run's summary (its lines) for the down request's reply. */
void live_summary(struct run *r, const char *text);
/* The end: the down client (if any) gets the summary and "exit N"; the
 * socket goes. */
void live_close(struct run *r, int status, const char *err);

#endif
