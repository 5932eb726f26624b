/* test_hosts: the hosts file (errors at FILE:LINE) and the placement of
 * nodes on hosts (written, round robin without a replica beside its
 * primary, an address per node). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../harness/hosts/remote.h"
#include "../../harness/scenario/hosts.h"
#include "../../proto/tabline.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const char three[] = "[host h1]\nssh = root@10.77.0.11\naddr = 10.77.0.11, 10.77.0.21\n"
                            "[host h2]\nssh = root@10.77.0.12\naddr = 10.77.0.12, 10.77.0.22\n"
                            "shim = /opt/rift/rift-shim\n"
                            "[host h3]\nssh = h3\naddr = 10.77.0.13 10.77.0.23\ntmp = /var/tmp\n"
                            "[ssh]\nconfig = /tmp/ssh_config\n[harness]\naddr = 10.77.0.1\n";

static void load_ok(struct hosts *hs, const char *text)
{
    char err[512] = "";
    if (hosts_load_string(hs, "h.ini", text, err, sizeof(err)) < 0)
        fail_msg("%s", err);
}

static void expect_err(const char *text, const char *want)
{
    struct hosts hs;
    char err[512] = "";
    assert_int_equal(hosts_load_string(&hs, "h.ini", text, err, sizeof(err)), -1);
    if (!strstr(err, want))
        fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_load(void **state)
{
    struct hosts hs;
    (void)state;
    load_ok(&hs, three);
    assert_int_equal(hs.n, 3);
    assert_string_equal(hs.h[0].ssh, "root@10.77.0.11");
    assert_int_equal(hs.h[0].n_addr, 2);
    assert_int_equal(hs.h[0].addr[1], IP4(10, 77, 0, 21));
    assert_int_equal(hs.h[2].addr[1], IP4(10, 77, 0, 23));
    assert_string_equal(hs.h[1].shim, "/opt/rift/rift-shim");
    assert_string_equal(hs.h[0].tmp, "/tmp");
    assert_string_equal(hs.h[2].tmp, "/var/tmp");
    assert_string_equal(hs.ssh_config, "/tmp/ssh_config");
    assert_int_equal(hs.harness_addr, IP4(10, 77, 0, 1));
    /* addr on several lines adds up */
    load_ok(&hs, "[host a]\nssh = a\naddr = 10.0.0.1, 10.0.0.2\naddr = 10.0.0.3\n");
    assert_int_equal(hs.h[0].n_addr, 3);
    assert_int_equal(hs.h[0].addr[2], IP4(10, 0, 0, 3));
}

static void test_errors(void **state)
{
    (void)state;
    expect_err("", "h.ini:1: no [host NAME] section");
    expect_err("[host h1]\naddr = 10.0.0.1\n", "h.ini:1: host h1: no ssh destination");
    expect_err("[host h1]\nssh = a\n", "h.ini:1: host h1: no addr");
    expect_err("[host h1]\nssh = -oProxyCommand=x\n", "h.ini:2: ssh: expected an ssh destination");
    expect_err("[host h1]\nssh = a b\n", "h.ini:2: ssh: expected");
    expect_err("[host h1]\nssh = a\naddr = 10.0.0.300\n", "h.ini:3: addr: '10.0.0.300' is not");
    expect_err("[host h1]\nssh = a\naddr = 10.0.0.1\nport = 22\n", "h.ini:4: unknown key 'port'");
    expect_err("[host h1]\nssh = a\naddr = 10.0.0.1\n[host h1]\n", "h.ini:4: host h1 given twice");
    expect_err("[host h1]\nssh = a\naddr = 10.0.0.1\n[host h2]\nssh = b\naddr = 10.0.0.1\n",
               "h.ini:4: host h2: an address of host h1 again");
    expect_err("[hots h1]\n", "h.ini:1: unknown section [hots h1]");
    expect_err("[host h1]\nssh = a\naddr = 10.0.0.1\naddr = ,\n", "h.ini:4: addr: expected one");
    expect_err("[host h1]\nssh = a\naddr = 10.0.0.1\n[placement]\n[placement]\n",
               "h.ini:5: [placement] given twice");
}

static struct scenario scn;

static void scenario_3x1(void)
{
    char err[512];
    if (scn_load_string(&scn, "s.ini", "[cluster]\nmasters = 3\nreplicas = 1\n", err, sizeof(err)) <
        0)
        fail_msg("%s", err);
}

static void test_round_robin(void **state)
{
    struct hosts hs;
    int host[SCN_MAX_NODES];
    uint32_t ip[SCN_MAX_NODES];
    char err[512];
    (void)state;
    scenario_3x1();
    load_ok(&hs, three);
    assert_int_equal(hosts_place(&hs, &scn, host, ip, err, sizeof(err)), 0);
    /* m1 m2 m3 on h1 h2 h3, and each replica on another host than its primary */
    for (int i = 0; i < 3; i++)
        assert_int_equal(host[i], i);
    for (int i = 3; i < 6; i++)
        assert_int_not_equal(host[i], host[scn.primary_of[i]]);
    /* every node its own address */
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            assert_int_not_equal(ip[i], ip[j]);
    assert_int_equal(ip[0], IP4(10, 77, 0, 11));
}

static void test_written_placement(void **state)
{
    struct hosts hs;
    int host[SCN_MAX_NODES];
    uint32_t ip[SCN_MAX_NODES];
    char err[512], text[1024];
    (void)state;
    scenario_3x1();
    snprintf(text, sizeof(text), "%s[placement]\nm1r1 = h1\nm1 = h3\n", three);
    load_ok(&hs, text);
    assert_int_equal(hosts_place(&hs, &scn, host, ip, err, sizeof(err)), 0);
    assert_int_equal(host[scn_node(&scn, "m1r1")], 0);
    assert_int_equal(host[scn_node(&scn, "m1")], 2);
    assert_int_equal(ip[scn_node(&scn, "m1r1")], IP4(10, 77, 0, 11));

    snprintf(text, sizeof(text), "%s[placement]\nm9 = h1\n", three);
    load_ok(&hs, text);
    assert_int_equal(hosts_place(&hs, &scn, host, ip, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "h.ini:17: placement: no node m9"));
    snprintf(text, sizeof(text), "%s[placement]\nm1 = h7\n", three);
    load_ok(&hs, text);
    assert_int_equal(hosts_place(&hs, &scn, host, ip, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no host h7"));
    snprintf(text, sizeof(text), "%s[placement]\nm1 = h1\nm2 = h1\nm3 = h1\n", three);
    load_ok(&hs, text);
    assert_int_equal(hosts_place(&hs, &scn, host, ip, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "h.ini:19: placement: host h1 has 2 addresses for more nodes"));
    /* too few addresses over all */
    load_ok(&hs, "[host a]\nssh = a\naddr = 10.0.0.1, 10.0.0.2\n[host b]\nssh = b\naddr = "
                 "10.0.0.3\n");
    assert_int_equal(hosts_place(&hs, &scn, host, ip, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "6 nodes, and the hosts have too few addresses"));
}

/* The agent's line protocol: fields with tabs, newlines and backslashes
 * come back whole, and a line cannot be split into more fields than sent. */
static void test_tabline_round_trip(void **state)
{
    const char *fields[] = {"put", "/tmp/a b\tc", "line1\nline2", "back\\slash\\", "", "x"};
    char *buf = NULL, *w[8];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    for (int i = 0; i < 6; i++) {
        if (i)
            fputc('\t', f);
        tl_put(f, fields[i], strlen(fields[i]));
    }
    fputc('\n', f);
    fclose(f);
    assert_ptr_equal(strchr(buf, '\n'), buf + len - 1); /* one line */
    assert_int_equal(tl_split(buf, w, 8), 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(w[i], fields[i]);
    free(buf);
    char many[] = "a\tb\tc\n";
    assert_int_equal(tl_split(many, w, 2), -1);
}

/* A word for the remote shell: quoted whole, quotes inside survive. */
static void test_remote_quote(void **state)
{
    char q[64];
    (void)state;
    remote_quote(q, sizeof(q), "it's; rm -rf /");
    assert_string_equal(q, "'it'\\''s; rm -rf /'");
    remote_quote(q, sizeof(q), "");
    assert_string_equal(q, "''");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_written_placement),
        cmocka_unit_test(test_tabline_round_trip),
        cmocka_unit_test(test_remote_quote),
    };
    return cmocka_run_group_tests_name("hosts", tests, NULL, NULL);
}
