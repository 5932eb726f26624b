/* test_audit: the CROSSSLOT audit on frames built here: requests split
 * over segments and pipelined, segments reordered and retransmitted, a
 * connection joined mid-stream, IPv4 and IPv6 under every link type rift
 * reads, MULTI/EXEC and DISCARD, SELECT, CROSSSLOT replies, another
 * protocol on the port, and bytes the capture cut short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../harness/observe/audit.h"
#include "frames.h"

static struct ks_table tab;

static int setup(void **state)
{
    FILE *f = fopen("tests/unit/data/command-redis7.resp", "rb");
    char *buf = malloc(1 << 20), err[200];
    size_t len;
    (void)state;
    if (!f || !buf)
        return -1;
    len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    int rc = ks_load(&tab, buf, len, err, sizeof(err));
    free(buf);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    ks_free(&tab);
    return 0;
}

static uint64_t clock_us = 1000000;

static void feed(struct audit *a, struct seg s)
{
    uint8_t f[4096];
    if (!s.port)
        s.port = 40000;
    if (!s.lt)
        s.lt = DLT_RAW;
    if (s.data && !s.len)
        s.len = strlen(s.data);
    if (!s.flags)
        s.flags = 0x18; /* PSH ACK */
    size_t n = build(&s, f);
    au_frame(a, s.lt, f, n, clock_us += 1000);
}

/* A handshake: client ISN 1000, server ISN 5000. */
static void open_conn(struct audit *a, int lt, bool v6, uint16_t port)
{
    feed(a, (struct seg){
                .lt = lt, .v6 = v6, .to_server = true, .port = port, .seq = 999, .flags = 0x02});
    feed(a, (struct seg){
                .lt = lt, .v6 = v6, .to_server = false, .port = port, .seq = 4999, .flags = 0x12});
}

static const struct au_finding *find(const struct audit *a, const char *cmd)
{
    for (int i = 0; i < a->nf; i++)
        if (!strcmp(a->f[i].command, cmd))
            return &a->f[i];
    return NULL;
}

static const char MSET[] = "*5\r\n$4\r\nMSET\r\n$3\r\nfoo\r\n$1\r\n1\r\n$3\r\nbar\r\n$1\r\n2\r\n";

static void test_split_pipelined(void **state)
{
    struct audit a;
    (void)state;
    assert_int_equal(au_init(&a, &tab, NULL), 0);
    open_conn(&a, DLT_RAW, false, 40000);
    /* MSET in three pieces, the last one carrying a pipelined GET */
    char buf[256];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "%s*2\r\n$3\r\nGET\r\n$1\r\nx\r\n", MSET);
    feed(&a, (struct seg){.to_server = true, .seq = 1000, .data = buf, .len = 10});
    feed(&a, (struct seg){.to_server = true, .seq = 1010, .data = buf + 10, .len = 20});
    feed(&a, (struct seg){.to_server = true, .seq = 1030, .data = buf + 30, .len = n - 30});
    feed(&a, (struct seg){.to_server = false, .seq = 5000, .data = "+OK\r\n$-1\r\n"});
    au_finish(&a);
    assert_int_equal(a.requests, 2);
    assert_int_equal(a.replies, 2);
    assert_int_equal(a.nf, 1);
    const struct au_finding *f = find(&a, "MSET");
    assert_non_null(f);
    assert_int_equal(f->nslots, 2);
    assert_int_equal(f->slots[0], 5061);
    assert_int_equal(f->slots[1], 12182);
    assert_int_equal(f->nkeys, 2);
    assert_string_equal(f->keys[0], "foo");
    assert_string_equal(f->client, "127.0.0.200:40000");
    au_free(&a);
}

static void test_reorder_retransmit(void **state)
{
    struct audit a;
    (void)state;
    assert_int_equal(au_init(&a, &tab, NULL), 0);
    open_conn(&a, DLT_RAW, false, 40000);
    size_t n = strlen(MSET);
    /* the second half first, then the first half twice, then an overlap */
    feed(&a, (struct seg){.to_server = true, .seq = 1000 + 20, .data = MSET + 20, .len = n - 20});
    feed(&a, (struct seg){.to_server = true, .seq = 1000, .data = MSET, .len = 20});
    feed(&a, (struct seg){.to_server = true, .seq = 1000, .data = MSET, .len = 20});
    feed(&a, (struct seg){.to_server = true, .seq = 1010, .data = MSET + 10, .len = n - 10});
    feed(&a, (struct seg){.to_server = true, .seq = 1000 + (uint32_t)n, .data = MSET, .len = n});
    au_finish(&a);
    assert_int_equal(a.requests, 2);
    assert_int_equal(a.nf, 1);
    assert_int_equal(a.f[0].count, 2);
    assert_int_equal(a.tf.st.gaps, 0);
    au_free(&a);
}

static void test_midstream(void **state)
{
    struct audit a;
    (void)state;
    assert_int_equal(au_init(&a, &tab, NULL), 0);
    /* no SYN: the tail of a message, then a whole MSET */
    feed(&a, (struct seg){.to_server = true, .seq = 77, .data = "$3\r\nfoo\r\n"});
    feed(&a, (struct seg){.to_server = true, .seq = 86, .data = MSET});
    au_finish(&a);
    assert_int_equal(a.tf.st.midstream, 1);
    assert_int_equal(a.requests, 1);
    assert_int_equal(a.nf, 1);
    au_free(&a);
}

static void test_link_types_and_ipv6(void **state)
{
    static const int lts[] = {DLT_RAW, DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL};
    (void)state;
    for (size_t i = 0; i < sizeof(lts) / sizeof(lts[0]); i++) {
        for (int v6 = 0; v6 < 2; v6++) {
            struct audit a;
            assert_int_equal(au_init(&a, &tab, NULL), 0);
            open_conn(&a, lts[i], v6, 40001);
            feed(&a, (struct seg){.lt = lts[i],
                                  .v6 = v6,
                                  .to_server = true,
                                  .port = 40001,
                                  .seq = 1000,
                                  .data = MSET});
            au_finish(&a);
            if (a.nf != 1)
                fail_msg("link type %d, %s: %d findings", lts[i], v6 ? "IPv6" : "IPv4", a.nf);
            assert_string_equal(a.f[0].client, v6 ? "[::c8]:40001" : "127.0.0.200:40001");
            au_free(&a);
        }
    }
}

static void test_multi_select_replies(void **state)
{
    struct audit a;
    (void)state;
    assert_int_equal(au_init(&a, &tab, NULL), 0);
    open_conn(&a, DLT_RAW, false, 40000);
    static const char req[] = "MULTI\r\nSET a 1\r\nSET b 2\r\nDISCARD\r\n" /* never runs */
                              "MULTI\r\nSET a 1\r\nINCR b\r\nEXEC\r\n"
                              "MULTI\r\nSET {t}a 1\r\nSET {t}b 1\r\nEXEC\r\n" /* one slot */
                              "SELECT 0\r\nSELECT 3\r\nSELECT 3\r\n";
    static const char rep[] = "+OK\r\n+QUEUED\r\n+QUEUED\r\n+OK\r\n"
                              "+OK\r\n+QUEUED\r\n+QUEUED\r\n-CROSSSLOT Keys in request don't "
                              "hash to the same slot\r\n";
    feed(&a, (struct seg){.to_server = true, .seq = 1000, .data = req});
    feed(&a, (struct seg){.to_server = false, .seq = 5000, .data = rep});
    au_finish(&a);
    assert_int_equal(a.nf, 2);
    const struct au_finding *m = find(&a, "MULTI"), *s = find(&a, "SELECT");
    assert_non_null(m);
    assert_string_equal(m->commands, "SET INCR");
    assert_int_equal(m->nslots, 2);
    assert_int_equal(m->nkeys, 2);
    assert_non_null(s);
    assert_int_equal(s->db, 3);
    assert_int_equal(s->count, 2);
    assert_int_equal(a.crossslot_errors, 1);
    assert_int_equal(au_total(&a), 3);
    au_free(&a);
}

/* A queued command that spans slots by itself is refused where it is
 * queued, whatever follows; a connection whose replies began before any
 * request does not count as undecodable. */
static void test_queued_refusal_and_early_replies(void **state)
{
    struct audit a;
    (void)state;
    assert_int_equal(au_init(&a, &tab, NULL), 0);
    open_conn(&a, DLT_RAW, false, 40000);
    static const char req[] = "MULTI\r\nMSET foo 1 bar 2\r\nDISCARD\r\nMOVE k x\r\n";
    feed(&a, (struct seg){.to_server = true, .seq = 1000, .data = req});
    /* mid-stream: the server's bytes first, from the middle of a reply */
    feed(&a, (struct seg){.to_server = false, .port = 40003, .seq = 9, .data = "lo\r\n+OK\r\n"});
    feed(&a, (struct seg){.to_server = true, .port = 40003, .seq = 20, .data = "GET x\r\n"});
    feed(&a, (struct seg){.to_server = false, .port = 40003, .seq = 18, .data = "$-1\r\n"});
    au_finish(&a);
    const struct au_finding *m = find(&a, "MSET"), *mv = find(&a, "MOVE");
    assert_non_null(m);
    assert_int_equal(m->count, 1);
    assert_null(find(&a, "MULTI")); /* discarded: never ran */
    assert_non_null(mv);
    assert_int_equal(mv->db, AU_DB_UNREADABLE);
    assert_int_equal(a.undecodable, 0);
    assert_int_equal(a.requests, 5);
    au_free(&a);
}

/* Bytes held past a hole when the connection ends are a gap, and a FIN
 * that arrives before the bytes it follows does not end the stream early. */
static void test_holes_and_early_fin(void **state)
{
    struct audit a;
    (void)state;
    assert_int_equal(au_init(&a, &tab, NULL), 0);
    open_conn(&a, DLT_RAW, false, 40000);
    size_t n = strlen(MSET);
    feed(&a, (struct seg){.to_server = true,
                          .seq = 1000 + 20,
                          .data = MSET + 20,
                          .len = n - 20,
                          .flags = 0x19}); /* FIN with the tail */
    feed(&a, (struct seg){.to_server = false, .seq = 5000, .data = "", .len = 0, .flags = 0x11});
    feed(&a, (struct seg){.to_server = true, .seq = 1000, .data = MSET, .len = 20});
    assert_int_equal(a.requests, 1); /* the head filled the hole: one MSET */
    open_conn(&a, DLT_RAW, false, 40004);
    feed(&a, (struct seg){.to_server = true, .port = 40004, .seq = 1010, .data = MSET});
    au_finish(&a); /* 10 bytes never came */
    assert_int_equal(a.tf.st.gaps, 1);
    assert_int_equal(au_unread(&a), 1);
    au_free(&a);
}

static void test_other_protocol_and_cut_frames(void **state)
{
    struct audit a;
    (void)state;
    assert_int_equal(au_init(&a, &tab, NULL), 0);
    open_conn(&a, DLT_RAW, false, 40000);
    static const char bus[] = "RCmb\x00\x00\x08\xd0\x00\x01 binary\n";
    feed(&a, (struct seg){.to_server = true, .seq = 1000, .data = bus, .len = sizeof(bus) - 1});
    open_conn(&a, DLT_RAW, false, 40002);
    /* a frame cut short by the snapshot length: its connection stops there */
    uint8_t f[512];
    size_t n = build(&(struct seg){.lt = DLT_RAW,
                                   .to_server = true,
                                   .port = 40002,
                                   .seq = 1000,
                                   .flags = 0x18,
                                   .data = MSET,
                                   .len = strlen(MSET)},
                     f);
    au_frame(&a, DLT_RAW, f, n - 10, clock_us += 1000);
    feed(&a,
         (struct seg){
             .to_server = true, .port = 40002, .seq = 1000 + (uint32_t)strlen(MSET), .data = MSET});
    au_finish(&a);
    assert_int_equal(a.not_resp, 1);
    assert_int_equal(a.tf.st.truncated, 1);
    assert_int_equal(a.tf.st.gaps, 1);
    assert_int_equal(a.requests, 0);
    assert_int_equal(a.nf, 0);
    au_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_pipelined),
        cmocka_unit_test(test_reorder_retransmit),
        cmocka_unit_test(test_midstream),
        cmocka_unit_test(test_link_types_and_ipv6),
        cmocka_unit_test(test_multi_select_replies),
        cmocka_unit_test(test_other_protocol_and_cut_frames),
        cmocka_unit_test(test_queued_refusal_and_early_replies),
        cmocka_unit_test(test_holes_and_early_fin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
