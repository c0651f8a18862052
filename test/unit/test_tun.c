/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/udpmig_tun: the error contract first, then the codec
 * (round trips, the tag checked against libsodium directly, every single
 * byte flip, every truncation, hand-edited refusals, chained mbufs), then
 * the sender and the receiver, alone and together over a simulated lossy,
 * duplicating, reordering wire driven by a fake clock.
 *
 * Every test frees what it allocates and ends by checking that the pools
 * are full again.
 */
/* rte_ipv6_udptcp_cksum_verify() is still experimental in DPDK 22.11. */
#define ALLOW_EXPERIMENTAL_API
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <sodium.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_udp.h>

#include "udpmig_tun.h"
#include "unit.h"

#define POOL_SIZE  8191
#define SMALL_SIZE 63
#define FRAME_MAX  4096
#define TAG_LEN    16

static struct rte_mempool *pool;
static struct rte_mempool *small_pool; /* 256-byte data room */
static uint8_t key_a[UDPMIG_TUN_KEY_LEN];
static uint8_t key_b[UDPMIG_TUN_KEY_LEN];

/* Offsets inside a frame built by udpmig_tun_encap(). */
struct layout {
	uint32_t l3, l4, gen, opt, tag, pay;
};

static struct layout
layout_of(int family)
{
	struct layout l;

	l.l3 = RTE_ETHER_HDR_LEN;
	l.l4 = l.l3 + (family == AF_INET6 ? 40 : 20);
	l.gen = l.l4 + 8;
	l.opt = l.gen + 8;
	l.tag = l.opt + 20;
	l.pay = l.opt + 36;
	return l;
}

static void
pools_full(void)
{
	CU_ASSERT(rte_mempool_avail_count(pool) == POOL_SIZE);
	CU_ASSERT(rte_mempool_avail_count(small_pool) == SMALL_SIZE);
}

static struct udpmig_tun_path
path_of(int family)
{
	struct udpmig_tun_path p = {
		.family = family,
		.src_port = 49157,
		.dst_port = UDPMIG_TUN_UDP_PORT,
		.src_mac = { { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 } },
		.dst_mac = { { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 } },
	};
	uint32_t i;

	if (family == AF_INET6) {
		for (i = 0; i < 16; i++) {
			p.src_ip[i] = (uint8_t)(0xa0 + i);
			p.dst_ip[i] = (uint8_t)(0xb0 + i);
		}
	} else {
		memcpy(p.src_ip, (const uint8_t[]){ 10, 0, 0, 1 }, 4);
		memcpy(p.dst_ip, (const uint8_t[]){ 10, 0, 0, 2 }, 4);
	}
	return p;
}

static struct udpmig_tun_msg
msg_of(uint8_t type, uint8_t flags, uint64_t seq)
{
	struct udpmig_tun_msg m = {
		.vni = 0xABCDEF,
		.session = 0xC0FFEE01,
		.type = type,
		.flags = flags,
		.seq = seq,
	};
	return m;
}

/* Byte i of a frame with salt s. */
static uint8_t
pattern(uint32_t i, uint8_t s)
{
	return (uint8_t)(i * 31u + s + (i >> 8));
}

/* A frame of @p len bytes of pattern(., salt), in segments of at most @p seg bytes. */
static struct rte_mbuf *
frame_new(uint32_t len, uint8_t salt, uint32_t seg)
{
	struct rte_mbuf *head = NULL;
	uint32_t off = 0;

	do {
		uint32_t n = RTE_MIN(len - off, seg);
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *d;
		uint32_t i;

		if (m == NULL)
			goto fail;
		d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)n);
		if (d == NULL || (head != NULL && rte_pktmbuf_chain(head, m) != 0)) {
			rte_pktmbuf_free(m);
			goto fail;
		}
		for (i = 0; i < n; i++)
			d[i] = pattern(off + i, salt);
		if (head == NULL)
			head = m;
		off += n;
	} while (off < len);
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}

/* An mbuf chain holding @p b, a new segment starting at each of @p cuts (ascending). */
static struct rte_mbuf *
mbuf_of(const uint8_t *b, uint32_t len, const uint32_t *cuts, unsigned int n_cuts)
{
	struct rte_mbuf *head = NULL;
	uint32_t start = 0;
	unsigned int i;

	for (i = 0; i <= n_cuts; i++) {
		uint32_t end = i < n_cuts ? cuts[i] : len;
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *d;

		if (m == NULL)
			goto fail;
		d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(end - start));
		if (d == NULL || (head != NULL && rte_pktmbuf_chain(head, m) != 0)) {
			rte_pktmbuf_free(m);
			goto fail;
		}
		memcpy(d, b + start, end - start);
		if (head == NULL)
			head = m;
		start = end;
	}
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}

static uint32_t
bytes_of(const struct rte_mbuf *m, uint8_t *b)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	const void *p = rte_pktmbuf_read(m, 0, len, b);

	if (p != b)
		memcpy(b, p, len);
	return len;
}

/* Build, encap into flat bytes, free. Returns the length or 0. */
static uint32_t
encap_bytes(int family, const struct udpmig_tun_msg *msg, uint32_t inner_len,
	const struct udpmig_tun_range *sack, uint16_t n_sack, uint8_t *b)
{
	struct udpmig_tun_path path = path_of(family);
	struct rte_mbuf *inner = NULL, *m;
	uint32_t len;

	if (inner_len > 0) {
		inner = frame_new(inner_len, 0x5a, 2048);
		if (inner == NULL)
			return 0;
	}
	m = udpmig_tun_encap(pool, &path, msg, inner, sack, n_sack, key_a);
	rte_pktmbuf_free(inner);
	if (m == NULL)
		return 0;
	len = bytes_of(m, b);
	rte_pktmbuf_free(m);
	return len;
}

static void
put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* After an edit: outer lengths for a frame of @p len bytes (no padding), IPv4 checksum. */
static void
fix_outer(uint8_t *b, uint32_t len)
{
	if (b[12] == 0x08 && b[13] == 0x00) {
		uint8_t *ip = b + RTE_ETHER_HDR_LEN;
		uint16_t ck;

		put16(ip + 2, (uint16_t)(len - RTE_ETHER_HDR_LEN));
		put16(ip + 10, 0);
		ck = rte_ipv4_cksum((struct rte_ipv4_hdr *)ip);
		memcpy(ip + 10, &ck, sizeof(ck)); /* stored as computed, like DPDK does */
		put16(ip + 20 + 4, (uint16_t)(len - RTE_ETHER_HDR_LEN - 20));
	} else {
		uint8_t *ip = b + RTE_ETHER_HDR_LEN;

		put16(ip + 4, (uint16_t)(len - RTE_ETHER_HDR_LEN - 40));
		put16(ip + 40 + 4, (uint16_t)(len - RTE_ETHER_HDR_LEN - 40));
	}
}

/* Insert @p n bytes at @p at. */
static void
insert(uint8_t *b, uint32_t *len, uint32_t at, const uint8_t *d, uint32_t n)
{
	memmove(b + at + n, b + at, *len - at);
	memcpy(b + at, d, n);
	*len += n;
}

/* The tag as the header documents it, computed with libsodium directly. */
static void
tag_ref(const uint8_t *b, uint32_t gen, uint32_t tag, uint32_t end, const uint8_t *key,
	uint8_t out[TAG_LEN])
{
	uint8_t tmp[FRAME_MAX];

	memcpy(tmp, b + gen, end - gen);
	memset(tmp + (tag - gen), 0, TAG_LEN);
	crypto_generichash(out, TAG_LEN, tmp, end - gen, key, UDPMIG_TUN_KEY_LEN);
}

/* Parse flat bytes; *verified (if not NULL) is udpmig_tun_verify() with key_a on OK. */
static enum udpmig_tun_err
parse_bytes(const uint8_t *b, uint32_t len, struct udpmig_tun_parsed *p, bool *verified)
{
	struct udpmig_tun_parsed tmp;
	struct rte_mbuf *m = mbuf_of(b, len, NULL, 0);
	enum udpmig_tun_err rc;

	if (p == NULL)
		p = &tmp;
	CU_ASSERT_FATAL(m != NULL);
	rc = udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, p);
	if (verified != NULL)
		*verified = rc == UDPMIG_TUN_OK && udpmig_tun_verify(m, p, key_a);
	rte_pktmbuf_free(m);
	return rc;
}

static bool
parsed_equal(const struct udpmig_tun_parsed *a, const struct udpmig_tun_parsed *b)
{
	return a->msg.vni == b->msg.vni && a->msg.session == b->msg.session &&
		a->msg.type == b->msg.type && a->msg.flags == b->msg.flags &&
		a->msg.seq == b->msg.seq && a->family == b->family &&
		memcmp(a->src_ip, b->src_ip, 16) == 0 && a->src_port == b->src_port &&
		rte_is_same_ether_addr(&a->src_mac, &b->src_mac) &&
		a->geneve_off == b->geneve_off && a->tag_off == b->tag_off &&
		a->payload_off == b->payload_off && a->payload_len == b->payload_len &&
		a->n_sack == b->n_sack;
}

/* --- error contract ---------------------------------------------------------- */

static void
test_create_errors(void)
{
	static const struct udpmig_tun_tx_conf bad[] = {
		{ .window = 0, .rto_ns = 1000000, .rto_max_ns = 16000000 },
		{ .window = 1, .rto_ns = 1000000, .rto_max_ns = 16000000 },
		{ .window = 3, .rto_ns = 1000000, .rto_max_ns = 16000000 },
		{ .window = 1000, .rto_ns = 1000000, .rto_max_ns = 16000000 },
		{ .window = 131072, .rto_ns = 1000000, .rto_max_ns = 16000000 },
		{ .window = 1024, .rto_ns = 0, .rto_max_ns = 16000000 },
		{ .window = 1024, .rto_ns = 1000000, .rto_max_ns = 999999 },
	};
	static const uint32_t bad_rx[] = { 0, 1, 3, 1000, 131072 };
	struct udpmig_tun_tx_conf ok = { .window = 2, .rto_ns = 1, .rto_max_ns = 1 };
	struct udpmig_tun_tx *tx;
	struct udpmig_tun_rx *rx;
	unsigned int i;

	rte_errno = 0;
	CU_ASSERT(udpmig_tun_tx_create("t", NULL, SOCKET_ID_ANY) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	for (i = 0; i < RTE_DIM(bad); i++) {
		rte_errno = 0;
		CU_ASSERT(udpmig_tun_tx_create("t", &bad[i], SOCKET_ID_ANY) == NULL);
		CU_ASSERT(rte_errno == EINVAL);
	}
	for (i = 0; i < RTE_DIM(bad_rx); i++) {
		rte_errno = 0;
		CU_ASSERT(udpmig_tun_rx_create("r", bad_rx[i], SOCKET_ID_ANY) == NULL);
		CU_ASSERT(rte_errno == EINVAL);
	}
	/* The limits themselves are fine; NULL names too; free takes NULL. */
	tx = udpmig_tun_tx_create(NULL, &ok, SOCKET_ID_ANY);
	CU_ASSERT(tx != NULL);
	udpmig_tun_tx_free(tx);
	ok.window = UDPMIG_TUN_WINDOW_MAX;
	tx = udpmig_tun_tx_create("t", &ok, SOCKET_ID_ANY);
	CU_ASSERT(tx != NULL && udpmig_tun_tx_space(tx) == UDPMIG_TUN_WINDOW_MAX);
	udpmig_tun_tx_free(tx);
	rx = udpmig_tun_rx_create(NULL, 2, SOCKET_ID_ANY);
	CU_ASSERT(rx != NULL);
	udpmig_tun_rx_free(rx);
	rx = udpmig_tun_rx_create("r", UDPMIG_TUN_WINDOW_MAX, SOCKET_ID_ANY);
	CU_ASSERT(rx != NULL);
	udpmig_tun_rx_free(rx);
	udpmig_tun_tx_free(NULL);
	udpmig_tun_rx_free(NULL);
	pools_full();
}

static void
test_encap_errors(void)
{
	struct udpmig_tun_path path = path_of(AF_INET);
	struct udpmig_tun_range r[UDPMIG_TUN_SACK_MAX + 1];
	struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 1);
	struct udpmig_tun_msg ack = msg_of(UDPMIG_TUN_ACK, 0, 1);
	struct udpmig_tun_msg end = msg_of(UDPMIG_TUN_END, 0, 1);
	struct rte_mbuf *inner = frame_new(60, 1, 2048);
	unsigned int i;

	CU_ASSERT_FATAL(inner != NULL);
	for (i = 0; i < RTE_DIM(r); i++) {
		r[i].start = 10 * i + 2;
		r[i].end = 10 * i + 5;
	}
	/* 9 ranges, DATA without a frame, a frame or ranges on the wrong type, bad family. */
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(pool, &path, &ack, NULL, r, 9, key_a) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(pool, &path, &data, NULL, NULL, 0, key_a) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(pool, &path, &ack, inner, NULL, 0, key_a) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(pool, &path, &data, inner, r, 1, key_a) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(pool, &path, &end, NULL, r, 1, key_a) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(pool, &path, &ack, NULL, NULL, 1, key_a) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	path.family = AF_UNIX;
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(pool, &path, &end, NULL, NULL, 0, key_a) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	rte_pktmbuf_free(inner);
	pools_full();
}

/* A pool whose data room is too small: EMSGSIZE, the mbuf goes back. An empty pool: ENOMEM. */
static void
test_encap_no_room(void)
{
	struct udpmig_tun_path path = path_of(AF_INET6);
	struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 7);
	struct udpmig_tun_msg end = msg_of(UDPMIG_TUN_END, 0, 7);
	struct rte_mbuf *inner = frame_new(1400, 2, 2048), *m;
	struct rte_mbuf *all[SMALL_SIZE];
	unsigned int i;

	CU_ASSERT_FATAL(inner != NULL);
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(small_pool, &path, &data, inner, NULL, 0, key_a) == NULL);
	CU_ASSERT(rte_errno == EMSGSIZE);
	CU_ASSERT(rte_mempool_avail_count(small_pool) == SMALL_SIZE);
	/* A control message fits the small pool. */
	m = udpmig_tun_encap(small_pool, &path, &end, NULL, NULL, 0, key_a);
	CU_ASSERT(m != NULL);
	rte_pktmbuf_free(m);
	/* Nothing left in the pool. */
	CU_ASSERT_FATAL(rte_pktmbuf_alloc_bulk(small_pool, all, SMALL_SIZE) == 0);
	rte_errno = 0;
	CU_ASSERT(udpmig_tun_encap(small_pool, &path, &end, NULL, NULL, 0, key_a) == NULL);
	CU_ASSERT(rte_errno == ENOMEM);
	for (i = 0; i < SMALL_SIZE; i++)
		rte_pktmbuf_free(all[i]);
	rte_pktmbuf_free(inner);
	pools_full();
}

/* --- codec: round trips ------------------------------------------------------- */

static void
roundtrip_data(int family)
{
	static const uint32_t lens[] = { 60, 1400 };
	struct udpmig_tun_path path = path_of(family);
	struct layout l = layout_of(family);
	unsigned int i;

	for (i = 0; i < RTE_DIM(lens); i++) {
		struct udpmig_tun_msg msg =
			msg_of(UDPMIG_TUN_DATA, UDPMIG_TUN_F_RESUMED, (1ull << 40) + 5);
		/* The inner frame in segments of 500 bytes: encap gathers them. */
		struct rte_mbuf *inner = frame_new(lens[i], (uint8_t)(0x11 * (i + 1)), 500);
		struct udpmig_tun_parsed p;
		uint8_t b[FRAME_MAX], tag[TAG_LEN];
		struct rte_mbuf *m;
		uint32_t len, k;

		CU_ASSERT_FATAL(inner != NULL);
		m = udpmig_tun_encap(pool, &path, &msg, inner, NULL, 0, key_a);
		CU_ASSERT_FATAL(m != NULL);
		CU_ASSERT(m->nb_segs == 1);
		len = bytes_of(m, b);
		CU_ASSERT(len == l.pay + lens[i]);
		CU_ASSERT(udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &p) == UDPMIG_TUN_OK);
		CU_ASSERT(p.msg.vni == 0xABCDEF);
		CU_ASSERT(p.msg.session == 0xC0FFEE01);
		CU_ASSERT(p.msg.type == UDPMIG_TUN_DATA);
		CU_ASSERT(p.msg.flags == UDPMIG_TUN_F_RESUMED);
		CU_ASSERT(p.msg.seq == (1ull << 40) + 5);
		CU_ASSERT(p.family == family);
		CU_ASSERT(memcmp(p.src_ip, path.src_ip, family == AF_INET ? 4 : 16) == 0);
		CU_ASSERT(p.src_port == 49157);
		CU_ASSERT(rte_is_same_ether_addr(&p.src_mac, &path.src_mac));
		CU_ASSERT(p.geneve_off == l.gen);
		CU_ASSERT(p.tag_off == l.tag);
		CU_ASSERT(p.payload_off == l.pay);
		CU_ASSERT(p.payload_len == lens[i]);
		CU_ASSERT(p.n_sack == 0);
		CU_ASSERT(udpmig_tun_verify(m, &p, key_a));
		CU_ASSERT(!udpmig_tun_verify(m, &p, key_b));
		for (k = 0; k < lens[i]; k++)
			if (b[l.pay + k] != pattern(k, (uint8_t)(0x11 * (i + 1))))
				break;
		CU_ASSERT(k == lens[i]);

		/* The wire bytes, as udpmig_tun_wire.h describes them. */
		CU_ASSERT(memcmp(b, path.dst_mac.addr_bytes, 6) == 0);
		CU_ASSERT(memcmp(b + 6, path.src_mac.addr_bytes, 6) == 0);
		CU_ASSERT(b[l.l4 + 2] == 0x17 && b[l.l4 + 3] == 0xc1); /* 6081 */
		CU_ASSERT((uint32_t)(b[l.l4 + 4] << 8 | b[l.l4 + 5]) == len - l.l4);
		CU_ASSERT(b[l.gen] == 9); /* version 0, 9 words */
		CU_ASSERT(b[l.gen + 1] == UDPMIG_GENEVE_F_C); /* C, not O */
		CU_ASSERT(b[l.gen + 2] == 0x65 && b[l.gen + 3] == 0x58);
		CU_ASSERT(b[l.gen + 4] == 0xAB && b[l.gen + 5] == 0xCD && b[l.gen + 6] == 0xEF);
		CU_ASSERT(b[l.gen + 7] == 0);
		CU_ASSERT(b[l.opt] == 0xFF && b[l.opt + 1] == 0x75);
		CU_ASSERT(b[l.opt + 2] == 0x81 && b[l.opt + 3] == 8);
		tag_ref(b, l.gen, l.tag, len, key_a, tag);
		CU_ASSERT(memcmp(tag, b + l.tag, TAG_LEN) == 0);

		if (family == AF_INET) {
			struct rte_ipv4_hdr *ip =
				rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l.l3);
			struct rte_ipv4_hdr copy = *ip;

			CU_ASSERT(rte_ipv4_cksum(ip) == 0);
			copy.hdr_checksum = 0;
			CU_ASSERT(rte_ipv4_cksum(&copy) == ip->hdr_checksum);
			CU_ASSERT(rte_be_to_cpu_16(ip->total_length) == len - l.l3);
			CU_ASSERT(rte_be_to_cpu_16(ip->fragment_offset) == RTE_IPV4_HDR_DF_FLAG);
		} else {
			struct rte_ipv6_hdr *ip =
				rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, l.l3);
			struct rte_udp_hdr *udp =
				rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, l.l4);

			CU_ASSERT(udp->dgram_cksum != 0);
			CU_ASSERT(rte_ipv6_udptcp_cksum_verify(ip, udp) == 0);
			CU_ASSERT(rte_be_to_cpu_16(ip->payload_len) == len - l.l4);
		}
		rte_pktmbuf_free(m);
		rte_pktmbuf_free(inner);
	}
}

static void
test_roundtrip_data(void)
{
	roundtrip_data(AF_INET);
	roundtrip_data(AF_INET6);
	pools_full();
}

static void
test_roundtrip_control(void)
{
	static const uint16_t counts[] = { 0, 1, 8 };
	static const int fams[] = { AF_INET, AF_INET6 };
	struct udpmig_tun_range r[UDPMIG_TUN_SACK_MAX], out[UDPMIG_TUN_SACK_MAX + 1];
	unsigned int f, c, i;

	for (i = 0; i < UDPMIG_TUN_SACK_MAX; i++) {
		r[i].start = (1ull << 33) + 100 * i + 3;
		r[i].end = r[i].start + 7 + i;
	}
	for (f = 0; f < RTE_DIM(fams); f++) {
		struct udpmig_tun_path path = path_of(fams[f]);
		struct layout l = layout_of(fams[f]);
		uint8_t types[] = { UDPMIG_TUN_END, UDPMIG_TUN_ABORT, UDPMIG_TUN_HELLO };

		for (c = 0; c < RTE_DIM(counts); c++) {
			struct udpmig_tun_msg msg = msg_of(UDPMIG_TUN_ACK,
				UDPMIG_TUN_F_RESUMED | UDPMIG_TUN_F_END_SEEN, 1ull << 33);
			struct udpmig_tun_parsed p;
			struct rte_mbuf *m =
				udpmig_tun_encap(pool, &path, &msg, NULL, r, counts[c], key_a);

			CU_ASSERT_FATAL(m != NULL);
			CU_ASSERT(udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &p) == UDPMIG_TUN_OK);
			CU_ASSERT(p.msg.type == UDPMIG_TUN_ACK);
			CU_ASSERT(p.msg.flags == (UDPMIG_TUN_F_RESUMED | UDPMIG_TUN_F_END_SEEN));
			CU_ASSERT(p.msg.seq == 1ull << 33);
			CU_ASSERT(p.msg.vni == 0xABCDEF && p.msg.session == 0xC0FFEE01);
			CU_ASSERT(p.n_sack == counts[c]);
			CU_ASSERT(p.payload_off == l.pay);
			CU_ASSERT(p.payload_len == 16u * counts[c]);
			CU_ASSERT(udpmig_tun_verify(m, &p, key_a));
			CU_ASSERT(*rte_pktmbuf_mtod_offset(m, uint8_t *, l.gen + 1) ==
				(UDPMIG_GENEVE_F_O | UDPMIG_GENEVE_F_C));
			memset(out, 0, sizeof(out));
			CU_ASSERT(udpmig_tun_sack_read(m, &p, out, RTE_DIM(out)) == counts[c]);
			CU_ASSERT(memcmp(out, r, counts[c] * sizeof(r[0])) == 0);
			/* Room for fewer: the first ones. */
			if (counts[c] > 3) {
				CU_ASSERT(udpmig_tun_sack_read(m, &p, out, 3) == 3);
				CU_ASSERT(memcmp(out, r, 3 * sizeof(r[0])) == 0);
			}
			rte_pktmbuf_free(m);
		}
		for (i = 0; i < RTE_DIM(types); i++) {
			struct udpmig_tun_msg msg = msg_of(types[i], 0, 20000);
			struct udpmig_tun_parsed p;
			struct rte_mbuf *m =
				udpmig_tun_encap(pool, &path, &msg, NULL, NULL, 0, key_a);

			CU_ASSERT_FATAL(m != NULL);
			CU_ASSERT(rte_pktmbuf_pkt_len(m) == l.pay);
			CU_ASSERT(udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &p) == UDPMIG_TUN_OK);
			CU_ASSERT(p.msg.type == types[i] && p.msg.seq == 20000 && p.msg.flags == 0);
			CU_ASSERT(p.payload_len == 0 && p.n_sack == 0);
			CU_ASSERT(udpmig_tun_verify(m, &p, key_a));
			CU_ASSERT(!udpmig_tun_verify(m, &p, key_b));
			CU_ASSERT(*rte_pktmbuf_mtod_offset(m, uint8_t *, l.gen + 1) ==
				(UDPMIG_GENEVE_F_O | UDPMIG_GENEVE_F_C));
			CU_ASSERT(udpmig_tun_sack_read(m, &p, out, RTE_DIM(out)) == 0);
			rte_pktmbuf_free(m);
		}
	}
	pools_full();
}

/* An ACK may carry an empty or inverted range: sack_read drops it. */
static void
test_sack_read_drops_malformed(void)
{
	struct udpmig_tun_range r[3] = { { 5, 9 }, { 12, 12 }, { 20, 15 } };
	struct udpmig_tun_range out[3];
	struct udpmig_tun_msg msg = msg_of(UDPMIG_TUN_ACK, 0, 4);
	struct udpmig_tun_path path = path_of(AF_INET);
	struct udpmig_tun_parsed p;
	struct rte_mbuf *m = udpmig_tun_encap(pool, &path, &msg, NULL, r, 3, key_a);

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &p) == UDPMIG_TUN_OK);
	CU_ASSERT(p.n_sack == 3);
	CU_ASSERT(udpmig_tun_sack_read(m, &p, out, 3) == 1);
	CU_ASSERT(out[0].start == 5 && out[0].end == 9);
	rte_pktmbuf_free(m);
	pools_full();
}

/* --- codec: authentication ---------------------------------------------------- */

static void
flip_every_byte(int family, const struct udpmig_tun_msg *msg, uint32_t inner_len,
	const struct udpmig_tun_range *sack, uint16_t n_sack)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	struct layout l = layout_of(family);
	uint8_t b[FRAME_MAX], c[FRAME_MAX];
	struct udpmig_tun_parsed p;
	uint32_t len, off, refused = 0, forged = 0, caught = 0;
	unsigned int i;
	bool ok;

	len = encap_bytes(family, msg, inner_len, sack, n_sack, b);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT(parse_bytes(b, len, &p, &ok) == UDPMIG_TUN_OK);
	CU_ASSERT(ok);
	for (off = l.gen; off < len; off++) {
		for (i = 0; i < RTE_DIM(masks); i++) {
			memcpy(c, b, len);
			c[off] ^= masks[i];
			if (parse_bytes(c, len, &p, &ok) != UDPMIG_TUN_OK) {
				refused++;
				continue;
			}
			caught += !ok;
			forged += ok;
		}
	}
	CU_ASSERT(forged == 0);
	CU_ASSERT(caught > 0);
	CU_ASSERT(caught + refused == (len - l.gen) * RTE_DIM(masks));
	/* Every tag byte: parsed fine, refused by verify. */
	for (off = l.tag; off < l.tag + TAG_LEN; off++) {
		memcpy(c, b, len);
		c[off] ^= 0x40;
		CU_ASSERT(parse_bytes(c, len, NULL, &ok) == UDPMIG_TUN_OK && !ok);
	}
}

static void
test_auth_every_byte(void)
{
	struct udpmig_tun_range r[3] = { { 10, 20 }, { 30, 31 }, { 40, 1ull << 50 } };
	struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 77);
	struct udpmig_tun_msg ack = msg_of(UDPMIG_TUN_ACK, UDPMIG_TUN_F_RESUMED, 9);
	struct udpmig_tun_msg end = msg_of(UDPMIG_TUN_END, 0, 77);

	flip_every_byte(AF_INET, &data, 60, NULL, 0);
	flip_every_byte(AF_INET6, &data, 1400, NULL, 0);
	flip_every_byte(AF_INET6, &ack, 0, r, 3);
	flip_every_byte(AF_INET, &end, 0, NULL, 0);
	pools_full();
}

/* The outer headers are not covered: rewriting them keeps the tag valid. */
static void
test_auth_outer_not_covered(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	unsigned int f;

	for (f = 0; f < RTE_DIM(fams); f++) {
		struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 3);
		struct layout l = layout_of(fams[f]);
		struct udpmig_tun_parsed p;
		uint8_t b[FRAME_MAX];
		uint32_t len = encap_bytes(fams[f], &data, 100, NULL, 0, b);
		bool ok;

		CU_ASSERT_FATAL(len > 0);
		/* Another source port (a NAT), source MAC and source address. */
		put16(b + l.l4, 40000);
		b[6] ^= 0x0c;
		b[l.l4 - 1] ^= 0x01; /* last byte of the destination address */
		b[l.l4 - (fams[f] == AF_INET ? 5 : 17)] ^= 0x01; /* of the source address */
		fix_outer(b, len);
		CU_ASSERT(parse_bytes(b, len, &p, &ok) == UDPMIG_TUN_OK);
		CU_ASSERT(ok);
		CU_ASSERT(p.src_port == 40000);
		CU_ASSERT(p.src_mac.addr_bytes[0] == (0x02 ^ 0x0c));
	}
	pools_full();
}

/* --- codec: refusals ---------------------------------------------------------- */

static void
truncate_all(int family, const struct udpmig_tun_msg *msg, uint32_t inner_len,
	const struct udpmig_tun_range *sack, uint16_t n_sack)
{
	uint8_t b[FRAME_MAX], c[FRAME_MAX];
	uint32_t len = encap_bytes(family, msg, inner_len, sack, n_sack, b), cut;
	struct layout l = layout_of(family);

	CU_ASSERT_FATAL(len > 0);
	for (cut = 0; cut <= len; cut++) {
		struct rte_mbuf *m = mbuf_of(b, len, NULL, 0);
		struct udpmig_tun_parsed p;
		enum udpmig_tun_err rc;
		bool ok;

		CU_ASSERT_FATAL(m != NULL);
		CU_ASSERT_FATAL(rte_pktmbuf_trim(m, (uint16_t)(len - cut)) == 0);
		rc = udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &p);
		if (cut < len) {
			CU_ASSERT(rc == UDPMIG_TUN_E_NOT_TUNNEL);
		} else {
			CU_ASSERT(rc == UDPMIG_TUN_OK && udpmig_tun_verify(m, &p, key_a));
		}
		rte_pktmbuf_free(m);

		/* The same, with the outer lengths claiming the shorter size. */
		if (cut < l.l4 + 8)
			continue;
		memcpy(c, b, cut);
		fix_outer(c, cut);
		rc = parse_bytes(c, cut, &p, &ok);
		if (cut < len) {
			CU_ASSERT(rc != UDPMIG_TUN_OK || !ok);
			CU_ASSERT(rc != UDPMIG_TUN_E_NOT_TUNNEL);
		} else {
			CU_ASSERT(rc == UDPMIG_TUN_OK && ok);
		}
		/* Cut short, only a DATA frame cut inside its inner frame still parses. */
		if (rc == UDPMIG_TUN_OK && cut < len)
			CU_ASSERT(msg->type == UDPMIG_TUN_DATA && cut >= l.pay + RTE_ETHER_HDR_LEN);
	}
}

static void
test_parse_truncated(void)
{
	struct udpmig_tun_range r[2] = { { 10, 20 }, { 30, 31 } };
	struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 77);
	struct udpmig_tun_msg ack = msg_of(UDPMIG_TUN_ACK, 0, 9);

	truncate_all(AF_INET, &data, 60, NULL, 0);
	truncate_all(AF_INET6, &data, 200, NULL, 0);
	truncate_all(AF_INET, &ack, 0, r, 2);
	truncate_all(AF_INET6, &ack, 0, r, 2);
	/* Nothing at all. */
	CU_ASSERT(parse_bytes((const uint8_t[1]){ 0 }, 0, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	pools_full();
}

static void
test_parse_not_tunnel(void)
{
	static const uint8_t vlan[4] = { 0x81, 0x00, 0x00, 0x05 };
	struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 1);
	struct layout l4 = layout_of(AF_INET), l6 = layout_of(AF_INET6);
	uint8_t b[FRAME_MAX], c[FRAME_MAX];
	struct rte_mbuf *m;
	struct udpmig_tun_parsed p;
	uint32_t len4, len6, len;

	len4 = encap_bytes(AF_INET, &data, 60, NULL, 0, b);
	CU_ASSERT_FATAL(len4 > 0);
	/* The reference itself is fine. */
	CU_ASSERT(parse_bytes(b, len4, NULL, NULL) == UDPMIG_TUN_OK);
	/* Another UDP port, asked for or on the wire. */
	m = mbuf_of(b, len4, NULL, 0);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(udpmig_tun_parse(m, 4789, &p) == UDPMIG_TUN_E_NOT_TUNNEL);
	rte_pktmbuf_free(m);
	memcpy(c, b, len4);
	put16(c + l4.l4 + 2, 4789);
	CU_ASSERT(parse_bytes(c, len4, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	/* TCP. */
	memcpy(c, b, len4);
	c[l4.l3 + 9] = IPPROTO_TCP;
	fix_outer(c, len4);
	CU_ASSERT(parse_bytes(c, len4, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	/* Fragments: more-fragments, or an offset. */
	memcpy(c, b, len4);
	put16(c + l4.l3 + 6, RTE_IPV4_HDR_MF_FLAG);
	fix_outer(c, len4);
	CU_ASSERT(parse_bytes(c, len4, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	memcpy(c, b, len4);
	put16(c + l4.l3 + 6, 0x0010);
	fix_outer(c, len4);
	CU_ASSERT(parse_bytes(c, len4, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	/* Not IPv4 in the version field; an IHL under 5. */
	memcpy(c, b, len4);
	c[l4.l3] = 0x65;
	CU_ASSERT(parse_bytes(c, len4, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	memcpy(c, b, len4);
	c[l4.l3] = 0x44;
	CU_ASSERT(parse_bytes(c, len4, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	/* VLAN-tagged. */
	memcpy(c, b, len4);
	len = len4;
	insert(c, &len, 12, vlan, sizeof(vlan));
	CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	/* ARP. */
	memcpy(c, b, len4);
	put16(c + 12, RTE_ETHER_TYPE_ARP);
	CU_ASSERT(parse_bytes(c, len4, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);

	len6 = encap_bytes(AF_INET6, &data, 60, NULL, 0, b);
	CU_ASSERT_FATAL(len6 > 0);
	CU_ASSERT(parse_bytes(b, len6, NULL, NULL) == UDPMIG_TUN_OK);
	/* IPv6: TCP, an extension header, another UDP port. */
	memcpy(c, b, len6);
	c[l6.l3 + 6] = IPPROTO_TCP;
	CU_ASSERT(parse_bytes(c, len6, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	memcpy(c, b, len6);
	c[l6.l3 + 6] = IPPROTO_FRAGMENT;
	CU_ASSERT(parse_bytes(c, len6, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	memcpy(c, b, len6);
	put16(c + l6.l4 + 2, 6082);
	CU_ASSERT(parse_bytes(c, len6, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	/* IPv6 payload length beyond the frame. */
	memcpy(c, b, len6);
	put16(c + l6.l3 + 4, (uint16_t)(len6 - l6.l4 + 1));
	CU_ASSERT(parse_bytes(c, len6, NULL, NULL) == UDPMIG_TUN_E_NOT_TUNNEL);
	pools_full();
}

static void
test_parse_malformed(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct udpmig_tun_range r[2] = { { 10, 20 }, { 30, 31 } };
	struct udpmig_tun_range r9[UDPMIG_TUN_SACK_MAX];
	unsigned int f;

	for (f = 0; f < RTE_DIM(r9); f++) {
		r9[f].start = 100 * f + 1;
		r9[f].end = 100 * f + 2;
	}
	for (f = 0; f < RTE_DIM(fams); f++) {
		struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 1);
		struct udpmig_tun_msg end = msg_of(UDPMIG_TUN_END, 0, 1);
		struct udpmig_tun_msg ack = msg_of(UDPMIG_TUN_ACK, 0, 1);
		struct layout l = layout_of(fams[f]);
		uint8_t b[FRAME_MAX], c[FRAME_MAX];
		uint32_t len, n;

		len = encap_bytes(fams[f], &data, 60, NULL, 0, b);
		CU_ASSERT_FATAL(len > 0);
		/* Geneve version 1, and 3. */
		memcpy(c, b, len);
		c[l.gen] |= 0x40;
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
		memcpy(c, b, len);
		c[l.gen] |= 0xc0;
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
		/* Another protocol. */
		memcpy(c, b, len);
		put16(c + l.gen + 2, RTE_ETHER_TYPE_IPV4);
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
		/* UDP length: beyond IP, below UDP + Geneve. */
		memcpy(c, b, len);
		put16(c + l.l4 + 4, (uint16_t)(len - l.l4 + 1));
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
		memcpy(c, b, len);
		put16(c + l.l4 + 4, 15);
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
		/* DATA shorter than an Ethernet header. */
		memcpy(c, b, len);
		fix_outer(c, l.pay + RTE_ETHER_HDR_LEN - 1);
		CU_ASSERT(parse_bytes(c, l.pay + RTE_ETHER_HDR_LEN - 1, NULL, NULL) ==
			UDPMIG_TUN_E_MALFORMED);

		len = encap_bytes(fams[f], &end, 0, NULL, 0, b);
		CU_ASSERT_FATAL(len > 0);
		/* Option length larger than the packet: 63 words, 10 words. */
		memcpy(c, b, len);
		c[l.gen] = 0x3f;
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
		memcpy(c, b, len);
		c[l.gen] = 10;
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
		/* The udpmig option's own length beyond the Geneve option length. */
		memcpy(c, b, len);
		c[l.gen] = 8;
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);

		len = encap_bytes(fams[f], &ack, 0, r, 2, b);
		CU_ASSERT_FATAL(len > 0);
		/* n_sack not matching the payload, or over the maximum. */
		for (n = 0; n <= 10; n++) {
			memcpy(c, b, len);
			put16(c + l.opt + 6, (uint16_t)n);
			CU_ASSERT(parse_bytes(c, len, NULL, NULL) ==
				(n == 2 ? UDPMIG_TUN_OK : UDPMIG_TUN_E_MALFORMED));
		}
		memcpy(c, b, len);
		put16(c + l.opt + 6, 0xffff);
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
		/* Nine ranges, consistent with the payload: over the maximum. */
		len = encap_bytes(fams[f], &ack, 0, r9, UDPMIG_TUN_SACK_MAX, b);
		CU_ASSERT_FATAL(len > 0);
		CU_ASSERT(parse_bytes(b, len, NULL, NULL) == UDPMIG_TUN_OK);
		insert(b, &len, len, b + l.pay, 16);
		put16(b + l.opt + 6, UDPMIG_TUN_SACK_MAX + 1);
		fix_outer(b, len);
		CU_ASSERT(parse_bytes(b, len, NULL, NULL) == UDPMIG_TUN_E_MALFORMED);
	}
	pools_full();
}

static void
test_parse_options(void)
{
	static const uint8_t crit[4] = { 0x01, 0x02, 0x80, 0x00 };
	static const uint8_t noncrit[8] = { 0x01, 0x02, 0x05, 0x01, 0xde, 0xad, 0xbe, 0xef };
	static const int fams[] = { AF_INET, AF_INET6 };
	unsigned int f;

	for (f = 0; f < RTE_DIM(fams); f++) {
		struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 42);
		struct layout l = layout_of(fams[f]);
		struct udpmig_tun_parsed p, ref;
		uint8_t b[FRAME_MAX], c[FRAME_MAX], tag[TAG_LEN];
		uint32_t len, clen, k;
		bool ok;

		len = encap_bytes(fams[f], &data, 60, NULL, 0, b);
		CU_ASSERT_FATAL(len > 0);
		CU_ASSERT(parse_bytes(b, len, &ref, NULL) == UDPMIG_TUN_OK);
		/* Missing: another class (non-critical type), or no options at all. */
		memcpy(c, b, len);
		c[l.opt + 1] = 0x76;
		c[l.opt + 2] = 0x01;
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_OPTION);
		memcpy(c, b, len);
		c[l.opt + 2] = 0x82; /* ours, another (critical) type */
		CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_OPTION);
		memcpy(c, b, l.gen + 8);
		memcpy(c + l.gen + 8, b + l.pay, len - l.pay);
		clen = len - 36;
		c[l.gen] = 0;
		fix_outer(c, clen);
		CU_ASSERT(parse_bytes(c, clen, NULL, NULL) == UDPMIG_TUN_E_OPTION);
		/* Ours with another length (and the Geneve length to match). */
		memcpy(c, b, len);
		clen = len;
		insert(c, &clen, l.pay, crit, 4); /* 4 more option bytes */
		c[l.gen] = 10;
		c[l.opt + 3] = 9;
		fix_outer(c, clen);
		CU_ASSERT(parse_bytes(c, clen, NULL, NULL) == UDPMIG_TUN_E_OPTION);
		/* Ours twice. */
		memcpy(c, b, len);
		clen = len;
		insert(c, &clen, l.opt, b + l.opt, 36);
		c[l.gen] = 18;
		fix_outer(c, clen);
		CU_ASSERT(parse_bytes(c, clen, NULL, NULL) == UDPMIG_TUN_E_OPTION);
		/* An unknown critical option, before or after ours. */
		memcpy(c, b, len);
		clen = len;
		insert(c, &clen, l.opt, crit, sizeof(crit));
		c[l.gen] = 10;
		fix_outer(c, clen);
		CU_ASSERT(parse_bytes(c, clen, NULL, NULL) == UDPMIG_TUN_E_OPTION);
		memcpy(c, b, len);
		clen = len;
		insert(c, &clen, l.pay, crit, sizeof(crit));
		c[l.gen] = 10;
		fix_outer(c, clen);
		CU_ASSERT(parse_bytes(c, clen, NULL, NULL) == UDPMIG_TUN_E_OPTION);
		/* An unknown non-critical option before ours is skipped. */
		memcpy(c, b, len);
		clen = len;
		insert(c, &clen, l.opt, noncrit, sizeof(noncrit));
		c[l.gen] = 11;
		fix_outer(c, clen);
		CU_ASSERT(parse_bytes(c, clen, &p, &ok) == UDPMIG_TUN_OK);
		CU_ASSERT(p.msg.seq == 42 && p.msg.type == UDPMIG_TUN_DATA);
		CU_ASSERT(p.tag_off == l.tag + 8 && p.payload_off == l.pay + 8);
		CU_ASSERT(p.payload_len == 60);
		for (k = 0; k < 60; k++)
			if (c[p.payload_off + k] != b[l.pay + k])
				break;
		CU_ASSERT(k == 60);
		/* It is covered by the tag: the original one fails, a new one passes. */
		CU_ASSERT(!ok);
		tag_ref(c, p.geneve_off, p.tag_off, clen, key_a, tag);
		memcpy(c + p.tag_off, tag, TAG_LEN);
		CU_ASSERT(parse_bytes(c, clen, NULL, &ok) == UDPMIG_TUN_OK && ok);
		/* After ours, too. */
		memcpy(c, b, len);
		clen = len;
		insert(c, &clen, l.pay, noncrit, sizeof(noncrit));
		c[l.gen] = 11;
		fix_outer(c, clen);
		CU_ASSERT(parse_bytes(c, clen, &p, NULL) == UDPMIG_TUN_OK);
		CU_ASSERT(p.tag_off == l.tag && p.payload_off == l.pay + 8);
		/* Message types: 0, 6, 9, 255. */
		for (k = 0; k < 4; k++) {
			static const uint8_t bad[] = { 0, 6, 9, 255 };

			memcpy(c, b, len);
			c[l.opt + 4] = bad[k];
			CU_ASSERT(parse_bytes(c, len, NULL, NULL) == UDPMIG_TUN_E_MSG);
		}
	}
	pools_full();
}

/* A frame split over 3 chained mbufs parses and verifies like the flat one. */
static void
test_parse_chained(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct udpmig_tun_range r[8];
	unsigned int f, i;

	for (i = 0; i < RTE_DIM(r); i++) {
		r[i].start = 1000 + 10 * i;
		r[i].end = r[i].start + 5;
	}
	for (f = 0; f < RTE_DIM(fams); f++) {
		struct udpmig_tun_msg data = msg_of(UDPMIG_TUN_DATA, 0, 1ull << 40);
		struct udpmig_tun_msg ack = msg_of(UDPMIG_TUN_ACK, 0, 999);
		struct layout l = layout_of(fams[f]);
		/* Cuts: in the UDP header and the tag; in Geneve and the payload; odd spots. */
		const uint32_t cuts[][2] = {
			{ l.l4 + 3, l.tag + 5 },
			{ l.gen + 1, l.pay + 700 },
			{ 1, l.opt + 35 },
			{ l.tag, l.tag + TAG_LEN },
		};
		struct udpmig_tun_range out[8];
		uint8_t b[FRAME_MAX], a[FRAME_MAX];
		uint32_t len, alen, k;

		len = encap_bytes(fams[f], &data, 1400, NULL, 0, b);
		alen = encap_bytes(fams[f], &ack, 0, r, 8, a);
		CU_ASSERT_FATAL(len > 0 && alen > 0);
		for (i = 0; i < RTE_DIM(cuts); i++) {
			struct udpmig_tun_parsed pf, pc;
			struct rte_mbuf *flat = mbuf_of(b, len, NULL, 0);
			struct rte_mbuf *m = mbuf_of(b, len, cuts[i], 2);
			uint8_t pay[FRAME_MAX];
			const uint8_t *pp;

			CU_ASSERT_FATAL(flat != NULL && m != NULL);
			CU_ASSERT(m->nb_segs == 3);
			CU_ASSERT(
				udpmig_tun_parse(flat, UDPMIG_TUN_UDP_PORT, &pf) == UDPMIG_TUN_OK);
			CU_ASSERT(udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &pc) == UDPMIG_TUN_OK);
			CU_ASSERT(parsed_equal(&pf, &pc));
			CU_ASSERT(udpmig_tun_verify(m, &pc, key_a));
			CU_ASSERT(!udpmig_tun_verify(m, &pc, key_b));
			pp = rte_pktmbuf_read(m, pc.payload_off, pc.payload_len, pay);
			CU_ASSERT_FATAL(pp != NULL);
			CU_ASSERT(memcmp(pp, b + l.pay, 1400) == 0);
			/* A flipped byte in the last segment still fails. */
			*rte_pktmbuf_mtod_offset(rte_pktmbuf_lastseg(m), uint8_t *, 0) ^= 1;
			CU_ASSERT(!udpmig_tun_verify(m, &pc, key_a));
			rte_pktmbuf_free(flat);
			rte_pktmbuf_free(m);

			/* An ACK split inside its ranges. */
			if (cuts[i][1] >= alen)
				continue;
			m = mbuf_of(a, alen, cuts[i], 2);
			CU_ASSERT_FATAL(m != NULL);
			CU_ASSERT(udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &pc) == UDPMIG_TUN_OK);
			CU_ASSERT(udpmig_tun_verify(m, &pc, key_a));
			CU_ASSERT(udpmig_tun_sack_read(m, &pc, out, 8) == 8);
			for (k = 0; k < 8; k++)
				CU_ASSERT(out[k].start == r[k].start && out[k].end == r[k].end);
			rte_pktmbuf_free(m);
		}
		/* Split in the middle of a range. */
		{
			const uint32_t c2[2] = { l.pay + 3, l.pay + 16 * 5 + 9 };
			struct rte_mbuf *m = mbuf_of(a, alen, c2, 2);
			struct udpmig_tun_parsed pc;

			CU_ASSERT_FATAL(m != NULL);
			CU_ASSERT(udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &pc) == UDPMIG_TUN_OK);
			CU_ASSERT(udpmig_tun_verify(m, &pc, key_a));
			CU_ASSERT(udpmig_tun_sack_read(m, &pc, out, 8) == 8);
			CU_ASSERT(memcmp(out, r, sizeof(r)) == 0);
			rte_pktmbuf_free(m);
		}
	}
	pools_full();
}

/* --- sender and receiver, alone ------------------------------------------------ */

/* A 64-byte packet whose first 8 bytes hold @p n. */
static struct rte_mbuf *
pkt_new(uint64_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *d;

	if (m == NULL)
		return NULL;
	d = (uint8_t *)rte_pktmbuf_append(m, 64);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(d, 0xee, 64);
	memcpy(d, &n, sizeof(n));
	return m;
}

static uint64_t
pkt_num(const struct rte_mbuf *m)
{
	uint64_t n;

	memcpy(&n, rte_pktmbuf_mtod(m, const uint8_t *), sizeof(n));
	return n;
}

/* A sender; with a keep store of @keep_bytes (rebuilt from @mp) unless 0. */
static struct udpmig_tun_tx *
tx_new_keep(uint32_t window, uint64_t keep_bytes, struct rte_mempool *mp)
{
	struct udpmig_tun_tx_conf c = {
		.window = window,
		.rto_ns = 1000000,
		.rto_max_ns = 16000000,
		.keep_bytes = keep_bytes,
		.keep_pool = mp,
	};

	return udpmig_tun_tx_create("ut_tx", &c, SOCKET_ID_ANY);
}

static struct udpmig_tun_tx *
tx_new(uint32_t window)
{
	return tx_new_keep(window, 0, NULL);
}

/* Push packets first.. whose first dynamic field says so too (a keep store carries it). */
static void
push_n(struct udpmig_tun_tx *tx, uint64_t first, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkt_new(first + i);

		CU_ASSERT_FATAL(m != NULL);
		m->dynfield1[0] = (uint32_t)(first + i) ^ 0x5a5a;
		CU_ASSERT_FATAL(udpmig_tun_tx_push(tx, &m, 1) == 1);
	}
}

static void
test_tx_push_space(void)
{
	struct udpmig_tun_tx *tx = tx_new(4);
	struct rte_mbuf *m[10];
	uint32_t i, n;

	CU_ASSERT_FATAL(tx != NULL);
	CU_ASSERT(udpmig_tun_tx_space(tx) == 4 && udpmig_tun_tx_held(tx) == 0);
	CU_ASSERT(udpmig_tun_tx_next_seq(tx) == 0);
	for (i = 0; i < RTE_DIM(m); i++) {
		m[i] = pkt_new(i);
		CU_ASSERT_FATAL(m[i] != NULL);
	}
	n = udpmig_tun_tx_push(tx, m, 3);
	CU_ASSERT(n == 3);
	CU_ASSERT(udpmig_tun_tx_space(tx) == 1 && udpmig_tun_tx_held(tx) == 3);
	/* A prefix of what fits. */
	n = udpmig_tun_tx_push(tx, m + 3, 7);
	CU_ASSERT(n == 1);
	CU_ASSERT(udpmig_tun_tx_space(tx) == 0 && udpmig_tun_tx_held(tx) == 4);
	CU_ASSERT(udpmig_tun_tx_push(tx, m + 4, 6) == 0);
	CU_ASSERT(udpmig_tun_tx_next_seq(tx) == 4);
	for (i = 4; i < RTE_DIM(m); i++)
		rte_pktmbuf_free(m[i]);
	/* free takes the held ones. */
	udpmig_tun_tx_free(tx);
	pools_full();
}

static void
test_tx_due_unsent(void)
{
	struct udpmig_tun_tx *tx = tx_new(8);
	struct udpmig_tun_tx_stats st;
	struct rte_mbuf *p[8], *first[8];
	uint64_t seq[8], t = 1000;
	uint32_t k, i;

	CU_ASSERT_FATAL(tx != NULL);
	push_n(tx, 0, 5);
	k = udpmig_tun_tx_due(tx, t, seq, p, 8);
	CU_ASSERT(k == 5);
	for (i = 0; i < k; i++) {
		CU_ASSERT(seq[i] == i && pkt_num(p[i]) == i);
		first[i] = p[i];
	}
	/* The last two were not sent: due again, same numbers, same packets. */
	udpmig_tun_tx_unsent(tx, 2);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.sent == 3);
	k = udpmig_tun_tx_due(tx, t, seq, p, 8);
	CU_ASSERT(k == 2 && seq[0] == 3 && seq[1] == 4);
	CU_ASSERT(p[0] == first[3] && p[1] == first[4]);
	/* Nothing more is due before the timeout. */
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 10, seq, p, 8) == 0);
	/* A due call limited by n, then part of the next one not sent. */
	push_n(tx, 5, 3);
	k = udpmig_tun_tx_due(tx, t, seq, p, 1);
	CU_ASSERT(k == 1 && seq[0] == 5);
	k = udpmig_tun_tx_due(tx, t, seq, p, 8);
	CU_ASSERT(k == 2 && seq[0] == 6 && seq[1] == 7);
	udpmig_tun_tx_unsent(tx, 1);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.pushed == 8 && st.sent == 7 && st.retransmits == 0);
	k = udpmig_tun_tx_due(tx, t, seq, p, 8);
	CU_ASSERT(k == 1 && seq[0] == 7 && pkt_num(p[0]) == 7);
	/* Timeout: everything outstanding again, oldest first. */
	k = udpmig_tun_tx_due(tx, t + 1000000, seq, p, 8);
	CU_ASSERT(k == 8);
	for (i = 0; i < k; i++)
		CU_ASSERT(seq[i] == i);
	for (i = 0; i < 5; i++)
		CU_ASSERT(p[i] == first[i]);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.retransmits == 8 && st.rto_rounds == 1 && st.sent == 8);
	/* The timeout doubled: nothing 1.5 ms after the round, all at 2 ms. */
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 2500000, seq, p, 8) == 0);
	k = udpmig_tun_tx_due(tx, t + 3000000, seq, p, 8);
	CU_ASSERT(k == 8 && seq[0] == 0 && seq[7] == 7);
	/* Progress resets the timeout (4 ms now) to 1 ms, from the ack. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 3500000, 1, NULL, 0) == 1);
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 4500000 - 1, seq, p, 8) == 0);
	k = udpmig_tun_tx_due(tx, t + 4500000, seq, p, 8);
	CU_ASSERT(k == 7 && seq[0] == 1 && seq[6] == 7);
	/* Unsent retransmissions are not counted (when they go again is not tested). */
	udpmig_tun_tx_unsent(tx, 3);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.retransmits == 8 + 8 + 4 && st.sent == 8);
	/* An ack of everything frees all; nothing is due any more. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 4500001, 8, NULL, 0) == 7);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0 && udpmig_tun_tx_space(tx) == 8);
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 90000000, seq, p, 8) == 0);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.acked == 8 && st.rto_rounds == 3);
	udpmig_tun_tx_free(tx);
	pools_full();
}

/*
 * The timeout follows the round trip of packets sent once (RFC 6298),
 * between conf.rto_ns (1 ms) and conf.rto_max_ns (16 ms); a retransmitted
 * packet's ack gives no sample.
 */
static void
test_tx_rtt(void)
{
	const uint64_t ms = 1000000, t = 1000 * ms;
	struct udpmig_tun_tx *tx = tx_new(16);
	struct udpmig_tun_tx_stats st;
	struct rte_mbuf *p[16];
	uint64_t seq[16];

	CU_ASSERT_FATAL(tx != NULL);
	push_n(tx, 0, 4);
	CU_ASSERT(udpmig_tun_tx_due(tx, t, seq, p, 16) == 4);
	/* 3 ms round trip: srtt 3, rttvar 1.5, timeout 3 + 6 = 9 ms. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 3 * ms, 1, NULL, 0) == 1);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.rtt_samples == 1 && st.srtt_ns == 3 * ms && st.rto_ns == 9 * ms);
	/* No timeout round at 2x the old 1 ms, nor before 9 ms after the ack. */
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 5 * ms, seq, p, 16) == 0);
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 12 * ms - 1, seq, p, 16) == 0);
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 12 * ms, seq, p, 16) == 3);
	/* Their ack is of retransmitted packets: no sample; the timeout is 9 ms again. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 13 * ms, 4, NULL, 0) == 3);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.rtt_samples == 1 && st.rto_ns == 9 * ms && st.rto_rounds == 1);
	/* A long round trip is capped at rto_max_ns; a short one floors at rto_ns. */
	push_n(tx, 4, 2);
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 20 * ms, seq, p, 16) == 2);
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 60 * ms, 5, NULL, 0) == 1);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.rtt_samples == 2 && st.rto_ns == 16 * ms);
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 60 * ms, 6, NULL, 0) == 1);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.rtt_samples == 3 && st.rto_ns >= 1 * ms && st.rto_ns <= 16 * ms);
	udpmig_tun_tx_free(tx);

	/* Before any sample, the first timeout is rto_init_ns. */
	{
		struct udpmig_tun_tx_conf c = {
			.window = 16, .rto_ns = ms, .rto_max_ns = 16 * ms, .rto_init_ns = 5 * ms
		};

		tx = udpmig_tun_tx_create("ut_tx", &c, SOCKET_ID_ANY);
		CU_ASSERT_FATAL(tx != NULL);
		push_n(tx, 0, 2);
		CU_ASSERT(udpmig_tun_tx_due(tx, t, seq, p, 16) == 2);
		CU_ASSERT(udpmig_tun_tx_due(tx, t + 5 * ms - 1, seq, p, 16) == 0);
		CU_ASSERT(udpmig_tun_tx_due(tx, t + 5 * ms, seq, p, 16) == 2);
		udpmig_tun_tx_free(tx);
		/* Outside [rto_ns, rto_max_ns]: refused. */
		c.rto_init_ns = 17 * ms;
		CU_ASSERT(udpmig_tun_tx_create("ut_tx", &c, SOCKET_ID_ANY) == NULL &&
			rte_errno == EINVAL);
	}
	pools_full();
}

static void
test_tx_acks(void)
{
	struct udpmig_tun_tx *tx = tx_new(16);
	struct udpmig_tun_tx_stats st;
	struct udpmig_tun_range r[2];
	struct rte_mbuf *p[16];
	uint64_t seq[16], t = 5000000;
	uint32_t k;

	CU_ASSERT_FATAL(tx != NULL);
	push_n(tx, 0, 10);
	CU_ASSERT(udpmig_tun_tx_due(tx, t, seq, p, 6) == 6);
	/* Beyond what was sent (pushed is not sent): ignored, counted. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t, 7, NULL, 0) == 0);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.bad_acks == 1 && st.acked == 0);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 10);
	/* A cumulative ack of 2. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t, 2, NULL, 0) == 2);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 8 && udpmig_tun_tx_space(tx) == 8);
	/* Old acks change nothing. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t, 1, NULL, 0) == 0);
	CU_ASSERT(udpmig_tun_tx_ack(tx, t, 2, NULL, 0) == 0);
	/* A selective ack of [4, 6): released at once; a hole at 2, 3 resent (fast). */
	r[0].start = 4;
	r[0].end = 6;
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 300000, 2, r, 1) == 2);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 8); /* held until the cumulative ack */
	k = udpmig_tun_tx_due(tx, t + 300000, seq, p, 16);
	CU_ASSERT(k == 6);
	CU_ASSERT(seq[0] == 2 && seq[1] == 3 && seq[2] == 6 && seq[5] == 9);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.fast_rounds == 1 && st.retransmits == 2 && st.sent == 10);
	/* A range ending beyond what was sent: counted, the rest used. */
	r[0].start = 8;
	r[0].end = 12;
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 300001, 2, r, 1) == 2);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.bad_acks == 2);
	/* Pushed but not sent yet: a range over them frees nothing. */
	push_n(tx, 10, 4);
	r[0].start = 9;
	r[0].end = 14;
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 300002, 2, r, 1) == 0);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.bad_acks == 3);
	k = udpmig_tun_tx_due(tx, t + 300002, seq, p, 16);
	CU_ASSERT(k == 4 && seq[0] == 10 && seq[3] == 13);
	for (uint32_t i = 0; i < k; i++)
		CU_ASSERT(p[i] != NULL && pkt_num(p[i]) == 10 + i);
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 300003, 2, NULL, 0) == 0);
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 300004, 14, NULL, 0) == 8);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.acked == 14);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0);
	/* Empty and inverted ranges are harmless. */
	r[0].start = 5;
	r[0].end = 3;
	r[1].start = 0;
	r[1].end = 0;
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 400001, 14, r, 2) == 0);
	udpmig_tun_tx_free(tx);
	pools_full();
}

/* Retained: acked packets stay (and count against the window) until reclaimed or released. */
static void
test_tx_retain_reclaim(void)
{
	struct udpmig_tun_tx *tx = tx_new(8);
	struct udpmig_tun_tx_stats st;
	struct udpmig_tun_range r = { 4, 5 };
	struct rte_mbuf *p[8];
	uint64_t seq[8], t = 1000;
	uint32_t k, i;

	CU_ASSERT_FATAL(tx != NULL);
	udpmig_tun_tx_retain(tx, true);
	push_n(tx, 0, 6);
	CU_ASSERT(udpmig_tun_tx_due(tx, t, seq, p, 8) == 6);
	/* Acks release nothing, but they count. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 1, 3, NULL, 0) == 0);
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 1, 3, &r, 1) == 0);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.acked == 3);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 6 && udpmig_tun_tx_space(tx) == 2);
	/* Only what the peer lacks is sent again: 3 and 5, not 4. */
	k = udpmig_tun_tx_due(tx, t + 1 + 1000000, seq, p, 8);
	CU_ASSERT(k == 2 && seq[0] == 3 && seq[1] == 5);
	/* The channel is given up: everything back, in order, acked or not. */
	k = udpmig_tun_tx_reclaim(tx, p, 4);
	CU_ASSERT(k == 4);
	k += udpmig_tun_tx_reclaim(tx, p + 4, 8);
	CU_ASSERT(k == 6);
	CU_ASSERT(udpmig_tun_tx_reclaim(tx, p, 8) == 0);
	for (i = 0; i < k; i++) {
		CU_ASSERT(pkt_num(p[i]) == i);
		rte_pktmbuf_free(p[i]);
	}
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0 && udpmig_tun_tx_space(tx) == 8);
	/* Nothing outstanding any more: no retransmission, however long. */
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 100000000, seq, p, 8) == 0);
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 100000001, 6, &r, 1) == 0);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0);
	/* Reclaiming packets never sent: later pushes are sent, not stale ones. */
	push_n(tx, 6, 4);
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 100000002, seq, p, 1) == 1 && seq[0] == 6);
	k = udpmig_tun_tx_reclaim(tx, p, 8);
	CU_ASSERT(k == 4);
	for (i = 0; i < k; i++) {
		CU_ASSERT(pkt_num(p[i]) == 6 + i);
		rte_pktmbuf_free(p[i]);
	}
	CU_ASSERT(udpmig_tun_tx_due(tx, t + 200000000, seq, p, 8) == 0);
	push_n(tx, 10, 2);
	k = udpmig_tun_tx_due(tx, t + 200000001, seq, p, 8);
	CU_ASSERT(k == 2 && seq[0] == 10 && seq[1] == 11);
	CU_ASSERT(p[0] != NULL && pkt_num(p[0]) == 10);
	/* Released: what the peer acked goes at once. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 200000002, 11, NULL, 0) == 0);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 2);
	udpmig_tun_tx_retain(tx, false);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 1 && udpmig_tun_tx_space(tx) == 7);
	CU_ASSERT(rte_mempool_avail_count(pool) == POOL_SIZE - 1);
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 200000003, 12, NULL, 0) == 1);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0);
	udpmig_tun_tx_free(tx);
	pools_full();
}

/* Reclaim everything: @n packets, first.. in order, each with its dynamic field. */
static void
reclaim_check(struct udpmig_tun_tx *tx, uint64_t first, uint32_t n)
{
	struct rte_mbuf *p[32];
	uint32_t k = 0, got, i;

	while ((got = udpmig_tun_tx_reclaim(tx, p, RTE_DIM(p))) > 0) {
		for (i = 0; i < got; i++) {
			CU_ASSERT(pkt_num(p[i]) == first + k + i);
			CU_ASSERT(p[i]->pkt_len == 64);
			CU_ASSERT(p[i]->dynfield1[0] == ((uint32_t)(first + k + i) ^ 0x5a5a));
			rte_pktmbuf_free(p[i]);
		}
		k += got;
	}
	CU_ASSERT(k == n);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0);
}

#define KEEP_REC64 104 /* a 64-byte packet's record in the keep store */

/*
 * Retained with a keep store: acked packets leave the window for it (their
 * mbufs freed), so the stream goes on; once the store is full they wait
 * in the window as without one. Reclaimed in order, rebuilt with their
 * dynamic fields.
 */
static void
test_tx_keep(void)
{
	struct udpmig_tun_tx *tx = tx_new_keep(8, 5 * KEEP_REC64, pool);
	struct udpmig_tun_tx_stats st;
	struct rte_mbuf *p[8];
	uint64_t seq[8];

	CU_ASSERT(tx_new_keep(8, 1024, NULL) == NULL && rte_errno == EINVAL);
	CU_ASSERT_FATAL(tx != NULL);
	udpmig_tun_tx_retain(tx, true);
	push_n(tx, 0, 8);
	CU_ASSERT(udpmig_tun_tx_space(tx) == 0);
	CU_ASSERT(udpmig_tun_tx_due(tx, 0, seq, p, 8) == 8);
	/* Acked: 5 fit the store, 3 stay in the window. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, 1, 8, NULL, 0) == 0);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.kept == 5 && st.keep_full == 1);
	CU_ASSERT(udpmig_tun_tx_space(tx) == 5 && udpmig_tun_tx_held(tx) == 8);
	CU_ASSERT(rte_mempool_avail_count(pool) == POOL_SIZE - 3);
	/* The stream goes on in the room made. */
	push_n(tx, 8, 5);
	CU_ASSERT(udpmig_tun_tx_due(tx, 2, seq, p, 8) == 5 && seq[0] == 8);
	CU_ASSERT(udpmig_tun_tx_ack(tx, 3, 13, NULL, 0) == 0);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 13 && udpmig_tun_tx_space(tx) == 0);
	/* Given up: every one back, in order. */
	reclaim_check(tx, 0, 13);
	CU_ASSERT(udpmig_tun_tx_space(tx) == 8);
	udpmig_tun_tx_free(tx);
	pools_full();

	/* Released: the kept ones go with the rest; a store reused wraps. */
	tx = tx_new_keep(4, 3 * KEEP_REC64 + 56, pool);
	CU_ASSERT_FATAL(tx != NULL);
	udpmig_tun_tx_retain(tx, true);
	push_n(tx, 0, 2);
	CU_ASSERT(udpmig_tun_tx_due(tx, 0, seq, p, 8) == 2);
	CU_ASSERT(udpmig_tun_tx_ack(tx, 1, 2, NULL, 0) == 0);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 2 && udpmig_tun_tx_space(tx) == 4);
	udpmig_tun_tx_retain(tx, false);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0);
	udpmig_tun_tx_retain(tx, true);
	push_n(tx, 2, 3);
	CU_ASSERT(udpmig_tun_tx_due(tx, 2, seq, p, 8) == 3);
	CU_ASSERT(udpmig_tun_tx_ack(tx, 3, 5, NULL, 0) == 0);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.kept == 5 && st.keep_full == 0);
	reclaim_check(tx, 2, 3);
	udpmig_tun_tx_free(tx);
	pools_full();
}

/* Send what the sender lets go now (at most 64), ack nothing: how many. */
static uint32_t
due_count(struct udpmig_tun_tx *tx, uint64_t now)
{
	struct rte_mbuf *p[64];
	uint64_t seq[64];

	return udpmig_tun_tx_due(tx, now, seq, p, RTE_DIM(p));
}

/*
 * The congestion window: 4 out at first, +1 per packet acked (slow start),
 * halved at a hole (once per window), at its floor after a timeout, then
 * +1 per window acked above the threshold; never above its ceiling.
 */
static void
test_tx_cwnd(void)
{
	struct udpmig_tun_tx_conf c = {
		.window = 64,
		.rto_ns = 1000,
		.rto_max_ns = 1000000,
		.cwnd_init = 4,
		.cwnd_min = 2,
		.cwnd_max = 16,
	};
	struct udpmig_tun_range r = { 9, 10 };
	struct udpmig_tun_tx_stats st;
	struct udpmig_tun_tx *tx;
	uint64_t t = 1;

	c.cwnd_min = 1;
	CU_ASSERT(udpmig_tun_tx_create("ut_cc", &c, SOCKET_ID_ANY) == NULL && rte_errno == EINVAL);
	c.cwnd_min = 8;
	CU_ASSERT(udpmig_tun_tx_create("ut_cc", &c, SOCKET_ID_ANY) == NULL && rte_errno == EINVAL);
	c.cwnd_min = 2;
	tx = udpmig_tun_tx_create("ut_cc", &c, SOCKET_ID_ANY);
	CU_ASSERT_FATAL(tx != NULL);
	push_n(tx, 0, 40);
	CU_ASSERT(due_count(tx, t) == 4);
	CU_ASSERT(due_count(tx, t) == 0);
	/* Slow start: 2 acked, window 6: 4 more go (4..7). */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t, 2, NULL, 0) == 2);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.cwnd == 6);
	CU_ASSERT(due_count(tx, t) == 4);
	/* All 8 acked: window 12, 8..19 go. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t, 8, NULL, 0) == 6);
	CU_ASSERT(due_count(tx, t) == 12);
	/* A hole at 8 (9 arrived): halved to 6. */
	t = 10000;
	CU_ASSERT(udpmig_tun_tx_ack(tx, t, 8, &r, 1) == 1);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.cwnd == 6 && st.cwnd_cuts == 1);
	/* 8 again, nothing new: 12 are out. */
	CU_ASSERT(due_count(tx, t) == 1);
	/* Another hole in the same window: no second cut. */
	r.start = 11;
	r.end = 12;
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 1000, 8, &r, 1) == 1);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.cwnd == 6 && st.cwnd_cuts == 1 && st.fast_rounds == 2);
	CU_ASSERT(due_count(tx, t + 1000) == 2); /* 8 and 10 */
	/* A timeout: at the floor, threshold 3. */
	CU_ASSERT(due_count(tx, t + 10000000) == 10);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.cwnd == 2 && st.cwnd_cuts == 2 && st.rto_rounds == 1);
	/* 12 acked: +1 to the threshold, then +1 per window: 5. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, t + 10000001, 20, NULL, 0) == 10);
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.cwnd == 5);
	/* Never above the ceiling. */
	push_n(tx, 40, 20);
	while (udpmig_tun_tx_held(tx) > 0) {
		CU_ASSERT_FATAL(due_count(tx, t + 10000002) > 0);
		udpmig_tun_tx_stats_get(tx, &st);
		CU_ASSERT(st.cwnd <= 16);
		CU_ASSERT_FATAL(udpmig_tun_tx_ack(tx, t + 10000003, st.sent, NULL, 0) > 0);
	}
	udpmig_tun_tx_stats_get(tx, &st);
	CU_ASSERT(st.cwnd <= 16);
	udpmig_tun_tx_free(tx);
	pools_full();
}

/* A kept packet larger than an mbuf of the keep pool comes back chained. */
static void
test_tx_keep_chain(void)
{
	struct udpmig_tun_tx *tx = tx_new_keep(4, 4096, small_pool);
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *p[4];
	uint8_t *d, back[600];
	uint64_t seq[4];
	uint32_t i;

	CU_ASSERT_FATAL(tx != NULL && m != NULL);
	d = (uint8_t *)rte_pktmbuf_append(m, 600);
	CU_ASSERT_FATAL(d != NULL);
	for (i = 0; i < 600; i++)
		d[i] = (uint8_t)(i * 7);
	udpmig_tun_tx_retain(tx, true);
	CU_ASSERT_FATAL(udpmig_tun_tx_push(tx, &m, 1) == 1);
	CU_ASSERT(udpmig_tun_tx_due(tx, 0, seq, p, 4) == 1);
	CU_ASSERT(udpmig_tun_tx_ack(tx, 1, 1, NULL, 0) == 0);
	CU_ASSERT(rte_mempool_avail_count(pool) == POOL_SIZE);
	CU_ASSERT(udpmig_tun_tx_reclaim(tx, p, 4) == 1);
	CU_ASSERT(p[0]->pkt_len == 600 && p[0]->nb_segs == 3);
	for (i = 0; i < 600; i++)
		if (((const uint8_t *)rte_pktmbuf_read(p[0], 0, 600, back))[i] != (uint8_t)(i * 7))
			break;
	CU_ASSERT(i == 600);
	rte_pktmbuf_free(p[0]);
	/* No mbuf to rebuild one: nothing back yet, nothing lost. */
	push_n(tx, 1, 1);
	CU_ASSERT(udpmig_tun_tx_due(tx, 2, seq, p, 4) == 1);
	CU_ASSERT(udpmig_tun_tx_ack(tx, 3, 2, NULL, 0) == 0);
	{
		struct rte_mbuf *all[SMALL_SIZE];
		struct udpmig_tun_tx_stats st;

		CU_ASSERT_FATAL(rte_pktmbuf_alloc_bulk(small_pool, all, SMALL_SIZE) == 0);
		CU_ASSERT(udpmig_tun_tx_reclaim(tx, p, 4) == 0);
		CU_ASSERT(udpmig_tun_tx_held(tx) == 1);
		udpmig_tun_tx_stats_get(tx, &st);
		CU_ASSERT(st.keep_nombuf == 1);
		rte_pktmbuf_free_bulk(all, SMALL_SIZE);
	}
	CU_ASSERT(udpmig_tun_tx_reclaim(tx, p, 4) == 1 && pkt_num(p[0]) == 1);
	rte_pktmbuf_free(p[0]);
	udpmig_tun_tx_free(tx);
	pools_full();
}

/* Released with selectively acked packets inside the window; freed while retaining. */
static void
test_tx_retain_release(void)
{
	struct udpmig_tun_tx *tx = tx_new(8);
	struct udpmig_tun_range r = { 3, 4 };
	struct rte_mbuf *p[8];
	uint64_t seq[8];

	CU_ASSERT_FATAL(tx != NULL);
	udpmig_tun_tx_retain(tx, true);
	push_n(tx, 0, 5);
	CU_ASSERT(udpmig_tun_tx_due(tx, 0, seq, p, 8) == 5);
	CU_ASSERT(udpmig_tun_tx_ack(tx, 0, 2, &r, 1) == 0);
	CU_ASSERT(rte_mempool_avail_count(pool) == POOL_SIZE - 5);
	udpmig_tun_tx_retain(tx, false); /* frees 0, 1 and 3 */
	CU_ASSERT(rte_mempool_avail_count(pool) == POOL_SIZE - 2);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 3);
	/* 3 is not freed twice. */
	CU_ASSERT(udpmig_tun_tx_ack(tx, 0, 5, NULL, 0) == 2);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0);
	/* Freed while retaining acked packets. */
	udpmig_tun_tx_retain(tx, true);
	push_n(tx, 5, 8);
	CU_ASSERT(udpmig_tun_tx_space(tx) == 0);
	CU_ASSERT(udpmig_tun_tx_due(tx, 0, seq, p, 8) == 8);
	CU_ASSERT(udpmig_tun_tx_ack(tx, 0, 13, NULL, 0) == 0);
	CU_ASSERT(udpmig_tun_tx_space(tx) == 0);
	udpmig_tun_tx_free(tx);
	pools_full();
}

/* A sender freed with packets sacked (NULL entries) and unsent. */
static void
test_tx_free_holding(void)
{
	struct udpmig_tun_tx *tx = tx_new(8);
	struct udpmig_tun_range r = { 1, 3 };
	struct rte_mbuf *p[8];
	uint64_t seq[8];

	CU_ASSERT_FATAL(tx != NULL);
	push_n(tx, 0, 8);
	CU_ASSERT(udpmig_tun_tx_due(tx, 0, seq, p, 4) == 4);
	CU_ASSERT(udpmig_tun_tx_ack(tx, 0, 0, &r, 1) == 2);
	udpmig_tun_tx_free(tx);
	pools_full();
}

static void
test_rx_window(void)
{
	struct udpmig_tun_rx *rx = udpmig_tun_rx_create("ut_rx", 8, SOCKET_ID_ANY);
	struct udpmig_tun_rx_stats st;
	struct udpmig_tun_range r[4];
	struct rte_mbuf *m, *out[8];
	uint32_t k;

	CU_ASSERT_FATAL(rx != NULL);
	/* Beyond the window: the caller keeps the packet. */
	m = pkt_new(8);
	CU_ASSERT(udpmig_tun_rx_data(rx, 8, m) == UDPMIG_TUN_RX_OUT_OF_WINDOW);
	CU_ASSERT(udpmig_tun_rx_data(rx, UINT64_MAX, m) == UDPMIG_TUN_RX_OUT_OF_WINDOW);
	rte_pktmbuf_free(m);
	CU_ASSERT(udpmig_tun_rx_data(rx, 0, pkt_new(0)) == UDPMIG_TUN_RX_STORED);
	CU_ASSERT(udpmig_tun_rx_cum(rx) == 1);
	/* Below cum, or already there. */
	m = pkt_new(0);
	CU_ASSERT(udpmig_tun_rx_data(rx, 0, m) == UDPMIG_TUN_RX_DUPLICATE);
	rte_pktmbuf_free(m);
	CU_ASSERT(udpmig_tun_rx_data(rx, 3, pkt_new(3)) == UDPMIG_TUN_RX_STORED);
	CU_ASSERT(udpmig_tun_rx_data(rx, 5, pkt_new(5)) == UDPMIG_TUN_RX_STORED);
	CU_ASSERT(udpmig_tun_rx_data(rx, 6, pkt_new(6)) == UDPMIG_TUN_RX_STORED);
	m = pkt_new(3);
	CU_ASSERT(udpmig_tun_rx_data(rx, 3, m) == UDPMIG_TUN_RX_DUPLICATE);
	rte_pktmbuf_free(m);
	CU_ASSERT(udpmig_tun_rx_cum(rx) == 1 && udpmig_tun_rx_held(rx) == 4);
	/* Ranges above cum, lowest first, limited by n. */
	CU_ASSERT(udpmig_tun_rx_sack(rx, r, 4) == 2);
	CU_ASSERT(r[0].start == 3 && r[0].end == 4 && r[1].start == 5 && r[1].end == 7);
	CU_ASSERT(udpmig_tun_rx_sack(rx, r, 1) == 1 && r[0].start == 3);
	/* Only the in-order prefix comes out. */
	k = udpmig_tun_rx_pull(rx, out, 8);
	CU_ASSERT(k == 1 && pkt_num(out[0]) == 0);
	rte_pktmbuf_free(out[0]);
	CU_ASSERT(udpmig_tun_rx_pull(rx, out, 8) == 0);
	/* The window moved with the pull: 8 fits now, 9 does not. */
	CU_ASSERT(udpmig_tun_rx_data(rx, 8, pkt_new(8)) == UDPMIG_TUN_RX_STORED);
	m = pkt_new(9);
	CU_ASSERT(udpmig_tun_rx_data(rx, 9, m) == UDPMIG_TUN_RX_OUT_OF_WINDOW);
	rte_pktmbuf_free(m);
	/* Fill the holes: 1..8 in order. */
	CU_ASSERT(udpmig_tun_rx_data(rx, 2, pkt_new(2)) == UDPMIG_TUN_RX_STORED);
	CU_ASSERT(udpmig_tun_rx_cum(rx) == 1);
	CU_ASSERT(udpmig_tun_rx_data(rx, 1, pkt_new(1)) == UDPMIG_TUN_RX_STORED);
	CU_ASSERT(udpmig_tun_rx_cum(rx) == 4);
	CU_ASSERT(udpmig_tun_rx_data(rx, 4, pkt_new(4)) == UDPMIG_TUN_RX_STORED);
	CU_ASSERT(udpmig_tun_rx_data(rx, 7, pkt_new(7)) == UDPMIG_TUN_RX_STORED);
	CU_ASSERT(udpmig_tun_rx_cum(rx) == 9 && udpmig_tun_rx_sack(rx, r, 4) == 0);
	k = udpmig_tun_rx_pull(rx, out, 3);
	CU_ASSERT(k == 3);
	for (uint32_t i = 0; i < k; i++) {
		CU_ASSERT(pkt_num(out[i]) == 1 + i);
		rte_pktmbuf_free(out[i]);
	}
	udpmig_tun_rx_stats_get(rx, &st);
	CU_ASSERT(st.accepted == 9 && st.duplicates == 2 && st.out_of_window == 3);
	CU_ASSERT(st.delivered == 4 && udpmig_tun_rx_held(rx) == 5);
	/* free takes the 5 still held. */
	udpmig_tun_rx_free(rx);
	pools_full();
}

/* --- sender and receiver over a simulated wire -------------------------------- */

#define SIM_N         20000
#define SIM_WINDOW    1024
#define SIM_BUDGET    64 /* transmissions per step */
#define SIM_STEP_NS   50000 /* 50 us */
#define SIM_MAX_STEPS 10000000u /* the test fails rather than loops */
#define SIM_WIRE      (2 * SIM_BUDGET)

struct sim_conf {
	const char *name;
	unsigned int data_loss; /* percent */
	unsigned int ack_loss; /* percent */
	unsigned int dup; /* percent */
	bool reorder; /* shuffle within bursts of 32 */
	bool unsent; /* sometimes the tx queue is full */
};

struct sim_wire {
	uint32_t n;
	uint64_t seq[SIM_WIRE];
	struct rte_mbuf *m[SIM_WIRE];
};

static uint64_t sim_rng;

static uint32_t
sim_rand(void)
{
	sim_rng ^= sim_rng << 13;
	sim_rng ^= sim_rng >> 7;
	sim_rng ^= sim_rng << 17;
	return (uint32_t)(sim_rng >> 16);
}

static bool
sim_chance(unsigned int percent)
{
	return sim_rand() % 100 < percent;
}

static void
sim_run(const struct sim_conf *c)
{
	struct sim_wire w[2] = { { 0 } };
	struct sim_wire *cur = &w[0], *prev = &w[1], *tmp;
	struct udpmig_tun_tx *tx = tx_new(SIM_WINDOW);
	struct udpmig_tun_rx *rx = udpmig_tun_rx_create("ut_sim_rx", SIM_WINDOW, SOCKET_ID_ANY);
	struct udpmig_tun_range ack_r[UDPMIG_TUN_SACK_MAX];
	struct udpmig_tun_tx_stats ts;
	struct udpmig_tun_rx_stats rs;
	uint64_t ack_cum = 0, now = 0, expected = 0, pushed = 0, seq[SIM_BUDGET];
	uint64_t offered = 0, stored = 0, dups = 0, oow = 0, lost = 0, copies = 0, extra = 0;
	uint32_t steps, i, k, left;
	uint16_t ack_n = 0;
	bool ack_pending = false, order_ok = true, bounded = true;
	struct rte_mbuf *pk[SIM_BUDGET];

	CU_ASSERT_FATAL(tx != NULL && rx != NULL);
	sim_rng = 0x9e3779b97f4a7c15ull;
	for (steps = 0; steps < SIM_MAX_STEPS; steps++) {
		bool got = false;

		now += SIM_STEP_NS;
		/* 1. What was sent last step arrives, perhaps shuffled. */
		if (c->reorder) {
			for (i = 0; i < prev->n; i++) {
				uint32_t lo = i - i % 32;
				uint32_t hi = RTE_MIN(lo + 32, prev->n);
				uint32_t j = lo + sim_rand() % (hi - lo);
				uint64_t s = prev->seq[i];
				struct rte_mbuf *m = prev->m[i];

				prev->seq[i] = prev->seq[j];
				prev->m[i] = prev->m[j];
				prev->seq[j] = s;
				prev->m[j] = m;
			}
		}
		for (i = 0; i < prev->n; i++) {
			enum udpmig_tun_rx_verdict v =
				udpmig_tun_rx_data(rx, prev->seq[i], prev->m[i]);

			offered++;
			got = true;
			if (v == UDPMIG_TUN_RX_STORED) {
				stored++;
				continue;
			}
			dups += v == UDPMIG_TUN_RX_DUPLICATE;
			oow += v == UDPMIG_TUN_RX_OUT_OF_WINDOW;
			rte_pktmbuf_free(prev->m[i]);
		}
		prev->n = 0;
		/* 2. The receiver hands out in order. */
		while ((k = udpmig_tun_rx_pull(rx, pk, SIM_BUDGET)) > 0) {
			for (i = 0; i < k; i++) {
				order_ok &= pkt_num(pk[i]) == expected;
				expected++;
				rte_pktmbuf_free(pk[i]);
			}
		}
		if (udpmig_tun_rx_held(rx) > SIM_WINDOW || udpmig_tun_tx_held(tx) > SIM_WINDOW)
			bounded = false;
		/* 3. Last step's ack arrives; this step's is made (and perhaps lost). */
		if (ack_pending)
			udpmig_tun_tx_ack(tx, now, ack_cum, ack_r, ack_n);
		ack_pending = false;
		if (got && !sim_chance(c->ack_loss)) {
			ack_cum = udpmig_tun_rx_cum(rx);
			ack_n = udpmig_tun_rx_sack(rx, ack_r, UDPMIG_TUN_SACK_MAX);
			ack_pending = true;
		}
		if (expected == SIM_N && udpmig_tun_tx_held(tx) == 0)
			break;
		/* 4. The sender takes new packets and says what to send. */
		while (pushed < SIM_N && udpmig_tun_tx_space(tx) > 0) {
			struct rte_mbuf *m = pkt_new(pushed);

			CU_ASSERT_FATAL(m != NULL);
			CU_ASSERT_FATAL(udpmig_tun_tx_push(tx, &m, 1) == 1);
			pushed++;
		}
		k = udpmig_tun_tx_due(tx, now, seq, pk, SIM_BUDGET);
		if (c->unsent && k > 0 && sim_chance(10)) {
			uint32_t u = 1 + sim_rand() % k;

			udpmig_tun_tx_unsent(tx, u);
			k -= u;
		}
		for (i = 0; i < k; i++) {
			uint32_t sim_dup = sim_chance(c->dup) ? 1 : 0, n = 1 + sim_dup;

			if (sim_chance(c->data_loss)) {
				lost++;
				continue;
			}
			while (n-- > 0) {
				struct rte_mbuf *m = rte_pktmbuf_copy(pk[i], pool, 0, UINT32_MAX);

				CU_ASSERT_FATAL(m != NULL);
				cur->seq[cur->n] = seq[i];
				cur->m[cur->n++] = m;
				copies++;
			}
			extra += sim_dup;
		}
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	/* Copies still on the wire (only when the step cap was hit). */
	left = prev->n;
	for (i = 0; i < prev->n; i++)
		rte_pktmbuf_free(prev->m[i]);
	udpmig_tun_tx_stats_get(tx, &ts);
	udpmig_tun_rx_stats_get(rx, &rs);
	printf("\n    %s: %u steps, sent %" PRIu64 ", retransmits %" PRIu64 " (rto rounds %" PRIu64
	       ", fast rounds %" PRIu64 "), lost %" PRIu64 ", duplicates %" PRIu64
	       ", srtt %.1f ms, rto %.1f ms ",
		c->name, steps, ts.sent, ts.retransmits, ts.rto_rounds, ts.fast_rounds, lost,
		rs.duplicates, ts.srtt_ns / 1e6, ts.rto_ns / 1e6);
	CU_ASSERT(steps < SIM_MAX_STEPS);
	CU_ASSERT(bounded);
	CU_ASSERT(order_ok);
	CU_ASSERT(expected == SIM_N);
	CU_ASSERT(ts.pushed == SIM_N && ts.sent == SIM_N && ts.acked == SIM_N);
	CU_ASSERT(ts.bad_acks == 0);
	CU_ASSERT(udpmig_tun_tx_held(tx) == 0 && udpmig_tun_tx_space(tx) == SIM_WINDOW);
	CU_ASSERT(udpmig_tun_tx_next_seq(tx) == SIM_N);
	CU_ASSERT(udpmig_tun_rx_held(rx) == 0 && udpmig_tun_rx_cum(rx) == SIM_N);
	CU_ASSERT(rs.accepted == SIM_N && rs.delivered == SIM_N);
	CU_ASSERT(rs.duplicates == dups && rs.out_of_window == oow && oow == 0);
	CU_ASSERT(rs.accepted + rs.duplicates + rs.out_of_window == offered);
	CU_ASSERT(offered + left == copies && stored == SIM_N);
	CU_ASSERT(ts.sent + ts.retransmits == lost + copies - extra);
	if (c->data_loss > 0)
		CU_ASSERT(ts.retransmits > 0);
	if (c->data_loss == 0 && c->ack_loss == 0 && !c->reorder)
		CU_ASSERT(ts.retransmits == 0);
	if (c->dup > 0)
		CU_ASSERT(rs.duplicates > 0);
	udpmig_tun_tx_free(tx);
	udpmig_tun_rx_free(rx);
	pools_full();
}

static void
test_sim_clean(void)
{
	const struct sim_conf c = { .name = "no loss" };

	sim_run(&c);
}

static void
test_sim_data_loss(void)
{
	const struct sim_conf c = { .name = "10% data loss", .data_loss = 10 };

	sim_run(&c);
}

static void
test_sim_ack_loss(void)
{
	const struct sim_conf c = { .name = "10% ack loss", .ack_loss = 10 };

	sim_run(&c);
}

static void
test_sim_dup(void)
{
	const struct sim_conf c = { .name = "5% duplicated", .dup = 5 };

	sim_run(&c);
}

static void
test_sim_reorder(void)
{
	const struct sim_conf c = { .name = "reordered", .reorder = true };

	sim_run(&c);
}

static void
test_sim_all(void)
{
	const struct sim_conf c = {
		.name = "all, and a full tx queue",
		.data_loss = 10,
		.ack_loss = 10,
		.dup = 5,
		.reorder = true,
		.unsent = true,
	};

	sim_run(&c);
}

static int
reg(int argc, char **argv)
{
	CU_pSuite s;
	unsigned int i;

	(void)argc;
	(void)argv;
	if (unit_eal_init("test_tun", "0@0") < 0) {
		fprintf(stderr, "test_tun: EAL init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < UDPMIG_TUN_KEY_LEN; i++) {
		key_a[i] = (uint8_t)(i * 7 + 1);
		key_b[i] = key_a[i];
	}
	key_b[31] ^= 1;
	pool = rte_pktmbuf_pool_create(
		"ut_pool", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	small_pool = rte_pktmbuf_pool_create(
		"ut_small", SMALL_SIZE, 0, 0, RTE_PKTMBUF_HEADROOM + 256, SOCKET_ID_ANY);
	if (pool == NULL || small_pool == NULL)
		return -1;
	s = CU_add_suite("tun", NULL, NULL);
	if (s == NULL)
		return -1;
	if (CU_add_test(s, "create: bad configurations", test_create_errors) == NULL ||
		CU_add_test(s, "encap: bad arguments", test_encap_errors) == NULL ||
		CU_add_test(s, "encap: no room, no mbuf", test_encap_no_room) == NULL ||
		CU_add_test(s, "codec: DATA round trip, IPv4 and IPv6", test_roundtrip_data) ==
			NULL ||
		CU_add_test(s, "codec: ACK, END, ABORT, HELLO round trip",
			test_roundtrip_control) == NULL ||
		CU_add_test(s, "codec: sack_read drops malformed ranges",
			test_sack_read_drops_malformed) == NULL ||
		CU_add_test(s, "auth: every byte flipped", test_auth_every_byte) == NULL ||
		CU_add_test(s, "auth: outer headers not covered", test_auth_outer_not_covered) ==
			NULL ||
		CU_add_test(s, "parse: every truncation", test_parse_truncated) == NULL ||
		CU_add_test(s, "parse: not a tunnel frame", test_parse_not_tunnel) == NULL ||
		CU_add_test(s, "parse: malformed", test_parse_malformed) == NULL ||
		CU_add_test(s, "parse: options and message types", test_parse_options) == NULL ||
		CU_add_test(s, "parse: chained mbufs", test_parse_chained) == NULL ||
		CU_add_test(s, "tx: push within space", test_tx_push_space) == NULL ||
		CU_add_test(s, "tx: due, unsent, timeout", test_tx_due_unsent) == NULL ||
		CU_add_test(s, "tx: acks", test_tx_acks) == NULL ||
		CU_add_test(s, "tx: retain and reclaim", test_tx_retain_reclaim) == NULL ||
		CU_add_test(s, "tx: retain released", test_tx_retain_release) == NULL ||
		CU_add_test(s, "tx: retained packets kept out of the window", test_tx_keep) ==
			NULL ||
		CU_add_test(s, "tx: a kept packet rebuilt chained", test_tx_keep_chain) == NULL ||
		CU_add_test(s, "tx: the congestion window", test_tx_cwnd) == NULL ||
		CU_add_test(s, "tx: free while holding", test_tx_free_holding) == NULL ||
		CU_add_test(s, "tx: the timeout follows the round trip", test_tx_rtt) == NULL ||
		CU_add_test(s, "rx: window, duplicates, order", test_rx_window) == NULL ||
		CU_add_test(s, "sim: no loss", test_sim_clean) == NULL ||
		CU_add_test(s, "sim: 10% data loss", test_sim_data_loss) == NULL ||
		CU_add_test(s, "sim: 10% ack loss", test_sim_ack_loss) == NULL ||
		CU_add_test(s, "sim: 5% duplicated", test_sim_dup) == NULL ||
		CU_add_test(s, "sim: reordered in bursts of 32", test_sim_reorder) == NULL ||
		CU_add_test(s, "sim: all combined", test_sim_all) == NULL)
		return -1;
	return 0;
}

UNIT_MAIN(reg)
