/* sched: a scenario's faults and steps as a schedule that `rift chaos`
 * draws, `rift shrink` cuts down, and both write back as a scenario file
 * that `rift run` accepts. The rest of the scenario ([cluster], [server],
 * [workload], [clients], [check]) is kept as its text. */
#ifndef RIFT_SCHED_H
#define RIFT_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../scenario/scenario.h"

#define SCHED_MAX 64   /* elements */
#define SCHED_MAX_EV 8 /* on/off switches of one fault */

enum sched_kind {
    SE_FAULT, /* a [fault] and its on/off steps */
    SE_STEP,  /* a step, with its closing step (kill/restart, pause/resume) */
    SE_WAIT,  /* wait converged (never removed) */
};

/* seq (here) and a step's line order events at the same moment: the
 * timeline's order when read from a file, the drawing's when generated. */
struct sched_ev {
    uint64_t at_ns;
    bool on;
    int seq;
};

struct sched_el {
    enum sched_kind kind;
    bool trailing;        /* SE_WAIT after every other event: follows the last */
    uint64_t gap_ns;      /* trailing: this long after the last event */
    struct pol_rule rule; /* SE_FAULT: the keys it was given (key_line != 0) */
    int n_ev;
    struct sched_ev ev[SCHED_MAX_EV];
    struct scn_step st; /* SE_STEP, SE_WAIT */
    bool has_end;
    struct scn_step end; /* restart after kill, resume after pause */
};

struct sched {
    char *base; /* the scenario's other sections, as text (malloc'd) */
    char names[SCN_MAX_NODES][16];
    uint64_t seed;
    bool seed_given;
    struct pol_shim shim; /* [shim] keys other than seed, written when not default */
    struct scn_expect expect;
    bool has_expect;
    char probe_names[SCN_MAX_PROBES][32];
    int n;
    struct sched_el el[SCHED_MAX];
    char note[512]; /* comment lines written at the top */
};

/* The text of a scenario without the sections a schedule writes itself:
 * [timeline], [fault *], [expect], [shim], and [chaos]. Lines of dropped
 * sections become empty lines when keep_lines (errors keep their line
 * numbers). malloc'd, or NULL. */
char *sched_strip(const char *text, bool keep_lines);
/* text with [cluster] server = server (replaced, or added): what a run
 * with --server wrote, so that its scenario files replay on that server.
 * malloc'd, or NULL. */
char *sched_with_server(const char *text, const char *server);
/* The schedule of a loaded scenario whose file text is text: -1 with err if
 * it does not fit (more than SCHED_MAX elements, a fault switched more than
 * SCHED_MAX_EV times). */
int sched_from_scenario(struct sched *sc, const struct scenario *s, const char *text, char *err,
                        size_t el);
/* Waits at or after every other event become trailing: they keep their
 * distance to the last event when events move. */
void sched_mark_trailing(struct sched *sc);
/* Number the events in the order they are written (seq, step lines), so
 * that events at the same moment keep it when read back. */
void sched_number(struct sched *sc);
void sched_free(struct sched *sc);
/* dst (not src) becomes a copy of src with a base of its own: 0 or -1. */
int sched_copy(struct sched *dst, const struct sched *src);
/* The scenario file: a comment, the kept text, [shim] with the seed, the
 * faults, the timeline, [expect]. 0 or -1. */
int sched_write(FILE *o, const struct sched *sc);
char *sched_text(const struct sched *sc); /* the same, malloc'd */
/* Counts of what is left: faults, and steps (a kill with its restart is one). */
int sched_faults(const struct sched *sc);
int sched_steps(const struct sched *sc);
/* The schedule on one line: "hold m1r1->m2 1.000-6.000s; failover m1r1 @1.100s". */
void sched_line(const struct sched *sc, char *out, size_t len);
/* One element on a line ("fault a-to-c (m1r1 -> m2, hold) 1.000-6.000s"). */
void sched_el_line(const struct sched *sc, int i, char *out, size_t len);
/* Step text as the timeline writes it ("failover m1r1 force"). */
void sched_step_text(const struct sched *sc, const struct scn_step *st, char *out, size_t len);

#endif
