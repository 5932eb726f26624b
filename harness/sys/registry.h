/* registry: the run registry. Every resource a run creates is written to
 * /run/rift/runs/ID before it exists (the namespace and temp dir names) or
 * before it may exec (each process, with its start time), so that `rift
 * cleanup` can remove it even after the harness was killed, and never
 * signals a process that merely reuses a PID. */
#ifndef RIFT_REGISTRY_H
#define RIFT_REGISTRY_H

#include <stddef.h>
#include <sys/types.h>

#define PROC_REGISTRY "/run/rift/runs"

struct registry {
    char dir[256]; /* /run/rift/runs/ID */
};

/* The registry folder of run ID, holding the namespace and temp dir names
 * (written before either exists) and the run's own PID. -1 with err, or
 * -2 when ID is taken (a leftover run of that id is still registered). */
int reg_create(struct registry *r, const char *id, const char *netns, const char *tmpdir, char *err,
               size_t errlen);
/* Record a process: "PID STARTTIME ROLE". 0, or -errno. */
int reg_add_pid(struct registry *r, pid_t pid, const char *role);
/* reg_add_pid in the shape proc_start's started takes (ctx: the registry;
 * NULL: no run, nothing recorded, 0). */
int reg_started(void *reg, pid_t pid, const char *role);
/* Record the run's cgroup folder (cgbind) for `rift cleanup`. 0 or -errno. */
int reg_add_cgroup(struct registry *r, const char *path);
/* Record a folder on another host ("HOST RDIR OWNER": the owner its shim
 * names its iptables chain with), written before it exists, for `rift
 * cleanup --hosts`. 0 or -errno. */
int reg_add_remote(struct registry *r, const char *host, const char *rdir, const char *owner);
void reg_remove(struct registry *r);

/* Mark a temp dir of this process (rift matrix's) as ours: `rift cleanup`
 * removes it once this process is gone. */
#define PROC_TMP_PREFIX "/tmp/rift-matrix-"
#define PROC_TMP_CHAOS "/tmp/rift-chaos-" /* rift chaos and rift shrink */
#define PROC_TMP_AUDIT "/tmp/rift-audit-" /* rift audit --server: registered as a run */
int proc_mark_owner(const char *dir);
/* Where a command that runs many scenarios keeps them, opened in d:
 * report_dir (a report folder, rfile.h), or without one a new
 * PREFIXXXXXXX temp dir marked as ours. 0, or -1 with err. */
struct rfile_dir;
int proc_work_dir(struct rfile_dir *d, const char *prefix, const char *report_dir, char *err,
                  size_t el);

/* `rift cleanup`: stop what every registered run left whose rift process
 * is gone, delete its network namespace and temp dir, and the temp dirs
 * of `rift matrix` processes that are gone. Prints what it removed.
 * Returns the number of runs cleaned. */
/* remote(regdir, id, ctx) cleans what a run left on other hosts (a
 * "remote" file in its registry folder): -1 keeps the run's entry, counted
 * in *kept. Without remote, such runs are kept and named. */
int reg_cleanup_all(int (*remote)(const char *regdir, const char *id, void *ctx), void *ctx,
                    int *kept);

#endif
