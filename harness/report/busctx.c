/* busctx: the bus messages an observer got just before a finding, from
 * the run's bus timeline (bus.txt). */
#include "busctx.h"

#include <stdlib.h>
#include <string.h>

#include "../../proto/pkt.h"

/* Bus messages to the observer in the second before a finding's first
 * sample: what it had just heard. */
void report_bus_context(const struct run *r, FILE *out, const char *observer, int64_t first_ms,
                        int indent)
{
    char path[300], line[512], to[40], keep[6][512];
    int node = scn_node(r->scn, observer), n = 0;
    FILE *f;
    if (node < 0)
        return;
    snprintf(path, sizeof(path), "%s/bus.txt", r->tmp);
    if (!(f = fopen(path, "r")))
        return;
    pkt_addr(scn_node_ip(r->scn, node), to, sizeof(to));
    strcat(to, ":");
    while (fgets(line, sizeof(line), f)) {
        char *end;
        double t = strtod(line, &end);
        const char *gt = strstr(line, " > ");
        if (end == line || *end != ' ')
            continue; /* not a message line */
        if (t * 1000 < (double)(first_ms - 1000) || t * 1000 > (double)first_ms)
            continue;
        if (!gt || strncmp(gt + 3, to, strlen(to)) != 0)
            continue;
        memmove(keep[0], keep[1], sizeof(keep[0]) * 5);
        snprintf(keep[5], sizeof(keep[5]), "%s", line);
        n++;
    }
    fclose(f);
    if (!n)
        return;
    fprintf(out,
            "%*sbus messages to %s in the second before (last %d; times are when the "
            "shim got them, held ones arrived later):\n",
            indent, "", observer, n < 6 ? n : 6);
    for (int i = n < 6 ? 6 - n : 0; i < 6; i++)
        fprintf(out, "%*s%s", indent + 1, "", keep[i]);
}
