/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The test stream of udpmig-send and udpmig-guest: the header at the
 * start of every test UDP payload, and the receive-side accounting of a
 * stream (loss, duplicates, reordering, gaps, delay, a per-ms timeline)
 * with a state file so that a second receiver continues the first one's
 * accounting (a guest that moves).
 *
 * Wire layout, every field in network byte order, no padding, no packed
 * struct (read and written at explicit offsets):
 *
 *   offset size field
 *        0    4 magic    0x554D4947 ("UMIG")
 *        4    2 version  1
 *        6    2 flags    0 (reserved)
 *        8    4 stream   stream id chosen by the sender
 *       12    4 pad      0
 *       16    8 seq      0, 1, 2, ... per stream
 *       24    8 tx_ns    sender's CLOCK_MONOTONIC at send time, in ns
 *       32      end; the datagram may be longer (zero padding)
 *
 * Both tools run on the same host, so tx_ns and the receiver's
 * CLOCK_MONOTONIC are comparable. Plain C: no EAL needed.
 */
#ifndef UDPMIG_TEST_SEQSTREAM_H
#define UDPMIG_TEST_SEQSTREAM_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SEQSTREAM_MAGIC   0x554D4947u /**< "UMIG" */
#define SEQSTREAM_VERSION 1
#define SEQSTREAM_HDR_LEN 32 /**< bytes of the header; minimum payload */

#define SEQSTREAM_OFF_MAGIC   0
#define SEQSTREAM_OFF_VERSION 4
#define SEQSTREAM_OFF_FLAGS   6
#define SEQSTREAM_OFF_STREAM  8
#define SEQSTREAM_OFF_PAD     12
#define SEQSTREAM_OFF_SEQ     16
#define SEQSTREAM_OFF_TX_NS   24

#define SEQSTREAM_MAX_SEQ_DEFAULT  (1u << 24) /**< bitmap size: 2 MiB */
#define SEQSTREAM_TIMELINE_DEFAULT 600000u /**< ms of per-ms counts: 600 s */
#define SEQSTREAM_MAX_STREAMS      8 /**< streams one receiver tracks */

/** Host-order view of the header. */
struct seqstream_hdr {
	uint16_t version; /**< SEQSTREAM_VERSION */
	uint16_t flags; /**< reserved, 0 */
	uint32_t stream; /**< stream id */
	uint64_t seq; /**< sequence number within the stream */
	uint64_t tx_ns; /**< sender's CLOCK_MONOTONIC in ns */
};

/** CLOCK_MONOTONIC in ns: the clock of tx_ns and of every receive time. */
static inline uint64_t
seqstream_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/** Write the 32-byte header at @p buf (magic and version filled in). */
static inline void
seqstream_write(void *buf, uint32_t stream, uint64_t seq, uint64_t tx_ns)
{
	uint8_t *p = buf;
	uint32_t v32;
	uint16_t v16;
	uint64_t v64;

	v32 = htobe32(SEQSTREAM_MAGIC);
	memcpy(p + SEQSTREAM_OFF_MAGIC, &v32, 4);
	v16 = htobe16(SEQSTREAM_VERSION);
	memcpy(p + SEQSTREAM_OFF_VERSION, &v16, 2);
	v16 = 0;
	memcpy(p + SEQSTREAM_OFF_FLAGS, &v16, 2);
	v32 = htobe32(stream);
	memcpy(p + SEQSTREAM_OFF_STREAM, &v32, 4);
	v32 = 0;
	memcpy(p + SEQSTREAM_OFF_PAD, &v32, 4);
	v64 = htobe64(seq);
	memcpy(p + SEQSTREAM_OFF_SEQ, &v64, 8);
	v64 = htobe64(tx_ns);
	memcpy(p + SEQSTREAM_OFF_TX_NS, &v64, 8);
}

/** Overwrite only seq and tx_ns of a header already written. */
static inline void
seqstream_stamp(void *buf, uint64_t seq, uint64_t tx_ns)
{
	uint8_t *p = buf;
	uint64_t v64;

	v64 = htobe64(seq);
	memcpy(p + SEQSTREAM_OFF_SEQ, &v64, 8);
	v64 = htobe64(tx_ns);
	memcpy(p + SEQSTREAM_OFF_TX_NS, &v64, 8);
}

/**
 * Read a header from a payload of @p len bytes.
 *
 * @return
 *   0 on success, -EMSGSIZE if shorter than the header, -EPROTO if the
 *   magic does not match, -EPROTONOSUPPORT for another version.
 */
static inline int
seqstream_read(const void *buf, size_t len, struct seqstream_hdr *h)
{
	const uint8_t *p = buf;
	uint32_t v32;
	uint16_t v16;
	uint64_t v64;

	if (len < SEQSTREAM_HDR_LEN)
		return -EMSGSIZE;
	memcpy(&v32, p + SEQSTREAM_OFF_MAGIC, 4);
	if (be32toh(v32) != SEQSTREAM_MAGIC)
		return -EPROTO;
	memcpy(&v16, p + SEQSTREAM_OFF_VERSION, 2);
	h->version = be16toh(v16);
	if (h->version != SEQSTREAM_VERSION)
		return -EPROTONOSUPPORT;
	memcpy(&v16, p + SEQSTREAM_OFF_FLAGS, 2);
	h->flags = be16toh(v16);
	memcpy(&v32, p + SEQSTREAM_OFF_STREAM, 4);
	h->stream = be32toh(v32);
	memcpy(&v64, p + SEQSTREAM_OFF_SEQ, 8);
	h->seq = be64toh(v64);
	memcpy(&v64, p + SEQSTREAM_OFF_TX_NS, 8);
	h->tx_ns = be64toh(v64);
	return 0;
}

/**
 * Counters of one stream. All uint64_t, so the state file stores the
 * struct as it is (host order: the file never leaves the host).
 */
struct seqstream_counters {
	uint64_t stream; /**< stream id */
	uint64_t max_seq; /**< the bitmap covers seq 0 .. max_seq-1 */
	uint64_t timeline_ms; /**< length of the per-ms timeline */
	uint64_t received; /**< every packet of the stream */
	uint64_t unique; /**< distinct seq received (in range) */
	uint64_t duplicated; /**< seq already seen */
	uint64_t reordered; /**< seq below the highest seen, not a duplicate */
	uint64_t out_of_range; /**< seq >= max_seq: counted in received only */
	uint64_t any; /**< 1 once a packet was accounted */
	uint64_t first_seq; /**< seq of the first packet received */
	uint64_t highest_seq; /**< highest seq received */
	uint64_t last_seq; /**< seq of the last packet received */
	uint64_t first_rx_ns; /**< receive time of the first packet */
	uint64_t last_rx_ns; /**< receive time of the last packet */
	uint64_t max_gap_ns; /**< longest time between two receptions */
	uint64_t max_gap_after_seq; /**< seq received just before that gap */
	uint64_t max_gap_at_ns; /**< receive time that ended that gap */
	uint64_t delay_max_ns; /**< max of rx time - tx_ns */
	uint64_t delay_sum_ns; /**< sum of rx time - tx_ns (for the mean) */
	uint64_t delay_count; /**< packets in delay_sum_ns */
	uint64_t timeline_overflow; /**< packets received after the timeline's end */
	uint64_t instances; /**< receivers that contributed (state file loads + 1) */
};

/** Receive-side accounting of one stream. */
struct seqstream_rx {
	struct seqstream_counters c; /**< counters, saved as they are */
	uint64_t *bitmap; /**< one bit per seq, max_seq bits */
	uint32_t *timeline; /**< packets per ms since first_rx_ns */
};

/** Every stream one receiver tracks. */
struct seqstream_set {
	unsigned int n; /**< streams in use */
	unsigned int last; /**< index of the last hit */
	uint64_t max_seq; /**< for new streams */
	uint32_t timeline_ms; /**< for new streams */
	struct seqstream_rx rx[SEQSTREAM_MAX_STREAMS]; /**< streams, in order of first sight */
};

/** Summary of a set (sums, except where noted), @p expect per stream or 0. */
struct seqstream_sum {
	uint64_t received, unique, duplicated, reordered, out_of_range, lost, loss_runs;
	uint64_t first_seq; /**< of the first stream */
	uint64_t highest_seq; /**< max */
	uint64_t max_gap_ns; /**< max */
	uint64_t max_gap_after_seq, max_gap_at_ns;
	uint64_t delay_max_ns; /**< max */
	double delay_mean_ns;
	uint64_t first_rx_ns; /**< min */
	uint64_t last_rx_ns; /**< max */
	uint64_t instances; /**< max */
};

/**
 * Initialise @p rx for a stream (allocates bitmap and timeline).
 * @return 0, -EINVAL (max_seq 0), -ENOMEM.
 */
int seqstream_rx_init(
	struct seqstream_rx *rx, uint32_t stream, uint64_t max_seq, uint32_t timeline_ms);
/** Free what seqstream_rx_init() allocated; accepts a zeroed struct. */
void seqstream_rx_fini(struct seqstream_rx *rx);
/** Account one packet received at @p rx_ns. */
void seqstream_rx_account(struct seqstream_rx *rx, uint64_t seq, uint64_t tx_ns, uint64_t rx_ns);
/** Missing seq: (expect, or highest+1 when expect is 0) - unique below that. */
uint64_t seqstream_rx_lost(const struct seqstream_rx *rx, uint64_t expect);
/** Runs of consecutive missing seq below expect (or highest+1). */
uint64_t seqstream_rx_loss_runs(const struct seqstream_rx *rx, uint64_t expect);

/** Initialise an empty set; streams get @p max_seq and @p timeline_ms. */
void seqstream_set_init(struct seqstream_set *set, uint64_t max_seq, uint32_t timeline_ms);
/** Free every stream of the set. */
void seqstream_set_fini(struct seqstream_set *set);
/**
 * The accounting of @p stream, created on first sight.
 * @return the stream, or NULL when the set is full or out of memory.
 */
struct seqstream_rx *seqstream_set_get(struct seqstream_set *set, uint32_t stream);
/** Sums over the streams; lost counts @p expect per stream (0: highest+1). */
void seqstream_set_sum(const struct seqstream_set *set, uint64_t expect, struct seqstream_sum *s);
/**
 * Save the set to @p path atomically (written to path.tmp, then renamed).
 * @return 0 or a negative errno.
 */
int seqstream_set_save(const struct seqstream_set *set, const char *path);
/**
 * Load a set saved by seqstream_set_save() into an empty set; each
 * stream's instances counter is incremented (this receiver joins).
 * @return 0, -ENOENT when @p path does not exist, -EINVAL for a file
 *   that is not a state file (or truncated), another negative errno.
 */
int seqstream_set_load(struct seqstream_set *set, const char *path);
/**
 * Write the per-ms timeline of every stream, summed, as "ms,count" lines
 * from the first packet of any stream to the last one's ms.
 * @return 0 or a negative errno.
 */
int seqstream_set_write_timeline(const struct seqstream_set *set, const char *path);

#endif /* UDPMIG_TEST_SEQSTREAM_H */
