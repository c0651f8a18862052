/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_vhook burst functions. A plain vhost-user port in DIRECT mode; in
 * INTERCEPT mode tx stamps the packets and hands them to the VM's
 * buffer. No locks, no logs, no allocation but from the application's rx pool:
 * every outcome is a counter.
 *
 * Each burst runs between two increments of its queue's epoch (odd while
 * inside). destroy_device and mode changes wait for a queue to leave the
 * burst it is in (vhook_quiesce()), which is what lets them take the
 * virtqueue away without a lock on the datapath.
 */
#include <ethdev_driver.h>
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_vhost.h>

#include "rte_pmd_vhook.h"
#include "vhook.h"

/* The endpoint port's tx looks at this many packets per call at most. */
#define VHOOK_TUN_SPLIT 64

/* Is vring @vring ready (vhook_vhost.c keeps the mask)? */
static inline bool
vring_ready(const struct vhook_port *p, uint16_t vring)
{
	return (__atomic_load_n(&p->vrings_ready, __ATOMIC_ACQUIRE) >> vring) & 1;
}

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
	/* tunnel-ip: what the tunnel sends goes up this port (queue 0 only:
	 * the tunnel's out ring has one consumer). */
	if (unlikely(p->tun_endpoint) && rxq->qid == 0 && got < n) {
		uint16_t k = rte_pmd_vhook_tun_output(pkts + got, n - got), j = got;

		for (i = got; i < got + k; i++) {
			struct rte_mbuf *m = pkts[i];

			/*
			 * The tunnel's mbufs come from the driver's pools. An
			 * application may need what it receives to come from
			 * the pool it gave this queue (Open vSwitch keeps its
			 * per-packet state in that pool's private area, and
			 * frees a foreign mbuf with free()): copy them there.
			 */
			if (m->pool != rxq->mp && rxq->mp != NULL) {
				struct rte_mbuf *c = rte_pktmbuf_copy(m, rxq->mp, 0, UINT32_MAX);

				rte_pktmbuf_free(m);
				if (c == NULL) {
					p->eth_dev->data->rx_mbuf_alloc_failed++;
					continue;
				}
				m = c;
			}
			m->port = rxq->port_id;
			rxq->stats.bytes += m->pkt_len;
			pkts[j++] = m;
		}
		rxq->stats.pkts += j - got;
		got = j;
	}
	/* A vring the guest did not enable (or never set up: rte_vhost would
	 * log an error per call) gives nothing, at the cost of one load. */
	if (likely(__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE)) &&
		likely(vring_ready(p, rxq->vring))) {
		uint16_t first = got;

		while (got < n) {
			uint16_t want = RTE_MIN((uint16_t)(n - got), (uint16_t)VHOOK_BURST);
			uint16_t k = rte_vhost_dequeue_burst(
				p->vid, rxq->vring, rxq->mp, pkts + got, want);

			got += k;
			if (k < want)
				break;
		}
		for (i = first; i < got; i++) {
			pkts[i]->port = rxq->port_id;
			rxq->stats.bytes += pkts[i]->pkt_len;
		}
		rxq->stats.pkts += got - first;
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

	if (unlikely(!__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE)) ||
		unlikely(!vring_ready(p, txq->vring))) {
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

/*
 * tunnel-ip: the packets for the endpoint go to the tunnel; the others
 * move behind them, in order, for the VM. Looks at VHOOK_TUN_SPLIT packets
 * at most (*n is cut to that: the caller sends the rest again). Returns
 * how many went to the tunnel (taken, or dropped and counted there).
 */
static uint16_t
tun_split(struct rte_mbuf **pkts, uint16_t *n)
{
	struct rte_mbuf *vm[VHOOK_TUN_SPLIT];
	uint16_t nt = 0, nv = 0, took, i;

	*n = RTE_MIN(*n, (uint16_t)VHOOK_TUN_SPLIT);
	for (i = 0; i < *n; i++) {
		if (rte_pmd_vhook_tun_match(pkts[i]))
			pkts[nt++] = pkts[i];
		else
			vm[nv++] = pkts[i];
	}
	if (nt == 0)
		return 0;
	took = rte_pmd_vhook_tun_input(pkts, nt);
	if (took < nt)
		rte_pktmbuf_free_bulk(pkts + took, nt - took);
	for (i = 0; i < nv; i++)
		pkts[nt + i] = vm[i];
	return nt;
}

/*
 * SRC_FORWARDING: the VM runs at the peer, and its own frames (its
 * announcements, broadcasts) flooded back to this port are no packets for
 * it. Held and forwarded, each restarted the tail's quiet time: QEMU's five
 * announcement rounds kept the destination holding the live stream for
 * 1.3-2.4 s after the resume. Dropped and counted. Returns what is left.
 */
static uint16_t
drop_own(struct vhook_queue *txq, struct vhook_port *p, struct rte_mbuf **pkts, uint16_t n,
	uint64_t *bytes)
{
	uint16_t i, k = 0;

	for (i = 0; i < n; i++) {
		const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);

		if (unlikely(pkts[i]->data_len >= sizeof(*eh) &&
			    rte_is_same_ether_addr(&eh->src_addr, &p->args.vm.mac))) {
			*bytes -= pkts[i]->pkt_len;
			txq->stats.own++;
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		pkts[k++] = pkts[i];
	}
	return k;
}

uint16_t
vhook_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhook_queue *txq = q;
	struct vhook_port *p = txq->port;
	struct udpmig_vm_stats *vs = &p->vm->stats[txq->qid];
	uint64_t bytes = 0;
	uint16_t ret, i, nt = 0;
	uint32_t mode;

	vhook_epoch_enter(&txq->epoch);
	if (unlikely(p->tun_endpoint)) {
		nt = tun_split(pkts, &n);
		pkts += nt;
		n -= nt;
	}
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
	else if (unlikely(__atomic_load_n(&p->state_pub, __ATOMIC_RELAXED) ==
			 UDPMIG_MIG_S_SRC_FORWARDING)) {
		uint16_t k = drop_own(txq, p, pkts, n, &bytes);

		ret = (uint16_t)(n - k) + tx_intercept(txq, p, pkts, k, bytes);
	} else
		ret = tx_intercept(txq, p, pkts, n, bytes);
	vhook_epoch_leave(&txq->epoch);
	return nt + ret;
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
