/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_BUF_H
#define UDPMIG_BUF_H

/**
 * @file
 * udpmig in-order packet buffer: what a migrating VM's packets wait in.
 *
 * Producers (datapath lcores, one producer id each, e.g. one per tx queue)
 * hand packets in bursts; each packet is stamped with the VM's next 64-bit
 * sequence number (an mbuf dynamic field) and held:
 *
 * - tier 1: the mbuf itself, zero copy, in the producer's own SP/SC
 *   rte_ring, while the VM's tier-1 quota (shared by all producers) lasts;
 * - tier 2: beyond the quota, the packet's bytes are copied into a
 *   preallocated slot (memory, or a file for long blackouts) and the mbuf
 *   is freed, so a migrating VM never drains the mempool other ports use;
 * - both full: the policy applies (drop the newest, or drop the oldest
 *   held packet) and every drop is counted.
 *
 * One consumer (the migration lcore) takes packets out in sequence order:
 * it merges the producers' streams (each already sorted) and never hands
 * out a sequence number while a lower one may still be in flight on a
 * producer. Holes left by dropped packets are skipped. See
 * docs/buffer.md for why there is one ring per producer.
 *
 * Thread safety: udpmig_buf_enqueue_burst() is lock-free and safe from
 * several threads at once as long as each uses its own producer id.
 * udpmig_buf_dequeue_burst(), udpmig_buf_trim() and udpmig_buf_flush()
 * belong to one consumer thread. udpmig_buf_stats_get() may run anywhere.
 * Nothing here allocates memory, locks or logs after udpmig_buf_create().
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest number of producer ids of one buffer. */
#define UDPMIG_BUF_MAX_PRODUCERS 64
/** Largest burst udpmig_buf_enqueue_burst() takes in one call. */
#define UDPMIG_BUF_MAX_BURST 64
/** Default size of a tier-2 slot: the largest packet that can spill. */
#define UDPMIG_BUF_T2_SLOT_DEFAULT 2048
/** Name of the mbuf dynamic field that carries the sequence number. */
#define UDPMIG_BUF_SEQ_DYNFIELD "udpmig_dynfield_seq"

/** What happens to a packet when both tiers are full. */
enum udpmig_buf_policy {
	UDPMIG_BUF_DROP_NEWEST, /**< the arriving packet is dropped */
	UDPMIG_BUF_DROP_OLDEST, /**< the oldest held packet is dropped */
};

/** Configuration of one buffer. */
struct udpmig_buf_conf {
	const char *name; /**< for logs and telemetry; copied */
	int socket_id; /**< NUMA socket for memory, or SOCKET_ID_ANY */
	uint32_t t1_quota; /**< tier 1: most mbufs held at once (0 = tier off) */
	uint32_t t2_slots; /**< tier 2: most packets spilled at once (0 = tier off) */
	uint32_t t2_slot_size; /**< tier 2: largest packet it takes; 0 = default */
	const char *t2_file; /**< tier 2 backed by this file (NULL = memory) */
	enum udpmig_buf_policy policy; /**< when both tiers are full */
	uint16_t n_producers; /**< producer ids 0 .. n_producers - 1 */
};

/** Counters of one buffer, summed over its producers. */
struct udpmig_buf_stats {
	uint64_t enq_pkts; /**< packets stamped with a sequence number */
	uint64_t t1_pkts; /**< of those, held zero-copy in tier 1 */
	uint64_t t2_pkts; /**< of those, copied into tier 2 */
	uint64_t t2_bytes; /**< bytes copied into tier 2 */
	uint64_t deq_pkts; /**< packets handed to the consumer, in order */
	uint64_t drop_newest; /**< arriving packets dropped: buffer full */
	uint64_t drop_oldest; /**< held packets dropped to make room */
	uint64_t drop_flush; /**< held packets dropped by udpmig_buf_flush() */
	uint64_t spill_too_big; /**< packets larger than a tier-2 slot (not a drop by itself) */
	uint64_t deq_nomem; /**< dequeues that waited for an mbuf to rebuild a tier-2 packet */
	uint64_t held; /**< packets held now (both tiers) */
	uint64_t t1_held; /**< packets held now in tier 1 */
	uint64_t t2_held; /**< packets held now in tier 2 */
	uint64_t next_seq; /**< the sequence number the next packet gets */
};

struct udpmig_buf;

/** Offset of the sequence dynamic field; valid after udpmig_buf_seq_register(). */
extern int udpmig_buf_seq_offset;

/**
 * Register the mbuf dynamic field that carries the sequence number.
 * Idempotent; udpmig_buf_create() calls it. Needs EAL.
 *
 * @return
 *   0 on success; -ENOMEM, -EEXIST (a field of that name with another
 *   size) or another negative errno from rte_mbuf_dynfield_register().
 */
int udpmig_buf_seq_register(void);

/**
 * The sequence number of a packet stamped by a buffer.
 *
 * @param m
 *   A packet that went through udpmig_buf_enqueue_burst().
 * @return
 *   Its sequence number.
 */
static inline uint64_t
udpmig_buf_seq_get(const struct rte_mbuf *m)
{
	return *RTE_MBUF_DYNFIELD(m, udpmig_buf_seq_offset, const uint64_t *);
}

/**
 * Stamp a sequence number on a packet (for packets rebuilt elsewhere,
 * e.g. received from a tunnel).
 *
 * @param m
 *   The packet.
 * @param seq
 *   Its sequence number.
 */
static inline void
udpmig_buf_seq_set(struct rte_mbuf *m, uint64_t seq)
{
	*RTE_MBUF_DYNFIELD(m, udpmig_buf_seq_offset, uint64_t *) = seq;
}

/**
 * Create a buffer. Allocates everything it will ever use.
 *
 * @param conf
 *   Its configuration.
 * @return
 *   The buffer, or NULL with rte_errno set: EINVAL (conf NULL, no
 *   producers, more than UDPMIG_BUF_MAX_PRODUCERS, both tiers 0, a quota
 *   over 2^30, a slot size under 64 bytes or over 64 KiB), ENOMEM, or the errno of
 *   opening, sizing or mapping @p conf->t2_file.
 */
struct udpmig_buf *udpmig_buf_create(const struct udpmig_buf_conf *conf);

/**
 * Free a buffer and every packet it still holds (counted as
 * drop_flush). Accepts NULL.
 *
 * @param buf
 *   The buffer.
 */
void udpmig_buf_free(struct udpmig_buf *buf);

/**
 * Stamp and hold a burst of packets from one producer.
 *
 * The buffer takes every mbuf: each is either held (tier 1 or tier 2)
 * or, when both tiers are full, handled by the policy and counted. The
 * packets get consecutive sequence numbers in array order.
 *
 * @param buf
 *   The buffer.
 * @param producer
 *   The caller's producer id; no two threads may use one id at once.
 * @param pkts
 *   The packets; at most UDPMIG_BUF_MAX_BURST.
 * @param n
 *   How many.
 * @return
 *   The number of packets held; the other n - return were dropped
 *   (drop_newest), and their mbufs freed. 0 also when @p producer is out
 *   of range or n is over UDPMIG_BUF_MAX_BURST: then the caller keeps
 *   the mbufs (check with a debug build: it asserts).
 */
unsigned int udpmig_buf_enqueue_burst(
	struct udpmig_buf *buf, uint16_t producer, struct rte_mbuf **pkts, unsigned int n);

/**
 * Take held packets out in sequence order. Tier-2 packets are rebuilt
 * into mbufs from @p mp; when it is empty the dequeue stops there and
 * the packet stays held (counted as deq_nomem), so nothing is lost.
 * Applies pending drop-oldest trims first.
 *
 * @param buf
 *   The buffer.
 * @param out
 *   Where the packets go; the caller owns them.
 * @param n
 *   Room in @p out.
 * @param mp
 *   Pool for rebuilding tier-2 packets; may be NULL when tier 2 is off.
 * @return
 *   The number of packets in @p out, in increasing sequence order,
 *   continuing the order of earlier calls.
 */
unsigned int udpmig_buf_dequeue_burst(
	struct udpmig_buf *buf, struct rte_mbuf **out, unsigned int n, struct rte_mempool *mp);

/**
 * Apply pending drop-oldest trims without dequeuing. A consumer that
 * does not dequeue for a while (store-and-forward) calls this in its
 * loop so the drop-oldest policy keeps room for new packets.
 *
 * @param buf
 *   The buffer.
 * @return
 *   The number of held packets dropped.
 */
unsigned int udpmig_buf_trim(struct udpmig_buf *buf);

/**
 * Drop every packet held now, counted as drop_flush. The next sequence
 * number is kept, so sequence numbers are never reused.
 *
 * @param buf
 *   The buffer.
 * @return
 *   The number of packets dropped.
 */
unsigned int udpmig_buf_flush(struct udpmig_buf *buf);

/**
 * The number of packets held now, in both tiers.
 *
 * @param buf
 *   The buffer.
 * @return
 *   The count; exact when no producer is running.
 */
uint64_t udpmig_buf_count(const struct udpmig_buf *buf);

/**
 * The sequence number the next stamped packet gets. A producer that
 * reads it right after its own udpmig_buf_enqueue_burst() gets a value
 * above every sequence number it was given. Lock-free, any thread.
 *
 * @param buf
 *   The buffer.
 * @return
 *   The next sequence number.
 */
uint64_t udpmig_buf_next_seq(const struct udpmig_buf *buf);

/**
 * How far the consumer has got: every sequence number below the returned
 * value has been dequeued or dropped, and none at or above it has been
 * dequeued. The consumer thread only (it looks ahead into the rings).
 * A consumer that hands packets on in order uses it to tell producers
 * when their own packets are all through (see the vhost-hook driver's
 * hand-back from intercepting to direct delivery).
 *
 * @param buf
 *   The buffer.
 * @return
 *   The lowest sequence number that may still be dequeued.
 */
uint64_t udpmig_buf_consumed(struct udpmig_buf *buf);

/**
 * Read the counters. Lock-free; may run while producers and the
 * consumer run (each counter is then a recent value).
 *
 * @param buf
 *   The buffer.
 * @param stats
 *   Filled in.
 * @return
 *   0, or -EINVAL when an argument is NULL.
 */
int udpmig_buf_stats_get(const struct udpmig_buf *buf, struct udpmig_buf_stats *stats);

/**
 * The buffer's name.
 *
 * @param buf
 *   The buffer.
 * @return
 *   Its name, or "" for NULL.
 */
const char *udpmig_buf_name(const struct udpmig_buf *buf);

/** Name of a policy ("drop-newest", "drop-oldest"), "?" when out of range. */
const char *udpmig_buf_policy_name(enum udpmig_buf_policy policy);

/**
 * Parse a policy name as udpmig_buf_policy_name() gives it.
 *
 * @param name
 *   The name.
 * @param policy
 *   Set on success.
 * @return
 *   0, or -EINVAL (unknown name or NULL argument).
 */
int udpmig_buf_policy_parse(const char *name, enum udpmig_buf_policy *policy);

#ifdef __cplusplus
}
#endif

#endif /* UDPMIG_BUF_H */
