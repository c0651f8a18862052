/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target of lib/udpmig_tun.
 *
 * The codec: each input is one frame, parsed twice from malloc'd buffers
 * of exactly the frame's bytes (so that ASan sees any over-read): as one
 * segment, and as two chained segments cut at an offset taken from the
 * input's last two bytes. The two parses must agree. When the frame is a
 * tunnel frame:
 * - its fields are in range (offsets inside the frame, the tag inside the
 *   options, the ranges matching the payload);
 * - udpmig_tun_verify() agrees on both layouts and with a tag computed
 *   here with libsodium; with that tag written in, it passes (and fails
 *   with another key);
 * - udpmig_tun_sack_read() gives well-formed ranges, the same on both;
 * - re-encapsulated with udpmig_tun_encap(), it parses to the same
 *   message and verifies.
 *
 * The windows: the same bytes, two at a time, drive a sender and a
 * receiver with a window of 8 (push, due + delivery with losses, unsent,
 * honest and made-up acks, pulls, made-up arrivals, clock jumps, retain
 * on and off, reclaim). Held packets never exceed the window, due packets
 * are held ones, pulled and reclaimed packets come out in sequence order,
 * and once both are freed the mbuf pool is full again.
 *
 * A violation abort()s. EAL runs without hugepages or shared config.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "udpmig_tun.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

#define POOL_SIZE 1023
#define WINDOW    8
#define MAX_OPS   256
#define TAG_LEN   16

static struct rte_mempool *pool;
static uint8_t key[UDPMIG_TUN_KEY_LEN];
static uint8_t other_key[UDPMIG_TUN_KEY_LEN];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char args[10][64];
	char *eal_argv[10];
	int n = 0, i;

	(void)argc;
	(void)argv;
	snprintf(args[n++], sizeof(args[0]), "fuzz_tun");
	snprintf(args[n++], sizeof(args[0]), "--no-huge");
	snprintf(args[n++], sizeof(args[0]), "-m");
	snprintf(args[n++], sizeof(args[0]), "64");
	snprintf(args[n++], sizeof(args[0]), "--no-pci");
	snprintf(args[n++], sizeof(args[0]), "--no-telemetry");
	snprintf(args[n++], sizeof(args[0]), "--no-shconf");
	snprintf(args[n++], sizeof(args[0]), "--file-prefix=fz_tun_%d", (int)getpid());
	snprintf(args[n++], sizeof(args[0]), "--log-level=*:error");
	snprintf(args[n++], sizeof(args[0]), "--lcores=0@0");
	for (i = 0; i < n; i++)
		eal_argv[i] = args[i];
	if (rte_eal_init(n, eal_argv) < 0) {
		fprintf(stderr, "fuzz_tun: EAL init failed: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	pool = rte_pktmbuf_pool_create(
		"fuzz_tun", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL || sodium_init() < 0)
		exit(1);
	for (i = 0; i < UDPMIG_TUN_KEY_LEN; i++) {
		key[i] = (uint8_t)i;
		other_key[i] = (uint8_t)(i + 1);
	}
	return 0;
}

/* --- codec ------------------------------------------------------------------ */

/* A frame in one or two malloc'd segments, described by mbufs on the stack. */
struct frame {
	struct rte_mbuf m[2];
	uint8_t *buf[2];
};

static void
frame_make(struct frame *f, const uint8_t *data, size_t size, size_t cut)
{
	size_t len[2] = { cut, size - cut };
	int i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 2; i++) {
		f->buf[i] = malloc(len[i] > 0 ? len[i] : 1);
		CHECK(f->buf[i] != NULL);
		memcpy(f->buf[i], data + (i == 0 ? 0 : cut), len[i]);
		f->m[i].buf_addr = f->buf[i];
		f->m[i].data_len = (uint16_t)len[i];
		f->m[i].nb_segs = 1;
	}
	f->m[0].pkt_len = (uint32_t)size;
	if (cut < size) {
		f->m[0].next = &f->m[1];
		f->m[0].nb_segs = 2;
	}
}

static void
frame_free(struct frame *f)
{
	free(f->buf[0]);
	free(f->buf[1]);
}

static void
check_parsed(const struct udpmig_tun_parsed *p, size_t size)
{
	uint32_t l3 = p->family == AF_INET6 ? 40 : 20;

	CHECK(p->family == AF_INET || p->family == AF_INET6);
	CHECK(p->geneve_off >= RTE_ETHER_HDR_LEN + l3 + 8);
	CHECK(p->tag_off >= p->geneve_off + 8 + 20);
	CHECK((p->tag_off - p->geneve_off - 8 - 20) % 4 == 0);
	CHECK(p->tag_off + TAG_LEN <= p->payload_off);
	CHECK(p->payload_off - p->geneve_off <= 8 + 63 * 4);
	CHECK((size_t)p->payload_off + p->payload_len <= size);
	CHECK(p->msg.vni < (1u << 24));
	switch (p->msg.type) {
	case UDPMIG_TUN_DATA:
		CHECK(p->payload_len >= RTE_ETHER_HDR_LEN && p->n_sack == 0);
		break;
	case UDPMIG_TUN_ACK:
		CHECK(p->n_sack <= UDPMIG_TUN_SACK_MAX);
		CHECK(p->payload_len == p->n_sack * sizeof(struct udpmig_tun_wire_range));
		break;
	case UDPMIG_TUN_END:
	case UDPMIG_TUN_ABORT:
		CHECK(p->n_sack == 0);
		break;
	case UDPMIG_TUN_HELLO:
		CHECK(p->n_sack == 0 && p->payload_len == 0);
		break;
	default:
		abort();
	}
}

static bool
same_parsed(const struct udpmig_tun_parsed *a, const struct udpmig_tun_parsed *b)
{
	return a->msg.vni == b->msg.vni && a->msg.session == b->msg.session &&
		a->msg.type == b->msg.type && a->msg.flags == b->msg.flags &&
		a->msg.seq == b->msg.seq && a->family == b->family &&
		memcmp(a->src_ip, b->src_ip, sizeof(a->src_ip)) == 0 &&
		a->src_port == b->src_port && rte_is_same_ether_addr(&a->src_mac, &b->src_mac) &&
		a->geneve_off == b->geneve_off && a->tag_off == b->tag_off &&
		a->payload_off == b->payload_off && a->payload_len == b->payload_len &&
		a->n_sack == b->n_sack;
}

static uint16_t
read_sack(const struct rte_mbuf *m, const struct udpmig_tun_parsed *p, struct udpmig_tun_range *r)
{
	uint16_t n = udpmig_tun_sack_read(m, p, r, UDPMIG_TUN_SACK_MAX);
	uint16_t i;

	CHECK(n <= p->n_sack);
	for (i = 0; i < n; i++)
		CHECK(r[i].start < r[i].end);
	return n;
}

/* Build the frame again from what was parsed, and parse that. */
static void
reencap(const struct udpmig_tun_parsed *p, uint8_t *flat, const struct udpmig_tun_range *r,
	uint16_t n_sack)
{
	struct udpmig_tun_path path = {
		.family = p->family,
		.src_port = p->src_port,
		.dst_port = UDPMIG_TUN_UDP_PORT,
		.src_mac = p->src_mac,
	};
	struct rte_mbuf inner, *m;
	struct udpmig_tun_parsed q;
	uint8_t tmp[UINT16_MAX];
	const uint8_t *pay;

	memcpy(path.src_ip, p->src_ip, sizeof(path.src_ip));
	memset(&inner, 0, sizeof(inner));
	inner.buf_addr = flat + p->payload_off;
	inner.data_len = (uint16_t)p->payload_len;
	inner.pkt_len = p->payload_len;
	inner.nb_segs = 1;
	m = udpmig_tun_encap(pool, &path, &p->msg, p->msg.type == UDPMIG_TUN_DATA ? &inner : NULL,
		p->msg.type == UDPMIG_TUN_ACK ? r : NULL,
		p->msg.type == UDPMIG_TUN_ACK ? n_sack : 0, key);
	if (m == NULL) {
		CHECK(rte_errno == EMSGSIZE);
		return;
	}
	CHECK(udpmig_tun_parse(m, UDPMIG_TUN_UDP_PORT, &q) == UDPMIG_TUN_OK);
	CHECK(q.msg.vni == p->msg.vni && q.msg.session == p->msg.session);
	CHECK(q.msg.type == p->msg.type && q.msg.flags == p->msg.flags);
	CHECK(q.msg.seq == p->msg.seq && q.family == p->family && q.src_port == p->src_port);
	CHECK(memcmp(q.src_ip, p->src_ip, sizeof(q.src_ip)) == 0);
	CHECK(udpmig_tun_verify(m, &q, key));
	if (p->msg.type == UDPMIG_TUN_DATA) {
		CHECK(q.payload_len == p->payload_len);
		pay = rte_pktmbuf_read(m, q.payload_off, q.payload_len, tmp);
		CHECK(pay != NULL && memcmp(pay, flat + p->payload_off, q.payload_len) == 0);
	} else if (p->msg.type == UDPMIG_TUN_ACK) {
		struct udpmig_tun_range r2[UDPMIG_TUN_SACK_MAX];

		CHECK(q.n_sack == n_sack);
		CHECK(read_sack(m, &q, r2) == n_sack);
		CHECK(memcmp(r2, r, n_sack * sizeof(r[0])) == 0);
	} else {
		CHECK(q.payload_len == 0);
	}
	rte_pktmbuf_free(m);
}

static void
fuzz_codec(const uint8_t *data, size_t size)
{
	struct udpmig_tun_range r1[UDPMIG_TUN_SACK_MAX], r2[UDPMIG_TUN_SACK_MAX];
	struct udpmig_tun_parsed p1, p2;
	enum udpmig_tun_err rc1, rc2;
	struct frame flat, seg;
	uint8_t want[TAG_LEN];
	bool v1, v2;
	uint16_t n1, n2;
	size_t cut = size;
	uint8_t *region;
	uint32_t rlen;

	if (size >= 2)
		cut = ((size_t)data[size - 2] << 8 | data[size - 1]) % (size + 1);
	frame_make(&flat, data, size, size);
	frame_make(&seg, data, size, cut);
	rc1 = udpmig_tun_parse(&flat.m[0], UDPMIG_TUN_UDP_PORT, &p1);
	rc2 = udpmig_tun_parse(&seg.m[0], UDPMIG_TUN_UDP_PORT, &p2);
	CHECK(rc1 == rc2);
	CHECK(rc1 == UDPMIG_TUN_OK || rc1 == UDPMIG_TUN_E_NOT_TUNNEL ||
		rc1 == UDPMIG_TUN_E_MALFORMED || rc1 == UDPMIG_TUN_E_OPTION ||
		rc1 == UDPMIG_TUN_E_MSG);
	if (rc1 != UDPMIG_TUN_OK)
		goto out;
	check_parsed(&p1, size);
	CHECK(same_parsed(&p1, &p2));

	/* The tag as documented: BLAKE2b-128 keyed, tag field zero. */
	rlen = p1.payload_off + p1.payload_len - p1.geneve_off;
	region = malloc(rlen);
	CHECK(region != NULL);
	memcpy(region, data + p1.geneve_off, rlen);
	memset(region + (p1.tag_off - p1.geneve_off), 0, TAG_LEN);
	crypto_generichash(want, TAG_LEN, region, rlen, key, UDPMIG_TUN_KEY_LEN);
	free(region);
	v1 = udpmig_tun_verify(&flat.m[0], &p1, key);
	v2 = udpmig_tun_verify(&seg.m[0], &p2, key);
	CHECK(v1 == v2);
	CHECK(v1 == (memcmp(want, data + p1.tag_off, TAG_LEN) == 0));

	n1 = read_sack(&flat.m[0], &p1, r1);
	n2 = read_sack(&seg.m[0], &p2, r2);
	CHECK(n1 == n2 && memcmp(r1, r2, n1 * sizeof(r1[0])) == 0);
	reencap(&p1, flat.buf[0], r1, n1);

	/* With the right tag written in, both layouts pass; another key fails. */
	memcpy(flat.buf[0] + p1.tag_off, want, TAG_LEN);
	frame_free(&seg);
	frame_make(&seg, flat.buf[0], size, cut);
	CHECK(udpmig_tun_parse(&flat.m[0], UDPMIG_TUN_UDP_PORT, &p1) == UDPMIG_TUN_OK);
	CHECK(udpmig_tun_parse(&seg.m[0], UDPMIG_TUN_UDP_PORT, &p2) == UDPMIG_TUN_OK);
	CHECK(udpmig_tun_verify(&flat.m[0], &p1, key));
	CHECK(udpmig_tun_verify(&seg.m[0], &p2, key));
	CHECK(!udpmig_tun_verify(&seg.m[0], &p2, other_key));
out:
	frame_free(&flat);
	frame_free(&seg);
}

/* --- sender and receiver ------------------------------------------------------ */

static struct rte_mbuf *
pkt_new(uint64_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *d;

	CHECK(m != NULL);
	d = rte_pktmbuf_append(m, sizeof(n));
	CHECK(d != NULL);
	memcpy(d, &n, sizeof(n));
	return m;
}

static uint64_t
pkt_num(const struct rte_mbuf *m)
{
	uint64_t n;

	memcpy(&n, rte_pktmbuf_mtod(m, const void *), sizeof(n));
	return n;
}

static void
offer(struct udpmig_tun_rx *rx, uint64_t seq, struct rte_mbuf *m)
{
	uint64_t cum = udpmig_tun_rx_cum(rx);
	enum udpmig_tun_rx_verdict v = udpmig_tun_rx_data(rx, seq, m);

	if (seq < cum)
		CHECK(v == UDPMIG_TUN_RX_DUPLICATE);
	if (v != UDPMIG_TUN_RX_STORED)
		rte_pktmbuf_free(m);
	else
		CHECK(udpmig_tun_rx_cum(rx) >= cum);
}

static void
fuzz_windows(const uint8_t *data, size_t size)
{
	const struct udpmig_tun_tx_conf conf = {
		.window = WINDOW,
		.rto_ns = 1000,
		.rto_max_ns = 8000,
	};
	struct udpmig_tun_tx *tx = udpmig_tun_tx_create("fuzz_tx", &conf, SOCKET_ID_ANY);
	struct udpmig_tun_rx *rx = udpmig_tun_rx_create("fuzz_rx", WINDOW, SOCKET_ID_ANY);
	struct udpmig_tun_range r[UDPMIG_TUN_SACK_MAX];
	struct udpmig_tun_tx_stats st;
	struct rte_mbuf *pk[WINDOW];
	uint64_t seq[WINDOW], now = 0, expected = 0;
	uint32_t last_k = 0, i, k;
	bool exact = true;
	size_t op;

	CHECK(tx != NULL && rx != NULL);
	for (op = 0; op + 1 < size && op < 2 * MAX_OPS; op += 2) {
		uint8_t arg = data[op + 1];
		uint32_t due_k = 0;
		/* The oldest held sequence number (acked ones may be retained). */
		uint64_t base = udpmig_tun_tx_next_seq(tx) - udpmig_tun_tx_held(tx);

		switch (data[op] % 10) {
		case 0: /* push */
			k = 1 + arg % 4;
			for (i = 0; i < k; i++)
				pk[i] = pkt_new(udpmig_tun_tx_next_seq(tx) + i);
			i = udpmig_tun_tx_space(tx);
			CHECK(udpmig_tun_tx_push(tx, pk, k) == RTE_MIN(k, i));
			for (i = RTE_MIN(k, i); i < k; i++)
				rte_pktmbuf_free(pk[i]);
			break;
		case 1: /* due, and the wire loses some */
			now += (arg >> 3) * 250u;
			k = udpmig_tun_tx_due(tx, now, seq, pk, 1 + (arg & 7));
			CHECK(k <= 1u + (arg & 7));
			for (i = 0; i < k; i++) {
				CHECK(seq[i] >= base && seq[i] < udpmig_tun_tx_next_seq(tx));
				CHECK(pk[i] != NULL && pkt_num(pk[i]) == seq[i]);
				if ((seq[i] * 7 + arg) % 5 != 0)
					offer(rx, seq[i],
						rte_pktmbuf_copy(pk[i], pool, 0, UINT32_MAX));
			}
			due_k = k;
			break;
		case 2: /* the last ones were not sent */
			if (last_k > 0)
				udpmig_tun_tx_unsent(tx, arg % (last_k + 1));
			break;
		case 3: /* the receiver's ack */
			k = udpmig_tun_rx_sack(rx, r, arg % (UDPMIG_TUN_SACK_MAX + 1));
			udpmig_tun_tx_ack(tx, now, udpmig_tun_rx_cum(rx), r, (uint16_t)k);
			break;
		case 4: /* a made-up ack */
			r[0].start = base + (arg >> 4);
			r[0].end = r[0].start + (arg & 7);
			r[1].start = arg & 1 ? 0 : UINT64_MAX;
			r[1].end = UINT64_MAX;
			udpmig_tun_tx_ack(tx, now, base + (arg % 12 >= 2 ? arg % 12 - 2 : 0), r,
				(uint16_t)(arg % 3));
			break;
		case 5: /* the receiver hands out in order */
			k = udpmig_tun_rx_pull(rx, pk, 1 + arg % WINDOW);
			for (i = 0; i < k; i++) {
				CHECK(pkt_num(pk[i]) == expected);
				expected++;
				rte_pktmbuf_free(pk[i]);
			}
			break;
		case 6: /* a made-up arrival */
			i = arg % 24;
			k = (uint32_t)RTE_MIN(udpmig_tun_rx_cum(rx), 4u);
			offer(rx, udpmig_tun_rx_cum(rx) + i - k,
				pkt_new(udpmig_tun_rx_cum(rx) + i - k));
			break;
		case 7: /* time passes */
			now += arg * 1000u;
			break;
		case 8: /* keep acked packets, or let them go */
			udpmig_tun_tx_retain(tx, arg & 1);
			exact = false;
			break;
		case 9: /* the channel is given up: every held packet back, in order */
			i = udpmig_tun_tx_held(tx);
			k = udpmig_tun_tx_reclaim(tx, pk, 1 + arg % WINDOW);
			CHECK(k <= i && k <= 1u + arg % WINDOW);
			for (i = 0; i < k; i++) {
				CHECK(i == 0 || pkt_num(pk[i]) > pkt_num(pk[i - 1]));
				rte_pktmbuf_free(pk[i]);
			}
			exact = false;
			break;
		}
		/* udpmig_tun_tx_unsent() only right after udpmig_tun_tx_due(). */
		last_k = due_k;
		CHECK(udpmig_tun_tx_held(tx) <= WINDOW);
		CHECK(udpmig_tun_tx_held(tx) + udpmig_tun_tx_space(tx) == WINDOW);
		CHECK(udpmig_tun_rx_held(rx) <= WINDOW);
		CHECK(udpmig_tun_rx_cum(rx) >= expected);
		udpmig_tun_tx_stats_get(tx, &st);
		CHECK(st.pushed == udpmig_tun_tx_next_seq(tx));
		CHECK(st.acked <= st.pushed && st.sent <= st.pushed);
		/* Without retained or reclaimed packets, held is what is not acked. */
		if (exact)
			CHECK(st.acked == udpmig_tun_tx_next_seq(tx) - udpmig_tun_tx_held(tx));
	}
	udpmig_tun_tx_free(tx);
	udpmig_tun_rx_free(rx);
	CHECK(rte_mempool_avail_count(pool) == POOL_SIZE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > UINT16_MAX)
		return 0;
	fuzz_codec(data, size);
	fuzz_windows(data, size);
	return 0;
}
