/* test_match: IPv4 parsing, summaries, rule matching (nodes, port class, direction), patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../proto/bus.h"
#include "../../shim/match.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define M1 IP4(127, 0, 0, 11)
#define M2 IP4(127, 0, 0, 12)
#define CL IP4(127, 0, 0, 20)
#define CL2 IP4(127, 0, 0, 21)
#define TCP POL_PROTO_TCP
#define UDP POL_PROTO_UDP

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

static unsigned char pkt[4096];

static void put16(unsigned char *b, uint16_t v)
{
    b[0] = (unsigned char)(v >> 8);
    b[1] = (unsigned char)v;
}

static void put32(unsigned char *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b + 2, (uint16_t)v);
}

/* A whole IPv4 packet in pkt: header of 20 + 4 * ip_opt words, TCP header of
 * 20 + 4 * tcp_opt words (or UDP), payload of zeros. Returns its length. */
static size_t build(uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                    size_t payload, int ip_opt, int tcp_opt, uint8_t flags, uint32_t seq)
{
    size_t ihl = 20 + 4 * (size_t)ip_opt;
    size_t l4 = proto == TCP ? 20 + 4 * (size_t)tcp_opt : 8;
    size_t len = ihl + l4 + payload;
    unsigned char *t = pkt + ihl;
    memset(pkt, 0, len);
    pkt[0] = (unsigned char)(0x40 | (ihl / 4));
    put16(pkt + 2, (uint16_t)len);
    put16(pkt + 4, 0x1234); /* id */
    pkt[6] = 0x40;          /* DF */
    pkt[8] = 64;
    pkt[9] = proto;
    put32(pkt + 12, src);
    put32(pkt + 16, dst);
    put16(t, sport);
    put16(t + 2, dport);
    if (proto == TCP) {
        put32(t + 4, seq);
        t[12] = (unsigned char)((l4 / 4) << 4);
        t[13] = flags;
    } else {
        put16(t + 4, (uint16_t)(8 + payload));
    }
    return len;
}

/* ---- pkt_parse ---- */

static void test_parse_tcp(void **state)
{
    struct pkt_info pi;
    size_t len =
        build(TCP, IP4(127, 0, 0, 14), 41234, M2, 17000, 100, 0, 0, F_PSH | F_ACK, 0xdeadbeef);
    (void)state;
    assert_int_equal(len, 140);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    assert_int_equal(pi.saddr, IP4(127, 0, 0, 14));
    assert_int_equal(pi.daddr, M2);
    assert_int_equal(pi.sport, 41234);
    assert_int_equal(pi.dport, 17000);
    assert_int_equal(pi.proto, TCP);
    assert_int_equal(pi.tcp_flags, F_PSH | F_ACK);
    assert_int_equal(pi.tcp_seq, 0xdeadbeef);
    assert_int_equal(pi.ip_len, 140);
    assert_int_equal(pi.l4_off, 20);
    assert_int_equal(pi.data_off, 40);

    /* IP options (ihl 6) and TCP options (data offset 8) move the offsets. */
    len = build(TCP, M1, 7000, M2, 50000, 10, 1, 3, F_SYN, 1);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    assert_int_equal(pi.l4_off, 24);
    assert_int_equal(pi.data_off, 24 + 32);
    assert_int_equal(pi.ip_len, 24 + 32 + 10);
    assert_int_equal(pi.sport, 7000);
    assert_int_equal(pi.dport, 50000);

    /* Only the headers need to be there (NFQUEUE may copy a prefix). */
    len = build(TCP, M1, 1, M2, 2, 1000, 0, 0, F_ACK, 5);
    assert_int_equal(pkt_parse(pkt, 40, &pi), 0);
    assert_int_equal(pi.ip_len, 1040);
}

static void test_parse_udp(void **state)
{
    struct pkt_info pi;
    size_t len = build(UDP, CL, 5353, M1, 7000, 12, 0, 0, 0, 0);
    (void)state;
    assert_int_equal(len, 40);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    assert_int_equal(pi.proto, UDP);
    assert_int_equal(pi.saddr, CL);
    assert_int_equal(pi.daddr, M1);
    assert_int_equal(pi.sport, 5353);
    assert_int_equal(pi.dport, 7000);
    assert_int_equal(pi.l4_off, 20);
    assert_int_equal(pi.data_off, 28);
    assert_int_equal(pi.ip_len, 40);
    assert_int_equal(pi.tcp_flags, 0);
    assert_int_equal(pi.tcp_seq, 0);
}

static void test_parse_fragments(void **state)
{
    struct pkt_info pi;
    size_t len = build(UDP, M1, 1000, M2, 2000, 100, 0, 0, 0, 0);
    (void)state;
    /* First fragment (MF set, offset 0) still carries the ports. */
    pkt[6] = 0x20;
    pkt[7] = 0;
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    assert_int_equal(pi.dport, 2000);
    /* Any later fragment: offset in the low byte or in the high 5 bits. */
    pkt[7] = 1;
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
    pkt[6] = 0x01;
    pkt[7] = 0;
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
    pkt[6] = 0x1f;
    pkt[7] = 0xff;
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
}

static void test_parse_rejects(void **state)
{
    struct pkt_info pi;
    size_t len;
    (void)state;
    len = build(TCP, M1, 1, M2, 2, 0, 0, 0, F_SYN, 0);
    assert_int_equal(pkt_parse(pkt, 19, &pi), -1); /* shorter than an IPv4 header */
    assert_int_equal(pkt_parse(pkt, 39, &pi), -1); /* TCP header cut short */
    assert_int_equal(pkt_parse(pkt, 0, &pi), -1);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0); /* the same packet, whole */

    pkt[0] = 0x65; /* IPv6 version nibble */
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
    pkt[0] = 0x44; /* IHL 4: below the minimum of 5 */
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
    pkt[0] = 0x4f; /* IHL 15 = 60 bytes, more than the 40 there */
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
    pkt[0] = 0x45;

    pkt[20 + 12] = 4 << 4; /* TCP data offset 4 (< 5) */
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
    pkt[20 + 12] = 0;
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
    pkt[20 + 12] = 5 << 4;
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);

    put16(pkt + 2, 30); /* total length shorter than the headers */
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);
    put16(pkt + 2, 40);

    pkt[9] = 1; /* ICMP: no ports */
    assert_int_equal(pkt_parse(pkt, len, &pi), -1);

    len = build(UDP, M1, 1, M2, 2, 0, 0, 0, 0, 0);
    assert_int_equal(pkt_parse(pkt, 27, &pi), -1); /* UDP header cut short */
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
}

/* ---- pkt_summary ---- */

static void test_summary(void **state)
{
    struct pkt_info pi;
    char out[128];
    size_t len;
    (void)state;
    len = build(TCP, IP4(127, 0, 0, 14), 41234, M2, 17000, 2300, 0, 0, F_PSH | F_ACK, 1234);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    assert_int_equal(pkt_summary(&pi, out, sizeof(out)),
                     strlen("127.0.0.14:41234>127.0.0.12:17000 tcp [PA] seq 1234 len 2300"));
    assert_string_equal(out, "127.0.0.14:41234>127.0.0.12:17000 tcp [PA] seq 1234 len 2300");

    len = build(TCP, IP4(10, 200, 3, 255), 1, M1, 65535, 0, 0, 3, 0x3f, 4294967295u);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    pkt_summary(&pi, out, sizeof(out));
    assert_string_equal(out, "10.200.3.255:1>127.0.0.11:65535 tcp [FSRPAU] seq 4294967295 len 0");

    len = build(TCP, M1, 7000, M2, 40000, 0, 0, 0, 0, 0);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    pkt_summary(&pi, out, sizeof(out));
    assert_string_equal(out, "127.0.0.11:7000>127.0.0.12:40000 tcp [] seq 0 len 0");

    len = build(UDP, CL, 5000, M1, 7000, 12, 0, 0, 0, 0);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    pkt_summary(&pi, out, sizeof(out));
    assert_string_equal(out, "127.0.0.20:5000>127.0.0.11:7000 udp len 12");

    /* A short buffer truncates; the return value is the full length. */
    assert_int_equal(pkt_summary(&pi, out, 10),
                     strlen("127.0.0.20:5000>127.0.0.11:7000 udp len 12"));
    assert_string_equal(out, "127.0.0.2");
}

/* ---- match_rule ---- */

static struct policy P;
static struct match_index MI;

static const char match_policy[] = "[node m1]\naddr = 127.0.0.11:7000\n"
                                   "[node m2]\naddr = 127.0.0.12:7000\n"
                                   "[node cl]\naddr = 127.0.0.20\n"
                                   "[node cl2]\naddr = 127.0.0.21\n"
                                   "[rule bus1]\nfrom = m1\nto = m2\nports = bus\n"
                                   "[rule busboth]\nfrom = m1\nto = m2\nports = bus\n"
                                   "direction = both\n"
                                   "[rule client]\nfrom = m1\nto = m2\nports = client\n"
                                   "[rule clm1]\nfrom = cl\nto = m1\nports = client\n"
                                   "[rule clm1both]\nfrom = cl\nto = m1\nports = client\n"
                                   "direction = both\n"
                                   "[rule udp]\nfrom = m1\nto = m2\nproto = udp\n"
                                   "[rule all]\nfrom = *\nto = *\n"
                                   "[rule mesh]\nfrom = m1, m2\nto = m1, m2\nports = bus\n"
                                   "direction = both\n"
                                   "[rule hosts]\nfrom = cl\nto = cl2\n"
                                   "[rule dialfrom]\nfrom = m1\nto = m2\nports = bus\n"
                                   "opened_by = from\n"
                                   "[rule dialto]\nfrom = m1\nto = m2\nports = bus\n"
                                   "opened_by = to\n"
                                   "[rule dialboth]\nfrom = m1\nto = m2\nports = bus\n"
                                   "direction = both\nopened_by = from\n"
                                   "[rule dialcl]\nfrom = cl\nto = m1\nports = client\n"
                                   "direction = both\nopened_by = to\n"
                                   "[rule dialhosts]\nfrom = cl\nto = cl2\nopened_by = from\n";

static int setup_policy(void **state)
{
    char err[POL_ERR_MAX] = "";
    (void)state;
    if (pol_load_string(&P, "match.ini", match_policy, err, sizeof(err)) < 0) {
        print_error("%s\n", err);
        return -1;
    }
    match_index_build(&P, &MI);
    return 0;
}

/* Does rule NAME select a proto packet src:sport > dst:dport? */
static bool sel(const char *name, uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
                uint16_t dport)
{
    struct pkt_info pi;
    int ri = pol_find_rule(&P, name);
    size_t len = build(proto, src, sport, dst, dport, 0, 0, 0, F_ACK, 1);
    assert_true(ri >= 0);
    assert_int_equal(pkt_parse(pkt, len, &pi), 0);
    return match_rule(&P, &P.rules[ri], &pi, match_nodes_at(&MI, pi.saddr),
                      match_nodes_at(&MI, pi.daddr));
}

static void test_index(void **state)
{
    (void)state;
    assert_int_equal(MI.n, 4);
    assert_int_equal(match_nodes_at(&MI, M1), 0x1);
    assert_int_equal(match_nodes_at(&MI, M2), 0x2);
    assert_int_equal(match_nodes_at(&MI, CL), 0x4);
    assert_int_equal(match_nodes_at(&MI, IP4(127, 0, 0, 1)), 0);
    assert_int_equal(P.nodes[0].bus, 17000);
    assert_int_equal(P.nodes[2].port, 0);
    assert_int_equal(P.nodes[2].bus, 0);
}

static void test_match_bus_one_way(void **state)
{
    (void)state;
    assert_true(sel("bus1", TCP, M1, 40000, M2, 17000));  /* m1 dials m2's bus */
    assert_true(sel("bus1", TCP, M1, 17000, M2, 40000));  /* m1 answers m2's dial */
    assert_false(sel("bus1", TCP, M2, 40000, M1, 17000)); /* the other way */
    assert_false(sel("bus1", TCP, M2, 17000, M1, 40000));
    assert_false(sel("bus1", TCP, M1, 40000, M2, 7000)); /* client port */
    assert_false(sel("bus1", TCP, M1, 7000, M2, 40000));
    assert_false(sel("bus1", TCP, M1, 40000, M2, 17001)); /* no one listens there */
    assert_false(sel("bus1", TCP, CL, 40000, M2, 17000)); /* cl is not in from */
    assert_false(sel("bus1", UDP, M1, 40000, M2, 17000)); /* a tcp rule */
}

static void test_match_bus_both(void **state)
{
    (void)state;
    assert_true(sel("busboth", TCP, M1, 40000, M2, 17000));
    assert_true(sel("busboth", TCP, M1, 17000, M2, 40000));
    assert_true(sel("busboth", TCP, M2, 40000, M1, 17000));
    assert_true(sel("busboth", TCP, M2, 17000, M1, 40000));
    assert_false(sel("busboth", TCP, M2, 40000, M1, 7000));
    assert_false(sel("busboth", TCP, M1, 7000, M2, 40000));
    assert_false(sel("busboth", TCP, CL, 17000, M1, 17000));
}

static void test_match_client(void **state)
{
    (void)state;
    assert_true(sel("client", TCP, M1, 40000, M2, 7000));
    assert_true(sel("client", TCP, M1, 7000, M2, 40000));
    assert_false(sel("client", TCP, M1, 40000, M2, 17000));
    assert_false(sel("client", TCP, M2, 40000, M1, 7000));

    /* Host without a port: any source port to m1's client port. */
    assert_true(sel("clm1", TCP, CL, 51000, M1, 7000));
    assert_true(sel("clm1", TCP, CL, 1, M1, 7000));
    assert_true(sel("clm1", TCP, CL, 17000, M1, 7000));
    assert_false(sel("clm1", TCP, CL, 51000, M1, 17000)); /* bus port */
    assert_false(sel("clm1", TCP, CL, 51000, M1, 7001));
    assert_false(sel("clm1", TCP, CL, 51000, M2, 7000));    /* m2 is not in to */
    assert_false(sel("clm1", TCP, M1, 7000, CL, 51000));    /* reply: one-way */
    assert_true(sel("clm1both", TCP, M1, 7000, CL, 51000)); /* reply: both */
    assert_true(sel("clm1both", TCP, CL, 51000, M1, 7000));
    assert_false(sel("clm1both", TCP, M1, 40000, CL, 7000));
    assert_false(sel("clm1both", TCP, M1, 17000, CL, 51000));
}

static void test_match_proto_and_all(void **state)
{
    (void)state;
    assert_true(sel("udp", UDP, M1, 40000, M2, 17000));
    assert_true(sel("udp", UDP, M1, 40000, M2, 7000));
    assert_false(sel("udp", TCP, M1, 40000, M2, 17000)); /* a udp rule ignores tcp */
    assert_false(sel("udp", UDP, M1, 40000, M2, 9999));

    /* from = * to = *, ports all, one-way: every ordered pair counts. */
    assert_true(sel("all", TCP, M2, 40000, M1, 17000));
    assert_true(sel("all", TCP, M1, 40000, M2, 7000));
    assert_true(sel("all", TCP, CL, 3, M2, 7000));
    assert_true(sel("all", TCP, M2, 7000, CL, 3));
    assert_true(sel("all", TCP, CL, 3, CL2, 4)); /* two port-less hosts: any ports */
    assert_false(sel("all", TCP, M1, 40000, M2, 12345));
    assert_false(sel("all", TCP, M1, 40000, M1, 17000));               /* a node to itself */
    assert_false(sel("all", TCP, IP4(127, 0, 0, 1), 40000, M1, 7000)); /* unknown host */
}

/* opened_by picks one of a pair's two connections. */
static void test_match_opened_by(void **state)
{
    (void)state;
    /* m1's own connection to m2's bus: only its packets towards m2 */
    assert_true(sel("dialfrom", TCP, M1, 40000, M2, 17000));
    assert_false(sel("dialfrom", TCP, M1, 17000, M2, 40000)); /* replies on m2's dial */
    assert_false(sel("dialfrom", TCP, M2, 40000, M1, 17000));
    /* the connection m2 dialed: m1's replies on it */
    assert_true(sel("dialto", TCP, M1, 17000, M2, 40000));
    assert_false(sel("dialto", TCP, M1, 40000, M2, 17000));
    /* both directions of the connection m1 dialed, and nothing of m2's */
    assert_true(sel("dialboth", TCP, M1, 40000, M2, 17000));
    assert_true(sel("dialboth", TCP, M2, 17000, M1, 40000));
    assert_false(sel("dialboth", TCP, M2, 40000, M1, 17000));
    assert_false(sel("dialboth", TCP, M1, 17000, M2, 40000));
    /* a client host never listens: opened_by = to (m1 dialed cl) selects nothing */
    assert_false(sel("dialcl", TCP, CL, 51000, M1, 7000));
    assert_false(sel("dialcl", TCP, M1, 7000, CL, 51000));
    /* two port-less hosts: who dialed cannot be told, so nothing */
    assert_false(sel("dialhosts", TCP, CL, 3, CL2, 4));
}

/* ---- match_patterns ---- */

struct want {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto;
};

/* The rule's patterns are exactly `want` (in any order, each once). */
static void expect_patterns(const char *name, const struct want *want, int n)
{
    struct match_pat out[32];
    int ri = pol_find_rule(&P, name);
    int got;
    assert_true(ri >= 0);
    got = match_patterns(&P, &P.rules[ri], out, 32);
    if (got != n)
        fail_msg("rule %s: %d patterns, want %d", name, got, n);
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < got; j++)
            found += out[j].src == want[i].src && out[j].dst == want[i].dst &&
                     out[j].sport == want[i].sport && out[j].dport == want[i].dport &&
                     out[j].proto == want[i].proto;
        if (found != 1)
            fail_msg("rule %s: pattern %d found %d times", name, i, found);
    }
}

static void test_patterns(void **state)
{
    static const struct want bus1[] = {{M1, M2, 0, 17000, TCP}, {M1, M2, 17000, 0, TCP}};
    static const struct want clm1both[] = {{CL, M1, 0, 7000, TCP}, {M1, CL, 7000, 0, TCP}};
    /* Both directions of m1 <-> m2 come up twice (from the forward and the
     * reverse pass) and are kept once. */
    static const struct want mesh[] = {{M1, M2, 0, 17000, TCP},
                                       {M1, M2, 17000, 0, TCP},
                                       {M2, M1, 0, 17000, TCP},
                                       {M2, M1, 17000, 0, TCP}};
    static const struct want udp[] = {{M1, M2, 0, 17000, UDP},
                                      {M1, M2, 17000, 0, UDP},
                                      {M1, M2, 0, 7000, UDP},
                                      {M1, M2, 7000, 0, UDP}};
    /* Port-less pair: one address-only pattern, though both classes give it. */
    static const struct want hosts[] = {{CL, CL2, 0, 0, TCP}};
    static const struct want dialfrom[] = {{M1, M2, 0, 17000, TCP}};
    static const struct want dialto[] = {{M1, M2, 17000, 0, TCP}};
    static const struct want dialboth[] = {{M1, M2, 0, 17000, TCP}, {M2, M1, 17000, 0, TCP}};
    struct match_pat out[4];
    (void)state;
    expect_patterns("bus1", bus1, 2);
    expect_patterns("clm1both", clm1both, 2);
    expect_patterns("mesh", mesh, 4);
    expect_patterns("udp", udp, 4);
    expect_patterns("hosts", hosts, 1);
    expect_patterns("dialfrom", dialfrom, 1);
    expect_patterns("dialto", dialto, 1);
    expect_patterns("dialboth", dialboth, 2);
    expect_patterns("dialhosts", NULL, 0);
    /* Not enough room: -1. */
    assert_int_equal(match_patterns(&P, &P.rules[pol_find_rule(&P, "udp")], out, 3), -1);
    assert_int_equal(match_patterns(&P, &P.rules[pol_find_rule(&P, "udp")], out, 4), 4);
}

/* ---- nodes sharing 127.0.0.1 (an attached local cluster) ---- */

#define LO IP4(127, 0, 0, 1)
#define ID1 "1111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222"
#define ID3 "3333333333333333333333333333333333333333"
static const char shared_policy[] = "[node m1]\naddr = 127.0.0.1:7000\nid = " ID1 "\n"
                                    "[node m2]\naddr = 127.0.0.1:7001\nid = " ID2 "\n"
                                    "[node m3]\naddr = 127.0.0.1:7002\nbus = 27002\nid = " ID3 "\n"
                                    "[node clients]\naddr = 127.0.0.100\n"
                                    "[rule hold]\nfrom = m3\nto = m1\nports = bus\nhold = yes\n";

/* A segment src:sport > dst:dport whose payload is a bus header sent by
 * the node of id (NULL: no payload), with TCP flags. */
static size_t bus_seg(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, const char *id,
                      size_t lead, uint8_t flags, struct pkt_info *pi)
{
    size_t len = build(TCP, src, sport, dst, dport, id ? lead + 100 : 0, 0, 0, flags, 1);
    if (id) {
        memcpy(pkt + 40 + lead, "RCmb", 4);
        memcpy(pkt + 40 + lead + BUS_OFF_SENDER, id, 40);
    }
    assert_int_equal(pkt_parse(pkt, len, pi), 0);
    return len;
}

static void test_shared_address(void **state)
{
    static struct policy sp;
    static struct match_index mi;
    struct match_pat pats[16];
    struct pkt_info pi;
    char err[POL_ERR_MAX] = "";
    const struct pol_rule *hold;
    size_t len;
    (void)state;
    assert_int_equal(pol_load_string(&sp, "shared.ini", shared_policy, err, sizeof(err)), 0);
    match_index_build(&sp, &mi);
    hold = &sp.rules[0];
    assert_int_equal(mi.shared, 0x7); /* m1..m3, not clients */
    /* listening ports name their node; an endpoint not yet known is none */
    assert_int_equal(match_endpoint(&mi, LO, 17000, LO, 45000), 0x1);
    assert_int_equal(match_endpoint(&mi, LO, 7001, LO, 45000), 0x2);
    assert_int_equal(match_endpoint(&mi, LO, 27002, LO, 45000), 0x4);
    assert_int_equal(match_endpoint(&mi, LO, 17002, LO, 45000), 0);
    assert_int_equal(match_endpoint(&mi, LO, 45000, LO, 17000), 0);
    assert_int_equal(match_endpoint(&mi, IP4(127, 0, 0, 100), 45000, LO, 7000), 0x8);
    /* m3 dials m1: its first message names it, the rule holds it */
    len = bus_seg(LO, 45000, LO, 17000, ID3, 0, F_PSH | F_ACK, &pi);
    match_learn(&mi, &pi, pkt + pi.data_off, len - pi.data_off);
    assert_int_equal(match_endpoint(&mi, LO, 45000, LO, 17000), 0x4);
    assert_true(match_rule(&sp, hold, &pi, match_endpoint(&mi, LO, 45000, LO, 17000),
                           match_endpoint(&mi, LO, 17000, LO, 45000)));
    /* Linux gives port 45000 to m2's dial of m3 too: another connection */
    len = bus_seg(LO, 45000, LO, 27002, ID2, 0, F_PSH | F_ACK, &pi);
    match_learn(&mi, &pi, pkt + pi.data_off, len - pi.data_off);
    assert_int_equal(match_endpoint(&mi, LO, 45000, LO, 27002), 0x2);
    assert_int_equal(match_endpoint(&mi, LO, 45000, LO, 17000), 0x4);
    /* m2 dials m1 too, its header later in the segment: not held */
    len = bus_seg(LO, 45001, LO, 17000, ID2, 7, F_PSH | F_ACK, &pi);
    match_learn(&mi, &pi, pkt + pi.data_off, len - pi.data_off);
    assert_int_equal(match_endpoint(&mi, LO, 45001, LO, 17000), 0x2);
    assert_false(match_rule(&sp, hold, &pi, 0x2, 0x1));
    /* m3's replies on m1's dial are held once m1's messages named the
     * dialer; m3's replies to m2's dial are not */
    len = bus_seg(LO, 45002, LO, 27002, ID1, 0, F_PSH | F_ACK, &pi);
    match_learn(&mi, &pi, pkt + pi.data_off, len - pi.data_off);
    bus_seg(LO, 27002, LO, 45002, ID3, 0, F_PSH | F_ACK, &pi);
    assert_true(match_rule(&sp, hold, &pi, match_endpoint(&mi, LO, 27002, LO, 45002),
                           match_endpoint(&mi, LO, 45002, LO, 27002)));
    bus_seg(LO, 27002, LO, 45001, ID3, 0, F_PSH | F_ACK, &pi);
    assert_false(match_rule(&sp, hold, &pi, match_endpoint(&mi, LO, 27002, LO, 45001),
                            match_endpoint(&mi, LO, 45001, LO, 27002)));
    /* a header naming a node of another address, or no node, teaches
     * nothing; nor does a node's own listening port */
    len = bus_seg(LO, 45003, LO, 17000, "9999999999999999999999999999999999999999", 0, F_ACK, &pi);
    match_learn(&mi, &pi, pkt + pi.data_off, len - pi.data_off);
    assert_int_equal(match_endpoint(&mi, LO, 45003, LO, 17000), 0);
    assert_int_equal(mi.n_learned, 4);
    /* a SYN from a known endpoint is a new connection: forgotten */
    bus_seg(LO, 45000, LO, 17000, NULL, 0, F_SYN, &pi);
    match_learn(&mi, &pi, NULL, 0);
    assert_int_equal(match_endpoint(&mi, LO, 45000, LO, 17000), 0);
    assert_int_equal(match_endpoint(&mi, LO, 45000, LO, 27002), 0x2);
    assert_int_equal(mi.n_forgot, 1);
    /* the patterns: m3 dialing m1, m3 answering, and m1's messages to m3
     * that say who dialed */
    assert_int_equal(match_patterns(&sp, hold, pats, 16), 3);
    assert_int_equal(pats[0].dport, 17000);
    assert_int_equal(pats[1].sport, 27002);
    assert_int_equal(pats[2].dport, 27002);
    assert_int_equal(pats[2].sport, 0);
    /* shared addresses need ids, and distinct ports */
    static const char *const bad[][2] = {
        {"[node a]\naddr = 127.0.0.1:7000\n[node b]\naddr = 127.0.0.1:7001\n[rule r]\n"
         "from = a\nto = b\n",
         "x.ini:3: node 'b' shares its address, and so needs an id"},
        {"[node a]\naddr = 127.0.0.1:7000\n[node b]\naddr = 127.0.0.1:17000\n[rule r]\n"
         "from = a\nto = b\n",
         "x.ini:3: node 'b' shares a port (client or bus) with node 'a'"},
        {"[node a]\naddr = 127.0.0.1:7000\nid = 12\n",
         "x.ini:3: id: expected a node id of 40 hex digits, got '12'"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        assert_int_equal(pol_load_string(&sp, "x.ini", bad[k][0], err, sizeof(err)), -1);
        assert_non_null(strstr(err, bad[k][1]));
    }
}

int main(void)
{
    const struct CMUnitTest parse[] = {
        cmocka_unit_test(test_parse_tcp),       cmocka_unit_test(test_parse_udp),
        cmocka_unit_test(test_parse_fragments), cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_summary),
    };
    const struct CMUnitTest match[] = {
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_match_bus_one_way),
        cmocka_unit_test(test_match_bus_both),
        cmocka_unit_test(test_match_client),
        cmocka_unit_test(test_match_proto_and_all),
        cmocka_unit_test(test_match_opened_by),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_shared_address),
    };
    int failed = cmocka_run_group_tests_name("pkt_parse", parse, NULL, NULL);
    failed += cmocka_run_group_tests_name("match", match, setup_policy, NULL);
    return failed;
}
