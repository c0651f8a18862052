/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_vhook burst functions. A plain vhost-user port in DIRECT mode; in
 * INTERCEPT mode tx stamps the packets and hands them to the VM's
 * buffer. No locks, no allocation, no logs: every outcome is a counter.
 *
 * Each burst runs between two increments of its queue's epoch (odd while
 * inside). destroy_device and mode changes wait for a queue to leave the
 * burst it is in (vhook_quiesce()), which is what lets them take the
 * virtqueue away without a lock on the datapath.
 */
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_vhost.h>

#include "vhook.h"

uint16_t
vhook_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhook_queue *rxq = q;
	struct vhook_port *p = rxq->port;
	uint16_t got = 0, i;

	vhook_epoch_enter(&rxq->epoch);
	/* The VM's announcement after it resumed here: it comes up from the
	 * VM's port, so the switch above learns where the VM is, and floods it
	 * so the network does too. */
	if (unlikely(__atomic_load_n(&p->announce, __ATOMIC_RELAXED) != NULL) && rxq->qid == 0 &&
		n > 0) {
		struct rte_mbuf *m = __atomic_exchange_n(&p->announce, NULL, __ATOMIC_ACQUIRE);

		if (m != NULL) {
			m->port = rxq->port_id;
			pkts[got++] = m;
		}
	}
	if (likely(__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE))) {
		while (got < n) {
			uint16_t want = RTE_MIN((uint16_t)(n - got), (uint16_t)VHOOK_BURST);
			uint16_t k = rte_vhost_dequeue_burst(
				p->vid, rxq->vring, rxq->mp, pkts + got, want);

			got += k;
			if (k < want)
				break;
		}
		for (i = 0; i < got; i++) {
			pkts[i]->port = rxq->port_id;
			rxq->stats.bytes += pkts[i]->pkt_len;
		}
		rxq->stats.pkts += got;
	}
	vhook_epoch_leave(&rxq->epoch);
	return got;
}

/* Into the guest's virtqueue; vhost copies, so the sent mbufs are freed. */
static inline uint16_t
tx_direct(struct vhook_queue *txq, struct vhook_port *p, struct rte_mbuf **pkts, uint16_t n,
	uint64_t bytes)
{
	uint16_t sent = 0, i;

	if (unlikely(!__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE))) {
		txq->stats.missed += n;
		return 0;
	}
	while (sent < n) {
		uint16_t want = RTE_MIN((uint16_t)(n - sent), (uint16_t)VHOOK_BURST);
		uint16_t k = rte_vhost_enqueue_burst(p->vid, txq->vring, pkts + sent, want);

		sent += k;
		if (k < want)
			break;
	}
	for (i = sent; i < n; i++)
		bytes -= pkts[i]->pkt_len;
	rte_pktmbuf_free_bulk(pkts, sent);
	txq->stats.pkts += sent;
	txq->stats.bytes += bytes;
	txq->stats.missed += n - sent;
	p->vm->stats[txq->qid].delivered_pkts += sent;
	return sent;
}

/* Into the VM's buffer, stamped: the port takes every packet. */
static inline uint16_t
tx_intercept(struct vhook_queue *txq, struct vhook_port *p, struct rte_mbuf **pkts, uint16_t n,
	uint64_t bytes)
{
	uint16_t done = 0;

	while (done < n) {
		uint16_t k = RTE_MIN((uint16_t)(n - done), (uint16_t)UDPMIG_BUF_MAX_BURST);

		udpmig_buf_enqueue_burst(p->buf, txq->qid, pkts + done, k);
		done += k;
	}
	txq->mark = udpmig_buf_next_seq(p->buf);
	txq->stats.pkts += n;
	txq->stats.bytes += bytes;
	p->vm->stats[txq->qid].intercepted_pkts += n;
	return n;
}

uint16_t
vhook_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhook_queue *txq = q;
	struct vhook_port *p = txq->port;
	struct udpmig_vm_stats *vs = &p->vm->stats[txq->qid];
	uint64_t bytes = 0;
	uint32_t mode;
	uint16_t ret, i;

	vhook_epoch_enter(&txq->epoch);
	for (i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	vs->rx_pkts += n;
	vs->rx_bytes += bytes;
	mode = __atomic_load_n(&p->mode, __ATOMIC_ACQUIRE);
	if (likely(mode == VHOOK_DIRECT))
		ret = tx_direct(txq, p, pkts, n, bytes);
	else if (mode == VHOOK_DRAIN &&
		__atomic_load_n(&p->done_seq, __ATOMIC_SEQ_CST) >= txq->mark)
		ret = tx_direct(txq, p, pkts, n, bytes);
	else
		ret = tx_intercept(txq, p, pkts, n, bytes);
	vhook_epoch_leave(&txq->epoch);
	return ret;
}

/* Wait until a queue is outside the burst it was in when called. */
static void
epoch_wait(const uint64_t *epoch)
{
	uint64_t e = __atomic_load_n(epoch, __ATOMIC_SEQ_CST);

	if ((e & 1) == 0)
		return;
	while (__atomic_load_n(epoch, __ATOMIC_ACQUIRE) == e)
		rte_pause();
}

void
vhook_quiesce(struct vhook_port *p)
{
	unsigned int i;

	for (i = 0; i < VHOOK_MAX_QUEUES; i++) {
		if (p->rxq[i] != NULL)
			epoch_wait(&p->rxq[i]->epoch);
		if (p->txq[i] != NULL)
			epoch_wait(&p->txq[i]->epoch);
	}
}
