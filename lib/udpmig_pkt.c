/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet parser. Each layer checks, before it reads a header, that the
 * header lies within both the bytes that can be read (else -EMSGSIZE)
 * and the length that the enclosing layer declared (else -EBADMSG), then
 * copies it with memcpy() into a local DPDK header struct: no pointer
 * into the packet is ever dereferenced as a wider type, whatever the
 * alignment.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_tcp.h>
#include <rte_icmp.h>
#include <rte_mbuf.h>

#include "udpmig_pkt.h"

/* The frame being parsed. */
struct pkt_buf {
	const uint8_t *p; /* first byte of the frame */
	size_t len; /* bytes readable at p */
	size_t wire; /* length of the whole frame, >= len (more in later mbuf segments) */
};

/* Read a big-endian 16-bit field at any alignment. */
static inline uint16_t
get_be16(const uint8_t *p)
{
	rte_be16_t v;

	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_16(v);
}

/*
 * Check that @hlen bytes at @off are readable and within @end, the end
 * of the region that the enclosing header declared.
 */
static inline int
hdr_check(const struct pkt_buf *b, size_t off, size_t end, size_t hlen)
{
	if (off > end || end - off < hlen)
		return -EBADMSG;
	if (off > b->len || b->len - off < hlen)
		return -EMSGSIZE;
	return 0;
}

static enum udpmig_pkt_class
proto_class(uint8_t proto, enum udpmig_pkt_l3 l3)
{
	switch (proto) {
	case IPPROTO_UDP:
		return UDPMIG_PKT_CLASS_UDP;
	case IPPROTO_TCP:
		return UDPMIG_PKT_CLASS_TCP;
	case IPPROTO_ICMP:
		return l3 == UDPMIG_PKT_L3_IPV4 ? UDPMIG_PKT_CLASS_ICMP : UDPMIG_PKT_CLASS_OTHER;
	case IPPROTO_ICMPV6:
		return l3 == UDPMIG_PKT_L3_IPV6 ? UDPMIG_PKT_CLASS_ICMP : UDPMIG_PKT_CLASS_OTHER;
	default:
		return UDPMIG_PKT_CLASS_OTHER;
	}
}

/*
 * Parse the upper layer info->l4_proto at @off (<= b->len: the headers
 * before it were read); the IP payload ends at @end. In a first fragment
 * (@frag set), the UDP datagram may go on past @end. Sets cls only on
 * success.
 */
static int
parse_l4(const struct pkt_buf *b, size_t off, size_t end, bool frag, struct udpmig_pkt_info *info)
{
	struct rte_udp_hdr udp;
	struct rte_tcp_hdr tcp;
	struct rte_icmp_hdr icmp;
	enum udpmig_pkt_class cls = proto_class(info->l4_proto, info->l3);
	size_t hlen = 0; /* set by every case that does not return */
	size_t ulen;
	int rc;

	switch (cls) {
	case UDPMIG_PKT_CLASS_UDP:
		rc = hdr_check(b, off, end, sizeof(udp));
		if (rc != 0)
			return rc;
		memcpy(&udp, b->p + off, sizeof(udp));
		ulen = rte_be_to_cpu_16(udp.dgram_len);
		if (ulen < sizeof(udp))
			return -EBADMSG;
		if (ulen > end - off) {
			if (!frag)
				return -EBADMSG;
			ulen = end - off;
		}
		info->src_port = rte_be_to_cpu_16(udp.src_port);
		info->dst_port = rte_be_to_cpu_16(udp.dst_port);
		hlen = sizeof(udp);
		info->payload_len = (uint16_t)(ulen - hlen);
		break;
	case UDPMIG_PKT_CLASS_TCP:
		rc = hdr_check(b, off, end, sizeof(tcp));
		if (rc != 0)
			return rc;
		memcpy(&tcp, b->p + off, sizeof(tcp));
		hlen = (size_t)(tcp.data_off >> 4) * 4;
		if (hlen < sizeof(tcp))
			return -EBADMSG;
		rc = hdr_check(b, off, end, hlen);
		if (rc != 0)
			return rc;
		info->src_port = rte_be_to_cpu_16(tcp.src_port);
		info->dst_port = rte_be_to_cpu_16(tcp.dst_port);
		info->payload_len = (uint16_t)(end - off - hlen);
		break;
	case UDPMIG_PKT_CLASS_ICMP:
		/* ICMP and ICMPv6 alike: type, code, checksum, 4 type-specific bytes. */
		rc = hdr_check(b, off, end, sizeof(icmp));
		if (rc != 0)
			return rc;
		memcpy(&icmp, b->p + off, sizeof(icmp));
		info->icmp_type = icmp.icmp_type;
		info->icmp_code = icmp.icmp_code;
		hlen = sizeof(icmp);
		info->payload_len = (uint16_t)(end - off - hlen);
		break;
	case UDPMIG_PKT_CLASS_ARP:
	case UDPMIG_PKT_CLASS_OTHER:
	case UDPMIG_PKT_CLASS_MAX:
		/*
		 * Unknown upper layer: say where it starts, if the IP packet has
		 * one. off <= b->len here, as every header before was read.
		 */
		if (info->l4_proto != IPPROTO_NONE && off < end)
			info->l4_off = (uint16_t)off;
		info->cls = UDPMIG_PKT_CLASS_OTHER;
		return 0;
	}
	info->l4_off = (uint16_t)off;
	info->payload_off = (uint16_t)(off + hlen);
	info->cls = cls;
	return 0;
}

static int
parse_arp(const struct pkt_buf *b, size_t off, struct udpmig_pkt_info *info)
{
	struct rte_arp_hdr arp;
	const size_t fixed = offsetof(struct rte_arp_hdr, arp_data);

	/* The fixed part tells the address formats; only then is the rest known. */
	if (b->len - off < fixed)
		return -EMSGSIZE;
	memcpy(&arp, b->p + off, fixed);
	info->arp_op = rte_be_to_cpu_16(arp.arp_opcode);
	if (rte_be_to_cpu_16(arp.arp_hardware) != RTE_ARP_HRD_ETHER ||
		rte_be_to_cpu_16(arp.arp_protocol) != RTE_ETHER_TYPE_IPV4)
		return 0;
	if (arp.arp_hlen != RTE_ETHER_ADDR_LEN || arp.arp_plen != sizeof(rte_be32_t))
		return -EBADMSG;
	if (b->len - off < sizeof(arp))
		return -EMSGSIZE;
	memcpy(&arp, b->p + off, sizeof(arp));
	info->src_ip.family = AF_INET;
	memcpy(info->src_ip.bytes, &arp.arp_data.arp_sip, sizeof(rte_be32_t));
	info->dst_ip.family = AF_INET;
	memcpy(info->dst_ip.bytes, &arp.arp_data.arp_tip, sizeof(rte_be32_t));
	info->cls = UDPMIG_PKT_CLASS_ARP;
	return 0;
}

static int
parse_ipv4(const struct pkt_buf *b, size_t off, struct udpmig_pkt_info *info)
{
	struct rte_ipv4_hdr ip;
	size_t hlen, tot;
	uint16_t frag;

	if (b->len - off < sizeof(ip))
		return -EMSGSIZE;
	memcpy(&ip, b->p + off, sizeof(ip));
	if ((ip.version_ihl >> 4) != 4)
		return -EBADMSG;
	hlen = (size_t)(ip.version_ihl & RTE_IPV4_HDR_IHL_MASK) * RTE_IPV4_IHL_MULTIPLIER;
	tot = rte_be_to_cpu_16(ip.total_length);
	if (hlen < sizeof(ip) || hlen > tot)
		return -EBADMSG;
	if (tot > b->wire - off || hlen > b->len - off)
		return -EMSGSIZE;

	if (tot < b->wire - off)
		info->flags |= UDPMIG_PKT_F_L2_PAD;
	if (hlen > sizeof(ip))
		info->flags |= UDPMIG_PKT_F_IPV4_OPTS;
	info->src_ip.family = AF_INET;
	memcpy(info->src_ip.bytes, &ip.src_addr, sizeof(ip.src_addr));
	info->dst_ip.family = AF_INET;
	memcpy(info->dst_ip.bytes, &ip.dst_addr, sizeof(ip.dst_addr));
	info->l4_proto = ip.next_proto_id;

	frag = rte_be_to_cpu_16(ip.fragment_offset);
	if ((frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) {
		info->flags |= UDPMIG_PKT_F_FRAG;
		if ((frag & RTE_IPV4_HDR_OFFSET_MASK) != 0) {
			/* No L4 header here: the flow is known by its addresses only. */
			info->cls = proto_class(info->l4_proto, info->l3);
			return 0;
		}
		info->flags |= UDPMIG_PKT_F_FRAG_FIRST;
	}
	return parse_l4(b, off + hlen, off + tot, (info->flags & UDPMIG_PKT_F_FRAG) != 0, info);
}

static bool
ipv6_is_ext(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
		return true;
	default:
		return false;
	}
}

static int
parse_ipv6(const struct pkt_buf *b, size_t off, struct udpmig_pkt_info *info)
{
	struct rte_ipv6_hdr ip;
	struct rte_ipv6_fragment_ext fh;
	size_t end, hlen;
	uint16_t frag;
	uint8_t nh, hdr[2];
	bool seen_frag = false;
	unsigned int n;
	int rc;

	if (b->len - off < sizeof(ip))
		return -EMSGSIZE;
	memcpy(&ip, b->p + off, sizeof(ip));
	if ((rte_be_to_cpu_32(ip.vtc_flow) >> 28) != 6)
		return -EBADMSG;
	end = sizeof(ip) + rte_be_to_cpu_16(ip.payload_len);
	if (end > b->wire - off)
		return -EMSGSIZE;
	if (end < b->wire - off)
		info->flags |= UDPMIG_PKT_F_L2_PAD;
	end += off;
	info->src_ip.family = AF_INET6;
	memcpy(info->src_ip.bytes, ip.src_addr, sizeof(ip.src_addr));
	info->dst_ip.family = AF_INET6;
	memcpy(info->dst_ip.bytes, ip.dst_addr, sizeof(ip.dst_addr));

	off += sizeof(ip);
	nh = ip.proto;
	/* Bounded: each turn consumes one header, or returns. */
	for (n = 0; ipv6_is_ext(nh); n++) {
		if (n == UDPMIG_PKT_MAX_IPV6_EXT)
			return -EBADMSG;
		if (nh == IPPROTO_HOPOPTS && n != 0)
			return -EBADMSG;
		rc = hdr_check(b, off, end, sizeof(hdr));
		if (rc != 0)
			return rc;
		memcpy(hdr, b->p + off, sizeof(hdr));
		if (nh == IPPROTO_FRAGMENT)
			hlen = sizeof(fh);
		else if (nh == IPPROTO_AH)
			hlen = ((size_t)hdr[1] + 2) * 4;
		else
			hlen = ((size_t)hdr[1] + 1) * 8;
		rc = hdr_check(b, off, end, hlen);
		if (rc != 0)
			return rc;
		info->flags |= UDPMIG_PKT_F_IPV6_EXT;
		if (nh == IPPROTO_FRAGMENT) {
			/* A second Fragment header could contradict the first. */
			if (seen_frag)
				return -EBADMSG;
			seen_frag = true;
			memcpy(&fh, b->p + off, sizeof(fh));
			frag = rte_be_to_cpu_16(fh.frag_data);
			if ((frag & RTE_IPV6_FRAG_USED_MASK) != 0) {
				info->flags |= UDPMIG_PKT_F_FRAG;
				if (RTE_IPV6_GET_FO(frag) != 0) {
					/* No L4 header here: known by its addresses only. */
					info->l4_proto = hdr[0];
					info->cls = proto_class(info->l4_proto, info->l3);
					return 0;
				}
				info->flags |= UDPMIG_PKT_F_FRAG_FIRST;
			}
		}
		nh = hdr[0];
		off += hlen;
	}
	info->l4_proto = nh;
	return parse_l4(b, off, end, (info->flags & UDPMIG_PKT_F_FRAG) != 0, info);
}

static int
parse__(const struct pkt_buf *b, struct udpmig_pkt_info *info)
{
	size_t off = RTE_ETHER_HDR_LEN;
	uint16_t type;

	if (b->len < RTE_ETHER_HDR_LEN)
		return -EMSGSIZE;
	memcpy(&info->dst_mac, b->p, RTE_ETHER_ADDR_LEN);
	memcpy(&info->src_mac, b->p + RTE_ETHER_ADDR_LEN, RTE_ETHER_ADDR_LEN);
	type = get_be16(b->p + 2 * RTE_ETHER_ADDR_LEN);
	while (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ ||
		type == RTE_ETHER_TYPE_QINQ1) {
		if (info->n_vlan == UDPMIG_PKT_MAX_VLAN)
			return -EBADMSG;
		if (b->len - off < sizeof(struct rte_vlan_hdr))
			return -EMSGSIZE;
		info->vlan_tci[info->n_vlan] = get_be16(b->p + off);
		type = get_be16(b->p + off + sizeof(rte_be16_t));
		off += sizeof(struct rte_vlan_hdr);
		info->n_vlan++;
		info->flags |= info->n_vlan == 1 ? UDPMIG_PKT_F_VLAN : UDPMIG_PKT_F_QINQ;
	}
	info->ethertype = type;
	info->l3_off = (uint16_t)off;

	switch (type) {
	case RTE_ETHER_TYPE_ARP:
		info->l3 = UDPMIG_PKT_L3_ARP;
		return parse_arp(b, off, info);
	case RTE_ETHER_TYPE_IPV4:
		info->l3 = UDPMIG_PKT_L3_IPV4;
		return parse_ipv4(b, off, info);
	case RTE_ETHER_TYPE_IPV6:
		info->l3 = UDPMIG_PKT_L3_IPV6;
		return parse_ipv6(b, off, info);
	default:
		info->l3 = UDPMIG_PKT_L3_OTHER;
		return 0;
	}
}

/* Entry point of both public parsers: @b->len is already checked. */
static int
parse_frame(const struct pkt_buf *b, struct udpmig_pkt_info *info)
{
	int rc;

	rc = parse__(b, info);
	if (rc != 0)
		info->cls = UDPMIG_PKT_CLASS_OTHER;
	return rc;
}

static void
info_reset(struct udpmig_pkt_info *info)
{
	memset(info, 0, sizeof(*info));
	info->l3 = UDPMIG_PKT_L3_NONE;
	info->cls = UDPMIG_PKT_CLASS_OTHER;
}

int
udpmig_pkt_parse(const void *data, size_t len, struct udpmig_pkt_info *info)
{
	struct pkt_buf b = {
		.p = data,
		.len = len,
		.wire = len,
	};

	if (info == NULL)
		return -EINVAL;
	info_reset(info);
	if (data == NULL)
		return -EINVAL;
	if (len > UINT16_MAX)
		return -ERANGE;
	return parse_frame(&b, info);
}

int
udpmig_pkt_parse_mbuf(const struct rte_mbuf *m, struct udpmig_pkt_info *info)
{
	struct pkt_buf b;

	if (info == NULL)
		return -EINVAL;
	info_reset(info);
	if (m == NULL || m->buf_addr == NULL)
		return -EINVAL;
	b.p = rte_pktmbuf_mtod(m, const uint8_t *);
	b.len = m->data_len;
	/* A broken chain whose pkt_len is below data_len: trust data_len. */
	b.wire = RTE_MAX((size_t)m->pkt_len, b.len);
	return parse_frame(&b, info);
}

const char *
udpmig_pkt_class_name(enum udpmig_pkt_class cls)
{
	switch (cls) {
	case UDPMIG_PKT_CLASS_UDP:
		return "udp";
	case UDPMIG_PKT_CLASS_TCP:
		return "tcp";
	case UDPMIG_PKT_CLASS_ICMP:
		return "icmp";
	case UDPMIG_PKT_CLASS_ARP:
		return "arp";
	case UDPMIG_PKT_CLASS_OTHER:
		return "other";
	case UDPMIG_PKT_CLASS_MAX:
		break;
	}
	return "invalid";
}
