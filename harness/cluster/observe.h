/* observe: what the run saw: observations (check, observer, what, first
 * and last time), sampling every node's view and analysing it (cycles,
 * lost slots, convergence), server exits and crash reports in logs. */
#ifndef RIFT_OBSERVE_H
#define RIFT_OBSERVE_H

#include "runstate.h"

/* Record one sighting; repeated ones extend the first. */
/* views.jsonl in the run's temp dir (viewlog.h), and its end with a
 * progress line of its size. */
int obs_views_open(struct run *r, char *err, size_t el);
void obs_views_close(struct run *r);
void obs_record(struct run *r, const char *check, const char *observer, const char *what);
/* The same with structured fields for report.json. */
void obs_record_fields(struct run *r, const char *check, const char *observer, const char *what,
                       const struct obs_fields *f);
/* Scenario name of a node id, "?" if unknown. */
const char *obs_name_of(const struct run *r, const char *id);
/* One round of CLUSTER NODES/INFO on every live node; record: keep and
 * analyse the samples. true when every node answered. */
bool obs_sample(struct run *r, bool record);
/* How long the recorded sampling rounds took: false when there were none. */
bool obs_round_stats(const struct run *r, double *median_ms, double *p99_ms, double *max_ms);
bool obs_converged(struct run *r, char *why, size_t wl);
/* Reap servers that exited: one that no step stopped is a crash. */
void obs_reap_nodes(struct run *r);
void obs_scan_logs(struct run *r);
/* In the last views: a replica whose primary is a replica (chained_replicas),
 * a primary with no slots that was a replica at the start (empty_primaries). */
void obs_final_roles(struct run *r);
/* Slots left MIGRATING/IMPORTING in the last views. */
void obs_open_slots(struct run *r);
/* The workload's verification reports lost writes through this. */
void obs_ledger(void *ctx, const char *check, const char *what);

#endif
