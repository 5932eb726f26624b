/* html: report.html, one self-contained page (inline CSS, inline SVG, a
 * few lines of inline script; nothing fetched) telling a run in time: the
 * header with the verdict and the checks, then a timeline with one lane per
 * observer (roles, PFAIL/FAIL marks, cluster_state, the slot owners), the
 * fault windows and steps, the findings where they were seen, the clients
 * and the workload's errors; below it, the bus messages behind each finding
 * and the log of each crashed node. And matrix.html for `rift matrix`. */
#ifndef RIFT_HTML_H
#define RIFT_HTML_H

#include <stdio.h>

#include "../../policies/esc.h"
#include "../checks/checks.h"
#include "../cluster/runstate.h"
#include "../observe/vtrack.h"

/* report.html of a run into f, from its state and views_path
 * (views.jsonl). 0, or -1 with err. */
int html_write(const struct run *r, const struct check_result *res, int n, const char *verdict,
               const char *error, const char *views_path, FILE *f, char *err, size_t el);

/* The timeline (htmlsvg.c): an <svg> element for the run, its views in vt. */
void html_svg(FILE *f, const struct run *r, const struct vtrack *vt);

/* <!DOCTYPE>, <head> with the title (escaped) and the style sheet, <body>. */
void html_page_start(FILE *f, const char *title, const char *css);

#endif
