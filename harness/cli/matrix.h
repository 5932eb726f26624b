/* matrix: one scenario on several server flavours, several runs each. */
#ifndef RIFT_MATRIX_H
#define RIFT_MATRIX_H

/* The most runs per server one matrix takes. */
#define MATRIX_MAX_RUNS 50

/* self: path of the rift binary. Returns 0, or 2 if a run failed to run
 * (its checks are still tabulated), 130 if interrupted. */
int matrix_main(const char *self, const char *scenario, const char *servers, int runs,
                const char *report_dir);

#endif
