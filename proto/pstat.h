/* pstat: a process's start time and liveness from /proc/PID/stat. */
#ifndef RIFT_PSTAT_H
#define RIFT_PSTAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (clock ticks after boot), 0 if unreadable. */
uint64_t pstat_start_time(pid_t pid);
/* pid is alive (not a zombie) and started at start. */
bool pstat_alive_since(pid_t pid, uint64_t start);

#endif
