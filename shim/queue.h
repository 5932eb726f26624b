/* queue: NFQUEUE through libmnl: bind one or more consecutive queues on one
 * socket, configure, receive in batches (recvmmsg), and send verdicts
 * batched into one sendmsg. The kernel keeps at most 65536 packets in one
 * queue (its id table), so holding more takes several queues. */
#ifndef RIFT_QUEUE_H
#define RIFT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

#define QUEUE_RX_BATCH 32
#define QUEUE_MAX 64               /* queues on one socket */
#define QUEUE_WARM_SEQ 0x7761726dU /* the sequence number of queue_warm's message */
#define QUEUE_RX_BUFSZ (65536 + 4096)

struct queue {
    struct mnl_socket *nl;
    unsigned queue, nqueues;
    uint32_t portid;
    uint32_t copy_range;
    /* receive buffers */
    unsigned char *rx;
    /* verdict batch */
    char *vbuf;
    size_t vlen, vcap;
    uint64_t send_errors, kernel_errors;
    uint64_t rx_calls, tx_calls; /* syscalls, to see how well batches form */
    uint32_t cfg_seq;
    /* per queue: a packet id whose verdict the kernel took (0: none yet),
     * and one whose verdict waits in the buffer (valid per pend_on bit) */
    uint32_t last_id[QUEUE_MAX], pend_id[QUEUE_MAX];
    uint64_t pend_on;
    /* per queue: accept every packet up to this id at the next flush, in one
     * NFQNL_MSG_VERDICT_BATCH (valid when batch_on has the queue's bit) */
    uint32_t batch_max[QUEUE_MAX];
    uint64_t batch_on;
    uint64_t batched; /* accepts sent as part of a batch verdict */
    /* 0, or the mark bit an accept sets (on top of the packet's own mark)
     * when it goes out as NF_REPEAT: the hook runs again from its first
     * rule, the shim's jump skips packets with the bit, and the host's own
     * rules behind it see the packet (an NF_ACCEPT would skip them). */
    uint32_t repeat_bit;
};

struct queue_packet {
    uint32_t id;
    uint16_t queue;
    const unsigned char *data;
    uint32_t len;       /* bytes copied to us */
    uint32_t orig_len;  /* bytes in the packet */
    uint64_t tstamp_ns; /* CLOCK_REALTIME the kernel stamped, 0 if none */
    uint32_t mark;
};

/* 0; -EBUSY when another process holds one of the queues; -1 otherwise
 * (err says why). repeat_bit: see struct queue. */
int queue_open(struct queue *q, unsigned queue, unsigned nqueues, uint32_t maxlen, bool fail_open,
               uint32_t copy_range, uint32_t repeat_bit, char *err, size_t errlen);
/* Some process has bound NFQUEUE queue (in this network namespace). */
bool queue_bound(unsigned queue);
void queue_close(struct queue *q);
int queue_fd(const struct queue *q);
int queue_set_copy_range(struct queue *q, uint32_t range);

typedef void (*queue_packet_cb)(const struct queue_packet *pkt, void *arg);
/* Reads what is queued (one recvmmsg of at most max messages, 1 to
 * QUEUE_RX_BATCH; anything else means QUEUE_RX_BATCH); calls cb per
 * packet. Returns the number of packets, 0 if none, -errno on error. */
int queue_receive(struct queue *q, queue_packet_cb cb, void *arg, int max);

/* Queue a verdict (NF_ACCEPT/NF_DROP) for a packet whose mark was mark.
 * payload != NULL replaces the packet. With repeat_bit set an accept of a
 * packet without the bit becomes NF_REPEAT with mark | repeat_bit. */
int queue_verdict(struct queue *q, uint16_t queue, uint32_t id, int verdict, uint32_t mark,
                  const void *payload, uint32_t len);
/* The kernel's counters summed over queues queue..queue+nqueues-1
 * (/proc/net/netfilter/nfnetlink_queue): packets dropped because a queue
 * was full, and lost to a full socket. 0, or -1 if none is listed. */
int queue_kernel_counters(unsigned queue, unsigned nqueues, uint64_t *dropped, uint64_t *user);

/* Accept packet id of queue. batch: no packet of that queue with a lower
 * id is waiting for a verdict from us (none is held), so the accept may go
 * out as part of one NFQNL_MSG_VERDICT_BATCH for the queue, which accepts
 * everything up to the highest such id; else a verdict of its own. A batch
 * verdict sets one mark on all its packets: only packets without a mark of
 * their own join it. */
int queue_accept(struct queue *q, uint16_t queue, uint32_t id, uint32_t mark, bool batch);

/* Ahead of a release: a verdict for a packet of this queue that already
 * had its verdict (ids are not reused before 2^32 more packets), so that
 * the kernel walks the queue, finds nothing and answers ENOENT, which is
 * not counted as an error. After milliseconds of quiet the verdict path is
 * out of the caches; this brings it back in before the deadline. Sent
 * now, not batched; nothing when the queue has had no verdict yet. */
int queue_warm(struct queue *q, uint16_t queue);

/* Send every queued verdict. Returns 0 or -errno. */
int queue_flush(struct queue *q);

#endif
