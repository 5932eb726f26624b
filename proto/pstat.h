/* pstat: a process's start time and liveness from /proc/PID/stat. */
#ifndef RIFT_PSTAT_H
#define RIFT_PSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (clock ticks after boot), 0 if unreadable. */
uint64_t pstat_start_time(pid_t pid);
/* pid is alive (not a zombie) and started at start. */
bool pstat_alive_since(pid_t pid, uint64_t start);

/* The next blank-separated word of *s: copied into out (cut at len - 1),
 * *s moved past it. false when there is none. */
bool pstat_word(const char **s, char *out, size_t len);
/* The next word as a whole decimal number. false when it is not one. */
bool pstat_u64(const char **s, uint64_t *v);

/* Stop every process f lists as "PID START" lines (f is closed) that still
 * runs with that start time: SIGTERM and SIGCONT (for a paused one), then
 * SIGKILL after term_ms; SIGKILL at once when term_ms is 0. One that leads
 * a process group of its own is signalled with its group (only its own
 * descendants: a server's fork for a replica's sync, say). Waits up to 5 s
 * for them to be gone. Returns how many ran. */
int pstat_stop_listed(FILE *f, int term_ms);

#endif
