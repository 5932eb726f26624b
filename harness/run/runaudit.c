/* runaudit: the CROSSSLOT audit of a run (runaudit.h). */
#include "runaudit.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/pkt.h"
#include "../cluster/cmdtab.h"
#include "../cluster/nodes.h"
#include "../cluster/runstate.h"

/* The CROSSSLOT audit: the server's command table, then the capture of
 * the client port from now on, for the connections of the application
 * and of rift's clients (not the admin's, nor the servers' own
 * replication and MIGRATE links). */
int runaudit_start(struct run *r, char *err, size_t el)
{
    struct au_opts ao = {.nports = 0};
    char filter[1024], ports[768] = "", clients[PKT_ADDR_MAX], app[PKT_ADDR_MAX];
    if (r->hr || r->far) {
        run_progress(r, "crossslot audit: off %s (it reads the loopback of one host)",
                     r->hr ? "with --hosts" : "with the nodes in containers");
        return 0;
    }
    /* the nodes' client ports: one in rift's own namespace, each node's
     * own on an attached cluster */
    for (int i = 0; i < r->scn->n_nodes; i++) {
        uint16_t p = r->scn->faults.nodes[i].port;
        bool seen = false;
        for (int k = 0; k < ao.nports; k++)
            seen |= ao.ports[k] == p;
        if (seen || ao.nports == AU_MAX_PORTS)
            continue;
        ao.ports[ao.nports++] = p;
        snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%u",
                 ao.nports > 1 ? " or " : "", p);
    }
    if (cmdtab_tcp(scn_node_ip(r->scn, 0), r->scn->faults.nodes[0].port, SCN_ADMIN_IP, r->password,
                   &r->cmdtab, err, el) < 0)
        return -1;
    if (!(r->audit = malloc(sizeof(*r->audit))) || au_init(r->audit, &r->cmdtab, &ao) < 0) {
        free(r->audit);
        r->audit = NULL;
        snprintf(err, el, "out of memory");
        return -1;
    }
    r->audit->t0_us = (uint64_t)(r->t_ready_real * 1e6);
    snprintf(filter, sizeof(filter), "tcp port (%s) and (host %s or host %s)", ports,
             pkt_addr(SCN_CLIENTS_IP, clients, sizeof(clients)),
             pkt_addr(SCN_APP_IP, app, sizeof(app)));
    if (sniff_start(&r->sniff, r->audit, filter, err, el) < 0)
        return -1;
    run_progress(r, "crossslot audit: reading client port%s %s with the key specs of %d commands",
                 ao.nports > 1 ? "s" : "", ports, r->cmdtab.n);
    return 0;
}

/* Redis 8 in standalone mode counts cluster-incompatible operations
 * itself when asked to sample every command: rift's findings are shown
 * beside that count. Servers without the setting refuse it: no count. */
void runaudit_compat_on(struct run *r)
{
    redisReply *rep;
    if (!r->scn->standalone)
        return;
    rep = node_cmd(r, 0, "CONFIG SET cluster-compatibility-sample-ratio 100");
    r->compat_counter = rep && rep->type == REDIS_REPLY_STATUS;
    if (rep)
        freeReplyObject(rep);
    if (r->compat_counter)
        run_progress(r, "the server counts cluster-incompatible operations itself "
                        "(cluster-compatibility-sample-ratio 100)");
}

static void compat_counter_read(struct run *r)
{
    redisReply *rep;
    const char *at;
    if (!r->compat_counter || !r->audit || r->nodes[0].down)
        return;
    rep = node_cmd(r, 0, "INFO stats");
    if (rep && rep->type == REDIS_REPLY_STRING &&
        (at = strstr(rep->str, "cluster_incompatible_ops:")))
        r->audit->server_ops = strtoll(at + 25, NULL, 10);
    if (rep)
        freeReplyObject(rep);
}

void runaudit_stop(struct run *r)
{
    compat_counter_read(r);
    sniff_stop(&r->sniff);
    if (r->sniff.err[0])
        run_progress(r, "crossslot audit: %s", r->sniff.err);
    else if (r->audit && au_unread(r->audit))
        run_progress(
            r, "crossslot audit: incomplete: %llu frames lost, %llu holes, %llu undecodable",
            (unsigned long long)r->audit->dropped_frames, (unsigned long long)r->audit->tf.st.gaps,
            (unsigned long long)r->audit->undecodable);
}
