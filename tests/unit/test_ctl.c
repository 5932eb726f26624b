/* test_ctl: parsing of control-protocol request lines (ctl_parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../proto/ctl.h"

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
        fail_msg("(test line %d) \"%.40s\": error \"%s\" lacks \"%s\"", caller, line, err, word);
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

/* A one-shot server on a real socket: answers one request with `reply`
 * (exactly these bytes), then closes. */
struct server {
    int fd;
    const char *reply;
    size_t len;
};

static void *serve(void *arg)
{
    struct server *sv = arg;
    char buf[256];
    int c = accept(sv->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    if (read(c, buf, sizeof(buf)) > 0) {
        size_t off = 0;
        while (off < sv->len) {
            ssize_t n = write(c, sv->reply + off, sv->len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    close(c);
    return NULL;
}

/* ctl_request against a server that sends `reply`; returns its result. */
static int request(const char *reply, size_t len, char *out, size_t outlen, char *err)
{
    char path[64], e[256];
    struct server sv = {.reply = reply, .len = len};
    pthread_t th;
    int rc;
    snprintf(path, sizeof(path), "/tmp/rift-test-ctl-%d.sock", (int)getpid());
    struct ctl_bound b;
    sv.fd = ctl_listen(path, &b, e, sizeof(e));
    assert_true(sv.fd >= 0);
    /* ctl_listen's socket is non-blocking; this test server blocks */
    assert_int_equal(fcntl(sv.fd, F_SETFL, fcntl(sv.fd, F_GETFL) & ~O_NONBLOCK), 0);
    assert_int_equal(pthread_create(&th, NULL, serve, &sv), 0);
    rc = ctl_request(path, "stats", out, outlen, 5000, err, 256);
    pthread_join(th, NULL);
    close(sv.fd);
    unlink(path);
    return rc;
}

/* A reply that does not fit, or that ends without a newline, is an error:
 * report.json once embedded half a stats object. */
static void test_request_never_truncates(void **state)
{
    char *big = malloc(5001), out[1024], err[256] = "";
    (void)state;
    memset(big, 'x', 5000);
    big[0] = '{';
    big[4999] = '\n';
    assert_int_equal(request(big, 5000, out, sizeof(out), err), -1);
    assert_non_null(strstr(err, "longer than 1023 bytes"));

    char *whole = malloc(8192);
    assert_int_equal(request(big, 5000, whole, 8192, err), 0);
    assert_int_equal(strlen(whole), 4999);
    free(whole);

    err[0] = '\0';
    assert_int_equal(request("{\"packets\":1", 13, out, sizeof(out), err), -1);
    assert_non_null(strstr(err, "cut short"));

    assert_int_equal(request("ok\n", 3, out, sizeof(out), err), 0);
    assert_string_equal(out, "ok");
    free(big);
}

/* The socket path holds someone's file or link: refused and left as it
 * is; at the end only the socket ctl_listen made is removed. */
static void test_listen_removes_only_its_own(void **state)
{
    char path[64], other[80], e[256];
    struct ctl_bound b;
    struct stat st;
    int fd;
    (void)state;
    snprintf(path, sizeof(path), "/tmp/rift-test-ctl-own-%d.sock", (int)getpid());
    snprintf(other, sizeof(other), "%s.victim", path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("someone's file\n", f);
    fclose(f);
    assert_int_equal(ctl_listen(path, &b, e, sizeof(e)), -1);
    assert_non_null(strstr(e, "exists and is not a socket: not removed"));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((int)st.st_size, 15);
    unlink(path);
    f = fopen(other, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(symlink(other, path), 0);
    assert_int_equal(ctl_listen(path, &b, e, sizeof(e)), -1);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    unlink(path);
    /* ours: mode 0600; replaced by another file, that file stays */
    fd = ctl_listen(path, &b, e, sizeof(e));
    assert_true(fd >= 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    close(fd);
    unlink(path);
    assert_int_equal(rename(other, path), 0);
    ctl_unlink(path, &b);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    unlink(path);
    fd = ctl_listen(path, &b, e, sizeof(e));
    assert_true(fd >= 0);
    close(fd);
    ctl_unlink(path, &b);
    assert_int_equal(lstat(path, &st), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_removes_only_its_own),
        cmocka_unit_test(test_on_off),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_no_argument_verbs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_request_never_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
