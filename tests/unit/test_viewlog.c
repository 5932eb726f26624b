/* test_viewlog: views.jsonl as changes rebuilds the same lanes as a whole
 * view every 20 ms: the same segments (start, end, what they show) for
 * every observer, with a silence and with changes, from a file a fraction
 * of the size, with a whole view at least every 10 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../harness/observe/view.h"
#include "../../harness/observe/viewlog.h"
#include "../../harness/observe/vtrack.h"
#include "../../policies/esc.h"

static char *slurp(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static const char names[6][16] = {"m1", "m2", "m3", "m1r1", "m2r1", "m3r1"};

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_changes_rebuild_the_same_lanes(void **state)
{
    char dir[] = "/tmp/rift-test-viewlog-XXXXXX", whole[300], changes[300], err[256];
    char *healthy2 = slurp("healthy-m2.nodes"), *healthy3 = slurp("healthy-m3.nodes");
    char *race2 = slurp("pong-race-m2.nodes"), *race3 = slurp("pong-race-m3.nodes");
    uint32_t ips[6];
    static struct view v;
    static struct viewlog vl;
    static struct vtrack a, b;
    FILE *f;
    (void)state;
    for (int i = 0; i < 6; i++)
        ips[i] = 0x7f00000bu + (uint32_t)i; /* 127.0.0.11 .. */
    assert_non_null(mkdtemp(dir));
    snprintf(whole, sizeof(whole), "%s/whole.jsonl", dir);
    snprintf(changes, sizeof(changes), "%s/views.jsonl", dir);
    assert_non_null(f = fopen(whole, "w"));
    assert_int_equal(viewlog_open(&vl, changes, 6, names, ips), 0);
    /* 25 s every 20 ms; m2 and m3 see the race from 1.1 to 2.9 s; m3r1
     * does not answer from 2.0 to 2.5 s */
    for (int64_t t = 0; t < 25000; t += 20)
        for (int i = 0; i < 6; i++) {
            bool race = t >= 1100 && t < 2900 && (i == 1 || i == 2);
            const char *text = race ? (i == 1 ? race2 : race3) : (i == 2 ? healthy3 : healthy2);
            bool ok = !(race && i == 1);
            if (i == 5 && t >= 2000 && t < 2500) {
                viewlog_quiet(&vl, i);
                continue;
            }
            fprintf(f, "{\"t_ms\":%lld,\"node\":\"%s\",\"state\":\"%s\",\"nodes\":", (long long)t,
                    names[i], ok ? "ok" : "fail");
            esc_json(f, text);
            fputs("}\n", f);
            assert_int_equal(view_parse(&v, text, err, sizeof(err)), 0);
            viewlog_sample(&vl, i, t, ok, &v, text);
        }
    fclose(f);
    viewlog_close(&vl);
    /* m1, m1r1, m2r1: at 0, 10, 20 s; m2, m3: 0, 1.1, 2.9, 12.9, 22.9 s;
     * m3r1: 0, 2.5 (after its silence), 12.5, 22.5 s */
    assert_int_equal((int)vl.full, 3 + 5 + 5 + 3 + 3 + 4);
    assert_int_equal((int)vl.samples, 6 * 1250 - 25);
    assert_int_equal(vt_load(&a, whole, 6, names, ips, err, sizeof(err)), 0);
    assert_int_equal(vt_load(&b, changes, 6, names, ips, err, sizeof(err)), 0);
    assert_int_equal(a.unreadable, 0);
    assert_int_equal(b.unreadable, 0);
    assert_int_equal(a.t_max, b.t_max);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(a.lane[i].n, b.lane[i].n);
        for (int k = 0; k < a.lane[i].n; k++) {
            assert_int_equal(a.lane[i].seg[k].t0, b.lane[i].seg[k].t0);
            assert_int_equal(a.lane[i].seg[k].t1, b.lane[i].seg[k].t1);
            assert_true(vt_same(&a.lane[i].seg[k].st, &b.lane[i].seg[k].st));
        }
    }
    assert_int_equal(a.lane[1].n, 3);
    assert_int_equal(a.lane[5].n, 2); /* the silence: a gap, then one more */
    long sw = file_size(whole), sc = file_size(changes);
    print_message("whole views every 20 ms: %ld bytes; as changes: %ld bytes (%.1f%%)\n", sw, sc,
                  100.0 * (double)sc / (double)sw);
    assert_true(sc * 50 < sw);
    assert_int_equal((uint64_t)sc, vl.bytes);
    vt_free(&a);
    vt_free(&b);
    unlink(whole);
    unlink(changes);
    rmdir(dir);
    free(healthy2);
    free(healthy3);
    free(race2);
    free(race3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes_rebuild_the_same_lanes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
