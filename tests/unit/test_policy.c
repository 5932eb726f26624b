/* test_policy: the policy loader (pol_load_string), its error messages and the value parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policies/policy.h"

/* Fixed point as the loader computes it: percent / 100 * 2^32, rounded. */
#define PCT(x) ((uint64_t)llround((x) / 100.0 * (double)POL_P_ONE))
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* struct policy is ~100 KB: keep it off the test's stack. */
static struct policy P;

/* ---- a good policy, every key ---- */

static const char good_policy[] = "; rift policy used by the unit tests\n" /* 1 */
                                  "[shim]\n"                               /* 2 */
                                  "queue = 3\n"                            /* 3 */
                                  "seed = 42\n"                            /* 4 */
                                  "capture = /tmp/rift-test.pcap\n"        /* 5 */
                                  "control = /tmp/rift-test.sock\n"        /* 6 */
                                  "rules = none\n"                         /* 7 */
                                  "queue_maxlen = 1024\n"                  /* 8 */
                                  "on_overflow = pass\n"                   /* 9 */
                                  "\n"                                     /* 10 */
                                  "[node m1]\n"                            /* 11 */
                                  "addr = 127.0.0.11:7000\n"               /* 12 */
                                  "[node m2]\n"                            /* 13 */
                                  "addr = 127.0.0.12:7001\n"               /* 14 */
                                  "bus = 18000\n"                          /* 15 */
                                  "[node cl]\n"                            /* 16 */
                                  "addr = 127.0.0.20\n"                    /* 17 */
                                  "\n"                                     /* 18 */
                                  "[rule slow]\n"                          /* 19 */
                                  "from = m1, m2\n"                        /* 20 */
                                  "to = *\n"                               /* 21 */
                                  "ports = bus\n"                          /* 22 */
                                  "direction = both\n"                     /* 23 */
                                  "proto = tcp\n"                          /* 24 */
                                  "delay = 20ms\n"                         /* 25 */
                                  "jitter = 5ms\n"                         /* 26 */
                                  "distribution = normal\n"                /* 27 */
                                  "correlation = 25%\n"                    /* 28 */
                                  "loss = 30%\n"                           /* 29 */
                                  "loss_correlation = 10%\n"               /* 30 */
                                  "reorder = 25%\n"                        /* 31 */
                                  "reorder_correlation = 50%\n"            /* 32 */
                                  "duplicate = 1.5%\n"                     /* 33 */
                                  "duplicate_correlation = 5%\n"           /* 34 */
                                  "rate = 1mbit\n"                         /* 35 */
                                  "start = 2.5s\n"                         /* 36 */
                                  "duration = 10s\n"                       /* 37 */
                                  "\n"                                     /* 38 */
                                  "[rule ge]\n"                            /* 39 */
                                  "from = cl\n"                            /* 40 */
                                  "to = m1\n"                              /* 41 */
                                  "ports = client\n"                       /* 42 */
                                  "proto = udp\n"                          /* 43 */
                                  "loss_model = gemodel\n"                 /* 44 */
                                  "p = 1%\n"                               /* 45 */
                                  "r = 10%\n"                              /* 46 */
                                  "h = 20%\n"                              /* 47 */
                                  "k = 99.5%\n"                            /* 48 */
                                  "start = manual\n"                       /* 49 */
                                  "\n"                                     /* 50 */
                                  "[rule freeze]\n"                        /* 51 */
                                  "from = m2\n"                            /* 52 */
                                  "to = m1, cl\n"                          /* 53 */
                                  "hold = yes\n"                           /* 54 */
                                  "duplicate = 100%\n";                    /* 55 */

static void test_good_shim_and_nodes(void **state)
{
    char err[POL_ERR_MAX] = "";
    (void)state;
    assert_int_equal(pol_load_string(&P, "good.ini", good_policy, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_string_equal(P.file, "good.ini");

    assert_int_equal(P.shim.queue, 3);
    assert_true(P.shim.seed_given);
    assert_int_equal(P.shim.seed, 42);
    assert_string_equal(P.shim.capture, "/tmp/rift-test.pcap");
    assert_string_equal(P.shim.control, "/tmp/rift-test.sock");
    assert_int_equal(P.shim.rules, POL_RULES_NONE);
    assert_int_equal(P.shim.queue_maxlen, 1024);
    assert_true(P.shim.overflow_pass);

    assert_int_equal(P.n_nodes, 3);
    assert_string_equal(P.nodes[0].name, "m1");
    assert_int_equal(P.nodes[0].ip, IP4(127, 0, 0, 11));
    assert_int_equal(P.nodes[0].port, 7000);
    assert_int_equal(P.nodes[0].bus, 17000); /* default: port + 10000 */
    assert_string_equal(P.nodes[1].name, "m2");
    assert_int_equal(P.nodes[1].ip, IP4(127, 0, 0, 12));
    assert_int_equal(P.nodes[1].port, 7001);
    assert_int_equal(P.nodes[1].bus, 18000); /* bus = overrides the default */
    assert_string_equal(P.nodes[2].name, "cl");
    assert_int_equal(P.nodes[2].ip, IP4(127, 0, 0, 20));
    assert_int_equal(P.nodes[2].port, 0); /* host only: no ports at all */
    assert_int_equal(P.nodes[2].bus, 0);
    assert_int_equal(pol_find_node(&P, "m2"), 1);
    assert_int_equal(pol_find_node(&P, "nope"), -1);
}

static void test_good_rule_effects(void **state)
{
    char err[POL_ERR_MAX] = "";
    const struct pol_rule *r;
    (void)state;
    assert_int_equal(pol_load_string(&P, "good.ini", good_policy, err, sizeof(err)), 0);
    assert_int_equal(P.n_rules, 3);
    assert_int_equal(pol_find_rule(&P, "slow"), 0);
    assert_int_equal(pol_find_rule(&P, "freeze"), 2);

    r = &P.rules[0];
    assert_string_equal(r->name, "slow");
    assert_int_equal(r->from, 0x3); /* m1, m2 */
    assert_int_equal(r->to, 0x7);   /* *: all three nodes */
    assert_int_equal(r->ports, POL_PORTS_BUS);
    assert_true(r->both);
    assert_int_equal(r->proto, POL_PROTO_TCP);
    assert_int_equal(r->fx.delay_ns, 20000000);
    assert_int_equal(r->fx.jitter_ns, 5000000);
    assert_int_equal(r->fx.dist, POL_DIST_NORMAL);
    assert_int_equal(r->fx.delay_corr, PCT(25));
    assert_int_equal(r->fx.loss_model, POL_LOSS_RANDOM);
    assert_int_equal(r->fx.loss, PCT(30));
    assert_int_equal(r->fx.loss, (uint64_t)llround(0.30 * 4294967296.0));
    assert_int_equal(r->fx.loss_corr, PCT(10));
    assert_int_equal(r->fx.reorder, PCT(25));
    assert_int_equal(r->fx.reorder, POL_P_ONE / 4); /* 25% is exact in fixed point */
    assert_int_equal(r->fx.reorder_corr, POL_P_ONE / 2);
    assert_int_equal(r->fx.duplicate, PCT(1.5));
    assert_int_equal(r->fx.duplicate_corr, PCT(5));
    assert_int_equal(r->fx.rate_bps, 1000000);
    assert_false(r->fx.hold);
    assert_int_equal(r->start_ns, 2500000000);
    assert_int_equal(r->duration_ns, 10000000000ULL);
    /* Line of each key, used for errors found after parsing. */
    assert_int_equal(r->key_line[PK_FROM], 20);
    assert_int_equal(r->key_line[PK_DELAY], 25);
    assert_int_equal(r->key_line[PK_DURATION], 37);
    assert_int_equal(r->key_line[PK_HOLD], 0);

    r = &P.rules[1];
    assert_int_equal(r->from, 0x4); /* cl */
    assert_int_equal(r->to, 0x1);   /* m1 */
    assert_int_equal(r->ports, POL_PORTS_CLIENT);
    assert_false(r->both); /* one-way is the default */
    assert_int_equal(r->proto, POL_PROTO_UDP);
    assert_int_equal(r->fx.loss_model, POL_LOSS_GEMODEL);
    assert_int_equal(r->fx.ge_p, PCT(1));
    assert_int_equal(r->fx.ge_r, PCT(10));
    assert_int_equal(r->fx.ge_h, PCT(20));
    assert_int_equal(r->fx.ge_k, PCT(99.5));
    assert_int_equal(r->fx.loss, 0);
    assert_int_equal(r->fx.delay_ns, 0);
    assert_int_equal(r->start_ns, POL_START_MANUAL);
    assert_int_equal(r->duration_ns, 0);

    r = &P.rules[2];
    assert_int_equal(r->from, 0x2);
    assert_int_equal(r->to, 0x5);              /* m1, cl */
    assert_int_equal(r->ports, POL_PORTS_ALL); /* default */
    assert_int_equal(r->proto, POL_PROTO_TCP); /* default */
    assert_true(r->fx.hold);
    assert_int_equal(r->fx.duplicate, POL_P_ONE);
    assert_int_equal(r->fx.ge_k, POL_P_ONE); /* defaults of a random-loss rule */
    assert_int_equal(r->fx.ge_h, 0);
    assert_int_equal(r->fx.dist, POL_DIST_UNIFORM);
    assert_int_equal(r->start_ns, 0);
}

/* Defaults when [shim] is absent, and comments/blank lines are ignored. */
static void test_defaults(void **state)
{
    char err[POL_ERR_MAX] = "";
    (void)state;
    assert_int_equal(pol_load_string(&P, "min.ini",
                                     "# comment\n"
                                     "[node a]\naddr = 10.0.0.1:6379\n"
                                     "[node b]\naddr = 10.0.0.2:6379 ; inline comment\n"
                                     "[rule r]\nfrom = a\nto = b\nloss = 0.5%\n",
                                     err, sizeof(err)),
                     0);
    assert_int_equal(P.shim.queue, 0);
    assert_false(P.shim.seed_given);
    assert_int_equal(P.shim.rules, POL_RULES_IPTABLES);
    assert_int_equal(P.shim.queue_maxlen, 65536);
    assert_false(P.shim.overflow_pass);
    assert_string_equal(P.shim.control, "/run/rift/shim.sock");
    assert_string_equal(P.shim.capture, "");
    assert_int_equal(P.nodes[1].port, 6379);
    assert_int_equal(P.nodes[1].bus, 16379);
    assert_int_equal(P.rules[0].fx.loss, PCT(0.5));
    assert_int_equal(P.rules[0].start_ns, 0); /* active from the start */
}

/* ---- bad files: exact "NAME:LINE: " prefix plus a word of the message ---- */

static void expect_error(const char *text, int line, const char *word, int caller)
{
    char err[POL_ERR_MAX] = "", prefix[64];
    int rc = pol_load_string(&P, "bad.ini", text, err, sizeof(err));
    snprintf(prefix, sizeof(prefix), "bad.ini:%d: ", line);
    if (rc != -1 || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, word))
        fail_msg("(test line %d) expected rc -1 and \"%s...%s...\", got rc %d \"%s\"", caller,
                 prefix, word, rc, err);
}
#define EXPECT_ERR(text, line, word) expect_error(text, line, word, __LINE__)

/* Lines 1-4: two good nodes; lines 5-7: the start of a good rule. */
#define NODES "[node a]\naddr = 127.0.0.1:7000\n[node b]\naddr = 127.0.0.2:7000\n"
#define RULE NODES "[rule r]\nfrom = a\nto = b\n"

/* Errors about a section (unknown, duplicate, node without addr, rule
 * without from/to) carry the line of its [header]. */
static void test_err_unknown_section(void **state)
{
    (void)state;
    EXPECT_ERR("[shim]\nqueue = 1\n[bogus]\nx = 1\n" RULE, 3, "unknown section [bogus]");
    /* An empty unknown section is an error too. */
    EXPECT_ERR("[bogus]\n" RULE, 1, "unknown section [bogus]");
    /* A key before any section. */
    EXPECT_ERR("queue = 1\n" RULE, 1, "outside any section");
}

static void test_err_unknown_keys(void **state)
{
    (void)state;
    EXPECT_ERR("[shim]\nqueue = 1\nqueue_count = 2\n" RULE, 3,
               "unknown key 'queue_count' in [shim]");
    EXPECT_ERR("[shim]\nqueues = 0\n" RULE, 2, "queues: expected 1 to 64");
    EXPECT_ERR("[shim]\nqueue = 65535\nqueues = 2\n" RULE, 3, "past queue 65535");
    EXPECT_ERR(RULE "speed = 10\n", 8, "unknown key 'speed'");
    EXPECT_ERR(NODES "[node c]\naddr = 127.0.0.3\nport = 7000\n[rule r]\nfrom = a\nto = b\n", 7,
               "unknown key 'port' in [node c]");
}

static void test_err_bad_values(void **state)
{
    (void)state;
    EXPECT_ERR(RULE "delay = 10min\n", 8, "bad time '10min'");
    EXPECT_ERR(RULE "delay = 10\n", 8, "bad time");
    EXPECT_ERR(RULE "loss = 101%\n", 8, "percentage between 0% and 100%");
    EXPECT_ERR(RULE "loss = 30\n", 8, "percentage");
    EXPECT_ERR(RULE "rate = 1mbps\n", 8, "bad rate '1mbps'");
    EXPECT_ERR(RULE "ports = some\n", 8, "bus, client or all");
    EXPECT_ERR(RULE "direction = up\n", 8, "one-way or both");
    EXPECT_ERR(RULE "proto = icmp\n", 8, "tcp or udp");
    EXPECT_ERR(RULE "delay = 1ms\njitter = 1ms\ndistribution = cauchy\n", 10,
               "uniform, normal or pareto");
    EXPECT_ERR(RULE "hold = maybe\n", 8, "yes or no");
    EXPECT_ERR(RULE "start = soon\n", 8, "start:");
    EXPECT_ERR(RULE "duration = 0s\n", 8, "greater than 0");
    EXPECT_ERR("[shim]\nqueue = 70000\n" RULE, 2, "queue:");
    EXPECT_ERR("[shim]\nqueue_maxlen = 8\n" RULE, 2, "queue_maxlen");
    EXPECT_ERR("[shim]\non_overflow = queue\n" RULE, 2, "drop or pass");
    EXPECT_ERR("[node a]\naddr = 127.0.0.1:70000\n", 2, "addr:");
    EXPECT_ERR(NODES "[node c]\naddr = 127.0.0.3:7000\nbus = 0\n", 7, "bus:");
}

static void test_err_duplicates(void **state)
{
    (void)state;
    EXPECT_ERR(RULE "delay = 10ms\ndelay = 20ms\n", 9, "'delay' is given twice in [rule r]");
    EXPECT_ERR("[shim]\nseed = 1\nqueue = 2\nseed = 3\n" RULE, 4, "'seed' is given twice");
    EXPECT_ERR("[node a]\naddr = 127.0.0.1:7000\naddr = 127.0.0.1:7001\n", 3,
               "'addr' is given twice");
    /* Section headers on lines 1, 3, 5: the duplicate is reported on its
     * header. */
    EXPECT_ERR(NODES "[node a]\naddr = 127.0.0.3:7000\n[rule r]\nfrom = a\nto = b\n", 5,
               "node 'a' is declared twice");
    EXPECT_ERR(RULE "loss = 1%\n[node c]\naddr = 127.0.0.3\n[rule r]\nloss = 2%\n", 11,
               "rule 'r' is declared twice");
    /* A section repeated right after itself is not merged into the first. */
    EXPECT_ERR(RULE "[rule r]\nloss = 2%\n", 8, "rule 'r' is declared twice");
    EXPECT_ERR("[node a]\naddr = 127.0.0.1:7000\n[node a]\nbus = 1234\n", 3,
               "node 'a' is declared twice");
    /* Same address under two names: line of the second node's header. */
    EXPECT_ERR(NODES "[node c]\naddr = 127.0.0.2:7000\n[rule r]\nfrom = a\nto = b\n", 5,
               "same address as node 'b'");
}

static void test_err_unknown_node(void **state)
{
    (void)state;
    /* The error is on the from/to line that names the node. */
    EXPECT_ERR(NODES "[rule r]\nfrom = a, zz\nto = b\n", 6, "unknown node 'zz'");
    EXPECT_ERR(NODES "[rule r]\nfrom = a\nloss = 1%\nto = *, yy\n", 8, "unknown node 'yy'");
    EXPECT_ERR(NODES "[rule r]\nfrom = a\nto = a\n", 7, "same single node");
}

static void test_err_rule_checks(void **state)
{
    (void)state;
    EXPECT_ERR(RULE "loss = 1%\njitter = 2ms\n", 9, "jitter needs a delay");
    EXPECT_ERR(RULE "jitter = 2ms\ndelay = 1ms\n", 8, "uniform jitter larger than the delay");
    EXPECT_ERR(RULE "loss = 1%\nreorder = 5%\n", 9, "reorder needs a delay");
    EXPECT_ERR(RULE "delay = 5ms\ndistribution = normal\n", 9, "distribution needs a jitter");
    EXPECT_ERR(RULE "loss_model = gemodel\np = 1%\n", 8, "needs p (good->bad) and r");
    EXPECT_ERR(RULE "r = 10%\nloss_model = gemodel\n", 9, "needs p (good->bad) and r");
    EXPECT_ERR(RULE "loss_model = gemodel\np = 1%\nr = 2%\nloss = 5%\n", 11,
               "takes p, r, h, k instead of loss");
    EXPECT_ERR(RULE "delay = 1ms\np = 1%\n", 9, "p is a Gilbert-Elliott parameter");
    EXPECT_ERR(RULE "k = 99%\n", 8, "k is a Gilbert-Elliott parameter");
    EXPECT_ERR(RULE "delay = 10ms\nhold = yes\n", 9, "hold cannot be combined");
    EXPECT_ERR(RULE "hold = yes\nrate = 1mbit\n", 8, "hold cannot be combined");
    EXPECT_ERR(RULE "loss_correlation = 5%\n", 8, "loss_correlation needs a loss");
    EXPECT_ERR(RULE "duplicate_correlation = 5%\n", 8, "duplicate_correlation needs");
    EXPECT_ERR(RULE "messages = PING\n", 8, "messages needs ports = bus");
    EXPECT_ERR(RULE "proto = udp\nopened_by = from\n", 9, "opened_by needs proto = tcp");
    /* a UDP datagram is no bus message: the TCP checksum rewrite would
     * corrupt it */
    EXPECT_ERR(RULE "ports = bus\nproto = udp\nmessages = PING\n", 10,
               "messages needs proto = tcp");
    EXPECT_ERR(RULE "opened_by = me\n", 8, "expected any, from or to");
    EXPECT_ERR(RULE "ports = bus\nmessages = PING, BOGUS\n", 9,
               "unknown cluster-bus message type 'BOGUS'");
    EXPECT_ERR(RULE "ports = bus\nmessages = PONG\nduplicate = 5%\n", 9, "not with reorder");
}

static void test_err_structure(void **state)
{
    (void)state;
    /* A line without '=' is an inih syntax error on that line. */
    EXPECT_ERR(NODES "[rule r]\nfrom = a\nthis line has no equals sign\nto = b\n", 7,
               "syntax error");
    /* Node without addr: reported on its header. */
    EXPECT_ERR("[node a]\naddr = 127.0.0.1:7000\n[node b]\nbus = 17000\n"
               "[rule r]\nfrom = a\nto = b\n",
               3, "[node b] needs addr");
    /* An empty node section still declares the node, which then has no addr. */
    EXPECT_ERR(NODES "[node c]\n[rule r]\nfrom = a\nto = c\n", 5, "[node c] needs addr");
    EXPECT_ERR(NODES "[node c]\naddr = 0.0.0.0:7000\n", 6, "0.0.0.0");
    EXPECT_ERR(NODES "[node c]\naddr = 127.0.0.3\nbus = 17000\n[rule r]\nfrom = a\nto = c\n", 5,
               "no client port");
    /* An indented key is a key, not the continuation of the line before. */
    EXPECT_ERR(RULE "loss = 5%\n  delay = 1\n", 9, "bad time");
    /* No rule at all: reported on the last line of the file. */
    EXPECT_ERR(NODES, 4, "no [rule NAME] section");
    EXPECT_ERR("", 1, "no [rule NAME] section");
    /* Rule-level errors use the rule's header line. */
    EXPECT_ERR(NODES "[rule r]\nfrom = a\n", 5, "needs both from = and to =");
    /* The first error wins, even when later lines are also bad. */
    EXPECT_ERR(RULE "delay = 1h\nloss = 200%\n", 8, "bad time");
}

/* ---- value parsers ---- */

static void test_parse_time(void **state)
{
    uint64_t ns = 123;
    (void)state;
    assert_int_equal(pol_parse_time("20ms", &ns), 0);
    assert_int_equal(ns, 20000000);
    assert_int_equal(pol_parse_time("1.5s", &ns), 0);
    assert_int_equal(ns, 1500000000);
    assert_int_equal(pol_parse_time("250us", &ns), 0);
    assert_int_equal(ns, 250000);
    assert_int_equal(pol_parse_time("7ns", &ns), 0);
    assert_int_equal(ns, 7);
    assert_int_equal(pol_parse_time("0", &ns), 0); /* a bare 0 needs no unit */
    assert_int_equal(ns, 0);
    assert_int_equal(pol_parse_time("86400s", &ns), 0); /* one day is the limit */
    assert_int_equal(ns, 86400000000000ULL);

    ns = 99;
    assert_int_equal(pol_parse_time("-1ms", &ns), -1);
    assert_int_equal(pol_parse_time("5", &ns), -1);
    assert_int_equal(pol_parse_time("ms", &ns), -1);
    assert_int_equal(pol_parse_time("", &ns), -1);
    assert_int_equal(pol_parse_time("10m", &ns), -1);
    assert_int_equal(pol_parse_time("20msx", &ns), -1);
    assert_int_equal(pol_parse_time("86401s", &ns), -1);
    assert_int_equal(pol_parse_time("nan ms", &ns), -1);
    assert_int_equal(ns, 99); /* untouched on error */
}

static void test_parse_prob(void **state)
{
    uint64_t p = 7;
    (void)state;
    assert_int_equal(pol_parse_prob("30%", &p), 0);
    assert_int_equal(p, (uint64_t)llround(0.30 * 4294967296.0));
    assert_int_equal(pol_parse_prob("100%", &p), 0);
    assert_int_equal(p, POL_P_ONE);
    assert_int_equal(pol_parse_prob("0%", &p), 0);
    assert_int_equal(p, 0);
    assert_int_equal(pol_parse_prob("50%", &p), 0);
    assert_int_equal(p, UINT64_C(1) << 31);
    assert_int_equal(pol_parse_prob("0.001%", &p), 0);
    assert_int_equal(p, 42950); /* 2^32 * 1e-5 = 42949.67 */

    p = 7;
    assert_int_equal(pol_parse_prob("100.5%", &p), -1);
    assert_int_equal(pol_parse_prob("10%%x", &p), -1);
    assert_int_equal(pol_parse_prob("10%x", &p), -1);
    assert_int_equal(pol_parse_prob("30", &p), -1);
    assert_int_equal(pol_parse_prob("-1%", &p), -1);
    assert_int_equal(pol_parse_prob("%", &p), -1);
    assert_int_equal(p, 7);
}

static void test_parse_rate(void **state)
{
    uint64_t bps = 5;
    (void)state;
    assert_int_equal(pol_parse_rate("1mbit", &bps), 0);
    assert_int_equal(bps, 1000000);
    assert_int_equal(pol_parse_rate("500kbit", &bps), 0);
    assert_int_equal(bps, 500000);
    assert_int_equal(pol_parse_rate("2.5gbit", &bps), 0);
    assert_int_equal(bps, 2500000000ULL);
    assert_int_equal(pol_parse_rate("8bit", &bps), 0); /* one byte per second */
    assert_int_equal(bps, 8);
    assert_int_equal(pol_parse_rate("1MBit", &bps), 0); /* units are case-blind */
    assert_int_equal(bps, 1000000);

    bps = 5;
    assert_int_equal(pol_parse_rate("7bit", &bps), -1);
    assert_int_equal(pol_parse_rate("1mbps", &bps), -1);
    assert_int_equal(pol_parse_rate("1000", &bps), -1);
    assert_int_equal(pol_parse_rate("1001gbit", &bps), -1);
    assert_int_equal(pol_parse_rate("-1mbit", &bps), -1);
    assert_int_equal(pol_parse_rate("", &bps), -1);
    assert_int_equal(bps, 5);
}

static void test_parse_addr(void **state)
{
    uint32_t ip = 1;
    uint16_t port = 1;
    (void)state;
    assert_int_equal(pol_parse_addr("127.0.0.1:7000", &ip, &port), 0);
    assert_int_equal(ip, IP4(127, 0, 0, 1));
    assert_int_equal(port, 7000);
    assert_int_equal(pol_parse_addr("10.1.2.3", &ip, &port), 0);
    assert_int_equal(ip, IP4(10, 1, 2, 3));
    assert_int_equal(port, 0);
    /* The bus port (port + 10000) must fit in 16 bits. */
    assert_int_equal(pol_parse_addr("192.168.0.1:55535", &ip, &port), 0);
    assert_int_equal(port, 55535);

    assert_int_equal(pol_parse_addr("127.0.0.1:70000", &ip, &port), -1);
    assert_int_equal(pol_parse_addr("127.0.0.1:55536", &ip, &port), -1);
    assert_int_equal(pol_parse_addr("127.0.0.1:0", &ip, &port), -1);
    assert_int_equal(pol_parse_addr("127.0.0.1:", &ip, &port), -1);
    assert_int_equal(pol_parse_addr("127.0.0.1:80x", &ip, &port), -1);
    assert_int_equal(pol_parse_addr(":7000", &ip, &port), -1);
    assert_int_equal(pol_parse_addr("localhost:7000", &ip, &port), -1);
    assert_int_equal(pol_parse_addr("127.0.0.256", &ip, &port), -1);
    assert_int_equal(pol_parse_addr("", &ip, &port), -1);
}

static void test_rule_set_and_keys(void **state)
{
    struct pol_rule r;
    char err[POL_ERR_MAX] = "";
    (void)state;
    memset(&r, 0, sizeof(r));
    /* The control protocol's `set` goes through pol_rule_set. */
    assert_int_equal(pol_rule_set(&r, "delay", "30ms", err, sizeof(err)), 0);
    assert_int_equal(r.fx.delay_ns, 30000000);
    assert_int_equal(pol_rule_set(&r, "loss", "12.5%", err, sizeof(err)), 0);
    assert_int_equal(r.fx.loss, POL_P_ONE / 8);
    assert_int_equal(pol_rule_set(&r, "delay", "30", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "delay: bad time '30'"));
    assert_int_equal(r.fx.delay_ns, 30000000);
    assert_int_equal(pol_rule_set(&r, "bogus", "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown key 'bogus'"));

    assert_int_equal(pol_key_index("from"), PK_FROM);
    assert_int_equal(pol_key_index("duplicate_correlation"), PK_DUP_CORR);
    assert_int_equal(pol_key_index("duration"), PK_DURATION);
    assert_int_equal(pol_key_index("Delay"), -1); /* keys are case-sensitive */
    assert_string_equal(pol_dist_name(POL_DIST_PARETO), "pareto");
    assert_string_equal(pol_dist_name(POL_DIST_NORMAL), "normal");
    assert_string_equal(pol_dist_name(POL_DIST_UNIFORM), "uniform");
}

static struct policy RT1, RT2;

/* load, write, load: the same policy. */
static void roundtrip(const char *name, const char *text)
{
    char err[POL_ERR_MAX] = "", *buf = NULL;
    size_t len = 0;
    FILE *o;
    if (pol_load_string(&RT1, name, text, err, sizeof(err)) < 0)
        fail_msg("%s: %s", name, err);
    o = open_memstream(&buf, &len);
    assert_int_equal(pol_write(o, &RT1), 0);
    fclose(o);
    if (pol_load_string(&RT2, name, buf, err, sizeof(err)) < 0)
        fail_msg("%s written back does not load: %s\n%s", name, err, buf);
    assert_memory_equal(&RT1.shim, &RT2.shim, sizeof(RT1.shim));
    assert_int_equal(RT1.n_nodes, RT2.n_nodes);
    for (int i = 0; i < RT1.n_nodes; i++) {
        assert_string_equal(RT1.nodes[i].name, RT2.nodes[i].name);
        assert_int_equal(RT1.nodes[i].ip, RT2.nodes[i].ip);
        assert_int_equal(RT1.nodes[i].port, RT2.nodes[i].port);
        assert_int_equal(RT1.nodes[i].bus, RT2.nodes[i].bus);
    }
    assert_int_equal(RT1.n_rules, RT2.n_rules);
    for (int i = 0; i < RT1.n_rules; i++) {
        const struct pol_rule *a = &RT1.rules[i], *b = &RT2.rules[i];
        assert_string_equal(a->name, b->name);
        for (int k = 0; k < PK__COUNT; k++)
            if (k != PK_START) /* written always: a scenario's default differs */
                assert_int_equal(!!a->key_line[k], !!b->key_line[k]);
        assert_int_equal(a->from, b->from);
        assert_int_equal(a->to, b->to);
        assert_int_equal(a->ports, b->ports);
        assert_int_equal(a->both, b->both);
        assert_int_equal(a->opened_by, b->opened_by);
        assert_int_equal(a->proto, b->proto);
        assert_memory_equal(&a->fx, &b->fx, sizeof(a->fx));
        assert_int_equal(a->start_ns, b->start_ns);
        assert_int_equal(a->duration_ns, b->duration_ns);
        assert_int_equal(a->messages, b->messages);
    }
    free(buf);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

static void test_write_roundtrip(void **state)
{
    static const char *const examples[] = {"delay-bus", "lossy-link-gemodel", "reorder-client",
                                           "partition-minority", "hold-pair"};
    char path[512];
    (void)state;
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
        char *text;
        snprintf(path, sizeof(path), "%s/../../../policies/examples/%s.ini", DATA_DIR, examples[i]);
        text = slurp(path);
        roundtrip(path, text);
        free(text);
    }
    roundtrip("every-key.ini",
              "[shim]\nqueue = 7\nqueues = 3\nseed = 99\ncapture = /tmp/x.pcap\n"
              "control = /tmp/x.sock\nrules = none\nqueue_maxlen = 1000\non_overflow = pass\n"
              "realtime = no\ntimer_spin = 0\nbusy_poll = 150us\n"
              "[node a]\naddr = 127.0.0.11:7000\nbus = 17001\n[node b]\naddr = 127.0.0.12\n"
              "[rule r1]\nfrom = a\nto = b\nports = client\ndirection = both\nproto = udp\n"
              "delay = 1.5ms\njitter = 333us\ndistribution = pareto\ncorrelation = 33.333%\n"
              "loss = 0.001%\nloss_correlation = 12.3456789%\nreorder = 0.7%\n"
              "reorder_correlation = 99.99%\nduplicate = 2.2%\nduplicate_correlation = 1%\n"
              "rate = 123456bit\nstart = manual\nduration = 250ms\n"
              "[rule r2]\nfrom = *\nto = a\nloss_model = gemodel\np = 0.3%\nr = 66.6667%\n"
              "h = 10%\nk = 99.9999%\nstart = 2s\n"
              "[rule r3]\nfrom = b\nto = a\nports = bus\nmessages = PONG, FAILOVER_AUTH_ACK\n"
              "hold = yes\n[rule r4]\nfrom = a\nto = b\nopened_by = to\nloss = 1%\n");
}

/* to = others: every node the other side does not name, never one named
 * clients or app; both sides others, or others of nothing, refused. */
static void test_others(void **state)
{
    static const char head[] = "[node a]\naddr = 127.0.0.11\n[node b]\naddr = 127.0.0.12\n"
                               "[node c]\naddr = 127.0.0.13\n[node clients]\naddr = 127.0.0.100\n";
    char text[1024], err[POL_ERR_MAX];
    (void)state;
    snprintf(text, sizeof(text),
             "%s[rule r]\nfrom = a\nto = others\ndirection = both\nloss = 100%%\n", head);
    assert_int_equal(pol_load_string(&P, "o.ini", text, err, sizeof(err)), 0);
    assert_int_equal(P.rules[0].from, 1u);
    assert_int_equal(P.rules[0].to, 6u); /* b and c, not clients */
    snprintf(text, sizeof(text), "%s[rule r]\nfrom = others\nto = c\nloss = 5%%\n", head);
    assert_int_equal(pol_load_string(&P, "o.ini", text, err, sizeof(err)), 0);
    assert_int_equal(P.rules[0].from, 3u);
    snprintf(text, sizeof(text), "%s[rule r]\nfrom = others\nto = others\nloss = 5%%\n", head);
    assert_int_equal(pol_load_string(&P, "o.ini", text, err, sizeof(err)), -1);
    assert_string_equal(err, "o.ini:11: from and to cannot both be others");
    snprintf(text, sizeof(text), "%s[rule r]\nfrom = a, b, c\nto = others\nloss = 5%%\n", head);
    assert_int_equal(pol_load_string(&P, "o.ini", text, err, sizeof(err)), -1);
    assert_string_equal(err, "o.ini:11: others: the other side names every node");
    assert_int_equal(
        pol_load_string(&P, "o.ini", "[node others]\naddr = 127.0.0.1\n", err, sizeof(err)), -1);
    assert_string_equal(err, "o.ini:1: 'others' cannot be a node name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_shim_and_nodes),
        cmocka_unit_test(test_good_rule_effects),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_err_unknown_section),
        cmocka_unit_test(test_err_unknown_keys),
        cmocka_unit_test(test_err_bad_values),
        cmocka_unit_test(test_err_duplicates),
        cmocka_unit_test(test_err_unknown_node),
        cmocka_unit_test(test_err_rule_checks),
        cmocka_unit_test(test_err_structure),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_parse_prob),
        cmocka_unit_test(test_parse_rate),
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_rule_set_and_keys),
        cmocka_unit_test(test_write_roundtrip),
        cmocka_unit_test(test_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
