/* fuzz_audit: libFuzzer harness for the CROSSSLOT audit (TCP reassembly,
 * link-layer and IP decoding, RESP both ways, key extraction with Redis
 * 7.0.15's command table). The first byte picks the mode: raw frames of a
 * link type (records of a 2-byte length and the frame), or TCP segments
 * built here (records of flags, direction and port, a sequence step, a
 * length and the payload), which reach the reassembly and RESP deeply.
 * Whatever the input, nothing may crash, leak or read out of bounds, and
 * the counters must stay consistent. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../harness/observe/audit.h"
#include "../unit/frames.h"

static struct ks_table tab;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *f = fopen("tests/unit/data/command-redis7.resp", "rb");
    char *buf = malloc(1 << 20), err[200];
    size_t len;
    (void)argc;
    (void)argv;
    if (!f || !buf)
        abort(); /* run from the top of the tree */
    len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    if (ks_load(&tab, buf, len, err, sizeof(err)) < 0)
        abort();
    free(buf);
    return 0;
}

static const int lts[] = {DLT_RAW, DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct audit a;
    uint64_t t = 1000000;
    uint32_t seq[2] = {1000, 5000};
    size_t o = 1;
    if (n < 1 || au_init(&a, &tab, NULL) < 0)
        return 0;
    int lt = lts[(d[0] & 0x7f) % 5];
    while (o < n) {
        uint8_t f[4096];
        size_t fl;
        if (d[0] & 0x80) { /* raw frames */
            if (o + 2 > n)
                break;
            fl = (size_t)(d[o] << 8 | d[o + 1]) % sizeof(f);
            o += 2;
            if (fl > n - o)
                fl = n - o;
            memcpy(f, d + o, fl);
            o += fl;
        } else { /* segments: flags, dir|port, seq step, length, payload */
            if (o + 4 > n)
                break;
            struct seg s = {.lt = lt,
                            .v6 = d[o + 1] & 0x80,
                            .to_server = d[o + 1] & 1,
                            .port = (uint16_t)(40000 + ((d[o + 1] >> 1) & 3)),
                            .flags = d[o]};
            int dir = s.to_server ? 0 : 1;
            seq[dir] += (uint32_t)(int8_t)d[o + 2];
            s.seq = seq[dir];
            s.len = d[o + 3];
            o += 4;
            if (s.len > n - o)
                s.len = n - o;
            s.data = (const char *)d + o;
            o += s.len;
            seq[dir] += (uint32_t)s.len;
            fl = build(&s, f);
        }
        au_frame(&a, lt, f, fl, t += 100);
    }
    au_finish(&a);
    if (a.tf.st.segments > a.tf.st.frames || au_total(&a) > a.requests ||
        a.crossslot_errors > a.replies || a.nf > AU_MAX_FINDINGS)
        __builtin_trap();
    au_free(&a);
    return 0;
}
