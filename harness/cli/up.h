/* up: `rift up` (a run that stays up for a test suite to drive), `rift
 * ctl SOCKET REQUEST...` and `rift down SOCKET` (live.h serves them). */
#ifndef RIFT_UP_H
#define RIFT_UP_H

struct run_opts;
struct live_opts;

/* Forks the run into the background, in a session of its own; relays its
 * progress to stderr until it is up, then prints its ready line (JSON) on
 * stdout and returns 0. The run's status when it ends before that. */
int up_main(struct run_opts *o, struct live_opts *lo);

/* argv[0] is "ctl" or "down". ctl: the reply on stdout, exit 0 for ok, 1
 * for fail, 2 for error; down: the run's summary, exit the run's status. */
int ctl_main(int argc, char **argv);

#endif
