/* rift: the cluster fault-injection harness.
 *   rift run SCENARIO.ini [--seed N] [--report DIR] [--server redis|PATH]
 *   rift cleanup */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "matrix.h"
#include "proc.h"
#include "run.h"

/* A decimal number 0..max: digits only (no sign, space or suffix). */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end || errno || v > max)
        return -1;
    *out = v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rift run SCENARIO.ini [--seed N] [--report DIR] "
               "[--server redis|redis8|valkey|PATH]\n"
               "       rift matrix SCENARIO.ini --servers redis,redis8,valkey [--runs N] "
               "[--report DIR]\n"
               "       rift decode FILE.pcap [--json]\n"
               "       rift cleanup\n"
               "Exit status of run: 0 every check holds, 1 a check failed, 2 rift failed,\n"
               "130 interrupted. See README.md for the scenario format.\n");
}

static int cmd_cleanup(void)
{
    int runs;
    if (geteuid() != 0) {
        fprintf(stderr, "rift cleanup: needs root\n");
        return 2;
    }
    runs = reg_cleanup_all();
    printf("rift cleanup: %d run%s cleaned\n", runs, runs == 1 ? "" : "s");
    return 0;
}

static int cmd_matrix(int argc, char **argv, const char *self)
{
    static const struct option mopts[] = {
        {"servers", required_argument, NULL, 'S'},
        {"runs", required_argument, NULL, 'n'},
        {"report", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *servers = "redis,redis8,valkey", *report = NULL;
    unsigned long long v;
    int runs = 1, c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "S:n:r:", mopts, NULL)) != -1) {
        if (c == 'S') {
            servers = optarg;
        } else if (c == 'n') {
            if (parse_uint(optarg, 1000, &v) < 0 || v < 1) {
                fprintf(stderr,
                        "rift matrix: --runs: expected a positive number of runs, "
                        "not \"%s\"\n",
                        optarg);
                return 2;
            }
            runs = (int)v;
        } else if (c == 'r') {
            report = optarg;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    return matrix_main(self, argv[optind], servers, runs, report);
}

static int cmd_decode(int argc, char **argv)
{
    char err[512];
    bool json = argc == 4 && !strcmp(argv[3], "--json");
    long n;
    if (argc < 3 || (argc == 4 && !json) || argc > 4) {
        usage(stderr);
        return 2;
    }
    n = decode_pcap(argv[2], json, 0, stdout, err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "rift decode: %s\n", err);
        return 2;
    }
    fprintf(stderr, "rift decode: %ld cluster-bus messages\n", n);
    return 0;
}

static int cmd_run(int argc, char **argv, char *self)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},
        {"report", required_argument, NULL, 'r'},
        {"server", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct run_opts o = {0};
    unsigned long long v;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "s:r:S:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (parse_uint(optarg, UINT64_MAX, &v) < 0) {
                fprintf(stderr, "rift: --seed: expected an unsigned integer, not \"%s\"\n", optarg);
                return 2;
            }
            o.seed = v;
            o.seed_given = true;
            break;
        case 'r':
            o.report_dir = optarg;
            break;
        case 'S':
            o.server = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    o.scenario_file = argv[optind];
    o.self_dir = dirname(self);
    return run_scenario(&o);
}

int main(int argc, char **argv)
{
    char self[PATH_MAX];
    ssize_t n;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "cleanup"))
        return cmd_cleanup();
    if (!strcmp(argv[1], "decode"))
        return cmd_decode(argc, argv);
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0) {
        fprintf(stderr, "rift: cannot find my own binary: %s\n", strerror(errno));
        return 2;
    }
    self[n] = '\0';
    if (!strcmp(argv[1], "matrix"))
        return cmd_matrix(argc, argv, self);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc, argv, self);
    usage(stderr);
    return 2;
}
