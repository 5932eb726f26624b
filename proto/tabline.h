/* tabline: the line protocol of `rift-shim agent serve` (shim/agent.c) and
 * of its client (harness/hosts/remote.c): fields separated by tabs, one message
 * per line, with backslash, tab and newline escaped as \\, \t and \n. */
#ifndef RIFT_TABLINE_H
#define RIFT_TABLINE_H

#include <stddef.h>
#include <stdio.h>

/* s[0..len) as one escaped field. */
void tl_put(FILE *f, const char *s, size_t len);
/* Split line (up to its newline) into unescaped fields, in place: w gets
 * up to max pointers. The number of fields, or -1 when there are more. */
int tl_split(char *line, char **w, int max);

#endif
