/* rift-probe: the probe driver for rift's own cluster client (cclient).
 *   rift-probe --seeds HOST:PORT[,...] --source IP --duration S
 *              [--interval-ms N] [--keys N]
 * Same output as the other probes: a header line, then one JSON line per
 * operation (t_ms on CLOCK_MONOTONIC, key, slot, op, ok, kind, msg). On an
 * error it reloads its slot map before the next operation. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cluster/cclient.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A finite decimal number lo..hi, the whole string. */
static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;
    if ((*s < '0' || *s > '9') && *s != '.')
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (*end || errno || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "LO-HI" or "SLOT": slots 0-16383, lo <= hi. */
static int parse_range(const char *s, int *lo, int *hi)
{
    char first[16];
    const char *dash = strchr(s, '-');
    size_t n = dash ? (size_t)(dash - s) : strlen(s);
    if (n >= sizeof(first))
        return -1;
    memcpy(first, s, n);
    first[n] = '\0';
    if (cc_parse_int(first, 0, 16383, lo) < 0 ||
        cc_parse_int(dash ? dash + 1 : first, 0, 16383, hi) < 0)
        return -1;
    return *lo <= *hi ? 0 : -1;
}

static void json_msg(const char *s)
{
    putchar('"');
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s >= 0x20)
            putchar(*s);
    putchar('"');
}

/* The message for a bad value of --NAME (the current optarg); exit 2. */
static int bad_option(const char *name, const char *expected)
{
    fprintf(stderr, "rift-probe: --%s: expected %s, not \"%s\"\n", name, expected, optarg);
    return 2;
}

/* nkeys keys spread evenly over the 16384 slots, then 4 more in each LO-HI
 * range (the slots a scenario migrates). The count, or -1 after a message. */
static int make_keys(char keys[][48], int nkeys, char *ranges)
{
    int r = 0;
    for (int i = 0; i < nkeys; i++) {
        int lo = i * 16384 / nkeys, hi = (i + 1) * 16384 / nkeys - 1;
        for (int t = 0;; t++) {
            snprintf(keys[i], 48, "rift:probe:c:{%d-%d}", i, t);
            int s = ks_slot(keys[i], strlen(keys[i]));
            if (s >= lo && s <= hi)
                break;
        }
    }
    for (char *save = NULL, *t = strtok_r(ranges, ",", &save); t;
         t = strtok_r(NULL, ",", &save), r++) {
        int lo, hi;
        if (parse_range(t, &lo, &hi) < 0) {
            fprintf(stderr,
                    "rift-probe: --ranges: expected LO-HI slot ranges (0-16383, LO <= "
                    "HI), not \"%s\"\n",
                    t);
            return -1;
        }
        if (nkeys >= 252)
            continue; /* no room for more keys; later ranges are still checked */
        for (int n = 0, k = 0; n < 4 && k < 10000000; k++) {
            snprintf(keys[nkeys], 48, "rift:probe:c:r%d:{%d}", r, k);
            int s = ks_slot(keys[nkeys], strlen(keys[nkeys]));
            if (s >= lo && s <= hi) {
                nkeys++;
                n++;
            }
        }
    }
    return nkeys;
}

/* SET then GET on each key in turn until the time is up, one JSON line
 * per operation; the slot map is reloaded after every error. */
static void run_probe(struct cclient *cc, char keys[][48], int nkeys, double duration,
                      double interval)
{
    uint64_t end;
    bool need_refresh = true;
    printf("{\"probe\":\"rift\",\"version\":\"cclient\",\"options\":{\"refresh\":\"on every "
           "error\",\"timeout_ms\":1000}}\n");
    fflush(stdout);
    end = mono_ms() + (uint64_t)(duration * 1000);
    for (int i = 0; mono_ms() < end; i++) {
        const char *key = keys[i % nkeys];
        for (int op = 0; op < 2; op++) {
            const char *set[] = {"SET", key, "v"}, *get[] = {"GET", key};
            enum cc_err kind;
            redisReply *r;
            uint64_t t = mono_ms();
            if (need_refresh) {
                cc_refresh(cc);
                need_refresh = false;
            }
            r = op == 0 ? cc_command(cc, key, 3, set, &kind) : cc_command(cc, key, 2, get, &kind);
            printf("{\"t_ms\":%llu,\"key\":\"%s\",\"slot\":%u,\"op\":\"%s\",\"ok\":%s,"
                   "\"kind\":\"%s\",\"msg\":",
                   (unsigned long long)t, key, ks_slot(key, strlen(key)), op ? "get" : "set",
                   r ? "true" : "false", cc_err_name(r ? CC_OK : kind));
            json_msg(r ? "" : cc->last_error);
            puts("}");
            if (r)
                freeReplyObject(r);
            else
                need_refresh = true;
        }
        fflush(stdout);
        struct timespec ts = {0, (long)(interval * 1e6)};
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"seeds", required_argument, NULL, 's'},
                                         {"source", required_argument, NULL, 'S'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"interval-ms", required_argument, NULL, 'i'},
                                         {"keys", required_argument, NULL, 'k'},
                                         {"ranges", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    char seeds[2048] = "", source[64] = "", ranges[512] = "", keys[256][48];
    double duration = 0, interval = 10;
    int nkeys = 32, c;
    struct cclient cc;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            snprintf(seeds, sizeof(seeds), "%s", optarg);
            break;
        case 'S':
            snprintf(source, sizeof(source), "%s", optarg);
            break;
        case 'd':
            if (parse_double(optarg, 0, 604800, &duration) < 0 || duration <= 0)
                return bad_option("duration", "seconds, more than 0 and at most 604800");
            break;
        case 'i':
            /* below a second: the sleep is one struct timespec's tv_nsec */
            if (parse_double(optarg, 0, 999, &interval) < 0)
                return bad_option("interval-ms", "milliseconds, 0 to 999");
            break;
        case 'k':
            if (cc_parse_int(optarg, 1, 256, &nkeys) < 0)
                return bad_option("keys", "a number of keys, 1 to 256");
            break;
        case 'r':
            snprintf(ranges, sizeof(ranges), "%s", optarg);
            break;
        default:
            fprintf(stderr, "usage: rift-probe --seeds H:P[,..] --source IP --duration S\n");
            return 2;
        }
    }
    if (!seeds[0] || !source[0] || duration <= 0 || nkeys < 1 || nkeys > 256) {
        fprintf(stderr, "usage: rift-probe --seeds H:P[,..] --source IP --duration S\n");
        return 2;
    }
    /* from the environment, not argv: /proc/PID/cmdline is anyone's to read */
    cc_init(&cc, source, 1000, getenv("RIFT_PASSWORD"));
    for (char *save = NULL, *t = strtok_r(seeds, ",", &save); t; t = strtok_r(NULL, ",", &save))
        cc_add_seed(&cc, t);
    if ((nkeys = make_keys(keys, nkeys, ranges)) < 0)
        return 2;
    run_probe(&cc, keys, nkeys, duration, interval);
    cc_close(&cc);
    return 0;
}
