/* cluster: building the cluster (MEET, slots, replicas) and waiting,
 * with bounds, until it is ready; preloading keys into slots. */
#ifndef RIFT_CLUSTER_H
#define RIFT_CLUSTER_H

#include "runstate.h"

int cluster_build(struct run *r, char *err, size_t el);
/* Every node's view the same and every replica synced, within ms (an
 * attached cluster, before its timeline). 0 or -1 with err. */
int cluster_wait_ready(struct run *r, int ms, char *err, size_t el);
/* count keys into slots lo..hi, through a cluster client. */
int cluster_preload(struct run *r, int lo, int hi, int count, char *err, size_t el);

#endif
