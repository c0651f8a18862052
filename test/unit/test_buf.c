/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of udpmig_buf: the error contract first, then each tier and
 * policy, then a multi-lcore stress (several producer lcores, one
 * consumer) that checks every sequence number is delivered once, in
 * order, or counted as dropped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "udpmig_buf.h"
#include "unit.h"

#define POOL_SIZE 8191
#define PKT_LEN   64

static struct rte_mempool *pool;
static struct rte_mempool *small_pool; /* 128-byte data room: forces chains */

static struct udpmig_buf_conf
conf_of(uint32_t t1, uint32_t t2, enum udpmig_buf_policy policy, uint16_t producers)
{
	struct udpmig_buf_conf c = {
		.name = "test",
		.socket_id = SOCKET_ID_ANY,
		.t1_quota = t1,
		.t2_slots = t2,
		.policy = policy,
		.n_producers = producers,
	};
	return c;
}

/* A packet whose bytes all carry @p tag (mod 251). */
static struct rte_mbuf *
pkt_new(struct rte_mempool *mp, uint32_t tag, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *d;

	if (m == NULL)
		return NULL;
	d = (uint8_t *)rte_pktmbuf_append(m, len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(d, &tag, sizeof(tag));
	memset(d + sizeof(tag), (int)(tag % 251), len - sizeof(tag));
	return m;
}

static uint32_t
pkt_tag(const struct rte_mbuf *m)
{
	uint32_t tag;
	const void *p = rte_pktmbuf_read(m, 0, sizeof(tag), &tag);

	if (p != &tag)
		memcpy(&tag, p, sizeof(tag));
	return tag;
}

/* The bytes after the tag are all tag % 251, across segments. */
static int
pkt_intact(const struct rte_mbuf *m, uint32_t tag, uint32_t len)
{
	uint8_t b[9000];
	const uint8_t *p;
	uint32_t i;

	if (rte_pktmbuf_pkt_len(m) != len)
		return 0;
	p = rte_pktmbuf_read(m, 0, len, b);
	for (i = sizeof(tag); i < len; i++)
		if (p[i] != tag % 251)
			return 0;
	return pkt_tag(m) == tag;
}

/* Enqueue tags [first, first + n) from one producer, in bursts of 32. */
static unsigned int
put(struct udpmig_buf *b, uint16_t producer, uint32_t first, uint32_t n, uint16_t len)
{
	struct rte_mbuf *m[32];
	unsigned int held = 0, k, i;

	while (n > 0) {
		k = RTE_MIN(n, 32u);
		for (i = 0; i < k; i++) {
			m[i] = pkt_new(pool, first + i, len);
			CU_ASSERT_FATAL(m[i] != NULL);
		}
		held += udpmig_buf_enqueue_burst(b, producer, m, k);
		first += k;
		n -= k;
	}
	return held;
}

/* Dequeue everything; check sequence order; return the count. */
static unsigned int
drain(struct udpmig_buf *b, uint32_t *tags, unsigned int max, struct rte_mempool *mp)
{
	struct rte_mbuf *m[32];
	unsigned int n = 0, k, i;
	uint64_t last = UINT64_MAX;

	while ((k = udpmig_buf_dequeue_burst(b, m, 32, mp)) > 0) {
		for (i = 0; i < k; i++) {
			uint64_t s = udpmig_buf_seq_get(m[i]);

			CU_ASSERT(last == UINT64_MAX || s > last);
			last = s;
			if (n < max && tags != NULL)
				tags[n] = pkt_tag(m[i]);
			n++;
			rte_pktmbuf_free(m[i]);
		}
	}
	return n;
}

static void
test_create_errors(void)
{
	struct udpmig_buf_conf c;

	rte_errno = 0;
	CU_ASSERT(udpmig_buf_create(NULL) == NULL);
	CU_ASSERT(rte_errno == EINVAL);
	c = conf_of(16, 16, UDPMIG_BUF_DROP_NEWEST, 0);
	CU_ASSERT(udpmig_buf_create(&c) == NULL && rte_errno == EINVAL);
	c = conf_of(16, 16, UDPMIG_BUF_DROP_NEWEST, UDPMIG_BUF_MAX_PRODUCERS + 1);
	CU_ASSERT(udpmig_buf_create(&c) == NULL && rte_errno == EINVAL);
	c = conf_of(0, 0, UDPMIG_BUF_DROP_NEWEST, 1);
	CU_ASSERT(udpmig_buf_create(&c) == NULL && rte_errno == EINVAL);
	c = conf_of((1u << 30) + 1, 0, UDPMIG_BUF_DROP_NEWEST, 1);
	CU_ASSERT(udpmig_buf_create(&c) == NULL && rte_errno == EINVAL);
	c = conf_of(16, 16, UDPMIG_BUF_DROP_NEWEST, 1);
	c.t2_slot_size = 63;
	CU_ASSERT(udpmig_buf_create(&c) == NULL && rte_errno == EINVAL);
	c.t2_slot_size = 65537;
	CU_ASSERT(udpmig_buf_create(&c) == NULL && rte_errno == EINVAL);
	c = conf_of(16, 16, (enum udpmig_buf_policy)7, 1);
	CU_ASSERT(udpmig_buf_create(&c) == NULL && rte_errno == EINVAL);
	c = conf_of(16, 16, UDPMIG_BUF_DROP_NEWEST, 1);
	c.t2_file = "/nonexistent-dir/udpmig/spill";
	CU_ASSERT(udpmig_buf_create(&c) == NULL && rte_errno == ENOENT);
	udpmig_buf_free(NULL);
}

static void
test_api_errors(void)
{
	struct udpmig_buf_conf c = conf_of(16, 0, UDPMIG_BUF_DROP_NEWEST, 2);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct udpmig_buf_stats st;
	enum udpmig_buf_policy pol;
	struct rte_mbuf *m;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(udpmig_buf_stats_get(NULL, &st) == -EINVAL);
	CU_ASSERT(udpmig_buf_stats_get(b, NULL) == -EINVAL);
	CU_ASSERT(udpmig_buf_policy_parse(NULL, &pol) == -EINVAL);
	CU_ASSERT(udpmig_buf_policy_parse("drop-middle", &pol) == -EINVAL);
	CU_ASSERT(udpmig_buf_policy_parse("drop-oldest", NULL) == -EINVAL);
	CU_ASSERT(strcmp(udpmig_buf_policy_name((enum udpmig_buf_policy)9), "?") == 0);
	CU_ASSERT(strcmp(udpmig_buf_name(NULL), "") == 0);
	CU_ASSERT(strcmp(udpmig_buf_name(b), "test") == 0);
	/* A bad producer id: nothing taken, the caller keeps the mbuf. */
	m = pkt_new(pool, 1, PKT_LEN);
#ifndef RTE_ENABLE_ASSERT
	CU_ASSERT(udpmig_buf_enqueue_burst(b, 2, &m, 1) == 0);
#endif
	CU_ASSERT(udpmig_buf_enqueue_burst(b, 0, &m, 0) == 0);
	rte_pktmbuf_free(m);
	CU_ASSERT(udpmig_buf_stats_get(b, &st) == 0);
	CU_ASSERT(st.enq_pkts == 0 && st.next_seq == 0);
	/* Empty buffer: nothing out. */
	CU_ASSERT(udpmig_buf_dequeue_burst(b, &m, 1, pool) == 0);
	udpmig_buf_free(b);
}

static void
test_policy_names(void)
{
	enum udpmig_buf_policy p;

	CU_ASSERT(udpmig_buf_policy_parse("drop-newest", &p) == 0 && p == UDPMIG_BUF_DROP_NEWEST);
	CU_ASSERT(udpmig_buf_policy_parse("drop-oldest", &p) == 0 && p == UDPMIG_BUF_DROP_OLDEST);
	CU_ASSERT(strcmp(udpmig_buf_policy_name(UDPMIG_BUF_DROP_NEWEST), "drop-newest") == 0);
	CU_ASSERT(strcmp(udpmig_buf_policy_name(UDPMIG_BUF_DROP_OLDEST), "drop-oldest") == 0);
	CU_ASSERT(udpmig_buf_seq_register() == 0); /* idempotent */
}

static void
test_tier1_in_order(void)
{
	struct udpmig_buf_conf c = conf_of(1024, 0, UDPMIG_BUF_DROP_NEWEST, 1);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct udpmig_buf_stats st;
	uint32_t tags[1000];
	unsigned int i;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(put(b, 0, 0, 1000, PKT_LEN) == 1000);
	CU_ASSERT(udpmig_buf_count(b) == 1000);
	CU_ASSERT(drain(b, tags, 1000, pool) == 1000);
	for (i = 0; i < 1000; i++)
		CU_ASSERT(tags[i] == i);
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.enq_pkts == 1000 && st.t1_pkts == 1000 && st.t2_pkts == 0);
	CU_ASSERT(st.deq_pkts == 1000 && st.held == 0 && st.next_seq == 1000);
	udpmig_buf_free(b);
}

static void
test_spill_to_tier2(void)
{
	struct udpmig_buf_conf c = conf_of(100, 1000, UDPMIG_BUF_DROP_NEWEST, 1);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct udpmig_buf_stats st;
	struct rte_mbuf *m[32];
	unsigned int in_use, i, n = 0, k;

	CU_ASSERT_FATAL(b != NULL);
	in_use = rte_mempool_in_use_count(pool);
	CU_ASSERT(put(b, 0, 0, 600, 300) == 600);
	/* Only the tier-1 quota of mbufs stays taken from the pool. */
	CU_ASSERT(rte_mempool_in_use_count(pool) - in_use == 100);
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.t1_pkts == 100 && st.t2_pkts == 500 && st.t2_bytes == 500 * 300);
	CU_ASSERT(st.t1_held == 100 && st.t2_held == 500 && st.held == 600);
	while ((k = udpmig_buf_dequeue_burst(b, m, 32, pool)) > 0)
		for (i = 0; i < k; i++, n++) {
			CU_ASSERT(udpmig_buf_seq_get(m[i]) == n);
			CU_ASSERT(pkt_intact(m[i], n, 300));
			rte_pktmbuf_free(m[i]);
		}
	CU_ASSERT(n == 600);
	CU_ASSERT(udpmig_buf_count(b) == 0);
	udpmig_buf_free(b);
}

static void
test_tier2_only_and_file(void)
{
	char dir[] = "udpmig-test-XXXXXX", path[64];
	struct udpmig_buf_conf c = conf_of(0, 300, UDPMIG_BUF_DROP_NEWEST, 1);
	struct udpmig_buf *b;
	uint32_t tags[300];
	unsigned int i;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/spill", dir);
	c.t2_file = path;
	b = udpmig_buf_create(&c);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(access(path, F_OK) == 0);
	CU_ASSERT(put(b, 0, 0, 300, PKT_LEN) == 300);
	CU_ASSERT(drain(b, tags, 300, pool) == 300);
	for (i = 0; i < 300; i++)
		CU_ASSERT(tags[i] == i);
	udpmig_buf_free(b);
	unlink(path);
	rmdir(dir);
}

static void
test_full_drop_newest(void)
{
	struct udpmig_buf_conf c = conf_of(10, 10, UDPMIG_BUF_DROP_NEWEST, 1);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct udpmig_buf_stats st;
	uint32_t tags[50];
	unsigned int i, in_use;

	CU_ASSERT_FATAL(b != NULL);
	in_use = rte_mempool_in_use_count(pool);
	CU_ASSERT(put(b, 0, 0, 50, PKT_LEN) == 20);
	CU_ASSERT(rte_mempool_in_use_count(pool) - in_use == 10); /* drops were freed */
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.enq_pkts == 50 && st.drop_newest == 30 && st.held == 20);
	CU_ASSERT(drain(b, tags, 50, pool) == 20);
	for (i = 0; i < 20; i++)
		CU_ASSERT(tags[i] == i);
	/* Room again: new packets are held, with later sequence numbers. */
	CU_ASSERT(put(b, 0, 100, 5, PKT_LEN) == 5);
	CU_ASSERT(drain(b, tags, 50, pool) == 5);
	CU_ASSERT(tags[0] == 100 && tags[4] == 104);
	udpmig_buf_free(b);
}

static void
test_full_drop_oldest(void)
{
	struct udpmig_buf_conf c = conf_of(10, 10, UDPMIG_BUF_DROP_OLDEST, 1);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct udpmig_buf_stats st;
	uint32_t tags[64];
	unsigned int i, n;

	CU_ASSERT_FATAL(b != NULL);
	/* 50 in bursts of 10, trimming between: the newest 20 survive. */
	for (i = 0; i < 5; i++) {
		CU_ASSERT(put(b, 0, i * 10, 10, PKT_LEN) == 10);
		udpmig_buf_trim(b);
	}
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.drop_newest == 0);
	CU_ASSERT(st.drop_oldest == 30);
	CU_ASSERT(st.held == 20);
	n = drain(b, tags, 64, pool);
	CU_ASSERT(n == 20);
	for (i = 0; i < n; i++)
		CU_ASSERT(tags[i] == 30 + i);
	/* Without a trim, the headroom fills, then the newest drop: counted. */
	CU_ASSERT(
		put(b, 0, 0, 20 + UDPMIG_BUF_MAX_BURST + 7, PKT_LEN) == 20 + UDPMIG_BUF_MAX_BURST);
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.drop_newest == 7);
	n = drain(b, tags, 64, pool); /* dequeue trims first */
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(n == 20);
	CU_ASSERT(st.drop_oldest == 30 + UDPMIG_BUF_MAX_BURST);
	CU_ASSERT(st.enq_pkts == st.deq_pkts + st.drop_newest + st.drop_oldest);
	udpmig_buf_free(b);
}

static void
test_too_big_for_slot(void)
{
	struct udpmig_buf_conf c = conf_of(2, 10, UDPMIG_BUF_DROP_NEWEST, 1);
	struct udpmig_buf *b;
	struct udpmig_buf_stats st;

	c.t2_slot_size = 64;
	b = udpmig_buf_create(&c);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(put(b, 0, 0, 4, 200) == 2);
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.spill_too_big == 1 && st.drop_newest == 2 && st.t2_pkts == 0);
	CU_ASSERT(drain(b, NULL, 0, pool) == 2);
	udpmig_buf_free(b);
}

static void
test_chained_in_and_out(void)
{
	struct udpmig_buf_conf c = conf_of(0, 8, UDPMIG_BUF_DROP_NEWEST, 1);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct rte_mbuf *m, *seg, *out[4];
	unsigned int k;

	CU_ASSERT_FATAL(b != NULL);
	/* A two-segment packet in: spilled as one run of bytes. */
	m = pkt_new(pool, 77, 100);
	seg = rte_pktmbuf_alloc(pool);
	CU_ASSERT_FATAL(m != NULL && seg != NULL);
	memset(rte_pktmbuf_append(seg, 100), 77 % 251, 100);
	CU_ASSERT_FATAL(rte_pktmbuf_chain(m, seg) == 0);
	CU_ASSERT(udpmig_buf_enqueue_burst(b, 0, &m, 1) == 1);
	/* Out through a pool of 128-byte mbufs: rebuilt as a chain. */
	k = udpmig_buf_dequeue_burst(b, out, 4, small_pool);
	CU_ASSERT_FATAL(k == 1);
	CU_ASSERT(out[0]->nb_segs == 2);
	CU_ASSERT(pkt_intact(out[0], 77, 200));
	rte_pktmbuf_free(out[0]);
	udpmig_buf_free(b);
}

static void
test_nomem_keeps_packet(void)
{
	struct udpmig_buf_conf c = conf_of(0, 8, UDPMIG_BUF_DROP_NEWEST, 1);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct udpmig_buf_stats st;
	struct rte_mbuf *hog[512], *out[4];
	unsigned int n = 0, k;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(put(b, 0, 5, 3, PKT_LEN) == 3);
	/* Empty the small pool: the rebuild must wait, not lose. */
	while (n < RTE_DIM(hog) && (hog[n] = rte_pktmbuf_alloc(small_pool)) != NULL)
		n++;
	CU_ASSERT(udpmig_buf_dequeue_burst(b, out, 4, small_pool) == 0);
	CU_ASSERT(udpmig_buf_dequeue_burst(b, out, 4, NULL) == 0);
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.deq_nomem == 2 && st.held == 3);
	rte_pktmbuf_free_bulk(hog, n);
	k = udpmig_buf_dequeue_burst(b, out, 4, small_pool);
	CU_ASSERT(k == 3);
	CU_ASSERT(k == 3 && pkt_tag(out[0]) == 5 && pkt_tag(out[2]) == 7);
	rte_pktmbuf_free_bulk(out, k);
	udpmig_buf_free(b);
}

static void
test_next_seq_and_consumed(void)
{
	struct udpmig_buf_conf c = conf_of(4, 2, UDPMIG_BUF_DROP_NEWEST, 2);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct rte_mbuf *out[8];
	unsigned int k;

	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(udpmig_buf_next_seq(b) == 0);
	CU_ASSERT(udpmig_buf_consumed(b) == 0);
	put(b, 0, 0, 3, PKT_LEN); /* seq 0-2 */
	put(b, 1, 3, 2, PKT_LEN); /* seq 3-4 */
	CU_ASSERT(udpmig_buf_next_seq(b) == 5);
	CU_ASSERT(udpmig_buf_consumed(b) == 0);
	k = udpmig_buf_dequeue_burst(b, out, 2, pool);
	CU_ASSERT(k == 2);
	rte_pktmbuf_free_bulk(out, k);
	CU_ASSERT(udpmig_buf_consumed(b) == 2);
	/* Room for 3 more (seq 5-7): seq 8-9 are dropped at the end. */
	put(b, 0, 5, 5, PKT_LEN);
	CU_ASSERT(udpmig_buf_next_seq(b) == 10);
	k = udpmig_buf_dequeue_burst(b, out, 8, pool);
	CU_ASSERT(k == 6);
	rte_pktmbuf_free_bulk(out, k);
	/* Everything stamped is through: dequeued or dropped. */
	CU_ASSERT(udpmig_buf_consumed(b) == udpmig_buf_next_seq(b));
	udpmig_buf_free(b);
}

static void
test_flush(void)
{
	struct udpmig_buf_conf c = conf_of(10, 10, UDPMIG_BUF_DROP_NEWEST, 2);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	struct udpmig_buf_stats st;
	unsigned int in_use = rte_mempool_in_use_count(pool);
	uint32_t tags[4];

	CU_ASSERT_FATAL(b != NULL);
	put(b, 0, 0, 8, PKT_LEN);
	put(b, 1, 8, 8, PKT_LEN);
	CU_ASSERT(udpmig_buf_flush(b) == 16);
	CU_ASSERT(rte_mempool_in_use_count(pool) == in_use);
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.drop_flush == 16 && st.held == 0);
	/* Sequence numbers are never reused. */
	put(b, 0, 50, 1, PKT_LEN);
	CU_ASSERT(drain(b, tags, 4, pool) == 1);
	udpmig_buf_stats_get(b, &st);
	CU_ASSERT(st.next_seq == 17);
	/* Freeing with packets held counts them too (no leak: pool back). */
	put(b, 1, 60, 3, PKT_LEN);
	udpmig_buf_free(b);
	CU_ASSERT(rte_mempool_in_use_count(pool) == in_use);
}

static void
test_producers_interleaved(void)
{
	struct udpmig_buf_conf c = conf_of(64, 256, UDPMIG_BUF_DROP_NEWEST, 3);
	struct udpmig_buf *b = udpmig_buf_create(&c);
	uint32_t tags[300];
	unsigned int i, n;

	CU_ASSERT_FATAL(b != NULL);
	/* Bursts from three producers, spread over both tiers. */
	for (i = 0; i < 30; i++)
		put(b, (uint16_t)(i % 3), i * 10, 10, PKT_LEN);
	n = drain(b, tags, 300, pool);
	CU_ASSERT(n == 300);
	for (i = 0; i < n; i++)
		CU_ASSERT(tags[i] == i);
	udpmig_buf_free(b);
}

/* The multi-lcore stress. */
#define STRESS_MAX_PRODUCERS 4
#define STRESS_HIGH_WATER    16384

static struct udpmig_buf *stress_buf;
static volatile int stress_go;
static uint32_t stress_pkts; /* per producer */
static bool stress_backoff; /* producers wait at the high water: no drop */
static uint64_t stress_sent[STRESS_MAX_PRODUCERS];

static int
stress_producer(void *arg)
{
	uint16_t id = (uint16_t)(uintptr_t)arg;
	struct rte_mbuf *m[32];
	uint32_t next = 0, i, k;

	while (!__atomic_load_n(&stress_go, __ATOMIC_ACQUIRE))
		rte_pause();
	while (next < stress_pkts) {
		k = RTE_MIN(stress_pkts - next, 1u + (next % 32));
		if ((stress_backoff && udpmig_buf_count(stress_buf) > STRESS_HIGH_WATER) ||
			rte_pktmbuf_alloc_bulk(pool, m, k) != 0) {
			rte_pause();
			continue;
		}
		for (i = 0; i < k; i++) {
			uint32_t tag = ((uint32_t)id << 24) | (next + i);

			memcpy(rte_pktmbuf_append(m[i], PKT_LEN), &tag, sizeof(tag));
		}
		udpmig_buf_enqueue_burst(stress_buf, id, m, k);
		next += k;
	}
	stress_sent[id] = next;
	return 0;
}

static void
stress_run(uint32_t pkts, bool backoff)
{
	struct udpmig_buf_conf c = conf_of(2048, 65536, UDPMIG_BUF_DROP_NEWEST, 0);
	uint32_t last_of[STRESS_MAX_PRODUCERS];
	uint64_t got = 0, expect_seq = 0, holes = 0, total = 0, order_errors = 0;
	struct udpmig_buf_stats st;
	struct rte_mbuf *m[64];
	unsigned int lcore, n_prod = 0, i, k;
	int running;

	RTE_LCORE_FOREACH_WORKER (lcore)
		if (n_prod < STRESS_MAX_PRODUCERS)
			n_prod++;
	CU_ASSERT_FATAL(n_prod >= 2);
	c.n_producers = (uint16_t)n_prod;
	c.t2_slot_size = 64;
	stress_buf = udpmig_buf_create(&c);
	CU_ASSERT_FATAL(stress_buf != NULL);
	stress_pkts = pkts;
	stress_backoff = backoff;
	__atomic_store_n(&stress_go, 0, __ATOMIC_RELEASE);
	memset(last_of, 0xff, sizeof(last_of));
	i = 0;
	RTE_LCORE_FOREACH_WORKER (lcore)
		if (i < n_prod)
			rte_eal_remote_launch(stress_producer, (void *)(uintptr_t)i++, lcore);
	__atomic_store_n(&stress_go, 1, __ATOMIC_RELEASE);

	do {
		running = 0;
		RTE_LCORE_FOREACH_WORKER (lcore)
			if (rte_eal_get_lcore_state(lcore) != WAIT)
				running = 1;
		while ((k = udpmig_buf_dequeue_burst(stress_buf, m, 64, pool)) > 0) {
			for (i = 0; i < k; i++) {
				uint64_t s = udpmig_buf_seq_get(m[i]);
				uint32_t tag = pkt_tag(m[i]), id = tag >> 24, n = tag & 0xffffff;

				if (s < expect_seq)
					order_errors++;
				else
					holes += s - expect_seq;
				expect_seq = s + 1;
				/* Each producer's own packets keep its order too. */
				if (id >= n_prod || (last_of[id] != UINT32_MAX && n <= last_of[id]))
					order_errors++;
				else
					last_of[id] = n;
				got++;
			}
			rte_pktmbuf_free_bulk(m, k);
		}
	} while (running);
	rte_eal_mp_wait_lcore();
	for (i = 0; i < n_prod; i++)
		total += stress_sent[i];
	udpmig_buf_stats_get(stress_buf, &st);
	printf("\n  stress%s: %u producers, %" PRIu64 " packets, %" PRIu64 " delivered, %" PRIu64
	       " dropped (buffer full), %" PRIu64 " via tier 2\n",
		backoff ? " (producers back off)" : "", n_prod, total, got, st.drop_newest,
		st.t2_pkts);
	CU_ASSERT(order_errors == 0);
	CU_ASSERT(total == (uint64_t)n_prod * pkts);
	CU_ASSERT(st.enq_pkts == total);
	CU_ASSERT(got + st.drop_newest == total);
	/* Every missing sequence number is a counted drop, nothing else. */
	CU_ASSERT(holes + (st.next_seq - expect_seq) == st.drop_newest);
	CU_ASSERT(st.held == 0);
	if (backoff) {
		/* Every sequence number delivered exactly once, in order. */
		CU_ASSERT(st.drop_newest == 0 && holes == 0 && got == total);
		CU_ASSERT(expect_seq == total);
		CU_ASSERT(st.t2_pkts > 0);
	}
	udpmig_buf_free(stress_buf);
}

static void
test_stress_lossless(void)
{
	stress_run(1000000, true);
}

static void
test_stress_overflow(void)
{
	stress_run(300000, false);
}

static int
reg(int argc, char **argv)
{
	CU_pSuite s;

	(void)argc;
	(void)argv;
	/* Three producer lcores and the consumer on the machine's CPUs. */
	if (unit_eal_init("test_buf", "0@0,1@1,2@0,3@1") < 0) {
		fprintf(stderr, "test_buf: EAL init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	pool = rte_pktmbuf_pool_create(
		"ut_pool", POOL_SIZE, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	small_pool = rte_pktmbuf_pool_create(
		"ut_small", 511, 0, 0, RTE_PKTMBUF_HEADROOM + 128, SOCKET_ID_ANY);
	if (pool == NULL || small_pool == NULL)
		return -1;
	s = CU_add_suite("udpmig_buf", NULL, NULL);
	if (s == NULL)
		return -1;
	if (CU_add_test(s, "create: bad configurations", test_create_errors) == NULL ||
		CU_add_test(s, "api: bad arguments", test_api_errors) == NULL ||
		CU_add_test(s, "policy names", test_policy_names) == NULL ||
		CU_add_test(s, "next_seq and consumed", test_next_seq_and_consumed) == NULL ||
		CU_add_test(s, "tier 1: in order", test_tier1_in_order) == NULL ||
		CU_add_test(s, "tier 2: spill past the quota", test_spill_to_tier2) == NULL ||
		CU_add_test(s, "tier 2: only, in a file", test_tier2_only_and_file) == NULL ||
		CU_add_test(s, "full: drop-newest", test_full_drop_newest) == NULL ||
		CU_add_test(s, "full: drop-oldest", test_full_drop_oldest) == NULL ||
		CU_add_test(s, "tier 2: packet over the slot size", test_too_big_for_slot) ==
			NULL ||
		CU_add_test(s, "tier 2: chained in and out", test_chained_in_and_out) == NULL ||
		CU_add_test(s, "dequeue: no mbuf keeps the packet", test_nomem_keeps_packet) ==
			NULL ||
		CU_add_test(s, "flush", test_flush) == NULL ||
		CU_add_test(s, "producers interleaved", test_producers_interleaved) == NULL ||
		CU_add_test(s, "stress: producer lcores, one consumer, every packet",
			test_stress_lossless) == NULL ||
		CU_add_test(s, "stress: producer lcores, overflowing, drops counted",
			test_stress_overflow) == NULL)
		return -1;
	return 0;
}

UNIT_MAIN(reg)
