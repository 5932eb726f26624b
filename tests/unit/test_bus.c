/* test_bus: cluster-bus decoding of messages captured from Redis 7.0.15 by
 * rift-shim during the pong race, and framing of synthetic TCP streams:
 * split, merged, retransmitted, out of order, picked up mid-stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/bus.h"

static uint8_t pong[4096], auth[4096], ping[4096];
static size_t pong_len, auth_len, ping_len;
static uint8_t stream[16384];
static size_t stream_len;

static size_t load(const char *name, uint8_t *buf)
{
    char path[256];
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(buf, 1, 4096, f);
    fclose(f);
    return n;
}

static int setup(void **state)
{
    (void)state;
    pong_len = load("bus-7.0.15-pong.bin", pong);
    auth_len = load("bus-7.0.15-auth-request.bin", auth);
    ping_len = load("bus-7.0.15-ping.bin", ping);
    memcpy(stream, pong, pong_len);
    memcpy(stream + pong_len, auth, auth_len);
    memcpy(stream + pong_len + auth_len, ping, ping_len);
    stream_len = pong_len + auth_len + ping_len;
    return 0;
}

struct got {
    int n;
    uint16_t types[64];
    size_t lens[64];
};

static void collect(void *ctx, const uint8_t *msg, size_t len)
{
    struct got *g = ctx;
    struct bus_msg m;
    assert_int_equal(bus_decode(msg, len, &m), 0);
    if (g->n < 64) {
        g->types[g->n] = m.type;
        g->lens[g->n] = len;
    }
    g->n++;
}

static void expect_three(const struct got *g)
{
    assert_int_equal(g->n, 3);
    assert_int_equal(g->types[0], BUS_PONG);
    assert_int_equal(g->types[1], BUS_FAILOVER_AUTH_REQUEST);
    assert_int_equal(g->types[2], BUS_PING);
}

static void test_decode_captured(void **state)
{
    struct bus_msg m;
    char flags[64];
    (void)state;
    assert_int_equal(pong_len, 2568); /* header + 3 gossip entries of 104 bytes */
    assert_int_equal(bus_decode(pong, pong_len, &m), 0);
    assert_int_equal(m.type, BUS_PONG);
    assert_string_equal(bus_type_name(m.type), "PONG");
    assert_int_equal(m.ver, 1);
    assert_int_equal(m.count, 3);
    assert_int_equal(m.port, 7000);
    assert_int_equal(m.cport, 17000);
    assert_int_equal(m.current_epoch, 3);
    assert_int_equal(m.config_epoch, 2);
    assert_int_equal(strlen(m.sender), 40);
    assert_int_equal(strncmp(m.sender, "16cd7047", 8), 0);
    assert_int_equal(strncmp(m.replicaof, "140e5b0a", 8), 0);
    bus_flags_text(m.flags, flags, sizeof(flags));
    assert_non_null(strstr(flags, "replica"));
    /* a replica advertises its primary's slots */
    assert_int_equal(m.n_slots, 5461);
    assert_int_equal(m.n_ranges, 1);
    assert_int_equal(m.ranges[0][0], 0);
    assert_int_equal(m.ranges[0][1], 5460);
    assert_int_equal(bus_decode(auth, auth_len, &m), 0);
    assert_int_equal(m.type, BUS_FAILOVER_AUTH_REQUEST);
    assert_int_equal(m.count, 0);
    assert_int_equal(m.current_epoch, 4);
    assert_int_equal(bus_type_by_name("FAILOVER_AUTH_ACK"), BUS_FAILOVER_AUTH_ACK);
    assert_int_equal(bus_type_by_name("NOPE"), -1);
}

static void test_decode_rejects(void **state)
{
    struct bus_msg m;
    uint8_t bad[4096];
    (void)state;
    memcpy(bad, pong, pong_len);
    bad[0] = 'X';
    assert_int_equal(bus_decode(bad, pong_len, &m), -1);
    assert_int_equal(bus_decode(pong, pong_len - 1, &m), -1); /* totlen mismatch */
    assert_int_equal(bus_decode(pong, 10, &m), -1);
    /* a light header: 16 bytes, type with 0x8000, no sender */
    uint8_t light[16] = {'R', 'C', 'm', 'b', 0, 0, 0, 16, 0, 1, 0, 0, 0x80, 4, 0, 0};
    assert_int_equal(bus_decode(light, 16, &m), 0);
    assert_true(m.light);
    assert_string_equal(bus_type_name(m.type), "PUBLISH");
    /* a full type claiming 16 bytes is too short */
    light[12] = 0;
    assert_int_equal(bus_decode(light, 16, &m), -1);
}

static void feed(struct bus_stream *s, uint32_t isn, size_t from, size_t to, struct got *g)
{
    bus_stream_segment(s, isn + (uint32_t)from, stream + from, to - from, collect, g);
}

static void test_frame_merged_and_split(void **state)
{
    struct bus_stream s;
    struct got g = {0};
    (void)state;
    bus_stream_init(&s);
    feed(&s, 1000, 0, stream_len, &g); /* three messages in one segment */
    expect_three(&g);
    bus_stream_free(&s);
    memset(&g, 0, sizeof(g));
    bus_stream_init(&s);
    for (size_t i = 0; i < stream_len; i++) /* one byte per segment */
        feed(&s, 1000, i, i + 1, &g);
    expect_three(&g);
    bus_stream_free(&s);
}

static void test_frame_retransmitted_and_out_of_order(void **state)
{
    struct bus_stream s;
    struct got g = {0};
    size_t cut[] = {0, 700, 1500, 2600, 3300, 4900, 6000, 7392};
    (void)state;
    assert_int_equal(stream_len, 7392);
    bus_stream_init(&s);
    /* segments 0, 2, 1 (a gap filled late), 1 again, an overlap, the rest
     * backwards; ISN close to 2^32 so sequence numbers wrap */
    uint32_t isn = 0xFFFFF000u;
    feed(&s, isn, cut[0], cut[1], &g);
    feed(&s, isn, cut[2], cut[3], &g);
    assert_int_equal(g.n, 0);
    feed(&s, isn, cut[1], cut[2], &g);
    assert_int_equal(g.n, 1);
    feed(&s, isn, cut[1], cut[2], &g);            /* retransmission */
    feed(&s, isn, cut[2] - 100, cut[3] + 50, &g); /* overlapping retransmission */
    feed(&s, isn, cut[6], cut[7], &g);
    feed(&s, isn, cut[5], cut[6], &g);
    feed(&s, isn, cut[4], cut[5], &g);
    feed(&s, isn, cut[3], cut[4], &g);
    expect_three(&g);
    assert_int_equal(s.n_ooo, 0);
    bus_stream_free(&s);
}

static void test_frame_mid_stream_and_garbage(void **state)
{
    struct bus_stream s;
    struct got g = {0};
    uint8_t junk[300];
    (void)state;
    bus_stream_init(&s);
    /* picked up 1000 bytes into the pong: resync on the next signature */
    feed(&s, 5, 1000, stream_len, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.types[0], BUS_FAILOVER_AUTH_REQUEST);
    assert_true(s.resyncs > 0);
    bus_stream_free(&s);
    /* junk (with a bogus signature and length) before a message */
    memset(&g, 0, sizeof(g));
    bus_stream_init(&s);
    memset(junk, 0xAB, sizeof(junk));
    memcpy(junk + 100, "RCmb\xff\xff\xff\xff", 8);
    bus_stream_segment(&s, 1, junk, sizeof(junk), collect, &g);
    bus_stream_segment(&s, 1 + sizeof(junk), pong, pong_len, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.types[0], BUS_PONG);
    bus_stream_free(&s);
}

static void test_frame_gap_never_filled(void **state)
{
    struct bus_stream s;
    struct got g = {0};
    (void)state;
    bus_stream_init(&s);
    feed(&s, 0, 0, 100, &g);
    /* the capture lost 100..200; more than BUS_OOO_MAX later segments */
    size_t at = 200;
    for (int i = 0; i < BUS_OOO_MAX + 5 && at < stream_len; i++, at += 40)
        feed(&s, 0, at, at + 40 < stream_len ? at + 40 : stream_len, &g);
    if (at < stream_len)
        feed(&s, 0, at, stream_len, &g);
    /* the pong is lost with the gap; the other two come through */
    assert_int_equal(g.n, 2);
    assert_int_equal(g.types[0], BUS_FAILOVER_AUTH_REQUEST);
    assert_int_equal(g.types[1], BUS_PING);
    bus_stream_free(&s);
}

static void count(void *ctx, const uint8_t *msg, size_t len)
{
    (void)msg;
    (void)len;
    (*(int *)ctx)++;
}

/* 1 MiB of the pattern, fed in segments of seg bytes (then a pong); the
 * framer's work, checked after every segment: at most 4 bytes looked at or
 * moved per byte fed so far (not one move of what is left per message or
 * per bogus signature). */
static int feed_hostile(const uint8_t *pat, size_t plen, size_t seg, struct bus_stream *s)
{
    static uint8_t big[1 << 20];
    int n = 0;
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = pat[i % plen];
    bus_stream_init(s);
    for (size_t off = 0; off < sizeof(big); off += seg) {
        bus_stream_segment(s, 7 + (uint32_t)off, big + off, seg, count, &n);
        uint64_t fed = off + seg, work = s->scanned + s->moved;
        if (work > 4 * fed)
            fail_msg("%zu-byte segments: %llu bytes of work for %llu bytes fed", seg,
                     (unsigned long long)work, (unsigned long long)fed);
    }
    bus_stream_segment(s, 7 + sizeof(big), pong, pong_len, count, &n);
    printf("    %zu-byte segments: %d messages, %llu bytes looked at, %llu moved for %zu fed\n",
           seg, n, (unsigned long long)s->scanned, (unsigned long long)s->moved, sizeof(big));
    return n;
}

static void test_frame_hostile_work_is_linear(void **state)
{
    static const uint8_t bogus[8] = {'R', 'C', 'm', 'b', 0xff, 0xff, 0xff, 0xff};
    static const uint8_t light[16] = {'R', 'C', 'm', 'b', 0, 0, 0, 16, 0, 1, 0, 0, 0x80, 4, 0, 0};
    struct bus_stream s;
    (void)state;
    /* bogus signatures: every one a resync, then the pong after them */
    for (size_t seg = 1; seg <= 65536; seg *= 256) {
        assert_int_equal(feed_hostile(bogus, sizeof(bogus), seg, &s), 1);
        assert_int_equal(s.messages, 1);
        assert_true(s.resyncs >= 131072);
        assert_int_equal(s.dropped_bytes, 1 << 20);
        bus_stream_free(&s);
    }
    /* 65536 light messages of 16 bytes, 4096 to a segment, or one a byte */
    for (size_t seg = 1; seg <= 65536; seg *= 65536) {
        assert_int_equal(feed_hostile(light, sizeof(light), seg, &s), 65537);
        assert_int_equal(s.resyncs, 0);
        bus_stream_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_captured),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_frame_merged_and_split),
        cmocka_unit_test(test_frame_retransmitted_and_out_of_order),
        cmocka_unit_test(test_frame_mid_stream_and_garbage),
        cmocka_unit_test(test_frame_gap_never_filled),
        cmocka_unit_test(test_frame_hostile_work_is_linear),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
