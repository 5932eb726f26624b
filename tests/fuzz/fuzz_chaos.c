/* fuzz_chaos: libFuzzer harness for the chaos SPEC loader and the round
 * generator. The input is "SPEC\0SEED": the SPEC text is loaded with
 * chaos_load; when it loads, a round is drawn with the first 8 bytes after
 * the NUL as its seed. The round's scenario must load (scn_load_string),
 * with as many faults as the schedule, and read back as a schedule it must
 * write the same text. A SPEC that does not load must say FILE:LINE.
 * Anything else traps. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../harness/explore/chaosgen.h"
#include "../../harness/explore/sched.h"

static struct scenario base, back;
static struct sched drawn, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chaos_spec cs;
    char *spec = malloc(size + 1), *st = NULL, *t1, *t2, err[768];
    size_t n = strnlen((const char *)data, size);
    uint64_t seed = 0;
    if (!spec)
        return 0;
    memcpy(spec, data, n);
    spec[n] = '\0';
    if (n + 1 < size)
        memcpy(&seed, data + n + 1, size - n - 1 < 8 ? size - n - 1 : 8);
    if (chaos_load(&cs, &base, "spec.ini", NULL, spec, &st, err, sizeof(err)) < 0) {
        if (strncmp(err, "spec.ini:", 9) != 0)
            __builtin_trap();
        free(spec);
        return 0;
    }
    if (chaos_generate(&cs, &base, st, seed, &drawn) < 0 || !(t1 = sched_text(&drawn)))
        __builtin_trap();
    if (scn_load_string(&back, "round.ini", t1, err, sizeof(err)) < 0) {
        fprintf(stderr, "a drawn round does not load: %s\n%s", err, t1);
        __builtin_trap();
    }
    if (back.faults.n_rules != sched_faults(&drawn))
        __builtin_trap();
    if (sched_from_scenario(&again, &back, t1, err, sizeof(err)) < 0 || !(t2 = sched_text(&again)))
        __builtin_trap();
    if (strcmp(t1, t2) != 0) {
        fprintf(stderr, "written back differently:\n%s\n----\n%s", t1, t2);
        __builtin_trap();
    }
    free(t1);
    free(t2);
    sched_free(&drawn);
    sched_free(&again);
    free(st);
    free(spec);
    return 0;
}
