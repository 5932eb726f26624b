/* rift: the cluster fault-injection harness.
 *   rift run SCENARIO.ini [--seed N] [--report DIR] [--server redis|PATH] [-- CMD...]
 *   rift chaos SPEC.ini [--seed N] [--time D | --rounds N] [--server S] [--report DIR]
 *   rift shrink SCENARIO.ini [--runs N] [--check NAME] [--out FILE]
 *   rift audit FILE.pcap [--json] [--server S | --commands FILE] [--port N]
 *   rift cleanup */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "version.h" /* RIFT_VERSION, RIFT_COMMIT: made by the Makefile */

#include "../../policies/esc.h"
#include "../cluster/cmdtab.h"
#include "../explore/chaos.h"
#include "../explore/chaosgen.h"
#include "../explore/replay.h"
#include "../hosts/hostrun.h"
#include "../observe/audit.h"
#include "../observe/decode.h"
#include "../run/live.h"
#include "../run/run.h"
#include "../sys/home.h"
#include "../sys/proc.h"
#include "fetch.h"
#include "matrix.h"
#include "up.h"

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

static void usage(FILE *f);

/* --seed N: 0, or -1 after saying what is wrong. */
static int opt_seed(const char *cmd, const char *v, uint64_t *seed, bool *given)
{
    unsigned long long n;
    if (parse_uint(v, UINT64_MAX, &n) < 0) {
        fprintf(stderr, "%s: --seed: expected an unsigned integer, not \"%s\"\n", cmd, v);
        return -1;
    }
    *seed = n;
    *given = true;
    return 0;
}

/* The one operand after the options, or NULL after the usage. */
static const char *operand(int argc, char **argv)
{
    if (optind != argc - 1) {
        usage(stderr);
        return NULL;
    }
    return argv[optind];
}

/* The options several commands spell alike, as pointers to the fields of
 * the command's own options (NULL: the command has no such option). */
struct common_opts {
    const char *cmd; /* "chaos": errors say "rift chaos: ..." */
    uint64_t *seed;  /* -s --seed */
    bool *seed_given;
    const char **server; /* -S --server */
    const char **report; /* -r --report */
    uint64_t *shrink_ns; /* -k --shrink-time */
    int *runs;           /* -R --runs */
};

static int opt_duration(const char *cmd, const char *opt, const char *v, uint64_t *ns);
static int opt_count(const char *cmd, const char *opt, const char *v, unsigned long long max,
                     int *out);

/* 1: c is one of the common options and its value is stored; else the
 * command's exit status, 2, after the usage or what is wrong. */
static int common_opt(const struct common_opts *co, int c, const char *v)
{
    char who[32];
    snprintf(who, sizeof(who), "rift %s", co->cmd);
    if (c == 's' && co->seed)
        return opt_seed(who, v, co->seed, co->seed_given) < 0 ? 2 : 1;
    if (c == 'S' && co->server)
        return *co->server = v, 1;
    if (c == 'r' && co->report)
        return *co->report = v, 1;
    if (c == 'k' && co->shrink_ns)
        return opt_duration(co->cmd, "--shrink-time", v, co->shrink_ns) < 0 ? 2 : 1;
    if (c == 'R' && co->runs)
        return opt_count(co->cmd, "--runs", v, 99, co->runs) < 0 ? 2 : 1;
    usage(stderr);
    return 2;
}

/* Each command's synopsis (continuation lines indented for "usage: ")
 * and the manual pages that document it. */
static const struct {
    const char *cmd, *synopsis, *pages;
} synopses[] = {
    {"run",
     "rift run SCENARIO.ini [--seed N] [--report DIR] [--server redis|redis8|valkey|PATH]\n"
     "                 [--hosts HOSTS.ini | --attach HOST:PORT[,...]] [-- CMD ARGS...]",
     "rift(1), rift-scenario(5)"},
    {"up",
     "rift up SCENARIO.ini [--seed N] [--report DIR] [--server S] [--hosts HOSTS.ini]\n"
     "                 [--attach HOST:PORT[,...]] [--grace 30s] [--ttl D] [--log FILE]",
     "rift(1), rift-scenario(5)"},
    {"ctl", "rift ctl SOCKET REQUEST...   (failover NODE, kill NODE, fault NAME on, checks, ...)",
     "rift(1)"},
    {"down", "rift down SOCKET", "rift(1)"},
    {"matrix", "rift matrix SCENARIO.ini --servers redis,redis8,valkey [--runs N] [--report DIR]",
     "rift(1)"},
    {"chaos",
     "rift chaos SPEC.ini [--seed N] [--time 10m | --rounds N] [--server S]\n"
     "                  [--report DIR] [--shrink-time 5m] [--runs 3] [--findings N]\n"
     "                  [--keep-findings 10] [--keep-rounds]\n"
     "                  [--dry-run]",
     "rift-chaos(5)"},
    {"shrink",
     "rift shrink SCENARIO.ini [--runs 3] [--check NAME] [--out FILE]\n"
     "                  [--shrink-time 5m] [--final 5] [--server S]",
     "rift-chaos(5)"},
    {"decode", "rift decode FILE.pcap [--json]", "rift(1)"},
    {"audit", "rift audit FILE.pcap [--json] [--server S | --commands FILE] [--port N]...",
     "rift(1)"},
    {"check", "rift check [--chaos | --hosts] FILE.ini",
     "rift-scenario(5), rift-chaos(5), rift(1)"},
    {"cleanup", "rift cleanup [--hosts HOSTS.ini]", "rift(1)"},
    {"fetch",
     "rift fetch NAME... [--force] | --list   (NAME: valkey@sid, redis8, valkey-1912, "
     "clients, ...)",
     "rift(1)"},
};

static void usage(FILE *f)
{
    for (size_t i = 0; i < sizeof(synopses) / sizeof(synopses[0]); i++)
        fprintf(f, "%s%s\n", i ? "       " : "usage: ", synopses[i].synopsis);
    fprintf(f, "       rift --version\n"
               "Exit status of run: 0 every check holds, 1 a check failed, 2 rift failed,\n"
               "130 interrupted; of chaos: 0 no finding, 1 a finding, 2 rift failed;\n"
               "of audit: 0 nothing a cluster refuses, 1 something, 2 rift failed.\n"
               "Manual: man rift, rift-scenario(5), rift-chaos(5), rift-policy(5), rift-shim(8)\n"
               "(installed by the package and make install), or docs/ in the source tree.\n");
}

/* `rift CMD --help`: its synopsis and its manual pages, exit 0. */
static int cmd_help(const char *cmd)
{
    for (size_t i = 0; i < sizeof(synopses) / sizeof(synopses[0]); i++)
        if (!strcmp(cmd, synopses[i].cmd)) {
            printf("usage: %s\nManual: %s (docs/ in the source tree)\n", synopses[i].synopsis,
                   synopses[i].pages);
            return 0;
        }
    usage(stdout);
    return 0;
}

static int cmd_cleanup(int argc, char **argv)
{
    static struct hosts hs;
    int runs, kept = 0;
    char err[600];
    if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "--hosts"))) {
        fprintf(stderr, "usage: rift cleanup [--hosts HOSTS.ini]\n");
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "rift cleanup: needs root\n");
        return 2;
    }
    if (argc == 4 && hosts_load(&hs, argv[3], err, sizeof(err)) < 0) {
        fprintf(stderr, "rift cleanup: %s\n", err);
        return 2;
    }
    runs = reg_cleanup_all(argc == 4 ? hr_cleanup_remote : NULL, &hs, &kept);
    printf("rift cleanup: %d run%s cleaned", runs, runs == 1 ? "" : "s");
    if (kept)
        printf(", %d kept: what they left on other hosts is still there", kept);
    putchar('\n');
    return kept ? 2 : 0;
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
    int runs = 1, c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "S:n:r:", mopts, NULL)) != -1) {
        if (c == 'S') {
            servers = optarg;
        } else if (c == 'n') {
            if (opt_count("matrix", "--runs", optarg, MATRIX_MAX_RUNS, &runs) < 0)
                return 2;
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

/* rift audit FILE.pcap: what a cluster would refuse of the traffic in a
 * capture, with the command table of --commands FILE or of --server. */
static int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},           {"server", required_argument, NULL, 'S'},
        {"commands", required_argument, NULL, 'c'}, {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    struct au_opts ao = {0};
    const char *server = "redis", *commands = NULL, *file;
    bool json = false;
    char err[600], version[96] = "";
    unsigned long long port;
    struct ks_table tab;
    struct audit a;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "jS:c:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = true;
            break;
        case 'S':
            server = optarg;
            break;
        case 'c':
            commands = optarg;
            break;
        case 'p':
            if (parse_uint(optarg, 65535, &port) < 0 || !port || ao.nports >= AU_MAX_PORTS) {
                fprintf(stderr,
                        "rift audit: --port: expected a port 1-65535 (at most %d), not \"%s\"\n",
                        AU_MAX_PORTS, optarg);
                return 2;
            }
            ao.ports[ao.nports++] = (uint16_t)port;
            break;
        case 'h':
            return cmd_help("audit");
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!(file = operand(argc, argv)))
        return 2;
    if (access(file, R_OK) != 0) {
        fprintf(stderr, "rift audit: %s: %s\n", file, strerror(errno));
        return 2;
    }
    if (commands ? cmdtab_file(commands, &tab, err, sizeof(err))
                 : cmdtab_server(server, &tab, version, sizeof(version), err, sizeof(err))) {
        fprintf(stderr, "rift audit: %s\n", err);
        return 2;
    }
    fprintf(stderr, "rift audit: %s with the key specs of %s (%d commands)\n", file,
            commands ? commands : version, tab.n);
    if (au_init(&a, &tab, &ao) < 0 || au_read_pcap(&a, file, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift audit: %s\n", a.f ? err : "out of memory");
        au_free(&a);
        ks_free(&tab);
        return 2;
    }
    if (json) {
        printf("{\"file\":");
        esc_json(stdout, file);
        printf(",\"commands_from\":");
        esc_json(stdout, commands ? commands : version);
        au_json(&a, stdout);
        printf(",\"frames\":%llu}\n", (unsigned long long)a.tf.st.frames);
    } else {
        au_table(&a, stdout);
    }
    c = a.nf ? 1 : 0;
    if (a.tf.st.truncated) /* bytes the audit never saw: it cannot vouch for them */
        fprintf(stderr,
                "rift audit: %llu frames were cut short by the capture's snapshot length: the "
                "audit is incomplete (capture with tcpdump -s 0)\n",
                (unsigned long long)a.tf.st.truncated);
    else if (au_unread(&a))
        fprintf(stderr, "rift audit: the audit is incomplete: %llu holes or undecodable streams\n",
                (unsigned long long)au_unread(&a));
    if (!a.nf && (a.tf.st.truncated || au_unread(&a)))
        c = 2; /* what was found stands; an absence cannot be vouched for */
    au_free(&a);
    ks_free(&tab);
    return c;
}

/* rift up's defaults: down after 30 s without a client, no ttl */
static struct live_opts up_opts = {.grace_ns = 30000000000ull, .ready_fd = -1};

/* rift run, and rift up (lo: its live options): the same options, up's
 * own three besides, and the program after "--" for run. */
static int cmd_run(int argc, char **argv, struct live_opts *lo)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},   {"report", required_argument, NULL, 'r'},
        {"server", required_argument, NULL, 'S'}, {"hosts", required_argument, NULL, 'H'},
        {"attach", required_argument, NULL, 'A'}, {"grace", required_argument, NULL, 'g'},
        {"ttl", required_argument, NULL, 't'},    {"log", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *cmd = lo ? "up" : "run";
    struct run_opts o = {0};
    const struct common_opts co = {.cmd = cmd,
                                   .seed = &o.seed,
                                   .seed_given = &o.seed_given,
                                   .server = &o.server,
                                   .report = &o.report_dir};
    int c;
    /* rift run SCN [options] -- CMD ARGS...: the application's command */
    for (int k = 2; !lo && k < argc; k++)
        if (!strcmp(argv[k], "--")) {
            o.app_argv = argv + k + 1;
            o.app_argc = argc - k - 1;
            argc = k;
            if (!o.app_argc) {
                fprintf(stderr, "rift run: -- must be followed by a command\n");
                return 2;
            }
            break;
        }
    optind = 2;
    while ((c = getopt_long(argc, argv, "s:r:S:H:A:g:t:l:h", opts, NULL)) != -1) {
        if (c == 'H') {
            o.hosts_file = optarg;
        } else if (c == 'A') {
            o.attach = optarg;
        } else if (c == 'h') {
            return cmd_help(cmd);
        } else if ((c == 'g' || c == 't' || c == 'l') && !lo) {
            usage(stderr);
            return 2;
        } else if (c == 'g' || c == 't') {
            if (opt_duration(cmd, c == 'g' ? "--grace" : "--ttl", optarg,
                             c == 'g' ? &lo->grace_ns : &lo->ttl_ns) < 0)
                return 2;
        } else if (c == 'l') {
            lo->log = optarg;
        } else if ((c = common_opt(&co, c, optarg)) != 1) {
            return c;
        }
    }
    if (!(o.scenario_file = operand(argc, argv)))
        return 2;
    return lo ? up_main(&o, lo) : run_scenario(&o);
}

static int opt_duration(const char *cmd, const char *opt, const char *v, uint64_t *ns)
{
    if (pol_parse_duration(v, ns) < 0) {
        fprintf(stderr, "rift %s: %s: expected a duration such as 90s, 10m or 2h, not \"%s\"\n",
                cmd, opt, v);
        return -1;
    }
    return 0;
}

static int opt_count(const char *cmd, const char *opt, const char *v, unsigned long long max,
                     int *out)
{
    unsigned long long n;
    if (parse_uint(v, max, &n) < 0 || n < 1) {
        fprintf(stderr, "rift %s: %s: expected a number from 1 to %llu, not \"%s\"\n", cmd, opt,
                max, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int cmd_chaos(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},     {"time", required_argument, NULL, 't'},
        {"rounds", required_argument, NULL, 'n'},   {"server", required_argument, NULL, 'S'},
        {"report", required_argument, NULL, 'r'},   {"shrink-time", required_argument, NULL, 'k'},
        {"runs", required_argument, NULL, 'R'},     {"dry-run", no_argument, NULL, 'd'},
        {"findings", required_argument, NULL, 'f'}, {"keep-findings", required_argument, NULL, 'K'},
        {"keep-rounds", no_argument, NULL, 'P'},    {NULL, 0, NULL, 0},
    };
    struct chaos_opts o = {.time_ns = 600000000000ull,
                           .shrink_ns = 300000000000ull,
                           .runs = 3,
                           .keep_findings = CHAOS_KEEP_FINDINGS};
    const struct common_opts co = {.cmd = "chaos",
                                   .seed = &o.seed,
                                   .seed_given = &o.seed_given,
                                   .server = &o.server,
                                   .report = &o.report_dir,
                                   .shrink_ns = &o.shrink_ns,
                                   .runs = &o.runs};
    bool timed = false;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "s:t:n:S:r:k:R:df:K:P", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (opt_duration("chaos", "--time", optarg, &o.time_ns) < 0)
                return 2;
            timed = true;
            break;
        case 'n':
            if (opt_count("chaos", "--rounds", optarg, 100000, &o.rounds) < 0)
                return 2;
            break;
        case 'd':
            o.dry_run = true;
            break;
        case 'f':
            if (opt_count("chaos", "--findings", optarg, 100000, &o.max_findings) < 0)
                return 2;
            break;
        case 'K': {
            unsigned long long n; /* 0: every finding keeps only what replays it */
            if (parse_uint(optarg, 100000, &n) < 0) {
                fprintf(stderr,
                        "rift chaos: --keep-findings: expected a number from 0 to 100000, "
                        "not \"%s\"\n",
                        optarg);
                return 2;
            }
            o.keep_findings = (int)n;
            break;
        }
        case 'P':
            o.keep_rounds = true;
            break;
        default:
            if ((c = common_opt(&co, c, optarg)) != 1)
                return c;
        }
    }
    if (!(o.spec = operand(argc, argv)))
        return 2;
    if (timed && o.rounds) {
        fprintf(stderr, "rift chaos: give --time or --rounds, not both\n");
        return 2;
    }
    if (!o.rounds && !o.time_ns) {
        fprintf(stderr, "rift chaos: --time: give a duration greater than 0\n");
        return 2;
    }
    return chaos_main(&o);
}

static int cmd_shrink(int argc, char **argv)
{
    static const struct option opts[] = {
        {"runs", required_argument, NULL, 'R'},
        {"check", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"shrink-time", required_argument, NULL, 'k'},
        {"server", required_argument, NULL, 'S'},
        {"final", required_argument, NULL, 'F'},
        {NULL, 0, NULL, 0},
    };
    struct shrink_cli o = {.runs = 3, .final = REPLAY_FINAL_RUNS, .shrink_ns = 300000000000ull};
    const struct common_opts co = {
        .cmd = "shrink", .server = &o.server, .shrink_ns = &o.shrink_ns, .runs = &o.runs};
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "R:c:o:k:S:F:", opts, NULL)) != -1) {
        if (c == 'F') {
            if (opt_count("shrink", "--final", optarg, 99, &o.final) < 0)
                return 2;
        } else if (c == 'c') {
            if (replay_check_index(optarg) < 0) {
                char names[128];
                replay_names(~0u, names, sizeof(names));
                fprintf(stderr, "rift shrink: --check: expected one of %s, not \"%s\"\n", names,
                        optarg);
                return 2;
            }
            o.check = optarg;
        } else if (c == 'o') {
            o.out = optarg;
        } else if ((c = common_opt(&co, c, optarg)) != 1) {
            return c;
        }
    }
    if (!(o.scenario = operand(argc, argv)))
        return 2;
    return shrink_main(&o);
}

/* rift check [--chaos] FILE.ini | rift check --hosts HOSTS.ini: load a
 * scenario, a chaos SPEC or a hosts file as a run would, start nothing,
 * and say what it holds (0) or what is wrong with it, with file:line (2). */
static int cmd_check(int argc, char **argv)
{
    static struct scenario scn;
    static struct hosts hs;
    struct chaos_spec cs;
    char err[768], *text = NULL;
    const char *kind = argc == 4 ? argv[2] : "";
    const char *file = argv[argc - 1];
    if ((argc != 3 && argc != 4) ||
        (argc == 4 && strcmp(kind, "--chaos") != 0 && strcmp(kind, "--hosts") != 0)) {
        fprintf(stderr, "usage: rift check [--chaos | --hosts] FILE.ini\n");
        return 2;
    }
    if (!strcmp(kind, "--hosts")) {
        if (hosts_load(&hs, file, err, sizeof(err)) < 0)
            return fprintf(stderr, "%s\n", err), 2;
        printf("%s: a hosts file of %d host%s\n", file, hs.n, hs.n == 1 ? "" : "s");
        return 0;
    }
    if (!strcmp(kind, "--chaos") ? chaos_load(&cs, &scn, file, file, NULL, &text, err, sizeof(err))
                                 : scn_load(&scn, file, err, sizeof(err)))
        return fprintf(stderr, "%s\n", err), 2;
    free(text);
    printf("%s: a %s of %d nodes (%d primar%s, %d replica%s each), %d fault%s, %d step%s\n", file,
           *kind ? "chaos SPEC" : "scenario", scn.n_nodes, scn.masters,
           scn.masters == 1 ? "y" : "ies", scn.replicas, scn.replicas == 1 ? "" : "s",
           scn.faults.n_rules, scn.faults.n_rules == 1 ? "" : "s", scn.n_steps,
           scn.n_steps == 1 ? "" : "s");
    return 0;
}

int main(int argc, char **argv)
{
    char self[PATH_MAX], err[HOME_PATH_MAX + 128];
    ssize_t n;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (argc >= 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help")))
        return cmd_help(argv[1]);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("rift %s (commit %s)\n", RIFT_VERSION, RIFT_COMMIT);
        return 0;
    }
    if (!strcmp(argv[1], "cleanup"))
        return cmd_cleanup(argc, argv);
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc, argv);
    if (!strcmp(argv[1], "decode"))
        return cmd_decode(argc, argv);
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0) {
        fprintf(stderr, "rift: cannot find my own binary: %s\n", strerror(errno));
        return 2;
    }
    self[n] = '\0';
    if (home_init(self, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift: %s\n", err);
        return 2;
    }
    if (!strcmp(argv[1], "fetch"))
        return fetch_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "ctl") || !strcmp(argv[1], "down"))
        return ctl_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "up"))
        return cmd_run(argc, argv, &up_opts);
    if (!strcmp(argv[1], "matrix"))
        return cmd_matrix(argc, argv, self);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc, argv, NULL);
    if (!strcmp(argv[1], "chaos"))
        return cmd_chaos(argc, argv);
    if (!strcmp(argv[1], "shrink"))
        return cmd_shrink(argc, argv);
    if (!strcmp(argv[1], "audit"))
        return cmd_audit(argc, argv);
    usage(stderr);
    return 2;
}
