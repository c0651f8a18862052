/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The MAC table: MAC -> switch port index.
 *
 * One writer, the main lcore; the workers only read, lock-free
 * (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF). A worker that sees an unknown
 * source MAC, or a known one on another port, posts a learn event on a
 * multi-producer ring; the main lcore applies the events every loop (about
 * every millisecond). So the datapath never takes the hash's writer path,
 * and the table needs no lock at all.
 *
 * An entry's data is its port, and for a MAC that moved, the port it
 * moved from and when (mac_data()). A frame that comes in on the port its
 * destination MAC moved to less than SW_MAC_MOVE_GRACE_MS ago goes to the
 * old port instead of being dropped as a hairpin (sw_mac_lookup_dst()):
 * with several rx queues, the frame that moved the MAC (a migrated VM's
 * announcement) and frames sent to the old place before it can come in on
 * different queues, polled by different workers, and the older frames may
 * be looked up after the move. On one queue they came first.
 *
 * Aging: a worker stamps seen[key position] with the coarse clock sw.now
 * (a racy store of the same value from several workers is harmless). The
 * main lcore deletes keys not stamped for --mac-aging seconds. A deleted
 * key's slot is reused only once every worker has passed a quiescent state
 * (rte_hash's integrated RCU QSBR, defer-queue mode), so a worker never
 * reads a slot reused for another MAC during its lookup.
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "switch.h"

#define MAC_ENTRIES     65536 /* table size */
#define LEARN_RING_SIZE 4096 /* learn events between two control loops */
#define AGE_BATCH       256 /* keys deleted per aging pass at most */

static struct {
	struct rte_hash *h;
	uint32_t *seen; /* by key position: sw.now of the last packet from it */
	uint32_t nb_seen;
	struct rte_ring *learn; /* MP/SC: sw_mac_event() values */
	struct rte_rcu_qsbr *qsbr;
	uint64_t learn_full; /* main lcore: table full, event not applied */
} mt;

/* An entry's data: port (bits 0-15), the port it moved from (16-31,
 * MAC_NO_PORT: none) and when (32-63, sw.now_ms). */
#define MAC_NO_PORT 0xffffu

static inline void *
mac_data(uint16_t port, uint16_t prev, uint32_t ms)
{
	return (void *)(uintptr_t)((uint64_t)port | (uint64_t)prev << 16 | (uint64_t)ms << 32);
}

/* A learn event: the MAC in the low 48 bits, the port above. */
static inline uint64_t
mac_event(const struct rte_ether_addr *mac, uint16_t port)
{
	uint64_t v = (uint64_t)port << 48;
	unsigned int i;

	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		v |= (uint64_t)mac->addr_bytes[i] << (8 * i);
	return v;
}

static inline void
mac_event_split(uint64_t v, struct rte_ether_addr *mac, uint16_t *port)
{
	unsigned int i;

	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(v >> (8 * i));
	*port = (uint16_t)(v >> 48);
}

int
sw_mac_init(unsigned int nb_readers)
{
	struct rte_hash_parameters hp = {
		.name = "sw_mac",
		.entries = MAC_ENTRIES,
		.key_len = RTE_ETHER_ADDR_LEN,
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct rte_hash_rcu_config rc = {
		.mode = RTE_HASH_QSBR_MODE_DQ,
	};
	size_t sz;
	int32_t max;
	int ret;

	sz = rte_rcu_qsbr_get_memsize(nb_readers);
	mt.qsbr = rte_zmalloc("sw_mac_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (mt.qsbr == NULL)
		return -ENOMEM;
	if (rte_rcu_qsbr_init(mt.qsbr, nb_readers) != 0) {
		ret = -rte_errno;
		goto fail;
	}
	mt.h = rte_hash_create(&hp);
	if (mt.h == NULL) {
		ret = -rte_errno;
		goto fail;
	}
	rc.v = mt.qsbr;
	if (rte_hash_rcu_qsbr_add(mt.h, &rc) != 0) {
		ret = -rte_errno;
		goto fail;
	}
	max = rte_hash_max_key_id(mt.h);
	if (max < 0) {
		ret = -EINVAL;
		goto fail;
	}
	mt.nb_seen = (uint32_t)max + 1;
	mt.seen = rte_zmalloc("sw_mac_seen", mt.nb_seen * sizeof(*mt.seen), RTE_CACHE_LINE_SIZE);
	if (mt.seen == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	mt.learn = rte_ring_create_elem(
		"sw_learn", sizeof(uint64_t), LEARN_RING_SIZE, (int)rte_socket_id(), RING_F_SC_DEQ);
	if (mt.learn == NULL) {
		ret = -rte_errno;
		goto fail;
	}
	return 0;
fail:
	sw_mac_free();
	return ret < 0 ? ret : -EINVAL;
}

/* Only once no worker runs. Accepts a partly built table. */
void
sw_mac_free(void)
{
	rte_ring_free(mt.learn);
	mt.learn = NULL;
	rte_free(mt.seen);
	mt.seen = NULL;
	rte_hash_free(mt.h);
	mt.h = NULL;
	rte_free(mt.qsbr);
	mt.qsbr = NULL;
}

/* Main lcore: apply the workers' learn events. */
void
sw_mac_apply(void)
{
	uint64_t ev[64], old;
	struct rte_ether_addr mac;
	unsigned int n, i;
	uint16_t port;
	int32_t pos;
	void *data;

	do {
		n = rte_ring_sc_dequeue_burst_elem(mt.learn, ev, sizeof(ev[0]), RTE_DIM(ev), NULL);
		for (i = 0; i < n; i++) {
			mac_event_split(ev[i], &mac, &port);
			if (port >= sw.nb_ports)
				continue;
			/* Adds, or moves a known MAC (the data changes atomically);
			 * a move remembers where from, and when. */
			if (rte_hash_lookup_data(mt.h, &mac, &data) < 0) {
				data = mac_data(port, MAC_NO_PORT, 0);
			} else {
				old = (uintptr_t)data;
				if ((uint16_t)old != port)
					data = mac_data(port, (uint16_t)old,
						__atomic_load_n(&sw.now_ms, __ATOMIC_RELAXED));
			}
			if (rte_hash_add_key_data(mt.h, &mac, data) != 0) {
				mt.learn_full++;
				continue;
			}
			pos = rte_hash_lookup(mt.h, &mac);
			if (pos >= 0 && (uint32_t)pos < mt.nb_seen)
				__atomic_store_n(&mt.seen[pos], sw.now, __ATOMIC_RELAXED);
		}
	} while (n == RTE_DIM(ev));
}

/* Main lcore: forget MACs not seen for more than max_age seconds. */
void
sw_mac_age(uint32_t now, uint32_t max_age)
{
	struct rte_ether_addr old[AGE_BATCH];
	const void *key;
	unsigned int n = 0, i;
	uint32_t next = 0;
	void *data;
	int32_t pos;

	if (max_age == 0)
		return;
	while (n < AGE_BATCH && (pos = rte_hash_iterate(mt.h, &key, &data, &next)) >= 0) {
		uint32_t seen = __atomic_load_n(&mt.seen[pos], __ATOMIC_RELAXED);

		if (now - seen > max_age)
			rte_ether_addr_copy(key, &old[n++]);
	}
	/* Deleted after the walk: a delete may move keys under the iterator. */
	for (i = 0; i < n; i++)
		rte_hash_del_key(mt.h, &old[i]);
}

uint32_t
sw_mac_count(void)
{
	int32_t n = mt.h != NULL ? rte_hash_count(mt.h) : 0;

	return n > 0 ? (uint32_t)n : 0;
}

uint64_t
sw_mac_learn_full(void)
{
	return mt.learn_full;
}

void
sw_mac_reader_online(unsigned int idx)
{
	rte_rcu_qsbr_thread_register(mt.qsbr, idx);
	rte_rcu_qsbr_thread_online(mt.qsbr, idx);
}

void
sw_mac_reader_quiescent(unsigned int idx)
{
	rte_rcu_qsbr_quiescent(mt.qsbr, idx);
}

void
sw_mac_reader_offline(unsigned int idx)
{
	rte_rcu_qsbr_thread_offline(mt.qsbr, idx);
	rte_rcu_qsbr_thread_unregister(mt.qsbr, idx);
}

/* Worker: the port of a unicast MAC; 0, or -ENOENT. */
int
sw_mac_lookup(const struct rte_ether_addr *mac, uint16_t *port)
{
	void *data;

	if (rte_hash_lookup_data(mt.h, mac, &data) < 0)
		return -ENOENT;
	*port = (uint16_t)(uintptr_t)data;
	return 0;
}

/*
 * Worker: where a frame to @mac that came in on port @in goes. 0 (its
 * port), 1 when the MAC moved to @in less than SW_MAC_MOVE_GRACE_MS ago
 * and *port is the port it moved from, or -ENOENT.
 */
int
sw_mac_lookup_dst(const struct rte_ether_addr *mac, uint16_t in, uint16_t *port)
{
	uint32_t now;
	uint64_t d;
	void *data;

	if (rte_hash_lookup_data(mt.h, mac, &data) < 0)
		return -ENOENT;
	d = (uintptr_t)data;
	*port = (uint16_t)d;
	if (likely(*port != in) || (uint16_t)(d >> 16) == MAC_NO_PORT)
		return 0;
	now = __atomic_load_n(&sw.now_ms, __ATOMIC_RELAXED);
	if (now - (uint32_t)(d >> 32) >= SW_MAC_MOVE_GRACE_MS)
		return 0;
	*port = (uint16_t)(d >> 16);
	return 1;
}

/*
 * Worker: a packet from @src came in on port @in. Refresh a known MAC;
 * queue an event for an unknown or moved one (sent by
 * sw_mac_learn_flush() at the end of the burst). Returns 1 when the MAC
 * was known behind another port (it moved), else 0.
 */
int
sw_mac_learn(struct sw_worker *w, const struct rte_ether_addr *src, uint16_t in)
{
	void *data;
	int32_t pos;
	uint64_t ev;

	if (unlikely(!rte_is_unicast_ether_addr(src) || rte_is_zero_ether_addr(src)))
		return 0;
	pos = rte_hash_lookup_data(mt.h, src, &data);
	if (likely(pos >= 0 && (uint16_t)(uintptr_t)data == in)) {
		uint32_t now = __atomic_load_n(&sw.now, __ATOMIC_RELAXED);

		/* Write only when it changes: no cache line bouncing per packet. */
		if ((uint32_t)pos < mt.nb_seen &&
			__atomic_load_n(&mt.seen[pos], __ATOMIC_RELAXED) != now)
			__atomic_store_n(&mt.seen[pos], now, __ATOMIC_RELAXED);
		return 0;
	}
	ev = mac_event(src, in);
	if (w->nb_learn > 0 && w->learn[w->nb_learn - 1] == ev)
		return pos >= 0;
	if (w->nb_learn < RTE_DIM(w->learn))
		w->learn[w->nb_learn++] = ev;
	return pos >= 0;
}

void
sw_mac_learn_flush(struct sw_worker *w)
{
	unsigned int done;

	if (w->nb_learn == 0)
		return;
	done = rte_ring_mp_enqueue_burst_elem(
		mt.learn, w->learn, sizeof(w->learn[0]), w->nb_learn, NULL);
	w->learn_drop += w->nb_learn - done;
	w->nb_learn = 0;
}
