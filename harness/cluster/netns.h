/* netns: the run's private network namespace: created, entered (the
 * harness and everything it starts live in it) and deleted. */
#ifndef RIFT_NETNS_H
#define RIFT_NETNS_H

#include "runstate.h"

int netns_enter(struct run *r, char *err, size_t el);
/* Back to the original namespace; deletes the run's. */
void netns_leave(struct run *r);

#endif
