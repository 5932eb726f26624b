/* ipt: the shim's own iptables chain RIFT-Q<queue>, jumped to from INPUT
 * while any rule is on, holding NFQUEUE rules (--queue-bypass) for the
 * patterns of each rule that is on. Changes go through iptables-restore
 * --noflush, one child each. */
#ifndef RIFT_IPT_H
#define RIFT_IPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "match.h"

/* Packets the shim injects itself (duplicates) carry this mark and skip
 * the queue. */
#define IPT_MARK 0x52494654u
/* The mark bit of a packet a shim has seen: its accept is an NF_REPEAT
 * with this bit added to the packet's mark, and every shim's jump skips
 * packets that have it, so INPUT runs again from its first rule for the
 * host's own. IPT_MARK has it too. */
#define IPT_SEEN_BIT 0x40000000u

/* A chain is RIFT-<queue>-<owner>: the owner (the run's id, or pid<PID> of
 * a shim started by hand) is 1-16 letters, digits or '_'. */
#define IPT_OWNER_MAX 16
#define IPT_CHAIN_MAX 32
void ipt_chain_name(char *out, size_t len, unsigned queue, const char *owner);
bool ipt_owner_ok(const char *owner);

/* Script pieces, written to f (open_memstream). */
void ipt_script_begin(FILE *f);
/* The chain and its first rule, whose comment names the owner and the
 * shim's pid and start time. */
void ipt_script_setup(FILE *f, const char *chain, const char *owner, long pid, uint64_t start);
/* With nqueues > 1 packets take turns over queue..queue+nqueues-1. */
void ipt_script_rule(FILE *f, const char *chain, unsigned queue, unsigned nqueues, const char *rule,
                     const struct match_pat *pats, int n, bool add);
/* The jump from INPUT exists only while some rule is on, so that a shim
 * with nothing to do costs the traffic nothing. */
void ipt_script_jump(FILE *f, const char *chain, bool add);
/* Flush and delete the chain (the jump must be gone). */
void ipt_script_teardown(FILE *f, const char *chain);
void ipt_script_end(FILE *f);

/* Start iptables-restore --noflush on script; *errfd receives its stderr.
 * Returns the pid or -1. */
pid_t ipt_spawn(const char *script, size_t len, int *errfd, char *err, size_t errlen);
/* Reap: status from waitpid (or -1 to wait here). 0, or -1 with err. */
int ipt_finish(pid_t pid, int status, int errfd, char *err, size_t errlen);
/* Run a script to completion. */
int ipt_run(const char *script, size_t len, char *err, size_t errlen);

/* Remove chain and every INPUT jump to it (a shim's own teardown). */
int ipt_remove_chain(const char *chain, char *err, size_t errlen);

#define IPT_SWEEP_MAX 1024
/* The caller holds the queue it sweeps: a bound queue says nothing. */
#define IPT_SWEEP_QUEUE_OURS 1
struct ipt_sweep {
    int removed, kept;
    char first_kept[160]; /* why the first kept chain stays */
};
/* Remove rift chains nothing uses any more (--cleanup, a run's cleanup):
 * of owner (NULL: any) and queue (< 0: any). A chain whose shim (pid and
 * start time from its first rule) still runs, or whose queue a process
 * holds, is kept and counted. Returns the number removed, or -1 with err. */
int ipt_cleanup(const char *owner, int queue, int flags, struct ipt_sweep *sw, char *err,
                size_t errlen);

#endif
