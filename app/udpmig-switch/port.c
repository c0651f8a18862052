/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: find the uplink and the net_vhook VM ports among the probed
 * ethdevs, plan their queues (rx queues: --rxq, RSS where the port has it;
 * tx: a queue per worker, or one queue and a tx ring), spread the
 * (port, rx queue) pairs over the workers and start the ports; stop and
 * close every ethdev at the end (for net_vhook that ends its vhost-user
 * socket). docs/switch.md explains the queue plan.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_string_fns.h>

#include "switch.h"

#define SW_RXD        1024 /* rx descriptors, when the PMD has any */
#define SW_TXD        1024
#define SW_RING_SIZE  1024 /* a port's tx ring, with several workers */
#define SW_T1_QUOTA   4096 /* mbufs a net_vhook port may hold (its t1-quota default) */
#define SW_POOL_CACHE 256

/* "a, b, c": every ethdev name, for error messages. */
static void
port_names(char *buf, size_t len)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t off = 0;
	uint16_t pid;

	buf[0] = '\0';
	RTE_ETH_FOREACH_DEV (pid) {
		if (off >= len || rte_eth_dev_get_name_by_port(pid, name) != 0)
			continue;
		off += snprintf(buf + off, len - off, "%s%s", off ? ", " : "", name);
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}

static void
port_add(uint16_t pid, enum sw_role role)
{
	struct sw_port *p = &sw.ports[sw.nb_ports++];

	p->port_id = pid;
	p->role = role;
	rte_eth_dev_get_name_by_port(pid, p->name);
}

/* Ports whose other end decides which rx queue a packet takes (a guest's
 * vrings, af_packet's fanout sockets): a queue nobody polls fills up. */
static bool
fills_every_rxq(const char *driver)
{
	return strcmp(driver, SW_DRIVER_VM) == 0 || strcmp(driver, "net_vhost") == 0 ||
		strcmp(driver, "net_af_packet") == 0;
}

/*
 * The queue plan of port @idx (before the pools: they are sized by it).
 * rx: --rxq N, or min(workers, the port's rx queues); RSS on IP/UDP with
 * the hash functions the port has, when it gets more than one. tx: a
 * queue per worker where the port has enough and is not a vhost port (a
 * guest may enable fewer vrings than the port has, and one vring takes
 * one sender at a time: docs/switch.md), else one queue and a tx ring.
 */
static int
port_plan(uint16_t idx)
{
	struct sw_port *p = &sw.ports[idx];
	struct rte_eth_dev_info info;
	uint16_t max_rxq;
	int ret;

	ret = rte_eth_dev_info_get(p->port_id, &info);
	if (ret != 0) {
		SW_LOG(ERR, "%s: device info: %s", p->name, rte_strerror(-ret));
		return ret;
	}
	p->vhost = info.driver_name != NULL &&
		(strcmp(info.driver_name, SW_DRIVER_VM) == 0 ||
			strcmp(info.driver_name, "net_vhost") == 0);
	max_rxq = RTE_MIN(info.max_rx_queues, (uint16_t)SW_MAX_RXQ);
	if (max_rxq == 0 || info.max_tx_queues == 0) {
		SW_LOG(ERR, "%s: the port has no rx or no tx queue", p->name);
		return -EINVAL;
	}
	if (sw.opts.rxq != 0)
		p->nb_rxq = RTE_MIN(sw.opts.rxq, max_rxq);
	else
		p->nb_rxq = (uint16_t)RTE_MIN(sw.nb_workers, max_rxq);
	if (sw.opts.rxq > max_rxq)
		SW_LOG(NOTICE, "%s: --rxq %u: the port has %u rx queues, the switch polls %u",
			p->name, sw.opts.rxq, info.max_rx_queues, p->nb_rxq);
	if (p->nb_rxq < info.max_rx_queues && info.driver_name != NULL &&
		fills_every_rxq(info.driver_name))
		SW_LOG(WARNING,
			"%s: polls %u of its %u rx queues: what the other end puts on the others is never read (give --rxq %u, or the port fewer queues)",
			p->name, p->nb_rxq, info.max_rx_queues, info.max_rx_queues);
	p->rss_hf = 0;
	p->rss = false;
	if (p->nb_rxq > 1) {
		p->rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
		p->rss = p->rss_hf != 0;
	}
	p->txq_per_worker = !p->vhost && info.max_tx_queues >= sw.nb_workers;
	p->nb_txq = p->txq_per_worker ? (uint16_t)sw.nb_workers : 1;
	return 0;
}

/*
 * Sort the ethdevs into the uplink (index 0), the VM ports, and the
 * --tunnel-dev port after them (index nb_ports, outside the switched
 * range). A configuration error fills @err (one line) and returns -EINVAL.
 */
int
sw_ports_probe(char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	char names[512];
	uint16_t up, tun = RTE_MAX_ETHPORTS, pid;

	sw.nb_ports = 0;
	if (rte_eth_dev_get_port_by_name(sw.opts.uplink, &up) != 0) {
		port_names(names, sizeof(names));
		snprintf(err, errlen, "--uplink %s: no such ethdev (ethdevs: %s)", sw.opts.uplink,
			names);
		return -EINVAL;
	}
	if (sw.opts.tunnel_dev[0] != '\0' &&
		rte_eth_dev_get_port_by_name(sw.opts.tunnel_dev, &tun) != 0) {
		port_names(names, sizeof(names));
		snprintf(err, errlen, "--tunnel-dev %s: no such ethdev (ethdevs: %s)",
			sw.opts.tunnel_dev, names);
		return -EINVAL;
	}
	port_add(up, SW_ROLE_UPLINK);
	RTE_ETH_FOREACH_DEV (pid) {
		if (pid == up || pid == tun)
			continue;
		if (rte_eth_dev_info_get(pid, &info) != 0 || info.driver_name == NULL ||
			strcmp(info.driver_name, SW_DRIVER_VM) != 0) {
			char name[RTE_ETH_NAME_MAX_LEN] = "?";

			rte_eth_dev_get_name_by_port(pid, name);
			snprintf(err, errlen,
				"ethdev %s (driver %s) is neither the uplink, the tunnel device nor a " SW_DRIVER_VM
				" port; the switch takes one uplink and net_vhook VM "
				"ports only",
				name, info.driver_name != NULL ? info.driver_name : "?");
			return -EINVAL;
		}
		port_add(pid, SW_ROLE_VM);
	}
	if (sw.nb_ports < 2) {
		snprintf(err, errlen,
			"no VM port: give at least one EAL --vdev " SW_DRIVER_VM "N,iface=SOCKET");
		return -EINVAL;
	}
	sw.nb_all = sw.nb_ports;
	sw.tun_idx = 0;
	if (tun != RTE_MAX_ETHPORTS) {
		/* Appended after the switched ports: flooding and the MAC table never see it. */
		port_add(tun, SW_ROLE_TUNNEL);
		sw.nb_all = sw.nb_ports--;
		sw.tun_idx = sw.nb_ports;
	}
	return 0;
}

static int
pools_create(void)
{
	unsigned int n, nc, socket = rte_socket_id();
	uint16_t i;

	/*
	 * rx mbufs: the descriptors of every queue and the rings of every
	 * port, what the workers hold in a burst, and what net_vhook may keep
	 * for a migrating VM.
	 */
	n = sw.nb_workers * 2 * SW_BURST_MAX + 4096;
	for (i = 0; i < sw.nb_all; i++)
		n += sw.ports[i].nb_rxq * SW_RXD + sw.ports[i].nb_txq * SW_TXD + SW_RING_SIZE +
			SW_T1_QUOTA;
	sw.pool = rte_pktmbuf_pool_create(
		"sw_pool", n, SW_POOL_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)socket);
	if (sw.pool == NULL) {
		SW_LOG(ERR, "mbuf pool of %u: %s", n, rte_strerror(rte_errno));
		return -rte_errno;
	}
	/* Clones carry no data: a header each. */
	nc = 4096;
	for (i = 0; i < sw.nb_all; i++)
		nc += sw.ports[i].nb_txq * SW_TXD + SW_RING_SIZE;
	sw.clone_pool = rte_pktmbuf_pool_create("sw_clone", nc, SW_POOL_CACHE, 0, 0, (int)socket);
	if (sw.clone_pool == NULL) {
		SW_LOG(ERR, "clone pool of %u: %s", nc, rte_strerror(rte_errno));
		return -rte_errno;
	}
	return 0;
}

static int
port_setup(uint16_t idx)
{
	struct sw_port *p = &sw.ports[idx];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t rxd = SW_RXD, txd = SW_TXD, q;
	int socket = rte_eth_dev_socket_id(p->port_id);
	char rname[RTE_RING_NAMESIZE];
	int ret;

	if (socket < 0)
		socket = (int)rte_socket_id();
	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(p->port_id, &info);
	if (ret != 0)
		goto fail;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (p->rss) {
		/* One flow, one queue, one worker: its order is kept. */
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = NULL; /* the PMD's default key */
		conf.rx_adv_conf.rss_conf.rss_hf = p->rss_hf;
	}
	ret = rte_eth_dev_configure(p->port_id, p->nb_rxq, p->nb_txq, &conf);
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &rxd, &txd);
	for (q = 0; ret == 0 && q < p->nb_rxq; q++)
		ret = rte_eth_rx_queue_setup(
			p->port_id, q, rxd, (unsigned int)socket, NULL, sw.pool);
	for (q = 0; ret == 0 && q < p->nb_txq; q++)
		ret = rte_eth_tx_queue_setup(p->port_id, q, txd, (unsigned int)socket, NULL);
	if (ret != 0)
		goto fail;
	if (!p->txq_per_worker && sw.nb_workers > 1) {
		snprintf(rname, sizeof(rname), "sw_tx_%u", idx);
		p->txr = rte_ring_create(rname, SW_RING_SIZE, socket, RING_F_SC_DEQ);
		if (p->txr == NULL) {
			ret = -rte_errno;
			goto fail;
		}
	}
	/* A switch port sees every frame. Not all PMDs can (or need to). */
	ret = rte_eth_promiscuous_enable(p->port_id);
	if (ret != 0 && ret != -ENOTSUP)
		SW_LOG(WARNING, "%s: promiscuous mode: %s", p->name, rte_strerror(-ret));
	ret = rte_eth_dev_start(p->port_id);
	if (ret != 0)
		goto fail;
	p->configured = true;
	return 0;
fail:
	SW_LOG(ERR, "%s: port set-up: %s", p->name, rte_strerror(-ret));
	return ret;
}

/* "port 0 net_af_packet0 (uplink): rxq 0 lcore 1, rxq 1 lcore 2; tx ..." */
static void
port_log(uint16_t idx)
{
	const struct sw_port *p = &sw.ports[idx];
	char buf[512];
	size_t off = 0;
	unsigned int w, r;

	buf[0] = '\0';
	for (w = 0; w < sw.nb_workers; w++)
		for (r = 0; r < sw.workers[w].nb_rxqs; r++)
			if (sw.workers[w].rxqs[r].idx == idx && off < sizeof(buf))
				off += snprintf(buf + off, sizeof(buf) - off, "%srxq %u lcore %u",
					off ? ", " : "", sw.workers[w].rxqs[r].qid,
					sw.workers[w].lcore_id);
	if (p->txq_per_worker)
		SW_LOG(NOTICE,
			"port %u %s (%s): %s; RSS %s (0x%" PRIx64 "); tx: a queue per worker",
			p->port_id, p->name, sw_role_name(p->role), buf, p->rss ? "on" : "off",
			p->rss_hf);
	else
		SW_LOG(NOTICE,
			"port %u %s (%s): %s; RSS %s (0x%" PRIx64 "); tx: one queue, lcore %u%s",
			p->port_id, p->name, sw_role_name(p->role), buf, p->rss ? "on" : "off",
			p->rss_hf, sw.workers[p->tx_owner].lcore_id,
			p->txr != NULL ? ", the others through its tx ring" : "");
}

/*
 * Queue plans, pools, the (port, rx queue) pairs spread over the workers
 * round robin (the uplink's rx queue 0 on the first), start.
 */
int
sw_ports_setup(void)
{
	struct sw_worker *w;
	unsigned int k = 0;
	uint16_t i, q;
	int ret;

	for (i = 0; i < sw.nb_all; i++) {
		ret = port_plan(i);
		if (ret != 0)
			return ret;
	}
	ret = pools_create();
	if (ret != 0)
		return ret;
	for (i = 0; i < sw.nb_all; i++) {
		for (q = 0; q < sw.ports[i].nb_rxq; q++) {
			w = &sw.workers[k++ % sw.nb_workers];
			w->rxqs[w->nb_rxqs].idx = i;
			w->rxqs[w->nb_rxqs++].qid = q;
			if (q != 0)
				continue;
			sw.ports[i].tx_owner = w->idx;
			if (i == sw.tun_idx)
				w->tunnel = true;
		}
	}
	for (i = 0; i < sw.nb_all; i++) {
		ret = port_setup(i);
		if (ret != 0)
			return ret;
		port_log(i);
	}
	return 0;
}

/*
 * Once the workers have stopped: free what is left in the tx rings,
 * counted as tx_drop of the port (in its tx owner's counters, which no
 * worker writes any more).
 */
void
sw_ports_flush(void)
{
	struct rte_mbuf *pkts[SW_BURST_MAX];
	unsigned int n;
	uint16_t i;

	for (i = 0; i < sw.nb_all; i++) {
		if (sw.ports[i].txr == NULL)
			continue;
		while ((n = rte_ring_sc_dequeue_burst(
				sw.ports[i].txr, (void **)pkts, SW_BURST_MAX, NULL)) > 0) {
			rte_pktmbuf_free_bulk(pkts, n);
			sw.workers[sw.ports[i].tx_owner].stats[i].tx_drop += n;
		}
	}
}

/*
 * Stop and close every ethdev, also those the switch refused, then free
 * the rings and pools. Only once no worker runs.
 */
void
sw_ports_close(void)
{
	uint16_t pid, i;
	int ret;

	RTE_ETH_FOREACH_DEV (pid) {
		ret = rte_eth_dev_stop(pid);
		if (ret != 0 && ret != -EINVAL)
			SW_LOG(WARNING, "port %u: stop: %s", pid, rte_strerror(-ret));
		ret = rte_eth_dev_close(pid);
		if (ret != 0)
			SW_LOG(WARNING, "port %u: close: %s", pid, rte_strerror(-ret));
	}
	sw_ports_flush();
	for (i = 0; i < sw.nb_all; i++) {
		rte_ring_free(sw.ports[i].txr);
		sw.ports[i].txr = NULL;
	}
	rte_mempool_free(sw.clone_pool);
	sw.clone_pool = NULL;
	rte_mempool_free(sw.pool);
	sw.pool = NULL;
}
