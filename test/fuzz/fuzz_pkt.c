/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target of lib/udpmig_pkt. Each input is parsed twice, from a
 * malloc'd buffer of exactly its size so that ASan sees any over-read:
 * - as a flat buffer with udpmig_pkt_parse();
 * - as the first segment of an mbuf with udpmig_pkt_parse_mbuf(), the
 *   first input byte choosing where the segment ends (pkt_len stays the
 *   whole input), so that the parser never reads past data_len.
 * Every invariant of the API is checked; a violation abort()s.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_mbuf.h>

#include "udpmig_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

static void
check_addr(const struct udpmig_pkt_addr *a)
{
	size_t n;

	CHECK(a->family == 0 || a->family == AF_INET || a->family == AF_INET6);
	n = a->family == AF_INET6 ? 16 : a->family == AF_INET ? 4 : 0;
	for (size_t i = n; i < sizeof(a->bytes); i++)
		CHECK(a->bytes[i] == 0);
}

/*
 * Check @info after a parse of @len readable bytes of a frame of @wire
 * bytes that returned @rc.
 */
static void
check_info(const struct udpmig_pkt_info *info, int rc, size_t len, size_t wire)
{
	const char *name;

	CHECK(rc == 0 || rc == -EMSGSIZE || rc == -EBADMSG);
	CHECK((unsigned int)info->cls < UDPMIG_PKT_CLASS_MAX);
	name = udpmig_pkt_class_name(info->cls);
	CHECK(name != NULL && strcmp(name, "invalid") != 0);
	CHECK(info->l3 >= UDPMIG_PKT_L3_NONE && info->l3 <= UDPMIG_PKT_L3_OTHER);
	CHECK(info->n_vlan <= UDPMIG_PKT_MAX_VLAN);
	CHECK(((info->flags & UDPMIG_PKT_F_VLAN) != 0) == (info->n_vlan >= 1));
	CHECK(((info->flags & UDPMIG_PKT_F_QINQ) != 0) == (info->n_vlan == 2));
	CHECK(!(info->flags & UDPMIG_PKT_F_FRAG_FIRST) || (info->flags & UDPMIG_PKT_F_FRAG));
	CHECK(info->l3_off <= len);
	CHECK(info->l4_off <= len);
	CHECK(info->payload_off <= len);
	CHECK((size_t)info->payload_off + info->payload_len <= wire);
	check_addr(&info->src_ip);
	check_addr(&info->dst_ip);
	if (rc != 0) {
		CHECK(info->cls == UDPMIG_PKT_CLASS_OTHER);
		return;
	}

	CHECK(len >= RTE_ETHER_HDR_LEN);
	CHECK(info->l3 != UDPMIG_PKT_L3_NONE);
	CHECK(info->l3_off == RTE_ETHER_HDR_LEN + 4 * info->n_vlan);
	if (info->l4_off != 0)
		CHECK(info->l4_off > info->l3_off);
	if (info->payload_off != 0)
		CHECK(info->l4_off != 0 && info->payload_off > info->l4_off);
	else
		CHECK(info->payload_len == 0);
	if ((info->flags & UDPMIG_PKT_F_FRAG) && !(info->flags & UDPMIG_PKT_F_FRAG_FIRST))
		CHECK(info->l4_off == 0 && info->src_port == 0 && info->dst_port == 0);
	if (info->src_port != 0 || info->dst_port != 0)
		CHECK(info->cls == UDPMIG_PKT_CLASS_UDP || info->cls == UDPMIG_PKT_CLASS_TCP);

	switch (info->cls) {
	case UDPMIG_PKT_CLASS_UDP:
	case UDPMIG_PKT_CLASS_TCP:
	case UDPMIG_PKT_CLASS_ICMP:
		CHECK(info->l3 == UDPMIG_PKT_L3_IPV4 || info->l3 == UDPMIG_PKT_L3_IPV6);
		CHECK(info->src_ip.family != 0 && info->dst_ip.family != 0);
		if (info->l4_off != 0)
			CHECK(info->payload_off >= info->l4_off + 8);
		else
			CHECK((info->flags & UDPMIG_PKT_F_FRAG) &&
				!(info->flags & UDPMIG_PKT_F_FRAG_FIRST));
		break;
	case UDPMIG_PKT_CLASS_ARP:
		CHECK(info->l3 == UDPMIG_PKT_L3_ARP);
		CHECK(info->src_ip.family == AF_INET && info->dst_ip.family == AF_INET);
		CHECK(info->l3_off + 28u <= len);
		CHECK(info->l4_off == 0 && info->payload_off == 0);
		break;
	case UDPMIG_PKT_CLASS_OTHER:
		break;
	case UDPMIG_PKT_CLASS_MAX:
		abort();
	}
}

/* Fields that do not depend on where the first segment ends. */
static void
check_same_headers(const struct udpmig_pkt_info *a, const struct udpmig_pkt_info *b)
{
	CHECK(memcmp(&a->dst_mac, &b->dst_mac, sizeof(a->dst_mac)) == 0);
	CHECK(memcmp(&a->src_mac, &b->src_mac, sizeof(a->src_mac)) == 0);
	CHECK(a->cls == b->cls && a->l3 == b->l3 && a->flags == b->flags);
	CHECK(a->l3_off == b->l3_off && a->l4_off == b->l4_off);
	CHECK(a->payload_off == b->payload_off && a->payload_len == b->payload_len);
	CHECK(a->src_port == b->src_port && a->dst_port == b->dst_port);
	CHECK(memcmp(&a->src_ip, &b->src_ip, sizeof(a->src_ip)) == 0);
	CHECK(memcmp(&a->dst_ip, &b->dst_ip, sizeof(a->dst_ip)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct udpmig_pkt_info flat, seg;
	struct rte_mbuf m;
	uint8_t *buf;
	size_t cut;
	int rc, rc_seg;

	if (size > UINT16_MAX)
		return 0;
	buf = malloc(size);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	rc = udpmig_pkt_parse(buf, size, &flat);
	check_info(&flat, rc, size, size);
	free(buf);

	/* Same frame, first segment cut (byte 0 picks where, 255: not cut). */
	cut = size;
	if (size > 0 && data[0] != 0xff)
		cut = data[0] < size ? data[0] : size;
	buf = malloc(cut);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, cut);
	memset(&m, 0, sizeof(m));
	m.buf_addr = buf;
	m.data_off = 0;
	m.data_len = (uint16_t)cut;
	m.pkt_len = (uint32_t)size;
	m.nb_segs = 1;
	rc_seg = udpmig_pkt_parse_mbuf(&m, &seg);
	check_info(&seg, rc_seg, cut, size);
	if (cut == size) {
		CHECK(rc_seg == rc);
		check_same_headers(&flat, &seg);
	} else if (rc_seg == 0) {
		/* All headers were in the segment: the flat parse agrees. */
		CHECK(rc == 0);
		check_same_headers(&flat, &seg);
	} else {
		/* A shorter segment can only add truncation. */
		CHECK(rc != -EMSGSIZE || rc_seg == -EMSGSIZE);
		CHECK(rc_seg != -EBADMSG || rc == -EBADMSG);
	}
	free(buf);
	return 0;
}
