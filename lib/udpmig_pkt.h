/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_PKT_H
#define UDPMIG_PKT_H

/**
 * @file
 * udpmig packet parser: classifies one Ethernet frame held in a byte
 * buffer and reports its addresses, ports and header offsets.
 *
 * The datapath uses it to find the VM a packet belongs to (its IP
 * address, or the ARP target address) and to decide by class what to do
 * with it; a packet that fails to parse is passed through untouched. The
 * parser is pure logic: it needs no EAL, allocates nothing, logs nothing
 * and never reads past the bytes it is given, so it is safe on any input
 * (it is fuzzed in test/fuzz/fuzz_pkt.c). Fields are read with memcpy():
 * the buffer may have any alignment.
 *
 * Understood: Ethernet II; up to two 802.1Q/802.1ad tags (TPID 0x8100,
 * 0x88a8 or 0x9100); ARP for IPv4 over Ethernet; IPv4 with options and
 * fragments; IPv6 with up to #UDPMIG_PKT_MAX_IPV6_EXT extension headers
 * (Hop-by-Hop, Routing, Fragment, Destination Options, AH); UDP, TCP,
 * ICMP and ICMPv6. Anything else is reported as #UDPMIG_PKT_CLASS_OTHER
 * with a return of 0. Checksums are not verified.
 *
 * Two kinds of errors are told apart, so that the datapath can count
 * them separately: a packet cut short (the buffer ends before a length
 * that the packet itself declares: -EMSGSIZE) and a malformed packet
 * (its fields contradict each other: -EBADMSG). Bytes after the end of
 * the IP packet are Ethernet padding and are ignored.
 */

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;

/** Most VLAN tags parsed in one frame (outer S-tag and inner C-tag). */
#define UDPMIG_PKT_MAX_VLAN 2

/** Most IPv6 extension headers walked before the packet is malformed. */
#define UDPMIG_PKT_MAX_IPV6_EXT 8

/** Network layer found after the Ethernet header and VLAN tags. */
enum udpmig_pkt_l3 {
	UDPMIG_PKT_L3_NONE, /**< Not reached: the frame ended or was malformed before. */
	UDPMIG_PKT_L3_ARP, /**< ARP (ethertype 0x0806). */
	UDPMIG_PKT_L3_IPV4, /**< IPv4 (ethertype 0x0800). */
	UDPMIG_PKT_L3_IPV6, /**< IPv6 (ethertype 0x86dd). */
	UDPMIG_PKT_L3_OTHER, /**< Any other ethertype: not parsed further. */
};

/** Class of a packet, the key of the datapath's per-class handling. */
enum udpmig_pkt_class {
	UDPMIG_PKT_CLASS_UDP, /**< UDP over IPv4 or IPv6. */
	UDPMIG_PKT_CLASS_TCP, /**< TCP over IPv4 or IPv6. */
	UDPMIG_PKT_CLASS_ICMP, /**< ICMP over IPv4 or ICMPv6 over IPv6. */
	UDPMIG_PKT_CLASS_ARP, /**< ARP for IPv4 over Ethernet. */
	UDPMIG_PKT_CLASS_OTHER, /**< Anything else, including every packet that failed to parse. */
	UDPMIG_PKT_CLASS_MAX, /**< Number of classes; not a class. */
};

/**
 * @name Flags of struct udpmig_pkt_info
 * @{
 */
/** At least one VLAN tag: see udpmig_pkt_info::vlan_tci. */
#define UDPMIG_PKT_F_VLAN (1u << 0)
/** Two VLAN tags (QinQ). Always comes with #UDPMIG_PKT_F_VLAN. */
#define UDPMIG_PKT_F_QINQ (1u << 1)
/**
 * A fragment: more-fragments set or a non-zero offset (IPv4 header or
 * IPv6 Fragment header). An IPv6 "atomic fragment" (Fragment header with
 * offset 0 and no more-fragments) is not a fragment.
 */
#define UDPMIG_PKT_F_FRAG (1u << 2)
/**
 * The first fragment (offset 0): it carries the L4 header, which was
 * parsed. A fragment without this flag has no L4 header: l4_off,
 * payload_off and the ports are 0, only the IP addresses identify it.
 */
#define UDPMIG_PKT_F_FRAG_FIRST (1u << 3)
/** The IPv4 header has options (IHL > 5). */
#define UDPMIG_PKT_F_IPV4_OPTS (1u << 4)
/** The IPv6 header is followed by at least one extension header. */
#define UDPMIG_PKT_F_IPV6_EXT (1u << 5)
/** The buffer goes on after the end of the IP packet (Ethernet padding). */
#define UDPMIG_PKT_F_L2_PAD (1u << 6)
/** @} */

/** An IPv4 or IPv6 address. */
struct udpmig_pkt_addr {
	uint8_t family; /**< AF_INET, AF_INET6, or 0 when absent. */
	uint8_t bytes[16]; /**< Network order; an IPv4 address is in bytes[0..3], the rest 0. */
};

/**
 * What udpmig_pkt_parse() found. Every field is written by each call:
 * fields that the packet does not have, or that lie past the point where
 * parsing stopped, are 0. Offsets count bytes from the start of the
 * buffer and are always <= the buffer length.
 */
struct udpmig_pkt_info {
	struct rte_ether_addr dst_mac; /**< Destination MAC (may be broadcast). */
	struct rte_ether_addr src_mac; /**< Source MAC. */
	uint16_t vlan_tci[UDPMIG_PKT_MAX_VLAN]; /**< VLAN TCIs, host order, outer tag first. */
	uint8_t n_vlan; /**< Number of VLAN tags, 0..UDPMIG_PKT_MAX_VLAN. */
	uint8_t l4_proto; /**< Upper-layer IP protocol, see udpmig_pkt_parse(). */
	uint16_t ethertype; /**< Ethertype after the VLAN tags, host order. */
	enum udpmig_pkt_l3 l3; /**< Network layer. */
	enum udpmig_pkt_class cls; /**< Class; OTHER whenever the parse failed. */
	uint16_t flags; /**< UDPMIG_PKT_F_* flags. */
	uint16_t arp_op; /**< ARP opcode (RTE_ARP_OP_*), host order; 0 if not ARP. */
	uint8_t icmp_type; /**< ICMP or ICMPv6 type; 0 if not ICMP. */
	uint8_t icmp_code; /**< ICMP or ICMPv6 code; 0 if not ICMP. */
	uint16_t l3_off; /**< Offset of the ARP or IP header (or of the unknown L3). */
	uint16_t l4_off; /**< Offset of the upper-layer header; 0 if absent. */
	uint16_t payload_off; /**< Offset of the L4 payload; 0 if not known. */
	uint16_t payload_len; /**< L4 payload bytes (UDP: from its length). */
	struct udpmig_pkt_addr src_ip; /**< IP source, or ARP sender protocol address. */
	struct udpmig_pkt_addr dst_ip; /**< IP destination, or ARP target protocol address. */
	uint16_t src_port; /**< UDP or TCP source port, host order; 0 if absent. */
	uint16_t dst_port; /**< UDP or TCP destination port, host order; 0 if absent. */
};

/**
 * Parse and classify one Ethernet frame.
 *
 * On success, @p info describes the frame:
 * - @c l4_proto is the protocol of the first header after the IP header
 *   that is not an IPv6 extension header (IPPROTO_NONE for "no next
 *   header", in which case there is no L4); 0 for ARP and non-IP frames.
 *   For a fragment that is not the first, it is the protocol the IP or
 *   Fragment header announces, and @c cls follows it (a later UDP
 *   fragment is #UDPMIG_PKT_CLASS_UDP with no ports).
 * - @c l4_off is set whenever the IP packet has an upper layer, including
 *   protocols the parser does not know (ESP, GRE, SCTP...), for which
 *   @c payload_off and @c payload_len stay 0.
 * - For UDP, @c payload_len comes from the UDP length field, which may be
 *   shorter than the IP payload; in a first fragment, it is the part of the
 *   datagram that this fragment holds. For TCP, ICMP (8-byte header) and
 *   ICMPv6 (8-byte header), it is the rest of the IP payload.
 * - For ARP, @c src_ip and @c dst_ip are the sender and target protocol
 *   addresses: the VM of an ARP packet is its target address. ARP for
 *   anything but IPv4 over Ethernet is #UDPMIG_PKT_CLASS_OTHER.
 *
 * On error, @p info holds what was parsed before the faulty header (at
 * least the MACs when the buffer has 14 bytes), the other fields are 0,
 * and @c cls is #UDPMIG_PKT_CLASS_OTHER: a datapath passes such a packet
 * through untouched and counts it.
 *
 * @param data
 *   The frame, starting with the destination MAC. Any alignment.
 * @param len
 *   Number of bytes readable at @p data. Bytes after the end of the IP
 *   packet are padding and ignored.
 * @param info
 *   Filled in on return, also on error (except -EINVAL with a NULL @p info).
 * @return
 *   - 0: parsed, including frames that are classified OTHER.
 *   - -EINVAL: @p data or @p info is NULL.
 *   - -ERANGE: @p len is above UINT16_MAX (offsets are 16-bit, as in rte_mbuf).
 *   - -EMSGSIZE: truncated: the buffer ends inside the Ethernet header, a
 *     VLAN tag, the ARP header, or before the end of the IP packet as its
 *     total length (IPv4) or payload length (IPv6) declares.
 *   - -EBADMSG: malformed: more than #UDPMIG_PKT_MAX_VLAN VLAN tags; ARP for
 *     IPv4 over Ethernet with bad address lengths; IP version that does not
 *     match the ethertype; IPv4 IHL < 5 or IHL * 4 > total length; an IPv6
 *     extension header that overruns the payload length, a Hop-by-Hop
 *     header that is not first, a second Fragment header, or more than
 *     #UDPMIG_PKT_MAX_IPV6_EXT extension headers; a UDP, TCP, ICMP or
 *     ICMPv6 header that does not fit in the IP payload (a first fragment
 *     too); UDP length < 8, or (not in a first fragment) larger than the IP
 *     payload; TCP data offset < 5.
 */
int udpmig_pkt_parse(const void *data, size_t len, struct udpmig_pkt_info *info);

/**
 * Parse an mbuf with udpmig_pkt_parse(), reading its first segment only.
 *
 * Uses only rte_pktmbuf_mtod(), @c data_len and @c pkt_len, so it needs
 * neither EAL nor a mempool. All the headers, up to the end of the L4
 * header, must be in the first segment: one that goes on into the next
 * segment is reported as truncated (-EMSGSIZE). The IP packet itself may
 * go on into later segments (a jumbo or TSO frame): the IP lengths are
 * checked against @c pkt_len, so in that case the L4 payload
 * (@c payload_off, @c payload_len) may extend past the first segment;
 * every offset stays <= @c data_len.
 *
 * @param m
 *   The packet.
 * @param info
 *   Filled in on return, as with udpmig_pkt_parse().
 * @return
 *   - 0: parsed.
 *   - -EINVAL: @p m, its @c buf_addr, or @p info is NULL.
 *   - -EMSGSIZE: truncated, as udpmig_pkt_parse() with @c pkt_len as the
 *     frame length, or a header continues past the first segment.
 *   - -EBADMSG: malformed, as udpmig_pkt_parse().
 */
int udpmig_pkt_parse_mbuf(const struct rte_mbuf *m, struct udpmig_pkt_info *info);

/**
 * Name of a packet class, for logs, stats and telemetry.
 *
 * @param cls
 *   A class.
 * @return
 *   A static string: "udp", "tcp", "icmp", "arp" or "other"; "invalid" for
 *   #UDPMIG_PKT_CLASS_MAX or any value out of range. Never NULL.
 */
const char *udpmig_pkt_class_name(enum udpmig_pkt_class cls);

#ifdef __cplusplus
}
#endif

#endif /* UDPMIG_PKT_H */
