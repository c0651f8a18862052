/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_SWITCH_H
#define UDPMIG_SWITCH_H

/**
 * @file
 * udpmig-switch internals: an L2 learning switch between one uplink ethdev
 * and net_vhook VM ports.
 *
 * Threads and who writes what:
 * - the main lcore (control): options, ports, the MAC table's only writer
 *   (learning and aging, mac.c), stats printing, shutdown;
 * - worker lcores (fwd.c): each polls the (port, rx queue) pairs assigned
 *   to it (round robin over the workers, as OVS spreads rxqs over PMDs:
 *   a port with several rx queues is polled by several workers); it
 *   writes only its own struct sw_worker. Every queue has one user:
 *   - a port with a tx queue per worker (not a vhost port, and at least
 *     as many tx queues as workers): each worker sends on its own queue;
 *   - any other port has one tx queue, used by its tx owner (the worker
 *     that polls its rx queue 0); the other workers forward to it through
 *     the port's tx ring (multi-producer, one consumer: the tx owner).
 *   A flow arrives on one rx queue (RSS, or the port's own spreading),
 *   so one worker handles it and its order is kept on every path.
 *   Why a vhost port keeps one tx queue: docs/switch.md;
 * - the telemetry thread reads counters only (stats.c).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#define SW_PROG "udpmig-switch"

extern int sw_logtype;
#define SW_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, sw_logtype, SW_PROG ": " fmt "\n", ##__VA_ARGS__)

#define SW_EXIT_OK    0 /**< stopped by SIGINT/SIGTERM, or --help */
#define SW_EXIT_FAIL  1 /**< runtime error (EAL, port set-up) */
#define SW_EXIT_USAGE 2 /**< bad option, value or port configuration */

#define SW_BURST_MAX 64 /**< largest --burst */
#define SW_MAX_PORTS RTE_MAX_ETHPORTS
#define SW_MAX_RXQ   16 /**< rx queues of one port the switch polls (largest --rxq) */
#define SW_DRIVER_VM "net_vhook" /**< driver of VM ports */
/* DPDK 22.11 telemetry takes [A-Za-z0-9_/] only: no '-' in the name. */
#define SW_TELEMETRY_CMD "/udpmig_switch/ports"

/** Command-line options (opts.c); defaults in sw_opts_default(). */
struct sw_opts {
	char uplink[RTE_ETH_NAME_MAX_LEN]; /**< --uplink: ethdev name */
	char tunnel_dev[RTE_ETH_NAME_MAX_LEN]; /**< --tunnel-dev: ethdev name, or "" */
	bool tunnel; /**< --tunnel-ip given */
	int tun_family; /**< AF_INET or AF_INET6 */
	uint8_t tun_addr[16]; /**< --tunnel-ip, network order */
	uint16_t tun_port; /**< --tunnel-port */
	bool tun_port_set; /**< --tunnel-port given */
	uint32_t mac_aging; /**< --mac-aging seconds, 0: never */
	uint16_t burst; /**< --burst */
	uint32_t stats_interval; /**< --stats-interval seconds, 0: never */
	char ctl[108]; /**< --ctl: control socket path for the VM ports, or "" */
	bool mig_lcore_set; /**< --migration-lcore given */
	uint32_t mig_lcore; /**< --migration-lcore: EAL lcore for the migration work */
	uint16_t rxq; /**< --rxq: rx queues per port, 0: auto (port.c) */
};

enum sw_role {
	SW_ROLE_UPLINK,
	SW_ROLE_VM,
	SW_ROLE_TUNNEL, /**< --tunnel-dev: carries the tunnel only, never switched */
};

/** A switch port. Written by the main lcore before the workers start. */
struct sw_port {
	uint16_t port_id; /**< ethdev port */
	enum sw_role role; /**< uplink or VM */
	bool vhost; /**< a vhost-user port (net_vhook, net_vhost): one tx queue */
	uint16_t nb_rxq; /**< rx queues, each polled by one worker */
	uint16_t nb_txq; /**< tx queues: nb_workers when txq_per_worker, else 1 */
	bool txq_per_worker; /**< worker w sends on tx queue w; no tx ring */
	bool rss; /**< rx spread by RTE_ETH_MQ_RX_RSS (rss_hf != 0) */
	uint64_t rss_hf; /**< hash functions asked for, when rss */
	unsigned int tx_owner; /**< worker that polls rx queue 0; without
				* txq_per_worker it alone uses tx queue 0 */
	struct rte_ring *txr; /**< from other workers, drained by tx_owner; NULL
			       * with txq_per_worker or one worker */
	bool configured; /**< queues set up and started */
	char name[RTE_ETH_NAME_MAX_LEN]; /**< ethdev name */
};

/**
 * Per-port counters of one worker (single writer: that worker). "in" is
 * the port a packet came from, "out" the port it went to.
 */
struct sw_stats {
	uint64_t rx; /**< in: packets received */
	uint64_t tx; /**< out: packets the PMD took */
	uint64_t tx_drop; /**< out: packets the PMD or the tx ring refused */
	uint64_t flood; /**< in: broadcast, multicast, unknown unicast flooded */
	uint64_t unknown; /**< in: unicast to an unknown MAC (also in flood) */
	uint64_t no_mbuf; /**< in: flood copies not made, clone pool empty */
	uint64_t filtered; /**< in: dropped: to the port it came from, runt, no other
			    * port, or not tunnel traffic on a --tunnel-dev port */
	uint64_t tun_rx; /**< tunnel port: tunnel packets the driver took */
	uint64_t tun_rx_drop; /**< tunnel port: tunnel packets the driver refused */
	uint64_t tun_tx; /**< tunnel port: tunnel packets sent (also in tx) */
	uint64_t moved_tail; /**< in: to a MAC that had just moved to this port,
			      * sent to its old port (mac.c) */
};

/** Packets for one output port, collected over one rx burst. */
struct sw_txbuf {
	uint16_t n;
	struct rte_mbuf *pkts[SW_BURST_MAX];
};

/** Frames a worker holds while the MAC table learns a move (see fwd.c). */
#define SW_MOVED_MAX 16

/** One (port, rx queue) pair a worker polls. */
struct sw_rxq {
	uint16_t idx; /**< switch index of the port */
	uint16_t qid; /**< rx queue */
	uint64_t pkts; /**< packets received on it (single writer: the worker) */
};

/** A worker lcore. Written by that lcore only, once started. */
struct sw_worker {
	unsigned int idx; /**< 0..nb_workers-1; its RCU thread id */
	unsigned int lcore_id; /**< EAL lcore */
	bool tunnel; /**< tx owner of the port that carries the tunnel (sw.tun_idx):
		      * sends what the driver's tunnel gives */
	uint16_t nb_rxqs; /**< (port, rx queue) pairs it polls */
	struct sw_rxq rxqs[SW_MAX_PORTS * SW_MAX_RXQ]; /**< in polling order */
	uint16_t nb_dirty; /**< txbufs with packets */
	uint16_t dirty[SW_MAX_PORTS]; /**< their switch indexes */
	uint16_t nb_learn; /**< learn events of this burst */
	uint64_t learn[SW_BURST_MAX]; /**< sw_mac_event() values */
	uint64_t learn_drop; /**< learn events the main lcore's ring refused */
	/** Frames whose source MAC moved here, held until the move is in the table. */
	uint16_t nb_moved;
	struct {
		struct rte_mbuf *m;
		uint16_t in;
		uint64_t since; /**< TSC */
	} moved[SW_MOVED_MAX];
	/** Tunnel packets the port did not take yet: sent first next time. */
	uint16_t tun_head, tun_n;
	struct rte_mbuf *tun_pend[SW_BURST_MAX];
	struct sw_txbuf tx[SW_MAX_PORTS];
	struct sw_stats stats[SW_MAX_PORTS];
} __rte_cache_aligned;

/** The switch. */
struct sw_ctx {
	struct sw_opts opts;
	uint16_t nb_ports; /**< switched ports: ports[0] is the uplink, then the VMs */
	uint16_t nb_all; /**< nb_ports, plus the --tunnel-dev port after them */
	uint16_t tun_idx; /**< the port that carries the tunnel: 0, or nb_ports */
	struct sw_port ports[SW_MAX_PORTS]; /**< by switch index */
	unsigned int nb_workers;
	struct sw_worker workers[RTE_MAX_LCORE]; /**< [0, nb_workers) */
	struct rte_mempool *pool; /**< rx mbufs */
	struct rte_mempool *clone_pool; /**< indirect mbufs for flooding */
	bool tunnel; /**< the driver took the tunnel endpoint */
	bool force_quit; /**< set by the signal handler, read by every lcore */
	uint32_t now; /**< seconds since start; main lcore writes, workers read */
	uint32_t now_ms; /**< ms since start (wraps after 49 days); the same */
};

extern struct sw_ctx sw;

/* opts.c */
void sw_opts_usage(FILE *f);
int sw_opts_parse(int argc, char **argv, struct sw_opts *o);

/* port.c */
int sw_ports_probe(char *err, size_t errlen);
int sw_ports_setup(void);
void sw_ports_flush(void);
void sw_ports_close(void);

/* mac.c: the MAC table, written by the main lcore only. */
int sw_mac_init(unsigned int nb_readers);
void sw_mac_free(void);
void sw_mac_apply(void);
void sw_mac_age(uint32_t now, uint32_t max_age);
uint32_t sw_mac_count(void);
uint64_t sw_mac_learn_full(void);
void sw_mac_reader_online(unsigned int idx);
void sw_mac_reader_quiescent(unsigned int idx);
void sw_mac_reader_offline(unsigned int idx);
int sw_mac_lookup(const struct rte_ether_addr *mac, uint16_t *port);
/** How long after a MAC moved a hairpin to it goes to its old port (mac.c). */
#define SW_MAC_MOVE_GRACE_MS 200
int sw_mac_lookup_dst(const struct rte_ether_addr *mac, uint16_t in, uint16_t *port);
int sw_mac_learn(struct sw_worker *w, const struct rte_ether_addr *src, uint16_t in);
void sw_mac_learn_flush(struct sw_worker *w);

/* fwd.c */
int sw_worker_main(void *arg);

/* stats.c */
void sw_stats_port(uint16_t port, struct sw_stats *sum);
uint64_t sw_stats_rxq(uint16_t port, uint16_t qid);
uint64_t sw_stats_drops(const struct sw_stats *s);
const char *sw_role_name(enum sw_role r);
void sw_stats_print(FILE *f);
void sw_stats_log_final(void);
int sw_stats_telemetry_init(void);

#endif /* UDPMIG_SWITCH_H */
