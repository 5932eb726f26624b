/* pstat: a process's start time and liveness from /proc/PID/stat. */
#ifndef RIFT_PSTAT_H
#define RIFT_PSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

#endif
