/* test_keyspec: key positions from the real COMMAND replies of Redis
 * 7.0.15, Redis 8.0.2 and Valkey 8.1.1 (RESP2 COMMAND and RESP3 COMMAND
 * INFO): multi-key commands, numkeys, keywords searched from either end,
 * subcommands, unknown specs, the legacy range of a server without key
 * specs; the slot of a key with and without hash tags; bad replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/keyspec.h"

static const char *const tables[] = {
    "tests/unit/data/command-redis7.resp",
    "tests/unit/data/command-redis8.resp",
    "tests/unit/data/command-valkey8.resp",
};

static char *slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void load(struct ks_table *t, const char *file)
{
    size_t len;
    char err[256] = "";
    char *buf = slurp(file, &len);
    int rc = ks_load(t, buf, len, err, sizeof(err));
    if (rc < 0)
        fail_msg("%s: %s", file, err);
    free(buf);
}

struct got {
    char text[256];
};

static void add_pos(void *ctx, int pos)
{
    struct got *g = ctx;
    size_t o = strlen(g->text);
    snprintf(g->text + o, sizeof(g->text) - o, "%s%d", o ? "," : "", pos);
}

/* The key positions of a space-separated request ("" is an empty
 * argument), with 'P' appended for KS_PARTIAL and "?" for KS_UNKNOWN. */
static const char *keys_of(const struct ks_table *t, const char *req, struct got *g)
{
    char copy[512];
    const char *argv[64];
    size_t argl[64];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", req);
    for (char *tok = strtok(copy, " "); tok && argc < 64; tok = strtok(NULL, " ")) {
        bool empty = !strcmp(tok, "\"\"");
        argv[argc] = empty ? "" : tok;
        argl[argc++] = empty ? 0 : strlen(tok);
    }
    memset(g, 0, sizeof(*g));
    enum ks_found f = ks_keys(t, argc, argv, argl, NULL, add_pos, g);
    size_t o = strlen(g->text);
    if (f == KS_PARTIAL)
        snprintf(g->text + o, sizeof(g->text) - o, "P");
    if (f == KS_UNKNOWN)
        snprintf(g->text + o, sizeof(g->text) - o, "?");
    return g->text;
}

/* Every server gives the same keys for these. */
static const struct {
    const char *req, *keys;
} cases[] = {
    {"GET k", "1"},
    {"get k", "1"},
    {"MSET a 1 b 2 c 3", "1,3,5"},
    {"mSeT a 1", "1"},
    {"MGET x y z", "1,2,3"},
    {"DEL a b", "1,2"},
    {"EVAL return 2 k1 k2 arg", "3,4"},
    {"EVAL return 0", ""},
    {"EVALSHA abc 1 k arg", "3"},
    {"EVAL return 3 k1 k2", ""}, /* numkeys beyond the arguments */
    {"EVAL return x k1", ""},    /* not a number */
    {"FCALL f 2 a b c", "3,4"},
    {"ZUNIONSTORE dst 2 a b WEIGHTS 1 2", "1,3,4"},
    {"XREAD COUNT 2 STREAMS s1 s2 0 0", "4,5"},
    {"XREADGROUP GROUP g c STREAMS s1 s2 > >", "5,6"},
    {"OBJECT ENCODING k", "2"},
    {"object encoding k", "2"},
    {"OBJECT HELP", ""},
    {"XINFO STREAM s", "2"},
    {"SORT k BY w* STORE dst", "1P"}, /* STORE is an unknown spec too */
    {"SORT k", "1P"},
    {"MIGRATE h 7000 \"\" 0 5000 KEYS a b", "7,8"},
    {"MIGRATE h 7000 k 0 5000", "3"},
    {"LMPOP 2 a b LEFT", "2,3"},
    {"BLMPOP 0 2 a b LEFT", "3,4"},
    {"SINTERCARD 2 a b LIMIT 1", "2,3"},
    {"GEORADIUS k 0 0 1 m STORE dst", "1,7"},
    {"RENAME a b", "1,2"},
    {"SMOVE a b m", "1,2"},
    {"WATCH a b c", "1,2,3"},
    {"GET", ""},
    {"PING", ""},
    {"SELECT 3", ""},
    {"MULTI", ""},
    {"FOO bar", "?"},
    {"XREAD COUNT 1 STREAMS", ""}, /* a keyword as the last argument is not searched */
    {"SSUBSCRIBE a b", "1,2"},     /* shard channels hash to slots like keys */
    {"SPUBLISH ch msg", "1"},
};

static void test_keys_from_real_tables(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof(tables) / sizeof(tables[0]); f++) {
        struct ks_table t;
        load(&t, tables[f]);
        assert_true(t.n > 200);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct got g;
            const char *k = keys_of(&t, cases[i].req, &g);
            if (strcmp(k, cases[i].keys))
                fail_msg("%s: %s: keys %s, expected %s", tables[f], cases[i].req, k, cases[i].keys);
        }
        ks_free(&t);
    }
}

static void test_lookup_subcommands(void **state)
{
    (void)state;
    struct ks_table t;
    load(&t, tables[0]);
    const char *argv[] = {"Object", "Freq", "k"};
    size_t argl[] = {6, 4, 1};
    const struct ks_cmd *c = ks_lookup(&t, 3, argv, argl);
    assert_non_null(c);
    assert_string_equal(c->name, "object|freq");
    assert_int_equal(c->arity, 3);
    argv[1] = "nosuch";
    argl[1] = 6;
    c = ks_lookup(&t, 3, argv, argl); /* the container itself: no keys */
    assert_non_null(c);
    assert_string_equal(c->name, "object");
    assert_int_equal(c->nspecs, 0);
    ks_free(&t);
}

/* RESP3 COMMAND INFO (maps and sets) gives what RESP2 COMMAND gives. */
static void test_resp3_matches_resp2(void **state)
{
    (void)state;
    static const char *const resp3[] = {
        "tests/unit/data/command-info-resp3-redis7.resp",
        "tests/unit/data/command-info-resp3-redis8.resp",
        "tests/unit/data/command-info-resp3-valkey8.resp",
    };
    static const char *const reqs[] = {"GET k",          "MSET a 1 b 2",
                                       "EVAL s 2 a b c", "XREAD STREAMS a b 0 0",
                                       "SORT k STORE d", "MIGRATE h 1 \"\" 0 9 KEYS x y"};
    for (int f = 0; f < 3; f++) {
        struct ks_table t2, t3;
        load(&t2, tables[f]);
        load(&t3, resp3[f]);
        assert_int_equal(t3.n, 6);
        for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
            struct got a, b;
            keys_of(&t2, reqs[i], &a);
            keys_of(&t3, reqs[i], &b);
            assert_string_equal(a.text, b.text);
        }
        ks_free(&t2);
        ks_free(&t3);
    }
}

/* A Redis 6 style table: six fields, no key specs. */
static void test_legacy_range(void **state)
{
    (void)state;
    static const char reply[] =
        "*3\r\n"
        "*6\r\n$4\r\nmset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:-1\r\n:2\r\n"
        "*6\r\n$3\r\nget\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n"
        "*6\r\n$4\r\neval\r\n:-3\r\n*1\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n";
    struct ks_table t;
    char err[128];
    assert_int_equal(ks_load(&t, reply, sizeof(reply) - 1, err, sizeof(err)), 0);
    struct got g;
    assert_string_equal(keys_of(&t, "MSET a 1 b 2 c 3", &g), "1,3,5");
    assert_string_equal(keys_of(&t, "GET a", &g), "1");
    assert_string_equal(keys_of(&t, "EVAL s 1 k", &g), "P");
    ks_free(&t);
}

static void test_bad_replies(void **state)
{
    (void)state;
    static const struct {
        const char *reply, *err;
    } bad[] = {
        {"+OK\r\n", "the reply is not an array"},
        {"*1\r\n*6\r\n$3\r\nget\r\n:2\r\n", "not a valid reply"},
        {"*1\r\n*2\r\n$3\r\nget\r\n:2\r\n", "a command with 2 fields"},
        {"*1\r\n*6\r\n:1\r\n:2\r\n*0\r\n:1\r\n:1\r\n:1\r\n", "a command name that is not"},
        {"*1\r\n*6\r\n$3\r\nget\r\n+x\r\n*0\r\n:1\r\n:1\r\n:1\r\n", "arity is not an integer"},
        {"*0\r\n+junk\r\n", "bytes after the reply"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ks_table t;
        char err[160] = "";
        assert_int_equal(ks_load(&t, bad[i].reply, strlen(bad[i].reply), err, sizeof(err)), -1);
        if (!strstr(err, bad[i].err))
            fail_msg("reply %zu: error '%s', expected '%s'", i, err, bad[i].err);
        assert_null(t.cmd);
    }
}

/* A table that says keys come before their search's start, or has a
 * negative key count index, gives no keys instead of reading outside the
 * request. */
static void test_hostile_specs(void **state)
{
    (void)state;
    static const char reply[] =
        "*2\r\n"
        "*10\r\n$1\r\nx\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*0\r\n*0\r\n*1\r\n"
        "*4\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n"
        "*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n"
        "$4\r\nspec\r\n*6\r\n$9\r\nkeynumidx\r\n:-5\r\n$8\r\nfirstkey\r\n:1\r\n"
        "$7\r\nkeystep\r\n:1\r\n*0\r\n"
        "*10\r\n$1\r\ny\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*0\r\n*0\r\n*1\r\n"
        "*4\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n"
        "*2\r\n$5\r\nindex\r\n:-3\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n"
        "$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n"
        "$5\r\nlimit\r\n:0\r\n*0\r\n";
    struct ks_table t;
    char err[160] = "";
    if (ks_load(&t, reply, sizeof(reply) - 1, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    struct got g;
    assert_string_equal(keys_of(&t, "X 1 a b", &g), "");
    assert_string_equal(keys_of(&t, "Y a b", &g), "");
    ks_free(&t);
}

static void test_slots(void **state)
{
    (void)state;
    assert_int_equal(ks_slot("foo", 3), 12182);
    assert_int_equal(ks_slot("bar", 3), 5061);
    assert_int_equal(ks_slot("123456789", 9), 0x31C3 & 16383);
    assert_int_equal(ks_slot("{user1000}.following", 20), ks_slot("user1000", 8));
    assert_int_equal(ks_slot("foo{}{bar}", 10), 8363); /* an empty tag: the whole key */
    assert_int_not_equal(ks_slot("foo{}{bar}", 10), ks_slot("bar", 3));
    assert_int_equal(ks_slot("foo{{bar}}zap", 13), ks_slot("{bar", 4));
    assert_int_equal(ks_slot("foo{bar}{zap}", 13), ks_slot("bar", 3));
    assert_int_equal(ks_slot("{x", 2), 11068); /* no closing brace: the whole key */
    /* BullMQ's keys: one slot only with a hash tag in the prefix */
    assert_int_not_equal(ks_slot("bull:emails:wait", 16), ks_slot("bull:emails:meta", 16));
    assert_int_equal(ks_slot("{bull}:emails:wait", 18), ks_slot("{bull}:emails:meta", 18));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_from_real_tables), cmocka_unit_test(test_lookup_subcommands),
        cmocka_unit_test(test_resp3_matches_resp2),   cmocka_unit_test(test_legacy_range),
        cmocka_unit_test(test_bad_replies),           cmocka_unit_test(test_slots),
        cmocka_unit_test(test_hostile_specs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
