/* test_ctl: parsing of control-protocol request lines (ctl_parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "../../shim/ctl.h"

/* Parse a line that must be accepted. */
static void ok(const char *line, struct ctl_cmd *c)
{
    char err[256] = "";
    if (ctl_parse(line, c, err, sizeof(err)) != 0)
        fail_msg("\"%s\" rejected: %s", line, err);
}

/* Parse a line that must be rejected, with a message containing word. */
static void bad(const char *line, const char *word, int caller)
{
    struct ctl_cmd c;
    char err[256] = "";
    if (ctl_parse(line, &c, err, sizeof(err)) != -1)
        fail_msg("(test line %d) \"%.40s\" accepted", caller, line);
    if (!err[0] || !strstr(err, word))
        fail_msg("(test line %d) \"%.40s\": error \"%s\" lacks \"%s\"", caller, line, err,
                 word);
}
#define BAD(line, word) bad(line, word, __LINE__)

static void test_on_off(void **state)
{
    struct ctl_cmd c;
    (void)state;
    ok("on r1", &c);
    assert_int_equal(c.op, CTL_ON);
    assert_string_equal(c.rule, "r1");
    assert_string_equal(c.key, "");
    assert_string_equal(c.value, "");
    ok("off r1", &c);
    assert_int_equal(c.op, CTL_OFF);
    assert_string_equal(c.rule, "r1");
    /* Line endings and extra blanks between words are not part of a word. */
    ok("on partition-a.b_c\n", &c);
    assert_int_equal(c.op, CTL_ON);
    assert_string_equal(c.rule, "partition-a.b_c");
    ok("off  r2\r\n", &c);
    assert_int_equal(c.op, CTL_OFF);
    assert_string_equal(c.rule, "r2");
    ok("\ton\tr3 ", &c);
    assert_int_equal(c.op, CTL_ON);
    assert_string_equal(c.rule, "r3");
}

static void test_set(void **state)
{
    struct ctl_cmd c;
    (void)state;
    ok("set r1 delay 30ms", &c);
    assert_int_equal(c.op, CTL_SET);
    assert_string_equal(c.rule, "r1");
    assert_string_equal(c.key, "delay");
    assert_string_equal(c.value, "30ms");
    ok("set slow loss 12.5%\r\n", &c);
    assert_int_equal(c.op, CTL_SET);
    assert_string_equal(c.rule, "slow");
    assert_string_equal(c.key, "loss");
    assert_string_equal(c.value, "12.5%");
    ok("set r9 rate 1mbit\n", &c);
    assert_string_equal(c.value, "1mbit");
}

static void test_no_argument_verbs(void **state)
{
    struct ctl_cmd c;
    (void)state;
    ok("stats", &c);
    assert_int_equal(c.op, CTL_STATS);
    assert_string_equal(c.rule, "");
    ok("release\n", &c);
    assert_int_equal(c.op, CTL_RELEASE);
    ok("quit\r\n", &c);
    assert_int_equal(c.op, CTL_QUIT);
    ok("stats\n", &c);
    assert_int_equal(c.op, CTL_STATS);
}

static void test_errors(void **state)
{
    (void)state;
    BAD("", "empty request");
    BAD("\n", "empty request");
    BAD(" \t\r\n", "empty request");
    BAD("on", "usage: on RULE");
    BAD("off\n", "usage: off RULE");
    BAD("on a b", "usage: on RULE");
    BAD("set r1 delay", "usage: set RULE KEY VALUE");
    BAD("set r1", "usage: set");
    BAD("set r1 delay 30 ms", "usage: set"); /* five words */
    BAD("stats x", "usage: stats");
    BAD("release now", "usage: release");
    BAD("quit 1", "usage: quit");
    BAD("reload", "unknown request 'reload'");
    BAD("ON r1", "unknown request 'ON'"); /* verbs are lower case */
}

static void test_long_lines(void **state)
{
    static char line[CTL_LINE_MAX + 16];
    struct ctl_cmd c;
    (void)state;
    /* CTL_LINE_MAX - 1 characters is the longest line. */
    memset(line, 'x', sizeof(line));
    memcpy(line, "on ", 3);
    line[CTL_LINE_MAX] = '\0';
    BAD(line, "too long");
    line[CTL_LINE_MAX - 1] = '\0';
    /* ...and it then fails only on the rule name. */
    BAD(line, "rule name too long");

    /* Field limits: rule < 64, key < 64, value < 256 characters. */
    memset(line, 0, sizeof(line));
    strcpy(line, "on ");
    memset(line + 3, 'r', 63);
    ok(line, &c);
    assert_int_equal(strlen(c.rule), 63);
    line[3 + 63] = 'r';
    BAD(line, "rule name too long");

    memset(line, 0, sizeof(line));
    strcpy(line, "set r1 delay ");
    memset(line + strlen(line), '9', 255);
    ok(line, &c);
    assert_int_equal(strlen(c.value), 255);
    line[strlen(line)] = '9';
    BAD(line, "key or value too long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_off),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_no_argument_verbs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
