/* test_resp: the RESP decoder: pipelined and split requests, inline
 * commands with quoting, bulk strings with CRLF inside, every RESP3 reply
 * type (nested, attributes, pushes), junk, too deep, too big; and the
 * same messages whatever the pieces the stream arrives in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/resp.h"

/* What the callback saw, one line per message. */
struct seen {
    char text[8192]; /* the first messages */
    size_t off;
    int n;
    uint64_t hash; /* of every message's line */
};

static void record(void *ctx, const struct resp_msg *m)
{
    struct seen *S = ctx;
    char line[2048];
    size_t o;
    S->n++;
    if (m->request) {
        o = (size_t)snprintf(line, sizeof(line), "%s", m->inline_cmd ? "inline" : "req");
        for (int i = 0; i < m->argc && o < sizeof(line); i++)
            o += (size_t)snprintf(line + o, sizeof(line) - o, " [%.*s]", (int)m->argl[i],
                                  m->argv[i]);
    } else {
        o = (size_t)snprintf(line, sizeof(line), "%c%s %.*s", m->type, m->null ? " null" : "",
                             (int)m->len, m->str ? m->str : "");
    }
    if (o < sizeof(line))
        snprintf(line + o, sizeof(line) - o, "\n");
    for (const char *p = line; *p; p++)
        S->hash = (S->hash ^ (unsigned char)*p) * 1099511628211ull;
    if (S->off + strlen(line) < sizeof(S->text)) {
        memcpy(S->text + S->off, line, strlen(line) + 1);
        S->off += strlen(line);
    }
}

/* Feeds text in pieces of `piece` bytes (0: all at once). */
static int feed(bool request, const char *text, size_t len, size_t piece, struct seen *S,
                struct resp_stream *s)
{
    int total = 0;
    memset(S, 0, sizeof(*S));
    resp_init(s, request);
    for (size_t off = 0; off < len;) {
        size_t n = piece ? (len - off < piece ? len - off : piece) : len;
        int rc = resp_feed(s, text + off, n, record, S);
        if (rc < 0)
            return -1;
        total += rc;
        off += n;
    }
    return total;
}

static const char pipelined[] = "*1\r\n$4\r\nPING\r\n"
                                "*3\r\n$3\r\nSET\r\n$4\r\n{a}k\r\n$7\r\na\r\nb\r\nc\r\n"
                                "*0\r\n"
                                "*2\r\n$3\r\nGET\r\n$0\r\n\r\n";
static const char pipelined_seen[] = "req [PING]\n"
                                     "req [SET] [{a}k] [a\r\nb\r\nc]\n"
                                     "req [GET] []\n";

static void test_pipelined_requests_in_any_pieces(void **state)
{
    struct seen S;
    struct resp_stream s;
    (void)state;
    for (size_t piece = 0; piece <= sizeof(pipelined); piece++) {
        assert_int_equal(feed(true, pipelined, sizeof(pipelined) - 1, piece, &S, &s), 4);
        assert_string_equal(S.text, pipelined_seen);
        assert_int_equal(S.n, 3); /* *0 is no command */
        assert_int_equal(s.len, 0);
        assert_int_equal(s.offset, sizeof(pipelined) - 1);
        resp_free(&s);
    }
}

static void test_inline_commands(void **state)
{
    static const char in[] = "PING\r\n"
                             "\r\n"
                             "set  k \"a b\\x41\\n\" 'c\\'d'\n"
                             "  GET\t\"\"  \r\n";
    struct seen S;
    struct resp_stream s;
    (void)state;
    for (size_t piece = 0; piece < 8; piece++) {
        assert_int_equal(feed(true, in, sizeof(in) - 1, piece, &S, &s), 4);
        assert_string_equal(S.text, "inline [PING]\n"
                                    "inline [set] [k] [a bA\n] [c'd]\n"
                                    "inline [GET] []\n");
        resp_free(&s);
    }
    /* unbalanced, or a quote glued to a word */
    assert_int_equal(feed(true, "GET \"k\n", 7, 0, &S, &s), -1);
    assert_int_equal(s.state, RESP_BAD);
    assert_non_null(strstr(s.why, "unbalanced quotes"));
    resp_free(&s);
    assert_int_equal(feed(true, "GET \"k\"x\n", 9, 0, &S, &s), -1);
    assert_non_null(strstr(s.why, "closing quote"));
    resp_free(&s);
}

static const char replies[] = "+OK\r\n"
                              "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
                              ":-12\r\n"
                              "$5\r\nab\r\nc\r\n"
                              "$-1\r\n"
                              "*-1\r\n"
                              "*3\r\n$1\r\na\r\n:2\r\n*1\r\n+nested\r\n"
                              "_\r\n"
                              ",3.14\r\n"
                              "#t\r\n"
                              "(3492890328409238509324850943850943825024385\r\n"
                              "!21\r\nSYNTAX invalid syntax\r\n"
                              "=8\r\ntxt:abcd\r\n"
                              "%2\r\n+k1\r\n:1\r\n+k2\r\n~2\r\n:1\r\n:2\r\n"
                              ">2\r\n+message\r\n$2\r\nhi\r\n"
                              "|1\r\n+ttl\r\n:3600\r\n+value\r\n";
static const char replies_seen[] = "+ OK\n"
                                   "- CROSSSLOT Keys in request don't hash to the same slot\n"
                                   ": -12\n"
                                   "$ ab\r\nc\n"
                                   "$ null \n"
                                   "* null \n"
                                   "* \n"
                                   "_ null \n"
                                   ", 3.14\n"
                                   "# t\n"
                                   "( 3492890328409238509324850943850943825024385\n"
                                   "! SYNTAX invalid syntax\n"
                                   "= txt:abcd\n"
                                   "% \n"
                                   "> \n"
                                   "+ value\n";

static void test_resp3_replies_in_any_pieces(void **state)
{
    struct seen S;
    struct resp_stream s;
    (void)state;
    for (size_t piece = 0; piece <= 40; piece++) {
        assert_int_equal(feed(false, replies, sizeof(replies) - 1, piece, &S, &s), 16);
        assert_string_equal(S.text, replies_seen);
        resp_free(&s);
    }
}

static void expect_bad(bool request, const char *in, const char *why)
{
    struct seen S;
    struct resp_stream s;
    assert_int_equal(feed(request, in, strlen(in), 0, &S, &s), -1);
    assert_int_equal(s.state, RESP_BAD);
    if (!strstr(s.why, why))
        fail_msg("expected \"%s\" in \"%s\"", why, s.why);
    /* a bad stream stays bad */
    assert_int_equal(resp_feed(&s, "+OK\r\n", 5, record, &S), -1);
    resp_free(&s);
}

static void test_junk(void **state)
{
    char deep[1024] = "";
    (void)state;
    expect_bad(true, "*2\r\nfoo\r\n", "expected '$'");
    expect_bad(true, "*x\r\n", "bad multibulk length");
    expect_bad(true, "*1\r\n$-3\r\n", "bad bulk length");
    expect_bad(true, "*1\r\n$3\r\nabcXY", "not followed by CRLF");
    expect_bad(false, "?what\r\n", "unknown reply type");
    expect_bad(false, ":12a\r\n", "bad integer");
    expect_bad(false, "#x\r\n", "boolean");
    expect_bad(false, "_x\r\n", "null with a value");
    expect_bad(false, "!-1\r\n", "bad blob length");
    expect_bad(false, "%-1\r\n", "bad aggregate length");
    for (int i = 0; i < 70; i++)
        strcat(deep, "*1\r\n");
    strcat(deep, ":1\r\n");
    expect_bad(false, deep, "nested too deep");
}

static void test_limits(void **state)
{
    struct seen S;
    struct resp_stream s;
    char *big;
    size_t n = 1 << 20;
    (void)state;
    /* an incomplete 100 MB bulk: buffered up to 64 MiB, then too big */
    resp_init(&s, true);
    memset(&S, 0, sizeof(S));
    assert_int_equal(resp_feed(&s, "*2\r\n$3\r\nSET\r\n$100000000\r\n", 26, record, &S), 0);
    big = calloc(1, n);
    assert_non_null(big);
    int rc = 0, fed = 0;
    while (rc >= 0 && fed < 70) {
        rc = resp_feed(&s, big, n, record, &S);
        fed++;
    }
    assert_int_equal(rc, -1);
    assert_int_equal(s.state, RESP_TOO_BIG);
    assert_int_equal(fed, 64);
    assert_non_null(strstr(s.why, "64 MiB"));
    assert_int_equal(S.n, 0);
    resp_free(&s);
    free(big);
    /* an inline line that never ends */
    big = malloc(70000);
    memset(big, 'a', 70000);
    assert_int_equal(feed(true, big, 70000, 1000, &S, &s), -1);
    assert_non_null(strstr(s.why, "64 KiB"));
    resp_free(&s);
    free(big);
}

/* Random pieces of a long pipelined stream give the same messages as one
 * piece. */
static void test_random_pieces(void **state)
{
    static char stream[64 * 1024];
    struct seen A, B;
    struct resp_stream s;
    size_t len = 0;
    uint64_t x = 88172645463325252ull;
    (void)state;
    while (len + sizeof(pipelined) + sizeof(replies) < sizeof(stream) / 4) {
        memcpy(stream + len, pipelined, sizeof(pipelined) - 1);
        len += sizeof(pipelined) - 1;
    }
    int want = feed(true, stream, len, 0, &A, &s);
    resp_free(&s);
    for (int round = 0; round < 50; round++) {
        int got = 0;
        memset(&B, 0, sizeof(B));
        resp_init(&s, true);
        for (size_t off = 0; off < len;) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t n = 1 + x % 97;
            if (n > len - off)
                n = len - off;
            got += resp_feed(&s, stream + off, n, record, &B);
            off += n;
        }
        assert_int_equal(got, want);
        assert_int_equal(A.n, B.n);
        assert_true(A.hash == B.hash);
        assert_string_equal(A.text, B.text);
        resp_free(&s);
    }
}

/* The COMMAND replies of the three servers rift runs (captured from Redis
 * 7.0.15, 8.0.2 and Valkey 8.1.1), and their RESP3 COMMAND INFO replies
 * with key specifications as maps: one message each, however they arrive. */
/* A chain of attributes nests like aggregates: 64 are read, 100 are too
 * deep, for the stream decoder and for resp_next/resp_skip alike. */
static void test_attribute_chains(void **state)
{
    (void)state;
    for (int chain = 64; chain <= 100; chain += 36) {
        size_t len = 0;
        char *buf = malloc((size_t)chain * 16 + 8);
        struct resp_stream s;
        struct resp_val v;
        size_t pos = 0;
        assert_non_null(buf);
        for (int i = 0; i < chain; i++)
            len += (size_t)sprintf(buf + len, "|1\r\n:1\r\n:1\r\n");
        len += (size_t)sprintf(buf + len, "+OK\r\n");
        resp_init(&s, false);
        int rc = resp_feed(&s, buf, len, NULL, NULL);
        assert_int_equal(rc, chain == 64 ? 1 : -1);
        assert_int_equal(resp_next(buf, len, &pos, &v), chain == 64 ? 1 : -1);
        if (chain == 64)
            assert_int_equal(v.type, '+');
        pos = 0;
        assert_int_equal(resp_skip(buf, len, &pos), chain == 64 ? 0 : -1);
        resp_free(&s);
        free(buf);
    }
}

static void test_real_command_replies(void **state)
{
    static const struct {
        const char *file;
        char type;
        int commands;
    } files[] = {
        {"tests/unit/data/command-redis7.resp", '*', 240},
        {"tests/unit/data/command-redis8.resp", '*', 265},
        {"tests/unit/data/command-valkey8.resp", '*', 242},
        {"tests/unit/data/command-info-resp3-redis7.resp", '*', 6},
        {"tests/unit/data/command-info-resp3-redis8.resp", '*', 6},
        {"tests/unit/data/command-info-resp3-valkey8.resp", '*', 6},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        static char buf[256 * 1024];
        FILE *f = fopen(files[i].file, "rb");
        size_t n;
        char head[32];
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        assert_true(n > 1000 && n < sizeof(buf));
        snprintf(head, sizeof(head), "%c%d\r\n", files[i].type, files[i].commands);
        assert_memory_equal(buf, head, strlen(head));
        for (size_t piece = 0; piece <= 1500; piece += 500) {
            struct seen S;
            struct resp_stream s;
            assert_int_equal(feed(false, buf, n, piece, &S, &s), 1);
            assert_int_equal(s.offset, n);
            assert_int_equal(s.len, 0);
            assert_int_equal(S.text[0], files[i].type);
            resp_free(&s);
        }
    }
}

/* text (len bytes) fed one byte at a time: the decoder's work, checked
 * after every byte, is at most 4 bytes looked at per byte fed so far (a
 * message is not read again from its start as it grows). */
static void feed_bytewise(bool request, const char *text, size_t len, struct seen *S,
                          struct resp_stream *s, const char *what)
{
    memset(S, 0, sizeof(*S));
    resp_init(s, request);
    for (size_t i = 0; i < len; i++) {
        assert_true(resp_feed(s, text + i, 1, record, S) >= 0);
        if (s->scanned > 4 * (i + 1) + 64)
            fail_msg("%s: %llu bytes looked at after %zu fed", what, (unsigned long long)s->scanned,
                     i + 1);
    }
    printf("    %s: %d message(s), %llu bytes looked at for %zu fed\n", what, S->n,
           (unsigned long long)s->scanned, len);
    assert_int_equal(s->offset, len);
    assert_int_equal(s->len, 0);
}

/* 1 MiB messages (arrays of many elements, nested ones, a request of many
 * arguments, one bulk string) and 60000-byte lines, a byte at a time. */
static void test_work_is_linear(void **state)
{
    static char buf[(1 << 20) + 64];
    struct seen S;
    struct resp_stream s;
    size_t len, n;
    (void)state;
    len = (size_t)sprintf(buf, "*%d\r\n", 262142);
    for (n = 0; n < 262142; n++)
        len += (size_t)sprintf(buf + len, ":%zu\r\n", n % 10);
    feed_bytewise(false, buf, len, &S, &s, "array of 262142 integers");
    assert_int_equal(S.n, 1);
    assert_string_equal(S.text, "* \n");
    resp_free(&s);

    len = (size_t)sprintf(buf, "%%%d\r\n", 43690); /* a map of arrays: 24 bytes a pair */
    for (n = 0; n < 43690; n++)
        len += (size_t)sprintf(buf + len, "+k\r\n*2\r\n$2\r\nab\r\n*1\r\n:%zu\r\n", n % 10);
    feed_bytewise(false, buf, len, &S, &s, "map of 43690 nested arrays");
    assert_int_equal(S.n, 1);
    assert_string_equal(S.text, "% \n");
    resp_free(&s);

    len = (size_t)sprintf(buf, "*%d\r\n$3\r\nDEL\r\n", 149795);
    for (n = 1; n < 149795; n++)
        len += (size_t)sprintf(buf + len, "$1\r\n%zu\r\n", n % 10);
    feed_bytewise(true, buf, len, &S, &s, "request of 149795 arguments");
    assert_int_equal(S.n, 1);
    assert_memory_equal(S.text, "req [DEL] [1] [2] [3]", 21);
    resp_free(&s);

    len = (size_t)sprintf(buf, "$%d\r\n", 1 << 20);
    memset(buf + len, 'v', 1 << 20);
    len += 1 << 20;
    len += (size_t)sprintf(buf + len, "\r\n");
    feed_bytewise(false, buf, len, &S, &s, "1 MiB bulk string");
    assert_int_equal(S.n, 1);
    resp_free(&s);

    buf[0] = '+';
    memset(buf + 1, 'w', 60000);
    memcpy(buf + 60001, "\r\n", 2);
    feed_bytewise(false, buf, 60003, &S, &s, "60000-byte status line");
    assert_int_equal(S.n, 1);
    resp_free(&s);
    memcpy(buf, "GET ", 4);
    buf[60002] = '\n';
    feed_bytewise(true, buf, 60003, &S, &s, "60000-byte inline command");
    assert_int_equal(S.n, 1);
    assert_memory_equal(S.text, "inline [GET] [www", 17);
    resp_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_requests_in_any_pieces),
        cmocka_unit_test(test_inline_commands),
        cmocka_unit_test(test_resp3_replies_in_any_pieces),
        cmocka_unit_test(test_junk),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_random_pieces),
        cmocka_unit_test(test_real_command_replies),
        cmocka_unit_test(test_attribute_chains),
        cmocka_unit_test(test_work_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
