/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop: poll the (port, rx queue) pairs assigned to this
 * lcore, learn source MACs, forward known unicast, flood the rest; hand
 * what arrives for the migration tunnel to the driver, and on the tx owner
 * of the tunnel's port send what the driver's tunnel gives
 * (rte_pmd_vhook.h).
 *
 * No lock, no allocation (mempools aside), no log: every packet that is
 * not sent is counted in this worker's struct sw_stats.
 */
#include <rte_branch_prediction.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include <rte_pmd_vhook.h>

#include "switch.h"

/* The tx queue of port @p this worker may use itself (see switch.h). */
static inline uint16_t
tx_queue(const struct sw_worker *w, const struct sw_port *p)
{
	return p->txq_per_worker ? (uint16_t)w->idx : 0;
}

/* Send what this burst collected for port @out. */
static void
tx_flush(struct sw_worker *w, uint16_t out)
{
	struct sw_txbuf *b = &w->tx[out];
	struct sw_port *p = &sw.ports[out];
	uint16_t sent;

	if (p->txq_per_worker || p->tx_owner == w->idx) {
		sent = rte_eth_tx_burst(p->port_id, tx_queue(w, p), b->pkts, b->n);
		w->stats[out].tx += sent;
	} else {
		/* The owner sends them and counts them (tx_ring_drain()). */
		sent = (uint16_t)rte_ring_mp_enqueue_burst(p->txr, (void **)b->pkts, b->n, NULL);
	}
	if (unlikely(sent < b->n)) {
		rte_pktmbuf_free_bulk(b->pkts + sent, b->n - sent);
		w->stats[out].tx_drop += b->n - sent;
	}
	b->n = 0;
}

static void
tx_flush_all(struct sw_worker *w)
{
	uint16_t i;

	for (i = 0; i < w->nb_dirty; i++)
		tx_flush(w, w->dirty[i]);
	w->nb_dirty = 0;
}

/*
 * Queue @m for port @out. A txbuf holds one rx burst's worth: each packet
 * of a burst adds at most one mbuf per output port, and every burst ends
 * with tx_flush_all().
 */
static inline void
tx_add(struct sw_worker *w, uint16_t out, struct rte_mbuf *m)
{
	struct sw_txbuf *b = &w->tx[out];

	if (b->n == 0)
		w->dirty[w->nb_dirty++] = out;
	b->pkts[b->n++] = m;
}

/* Tx owner of port @idx: send what other workers forwarded to it. */
static void
tx_ring_drain(struct sw_worker *w, uint16_t idx)
{
	struct sw_port *p = &sw.ports[idx];
	struct rte_mbuf *pkts[SW_BURST_MAX];
	unsigned int n;
	uint16_t sent;

	n = rte_ring_sc_dequeue_burst(p->txr, (void **)pkts, SW_BURST_MAX, NULL);
	if (n == 0)
		return;
	sent = rte_eth_tx_burst(p->port_id, 0, pkts, (uint16_t)n);
	w->stats[idx].tx += sent;
	if (unlikely(sent < n)) {
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
		w->stats[idx].tx_drop += n - sent;
	}
}

/*
 * To every port but @in. Each port but the last gets an indirect clone
 * (its own mbuf header: a PMD may stamp or hold it), the last gets @m.
 */
static void
flood(struct sw_worker *w, uint16_t in, struct rte_mbuf *m)
{
	struct sw_stats *st = &w->stats[in];
	uint16_t last = in == sw.nb_ports - 1 ? sw.nb_ports - 2 : sw.nb_ports - 1;
	struct rte_mbuf *c;
	uint16_t out;

	if (unlikely(sw.nb_ports < 2)) {
		st->filtered++;
		rte_pktmbuf_free(m);
		return;
	}
	st->flood++;
	for (out = 0; out < last; out++) {
		if (out == in)
			continue;
		c = rte_pktmbuf_clone(m, sw.clone_pool);
		if (unlikely(c == NULL)) {
			st->no_mbuf++;
			continue;
		}
		tx_add(w, out, c);
	}
	tx_add(w, last, m);
}

/* Where one frame goes: a known port, or every other port. */
static void
forward_one(struct sw_worker *w, uint16_t in, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct sw_stats *st = &w->stats[in];
	uint16_t out;
	int ret;

	if (rte_is_multicast_ether_addr(&eth->dst_addr)) {
		flood(w, in, m);
	} else if ((ret = sw_mac_lookup_dst(&eth->dst_addr, in, &out)) < 0) {
		st->unknown++;
		flood(w, in, m);
	} else if (unlikely(ret == 1)) {
		/* Sent to the MAC's old place before it moved here (mac.c). */
		st->moved_tail++;
		tx_add(w, out, m);
	} else if (unlikely(out == in)) {
		/* The destination sits behind the port it came from. */
		st->filtered++;
		rte_pktmbuf_free(m);
	} else {
		tx_add(w, out, m);
	}
}

/*
 * A frame whose source MAC moved to this port (a VM resumed here and
 * announces itself) waits until the table has the move (the main lcore
 * applies learn events) or SW_MOVED_WAIT_US passed. Forwarded at once, the
 * announcement moves the network's tables before ours, and the VM's
 * packets that then arrive on the uplink would be dropped here as
 * hairpins (they were, in the first migration test).
 */
#define SW_MOVED_WAIT_US 20000

static void
moved_release(struct sw_worker *w, bool all)
{
	uint64_t wait = rte_get_tsc_hz() / 1000000 * SW_MOVED_WAIT_US, now = rte_get_tsc_cycles();
	uint16_t i, k = 0, port;

	for (i = 0; i < w->nb_moved; i++) {
		struct rte_mbuf *m = w->moved[i].m;
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

		if (all || now - w->moved[i].since >= wait ||
			(sw_mac_lookup(&eth->src_addr, &port) == 0 && port == w->moved[i].in))
			forward_one(w, w->moved[i].in, m);
		else
			w->moved[k++] = w->moved[i];
	}
	w->nb_moved = k;
}

static void
forward(struct sw_worker *w, uint16_t in, struct rte_mbuf **pkts, uint16_t n)
{
	struct sw_stats *st = &w->stats[in];
	struct rte_ether_hdr *eth;
	struct rte_mbuf *m;
	uint16_t i;

	for (i = 0; i < n; i++) {
		m = pkts[i];
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN)) {
			st->filtered++;
			rte_pktmbuf_free(m);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		if (unlikely(sw_mac_learn(w, &eth->src_addr, in) != 0) &&
			w->nb_moved < SW_MOVED_MAX) {
			w->moved[w->nb_moved].m = m;
			w->moved[w->nb_moved].in = in;
			w->moved[w->nb_moved++].since = rte_get_tsc_cycles();
			continue;
		}
		forward_one(w, in, m);
	}
	sw_mac_learn_flush(w);
	tx_flush_all(w);
}

/*
 * The tunnel's port, any of its rx queues: hand the tunnel's packets to
 * the driver, in one batch (rte_pmd_vhook_tun_input() takes several
 * callers at once).
 * Returns how many packets are left in @pkts for switching (order kept):
 * none on a --tunnel-dev port, where the rest is dropped and counted.
 */
static uint16_t
tun_input(struct sw_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *tun[SW_BURST_MAX];
	struct sw_stats *st = &w->stats[sw.tun_idx];
	uint16_t nt = 0, nl = 0, took, i;

	for (i = 0; i < n; i++) {
		if (rte_pmd_vhook_tun_match(pkts[i]))
			tun[nt++] = pkts[i];
		else
			pkts[nl++] = pkts[i];
	}
	if (nl > 0 && sw.tun_idx != 0) {
		/* A --tunnel-dev port carries the tunnel only. */
		rte_pktmbuf_free_bulk(pkts, nl);
		st->filtered += nl;
		nl = 0;
	}
	if (nt == 0)
		return nl;
	took = rte_pmd_vhook_tun_input(tun, nt);
	st->tun_rx += took;
	if (unlikely(took < nt)) {
		rte_pktmbuf_free_bulk(tun + took, nt - took);
		st->tun_rx_drop += nt - took;
	}
	return nl;
}

/*
 * The tunnel port's tx owner (one caller: the driver's out ring has one
 * consumer): send what the driver wants on the wire. What the
 * port does not take (a full memif ring) is kept and goes first next
 * time: freed, every such packet cost a retransmission round trip. While
 * some wait, nothing new is taken: the driver's ring holds the rest.
 */
static void
tun_output(struct sw_worker *w)
{
	struct sw_stats *st = &w->stats[sw.tun_idx];
	uint16_t sent;

	if (w->tun_n == 0) {
		w->tun_head = 0;
		w->tun_n = rte_pmd_vhook_tun_output(w->tun_pend, SW_BURST_MAX);
		if (w->tun_n == 0)
			return;
	}
	sent = rte_eth_tx_burst(sw.ports[sw.tun_idx].port_id, tx_queue(w, &sw.ports[sw.tun_idx]),
		w->tun_pend + w->tun_head, w->tun_n);
	st->tx += sent;
	st->tun_tx += sent;
	w->tun_head += sent;
	w->tun_n -= sent;
}

/* At the end: what the tunnel's port never took is dropped and counted. */
static void
tun_output_flush(struct sw_worker *w)
{
	if (w->tun_n == 0)
		return;
	rte_pktmbuf_free_bulk(w->tun_pend + w->tun_head, w->tun_n);
	w->stats[sw.tun_idx].tx_drop += w->tun_n;
	w->tun_n = 0;
}

int
sw_worker_main(void *arg)
{
	struct sw_worker *w = arg;
	struct rte_mbuf *pkts[SW_BURST_MAX];
	const uint16_t burst = sw.opts.burst;
	const bool tun_out = w->tunnel && sw.tunnel;
	struct sw_rxq *rq;
	uint16_t i, idx, n;

	if (w->nb_rxqs == 0) {
		SW_LOG(NOTICE, "lcore %u: no rx queue to poll, idle", w->lcore_id);
		return 0;
	}
	sw_mac_reader_online(w->idx);
	for (;;) {
		if (__atomic_load_n(&sw.force_quit, __ATOMIC_RELAXED))
			break;
		for (i = 0; i < w->nb_rxqs; i++) {
			rq = &w->rxqs[i];
			idx = rq->idx;
			/* Its rx queue 0 is polled by the port's tx owner. */
			if (rq->qid == 0 && sw.ports[idx].txr != NULL)
				tx_ring_drain(w, idx);
			n = rte_eth_rx_burst(sw.ports[idx].port_id, rq->qid, pkts, burst);
			if (n == 0)
				continue;
			rq->pkts += n;
			w->stats[idx].rx += n;
			if (sw.tunnel && idx == sw.tun_idx) {
				n = tun_input(w, pkts, n);
				if (n == 0)
					continue;
			}
			forward(w, idx, pkts, n);
		}
		if (unlikely(w->nb_moved > 0)) {
			moved_release(w, false);
			tx_flush_all(w);
		}
		if (tun_out)
			tun_output(w);
		sw_mac_reader_quiescent(w->idx);
	}
	moved_release(w, true);
	tx_flush_all(w);
	tun_output_flush(w);
	sw_mac_reader_offline(w->idx);
	return 0;
}
