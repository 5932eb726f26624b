/* test_esc: what leaves rift is escaped whatever the input holds: JSON
 * strings, XML attributes and one-line text, with invalid UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policies/esc.h"

static char *render(void (*fn)(FILE *, const char *), const char *in)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fn(f, in);
    fclose(f);
    return buf;
}

static void json_is(const char *in, const char *want)
{
    char *got = render(esc_json, in);
    if (strcmp(got, want))
        fail_msg("esc_json: got %s, want %s", got, want);
    free(got);
}

static void xml_is(const char *in, const char *want)
{
    char *got = render(esc_xml, in);
    if (strcmp(got, want))
        fail_msg("esc_xml: got %s, want %s", got, want);
    free(got);
}

static void test_json(void **state)
{
    (void)state;
    json_is("plain", "\"plain\"");
    json_is("a\"b\\c", "\"a\\\"b\\\\c\"");
    json_is("line\nnext\ttab\r", "\"line\\nnext\\ttab\\r\"");
    json_is("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    /* valid UTF-8 passes, invalid bytes become U+FFFD */
    json_is("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    json_is("\xff\xfe", "\"\\ufffd\\ufffd\"");
    json_is("\xc3", "\"\\ufffd\"");                       /* cut short */
    json_is("\xc0\xaf", "\"\\ufffd\\ufffd\"");            /* overlong '/' */
    json_is("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate */
    json_is("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
    json_is("", "\"\"");
    json_is(NULL, "\"\"");
}

static void test_xml(void **state)
{
    (void)state;
    xml_is("a<b>&\"c'", "a&lt;b&gt;&amp;&quot;c&apos;");
    xml_is("x\ny", "x&#10;y");
    xml_is("\x01\x1b", "&#xFFFD;&#xFFFD;");
    xml_is("\xff", "&#xFFFD;");
    xml_is("\xef\xbf\xbf", "&#xFFFD;");
    xml_is("caf\xc3\xa9", "caf\xc3\xa9");
}

static void test_text(void **state)
{
    char out[64];
    (void)state;
    esc_text(out, sizeof(out), "ok 1.2.3.4");
    assert_string_equal(out, "ok 1.2.3.4");
    esc_text(out, sizeof(out), "a\nb\\c\xff");
    assert_string_equal(out, "a\\x0ab\\x5cc\\xff");
    esc_text(out, 6, "\x01\x02\x03");
    assert_string_equal(out, "\\x01");
    esc_text(out, 1, "abc");
    assert_string_equal(out, "");
}

/* What esc_json writes, esc_json_field reads back whole; a missing field (out
 * left empty) or an unterminated string is false. */
static void test_json_field_round_trip(void **state)
{
    const char *v = "a \"quoted\" \\ back\nline\ttab";
    char *buf = NULL, out[128];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    fputs("{\"t\":1,\"name\":", f);
    esc_json(f, v);
    fputs("}", f);
    fclose(f);
    assert_true(esc_json_field(buf, "name", out, sizeof(out)));
    assert_string_equal(out, v);
    assert_false(esc_json_field(buf, "other", out, sizeof(out)));
    assert_string_equal(out, "");
    assert_false(esc_json_field("{\"name\":\"open", "name", out, sizeof(out)));
    free(buf);
}

/* Quoted words, pasted into bash, are the same words: bash prints each
 * argument of `printf '%s\0'` back, compared byte for byte. */
static void test_shell_round_trip(void **state)
{
    (void)state;
    const char *words[] = {"sh",
                           "-c",
                           "cd /tmp && pytest -k 'a or b'",
                           "",
                           "it's",
                           "$HOME",
                           "a\"b\\c",
                           "tab\there",
                           "new\nline",
                           "*?[x]",
                           "~user",
                           "plain-1.0_x",
                           "semi;colon",
                           "back`tick`",
                           "\x7f del",
                           "quote'in\x01ctl"};
    int n = (int)(sizeof(words) / sizeof(words[0]));
    char line[4096], cmd[4600], got[4096];
    char q[64];
    assert_true(esc_shell(q, sizeof(q), "plain-1.0_x"));
    assert_string_equal(q, "plain-1.0_x");
    assert_true(esc_shell(q, sizeof(q), "it's"));
    assert_string_equal(q, "'it'\\''s'");
    assert_true(esc_shell(q, sizeof(q), ""));
    assert_string_equal(q, "''");
    assert_true(esc_shell(q, sizeof(q), "a\nb"));
    assert_string_equal(q, "$'a\\x0ab'");
    assert_false(esc_shell(q, 6, "abcdefgh"));
    assert_true(esc_shell_line(line, sizeof(line), n, words));
    snprintf(cmd, sizeof(cmd), "printf '%%s\\0' %s", line);
    char script[5000];
    char qc[4700];
    assert_true(esc_shell(qc, sizeof(qc), cmd));
    snprintf(script, sizeof(script), "bash -c %s", qc);
    FILE *p = popen(script, "r");
    assert_non_null(p);
    size_t len = fread(got, 1, sizeof(got), p);
    assert_int_equal(pclose(p), 0);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        assert_true(off < len);
        assert_string_equal(got + off, words[i]);
        off += strlen(words[i]) + 1;
    }
    assert_int_equal(off, len);
}

/* Only a whole, well-formed object goes in as it is; anything else is
 * escaped as a string, and what comes out parses. */
static void test_json_embed(void **state)
{
    (void)state;
    const char *good[] = {"{}", "{\"a\":1}", " {\"a\":[1,-2.5e3,true,false,null,\"x\\u00e9\"]} ",
                          "{\"n\":{\"m\":{}}}", "{\"utf8\":\"\xc3\xa9\"}"};
    const char *bad[] = {"",
                         "{",
                         "{\"a\":1}}",
                         "{\"a\":1},\"x\":2",
                         "{\"a\":1} trailing",
                         "[1]",
                         "{\"a\":01}",
                         "{\"a\":\"\x01\"}",
                         "{\"a\":\"\xff\"}",
                         "{\"a\":\"\\q\"}",
                         "{a:1}",
                         "{\"a\":1,}",
                         "{\"a\":tru}",
                         "{\"a\":\"</script>\"},\"verdict\":\"pass\"}"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(esc_json_object(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(esc_json_object(bad[i]));
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        esc_json_embed(f, bad[i]);
        fclose(f);
        assert_int_equal(strncmp(out, "{\"unparsed\":\"", 13), 0);
        assert_true(esc_json_object(out));
        free(out);
    }
    char deep[200] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    assert_false(esc_json_object(deep));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_xml),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_json_field_round_trip),
        cmocka_unit_test(test_shell_round_trip),
        cmocka_unit_test(test_json_embed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
