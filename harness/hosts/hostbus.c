/* hostbus: the bus timeline of a run over hosts: each host's capture
 * decoded on the harness's clock into a file of its own, then the files
 * merged by time a line at a time, so that memory does not grow with the
 * captures. */
#include "hostrun.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cluster/runstate.h"
#include "../observe/decode.h"

/* Host h's capture decoded into path: the number of messages, or -1. */
static long decode_host(struct run *r, int h, int json, const char *path)
{
    char pcap[340], err[300];
    double base = r->t_ready_real + (double)r->hr->offset_ns[h][0] / 1e9;
    FILE *f = fopen(path, "w");
    long n;
    if (!f)
        return -1;
    snprintf(pcap, sizeof(pcap), "%s/shim-%s.pcap", r->tmp, r->hr->hs.h[h].name);
    n = decode_pcap(pcap, json, base, f, err, sizeof(err));
    if (fclose(f) != 0 && n >= 0)
        n = -1;
    if (n < 0)
        run_progress(r, "bus timeline of %s: %s", r->hr->hs.h[h].name, err);
    return n;
}

static double line_time(const char *l, int json)
{
    const char *t = json ? strstr(l, "\"t\":") : l;
    return t ? strtod(json ? t + 4 : t, NULL) : 0.0;
}

struct cursor {
    FILE *f;
    char *line; /* the host's next line, or NULL at its end */
    size_t cap;
    double t;
};

static void advance(struct cursor *c, int json)
{
    if (c->f && getline(&c->line, &c->cap, c->f) > 0) {
        c->t = line_time(c->line, json);
        return;
    }
    free(c->line);
    c->line = NULL;
}

/* One output file (bus.txt or bus.jsonl) from the hosts' decoded files,
 * each in time order already. */
static long merge(struct run *r, int json)
{
    struct hostrun *hr = r->hr;
    struct cursor c[HOSTS_MAX] = {0};
    char path[300], part[340];
    long total = 0;
    FILE *out;
    snprintf(path, sizeof(path), "%s/bus.%s", r->tmp, json ? "jsonl" : "txt");
    if (!(out = fopen(path, "w")))
        return -1;
    for (int h = 0; h < hr->hs.n; h++) {
        long n;
        snprintf(part, sizeof(part), "%s/bus-%s.part", r->tmp, hr->hs.h[h].name);
        n = decode_host(r, h, json, part);
        total += n > 0 ? n : 0;
        c[h].f = n >= 0 ? fopen(part, "r") : NULL;
        unlink(part); /* read through the open file; nothing is left behind */
        advance(&c[h], json);
    }
    for (;;) {
        int best = -1;
        for (int h = 0; h < hr->hs.n; h++)
            if (c[h].line && (best < 0 || c[h].t < c[best].t))
                best = h;
        if (best < 0)
            break;
        fputs(c[best].line, out);
        advance(&c[best], json);
    }
    for (int h = 0; h < hr->hs.n; h++)
        if (c[h].f)
            fclose(c[h].f);
    return fclose(out) == 0 ? total : -1;
}

void hr_decode_bus(struct run *r)
{
    for (int json = 0; json < 2; json++) {
        long total = merge(r, json);
        if (!json && total >= 0)
            run_progress(r, "bus timeline: %ld cluster-bus messages decoded from %d hosts", total,
                         r->hr->hs.n);
    }
}
