/* hostbus: the bus timeline of a run over hosts: each host's capture
 * decoded on the harness's clock (its offset from the host's), merged by
 * time (shimset). */
#include "hostrun.h"

#include <stdio.h>

#include "../cluster/runstate.h"
#include "../cluster/shimset.h"

void hr_decode_bus(struct run *r)
{
    static struct shimset_bus b;
    static char pcap[HOSTS_MAX][340];
    b.n = r->hr->hs.n;
    b.what = "hosts";
    for (int h = 0; h < b.n; h++) {
        snprintf(pcap[h], sizeof(pcap[h]), "%s/shim-%s.pcap", r->tmp, r->hr->hs.h[h].name);
        b.pcaps[h] = pcap[h];
        b.names[h] = r->hr->hs.h[h].name;
        b.base[h] = r->t_ready_real + (double)r->hr->offset_ns[h][0] / 1e9;
    }
    shimset_decode_bus(r, &b);
}
