/* scnnode: a scenario's node names (looking one up, listing them for a
 * message) and the bounded integer parser its loaders share; below the
 * scenario loader and the timeline, which both use them. */
#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int scn_parse_int(const char *s, long lo, long hi, int *v)
{
    char *end;
    long n;
    errno = 0;
    n = strtol(s, &end, 10);
    if (end == s || *end || errno == ERANGE || n < lo || n > hi)
        return -1;
    *v = (int)n;
    return 0;
}

/* "m1..m3, m1r1..m3r1": the node names, for messages. */
void scn_node_names(const struct scenario *s, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int r = 0; r <= s->replicas && n < len; r++) {
        const char *first = s->names[(size_t)r * (size_t)s->masters];
        const char *last = s->names[r * s->masters + s->masters - 1];
        if (s->masters == 1)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", r ? ", " : "", first);
        else
            n += (size_t)snprintf(buf + n, len - n, "%s%s..%s", r ? ", " : "", first, last);
    }
}

int scn_node(const struct scenario *s, const char *name)
{
    for (int i = 0; i < s->n_nodes; i++)
        if (!strcmp(s->names[i], name))
            return i;
    return -1;
}
