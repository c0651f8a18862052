/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_TUN_WIRE_H
#define UDPMIG_TUN_WIRE_H

/**
 * @file
 * The migration tunnel on the wire. All fields are in network byte order.
 *
 *     Ethernet | IPv4 or IPv6 | UDP (dst 6081) | Geneve | udpmig option | payload
 *
 * Geneve (RFC 8926 §3.4): version 0; Opt Len = 9 (the udpmig option, 36
 * bytes); O set on control messages (ACK, END, ABORT); C set (the udpmig
 * option is critical: a Geneve endpoint that does not know it must drop
 * the packet, not deliver its payload); Protocol Type 0x6558 (an Ethernet
 * frame follows, for DATA); VNI = the migration channel.
 *
 * udpmig option (RFC 8926 §3.5): class 0xFF75, in the experimental range
 * 0xFF00-0xFFFF; type 0x81 (critical bit and type 1); length 8 (32-byte
 * body):
 *
 *      0               1               2               3
 *     +---------------+---------------+-------------------------------+
 *     |  message type |     flags     |   number of ack ranges (ACK)  |
 *     +---------------+---------------+-------------------------------+
 *     |                            session                            |
 *     +---------------------------------------------------------------+
 *     |              sequence (DATA), cumulative ack (ACK),           |
 *     |                    or total packets (END)                     |
 *     +---------------------------------------------------------------+
 *     |        tag: keyed BLAKE2b-128 over Geneve header, option       |
 *     |                (this field zero) and payload                  |
 *     |                            (16 bytes)                         |
 *     +---------------------------------------------------------------+
 *
 * Payload: DATA carries the VM's Ethernet frame; ACK carries its ranges,
 * 16 bytes each (start, end: 64-bit); END and ABORT carry nothing.
 */

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_common.h>

/** Geneve's UDP port (IANA). */
#define UDPMIG_TUN_UDP_PORT 6081
/** Geneve Protocol Type: Transparent Ethernet Bridging. */
#define UDPMIG_TUN_PROTO_TEB 0x6558
/** The udpmig option's class (experimental range). */
#define UDPMIG_TUN_OPT_CLASS 0xFF75
/** The udpmig option's type: critical (0x80) + 1. */
#define UDPMIG_TUN_OPT_TYPE 0x81
/** Geneve O bit (control message) and C bit (critical option present). */
#define UDPMIG_GENEVE_F_O 0x80
#define UDPMIG_GENEVE_F_C 0x40

/** Message types. */
enum {
	UDPMIG_TUN_DATA = 1, /**< one packet of the VM */
	UDPMIG_TUN_ACK = 2, /**< receiver to sender: what arrived */
	UDPMIG_TUN_END = 3, /**< sender: the stream is complete */
	UDPMIG_TUN_ABORT = 4, /**< either: drop the channel */
	/**
	 * Discovery, no payload; seq carries the VM's MAC (low 48 bits).
	 * F_WHO: a destination asks its peers which has the VM (the VNI is
	 * the channel it opened for it); F_HAVE: the source answers on it.
	 */
	UDPMIG_TUN_HELLO = 5,
};

/** Flags. */
#define UDPMIG_TUN_F_RESUMED  0x01 /**< ACK: the VM runs at the receiver */
#define UDPMIG_TUN_F_END_SEEN 0x02 /**< ACK: the receiver has the END */
#define UDPMIG_TUN_F_WHO      0x04 /**< HELLO: who has this VM? */
#define UDPMIG_TUN_F_HAVE     0x08 /**< HELLO: I have it; the channel is mine */

/** Geneve base header (8 bytes). */
struct udpmig_geneve_hdr {
	uint8_t ver_optlen; /**< version (2 bits) | option length in 4-byte words (6) */
	uint8_t flags; /**< O, C, reserved */
	rte_be16_t proto;
	uint8_t vni[3];
	uint8_t reserved;
} __rte_packed;

/** The udpmig Geneve option (36 bytes). */
struct udpmig_tun_opt {
	rte_be16_t opt_class;
	uint8_t type;
	uint8_t len; /**< reserved (3 bits) | body length in 4-byte words (5) */
	uint8_t msg;
	uint8_t flags;
	rte_be16_t n_sack;
	rte_be32_t session;
	rte_be64_t seq;
	uint8_t tag[16];
} __rte_packed;

/** One ack range on the wire. */
struct udpmig_tun_wire_range {
	rte_be64_t start;
	rte_be64_t end;
} __rte_packed;

/** Bytes of tunnel headers after the outer UDP header. */
#define UDPMIG_TUN_HDR_LEN (sizeof(struct udpmig_geneve_hdr) + sizeof(struct udpmig_tun_opt))

#endif /* UDPMIG_TUN_WIRE_H */
