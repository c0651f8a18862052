/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/udpmig_pkt: no EAL. Every packet is built byte by
 * byte and parsed from a malloc'd copy of exactly its length, so that a
 * read past the end is an ASan error in the sanitizer build.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <rte_mbuf.h>

#include "udpmig_pkt.h"
#include "unit.h"

#define PB_MAX 512

/* A packet being built, with what pb_fix() needs to fill in the lengths. */
struct pb {
	uint8_t b[PB_MAX];
	size_t n; /* bytes written */
	size_t l3; /* offset of the IP header */
	int ipv; /* 4, 6, or 0 for no IP header */
	size_t udp; /* offset of the UDP header, 0 if none */
};

static const uint8_t mac_dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t mac_src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t ip4_src[4] = { 10, 0, 0, 1 };
static const uint8_t ip4_dst[4] = { 10, 0, 0, 2 };
static const uint8_t ip6_src[16] = { 0xfd, 0x00, [15] = 0x01 };
static const uint8_t ip6_dst[16] = { 0xfd, 0x00, [15] = 0x02 };

static void
put8(struct pb *p, uint8_t v)
{
	CU_ASSERT_FATAL(p->n < PB_MAX);
	p->b[p->n++] = v;
}

static void
put16(struct pb *p, uint16_t v)
{
	put8(p, (uint8_t)(v >> 8));
	put8(p, (uint8_t)v);
}

static void
put32(struct pb *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

static void
putn(struct pb *p, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(p, d[i]);
}

/* @n bytes of payload (or header filler) with a recognisable pattern. */
static void
pb_data(struct pb *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(p, (uint8_t)(0xa0 + i));
}

static void
set16(struct pb *p, size_t off, uint16_t v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

static void
pb_eth_to(struct pb *p, const uint8_t *dst, uint16_t type)
{
	memset(p, 0, sizeof(*p));
	putn(p, dst, 6);
	putn(p, mac_src, 6);
	put16(p, type);
}

static void
pb_eth(struct pb *p, uint16_t type)
{
	pb_eth_to(p, mac_dst, type);
}

/* A VLAN tag's TCI and the type that follows it. */
static void
pb_tag(struct pb *p, uint16_t tci, uint16_t type)
{
	put16(p, tci);
	put16(p, type);
}

/* IPv4 header with @ihl words (options are NOPs); total length set by pb_fix(). */
static void
pb_ipv4(struct pb *p, uint8_t proto, uint8_t ihl, uint16_t frag)
{
	p->l3 = p->n;
	p->ipv = 4;
	put8(p, (uint8_t)(0x40 | ihl));
	put8(p, 0);
	put16(p, 0);
	put16(p, 0x1234);
	put16(p, frag);
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	putn(p, ip4_src, 4);
	putn(p, ip4_dst, 4);
	for (int i = 5; i < ihl; i++)
		put32(p, 0x01010101);
}

/* IPv6 header; payload length set by pb_fix(). */
static void
pb_ipv6(struct pb *p, uint8_t nh)
{
	p->l3 = p->n;
	p->ipv = 6;
	put32(p, 0x60012345);
	put16(p, 0);
	put8(p, nh);
	put8(p, 64);
	putn(p, ip6_src, 16);
	putn(p, ip6_dst, 16);
}

/* Hop-by-Hop, Routing or Destination Options header of (@len8 + 1) * 8 bytes. */
static void
pb_ext(struct pb *p, uint8_t nh, uint8_t len8)
{
	put8(p, nh);
	put8(p, len8);
	for (size_t i = 2; i < ((size_t)len8 + 1) * 8; i++)
		put8(p, 0); /* Pad1 options */
}

/* Authentication header of (@len4 + 2) * 4 bytes. */
static void
pb_ah(struct pb *p, uint8_t nh, uint8_t len4)
{
	put8(p, nh);
	put8(p, len4);
	pb_data(p, ((size_t)len4 + 2) * 4 - 2);
}

/* IPv6 Fragment header, offset in 8-byte units. */
static void
pb_frag6(struct pb *p, uint8_t nh, uint16_t off8, bool mf)
{
	put8(p, nh);
	put8(p, 0);
	put16(p, (uint16_t)(off8 << 3 | (mf ? 1 : 0)));
	put32(p, 0xcafe);
}

/* UDP header; length set by pb_fix(). */
static void
pb_udp(struct pb *p, uint16_t sport, uint16_t dport)
{
	p->udp = p->n;
	put16(p, sport);
	put16(p, dport);
	put16(p, 0);
	put16(p, 0);
}

static void
pb_tcp(struct pb *p, uint16_t sport, uint16_t dport, uint8_t doff)
{
	put16(p, sport);
	put16(p, dport);
	put32(p, 1000);
	put32(p, 2000);
	put8(p, (uint8_t)(doff << 4));
	put8(p, 0x18);
	put16(p, 0xffff);
	put16(p, 0);
	put16(p, 0);
	for (int i = 5; i < doff; i++)
		put32(p, 0x01010101);
}

static void
pb_icmp(struct pb *p, uint8_t type, uint8_t code)
{
	put8(p, type);
	put8(p, code);
	put16(p, 0);
	put16(p, 0x0042);
	put16(p, 1);
}

static void
pb_arp(struct pb *p, uint16_t hrd, uint8_t hln, uint16_t op)
{
	put16(p, hrd);
	put16(p, 0x0800);
	put8(p, hln);
	put8(p, 4);
	put16(p, op);
	putn(p, mac_src, 6);
	putn(p, ip4_src, 4);
	pb_data(p, 6);
	putn(p, ip4_dst, 4);
}

/* Fill in the IP and UDP lengths from what was written so far. */
static void
pb_fix(struct pb *p)
{
	if (p->udp != 0)
		set16(p, p->udp + 4, (uint16_t)(p->n - p->udp));
	if (p->ipv == 4)
		set16(p, p->l3 + 2, (uint16_t)(p->n - p->l3));
	else if (p->ipv == 6)
		set16(p, p->l3 + 4, (uint16_t)(p->n - p->l3 - 40));
}

/* Parse the first @len bytes of @p from a buffer of exactly that size. */
static int
parse_len(const struct pb *p, size_t len, struct udpmig_pkt_info *info)
{
	uint8_t *buf = malloc(len);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, p->b, len);
	rc = udpmig_pkt_parse(buf, len, info);
	free(buf);
	return rc;
}

static int
parse_pb(const struct pb *p, struct udpmig_pkt_info *info)
{
	return parse_len(p, p->n, info);
}

static void
mbuf_init(struct rte_mbuf *m, void *buf, uint16_t data_off, uint16_t data_len, uint32_t pkt_len)
{
	memset(m, 0, sizeof(*m));
	m->buf_addr = buf;
	m->data_off = data_off;
	m->data_len = data_len;
	m->pkt_len = pkt_len;
	m->nb_segs = 1;
}

static bool
addr_is(const struct udpmig_pkt_addr *a, int family, const uint8_t *bytes)
{
	size_t n = family == AF_INET ? 4 : 16;
	static const uint8_t zero[16];

	return a->family == family && memcmp(a->bytes, bytes, n) == 0 &&
		memcmp(a->bytes + n, zero, sizeof(a->bytes) - n) == 0;
}

/* What must hold after any call, on a buffer of @len bytes. */
static void
check_bounds(const struct udpmig_pkt_info *info, int rc, size_t len)
{
	CU_ASSERT(info->l3_off <= len);
	CU_ASSERT(info->l4_off <= len);
	CU_ASSERT(info->payload_off <= len);
	CU_ASSERT(info->n_vlan <= UDPMIG_PKT_MAX_VLAN);
	if (rc != 0) {
		CU_ASSERT_EQUAL(info->cls, UDPMIG_PKT_CLASS_OTHER);
	} else {
		CU_ASSERT((size_t)info->payload_off + info->payload_len <= len);
	}
}

/*
 * Cut @p at every length: each cut is truncated (-EMSGSIZE) and all
 * offsets stay within the cut. The same cut as the first segment of an
 * mbuf whose pkt_len is the full length parses as soon as the headers are
 * all in the segment.
 */
static void
check_truncations(const struct pb *p)
{
	struct udpmig_pkt_info full, info;
	struct rte_mbuf m;
	size_t hdr_end;
	uint8_t *buf;
	int rc;

	CU_ASSERT_EQUAL_FATAL(parse_pb(p, &full), 0);
	hdr_end = full.payload_off != 0 ? full.payload_off : p->n;
	for (size_t len = 0; len <= p->n; len++) {
		buf = malloc(len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		memcpy(buf, p->b, len);

		rc = udpmig_pkt_parse(buf, len, &info);
		CU_ASSERT_EQUAL(rc, len == p->n ? 0 : -EMSGSIZE);
		check_bounds(&info, rc, len);
		if (len >= 14) {
			CU_ASSERT(memcmp(&info.dst_mac, p->b, 6) == 0);
			CU_ASSERT(memcmp(&info.src_mac, p->b + 6, 6) == 0);
		}

		mbuf_init(&m, buf, 0, (uint16_t)len, (uint32_t)p->n);
		rc = udpmig_pkt_parse_mbuf(&m, &info);
		CU_ASSERT_EQUAL(rc, len >= hdr_end ? 0 : -EMSGSIZE);
		CU_ASSERT(info.l3_off <= len && info.l4_off <= len && info.payload_off <= len);
		if (rc == 0) {
			CU_ASSERT_EQUAL(info.cls, full.cls);
			CU_ASSERT_EQUAL(info.l4_off, full.l4_off);
			CU_ASSERT_EQUAL(info.payload_off, full.payload_off);
			CU_ASSERT_EQUAL(info.payload_len, full.payload_len);
			CU_ASSERT_EQUAL(info.dst_port, full.dst_port);
		} else {
			CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
		}
		free(buf);
	}
}

/* The packets of the truncation tests, also used by the positive ones. */

static void
mk_udp4(struct pb *p)
{
	pb_eth(p, 0x0800);
	pb_ipv4(p, IPPROTO_UDP, 5, 0);
	pb_udp(p, 1000, 2000);
	pb_data(p, 10);
	pb_fix(p);
}

/* UDP after Hop-by-Hop, Routing, Destination Options and AH headers. */
static void
mk_udp6_ext(struct pb *p)
{
	pb_eth(p, 0x86dd);
	pb_ipv6(p, IPPROTO_HOPOPTS);
	pb_ext(p, IPPROTO_ROUTING, 0);
	pb_ext(p, IPPROTO_DSTOPTS, 1);
	pb_ext(p, IPPROTO_AH, 0);
	pb_ah(p, IPPROTO_UDP, 1);
	pb_udp(p, 3000, 4000);
	pb_data(p, 12);
	pb_fix(p);
}

static void
mk_tcp4(struct pb *p)
{
	pb_eth(p, 0x0800);
	pb_ipv4(p, IPPROTO_TCP, 7, 0x4000);
	pb_tcp(p, 5000, 80, 8);
	pb_data(p, 5);
	pb_fix(p);
}

static void
mk_icmp4(struct pb *p)
{
	pb_eth(p, 0x0800);
	pb_ipv4(p, IPPROTO_ICMP, 5, 0);
	pb_icmp(p, 8, 0);
	pb_data(p, 8);
	pb_fix(p);
}

static void
mk_icmp6(struct pb *p)
{
	pb_eth(p, 0x86dd);
	pb_ipv6(p, IPPROTO_ICMPV6);
	pb_icmp(p, 128, 0);
	pb_data(p, 8);
	pb_fix(p);
}

static void
mk_arp(struct pb *p)
{
	pb_eth_to(p, mac_bcast, 0x0806);
	pb_arp(p, 1, 6, 1);
}

static void
mk_qinq(struct pb *p)
{
	pb_eth(p, 0x88a8);
	pb_tag(p, 100, 0x8100);
	pb_tag(p, 0x2000 | 200, 0x0800);
	pb_ipv4(p, IPPROTO_UDP, 5, 0);
	pb_udp(p, 1000, 2000);
	pb_data(p, 3);
	pb_fix(p);
}

/* Expect -EBADMSG, with the MACs kept and cls OTHER. */
static void
check_bad(const struct pb *p)
{
	struct udpmig_pkt_info info;
	int rc;

	rc = parse_pb(p, &info);
	CU_ASSERT_EQUAL(rc, -EBADMSG);
	check_bounds(&info, rc, p->n);
	CU_ASSERT(memcmp(&info.dst_mac, p->b, 6) == 0);
	CU_ASSERT(memcmp(&info.src_mac, p->b + 6, 6) == 0);
	CU_ASSERT_EQUAL(info.src_port, 0);
	CU_ASSERT_EQUAL(info.dst_port, 0);
}

/* Negative cases. */

static void
test_null_args(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	mk_udp4(&p);
	memset(&info, 0xa5, sizeof(info));
	CU_ASSERT_EQUAL(udpmig_pkt_parse(NULL, p.n, &info), -EINVAL);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_NONE);
	CU_ASSERT_EQUAL(info.l4_off, 0);
	CU_ASSERT_EQUAL(udpmig_pkt_parse(p.b, p.n, NULL), -EINVAL);
	CU_ASSERT_EQUAL(udpmig_pkt_parse(NULL, 0, NULL), -EINVAL);
}

static void
test_mbuf_null_args(void)
{
	struct udpmig_pkt_info info;
	struct rte_mbuf m;
	struct pb p;

	mk_udp4(&p);
	mbuf_init(&m, p.b, 0, (uint16_t)p.n, (uint32_t)p.n);
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(NULL, &info), -EINVAL);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(&m, NULL), -EINVAL);
	m.buf_addr = NULL;
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(&m, &info), -EINVAL);
}

static void
test_len_too_big(void)
{
	struct udpmig_pkt_info info;
	size_t len = (size_t)UINT16_MAX + 1;
	uint8_t *buf = calloc(1, len);
	struct pb p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	mk_udp4(&p);
	memcpy(buf, p.b, p.n);
	CU_ASSERT_EQUAL(udpmig_pkt_parse(buf, len, &info), -ERANGE);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_NONE);
	CU_ASSERT_EQUAL(udpmig_pkt_parse(buf, len - 1, &info), 0);
	CU_ASSERT(info.flags & UDPMIG_PKT_F_L2_PAD);
	free(buf);
}

#define TRUNC_TEST(kind)                    \
	static void test_trunc_##kind(void) \
	{                                   \
		struct pb p;                \
                                            \
		mk_##kind(&p);              \
		check_truncations(&p);      \
	}

TRUNC_TEST(udp4)
TRUNC_TEST(udp6_ext)
TRUNC_TEST(tcp4)
TRUNC_TEST(icmp4)
TRUNC_TEST(icmp6)
TRUNC_TEST(arp)
TRUNC_TEST(qinq)

static void
test_bad_ihl_small(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		mk_udp4(&p);
		p.b[14] = (uint8_t)(0x40 | ihl);
		check_bad(&p);
	}
	CU_ASSERT_EQUAL(parse_pb(&p, &info), -EBADMSG);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_IPV4);
	CU_ASSERT_EQUAL(info.l3_off, 14);
	CU_ASSERT_EQUAL(info.src_ip.family, 0);
}

static void
test_bad_ihl_over_total(void)
{
	struct pb p;

	/* IHL 15 (60 bytes) in a 38-byte IP packet. */
	mk_udp4(&p);
	p.b[14] = 0x4f;
	check_bad(&p);
	/* IHL 6 (24 bytes) with total length 20, and 5 with 19. */
	pb_eth(&p, 0x0800);
	pb_ipv4(&p, IPPROTO_UDP, 6, 0);
	pb_udp(&p, 1, 2);
	pb_fix(&p);
	set16(&p, 16, 20);
	check_bad(&p);
	mk_udp4(&p);
	set16(&p, 16, 19);
	check_bad(&p);
	set16(&p, 16, 0);
	check_bad(&p);
}

static void
test_bad_ip_version(void)
{
	struct pb p;

	mk_udp4(&p);
	p.b[14] = 0x65;
	check_bad(&p);
	mk_icmp6(&p);
	p.b[14] = 0x40;
	check_bad(&p);
}

static void
test_bad_udp_len_small(void)
{
	struct pb p;

	mk_udp4(&p);
	set16(&p, 34 + 4, 7);
	check_bad(&p);
	set16(&p, 34 + 4, 0);
	check_bad(&p);
}

static void
test_bad_udp_len_big(void)
{
	struct pb p;

	mk_udp4(&p);
	set16(&p, 34 + 4, (uint16_t)(8 + 10 + 1));
	check_bad(&p);
	mk_udp6_ext(&p);
	set16(&p, p.udp + 4, 0xffff);
	check_bad(&p);
}

/* IP packets too short for their L4 header, padded so that the buffer is not. */
static void
test_bad_l4_short(void)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP };
	struct pb p;

	for (size_t i = 0; i < RTE_DIM(protos); i++) {
		pb_eth(&p, 0x0800);
		pb_ipv4(&p, protos[i], 5, 0);
		pb_data(&p, 4);
		pb_fix(&p);
		pb_data(&p, 30);
		check_bad(&p);
	}
	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_ICMPV6);
	pb_data(&p, 7);
	pb_fix(&p);
	check_bad(&p);
}

static void
test_bad_tcp_doff(void)
{
	struct pb p;

	for (uint8_t doff = 0; doff < 5; doff++) {
		mk_tcp4(&p);
		p.b[42 + 12] = (uint8_t)(doff << 4);
		check_bad(&p);
	}
	/* 60-byte TCP header in 37 bytes of IP payload. */
	mk_tcp4(&p);
	p.b[42 + 12] = 0xf0;
	check_bad(&p);
}

static void
test_bad_three_vlans(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	pb_eth(&p, 0x88a8);
	pb_tag(&p, 1, 0x8100);
	pb_tag(&p, 2, 0x8100);
	pb_tag(&p, 3, 0x0800);
	pb_ipv4(&p, IPPROTO_UDP, 5, 0);
	pb_udp(&p, 1, 2);
	pb_fix(&p);
	check_bad(&p);
	CU_ASSERT_EQUAL(parse_pb(&p, &info), -EBADMSG);
	CU_ASSERT_EQUAL(info.n_vlan, 2);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_NONE);
}

/* A chain of @n Destination Options headers before UDP. */
static void
mk_ipv6_chain(struct pb *p, unsigned int n)
{
	pb_eth(p, 0x86dd);
	pb_ipv6(p, n > 0 ? IPPROTO_DSTOPTS : IPPROTO_UDP);
	for (unsigned int i = 0; i < n; i++)
		pb_ext(p, i + 1 < n ? IPPROTO_DSTOPTS : IPPROTO_UDP, 0);
	pb_udp(p, 7, 8);
	pb_fix(p);
}

static void
test_bad_ipv6_ext_nine(void)
{
	struct pb p;

	mk_ipv6_chain(&p, UDPMIG_PKT_MAX_IPV6_EXT + 1);
	check_bad(&p);
}

static void
test_bad_ipv6_ext(void)
{
	struct pb p;

	/* Extension header longer than the payload length, buffer padded. */
	mk_udp6_ext(&p);
	set16(&p, 18, 20);
	check_bad(&p);
	/* Hop-by-Hop after another extension header. */
	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_DSTOPTS);
	pb_ext(&p, IPPROTO_HOPOPTS, 0);
	pb_ext(&p, IPPROTO_UDP, 0);
	pb_udp(&p, 1, 2);
	pb_fix(&p);
	check_bad(&p);
	/* Two Fragment headers: a first fragment, then a later one. */
	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_FRAGMENT);
	pb_frag6(&p, IPPROTO_FRAGMENT, 0, true);
	pb_frag6(&p, IPPROTO_UDP, 8, true);
	pb_data(&p, 8);
	pb_fix(&p);
	check_bad(&p);
	/* Payload length 1: no room for a next-header byte pair. */
	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_HOPOPTS);
	pb_data(&p, 1);
	pb_fix(&p);
	check_bad(&p);
}

static void
test_bad_arp_lengths(void)
{
	struct pb p;

	pb_eth_to(&p, mac_bcast, 0x0806);
	pb_arp(&p, 1, 8, 1);
	pb_data(&p, 4);
	check_bad(&p);
	mk_arp(&p);
	p.b[14 + 5] = 16;
	check_bad(&p);
}

/* Positive cases. */

static void
test_udp4(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	mk_udp4(&p);
	memset(&info, 0xa5, sizeof(info));
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT(memcmp(&info.dst_mac, mac_dst, 6) == 0);
	CU_ASSERT(memcmp(&info.src_mac, mac_src, 6) == 0);
	CU_ASSERT_EQUAL(info.n_vlan, 0);
	CU_ASSERT_EQUAL(info.vlan_tci[0], 0);
	CU_ASSERT_EQUAL(info.ethertype, 0x0800);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_IPV4);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_UDP);
	CU_ASSERT_EQUAL(info.flags, 0);
	CU_ASSERT_EQUAL(info.arp_op, 0);
	CU_ASSERT_EQUAL(info.icmp_type, 0);
	CU_ASSERT_EQUAL(info.l3_off, 14);
	CU_ASSERT_EQUAL(info.l4_off, 34);
	CU_ASSERT_EQUAL(info.payload_off, 42);
	CU_ASSERT_EQUAL(info.payload_len, 10);
	CU_ASSERT(addr_is(&info.src_ip, AF_INET, ip4_src));
	CU_ASSERT(addr_is(&info.dst_ip, AF_INET, ip4_dst));
	CU_ASSERT_EQUAL(info.src_port, 1000);
	CU_ASSERT_EQUAL(info.dst_port, 2000);
}

/* Parsing from an odd address gives the same result. */
static void
test_unaligned(void)
{
	struct udpmig_pkt_info a, b;
	uint8_t *buf;
	struct pb p;

	mk_udp6_ext(&p);
	buf = malloc(p.n + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf + 1, p.b, p.n);
	CU_ASSERT_EQUAL(parse_pb(&p, &a), 0);
	CU_ASSERT_EQUAL(udpmig_pkt_parse(buf + 1, p.n, &b), 0);
	CU_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
	free(buf);
}

static void
test_udp_len_below_ip_payload(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	mk_udp4(&p);
	set16(&p, 34 + 4, 8 + 4);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.payload_off, 42);
	CU_ASSERT_EQUAL(info.payload_len, 4);
	set16(&p, 34 + 4, 8);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.payload_len, 0);
}

static void
test_ipv4_options(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	for (uint8_t ihl = 6; ihl <= 15; ihl += 9) {
		pb_eth(&p, 0x0800);
		pb_ipv4(&p, IPPROTO_UDP, ihl, 0);
		pb_udp(&p, 53, 5353);
		pb_data(&p, 2);
		pb_fix(&p);
		CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
		CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_IPV4_OPTS);
		CU_ASSERT_EQUAL(info.l4_off, 14 + ihl * 4);
		CU_ASSERT_EQUAL(info.payload_off, 14 + ihl * 4 + 8);
		CU_ASSERT_EQUAL(info.payload_len, 2);
		CU_ASSERT_EQUAL(info.src_port, 53);
		CU_ASSERT_EQUAL(info.dst_port, 5353);
		CU_ASSERT(addr_is(&info.dst_ip, AF_INET, ip4_dst));
	}
}

static void
test_ipv4_frag_first(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	/* First fragment of a 1000-byte datagram: 16 bytes of it are here. */
	pb_eth(&p, 0x0800);
	pb_ipv4(&p, IPPROTO_UDP, 5, 0x2000);
	pb_udp(&p, 1000, 2000);
	pb_data(&p, 8);
	pb_fix(&p);
	set16(&p, p.udp + 4, 1000);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_FRAG | UDPMIG_PKT_F_FRAG_FIRST);
	CU_ASSERT_EQUAL(info.src_port, 1000);
	CU_ASSERT_EQUAL(info.dst_port, 2000);
	CU_ASSERT_EQUAL(info.l4_off, 34);
	CU_ASSERT_EQUAL(info.payload_len, 8);
	/* Still, a first fragment needs the whole UDP header. */
	pb_eth(&p, 0x0800);
	pb_ipv4(&p, IPPROTO_UDP, 5, 0x2000);
	pb_data(&p, 4);
	pb_fix(&p);
	check_bad(&p);
}

static void
test_ipv4_frag_later(void)
{
	static const uint16_t frags[] = { 0x2000 | 185, 185, 0x4000 | 0x1fff };
	struct udpmig_pkt_info info;
	struct pb p;

	for (size_t i = 0; i < RTE_DIM(frags); i++) {
		pb_eth(&p, 0x0800);
		pb_ipv4(&p, IPPROTO_UDP, 5, frags[i]);
		pb_data(&p, 3); /* not a UDP header */
		pb_fix(&p);
		CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
		CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
		CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_UDP);
		CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_FRAG);
		CU_ASSERT_EQUAL(info.l4_off, 0);
		CU_ASSERT_EQUAL(info.payload_off, 0);
		CU_ASSERT_EQUAL(info.payload_len, 0);
		CU_ASSERT_EQUAL(info.src_port, 0);
		CU_ASSERT_EQUAL(info.dst_port, 0);
		CU_ASSERT(addr_is(&info.src_ip, AF_INET, ip4_src));
		CU_ASSERT(addr_is(&info.dst_ip, AF_INET, ip4_dst));
	}
}

static void
test_l2_padding(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	pb_eth(&p, 0x0800);
	pb_ipv4(&p, IPPROTO_UDP, 5, 0);
	pb_udp(&p, 1, 2);
	pb_data(&p, 2);
	pb_fix(&p);
	while (p.n < 60)
		put8(&p, 0);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_L2_PAD);
	CU_ASSERT_EQUAL(info.payload_off + info.payload_len, 14 + 20 + 8 + 2);

	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_NONE);
	pb_fix(&p);
	pb_data(&p, 6);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_L2_PAD);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_NONE);
	CU_ASSERT_EQUAL(info.l4_off, 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
}

static void
test_tcp(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	mk_tcp4(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_TCP);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_TCP);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_IPV4_OPTS); /* DF is not a fragment */
	CU_ASSERT_EQUAL(info.l4_off, 42);
	CU_ASSERT_EQUAL(info.payload_off, 42 + 32);
	CU_ASSERT_EQUAL(info.payload_len, 5);
	CU_ASSERT_EQUAL(info.src_port, 5000);
	CU_ASSERT_EQUAL(info.dst_port, 80);

	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_TCP);
	pb_tcp(&p, 443, 40000, 5);
	pb_fix(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_TCP);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_IPV6);
	CU_ASSERT_EQUAL(info.l4_off, 54);
	CU_ASSERT_EQUAL(info.payload_off, 74);
	CU_ASSERT_EQUAL(info.payload_len, 0);
	CU_ASSERT_EQUAL(info.src_port, 443);
	CU_ASSERT_EQUAL(info.dst_port, 40000);
	CU_ASSERT(addr_is(&info.src_ip, AF_INET6, ip6_src));
	CU_ASSERT(addr_is(&info.dst_ip, AF_INET6, ip6_dst));
}

static void
test_icmp(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	mk_icmp4(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_ICMP);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_ICMP);
	CU_ASSERT_EQUAL(info.icmp_type, 8);
	CU_ASSERT_EQUAL(info.icmp_code, 0);
	CU_ASSERT_EQUAL(info.l4_off, 34);
	CU_ASSERT_EQUAL(info.payload_off, 42);
	CU_ASSERT_EQUAL(info.payload_len, 8);
	CU_ASSERT_EQUAL(info.src_port, 0);

	mk_icmp6(&p);
	p.b[54 + 1] = 3;
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_ICMP);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_ICMPV6);
	CU_ASSERT_EQUAL(info.icmp_type, 128);
	CU_ASSERT_EQUAL(info.icmp_code, 3);
	CU_ASSERT_EQUAL(info.l4_off, 54);
	CU_ASSERT_EQUAL(info.payload_off, 62);
	CU_ASSERT(addr_is(&info.dst_ip, AF_INET6, ip6_dst));
}

/* ICMP in IPv6 and ICMPv6 in IPv4 are unknown protocols. */
static void
test_icmp_wrong_family(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	mk_icmp4(&p);
	p.b[14 + 9] = IPPROTO_ICMPV6;
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.icmp_type, 0);
	mk_icmp6(&p);
	p.b[14 + 6] = IPPROTO_ICMP;
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.l4_off, 54);
}

static void
test_ipv6_ext(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	mk_udp6_ext(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_IPV6);
	CU_ASSERT_EQUAL(info.ethertype, 0x86dd);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_UDP);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_IPV6_EXT);
	CU_ASSERT_EQUAL(info.l4_off, 14 + 40 + 8 + 16 + 8 + 12);
	CU_ASSERT_EQUAL(info.payload_off, info.l4_off + 8);
	CU_ASSERT_EQUAL(info.payload_len, 12);
	CU_ASSERT_EQUAL(info.src_port, 3000);
	CU_ASSERT_EQUAL(info.dst_port, 4000);
	CU_ASSERT(addr_is(&info.src_ip, AF_INET6, ip6_src));
	CU_ASSERT(addr_is(&info.dst_ip, AF_INET6, ip6_dst));

	mk_ipv6_chain(&p, UDPMIG_PKT_MAX_IPV6_EXT);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
	CU_ASSERT_EQUAL(info.l4_off, 14 + 40 + 8 * UDPMIG_PKT_MAX_IPV6_EXT);
	CU_ASSERT_EQUAL(info.dst_port, 8);
}

static void
test_ipv6_frag(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	/* First fragment, after a Hop-by-Hop header. */
	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_HOPOPTS);
	pb_ext(&p, IPPROTO_FRAGMENT, 0);
	pb_frag6(&p, IPPROTO_UDP, 0, true);
	pb_udp(&p, 1000, 2000);
	pb_data(&p, 8);
	pb_fix(&p);
	set16(&p, p.udp + 4, 3000);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
	CU_ASSERT_EQUAL(
		info.flags, UDPMIG_PKT_F_IPV6_EXT | UDPMIG_PKT_F_FRAG | UDPMIG_PKT_F_FRAG_FIRST);
	CU_ASSERT_EQUAL(info.l4_off, 14 + 40 + 8 + 8);
	CU_ASSERT_EQUAL(info.payload_len, 8);
	CU_ASSERT_EQUAL(info.dst_port, 2000);

	/* Later fragment: addresses only. */
	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_FRAGMENT);
	pb_frag6(&p, IPPROTO_UDP, 2, false);
	pb_data(&p, 16);
	pb_fix(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_UDP);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_IPV6_EXT | UDPMIG_PKT_F_FRAG);
	CU_ASSERT_EQUAL(info.l4_off, 0);
	CU_ASSERT_EQUAL(info.payload_off, 0);
	CU_ASSERT_EQUAL(info.src_port, 0);
	CU_ASSERT_EQUAL(info.dst_port, 0);
	CU_ASSERT(addr_is(&info.dst_ip, AF_INET6, ip6_dst));

	/* Atomic fragment (offset 0, no more fragments): not a fragment. */
	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_FRAGMENT);
	pb_frag6(&p, IPPROTO_UDP, 0, false);
	pb_udp(&p, 1, 2);
	pb_fix(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_IPV6_EXT);
	CU_ASSERT_EQUAL(info.dst_port, 2);
}

/* ESP, unknown protocols and No Next Header end the walk without an error. */
static void
test_unknown_l4(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_DSTOPTS);
	pb_ext(&p, IPPROTO_ESP, 0);
	pb_data(&p, 16);
	pb_fix(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_ESP);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_IPV6_EXT);
	CU_ASSERT_EQUAL(info.l4_off, 14 + 40 + 8);
	CU_ASSERT_EQUAL(info.payload_off, 0);
	CU_ASSERT_EQUAL(info.payload_len, 0);

	pb_eth(&p, 0x86dd);
	pb_ipv6(&p, IPPROTO_DSTOPTS);
	pb_ext(&p, IPPROTO_NONE, 0);
	pb_data(&p, 4); /* ignored */
	pb_fix(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_NONE);
	CU_ASSERT_EQUAL(info.l4_off, 0);

	pb_eth(&p, 0x0800);
	pb_ipv4(&p, IPPROTO_GRE, 5, 0);
	pb_data(&p, 4);
	pb_fix(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_IPV4);
	CU_ASSERT_EQUAL(info.l4_proto, IPPROTO_GRE);
	CU_ASSERT_EQUAL(info.l4_off, 34);
	CU_ASSERT(addr_is(&info.dst_ip, AF_INET, ip4_dst));

	/* Empty IP payload: no L4 at all. */
	pb_eth(&p, 0x0800);
	pb_ipv4(&p, IPPROTO_GRE, 5, 0);
	pb_fix(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.l4_off, 0);
}

static void
test_arp(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	mk_arp(&p);
	while (p.n < 60)
		put8(&p, 0);
	memset(&info, 0xa5, sizeof(info));
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_ARP);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_ARP);
	CU_ASSERT_EQUAL(info.ethertype, 0x0806);
	CU_ASSERT(memcmp(&info.dst_mac, mac_bcast, 6) == 0);
	CU_ASSERT_EQUAL(info.arp_op, 1);
	CU_ASSERT_EQUAL(info.l3_off, 14);
	CU_ASSERT_EQUAL(info.l4_off, 0);
	CU_ASSERT_EQUAL(info.payload_off, 0);
	CU_ASSERT_EQUAL(info.payload_len, 0);
	CU_ASSERT_EQUAL(info.l4_proto, 0);
	CU_ASSERT_EQUAL(info.flags, 0);
	CU_ASSERT(addr_is(&info.src_ip, AF_INET, ip4_src));
	CU_ASSERT(addr_is(&info.dst_ip, AF_INET, ip4_dst));
	CU_ASSERT_EQUAL(info.src_port, 0);

	pb_eth_to(&p, mac_dst, 0x0806);
	pb_arp(&p, 1, 6, 2);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_ARP);
	CU_ASSERT_EQUAL(info.arp_op, 2);

	/* Not Ethernet hardware: only the fixed part is read. */
	pb_eth_to(&p, mac_bcast, 0x0806);
	pb_arp(&p, 6, 6, 1);
	p.n = 14 + 8;
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_ARP);
	CU_ASSERT_EQUAL(info.src_ip.family, 0);
}

static void
test_vlan(void)
{
	struct udpmig_pkt_info info;
	struct pb p;

	pb_eth(&p, 0x8100);
	pb_tag(&p, 0x2064, 0x0800);
	pb_ipv4(&p, IPPROTO_UDP, 5, 0);
	pb_udp(&p, 1, 2);
	pb_fix(&p);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.n_vlan, 1);
	CU_ASSERT_EQUAL(info.vlan_tci[0], 0x2064);
	CU_ASSERT_EQUAL(info.vlan_tci[1], 0);
	CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_VLAN);
	CU_ASSERT_EQUAL(info.ethertype, 0x0800);
	CU_ASSERT_EQUAL(info.l3_off, 18);
	CU_ASSERT_EQUAL(info.l4_off, 38);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
}

static void
test_qinq(void)
{
	static const uint16_t tpids[] = { 0x88a8, 0x9100, 0x8100 };
	struct udpmig_pkt_info info;
	struct pb p;

	for (size_t i = 0; i < RTE_DIM(tpids); i++) {
		mk_qinq(&p);
		set16(&p, 12, tpids[i]);
		CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
		CU_ASSERT_EQUAL(info.n_vlan, 2);
		CU_ASSERT_EQUAL(info.vlan_tci[0], 100);
		CU_ASSERT_EQUAL(info.vlan_tci[1], 0x2000 | 200);
		CU_ASSERT_EQUAL(info.flags, UDPMIG_PKT_F_VLAN | UDPMIG_PKT_F_QINQ);
		CU_ASSERT_EQUAL(info.l3_off, 22);
		CU_ASSERT_EQUAL(info.l4_off, 42);
		CU_ASSERT_EQUAL(info.payload_len, 3);
		CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_UDP);
		CU_ASSERT_EQUAL(info.dst_port, 2000);
	}
}

static void
test_unknown_ethertype(void)
{
	static const uint16_t types[] = { 0x88cc, 0x8035, 0x0040 };
	struct udpmig_pkt_info info;
	struct pb p;

	for (size_t i = 0; i < RTE_DIM(types); i++) {
		pb_eth(&p, types[i]);
		CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
		CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
		CU_ASSERT_EQUAL(info.l3, UDPMIG_PKT_L3_OTHER);
		CU_ASSERT_EQUAL(info.ethertype, types[i]);
		CU_ASSERT_EQUAL(info.l3_off, 14);
		CU_ASSERT_EQUAL(info.l4_off, 0);
		CU_ASSERT_EQUAL(info.src_ip.family, 0);
	}
	pb_eth(&p, 0x8100);
	pb_tag(&p, 5, 0x88cc);
	pb_data(&p, 20);
	CU_ASSERT_EQUAL_FATAL(parse_pb(&p, &info), 0);
	CU_ASSERT_EQUAL(info.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(info.ethertype, 0x88cc);
	CU_ASSERT_EQUAL(info.l3_off, 18);
	CU_ASSERT_EQUAL(info.vlan_tci[0], 5);
}

static void
test_mbuf(void)
{
	struct udpmig_pkt_info a, b;
	struct rte_mbuf m, seg2;
	uint8_t buf[256];
	struct pb p;

	/* Headroom before the frame, as in a real mbuf. */
	mk_udp6_ext(&p);
	memcpy(buf + 128, p.b, p.n);
	mbuf_init(&m, buf, 128, (uint16_t)p.n, (uint32_t)p.n);
	CU_ASSERT_EQUAL_FATAL(udpmig_pkt_parse_mbuf(&m, &a), 0);
	CU_ASSERT_EQUAL(parse_pb(&p, &b), 0);
	CU_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);

	/* pkt_len below data_len (a broken chain): data_len wins. */
	m.pkt_len = 10;
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(&m, &a), 0);
	CU_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);

	/* Two segments: the UDP payload goes on in the second one. */
	mk_udp4(&p);
	memcpy(buf, p.b, p.n);
	mbuf_init(&m, buf, 0, 42 + 4, (uint32_t)p.n);
	mbuf_init(&seg2, buf + 46, 0, (uint16_t)(p.n - 46), (uint32_t)(p.n - 46));
	m.next = &seg2;
	m.nb_segs = 2;
	CU_ASSERT_EQUAL_FATAL(udpmig_pkt_parse_mbuf(&m, &a), 0);
	CU_ASSERT_EQUAL(a.payload_off, 42);
	CU_ASSERT_EQUAL(a.payload_len, 10);
	CU_ASSERT_EQUAL(a.flags, 0);
	/* The UDP header split between the segments. */
	m.data_len = 40;
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(&m, &a), -EMSGSIZE);
	CU_ASSERT_EQUAL(a.cls, UDPMIG_PKT_CLASS_OTHER);
	/* pkt_len longer than the IP packet: Ethernet padding. */
	m.data_len = 46;
	m.pkt_len = 70;
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(&m, &a), 0);
	CU_ASSERT_EQUAL(a.flags, UDPMIG_PKT_F_L2_PAD);

	/* An unknown L4 that starts in the second segment. */
	pb_eth(&p, 0x0800);
	pb_ipv4(&p, IPPROTO_GRE, 5, 0);
	pb_data(&p, 8);
	pb_fix(&p);
	memcpy(buf, p.b, p.n);
	mbuf_init(&m, buf, 0, 34, (uint32_t)p.n);
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(&m, &a), 0);
	CU_ASSERT_EQUAL(a.cls, UDPMIG_PKT_CLASS_OTHER);
	CU_ASSERT_EQUAL(a.l4_off, 34);

	/* IPv4 options split between the segments, in a later fragment. */
	pb_eth(&p, 0x0800);
	pb_ipv4(&p, IPPROTO_UDP, 6, 100);
	pb_data(&p, 8);
	pb_fix(&p);
	memcpy(buf, p.b, p.n);
	mbuf_init(&m, buf, 0, 14 + 22, (uint32_t)p.n);
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(&m, &a), -EMSGSIZE);
	m.data_len = 14 + 24;
	CU_ASSERT_EQUAL(udpmig_pkt_parse_mbuf(&m, &a), 0);
	CU_ASSERT_EQUAL(a.flags, UDPMIG_PKT_F_IPV4_OPTS | UDPMIG_PKT_F_FRAG);
}

static void
test_class_name(void)
{
	static const char *const names[UDPMIG_PKT_CLASS_MAX] = {
		[UDPMIG_PKT_CLASS_UDP] = "udp",
		[UDPMIG_PKT_CLASS_TCP] = "tcp",
		[UDPMIG_PKT_CLASS_ICMP] = "icmp",
		[UDPMIG_PKT_CLASS_ARP] = "arp",
		[UDPMIG_PKT_CLASS_OTHER] = "other",
	};

	for (int c = 0; c < UDPMIG_PKT_CLASS_MAX; c++)
		CU_ASSERT_STRING_EQUAL(udpmig_pkt_class_name((enum udpmig_pkt_class)c), names[c]);
	CU_ASSERT_STRING_EQUAL(udpmig_pkt_class_name(UDPMIG_PKT_CLASS_MAX), "invalid");
	CU_ASSERT_STRING_EQUAL(udpmig_pkt_class_name((enum udpmig_pkt_class) - 1), "invalid");
	CU_ASSERT_STRING_EQUAL(udpmig_pkt_class_name((enum udpmig_pkt_class)100), "invalid");
}

static int
register_pkt(int argc, char **argv)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "NULL arguments", test_null_args },
		{ "mbuf: NULL arguments", test_mbuf_null_args },
		{ "length above UINT16_MAX", test_len_too_big },
		{ "truncated UDP/IPv4", test_trunc_udp4 },
		{ "truncated UDP/IPv6 with extension headers", test_trunc_udp6_ext },
		{ "truncated TCP/IPv4", test_trunc_tcp4 },
		{ "truncated ICMP", test_trunc_icmp4 },
		{ "truncated ICMPv6", test_trunc_icmp6 },
		{ "truncated ARP", test_trunc_arp },
		{ "truncated QinQ", test_trunc_qinq },
		{ "IPv4 IHL < 5", test_bad_ihl_small },
		{ "IPv4 IHL above total length", test_bad_ihl_over_total },
		{ "IP version not matching the ethertype", test_bad_ip_version },
		{ "UDP length < 8", test_bad_udp_len_small },
		{ "UDP length above IP payload", test_bad_udp_len_big },
		{ "L4 header beyond the IP payload", test_bad_l4_short },
		{ "TCP data offset", test_bad_tcp_doff },
		{ "three VLAN tags", test_bad_three_vlans },
		{ "nine IPv6 extension headers", test_bad_ipv6_ext_nine },
		{ "bad IPv6 extension headers", test_bad_ipv6_ext },
		{ "ARP address lengths", test_bad_arp_lengths },
		{ "UDP/IPv4", test_udp4 },
		{ "unaligned buffer", test_unaligned },
		{ "UDP length below IP payload", test_udp_len_below_ip_payload },
		{ "IPv4 options", test_ipv4_options },
		{ "IPv4 first fragment", test_ipv4_frag_first },
		{ "IPv4 later fragments", test_ipv4_frag_later },
		{ "L2 padding", test_l2_padding },
		{ "TCP", test_tcp },
		{ "ICMP and ICMPv6", test_icmp },
		{ "ICMP in the wrong IP family", test_icmp_wrong_family },
		{ "IPv6 extension headers", test_ipv6_ext },
		{ "IPv6 fragment header", test_ipv6_frag },
		{ "unknown L4 protocols", test_unknown_l4 },
		{ "ARP", test_arp },
		{ "802.1Q", test_vlan },
		{ "QinQ", test_qinq },
		{ "unknown ethertype", test_unknown_ethertype },
		{ "mbuf wrapper", test_mbuf },
		{ "class names", test_class_name },
	};
	CU_pSuite suite;

	(void)argc;
	(void)argv;
	suite = CU_add_suite("pkt", NULL, NULL);
	if (suite == NULL)
		return -1;
	for (size_t i = 0; i < RTE_DIM(tests); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}

UNIT_MAIN(register_pkt)
