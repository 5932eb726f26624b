/* queue: libmnl-based NFQUEUE access. */
#include "queue.h"

#include <endian.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define VBUF_CAP ((size_t)160 * 1024)

/* The verdict an accept goes out as, and the mark to set (0: none). */
static int accept_as(const struct queue *q, int verdict, uint32_t mark, uint32_t *set)
{
    *set = 0;
    if (verdict != NF_ACCEPT || !q->repeat_bit || (mark & q->repeat_bit))
        return verdict;
    *set = mark | q->repeat_bit;
    return NF_REPEAT;
}

/* Send a config message and wait for its own ack. Packets can already be
 * queued (rules = none, or a leftover chain): accept any that arrive in the
 * meantime rather than leave them without a verdict. */
static int send_cfg(struct queue *q, struct nlmsghdr *nlh)
{
    char buf[MNL_SOCKET_BUFFER_SIZE * 2];
    uint32_t seq = ++q->cfg_seq;
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = seq;
    if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    for (;;) {
        int len = (int)mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
        const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
        if (len < 0)
            return -errno;
        for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
                if (m->nlmsg_seq == seq)
                    return e->error;
                continue;
            }
            struct nlattr *attr[NFQA_MAX + 1] = {0};
            if (nfq_nlmsg_parse(m, attr) >= 0 && attr[NFQA_PACKET_HDR]) {
                const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
                char vb[256];
                uint16_t qn = ntohs(((const struct nfgenmsg *)mnl_nlmsg_get_payload(m))->res_id);
                struct nlmsghdr *v = nfq_nlmsg_put(vb, NFQNL_MSG_VERDICT, qn);
                uint32_t set, mark = attr[NFQA_MARK] ? ntohl(mnl_attr_get_u32(attr[NFQA_MARK])) : 0;
                nfq_nlmsg_verdict_put(v, (int)ntohl(ph->packet_id),
                                      accept_as(q, NF_ACCEPT, mark, &set));
                if (set)
                    nfq_nlmsg_verdict_put_mark(v, set);
                mnl_socket_sendto(q->nl, v, v->nlmsg_len);
            }
        }
    }
}

int queue_open(struct queue *q, unsigned queue, unsigned nqueues, uint32_t maxlen, bool fail_open,
               uint32_t copy_range, uint32_t repeat_bit, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    int rc, one = 1, rcvbuf = 64 << 20, sndbuf = 1 << 20;
    bool busy = false;

    memset(q, 0, sizeof(*q));
    q->queue = queue;
    q->repeat_bit = repeat_bit;
    q->nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!q->nl) {
        snprintf(err, errlen, "netlink socket: %s", strerror(errno));
        return -1;
    }
    if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        snprintf(err, errlen, "netlink bind: %s", strerror(errno));
        goto fail;
    }
    q->portid = mnl_socket_get_portid(q->nl);

    for (unsigned i = 0; i < nqueues; i++) {
        unsigned qn = queue + i;
        nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, qn);
        nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
        if ((rc = send_cfg(q, nlh)) < 0) {
            /* the kernel says EPERM when another socket has bound it */
            busy = rc == -EPERM || rc == -EBUSY || rc == -EEXIST;
            snprintf(err, errlen, "cannot bind NFQUEUE %u: %s", qn,
                     busy ? "another process holds it" : strerror(-rc));
            goto fail;
        }
        q->nqueues = i + 1;
        nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, qn);
        nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy_range);
        nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
        mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(fail_open ? NFQA_CFG_F_FAIL_OPEN : 0));
        mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
        if ((rc = send_cfg(q, nlh)) < 0) {
            snprintf(err, errlen, "cannot configure NFQUEUE %u: %s", qn, strerror(-rc));
            goto fail;
        }
    }
    q->copy_range = copy_range;
    /* A full socket buffer loses packets (or lets them through unseen with
     * fail-open): make it large and don't report ENOBUFS as an error. */
    if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) <
        0)
        setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    setsockopt(mnl_socket_get_fd(q->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
    /* One sendmsg carries a whole verdict batch; netlink refuses messages
     * larger than the send buffer. */
    if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) <
        0)
        setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    q->rx = malloc((size_t)QUEUE_RX_BATCH * QUEUE_RX_BUFSZ);
    q->vbuf = malloc(VBUF_CAP);
    if (!q->rx || !q->vbuf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    q->vcap = VBUF_CAP;
    return 0;
fail:
    queue_close(q);
    return busy ? -EBUSY : -1;
}

void queue_close(struct queue *q)
{
    if (q->nl)
        mnl_socket_close(q->nl);
    free(q->rx);
    free(q->vbuf);
    q->nl = NULL;
    q->rx = NULL;
    q->vbuf = NULL;
}

int queue_fd(const struct queue *q)
{
    return mnl_socket_get_fd(q->nl);
}

int queue_set_copy_range(struct queue *q, uint32_t range)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    if (range == q->copy_range)
        return 0;
    for (unsigned i = 0; i < q->nqueues; i++) {
        struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->queue + i);
        nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)range);
        /* No ack requested: a reply would mix with queued packets. */
        if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
            return -errno;
    }
    q->copy_range = range;
    return 0;
}

static void handle_msg(struct queue *q, const struct nlmsghdr *nlh, queue_packet_cb cb, void *arg)
{
    struct nlattr *attr[NFQA_MAX + 1] = {0};
    struct nfqnl_msg_packet_hdr *ph;
    struct queue_packet pkt;

    if (nlh->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        if (e->error && nlh->nlmsg_seq != QUEUE_WARM_SEQ)
            q->kernel_errors++;
        return;
    }
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
        return;
    ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    pkt.id = ntohl(ph->packet_id);
    pkt.queue = ntohs(((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->res_id);
    if (attr[NFQA_PAYLOAD]) {
        pkt.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
        pkt.len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
    } else {
        pkt.data = NULL;
        pkt.len = 0;
    }
    pkt.mark = attr[NFQA_MARK] ? ntohl(mnl_attr_get_u32(attr[NFQA_MARK])) : 0;
    pkt.tstamp_ns = 0;
    if (attr[NFQA_TIMESTAMP]) {
        /* netlink attributes are 4-byte aligned, the struct's u64s need 8 */
        struct nfqnl_msg_packet_timestamp ts;
        memcpy(&ts, mnl_attr_get_payload(attr[NFQA_TIMESTAMP]), sizeof(ts));
        pkt.tstamp_ns = be64toh(ts.sec) * 1000000000ull + be64toh(ts.usec) * 1000ull;
    }
    pkt.orig_len = attr[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) : pkt.len;
    cb(&pkt, arg);
}

int queue_receive(struct queue *q, queue_packet_cb cb, void *arg, int max)
{
    struct mmsghdr msgs[QUEUE_RX_BATCH];
    struct iovec iov[QUEUE_RX_BATCH];
    int n, count = 0;

    if (max < 1 || max > QUEUE_RX_BATCH)
        max = QUEUE_RX_BATCH;
    for (int i = 0; i < max; i++) {
        iov[i].iov_base = q->rx + (size_t)i * QUEUE_RX_BUFSZ;
        iov[i].iov_len = QUEUE_RX_BUFSZ;
        memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    n = recvmmsg(queue_fd(q), msgs, (unsigned)max, MSG_DONTWAIT, NULL);
    q->rx_calls++;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        const struct nlmsghdr *nlh = iov[i].iov_base;
        int len = (int)msgs[i].msg_len;
        while (mnl_nlmsg_ok(nlh, len)) {
            handle_msg(q, nlh, cb, arg);
            count++;
            nlh = mnl_nlmsg_next(nlh, &len);
        }
    }
    return count;
}

/* A verdict for id is in the buffer: once sent, id is one queue_warm may
 * name (never before: a warm-up accept must not overtake a drop or a
 * rewrite still in the buffer). */
static void note_pending(struct queue *q, uint16_t queue, uint32_t id)
{
    unsigned qi = (unsigned)(queue - q->queue);
    if (qi < QUEUE_MAX) {
        q->pend_id[qi] = id;
        q->pend_on |= 1ull << qi;
    }
}

int queue_verdict(struct queue *q, uint16_t queue, uint32_t id, int verdict, uint32_t mark,
                  const void *payload, uint32_t len)
{
    uint32_t set;
    size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) + 64 + (payload ? MNL_ALIGN(len) + 8 : 0);
    struct nlmsghdr *nlh;
    if (need > q->vcap)
        return -EMSGSIZE;
    /* A failed flush has sent what it could one by one and counted each
     * verdict the kernel refused in send_errors: this packet's verdict is
     * queued all the same. */
    if (q->vlen + need > q->vcap)
        queue_flush(q);
    nlh = nfq_nlmsg_put(q->vbuf + q->vlen, NFQNL_MSG_VERDICT, queue);
    verdict = accept_as(q, verdict, mark, &set);
    nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
    if (set)
        nfq_nlmsg_verdict_put_mark(nlh, set);
    if (payload)
        nfq_nlmsg_verdict_put_pkt(nlh, payload, len);
    q->vlen += MNL_ALIGN(nlh->nlmsg_len);
    note_pending(q, queue, id);
    return 0;
}

int queue_accept(struct queue *q, uint16_t queue, uint32_t id, uint32_t mark, bool batch)
{
    unsigned qi = (unsigned)(queue - q->queue);
    if (!batch || qi >= QUEUE_MAX || mark)
        return queue_verdict(q, queue, id, NF_ACCEPT, mark, NULL, 0);
    /* ids only grow while nothing is held; the compare keeps a batch from
     * ever shrinking all the same (and survives the id wrapping) */
    if (!(q->batch_on & (1ull << qi)) || (int32_t)(id - q->batch_max[qi]) > 0)
        q->batch_max[qi] = id;
    q->batch_on |= 1ull << qi;
    note_pending(q, queue, id);
    q->batched++;
    return 0;
}

/* The pending batch verdicts, appended to the verdict buffer (after the
 * single verdicts queued so far: those packets leave the queue first). */
static void put_batches(struct queue *q)
{
    for (uint64_t m = q->batch_on; m; m &= m - 1) {
        unsigned qi = (unsigned)__builtin_ctzll(m);
        struct nlmsghdr *nlh;
        if (q->vlen + MNL_ALIGN(sizeof(struct nlmsghdr)) + 64 > q->vcap)
            break; /* the next flush sends the rest */
        uint32_t set;
        int v = accept_as(q, NF_ACCEPT, 0, &set);
        nlh = nfq_nlmsg_put(q->vbuf + q->vlen, NFQNL_MSG_VERDICT_BATCH, (int)(q->queue + qi));
        nfq_nlmsg_verdict_put(nlh, (int)q->batch_max[qi], v);
        if (set)
            nfq_nlmsg_verdict_put_mark(nlh, set);
        q->vlen += MNL_ALIGN(nlh->nlmsg_len);
        q->batch_on &= ~(1ull << qi);
    }
}

int queue_warm(struct queue *q, uint16_t queue)
{
    char buf[128];
    struct nlmsghdr *nlh;
    unsigned qi = (unsigned)(queue - q->queue);
    uint32_t id = qi < QUEUE_MAX ? q->last_id[qi] : 0;
    if (!id)
        return 0;
    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, queue);
    nlh->nlmsg_seq = QUEUE_WARM_SEQ;
    nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
    return send(queue_fd(q), nlh, nlh->nlmsg_len, 0) < 0 ? -errno : 0;
}

/* Send one verdict message at a time: the fallback when a batch fails, so
 * that one bad message does not cost every packet in the batch its verdict. */
static void flush_one_by_one(struct queue *q)
{
    struct nlmsghdr *nlh = (struct nlmsghdr *)q->vbuf;
    int len = (int)q->vlen;
    while (mnl_nlmsg_ok(nlh, len)) {
        ssize_t n;
        int tries = 0;
        while ((n = send(queue_fd(q), nlh, nlh->nlmsg_len, 0)) < 0 &&
               (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) && ++tries < 100)
            ;
        if (n < 0)
            q->send_errors++;
        nlh = mnl_nlmsg_next(nlh, &len);
    }
}

/* One send of the buffer; the queues of batches still waiting (left) do
 * not count as sent for queue_warm. */
static int send_buffer(struct queue *q, uint64_t left)
{
    int rc = 0;
    /* A verdict the kernel did not take leaves the packet queued: retry,
     * then fall back to one message per packet (Suricata does likewise).
     * A batch sent one by one after a single verdict of its queue failed
     * still accepts that packet: better than leaving it queued for good;
     * the failure is counted in send_errors. */
    for (int tries = 0;; tries++) {
        ssize_t n = send(queue_fd(q), q->vbuf, q->vlen, 0);
        if (n >= 0) {
            q->tx_calls++;
            for (uint64_t m = q->pend_on & ~left; m; m &= m - 1)
                q->last_id[__builtin_ctzll(m)] = q->pend_id[__builtin_ctzll(m)];
            q->pend_on &= left;
            break;
        }
        if ((errno == EINTR || errno == EAGAIN || errno == ENOBUFS) && tries < 100)
            continue;
        rc = -errno;
        flush_one_by_one(q);
        q->pend_on &= left; /* not known to have arrived: queue_warm keeps older ids */
        break;
    }
    q->vlen = 0;
    return rc;
}

int queue_flush(struct queue *q)
{
    int rc = 0;
    /* batches that do not fit behind the single verdicts go in the next
     * send, before this returns */
    while (q->vlen || q->batch_on) {
        int r;
        if (q->batch_on)
            put_batches(q);
        r = send_buffer(q, q->batch_on);
        if (r < 0)
            rc = r;
    }
    return rc;
}

/* Kernel counters summed over our queues: one line per queue of numbers
 * (queue, peer portid, queue total, copy mode, copy range, queue dropped,
 * user dropped, id sequence, 1), each parsed whole. */
/* The next line of the kernel's queue list as its 9 numbers, or false. */
static bool proc_queue_line(FILE *f, unsigned long long v[9])
{
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        char *p = line, *end;
        int n = 0;
        for (; n < 9; n++, p = end) {
            errno = 0;
            v[n] = strtoull(p, &end, 10);
            if (end == p || errno)
                break;
        }
        if (n == 9)
            return true;
    }
    return false;
}

bool queue_bound(unsigned queue)
{
    FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
    unsigned long long v[9];
    bool found = false;
    while (f && !found && proc_queue_line(f, v))
        found = v[0] == queue;
    if (f)
        fclose(f);
    return found;
}

int queue_kernel_counters(unsigned queue, unsigned nqueues, uint64_t *dropped, uint64_t *user)
{
    FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
    unsigned long long v[9];
    int found = -1;
    if (!f)
        return -1;
    while (proc_queue_line(f, v)) {
        if (v[0] < queue || v[0] >= (unsigned long long)queue + nqueues)
            continue;
        if (found < 0)
            *dropped = *user = 0;
        *dropped += v[5];
        *user += v[6];
        found = 0;
    }
    fclose(f);
    return found;
}
