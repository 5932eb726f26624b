/* rift-shim: applies a policy's rules to packets queued by NFQUEUE. main
 * reads the command line and the policy, sets the daemon up, runs the event
 * loop (loop.c) and tears everything down again. */
#include "agent.h"
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../proto/pstat.h"
#include "ipt.h"

static struct shim S; /* the daemon's one context */

struct opts {
    const char *policy_file;
    bool check_only, cleanup, seed_given;
    uint64_t seed;
    int queue;         /* --queue for --cleanup, -1: every rift chain */
    const char *owner; /* --owner for --cleanup, NULL: any */
};

/* Remove every jump to our chain and the chain itself, whatever jobs were
 * still pending: ours only, by name. */
static int teardown_ipt(struct shim *s)
{
    char err[512];
    if (!s->use_ipt || !s->chain[0])
        return 0;
    if (ipt_remove_chain(s->chain, err, sizeof(err)) < 0) {
        fprintf(stderr, "rift-shim: removing chain %s: %s\n", s->chain, err);
        return -1;
    }
    return 0;
}

static int build_patterns(const struct policy *p, int ri, struct rule_rt *rt)
{
    size_t cap = 64;
    int n;
    for (;;) {
        struct match_pat *np = realloc(rt->pats, cap * sizeof(*np));
        if (!np)
            return -1;
        rt->pats = np;
        n = match_patterns(p, &p->rules[ri], rt->pats, cap);
        if (n >= 0)
            break;
        cap *= 4;
    }
    rt->npats = n;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rift-shim --policy FILE.ini [--seed N] [--check]\n"
            "       rift-shim --cleanup [--queue N] [--owner NAME]\n"
            "       rift-shim ctl SOCKET on RULE | off RULE | set RULE KEY VALUE | stats |"
            " release | quit\n"
            "Runs as root. The policy format: man rift-policy (docs/policy.md in the source).\n");
}

/* An unsigned decimal (hex with 0x for seeds) that starts with a digit:
 * strtoull alone takes "", " 5" and "-1". */
static int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, base);
    if (*end || errno || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* 0 to go on, else the exit status (after printing why). */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option opts[] = {{"policy", required_argument, NULL, 'p'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"check", no_argument, NULL, 'c'},
                                         {"cleanup", no_argument, NULL, 'C'},
                                         {"queue", required_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"owner", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    uint64_t v;
    int c;
    memset(o, 0, sizeof(*o));
    o->queue = -1;
    while ((c = getopt_long(argc, argv, "p:s:cCq:hVo:", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->policy_file = optarg;
            break;
        case 's':
            if (parse_u64(optarg, 0, UINT64_MAX, &o->seed) < 0) {
                fprintf(stderr, "rift-shim: --seed: expected an unsigned integer\n");
                return 2;
            }
            o->seed_given = true;
            break;
        case 'c':
            o->check_only = true;
            break;
        case 'C':
            o->cleanup = true;
            break;
        case 'q':
            /* a typo must not become queue 0: --cleanup would remove its chain */
            if (parse_u64(optarg, 10, 65535, &v) < 0) {
                fprintf(stderr,
                        "rift-shim: --queue: expected a queue number 0-65535, not "
                        "\"%s\"\n",
                        optarg);
                return 2;
            }
            o->queue = (int)v;
            break;
        case 'o':
            if (!ipt_owner_ok(optarg)) {
                fprintf(stderr, "rift-shim: --owner: expected 1 to %d letters, digits or '_'\n",
                        IPT_OWNER_MAX);
                return 2;
            }
            o->owner = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'V':
            printf("rift-shim %s\n", SHIM_VERSION);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (!o->cleanup && !o->policy_file)) {
        usage(stderr);
        return 2;
    }
    return 0;
}

/* The policy, each rule's iptables patterns; with --check, the verdict. */
static int load_policy(struct shim *s, const struct opts *o)
{
    char err[POL_ERR_MAX + 64];
    s->pol = malloc(sizeof(*s->pol));
    if (!s->pol || pol_load(s->pol, o->policy_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", s->pol ? err : "rift-shim: out of memory");
        return 2;
    }
    s->use_ipt = s->pol->shim.rules == POL_RULES_IPTABLES;
    for (int i = 0; i < s->pol->n_rules; i++) {
        if (build_patterns(s->pol, i, &s->rt[i]) < 0) {
            fprintf(stderr, "rift-shim: out of memory\n");
            return 2;
        }
    }
    if (o->check_only) {
        printf("%s: ok: %d nodes, %d rules\n", o->policy_file, s->pol->n_nodes, s->pol->n_rules);
        return -1;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "rift-shim: must run as root (NFQUEUE and iptables)\n");
        return 2;
    }
    return 0;
}

/* Seed, clock, timer slack, scheduling class. */
static void init_context(struct shim *s, const struct opts *o)
{
    s->seed = o->seed_given ? o->seed : s->pol->shim.seed;
    if (!o->seed_given && !s->pol->shim.seed_given &&
        getrandom(&s->seed, sizeof(s->seed), 0) != sizeof(s->seed))
        s->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    s->now = shim_mono_now;
    s->reply = ctlsrv_reply;
    s->spin_ns = s->pol->shim.timer_spin_ns;
    s->hot_until = s->pol->shim.busy_poll_ns == UINT64_MAX ? UINT64_MAX : 0;
    match_index_build(s->pol, &s->mi);
    for (int i = 0; i < MAX_CLIENTS; i++)
        s->clients[i].fd = -1;
    s->lfd = s->tfd = s->sfd = s->epfd = s->rawfd = s->tsfd = -1;
    prctl(PR_SET_TIMERSLACK, 1UL);
    /* Spinning at SCHED_FIFO would meet the kernel's RT throttling and
     * stall for tens of milliseconds each second: busy polling runs at
     * normal priority. */
    if (s->pol->shim.realtime && !s->pol->shim.busy_poll_ns) {
        /* A woken shim should run at once, not after the cluster's time
         * slice: that wait is most of the jitter on a busy host. Children
         * (iptables-restore) go back to normal scheduling. */
        struct sched_param sp = {.sched_priority = 10};
        if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) < 0)
            fprintf(stderr,
                    "rift-shim: warning: cannot run SCHED_FIFO (%s); delays will be "
                    "less precise\n",
                    strerror(errno));
    }
}

/* Our chain, with nothing in it yet. A chain of our queue that some other
 * shim left is removed first when its shim is gone: we hold the queue now,
 * so no running shim can use it (another owner's live chain stays). */
static int install_chain(struct shim *s, char *err, size_t el)
{
    char *script = NULL;
    size_t len = 0;
    struct ipt_sweep sw;
    FILE *f;
    int rc;
    if (ipt_cleanup(NULL, (int)s->pol->shim.queue, IPT_SWEEP_QUEUE_OURS, &sw, err, el) > 0)
        fprintf(stderr, "rift-shim: removed %d leftover chain%s of queue %u\n", sw.removed,
                sw.removed == 1 ? "" : "s", s->pol->shim.queue);
    if (!(f = open_memstream(&script, &len)))
        return -1;
    ipt_script_begin(f);
    ipt_script_setup(f, s->chain, s->owner, (long)getpid(), pstat_start_time(getpid()));
    ipt_script_end(f);
    fclose(f);
    rc = ipt_run(script, len, err, el);
    free(script);
    return rc;
}

/* Bind the policy's queues or, with queue_search, the first free block
 * after them. Another process's queue is never taken over: that would
 * steal its packets. 0, or -1 with err. */
static int open_queue(struct shim *s, char *err, size_t el)
{
    struct pol_shim *sh = &s->pol->shim;
    unsigned first = sh->queue;
    uint32_t bit = s->use_ipt ? IPT_SEEN_BIT : 0; /* rules = none: the caller's rules */
    for (unsigned k = 0;; k++) {
        int rc = queue_open(&s->q, sh->queue, sh->queues, sh->queue_maxlen, sh->overflow_pass,
                            path_copy_range(s), bit, err, el);
        if (rc == 0)
            break;
        if (rc != -EBUSY || k >= sh->queue_search || sh->queue + 2 * sh->queues - 1 > 65535) {
            if (rc == -EBUSY)
                snprintf(err + strlen(err), el - strlen(err),
                         "; queues %u-%u are in use%s (set another [shim] queue, or "
                         "queue_search)",
                         first, sh->queue + sh->queues - 1, k ? " as far as" : "");
            return -1;
        }
        /* settled before anything reads the policy's queue */
        sh->queue += sh->queues;
    }
    if (sh->queue != first)
        fprintf(stderr, "rift-shim: queues %u-%u are in use; this shim takes queue %u\n", first,
                sh->queue - 1, sh->queue);
    if (sh->owner[0])
        snprintf(s->owner, sizeof(s->owner), "%s", sh->owner);
    else
        snprintf(s->owner, sizeof(s->owner), "pid%ld", (long)getpid());
    ipt_chain_name(s->chain, sizeof(s->chain), sh->queue, s->owner);
    return 0;
}

/* Capture, queue, control socket, helper sockets, event loop, chain.
 * 0, or the exit status; what was opened is closed by close_all. */
static int open_all(struct shim *s)
{
    char err[512];
    if (s->pol->shim.capture[0]) {
        if (capture_open(&s->cap, s->pol->shim.capture, err, sizeof(err)) < 0)
            goto fail;
        s->capturing = true;
    }
    if (open_queue(s, err, sizeof(err)) < 0)
        goto fail;
    queue_kernel_counters(s->pol->shim.queue, s->pol->shim.queues, &s->kq_dropped0, &s->kq_user0);
    if ((s->lfd = ctl_listen(s->pol->shim.control, &s->lbound, err, sizeof(err))) < 0)
        goto fail;
    /* Any socket asking for receive timestamps makes the kernel stamp every
     * packet on arrival; NFQUEUE then passes the stamp on. */
    s->tsfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->tsfd >= 0) {
        int on = 1;
        setsockopt(s->tsfd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
    }
    s->rawfd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (s->rawfd >= 0) {
        uint32_t mark = IPT_MARK;
        setsockopt(s->rawfd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
    }
    if (loop_setup(s) < 0) {
        snprintf(err, sizeof(err), "event loop setup: %s", strerror(errno));
        goto fail;
    }
    if (s->use_ipt && install_chain(s, err, sizeof(err)) < 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "rift-shim: %s\n", err);
    return 2;
}

static void close_all(struct shim *s)
{
    ctlsrv_close_all(s);
    if (s->lfd >= 0) {
        close(s->lfd);
        ctl_unlink(s->pol->shim.control, &s->lbound);
    }
    int fds[] = {s->rawfd, s->tsfd, s->epfd, s->tfd, s->sfd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (s->q.nl)
        queue_close(&s->q);
    if (s->capturing)
        capture_close(&s->cap);
    for (int i = 0; i < s->pol->n_rules; i++) {
        hold_destroy(&s->rt[i].store);
        free(s->rt[i].pats);
    }
    free(s->pol);
}

/* Rule state, models and schedules; rules that start at 0 s go on (their
 * iptables rules in place) before the shim says ready. */
static void start_rules(struct shim *s, const char *policy_file)
{
    s->t0 = s->now();
    msgflow_init(&s->flows);
    for (int i = 0; i < s->pol->n_rules; i++) {
        model_init(&s->rt[i].model, s->seed, (unsigned)i);
        if (s->pol->rules[i].start_ns != POL_START_MANUAL)
            s->rt[i].on_at = s->t0 + (uint64_t)s->pol->rules[i].start_ns;
    }
    fprintf(stderr,
            "rift-shim: policy %s: %d nodes, %d rules, queue %u, seed %" PRIu64
            ", control %s%s%s\n",
            policy_file, s->pol->n_nodes, s->pol->n_rules, s->pol->shim.queue, s->seed,
            s->pol->shim.control, s->capturing ? ", capture " : "",
            s->capturing ? s->pol->shim.capture : "");
    rules_schedule(s, s->now());
    while (s->njobs > 0 && s->job_pid > 0) {
        int st;
        while (waitpid(s->job_pid, &st, 0) < 0 && errno == EINTR)
            ;
        rules_job_done(s, st);
    }
    fprintf(stderr, "rift-shim: ready\n");
}

/* Stop: release every held packet, remove our rules, verdict what is
 * still queued, print the counters. */
static int stop(struct shim *s)
{
    int status = 0;
    for (int i = 0; i < s->pol->n_rules; i++)
        s->rt[i].active = false;
    path_release_all(s, s->now());
    rules_abandon_jobs(s);
    if (teardown_ipt(s) < 0)
        status = 1;
    loop_drain_queue(s);
    ctlsrv_print_counters(s, stderr);
    return status;
}

int main(int argc, char **argv)
{
    struct shim *s = &S;
    struct opts o;
    sigset_t mask;
    int status;

    if (argc >= 2 && !strcmp(argv[1], "agent"))
        return agent_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "ctl")) {
        if (argc < 4) {
            usage(stderr);
            return 2;
        }
        return ctl_client(argv[2], argc - 3, argv + 3);
    }
    if ((status = parse_args(argc, argv, &o)) != 0)
        return status < 0 ? 0 : status;
    if (o.cleanup) {
        char err[512];
        struct ipt_sweep sw;
        int n = ipt_cleanup(o.owner, o.queue, 0, &sw, err, sizeof(err));
        if (n < 0) {
            fprintf(stderr, "rift-shim --cleanup: %s\n", err);
            return 2;
        }
        fprintf(stderr, "rift-shim --cleanup: removed %d rift chain%s", n, n == 1 ? "" : "s");
        if (sw.kept)
            fprintf(stderr, "; kept %d in use (%s%s)", sw.kept, sw.first_kept,
                    sw.kept > 1 ? ", ..." : "");
        fputc('\n', stderr);
        return 0;
    }
    if ((status = load_policy(s, &o)) != 0)
        return status < 0 ? 0 : status;
    init_context(s, &o);
    /* Signals first, so that a signal during setup still tears down. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < s->pol->n_rules; i++)
        hold_init(&s->rt[i].store);
    if ((status = open_all(s)) == 0) {
        start_rules(s, o.policy_file);
        loop_run(s);
        status = stop(s);
    }
    close_all(s);
    return status;
}
