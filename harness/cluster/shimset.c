/* shimset: several rift-shims of one run (shimset.h). */
#include "shimset.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../policies/esc.h"
#include "../../proto/ctl.h"
#include "../observe/decode.h"
#include "../sys/proc.h"
#include "runstate.h"

int shimset_wait(pid_t pid, const char *sock, const char *log, char *err, size_t el)
{
    char why[512];
    for (int waited = 0; waited < 10000; waited += 20) {
        if (proc_reap(pid, NULL)) {
            FILE *lf = fopen(log, "r");
            char line[512] = "";
            if (lf) {
                if (!fgets(line, sizeof(line), lf))
                    line[0] = '\0';
                fclose(lf);
            }
            line[strcspn(line, "\n")] = '\0';
            snprintf(err, el, "rift-shim exited: %s", line);
            return -1;
        }
        char *reply = malloc(CTL_REPLY_MAX);
        int rc =
            reply ? ctl_request(sock, "stats", reply, CTL_REPLY_MAX, 10000, why, sizeof(why)) : -1;
        free(reply);
        if (rc == 0)
            return 0;
        run_sleep_ms(20);
    }
    snprintf(err, el, "rift-shim did not answer on %s within 10 s", sock);
    return -2;
}

char *shimset_combine(const char *group, char *const *stats, const char *const *names, int n)
{
    static const char *const keys[] = {
        "packets", "queue_full", "queue_overflows", "queue_user_dropped", "verdict_errors", NULL};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputc('{', f);
    for (int k = 0; keys[k]; k++) {
        uint64_t sum = 0;
        char pat[48];
        snprintf(pat, sizeof(pat), "\"%s\":", keys[k]);
        for (int h = 0; h < n; h++) {
            const char *p = stats[h] ? strstr(stats[h], pat) : NULL;
            if (p)
                sum += strtoull(p + strlen(pat), NULL, 10);
        }
        fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "", keys[k], sum);
    }
    fprintf(f, ",\"%s\":{", group);
    for (int h = 0, m = 0; h < n; h++)
        if (stats[h]) {
            fprintf(f, "%s", m++ ? "," : "");
            esc_json(f, names[h]);
            fputc(':', f);
            esc_json_embed(f, stats[h]); /* a shim's reply, maybe a remote host's */
        }
    fputs("}}", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* One capture decoded into path: the number of messages, or -1. */
static long decode_one(struct run *r, const struct shimset_bus *b, int k, int json,
                       const char *path)
{
    char err[300];
    FILE *f = fopen(path, "w");
    long n;
    if (!f)
        return -1;
    n = decode_pcap(b->pcaps[k], json, b->base[k], f, err, sizeof(err));
    if (fclose(f) != 0 && n >= 0)
        n = -1;
    if (n < 0)
        run_progress(r, "bus timeline of %s: %s", b->names[k], err);
    return n;
}

static double line_time(const char *l, int json)
{
    const char *t = json ? strstr(l, "\"t\":") : l;
    return t ? strtod(json ? t + 4 : t, NULL) : 0.0;
}

struct cursor {
    FILE *f;
    char *line; /* the capture's next line, or NULL at its end */
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

/* One output file (bus.txt or bus.jsonl) from the decoded captures, each
 * in time order already. */
static long merge(struct run *r, const struct shimset_bus *b, int json)
{
    struct cursor c[SHIMSET_MAX] = {0};
    char path[300], part[340];
    long total = 0;
    FILE *out;
    snprintf(path, sizeof(path), "%s/bus.%s", r->tmp, json ? "jsonl" : "txt");
    if (!(out = fopen(path, "w")))
        return -1;
    for (int k = 0; k < b->n; k++) {
        long n;
        snprintf(part, sizeof(part), "%s/bus-%s.part", r->tmp, b->names[k]);
        n = decode_one(r, b, k, json, part);
        total += n > 0 ? n : 0;
        c[k].f = n >= 0 ? fopen(part, "r") : NULL;
        unlink(part); /* read through the open file; nothing is left behind */
        advance(&c[k], json);
    }
    for (;;) {
        int best = -1;
        for (int k = 0; k < b->n; k++)
            if (c[k].line && (best < 0 || c[k].t < c[best].t))
                best = k;
        if (best < 0)
            break;
        fputs(c[best].line, out);
        advance(&c[best], json);
    }
    for (int k = 0; k < b->n; k++)
        if (c[k].f)
            fclose(c[k].f);
    return fclose(out) == 0 ? total : -1;
}

void shimset_decode_bus(struct run *r, const struct shimset_bus *b)
{
    for (int json = 0; json < 2; json++) {
        long total = merge(r, b, json);
        if (!json && total >= 0)
            run_progress(r, "bus timeline: %ld cluster-bus messages decoded from %d %s", total,
                         b->n, b->what);
    }
}
