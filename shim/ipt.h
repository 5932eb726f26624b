/* ipt: the shim's own iptables chain RIFT-Q<queue>, jumped to from INPUT
 * while any rule is on, holding NFQUEUE rules (--queue-bypass) for the
 * patterns of each rule that is on. Changes go through iptables-restore
 * --noflush, one child each. */
#ifndef RIFT_IPT_H
#define RIFT_IPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "match.h"

/* Packets the shim injects itself (duplicates) carry this mark and skip
 * the queue. */
#define IPT_MARK 0x52494654u

/* Script pieces, written to f (open_memstream). */
void ipt_script_begin(FILE *f);
void ipt_script_setup(FILE *f, unsigned queue);
/* With nqueues > 1 packets take turns over queue..queue+nqueues-1. */
void ipt_script_rule(FILE *f, unsigned queue, unsigned nqueues, const char *rule,
                     const struct match_pat *pats, int n, bool add);
/* The jump from INPUT exists only while some rule is on, so that a shim
 * with nothing to do costs the traffic nothing. */
void ipt_script_jump(FILE *f, unsigned queue, bool add);
/* Flush and delete the chain (the jump must be gone). */
void ipt_script_teardown(FILE *f, unsigned queue);
void ipt_script_end(FILE *f);

/* Start iptables-restore --noflush on script; *errfd receives its stderr.
 * Returns the pid or -1. */
pid_t ipt_spawn(const char *script, size_t len, int *errfd, char *err, size_t errlen);
/* Reap: status from waitpid (or -1 to wait here). 0, or -1 with err. */
int ipt_finish(pid_t pid, int status, int errfd, char *err, size_t errlen);
/* Run a script to completion. */
int ipt_run(const char *script, size_t len, char *err, size_t errlen);

/* Remove every RIFT-Q* chain and its INPUT jump (--cleanup). Returns the
 * number of chains removed, or -1 with err. */
int ipt_cleanup(int only_queue, char *err, size_t errlen);
/* Does chain RIFT-Q<queue> exist? 1, 0, or -1. */
int ipt_chain_exists(unsigned queue);

#endif
