/* baseline-accept: the minimal NFQUEUE accept loop that rift-shim's
 * pass-through throughput is compared with. One recv, one verdict per
 * packet, full copy, as in libnetfilter_queue's examples/nf-queue.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
    struct mnl_socket *nl = data;
    struct nlattr *attr[NFQA_MAX + 1] = {0};
    struct nfqnl_msg_packet_hdr *ph;
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *v;
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
        return MNL_CB_OK;
    ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    v = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT,
                      ntohs(((struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->res_id));
    nfq_nlmsg_verdict_put(v, (int)ntohl(ph->packet_id), NF_ACCEPT);
    if (mnl_socket_sendto(nl, v, v->nlmsg_len) < 0)
        perror("verdict");
    return MNL_CB_OK;
}

/* A queue number 0-65535, digits only; -1 otherwise. */
static int parse_queue(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (*end || errno || v > 65535)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned queue = 0;
    size_t sz = 0xffff + (MNL_SOCKET_BUFFER_SIZE / 2);
    char *buf;
    struct mnl_socket *nl;
    struct nlmsghdr *nlh;
    unsigned portid;

    if (argc > 1 && parse_queue(argv[1], &queue) < 0) {
        fprintf(stderr, "baseline-accept: expected a queue number 0-65535, not \"%s\"\n", argv[1]);
        return 2;
    }
    buf = malloc(sz);
    nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        perror("netlink");
        return 2;
    }
    portid = mnl_socket_get_portid(nl);
    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        perror("bind");
        return 2;
    }
    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
    nfq_nlmsg_cfg_put_qmaxlen(nlh, 65536);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        perror("config");
        return 2;
    }
    /* The same socket buffer as rift-shim's: with the default one, 50
     * clients of 16 KiB values overflow it, the lost packets stay queued
     * without a verdict and TCP does not retransmit what the host still
     * holds, so the connections stall. */
    int rcvbuf = 64 << 20;
    if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    /* No SA_RESTART: the signal must interrupt the blocking recv. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "baseline-accept: queue %u ready\n", queue);
    while (!stop) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, sz);
        if (n < 0) {
            if (errno == EINTR || errno == ENOBUFS)
                continue;
            perror("recv");
            return 1;
        }
        mnl_cb_run(buf, (size_t)n, 0, portid, on_msg, nl);
    }
    return 0;
}
