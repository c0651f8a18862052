/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_TUN_H
#define UDPMIG_TUN_H

/**
 * @file
 * udpmig migration tunnel: a VM's held packets travel from the source
 * switch to the destination switch over Geneve (RFC 8926), reliably, in
 * order, authenticated. The wire format is in udpmig_tun_wire.h.
 *
 * Three parts, none of which knows ports or threads:
 *
 * - the codec: udpmig_tun_encap() builds a tunnel frame (Ethernet, IPv4 or
 *   IPv6, UDP, Geneve, the udpmig option with its tag, payload);
 *   udpmig_tun_parse() checks one and says what it carries;
 *   udpmig_tun_verify() checks its tag with the channel's key;
 * - the sender (udpmig_tun_tx): numbers the packets of one channel
 *   0, 1, 2, ..., keeps each until it is acked, says what to (re)send
 *   now: new packets within the window, a retransmission round on timeout
 *   or when an ack's selective ranges show a hole;
 * - the receiver (udpmig_tun_rx): puts arrivals back in order in a window,
 *   drops duplicates and what lies outside the window (counted), hands out
 *   the in-order prefix, and says what to ack (cumulative + ranges).
 *
 * The channel sequence is dense (every number is one packet), so the
 * receiver can tell a loss on the tunnel from a packet the source's buffer
 * dropped: the latter never gets a channel number.
 *
 * Authentication: keyed BLAKE2b with a 16-byte tag (libsodium's
 * crypto_generichash) over the Geneve header, the option (tag zeroed) and
 * the payload. The outer Ethernet/IP/UDP headers are not covered: what
 * identifies a channel (VNI, session) and a packet (sequence, type) is.
 *
 * Thread safety: a udpmig_tun_tx or udpmig_tun_rx belongs to one thread.
 * The codec functions are reentrant. Nothing allocates after create, except
 * udpmig_tun_encap(), which takes one mbuf from the given pool.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "udpmig_tun_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Length of a channel key. */
#define UDPMIG_TUN_KEY_LEN 32
/** Largest window (packets in flight) of a channel. */
#define UDPMIG_TUN_WINDOW_MAX 65536
/** Selective ranges an ack carries at most. */
#define UDPMIG_TUN_SACK_MAX 8

/** Why udpmig_tun_parse() refused a packet. */
enum udpmig_tun_err {
	UDPMIG_TUN_OK = 0,
	UDPMIG_TUN_E_NOT_TUNNEL = 1, /**< not UDP to the tunnel port (not ours) */
	UDPMIG_TUN_E_MALFORMED = 2, /**< ours, but truncated or inconsistent */
	UDPMIG_TUN_E_OPTION = 3, /**< no udpmig option, or an unknown critical one */
	UDPMIG_TUN_E_MSG = 4, /**< unknown message type */
	UDPMIG_TUN_E_TAG = 5, /**< authentication failed */
};

/** The two ends of a channel on the wire, as the sender sees them. */
struct udpmig_tun_path {
	int family; /**< AF_INET or AF_INET6 */
	uint8_t src_ip[16]; /**< IPv4 in the first 4 bytes */
	uint8_t dst_ip[16];
	uint16_t src_port; /**< UDP, host order */
	uint16_t dst_port; /**< UDP, host order (6081) */
	struct rte_ether_addr src_mac; /**< this end's uplink */
	struct rte_ether_addr dst_mac; /**< next hop toward the peer */
};

/** One message's identity, as built or parsed. */
struct udpmig_tun_msg {
	uint32_t vni; /**< channel (24 bits) */
	uint32_t session; /**< channel instance: both ends must agree */
	uint8_t type; /**< UDPMIG_TUN_DATA, ... */
	uint8_t flags; /**< UDPMIG_TUN_F_* */
	uint64_t seq; /**< DATA: channel sequence; ACK: cumulative; END: total */
};

/** What udpmig_tun_parse() found in a packet. */
struct udpmig_tun_parsed {
	struct udpmig_tun_msg msg;
	int family; /**< of the outer IP header */
	uint8_t src_ip[16]; /**< the sender's address */
	uint16_t src_port; /**< the sender's UDP port, host order */
	struct rte_ether_addr src_mac;
	uint32_t geneve_off; /**< where the Geneve header starts */
	uint32_t tag_off; /**< where the udpmig option's tag is */
	uint32_t payload_off; /**< where the payload starts (inner frame, ack ranges) */
	uint32_t payload_len;
	uint16_t n_sack; /**< ACK: selective ranges in the payload */
};

/** A range [start, end) of channel sequence numbers. */
struct udpmig_tun_range {
	uint64_t start;
	uint64_t end;
};

/**
 * Build one tunnel frame in a new mbuf from @p mp.
 *
 * @param mp
 *   Pool of the new mbuf; its data room must take the headers and the payload.
 * @param path
 *   Addresses and ports.
 * @param msg
 *   VNI, session, type, flags, sequence.
 * @param inner
 *   DATA: the packet to carry (read, not consumed); NULL otherwise.
 * @param sack
 *   ACK: @p n_sack selective ranges; NULL otherwise.
 * @param n_sack
 *   At most #UDPMIG_TUN_SACK_MAX.
 * @param key
 *   The channel's key, #UDPMIG_TUN_KEY_LEN bytes.
 * @return
 *   The frame, or NULL with rte_errno ENOMEM (pool empty), EMSGSIZE (does
 *   not fit one mbuf) or EINVAL (bad arguments, or an inner packet shorter
 *   than an Ethernet header, which udpmig_tun_parse() would refuse).
 */
struct rte_mbuf *udpmig_tun_encap(struct rte_mempool *mp, const struct udpmig_tun_path *path,
	const struct udpmig_tun_msg *msg, const struct rte_mbuf *inner,
	const struct udpmig_tun_range *sack, uint16_t n_sack, const uint8_t *key);

/**
 * Check the headers of a packet that may be a tunnel frame. Reads only
 * inside the packet, whatever its length or segments.
 *
 * @param m
 *   The packet.
 * @param udp_port
 *   The tunnel's UDP port, host order.
 * @param out
 *   Filled on success.
 * @return
 *   UDPMIG_TUN_OK, or a #udpmig_tun_err. The tag is not checked here.
 */
enum udpmig_tun_err udpmig_tun_parse(
	const struct rte_mbuf *m, uint16_t udp_port, struct udpmig_tun_parsed *out);

/**
 * Check a parsed frame's tag with the channel's key (constant time).
 *
 * @return
 *   true when authentic.
 */
bool udpmig_tun_verify(
	const struct rte_mbuf *m, const struct udpmig_tun_parsed *p, const uint8_t *key);

/**
 * Read an ACK's selective ranges.
 *
 * @return
 *   Ranges written to @p out (at most @p n), dropping malformed ones.
 */
uint16_t udpmig_tun_sack_read(const struct rte_mbuf *m, const struct udpmig_tun_parsed *p,
	struct udpmig_tun_range *out, uint16_t n);

/* --- sender ----------------------------------------------------------------- */

/** Sender configuration. */
struct udpmig_tun_tx_conf {
	uint32_t window; /**< packets in flight, a power of 2, 2 .. #UDPMIG_TUN_WINDOW_MAX */
	/**
	 * Least retransmission timeout, and the first one. Once acks come,
	 * the timeout follows the measured round trip (RFC 6298: smoothed
	 * RTT + 4 x its variation, from packets sent once), never below this.
	 */
	uint64_t rto_ns;
	uint64_t rto_max_ns; /**< the timeout doubles up to this without progress */
	/**
	 * The timeout before the first round trip is measured, in
	 * [rto_ns, rto_max_ns]; 0: rto_ns. RFC 6298 says 1 s; a first burst
	 * that fills the window and the application's queue takes tens of ms
	 * to be acked, and a low first timeout sends it all twice.
	 */
	uint64_t rto_init_ns;
	/**
	 * Bytes for the acked packets that udpmig_tun_tx_retain() keeps:
	 * they are copied out of their mbufs (the mbufs freed) and leave the
	 * window, so a long blackout streams on. 0: they stay in the window,
	 * which stalls once it is full of them. Each takes its length plus
	 * #UDPMIG_TUN_KEEP_OVERHEAD bytes.
	 */
	uint64_t keep_bytes;
	/** Where udpmig_tun_tx_reclaim() rebuilds kept packets; needed with keep_bytes. */
	struct rte_mempool *keep_pool;
	/**
	 * Congestion window: new packets leave only while fewer than it are
	 * outstanding. It starts at cwnd_init, grows by one per packet acked
	 * up to the slow-start threshold and by one per window acked after,
	 * halves (once per window) when an ack shows a hole, and falls to
	 * cwnd_min at a timeout; never above cwnd_max nor the window. A burst
	 * of a whole window (8192 here) overran the receiving host's rx ring,
	 * which the VMs' live traffic shares. 0: no congestion window.
	 */
	uint32_t cwnd_init;
	uint32_t cwnd_min; /**< floor, >= 2 (with cwnd_init) */
	uint32_t cwnd_max; /**< ceiling, >= cwnd_init; 0: the window */
};

/** Bytes a kept packet takes beyond its own (see udpmig_tun_tx_conf.keep_bytes). */
#define UDPMIG_TUN_KEEP_OVERHEAD 48

/** Sender counters. */
struct udpmig_tun_tx_stats {
	uint64_t pushed; /**< packets given a channel sequence number */
	uint64_t sent; /**< first transmissions */
	uint64_t retransmits; /**< further transmissions */
	uint64_t acked; /**< packets released by acks */
	uint64_t rto_rounds; /**< retransmission rounds started by the timer */
	uint64_t fast_rounds; /**< retransmission rounds started by a hole in an ack */
	uint64_t bad_acks; /**< acks beyond what was sent (ignored) */
	uint64_t rtt_samples; /**< round trips measured */
	uint64_t srtt_ns; /**< smoothed round trip, 0 before the first sample */
	uint64_t rto_ns; /**< the retransmission timeout now */
	uint64_t kept; /**< acked packets copied out of the window while retained */
	uint64_t keep_full; /**< times the keep store had no room (they wait in the window) */
	uint64_t keep_nombuf; /**< reclaim found no mbuf to rebuild a kept packet (retried) */
	uint32_t cwnd; /**< the congestion window now (the window without one) */
	uint64_t cwnd_cuts; /**< times it was halved (a hole) or reset (a timeout) */
};

struct udpmig_tun_tx;

/** @return a sender, or NULL with rte_errno EINVAL or ENOMEM. */
struct udpmig_tun_tx *udpmig_tun_tx_create(
	const char *name, const struct udpmig_tun_tx_conf *conf, int socket_id);

/** Free a sender and every packet it holds (counted by the caller). NULL is ignored. */
void udpmig_tun_tx_free(struct udpmig_tun_tx *tx);

/** Packets the sender can take now. */
uint32_t udpmig_tun_tx_space(const struct udpmig_tun_tx *tx);

/** Packets held: pushed and not yet acked, plus acked ones retained (udpmig_tun_tx_retain()). */
uint32_t udpmig_tun_tx_held(const struct udpmig_tun_tx *tx);

/** The next channel sequence number udpmig_tun_tx_push() gives. */
uint64_t udpmig_tun_tx_next_seq(const struct udpmig_tun_tx *tx);

/**
 * Give packets to the sender, which numbers and keeps them until acked.
 *
 * @return
 *   How many it took, a prefix of @p pkts, at most udpmig_tun_tx_space().
 */
uint32_t udpmig_tun_tx_push(struct udpmig_tun_tx *tx, struct rte_mbuf **pkts, uint32_t n);

/**
 * What to transmit now: retransmissions first, then new packets within the
 * window. The packets stay the sender's; the caller encapsulates copies.
 *
 * @param now_ns
 *   Current time (any monotonic clock, the same for every call).
 * @param seq
 *   Out: channel sequence numbers.
 * @param pkts
 *   Out: the packets, not owned.
 * @param n
 *   Room in @p seq and @p pkts.
 * @return
 *   How many to send. The caller reports what it could not send with
 *   udpmig_tun_tx_unsent().
 */
uint32_t udpmig_tun_tx_due(struct udpmig_tun_tx *tx, uint64_t now_ns, uint64_t *seq,
	struct rte_mbuf **pkts, uint32_t n);

/**
 * The last @p n packets udpmig_tun_tx_due() returned were not sent (a
 * full tx queue, no mbuf). New packets among them are due again at the
 * next call, with the same sequence numbers; retransmissions among them
 * wait for the next retransmission round, as if lost on the wire.
 */
void udpmig_tun_tx_unsent(struct udpmig_tun_tx *tx, uint32_t n);

/**
 * An ack: everything below @p cum and in @p sack arrived.
 *
 * @return
 *   Packets released (freed) by this ack.
 */
uint32_t udpmig_tun_tx_ack(struct udpmig_tun_tx *tx, uint64_t now_ns, uint64_t cum,
	const struct udpmig_tun_range *sack, uint16_t n_sack);

/**
 * Keep acked packets (on) until told otherwise (off), for a source whose
 * VM may still come back: an abort then gives every packet back with
 * udpmig_tun_tx_reclaim(), acked or not. In order, acked packets move out
 * of the window into the keep store (udpmig_tun_tx_conf.keep_bytes); what
 * does not fit there stays in the window, so a blackout longer than both
 * stalls the stream (the rest waits in the VM's buffer) rather than
 * losing anything. Turning it off frees what the peer acked.
 */
void udpmig_tun_tx_retain(struct udpmig_tun_tx *tx, bool on);

/**
 * Take every held packet back, in sequence order, acked or not (the
 * channel is given up); the caller owns them. Kept packets are rebuilt in
 * mbufs of udpmig_tun_tx_conf.keep_pool.
 *
 * @return
 *   How many, at most @p n; call again until udpmig_tun_tx_held() is 0
 *   (0 with packets still held: no mbuf to rebuild one now, try later).
 */
uint32_t udpmig_tun_tx_reclaim(struct udpmig_tun_tx *tx, struct rte_mbuf **pkts, uint32_t n);

/** Copy the counters. */
void udpmig_tun_tx_stats_get(const struct udpmig_tun_tx *tx, struct udpmig_tun_tx_stats *st);

/* --- receiver --------------------------------------------------------------- */

/** Receiver counters. */
struct udpmig_tun_rx_stats {
	uint64_t accepted; /**< new packets stored */
	uint64_t duplicates; /**< already received (dropped) */
	uint64_t out_of_window; /**< beyond the window (dropped) */
	uint64_t delivered; /**< handed out in order */
};

struct udpmig_tun_rx;

/** @return a receiver with a window of @p window packets (power of 2), or NULL with rte_errno. */
struct udpmig_tun_rx *udpmig_tun_rx_create(const char *name, uint32_t window, int socket_id);

/** Free a receiver and every packet it holds. NULL is ignored. */
void udpmig_tun_rx_free(struct udpmig_tun_rx *rx);

/** What udpmig_tun_rx_data() did with a packet. */
enum udpmig_tun_rx_verdict {
	UDPMIG_TUN_RX_STORED = 0, /**< kept; the receiver owns it */
	UDPMIG_TUN_RX_DUPLICATE = 1, /**< already had it: caller frees */
	UDPMIG_TUN_RX_OUT_OF_WINDOW = 2, /**< beyond the window: caller frees */
};

/** Offer one received DATA packet (its payload only) with its channel sequence number. */
enum udpmig_tun_rx_verdict udpmig_tun_rx_data(
	struct udpmig_tun_rx *rx, uint64_t seq, struct rte_mbuf *m);

/** Take up to @p n packets in sequence order; the caller owns them. */
uint32_t udpmig_tun_rx_pull(struct udpmig_tun_rx *rx, struct rte_mbuf **pkts, uint32_t n);

/** The cumulative ack: every sequence number below it has arrived. */
uint64_t udpmig_tun_rx_cum(const struct udpmig_tun_rx *rx);

/** Packets stored and not yet pulled. */
uint32_t udpmig_tun_rx_held(const struct udpmig_tun_rx *rx);

/**
 * The selective ranges to ack: runs received above the cumulative ack,
 * lowest first.
 *
 * @return
 *   Ranges written, at most @p n.
 */
uint16_t udpmig_tun_rx_sack(
	const struct udpmig_tun_rx *rx, struct udpmig_tun_range *out, uint16_t n);

/** Copy the counters. */
void udpmig_tun_rx_stats_get(const struct udpmig_tun_rx *rx, struct udpmig_tun_rx_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* UDPMIG_TUN_H */
