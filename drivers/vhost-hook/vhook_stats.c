/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_vhook counters: ethdev stats and xstats, and the same list for the
 * control socket and telemetry, so that every view shows one set of
 * names. Lock-free: each counter has one writer and is read relaxed
 * (OVS polls these while the datapath runs).
 */
#include <string.h>

#include <ethdev_driver.h>

#include "vhook.h"

/*
 * Names of the per-port counters, in vhook_counters_get() order. ethdev's
 * convention: packets lost end in "_dropped", failures in "_errors" (as
 * rx_missed_errors, rx_mbuf_allocation_errors). Open vSwitch copies into
 * its Interface statistics only the xstats so named (netdev-dpdk.c,
 * netdev_dpdk_configure_xstats()), so every drop and error shows there;
 * the other counters must not take those suffixes.
 */
static const char *const counter_names[VHOOK_N_COUNTERS] = {
	"udpmig_vm_packets",
	"udpmig_delivered_packets",
	"udpmig_intercepted_packets",
	"udpmig_injected_packets",
	"udpmig_tunneled_packets",
	"udpmig_inject_dropped",
	"udpmig_tx_missed_errors",
	"udpmig_own_frames_dropped",
	"udpmig_buf_enqueued_packets",
	"udpmig_buf_tier1_packets",
	"udpmig_buf_tier2_packets",
	"udpmig_buf_tier2_bytes",
	"udpmig_buf_dequeued_packets",
	"udpmig_buf_newest_dropped",
	"udpmig_buf_oldest_dropped",
	"udpmig_buf_flush_dropped",
	"udpmig_buf_too_big_for_slot_packets",
	"udpmig_buf_mbuf_allocation_errors",
	"udpmig_buf_held_packets",
	"udpmig_buf_tier1_held_packets",
	"udpmig_buf_tier2_held_packets",
	"udpmig_buf_next_seq",
	"udpmig_migrations",
	"udpmig_local_returns",
	"udpmig_transitions",
	"udpmig_inject_ring_full",
	"udpmig_state",
	"udpmig_mode",
	"udpmig_events_dropped",
};

const char *
vhook_counter_name(unsigned int i)
{
	return i < VHOOK_N_COUNTERS ? counter_names[i] : NULL;
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void
vhook_counters_get(const struct vhook_port *p, uint64_t v[VHOOK_N_COUNTERS])
{
	struct udpmig_vm_stats vs;
	struct udpmig_buf_stats bs;
	uint64_t missed = 0, own = 0;
	unsigned int i = 0, q;

	memset(&vs, 0, sizeof(vs));
	memset(&bs, 0, sizeof(bs));
	if (p->vm != NULL)
		udpmig_vm_stats_get(p->vm, &vs);
	if (p->buf != NULL)
		udpmig_buf_stats_get(p->buf, &bs);
	for (q = 0; q < VHOOK_MAX_QUEUES; q++)
		if (p->txq[q] != NULL)
			missed += LOAD(p->txq[q]->stats.missed);
	for (q = 0; q < VHOOK_MAX_QUEUES; q++)
		if (p->txq[q] != NULL)
			own += LOAD(p->txq[q]->stats.own);
	v[i++] = vs.rx_pkts;
	v[i++] = vs.delivered_pkts;
	v[i++] = vs.intercepted_pkts;
	v[i++] = vs.injected_pkts;
	v[i++] = vs.tunneled_pkts;
	v[i++] = vs.drop_pkts;
	v[i++] = missed;
	v[i++] = own;
	v[i++] = bs.enq_pkts;
	v[i++] = bs.t1_pkts;
	v[i++] = bs.t2_pkts;
	v[i++] = bs.t2_bytes;
	v[i++] = bs.deq_pkts;
	v[i++] = bs.drop_newest;
	v[i++] = bs.drop_oldest;
	v[i++] = bs.drop_flush;
	v[i++] = bs.spill_too_big;
	v[i++] = bs.deq_nomem;
	v[i++] = bs.held;
	v[i++] = bs.t1_held;
	v[i++] = bs.t2_held;
	v[i++] = bs.next_seq;
	v[i++] = LOAD(p->migrations);
	v[i++] = LOAD(p->aborts);
	v[i++] = LOAD(p->transitions);
	v[i++] = LOAD(p->inject_full);
	v[i++] = LOAD(p->state_pub);
	v[i++] = LOAD(p->mode);
	v[i++] = LOAD(vhook_global.ev_dropped);
	RTE_VERIFY(i == VHOOK_N_COUNTERS);
}

int
vhook_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct vhook_port *p = dev->data->dev_private;
	unsigned int i;

	for (i = 0; i < VHOOK_MAX_QUEUES; i++) {
		const struct vhook_queue *rq = p->rxq[i], *tq = p->txq[i];

		if (rq != NULL) {
			uint64_t n = LOAD(rq->stats.pkts), b = LOAD(rq->stats.bytes);

			st->ipackets += n;
			st->ibytes += b;
			if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
				st->q_ipackets[i] = n;
				st->q_ibytes[i] = b;
			}
		}
		if (tq != NULL) {
			uint64_t n = LOAD(tq->stats.pkts), b = LOAD(tq->stats.bytes);

			st->opackets += n;
			st->obytes += b;
			st->oerrors += LOAD(tq->stats.missed);
			if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
				st->q_opackets[i] = n;
				st->q_obytes[i] = b;
			}
		}
	}
	return 0;
}

int
vhook_stats_reset(struct rte_eth_dev *dev)
{
	struct vhook_port *p = dev->data->dev_private;
	unsigned int i;

	/* Racy against a running datapath, like every PMD's reset. */
	for (i = 0; i < VHOOK_MAX_QUEUES; i++) {
		if (p->rxq[i] != NULL)
			memset(&p->rxq[i]->stats, 0, sizeof(p->rxq[i]->stats));
		if (p->txq[i] != NULL)
			memset(&p->txq[i]->stats, 0, sizeof(p->txq[i]->stats));
	}
	return 0;
}

int
vhook_xstats_get_names(
	struct rte_eth_dev *dev __rte_unused, struct rte_eth_xstat_name *names, unsigned int size)
{
	unsigned int i;

	if (names == NULL || size < VHOOK_N_COUNTERS)
		return VHOOK_N_COUNTERS;
	for (i = 0; i < VHOOK_N_COUNTERS; i++)
		strlcpy(names[i].name, counter_names[i], sizeof(names[i].name));
	return VHOOK_N_COUNTERS;
}

int
vhook_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n)
{
	uint64_t v[VHOOK_N_COUNTERS];
	unsigned int i;

	if (xs == NULL || n < VHOOK_N_COUNTERS)
		return VHOOK_N_COUNTERS;
	vhook_counters_get(dev->data->dev_private, v);
	for (i = 0; i < VHOOK_N_COUNTERS; i++) {
		xs[i].id = i;
		xs[i].value = v[i];
	}
	return VHOOK_N_COUNTERS;
}
