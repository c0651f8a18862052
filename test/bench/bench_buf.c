/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark of the buffer's path: stamp + hold + ordered drain, against
 * DPDK's own components on the same packets in the same run:
 *
 *   udpmig_buf   enqueue bursts of 32 from P producer ids whose bursts
 *                arrive interleaved (as P intercepting lcores produce
 *                them), then dequeue in sequence order;
 *   rte_reorder  the same packets, numbered, in the order one shared MP
 *                ring would hold them (bursts of 32 shuffled within a
 *                window of P bursts), inserted one by one, then drained;
 *   rte_ring     SP/SC enqueue/dequeue bursts of 32: the floor, no
 *                ordering at all.
 *
 * One lcore, so each figure is the cost of the path itself. Prints Mpps
 * and ratios, and writes them as JSON. Never fails on a number: the exit
 * code says only whether the benchmark ran.
 *
 * Usage: bench_buf [EAL args] -- [-o report.json] [-n packets] [-p producers]
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_reorder.h>
#include <rte_ring.h>

#include "udpmig_buf.h"

#define BURST       32
#define WINDOW_PKTS 1024 /* packets in flight per round */
#define ROUNDS_MIN  3

struct result {
	const char *name;
	double mpps;
	uint64_t pkts;
	uint64_t errors; /* packets out of order or missing: must be 0 */
};

static struct rte_mbuf *pkts[WINDOW_PKTS];
static uint64_t seq_counter;
static uint32_t order[WINDOW_PKTS]; /* arrival order for rte_reorder */

static double
mpps(uint64_t n, uint64_t cycles)
{
	return cycles == 0 ? 0 : (double)n * (double)rte_get_tsc_hz() / (double)cycles / 1e6;
}

/* Bursts of one window shuffled: the order an MP ring of P producers gives. */
static void
make_order(unsigned int producers)
{
	unsigned int nb = WINDOW_PKTS / BURST, i, j, b;
	uint32_t bursts[WINDOW_PKTS / BURST];

	for (b = 0; b < nb; b++)
		bursts[b] = b;
	/* Shuffle within groups of P bursts (P lcores racing). */
	for (b = 0; b < nb; b += producers)
		for (i = producers - 1; i > 0; i--) {
			if (b + i >= nb)
				continue;
			j = (unsigned int)(rte_rand() % (i + 1));
			uint32_t t = bursts[b + i];
			bursts[b + i] = bursts[b + j];
			bursts[b + j] = t;
		}
	/* rte_reorder takes its first packet's number as its start: keep 0 first. */
	for (b = 0; b < producers && b < nb; b++)
		if (bursts[b] == 0) {
			bursts[b] = bursts[0];
			bursts[0] = 0;
		}
	for (b = 0; b < nb; b++)
		for (i = 0; i < BURST; i++)
			order[b * BURST + i] = bursts[b] * BURST + i;
}

static struct result
run_buf(uint64_t total, unsigned int producers)
{
	struct udpmig_buf_conf c = {
		.name = "bench",
		.socket_id = SOCKET_ID_ANY,
		.t1_quota = WINDOW_PKTS,
		.t2_slots = 0,
		.policy = UDPMIG_BUF_DROP_NEWEST,
		.n_producers = (uint16_t)producers,
	};
	struct result r = { .name = "udpmig_buf" };
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct rte_mbuf *out[BURST];
	uint64_t t0, cycles = 0, expect = 0, done = 0;
	unsigned int i, k, got;

	if (b == NULL) {
		fprintf(stderr, "bench: udpmig_buf_create: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	while (done < total) {
		t0 = rte_rdtsc_precise();
		for (i = 0; i < WINDOW_PKTS; i += BURST)
			udpmig_buf_enqueue_burst(
				b, (uint16_t)((i / BURST) % producers), pkts + i, BURST);
		got = 0;
		while (got < WINDOW_PKTS) {
			k = udpmig_buf_dequeue_burst(b, out, BURST, NULL);
			if (k == 0)
				break;
			for (i = 0; i < k; i++)
				pkts[got + i] = out[i];
			got += k;
		}
		cycles += rte_rdtsc_precise() - t0;
		for (i = 0; i < got; i++)
			if (udpmig_buf_seq_get(pkts[i]) != expect++)
				r.errors++;
		r.errors += WINDOW_PKTS - got;
		done += WINDOW_PKTS;
	}
	r.pkts = done;
	r.mpps = mpps(done, cycles);
	udpmig_buf_free(b);
	return r;
}

static struct result
run_reorder(uint64_t total)
{
	struct result r = { .name = "rte_reorder" };
	struct rte_reorder_buffer *rb;
	struct rte_mbuf *out[WINDOW_PKTS];
	uint64_t t0, cycles = 0, base = 0, done = 0;
	unsigned int i, j, got;

	seq_counter = 0;
	rb = rte_reorder_create("bench_reorder", SOCKET_ID_ANY, WINDOW_PKTS);
	if (rb == NULL) {
		fprintf(stderr, "bench: rte_reorder_create: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	while (done < total) {
		t0 = rte_rdtsc_precise();
		/*
		 * Number each burst as interceptors on several lcores would
		 * (one shared counter), then insert in arrival order: the same
		 * work udpmig_buf's enqueue does.
		 */
		for (i = 0; i < WINDOW_PKTS; i += BURST) {
			uint64_t s = __atomic_fetch_add(&seq_counter, BURST, __ATOMIC_SEQ_CST);

			for (j = 0; j < BURST; j++)
				*rte_reorder_seqn(pkts[i + j]) = (rte_reorder_seqn_t)(s + j);
		}
		for (i = 0; i < WINDOW_PKTS; i++)
			if (rte_reorder_insert(rb, pkts[order[i]]) != 0)
				r.errors++;
		got = rte_reorder_drain(rb, out, WINDOW_PKTS);
		cycles += rte_rdtsc_precise() - t0;
		for (i = 0; i < got; i++)
			if (*rte_reorder_seqn(out[i]) != base + i)
				r.errors++;
		r.errors += WINDOW_PKTS - got;
		memcpy(pkts, out, sizeof(pkts[0]) * got);
		base += WINDOW_PKTS;
		done += WINDOW_PKTS;
	}
	r.pkts = done;
	r.mpps = mpps(done, cycles);
	rte_reorder_free(rb);
	return r;
}

static struct result
run_ring(uint64_t total, bool stamp)
{
	struct result r = { .name = stamp ? "ring+stamp" : "rte_ring_spsc" };
	struct rte_ring *ring;
	uint64_t t0, cycles = 0, done = 0;
	unsigned int i, got;

	ring = rte_ring_create(stamp ? "bench_ring_s" : "bench_ring", WINDOW_PKTS, SOCKET_ID_ANY,
		RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (ring == NULL) {
		fprintf(stderr, "bench: rte_ring_create: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	while (done < total) {
		t0 = rte_rdtsc_precise();
		for (i = 0; i < WINDOW_PKTS; i += BURST) {
			if (stamp) {
				uint64_t s =
					__atomic_fetch_add(&seq_counter, BURST, __ATOMIC_SEQ_CST);
				unsigned int j;

				for (j = 0; j < BURST; j++)
					udpmig_buf_seq_set(pkts[i + j], s + j);
			}
			rte_ring_sp_enqueue_burst(ring, (void **)pkts + i, BURST, NULL);
		}
		got = 0;
		while (got < WINDOW_PKTS) {
			unsigned int k =
				rte_ring_sc_dequeue_burst(ring, (void **)pkts + got, BURST, NULL);
			if (k == 0)
				break;
			got += k;
		}
		cycles += rte_rdtsc_precise() - t0;
		r.errors += WINDOW_PKTS - got;
		done += WINDOW_PKTS;
	}
	r.pkts = done;
	r.mpps = mpps(done, cycles);
	rte_ring_free(ring);
	return r;
}

/* Best of a few rounds, alternating, so another process on the core hurts all alike. */
static void
keep_best(struct result *best, struct result r)
{
	r.errors += best->errors;
	if (r.mpps > best->mpps || best->name == NULL)
		*best = r;
	else
		best->errors = r.errors;
}

int
main(int argc, char **argv)
{
	struct result buf = { 0 }, reo = { 0 }, ring = { 0 }, stamped = { 0 };
	const char *json = NULL;
	uint64_t total = 4000000;
	unsigned int producers = 4, round;
	struct rte_mempool *mp;
	FILE *f;
	int ret, opt;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "bench: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	while ((opt = getopt(argc, argv, "o:n:p:h")) != -1) {
		switch (opt) {
		case 'o':
			json = optarg;
			break;
		case 'n':
			total = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			producers = (unsigned int)atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: bench_buf [EAL args] -- [-o report.json] [-n packets] [-p producers 1..%d]\n",
				UDPMIG_BUF_MAX_PRODUCERS);
			return opt == 'h' ? 0 : 1;
		}
	}
	if (producers == 0 || producers > UDPMIG_BUF_MAX_PRODUCERS || total < WINDOW_PKTS) {
		fprintf(stderr, "bench: -p must be 1..%d and -n at least %d\n",
			UDPMIG_BUF_MAX_PRODUCERS, WINDOW_PKTS);
		return 1;
	}
	mp = rte_pktmbuf_pool_create(
		"bench_pool", 2 * WINDOW_PKTS, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (mp == NULL || rte_pktmbuf_alloc_bulk(mp, pkts, WINDOW_PKTS) != 0 ||
		udpmig_buf_seq_register() != 0) {
		fprintf(stderr, "bench: no mbufs\n");
		return 1;
	}
	make_order(producers);
	for (round = 0; round < ROUNDS_MIN; round++) {
		keep_best(&ring, run_ring(total / ROUNDS_MIN, false));
		keep_best(&stamped, run_ring(total / ROUNDS_MIN, true));
		keep_best(&reo, run_reorder(total / ROUNDS_MIN));
		keep_best(&buf, run_buf(total / ROUNDS_MIN, producers));
	}

	printf("buffer path, bursts of %d, %u producers, window %d, best of %d rounds:\n", BURST,
		producers, WINDOW_PKTS, ROUNDS_MIN);
	printf("  %-14s %8.2f Mpps\n", ring.name, ring.mpps);
	printf("  %-14s %8.2f Mpps  (the floor with a sequence stamp per packet)\n", stamped.name,
		stamped.mpps);
	printf("  %-14s %8.2f Mpps\n", reo.name, reo.mpps);
	printf("  %-14s %8.2f Mpps\n", buf.name, buf.mpps);
	printf("  udpmig_buf / rte_reorder   = %.2f (target >= 1.5)\n", buf.mpps / reo.mpps);
	printf("  udpmig_buf / rte_ring_spsc = %.2f (target >= 0.5)\n", buf.mpps / ring.mpps);
	printf("  udpmig_buf / ring+stamp    = %.2f\n", buf.mpps / stamped.mpps);
	if (buf.errors != 0 || reo.errors != 0 || ring.errors != 0)
		printf("  ORDER ERRORS: udpmig_buf %" PRIu64 ", rte_reorder %" PRIu64
		       ", rte_ring %" PRIu64 "\n",
			buf.errors, reo.errors, ring.errors);
	if (json != NULL) {
		f = fopen(json, "w");
		if (f == NULL) {
			fprintf(stderr, "bench: %s: %s\n", json, strerror(errno));
			return 1;
		}
		fprintf(f,
			"{\"bench\": \"buf\", \"burst\": %d, \"producers\": %u, \"window\": %d,\n"
			" \"mpps\": {\"udpmig_buf\": %.3f, \"rte_reorder\": %.3f, \"rte_ring_spsc\": %.3f, \"ring_stamp\": %.3f},\n"
			" \"ratio\": {\"udpmig_buf/rte_reorder\": %.3f, \"udpmig_buf/rte_ring_spsc\": %.3f, \"udpmig_buf/ring_stamp\": %.3f},\n"
			" \"order_errors\": {\"udpmig_buf\": %" PRIu64 ", \"rte_reorder\": %" PRIu64
			"}}\n",
			BURST, producers, WINDOW_PKTS, buf.mpps, reo.mpps, ring.mpps, stamped.mpps,
			buf.mpps / reo.mpps, buf.mpps / ring.mpps, buf.mpps / stamped.mpps,
			buf.errors, reo.errors);
		fclose(f);
	}
	/* Order errors are a bug, not a speed: those fail. */
	return buf.errors != 0;
}
