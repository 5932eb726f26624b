/* fuzz_bus: libFuzzer harness for the cluster-bus framer and decoder and
 * for rift-shim's per-flow message tracker. The input is read as TCP
 * segments: [2 bytes sequence step][2 bytes length][length bytes], fed to
 * one bus_stream (every framed message goes through bus_decode) and to
 * msgflow_scan, which drops every message it finds a header for; the
 * whole input also goes through bus_decode. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../proto/bus.h"
#include "../../shim/msgflow.h"

static struct msgflow_table flows;

static void on_msg(void *ctx, const uint8_t *msg, size_t len)
{
    struct bus_msg m;
    char flags[128];
    (void)ctx;
    if (bus_decode(msg, len, &m) == 0) {
        bus_flags_text(m.flags, flags, sizeof(flags));
        (void)bus_type_name(m.type);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bus_stream s;
    struct bus_msg m;
    uint32_t seq = 0x7ffffff0u;
    size_t off = 0;
    bus_decode(data, size, &m);
    bus_stream_init(&s);
    msgflow_init(&flows);
    while (off + 4 <= size) {
        int16_t step = (int16_t)(data[off] << 8 | data[off + 1]);
        size_t len = (size_t)(data[off + 2] << 8 | data[off + 3]);
        off += 4;
        if (len > size - off)
            len = size - off;
        seq += (uint32_t)(int32_t)step;
        bus_stream_segment(&s, seq, data + off, len, on_msg, NULL);
        {
            uint8_t copy[65536];
            struct pkt_info pi = {.saddr = 1, .daddr = 2, .sport = 3, .dport = 4, .tcp_seq = seq};
            struct msgflow_scan ms;
            bool changed = false;
            memcpy(copy, data + off, len);
            msgflow_scan(&flows, &pi, copy, len, &ms, &changed);
            for (int i = 0; i < ms.n_hdrs; i++)
                msgflow_drop(&flows, &pi, copy, len, ms.hdrs[i].offset);
        }
        off += len;
    }
    bus_stream_free(&s);
    return 0;
}
