/* test_probes: reading a probe's JSON lines as they are written: lines of
 * any length (a 1023-byte line once stalled the reader for good), a line
 * still being written is read once it is whole, and heal accounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../harness/cluster/probes.h"

static struct scn_probe cfg = {.name = "ioredis"};

static void setup_probe(struct probe_rt *p, char *path, size_t len)
{
    memset(p, 0, sizeof(*p));
    p->cfg = &cfg;
    p->heal_ms = -1;
    snprintf(path, len, "/tmp/rift-test-probe-%d.jsonl", (int)getpid());
    snprintf(p->out_path, sizeof(p->out_path), "%s", path);
}

static void test_lines_of_any_length(void **state)
{
    struct probe_rt p;
    char path[128];
    FILE *w;
    (void)state;
    setup_probe(&p, path, sizeof(path));
    w = fopen(path, "w");
    assert_non_null(w);
    fprintf(w, "{\"probe\":\"ioredis\",\"version\":\"6.0.0\",\"options\":{\"a\":1}}\n");
    /* a failure whose message is 6000 bytes long, then two successes */
    fprintf(w, "{\"t_ms\":1100,\"key\":\"k1\",\"slot\":1,\"op\":\"set\",\"ok\":false,"
               "\"kind\":\"Error\",\"msg\":\"");
    for (int i = 0; i < 6000; i++)
        fputc('x', w);
    fprintf(w, "\"}\n");
    fprintf(w, "{\"t_ms\":1200,\"key\":\"k2\",\"slot\":2,\"op\":\"set\",\"ok\":true}\n");
    fflush(w);
    probe_poll(&p, 1000, 0, -1);
    assert_string_equal(p.version, "6.0.0");
    assert_int_equal(p.ops, 2);
    assert_int_equal(p.failures, 1);
    assert_int_equal(p.n_keys, 2);
    assert_int_equal(strncmp(p.last_error, "Error: xxxx", 11), 0);

    /* half a line: not taken until its end arrives */
    fprintf(w, "{\"t_ms\":1300,\"key\":\"k1\",\"slot\":1,");
    fflush(w);
    probe_poll(&p, 1000, 0, -1);
    assert_int_equal(p.ops, 2);
    fprintf(w, "\"op\":\"set\",\"ok\":true}\n");
    fflush(w);
    probe_poll(&p, 1000, 0, -1);
    assert_int_equal(p.ops, 3);
    assert_true(probe_healed_since(&p, 250));
    fclose(w);

    probe_finish(&p, 1000, 250);
    assert_true(p.healed);
    assert_int_equal(p.heal_ms, 50); /* k1 recovered at 300 ms, convergence at 250 */
    probe_stop(&p);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_of_any_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
