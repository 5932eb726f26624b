/* test_scenario: the scenario loader (scn_load_string), its error messages,
 * node naming, and the shim policy it hands to rift-shim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../harness/scenario/scenario.h"
#include "../../policies/ini.h"

#define PCT(x) ((uint64_t)llround((x) / 100.0 * (double)POL_P_ONE))
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MS(x) ((uint64_t)(x)*1000000u)

/* Both are large (struct policy is ~100 KB): keep them off the stack. */
static struct scenario S;
static struct policy P;

/* ---- a good scenario, every section ---- */

static const char good_scenario[] = "; scenario used by the unit tests\n"  /* 1 */
                                    "[cluster]\n"                          /* 2 */
                                    "server = valkey\n"                    /* 3 */
                                    "masters = 3\n"                        /* 4 */
                                    "replicas = 1\n"                       /* 5 */
                                    "node_timeout = 1500\n"                /* 6 */
                                    "[server]\n"                           /* 7 */
                                    "cluster-require-full-coverage = no\n" /* 8 */
                                    "save = 900 1\n"                       /* 9 */
                                    "[fault pong-race]\n"                  /* 10 */
                                    "from = m1r1\n"                        /* 11 */
                                    "to = m2\n"                            /* 12 */
                                    "ports = bus\n"                        /* 13 */
                                    "hold = yes\n"                         /* 14 */
                                    "[fault slow-clients]\n"               /* 15 */
                                    "from = clients\n"                     /* 16 */
                                    "to = *\n"                             /* 17 */
                                    "ports = client\n"                     /* 18 */
                                    "direction = both\n"                   /* 19 */
                                    "delay = 20ms\n"                       /* 20 */
                                    "jitter = 5ms\n"                       /* 21 */
                                    "distribution = normal\n"              /* 22 */
                                    "loss = 1.5%\n"                        /* 23 */
                                    "reorder = 25%\n"                      /* 24 */
                                    "rate = 10mbit\n"                      /* 25 */
                                    "start = 2s\n"                         /* 26 */
                                    "duration = 3s\n"                      /* 27 */
                                    "[fault ge]\n"                         /* 28 */
                                    "from = m3, m3r1\n"                    /* 29 */
                                    "to = m1\n"                            /* 30 */
                                    "loss_model = gemodel\n"               /* 31 */
                                    "p = 1%\n"                             /* 32 */
                                    "r = 10%\n"                            /* 33 */
                                    "k = 99.5%\n"                          /* 34 */
                                    "[timeline]\n"                         /* 35 */
                                    "0 = wait converged\n"                 /* 36 */
                                    "1.0s = fault pong-race on\n"          /* 37 */
                                    "1.1s = failover m1r1\n"               /* 38 */
                                    "1.1s = failover m2r1 takeover\n"      /* 39 */
                                    "4.0s = fault pong-race off\n"         /* 40 */
                                    "6.0s = migrate 0-99 m2 m3\n"          /* 41 */
                                    "6500ms = migrate 200 m3 m1\n"         /* 42 */
                                    "8.0s = kill m3\n"                     /* 43 */
                                    "8.5s = pause m2r1\n"                  /* 44 */
                                    "9s = resume m2r1\n"                   /* 45 */
                                    "10s = restart m3\n"                   /* 46 */
                                    "12s = wait converged ; settle\n"      /* 47 */
                                    "[workload]\n"                         /* 48 */
                                    "writers = 2\n"                        /* 49 */
                                    "[check]\n"                            /* 50 */
                                    "cycles = forbid\n"                    /* 51 */
                                    "lost_slots = forbid\n"                /* 52 */
                                    "converge_within = 10s\n"              /* 53 */
                                    "lost_writes = forbid\n"               /* 54 */
                                    "crashes = allow\n"                    /* 55 */
                                    "open_slots = allow\n"                 /* 56 */
                                    "[expect]\n"                           /* 57 */
                                    "cycles = present\n"                   /* 58 */
                                    "lost_writes = present\n";             /* 59 */

static void load_good(void)
{
    char err[SCN_ERR_MAX] = "";
    int rc = scn_load_string(&S, "good.ini", good_scenario, err, sizeof(err));
    if (rc != 0)
        fail_msg("good.ini: rc %d: %s", rc, err);
}

static void test_good_cluster(void **state)
{
    static const char *const names[] = {"m1", "m2", "m3", "m1r1", "m2r1", "m3r1"};
    static const int primary[] = {-1, -1, -1, 0, 1, 2};
    (void)state;
    load_good();
    assert_string_equal(S.file, "good.ini");
    assert_string_equal(S.server, "valkey");
    assert_int_equal(S.masters, 3);
    assert_int_equal(S.replicas, 1);
    assert_int_equal(S.node_timeout_ms, 1500);
    assert_int_equal(S.n_nodes, 6);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(S.names[i], names[i]);
        assert_int_equal(S.primary_of[i], primary[i]);
        assert_int_equal(scn_node(&S, names[i]), i);
    }
    assert_int_equal(scn_node(&S, "m4"), -1);
    assert_int_equal(scn_node(&S, "clients"), -1); /* a pseudo-node, not a server */
    assert_int_equal(scn_node(&S, ""), -1);

    assert_int_equal(S.n_conf, 2);
    assert_string_equal(S.conf[0][0], "cluster-require-full-coverage");
    assert_string_equal(S.conf[0][1], "no");
    assert_string_equal(S.conf[1][0], "save");
    assert_string_equal(S.conf[1][1], "900 1");

    assert_int_equal(S.writers, 2);
    assert_int_equal(S.check.cycles, SCN_FORBID);
    assert_int_equal(S.check.lost_slots, SCN_FORBID);
    assert_int_equal(S.check.lost_writes, SCN_FORBID);
    assert_int_equal(S.check.crashes, SCN_ALLOW);
    assert_int_equal(S.check.open_slots, SCN_ALLOW);
    assert_int_equal(S.check.converge_within_ns, 10000000000ULL);
    assert_true(S.has_expect);
    assert_true(S.expect.cycles);
    assert_false(S.expect.lost_slots);
    assert_true(S.expect.lost_writes);
    assert_false(S.expect.crashes);
}

static void test_good_faults(void **state)
{
    const struct policy *f = &S.faults;
    const struct pol_rule *r;
    (void)state;
    load_good();
    /* The scenario nodes in order, then the pseudo-nodes clients and app. */
    assert_int_equal(f->n_nodes, 8);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(f->nodes[i].name, S.names[i]);
        assert_int_equal(f->nodes[i].ip, IP4(127, 0, 0, 11 + i));
        assert_int_equal(f->nodes[i].port, 7000);
        assert_int_equal(f->nodes[i].bus, 17000);
        assert_true(f->nodes[i].addr_line > 0);
    }
    assert_string_equal(f->nodes[6].name, "clients");
    assert_int_equal(f->nodes[6].ip, IP4(127, 0, 0, 100));
    assert_int_equal(f->nodes[6].port, 0);
    assert_int_equal(f->nodes[6].bus, 0);
    assert_string_equal(f->nodes[7].name, "app");
    assert_int_equal(f->nodes[7].ip, IP4(127, 0, 0, 200));
    assert_int_equal(f->nodes[7].port, 0);
    /* [shim] as pol_load leaves it without the section. */
    assert_int_equal(f->shim.queue, 0);
    assert_int_equal(f->shim.queues, 1);
    assert_int_equal(f->shim.rules, POL_RULES_IPTABLES);
    assert_int_equal(f->shim.queue_maxlen, 65536);
    assert_int_equal(f->shim.timer_spin_ns, 300000);
    assert_int_equal(f->shim.busy_poll_ns, 0);
    assert_true(f->shim.realtime);
    assert_string_equal(f->shim.control, "/run/rift/shim.sock");

    assert_int_equal(f->n_rules, 3);
    r = &f->rules[0];
    assert_string_equal(r->name, "pong-race");
    assert_int_equal(r->line, 10);
    assert_int_equal(r->from, 1u << 3); /* m1r1 */
    assert_int_equal(r->to, 1u << 1);   /* m2 */
    assert_int_equal(r->ports, POL_PORTS_BUS);
    assert_false(r->both);
    assert_true(r->fx.hold);
    assert_int_equal(r->start_ns, POL_START_MANUAL); /* the timeline turns it on */
    assert_int_equal(r->key_line[PK_FROM], 11);
    assert_int_equal(r->key_line[PK_HOLD], 14);
    assert_int_equal(r->key_line[PK_START], 0);

    r = &f->rules[1];
    assert_string_equal(r->name, "slow-clients");
    assert_int_equal(r->from, 1u << 6); /* clients */
    assert_int_equal(r->to, 0xff);      /* *: every node, clients and app too */
    assert_int_equal(r->ports, POL_PORTS_CLIENT);
    assert_true(r->both);
    assert_int_equal(r->proto, POL_PROTO_TCP);
    assert_int_equal(r->fx.delay_ns, MS(20));
    assert_int_equal(r->fx.jitter_ns, MS(5));
    assert_int_equal(r->fx.dist, POL_DIST_NORMAL);
    assert_int_equal(r->fx.loss, PCT(1.5));
    assert_int_equal(r->fx.reorder, POL_P_ONE / 4);
    assert_int_equal(r->fx.rate_bps, 10000000);
    assert_int_equal(r->start_ns, 2000000000);
    assert_int_equal(r->duration_ns, 3000000000ULL);
    assert_int_equal(r->key_line[PK_REORDER], 24);

    r = &f->rules[2];
    assert_int_equal(r->from, (1u << 2) | (1u << 5)); /* m3, m3r1 */
    assert_int_equal(r->to, 1u);
    assert_int_equal(r->ports, POL_PORTS_ALL);
    assert_int_equal(r->fx.loss_model, POL_LOSS_GEMODEL);
    assert_int_equal(r->fx.ge_p, PCT(1));
    assert_int_equal(r->fx.ge_r, PCT(10));
    assert_int_equal(r->fx.ge_h, 0);
    assert_int_equal(r->fx.ge_k, PCT(99.5));
}

static void test_good_timeline(void **state)
{
    const struct scn_step *st = S.steps;
    (void)state;
    load_good();
    assert_int_equal(S.n_steps, 12);

    assert_int_equal(st[0].line, 36);
    assert_int_equal(st[0].at_ns, 0);
    assert_int_equal(st[0].kind, STEP_WAIT_CONVERGED);

    assert_int_equal(st[1].line, 37);
    assert_int_equal(st[1].at_ns, MS(1000));
    assert_int_equal(st[1].kind, STEP_FAULT);
    assert_int_equal(st[1].fault, 0);
    assert_true(st[1].on);

    assert_int_equal(st[2].at_ns, MS(1100));
    assert_int_equal(st[2].kind, STEP_FAILOVER);
    assert_int_equal(st[2].node, 3); /* m1r1 */
    assert_string_equal(st[2].mode, "");
    /* Two steps at the same time, in file order. */
    assert_int_equal(st[3].at_ns, MS(1100));
    assert_int_equal(st[3].node, 4); /* m2r1 */
    assert_string_equal(st[3].mode, "takeover");

    assert_int_equal(st[4].kind, STEP_FAULT);
    assert_int_equal(st[4].fault, 0);
    assert_false(st[4].on);
    assert_int_equal(st[4].at_ns, MS(4000));

    assert_int_equal(st[5].kind, STEP_MIGRATE);
    assert_int_equal(st[5].at_ns, MS(6000));
    assert_int_equal(st[5].slot_lo, 0);
    assert_int_equal(st[5].slot_hi, 99);
    assert_int_equal(st[5].src, 1);
    assert_int_equal(st[5].dst, 2);
    assert_int_equal(st[6].kind, STEP_MIGRATE); /* one slot */
    assert_int_equal(st[6].at_ns, MS(6500));
    assert_int_equal(st[6].slot_lo, 200);
    assert_int_equal(st[6].slot_hi, 200);
    assert_int_equal(st[6].src, 2);
    assert_int_equal(st[6].dst, 0);

    assert_int_equal(st[7].kind, STEP_KILL);
    assert_int_equal(st[7].node, 2);
    assert_int_equal(st[7].at_ns, MS(8000));
    assert_int_equal(st[8].kind, STEP_PAUSE);
    assert_int_equal(st[8].node, 4);
    assert_int_equal(st[8].at_ns, MS(8500));
    assert_int_equal(st[9].kind, STEP_RESUME);
    assert_int_equal(st[9].node, 4);
    assert_int_equal(st[10].kind, STEP_RESTART);
    assert_int_equal(st[10].node, 2);
    assert_int_equal(st[10].at_ns, MS(10000));
    assert_int_equal(st[11].kind, STEP_WAIT_CONVERGED); /* inline comment dropped */
    assert_int_equal(st[11].at_ns, MS(12000));
    assert_int_equal(st[11].line, 47);
}

/* Defaults; sections in any order (a step names a fault declared later). */
static void test_defaults(void **state)
{
    char err[SCN_ERR_MAX] = "";
    (void)state;
    assert_int_equal(scn_load_string(&S, "min.ini",
                                     "[fault f]\n"
                                     "from = m1\n"
                                     "to = clients\n"
                                     "loss = 100%\n"
                                     "[timeline]\n"
                                     "1s = fault f on\n"
                                     "2s = failover m3r1 force\n",
                                     err, sizeof(err)),
                     0);
    assert_string_equal(err, "");
    assert_string_equal(S.server, "redis");
    assert_int_equal(S.masters, 3);
    assert_int_equal(S.replicas, 1);
    assert_int_equal(S.n_nodes, 6);
    assert_int_equal(S.node_timeout_ms, 2000);
    assert_int_equal(S.n_conf, 0);
    assert_int_equal(S.writers, 0);
    assert_int_equal(S.check.cycles, SCN_UNSET);
    assert_int_equal(S.check.open_slots, SCN_UNSET);
    assert_int_equal(S.check.converge_within_ns, 0);
    assert_false(S.has_expect);
    assert_int_equal(S.faults.n_rules, 1);
    assert_int_equal(S.faults.rules[0].start_ns, POL_START_MANUAL);
    assert_int_equal(S.faults.rules[0].to, 1u << 6);
    assert_int_equal(S.steps[0].fault, 0);
    assert_int_equal(S.steps[1].node, 5);
    assert_string_equal(S.steps[1].mode, "force");

    /* An empty file runs nothing anyone meant: an error. [cluster] alone is
     * a 3+3 cluster with nothing to do. */
    assert_int_equal(scn_load_string(&S, "empty.ini", "", err, sizeof(err)), -1);
    assert_string_equal(err, "empty.ini:1: the file is empty: no section (a scenario has "
                             "[cluster], [timeline], ...)");
    assert_int_equal(scn_load_string(&S, "c.ini", "; only\n; comments\n", err, sizeof(err)), -1);
    assert_string_equal(err, "c.ini:2: nothing but comments: no section (a scenario has "
                             "[cluster], [timeline], ...)");
    /* A step may only use a fault declared above it. */
    assert_int_equal(scn_load_string(&S, "late.ini",
                                     "[timeline]\n1s = fault f on\n[fault f]\nfrom = m1\n"
                                     "to = m2\nloss = 1%\n",
                                     err, sizeof(err)),
                     -1);
    assert_string_equal(err, "late.ini:2: fault: [fault f] is declared below, on line 3: "
                             "declare a fault before the timeline that uses it");
    assert_int_equal(scn_load_string(&S, "empty.ini", "[cluster]\n", err, sizeof(err)), 0);
    assert_int_equal(S.n_nodes, 6);
    assert_int_equal(S.n_steps, 0);
    assert_int_equal(S.faults.n_rules, 0);
    assert_int_equal(S.faults.n_nodes, 8);
    assert_false(S.app.on);
    assert_false(S.standalone);
    assert_int_equal(S.check.crossslot, SCN_UNSET);
}

static void test_sizes(void **state)
{
    char err[SCN_ERR_MAX] = "";
    static const char *const names[] = {"m1", "m2", "m1r1", "m2r1", "m1r2", "m2r2"};
    static const int primary[] = {-1, -1, 0, 1, 0, 1};
    (void)state;
    assert_int_equal(
        scn_load_string(&S, "2x2.ini", "[cluster]\nmasters = 2\nreplicas = 2\n", err, sizeof(err)),
        0);
    assert_int_equal(S.n_nodes, 6);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(S.names[i], names[i]);
        assert_int_equal(S.primary_of[i], primary[i]);
    }

    assert_int_equal(scn_load_string(&S, "big.ini",
                                     "[cluster]\nmasters = 16\nreplicas = 2\n"
                                     "[timeline]\n1s = failover m16r2\n",
                                     err, sizeof(err)),
                     0);
    assert_int_equal(S.n_nodes, SCN_MAX_NODES);
    assert_string_equal(S.names[47], "m16r2");
    assert_int_equal(S.primary_of[47], 15);
    assert_int_equal(S.steps[0].node, 47);
    assert_int_equal(S.faults.n_nodes, 50);
    assert_int_equal(S.faults.nodes[47].ip, IP4(127, 0, 0, 58));
    assert_string_equal(S.faults.nodes[48].name, "clients");

    assert_int_equal(
        scn_load_string(&S, "one.ini", "[cluster]\nmasters = 1\nreplicas = 0\n", err, sizeof(err)),
        0);
    assert_int_equal(S.n_nodes, 1);
    assert_string_equal(S.names[0], "m1");
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/rift-test-scenario-XXXXXX", err[SCN_ERR_MAX] = "";
    int fd = mkstemp(path);
    FILE *f;
    (void)state;
    assert_true(fd >= 0);
    assert_non_null(f = fdopen(fd, "w"));
    fputs(good_scenario, f);
    fclose(f);
    assert_int_equal(scn_load(&S, path, err, sizeof(err)), 0);
    assert_string_equal(S.file, path);
    assert_int_equal(S.n_steps, 12);
    unlink(path);
    assert_int_equal(scn_load(&S, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file"));
}

/* ---- bad files: exact "NAME:LINE: " prefix plus a word of the message ---- */

static void expect_error(const char *text, int line, const char *word, int caller)
{
    char err[SCN_ERR_MAX] = "", prefix[64];
    int rc = scn_load_string(&S, "bad.ini", text, err, sizeof(err));
    snprintf(prefix, sizeof(prefix), "bad.ini:%d: ", line);
    if (rc != -1 || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, word))
        fail_msg("(test line %d) expected rc -1 and \"%s...%s...\", got rc %d \"%s\"", caller,
                 prefix, word, rc, err);
}
#define EXPECT_ERR(text, line, word) expect_error(text, line, word, __LINE__)

/* Lines 1-3: a 3+3 cluster; 4-6: a good fault f; 7: [timeline]. */
#define CLUSTER "[cluster]\nmasters = 3\nreplicas = 1\n"
#define FAULT CLUSTER "[fault f]\nfrom = m1\nto = m2\n"
#define TL FAULT "[timeline]\n"

static void test_clients(void **state)
{
    struct scenario s;
    char err[512];
    (void)state;
    assert_int_equal(scn_load_string(&s, "ok.ini",
                                     "[cluster]\nmasters = 3\nreplicas = 1\n[clients]\n"
                                     "probes = redis-py, rift\nstart = 2.5s\nseeds = m2\n"
                                     "redis-py.require_full_coverage = false\n"
                                     "[check]\nheal_within = 10s\n",
                                     err, sizeof(err)),
                     0);
    assert_int_equal(s.n_probes, 2);
    assert_string_equal(s.probes[0].name, "redis-py");
    assert_string_equal(s.probes[1].name, "rift");
    assert_int_equal(s.probes[0].n_opts, 1);
    assert_string_equal(s.probes[0].opts[0][0], "require_full_coverage");
    assert_string_equal(s.probes[0].opts[0][1], "false");
    assert_int_equal(s.probes_start_ns, 2500000000ull);
    assert_int_equal(s.probe_seeds, 1u << 1);
    assert_int_equal(s.check.heal_within_ns, 10000000000ull);
}

static void test_err_sections(void **state)
{
    (void)state;
    EXPECT_ERR(CLUSTER "[bogus]\nx = 1\n", 4, "unknown section [bogus]");
    EXPECT_ERR(CLUSTER "[bogus]\n", 4, "unknown section [bogus]");
    EXPECT_ERR(CLUSTER "[clients]\nprobes = redis-py, jedis\n", 5, "unknown probe 'jedis'");
    EXPECT_ERR(CLUSTER "[clients]\nprobes = rift\nseeds = m9\n", 6, "seeds: unknown node 'm9'");
    EXPECT_ERR(CLUSTER "[clients]\nredis-py.x = 1\n", 5, "not in probes");
    EXPECT_ERR(CLUSTER "[clients]\nprobes = rift\nrift.x = 1\n", 6,
               "the rift probe takes no options");
    EXPECT_ERR(CLUSTER "[clients]\nprobes = rift\nstart = soon\n", 6, "start:");
    EXPECT_ERR(CLUSTER "[cluster]\nmasters = 4\n", 4, "[cluster] is given twice");
    EXPECT_ERR("[check]\ncycles = forbid\n" TL "[check]\n", 10, "[check] is given twice");
    EXPECT_ERR("masters = 3\n" CLUSTER, 1, "outside any section");
    EXPECT_ERR(CLUSTER "[fault a b]\nfrom = m1\n", 4, "a name of letters");
    /* [expect] that expects nothing: on its header. */
    EXPECT_ERR(CLUSTER "[expect]\n[workload]\nwriters = 1\n", 4, "[expect] names nothing");
    /* A line without '=' is inih's syntax error on that line. */
    EXPECT_ERR(TL "no equals sign here\n", 8, "syntax error");
}

static void test_err_unknown_keys(void **state)
{
    (void)state;
    EXPECT_ERR("[cluster]\nmasters = 3\nnodes = 6\n", 3, "unknown key 'nodes' in [cluster]");
    EXPECT_ERR(FAULT "speed = 10\n", 7, "unknown key 'speed' in [fault f]");
    EXPECT_ERR(CLUSTER "[workload]\nreaders = 2\n", 5, "unknown key 'readers' in [workload]");
    EXPECT_ERR(CLUSTER "[check]\ncycles = forbid\nloops = forbid\n", 6,
               "unknown key 'loops' in [check]");
    EXPECT_ERR(CLUSTER "[check]\nheal_within = 10s\n", 4, "heal_within needs [clients]");
    EXPECT_ERR(CLUSTER "[expect]\nloops = present\n", 5, "unknown key 'loops' in [expect]");
    EXPECT_ERR(FAULT "messages = PING\n", 7, "messages needs ports = bus");
}

static void test_err_cluster_values(void **state)
{
    (void)state;
    EXPECT_ERR("[cluster]\nmasters = 17\n", 2, "masters: expected 1 to 16");
    EXPECT_ERR("[cluster]\nmasters = 0\n", 2, "masters: expected 1 to 16");
    EXPECT_ERR("[cluster]\nmasters = 3x\n", 2, "masters:");
    EXPECT_ERR("[cluster]\nmasters = \n", 2, "masters:");
    EXPECT_ERR("[cluster]\nreplicas = 3\n", 2, "replicas: expected 0 to 2");
    EXPECT_ERR("[cluster]\nnode_timeout = 50\n", 2, "node_timeout:");
    EXPECT_ERR("[cluster]\nnode_timeout = 2s\n", 2, "node_timeout:");
    EXPECT_ERR("[cluster]\nserver = memcached\n", 2, "server: expected redis, redis8, valkey");
    EXPECT_ERR("[cluster]\nserver = bin/redis-server\n", 2, "absolute path");
    EXPECT_ERR("[cluster]\nserver = valkey@\n", 2, "NAME@SUITE");
    EXPECT_ERR("[cluster]\nserver = keydb@sid\n", 2, "NAME@SUITE");
    EXPECT_ERR("[cluster]\nserver = valkey@../etc\n", 2, "NAME@SUITE");
    EXPECT_ERR("[cluster]\nserver = redis@Sid\n", 2, "NAME@SUITE");
    {
        static const char *const good[] = {"valkey@sid",   "redis@sid", "valkey@bookworm-backports",
                                           "redis8",       "valkey",    "valkey-1912",
                                           "/opt/x/server"};
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
            struct scenario sc;
            char text[128], err[256];
            snprintf(text, sizeof(text), "[cluster]\nserver = %s\n", good[i]);
            if (scn_load_string(&sc, "s.ini", text, err, sizeof(err)) < 0)
                fail_msg("%s: %s", good[i], err);
            assert_string_equal(sc.server, good[i]);
        }
    }
    EXPECT_ERR(CLUSTER "[workload]\nwriters = 65\n", 5, "writers: expected 0 to 64");
    EXPECT_ERR("[cluster]\nmasters = 3\nmasters = 4\n", 3, "'masters' is given twice");
}

static void test_err_server(void **state)
{
    (void)state;
    EXPECT_ERR(CLUSTER "[server]\nMaxMemory = 1mb\n", 5, "not a redis.conf directive");
    EXPECT_ERR(CLUSTER "[server]\nmax_memory = 1mb\n", 5, "not a redis.conf directive");
    EXPECT_ERR(CLUSTER "[server]\nsave = 900 1\nappendonly = no\nsave = 60 1\n", 7,
               "'save' is given twice in [server]");
    EXPECT_ERR(CLUSTER "[server]\nport = 7001\n", 5, "port is set by rift");
    EXPECT_ERR(CLUSTER "[server]\nbind-source-addr = 127.0.0.1\n", 5, "set by rift");
    EXPECT_ERR(CLUSTER "[server]\ncluster-node-timeout = 500\n", 5, "node_timeout in [cluster]");
}

static void test_err_checks(void **state)
{
    (void)state;
    EXPECT_ERR(CLUSTER "[check]\ncycles = never\n", 5, "cycles: expected forbid or allow");
    EXPECT_ERR(CLUSTER "[check]\nopen_slots = yes\n", 5, "forbid or allow");
    EXPECT_ERR(CLUSTER "[check]\nconverge_within = 10\n", 5, "converge_within:");
    EXPECT_ERR(CLUSTER "[check]\nconverge_within = 0s\n", 5, "greater than 0");
    EXPECT_ERR(CLUSTER "[check]\ncrashes = forbid\ncrashes = allow\n", 6,
               "'crashes' is given twice in [check]");
    EXPECT_ERR(CLUSTER "[expect]\ncycles = yes\n", 5, "cycles: expected present");
    EXPECT_ERR(CLUSTER "[expect]\nlost_slots = present\nlost_slots = present\n", 6, "given twice");
}

/* [app]: the command split as a shell splits simple words, its keys, and
 * the pseudo-node app in faults. */
static void test_app(void **state)
{
    struct scenario s;
    char err[512];
    (void)state;
    static const char text[] =
        "[cluster]\nmasters = 3\n"
        "[app]\ncommand = node \"my worker.js\" --q 'a b' x\\ y \"\\\"q\\\"\"\n"
        "start = 1.5s\nstop = wait\nexpect_exit = 3\ntimeout = 2m\n"
        "env.QUEUE_PREFIX = {bull}\nenv.DEBUG = 1\n"
        "[fault slow-app]\nfrom = app\nto = *\nports = client\ndelay = 5ms\n";
    if (scn_load_string(&s, "app.ini", text, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    assert_true(s.app.on);
    assert_int_equal(s.app.line, 4);
    assert_int_equal(s.app.argc, 6);
    const char *want[] = {"node", "my worker.js", "--q", "a b", "x y", "\"q\""};
    for (int i = 0; i < 6; i++)
        assert_string_equal(s.app.words + s.app.argv_off[i], want[i]);
    assert_int_equal(s.app.start_ns, 1500000000ull);
    assert_true(s.app.wait);
    assert_int_equal(s.app.expect_exit, 3);
    assert_int_equal(s.app.timeout_ns, 120000000000ull);
    assert_int_equal(s.app.n_env, 2);
    assert_string_equal(s.app.env[0][0], "QUEUE_PREFIX");
    assert_string_equal(s.app.env[0][1], "{bull}");
    assert_int_equal(s.faults.n_rules, 1);
    /* defaults */
    if (scn_load_string(&s, "app.ini", "[app]\ncommand = ./run\n", err, sizeof(err)) < 0)
        fail_msg("%s", err);
    assert_false(s.app.wait);
    assert_int_equal(s.app.expect_exit, 0);
    assert_int_equal(s.app.timeout_ns, 600000000000ull);
    /* the command line form */
    char *argv[] = {"pytest", "tests/cluster", "-x", "-k", "a b"};
    assert_int_equal(scn_app_argv(&s.app, 5, argv, err, sizeof(err)), 0);
    assert_true(s.app.wait);
    assert_int_equal(s.app.argc, 5);
    assert_string_equal(s.app.words + s.app.argv_off[4], "a b");
    assert_string_equal(s.app.text, "pytest tests/cluster -x -k 'a b'"); /* as a shell needs it */
}

static void test_err_app(void **state)
{
    (void)state;
    EXPECT_ERR(CLUSTER "[app]\nstart = 1s\n", 4, "[app] needs command =");
    EXPECT_ERR(CLUSTER "[app]\ncommand = node 'x\n", 5, "a single quote that does not close");
    EXPECT_ERR(CLUSTER "[app]\ncommand = a \"b\n", 5, "a double quote that does not close");
    EXPECT_ERR(CLUSTER "[app]\ncommand = cat x | grep y\n", 5, "'|' would need a shell");
    EXPECT_ERR(CLUSTER "[app]\ncommand = echo $HOME\n", 5, "'$' would need a shell");
    EXPECT_ERR(CLUSTER "[app]\ncommand = run > out\n", 5, "'>' would need a shell");
    EXPECT_ERR(CLUSTER "[app]\ncommand = x\nstop = never\n", 6, "stop: expected end");
    EXPECT_ERR(CLUSTER "[app]\ncommand = x\nexpect_exit = 256\n", 6, "expect_exit:");
    EXPECT_ERR(CLUSTER "[app]\ncommand = x\ntimeout = 0s\n", 6, "timeout:");
    EXPECT_ERR(CLUSTER "[app]\ncommand = x\nenv.1X = y\n", 6, "not an environment variable");
    EXPECT_ERR(CLUSTER "[app]\ncommand = x\nenv.RIFT_SEEDS = y\n", 6, "rift sets the RIFT_");
    EXPECT_ERR(CLUSTER "[app]\ncommand = x\nenv.A = 1\nenv.A = 2\n", 7, "given twice");
    EXPECT_ERR(CLUSTER "[app]\ncommand = x\nuser = me\n", 6, "unknown key 'user' in [app]");
    EXPECT_ERR(CLUSTER "[app]\ncommand = x\n[app]\ncommand = y\n", 6, "[app] is given twice");
    EXPECT_ERR(CLUSTER "[fault f]\nfrom = apps\nto = m1\n", 5, "or clients, app, *");
}

/* mode = standalone: one server, nothing that needs a cluster. */
static void test_standalone(void **state)
{
    struct scenario s;
    char err[512];
    (void)state;
    if (scn_load_string(&s, "s.ini",
                        "[cluster]\nmode = standalone\nserver = redis8\n"
                        "[check]\ncrossslot = forbid\n[timeline]\n1s = kill m1\n"
                        "2s = restart m1\n",
                        err, sizeof(err)) < 0)
        fail_msg("%s", err);
    assert_true(s.standalone);
    assert_int_equal(s.masters, 1);
    assert_int_equal(s.replicas, 0);
    assert_int_equal(s.n_nodes, 1);
    assert_string_equal(s.names[0], "m1");
    assert_int_equal(s.check.crossslot, SCN_FORBID);
    EXPECT_ERR("[cluster]\nmode = standalone\nmasters = 3\n", 1, "runs one server");
    EXPECT_ERR("[cluster]\nmode = standalone\nreplicas = 1\n", 1, "runs one server");
    EXPECT_ERR("[cluster]\nmode = single\n", 2, "mode: expected cluster or standalone");
    EXPECT_ERR("[cluster]\nmode = standalone\n[timeline]\n1s = failover m1\n", 4,
               "failover needs a cluster");
    EXPECT_ERR("[cluster]\nmode = standalone\n[timeline]\n1s = migrate 0-9 m1 m1\n", 4,
               "migrate needs a cluster");
    EXPECT_ERR("[cluster]\nmode = standalone\n[workload]\nwriters = 1\n", 3,
               "[workload] writes through cluster clients");
    EXPECT_ERR("[cluster]\nmode = standalone\n[clients]\nprobes = ioredis\n", 3,
               "[clients] probes are cluster clients");
    EXPECT_ERR(CLUSTER "[check]\ncrossslot = maybe\n", 5, "crossslot: expected forbid or allow");
    if (scn_load_string(&s, "s.ini", CLUSTER "[expect]\ncrossslot = present\n", err, sizeof(err)) <
        0)
        fail_msg("%s", err);
    assert_true(s.expect.crossslot);
    assert_int_equal(s.masters, 3);
}

static void test_err_faults(void **state)
{
    (void)state;
    /* Unknown node: on the from/to line that names it, even when [cluster]
     * comes later. */
    EXPECT_ERR(CLUSTER "[fault f]\nfrom = m1\nto = m4\n", 6, "to: unknown node 'm4'");
    EXPECT_ERR("[fault f]\nfrom = m1, m2r2\nto = m2\n[cluster]\nreplicas = 1\n", 2,
               "from: unknown node 'm2r2' (this cluster has m1..m3, m1r1..m3r1; or clients");
    EXPECT_ERR(CLUSTER "[fault f]\nfrom = m1\nto = m1\n", 6, "same single node");
    EXPECT_ERR(CLUSTER "[fault f]\nfrom = m1\n", 4, "[fault f] needs both from = and to =");
    /* Cross-key checks: on the key that needs the other one. */
    EXPECT_ERR(FAULT "loss = 1%\nreorder = 5%\n", 8, "reorder needs a delay");
    EXPECT_ERR(FAULT "hold = yes\ndelay = 10ms\n", 7, "hold cannot be combined");
    EXPECT_ERR(FAULT "p = 1%\n", 7, "Gilbert-Elliott");
    /* Values: on their own line. */
    EXPECT_ERR(FAULT "delay = 10\n", 7, "delay: bad time '10'");
    EXPECT_ERR(FAULT "loss = 30\n", 7, "percentage");
    EXPECT_ERR(FAULT "ports = some\n", 7, "bus, client or all");
    EXPECT_ERR(FAULT "start = soon\n", 7, "start:");
    /* Duplicates. */
    EXPECT_ERR(FAULT "[fault f]\nfrom = m2\nto = m1\n", 7, "fault 'f' is declared twice");
    EXPECT_ERR(FAULT "to = m3\n", 7, "'to' is given twice in [fault f]");
}

static void test_err_timeline(void **state)
{
    (void)state;
    EXPECT_ERR(TL "1.0 = kill m1\n", 8, "timeline: bad time '1.0'");
    EXPECT_ERR(TL "soon = kill m1\n", 8, "bad time 'soon'");
    EXPECT_ERR(TL "2s = kill m1\n1.5s = kill m2\n", 9, "time order");
    EXPECT_ERR(TL "1s = \n", 8, "a step is needed");
    EXPECT_ERR(TL "1s = explode m1\n", 8, "unknown step 'explode'");
    EXPECT_ERR(TL "1s = fault nope on\n", 8, "fault: no [fault nope]");
    EXPECT_ERR(TL "1s = fault f maybe\n", 8, "fault: expected on or off");
    EXPECT_ERR(TL "1s = fault f\n", 8, "fault: expected fault NAME on|off");
    EXPECT_ERR(TL "1s = kill m1\n2s = failover m2\n", 9,
               "failover: m2 is a primary: fail over one of its replicas (m2r1)");
    EXPECT_ERR("[cluster]\nreplicas = 2\n[timeline]\n1s = failover m3\n", 4,
               "fail over one of its replicas (m3r1, m3r2)");
    EXPECT_ERR("[cluster]\nreplicas = 0\n[timeline]\n1s = failover m1\n", 4, "no replicas");
    EXPECT_ERR(TL "1s = failover m9\n", 8, "failover: unknown node 'm9'");
    EXPECT_ERR(TL "1s = failover m1r1 gently\n", 8, "force or takeover");
    EXPECT_ERR(TL "1s = migrate 100-99 m1 m2\n", 8, "migrate: bad slots '100-99'");
    EXPECT_ERR(TL "1s = migrate 0-16384 m1 m2\n", 8, "bad slots");
    EXPECT_ERR(TL "1s = migrate -5 m1 m2\n", 8, "bad slots");
    EXPECT_ERR(TL "1s = migrate 1-x m1 m2\n", 8, "bad slots");
    EXPECT_ERR(TL "1s = migrate 0-9 m2 m2\n", 8, "source and destination are both m2");
    EXPECT_ERR(TL "1s = migrate 0-9 m1r1 m2\n", 8, "m1r1 is a replica");
    EXPECT_ERR(TL "1s = migrate 0-9 m1 m2r1\n", 8, "m2r1 is a replica");
    EXPECT_ERR(TL "1s = migrate 0-9 m1\n", 8, "expected migrate LO[-HI] SRC DST");
    EXPECT_ERR(TL "1s = kill m1 m2\n", 8, "kill: expected kill NODE");
    EXPECT_ERR(TL "1s = pause m7\n", 8, "pause: unknown node 'm7'");
    EXPECT_ERR(TL "1s = restart\n", 8, "restart: expected restart NODE");
    EXPECT_ERR(TL "1s = wait forever\n", 8, "wait converged");
    /* The first error in the file wins over later ones. */
    EXPECT_ERR(TL "1s = kill m9\n2s = kill m8\n", 8, "'m9'");
}

/* ---- the policy handed to rift-shim ---- */

static void same_rule(const struct pol_rule *a, const struct pol_rule *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->from_spec, b->from_spec);
    assert_string_equal(a->to_spec, b->to_spec);
    assert_int_equal(a->from, b->from);
    assert_int_equal(a->to, b->to);
    assert_int_equal(a->ports, b->ports);
    assert_int_equal(a->both, b->both);
    assert_int_equal(a->opened_by, b->opened_by);
    assert_int_equal(a->proto, b->proto);
    assert_int_equal(a->fx.delay_ns, b->fx.delay_ns);
    assert_int_equal(a->fx.jitter_ns, b->fx.jitter_ns);
    assert_int_equal(a->fx.dist, b->fx.dist);
    assert_int_equal(a->fx.delay_corr, b->fx.delay_corr);
    assert_int_equal(a->fx.loss_model, b->fx.loss_model);
    assert_int_equal(a->fx.loss, b->fx.loss);
    assert_int_equal(a->fx.loss_corr, b->fx.loss_corr);
    assert_int_equal(a->fx.ge_p, b->fx.ge_p);
    assert_int_equal(a->fx.ge_r, b->fx.ge_r);
    assert_int_equal(a->fx.ge_h, b->fx.ge_h);
    assert_int_equal(a->fx.ge_k, b->fx.ge_k);
    assert_int_equal(a->fx.reorder, b->fx.reorder);
    assert_int_equal(a->fx.reorder_corr, b->fx.reorder_corr);
    assert_int_equal(a->fx.duplicate, b->fx.duplicate);
    assert_int_equal(a->fx.duplicate_corr, b->fx.duplicate_corr);
    assert_int_equal(a->fx.rate_bps, b->fx.rate_bps);
    assert_int_equal(a->fx.hold, b->fx.hold);
    assert_int_equal(a->start_ns, b->start_ns);
    assert_int_equal(a->duration_ns, b->duration_ns);
    for (int k = 0; k < PK__COUNT; k++) /* the same keys given */
        assert_int_equal(!a->key_line[k], !b->key_line[k] && k != PK_START);
}

static void roundtrip(const char *control, const char *capture, uint64_t seed)
{
    char err[POL_ERR_MAX] = "";
    char *text = scn_policy_text(&S, control, capture, seed);
    assert_non_null(text);
    if (pol_load_string(&P, "shim.ini", text, err, sizeof(err)) != 0)
        fail_msg("policy text does not load: %s\n%s", err, text);
    assert_true(P.shim.seed_given);
    assert_int_equal(P.shim.seed, seed);
    assert_string_equal(P.shim.control, control ? control : S.faults.shim.control);
    assert_string_equal(P.shim.capture, capture ? capture : "");
    assert_int_equal(P.n_nodes, S.faults.n_nodes);
    for (int i = 0; i < P.n_nodes; i++) {
        assert_string_equal(P.nodes[i].name, S.faults.nodes[i].name);
        assert_int_equal(P.nodes[i].ip, S.faults.nodes[i].ip);
        assert_int_equal(P.nodes[i].port, S.faults.nodes[i].port);
        assert_int_equal(P.nodes[i].bus, S.faults.nodes[i].bus);
    }
    /* the faults in order, then the bus observer (bus ports, every node) */
    assert_int_equal(P.n_rules, S.faults.n_rules + 1);
    for (int i = 0; i < S.faults.n_rules; i++)
        same_rule(&P.rules[i], &S.faults.rules[i]);
    const struct pol_rule *obs = &P.rules[P.n_rules - 1];
    assert_string_equal(obs->name, "observe-bus");
    assert_int_equal(obs->ports, POL_PORTS_BUS);
    assert_int_equal(obs->start_ns, 0);
    assert_int_equal(obs->from, (UINT64_C(1) << P.n_nodes) - 1);
    assert_false(obs->fx.delay_ns || obs->fx.loss || obs->fx.hold || obs->fx.duplicate);
    free(text);
}

/* [shim]: each key keeps its value whatever comes after it, reaches the
 * shim's policy, and is validated with the policy's own messages. */
static void test_shim_section(void **state)
{
    char err[SCN_ERR_MAX] = "";
    char *text;
    (void)state;
    assert_int_equal(scn_load_string(&S, "q.ini",
                                     "[cluster]\n[shim]\nqueue_maxlen = 100\non_overflow = pass\n"
                                     "queues = 2\n",
                                     err, sizeof(err)),
                     0);
    assert_int_equal(S.faults.shim.queue_maxlen, 100);
    assert_true(S.faults.shim.overflow_pass);
    assert_int_equal(S.faults.shim.queues, 2);
    text = scn_policy_text(&S, "/tmp/x.sock", "", 1);
    assert_non_null(text);
    assert_non_null(strstr(text, "queues = 2\n"));
    assert_non_null(strstr(text, "queue_maxlen = 100\non_overflow = pass\n"));
    free(text);
    assert_int_equal(
        scn_load_string(&S, "q.ini", "[cluster]\n[shim]\nqueue_maxlen = 5\n", err, sizeof(err)),
        -1);
    assert_string_equal(err, "q.ini:3: queue_maxlen: expected 16 to 4194304 packets, got '5'");
    assert_int_equal(
        scn_load_string(&S, "q.ini", "[cluster]\n[shim]\ncontrol = /x\n", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "q.ini:3: unknown key 'control' in [shim]"));
}

/* inih reads 198 bytes of a line whole; a longer line is refused at its
 * line instead of coming back as two (a [header] hidden in the second
 * half), and the policy written for a scenario of a long path loads. */
static void test_long_lines(void **state)
{
    char err[SCN_ERR_MAX] = "", text[1024], path[600];
    char *pol;
    (void)state;
    snprintf(text, sizeof(text), "[cluster]\nmasters = 3 ;%*s\n", 198 - 13, "");
    assert_int_equal(strlen(strchr(text, '\n') + 1), 199);
    assert_int_equal(scn_load_string(&S, "ok.ini", text, err, sizeof(err)), 0);
    snprintf(text, sizeof(text), "[cluster]\nmasters = 3 ;%*s[shim]\nqueues = 2\n", 199 - 13, "");
    assert_int_equal(scn_load_string(&S, "long.ini", text, err, sizeof(err)), -1);
    assert_string_equal(err, "long.ini:2: line longer than 198 bytes");
    memset(path, 'd', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    assert_int_equal(scn_load_string(&S, path, "[cluster]\n", err, sizeof(err)), 0);
    pol = scn_policy_text(&S, "/tmp/x.sock", "", 1);
    assert_non_null(pol);
    assert_int_equal(strcspn(pol, "\n"), POL_INI_LINE);
    if (pol_load_string(&P, "shim.ini", pol, err, sizeof(err)) != 0)
        fail_msg("policy text does not load: %s", err);
    free(pol);
}

static void test_policy_text(void **state)
{
    char err[SCN_ERR_MAX] = "";
    (void)state;
    load_good();
    roundtrip("/tmp/rift-run/shim.sock", "/tmp/rift-run/shim.pcap", 1234567890123ULL);
    assert_int_equal(P.rules[0].start_ns, POL_START_MANUAL); /* written as start = manual */
    assert_int_equal(P.rules[1].start_ns, 2000000000);
    roundtrip(NULL, NULL, 0);
    roundtrip("/run/x.sock", "", 7);

    /* Probabilities that are not exact in fixed point, every key. */
    assert_int_equal(scn_load_string(&S, "p.ini",
                                     "[fault a]\nfrom = *\nto = m1\ndelay = 1.5ms\n"
                                     "jitter = 333us\ndistribution = pareto\n"
                                     "correlation = 33.333%\nloss = 0.001%\n"
                                     "loss_correlation = 12.3456789%\nreorder = 0.7%\n"
                                     "reorder_correlation = 99.99%\nduplicate = 2.2%\n"
                                     "duplicate_correlation = 1%\nrate = 123456bit\n"
                                     "proto = udp\ndirection = one-way\nstart = 0\n"
                                     "duration = 250ms\n"
                                     "[fault b]\nfrom = m2r1, clients\nto = m1,m3\n"
                                     "loss_model = gemodel\np = 0.3%\nr = 66.6667%\n"
                                     "h = 10%\nk = 99.9999%\nhold = no\n"
                                     "[fault c]\nfrom = clients\nto = *\nhold = yes\n"
                                     "ports = bus\n",
                                     err, sizeof(err)),
                     0);
    roundtrip("/tmp/s.sock", NULL, 3);
    assert_int_equal(P.rules[0].start_ns, 0);
    assert_int_equal(P.rules[0].fx.loss, PCT(0.001));
    assert_int_equal(P.rules[1].fx.ge_r, PCT(66.6667));
    assert_int_equal(P.rules[1].to, 0x5);
    assert_true(P.rules[2].fx.hold);

    /* No faults: the policy has the bus observer alone. */
    assert_int_equal(
        scn_load_string(&S, "none.ini", "[cluster]\nmasters = 1\nreplicas = 0\n", err, sizeof(err)),
        0);
    roundtrip("/tmp/s.sock", NULL, 1);
    assert_int_equal(P.n_rules, 1);

    /* A path inih would cut short is refused rather than mangled. */
    assert_null(scn_policy_text(&S, "/tmp/a ;b.sock", NULL, 1));
    assert_null(scn_policy_text(&S, "/tmp/a.sock", "/tmp/x\ny", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_cluster),
        cmocka_unit_test(test_good_faults),
        cmocka_unit_test(test_good_timeline),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_clients),
        cmocka_unit_test(test_err_sections),
        cmocka_unit_test(test_err_unknown_keys),
        cmocka_unit_test(test_err_cluster_values),
        cmocka_unit_test(test_err_server),
        cmocka_unit_test(test_err_checks),
        cmocka_unit_test(test_err_faults),
        cmocka_unit_test(test_app),
        cmocka_unit_test(test_err_app),
        cmocka_unit_test(test_standalone),
        cmocka_unit_test(test_err_timeline),
        cmocka_unit_test(test_policy_text),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_shim_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
