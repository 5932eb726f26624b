/* test_cclient: the slot map from CLUSTER SLOTS, against two fake nodes on
 * 127.0.0.1 that answer with the reply a test sets: a good map is taken,
 * a reply with a slot below 0 or above 16383, or a range that ends before
 * it starts, is refused whole (counted, said in last_error) and the map in
 * use stays as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../harness/cluster/cclient.h"

#define MAX_CONNS 8

static const char REQ[] = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";

/* Two listening sockets and their connections; every CLUSTER SLOTS gets
 * `reply` (RESP2 text where @1 and @2 stand for the two ports). */
static struct {
    int lfd[2], port[2], stop[2];
    pthread_t th;
    pthread_mutex_t mu;
    char reply[512];
    int answered;
} fake = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void set_reply(const char *text)
{
    size_t o = 0;
    pthread_mutex_lock(&fake.mu);
    for (const char *p = text; *p && o + 8 < sizeof(fake.reply); p++) {
        if (p[0] == '@' && (p[1] == '1' || p[1] == '2'))
            o += (size_t)snprintf(fake.reply + o, sizeof(fake.reply) - o, "%d",
                                  fake.port[*++p - '1']);
        else
            fake.reply[o++] = *p;
    }
    fake.reply[o] = '\0';
    fake.answered = 0;
    pthread_mutex_unlock(&fake.mu);
}

static int answered(void)
{
    pthread_mutex_lock(&fake.mu);
    int n = fake.answered;
    pthread_mutex_unlock(&fake.mu);
    return n;
}

static void serve(int fd, char *buf, size_t *len, size_t cap)
{
    ssize_t n = read(fd, buf + *len, cap - *len);
    char *at;
    if (n <= 0) {
        close(fd);
        *len = (size_t)-1;
        return;
    }
    *len += (size_t)n;
    while ((at = memmem(buf, *len, REQ, sizeof(REQ) - 1))) {
        size_t used = (size_t)(at - buf) + sizeof(REQ) - 1;
        pthread_mutex_lock(&fake.mu);
        ssize_t w = write(fd, fake.reply, strlen(fake.reply));
        fake.answered += w == (ssize_t)strlen(fake.reply);
        pthread_mutex_unlock(&fake.mu);
        memmove(buf, buf + used, *len - used);
        *len -= used;
    }
}

static void *fake_main(void *arg)
{
    struct pollfd p[3 + MAX_CONNS];
    static char buf[MAX_CONNS][256];
    size_t len[MAX_CONNS];
    int nc = 0;
    (void)arg;
    for (;;) {
        p[0] = (struct pollfd){.fd = fake.stop[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = fake.lfd[0], .events = POLLIN};
        p[2] = (struct pollfd){.fd = fake.lfd[1], .events = POLLIN};
        if (poll(p, (nfds_t)(3 + nc), 5000) <= 0 || p[0].revents)
            break;
        for (int k = 0; k < nc; k++)
            if (p[3 + k].revents) {
                serve(p[3 + k].fd, buf[k], &len[k], sizeof(buf[k]));
                if (len[k] == (size_t)-1) { /* closed: the last one takes its place */
                    p[3 + k] = p[3 + nc - 1];
                    len[k] = len[nc - 1];
                    memcpy(buf[k], buf[nc - 1], sizeof(buf[k]));
                    nc--;
                    k--;
                }
            }
        for (int l = 1; l <= 2; l++)
            if (p[l].revents && nc < MAX_CONNS) {
                int fd = accept(p[l].fd, NULL, NULL);
                if (fd >= 0) {
                    len[nc] = 0;
                    p[3 + nc++] = (struct pollfd){.fd = fd, .events = POLLIN};
                }
            }
    }
    for (int k = 0; k < nc; k++)
        close(p[3 + k].fd);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof(a);
        fake.lfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fake.lfd[i] < 0 || bind(fake.lfd[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
            listen(fake.lfd[i], 8) < 0 || getsockname(fake.lfd[i], (struct sockaddr *)&a, &al) < 0)
            return -1;
        fake.port[i] = ntohs(a.sin_port);
    }
    if (pipe(fake.stop) < 0)
        return -1;
    return pthread_create(&fake.th, NULL, fake_main, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    if (write(fake.stop[1], "x", 1) != 1)
        return -1;
    pthread_join(fake.th, NULL);
    for (int i = 0; i < 2; i++)
        close(fake.lfd[i]);
    close(fake.stop[0]);
    close(fake.stop[1]);
    return 0;
}

/* 0-8191 on the first node, 8192-16383 on the second. */
static const char GOOD[] = "*2\r\n"
                           "*3\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:@1\r\n$2\r\nn1\r\n"
                           "*3\r\n:8192\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:@2\r\n$2\r\nn2\r\n";

static void expect_good_map(const struct cclient *cc)
{
    assert_int_equal(cc->n_nodes, 2);
    for (int s = 0; s < 16384; s++)
        if (cc->slot_node[s] != (s < 8192 ? 0 : 1))
            fail_msg("slot %d: node %d", s, cc->slot_node[s]);
}

static void test_bad_slot_ranges_are_refused(void **state)
{
    static const struct {
        const char *reply, *why;
    } bad[] = {
        {"*2\r\n*3\r\n:0\r\n:100\r\n*2\r\n$9\r\n127.0.0.1\r\n:@1\r\n"
         "*3\r\n:-5\r\n:10\r\n*2\r\n$9\r\n127.0.0.1\r\n:@1\r\n",
         "bad slot range -5..10"},
        {"*1\r\n*3\r\n:16000\r\n:16384\r\n*2\r\n$9\r\n127.0.0.1\r\n:@1\r\n", "16000..16384"},
        {"*1\r\n*3\r\n:16384\r\n:16384\r\n*2\r\n$9\r\n127.0.0.1\r\n:@1\r\n", "16384..16384"},
        {"*1\r\n*3\r\n:200\r\n:100\r\n*2\r\n$9\r\n127.0.0.1\r\n:@1\r\n", "200..100"},
        {"*1\r\n*3\r\n:-9223372036854775807\r\n:0\r\n*2\r\n$9\r\n127.0.0.1\r\n:@1\r\n",
         "-9223372036854775807..0"},
        {"*1\r\n*3\r\n$1\r\n0\r\n:10\r\n*2\r\n$9\r\n127.0.0.1\r\n:@1\r\n", "not two integers"},
    };
    struct cclient *cc = malloc(sizeof(*cc));
    char seed[32];
    uint64_t refused = 0;
    (void)state;
    assert_non_null(cc);
    cc_init(cc, "", 2000, "");
    snprintf(seed, sizeof(seed), "127.0.0.1:%d", fake.port[0]);
    cc_add_seed(cc, seed);
    set_reply(GOOD);
    assert_int_equal(cc_refresh(cc), 0);
    expect_good_map(cc);
    assert_int_equal(cc->errors[CC_OTHER], 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_reply(bad[i].reply);
        assert_int_equal(cc_refresh(cc), -1);
        /* every node was asked (the seed twice: as a seed and as a node),
         * and every reply refused */
        assert_int_equal(answered(), 3);
        refused += 3;
        assert_int_equal(cc->errors[CC_OTHER], refused);
        if (!strstr(cc->last_error, bad[i].why) || !strstr(cc->last_error, "CLUSTER SLOTS from"))
            fail_msg("reply %zu: last_error \"%s\"", i, cc->last_error);
        expect_good_map(cc);
    }
    printf("    last refusal: %s\n", cc->last_error);
    /* a good reply after them is taken: everything on the second node */
    set_reply("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:@2\r\n");
    assert_int_equal(cc_refresh(cc), 0);
    for (int s = 0; s < 16384; s++)
        assert_int_equal(cc->slot_node[s], 1);
    /* a range whose node has no known endpoint (null) is left out, no node
     * made of it */
    set_reply("*2\r\n*3\r\n:0\r\n:99\r\n*2\r\n$-1\r\n:@1\r\n"
              "*3\r\n:100\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:@2\r\n");
    assert_int_equal(cc_refresh(cc), 0);
    assert_int_equal(cc->n_nodes, 2);
    assert_int_equal(cc->slot_node[0], -1);
    assert_int_equal(cc->slot_node[99], -1);
    assert_int_equal(cc->slot_node[100], 1);
    assert_int_equal(cc->errors[CC_OTHER], refused);
    cc_close(cc);
    free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_slot_ranges_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
