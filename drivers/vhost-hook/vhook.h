/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef VHOOK_H
#define VHOOK_H

/*
 * net_vhook internals: a vhost-user port whose tx path can hold a VM's
 * packets while the VM is away, and give them back in order.
 *
 * Threads and what they own:
 * - datapath threads (the host's lcores): one per queue; write only
 *   their queue's struct vhook_queue and the VM's per-queue counters;
 * - the vhost-events thread (rte_vhost): runs vhook_vhost.c's callbacks,
 *   which publish the device (vid, ready, log_all) and post an event;
 * - the vhook control thread (one per process, vhook_ctl.c): owns every
 *   port's migration machine, the injector, the control socket and the
 *   port list's changes, under vhook_global.lock;
 * - the host's control thread (probe, configure, close, stats).
 *
 * Datapath modes (struct vhook_port.mode, written by the control thread
 * and, for the single DIRECT->INTERCEPT step at a stop, by destroy_device):
 * - DIRECT: tx goes to the guest's virtqueue, as a plain vhost port;
 * - INTERCEPT: tx stamps each packet and puts it in the VM's buffer;
 * - DRAIN: the control thread injects the buffer into the virtqueue; a
 *   tx queue goes on intercepting until every packet it put in the
 *   buffer has been injected (done_seq >= its mark), then goes direct.
 * docs/vhost-hook.md explains why this keeps every flow in order.
 */

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include "udpmig_buf.h"
#include "udpmig_tun.h"
#include "udpmig_ctl.h"
#include "udpmig_mig.h"
#include "udpmig_vm.h"

extern int vhook_logtype;
#define VHOOK_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, vhook_logtype, "net_vhook: " fmt "\n", ##__VA_ARGS__)

#define VHOOK_DRIVER_NAME  "net_vhook"
#define VHOOK_SOCK_PATH    108 /* sizeof(sun_path) */
#define VHOOK_MAX_QUEUES   16 /* queue pairs of one port */
#define VHOOK_MAX_VID      1024 /* vhost device ids tracked (rte_vhost's MAX_VHOST_DEVICE) */
#define VHOOK_BURST        32 /* packets per rte_vhost call */
#define VHOOK_INJECT_BURST 64
/* Virtqueues of queue pair q: the guest receives on 2q, sends on 2q + 1. */
#define VHOOK_VRING_GUEST_RX(q) ((uint16_t)(2 * (q)))
#define VHOOK_VRING_GUEST_TX(q) ((uint16_t)(2 * (q) + 1))
/* The control thread's per-VM counter slot (datapath queues use 0..15). */
#define VHOOK_CTL_SLOT (UDPMIG_VM_MAX_QUEUES - 1)

enum vhook_mode {
	VHOOK_DIRECT = 0,
	VHOOK_INTERCEPT,
	VHOOK_DRAIN,
};

struct vhook_port;

/* Counters of one queue; its datapath thread is the only writer. */
struct vhook_qstats {
	uint64_t pkts; /* rx: from the guest; tx: taken by the port (sent or held) */
	uint64_t bytes;
	uint64_t missed; /* tx: the virtqueue was full or the guest away: not taken */
	uint64_t own; /* tx: the VM's own frames looped back to its old port: dropped */
};

struct vhook_queue {
	/* Odd while a burst runs; written by the queue's thread only. */
	uint64_t epoch;
	/* tx: above every sequence number this queue put in the buffer. */
	uint64_t mark;
	struct vhook_port *port;
	struct rte_mempool *mp; /* rx: where guest packets go */
	uint16_t qid;
	uint16_t vring; /* virtqueue index in the vhost device */
	uint16_t port_id;
	struct vhook_qstats stats;
} __rte_cache_aligned;

/* What the vhost callbacks tell the control thread. */
enum vhook_ev_kind {
	VHOOK_EV_NEW_DEVICE,
	VHOOK_EV_DESTROY_DEVICE,
	VHOOK_EV_LOG_ALL_ON,
	VHOOK_EV_LOG_ALL_OFF,
	VHOOK_EV_NEW_CONNECTION,
};

struct vhook_ev {
	uint32_t slot; /* index in vhook_global.ports */
	uint32_t gen; /* that slot's generation when the event was posted */
	uint32_t kind; /* enum vhook_ev_kind */
	uint32_t pad;
};

/* Where a migration's channel goes, from migrate-start --to / migrate-expect --from. */
struct vhook_peer {
	bool set;
	int family;
	uint8_t ip[16];
	uint8_t key[UDPMIG_TUN_KEY_LEN];
	uint32_t vni;
	bool store; /* source: --store-and-forward */
	bool discover; /* destination: the source is whichever peer answers WHO */
};

/* One VM's tunnel channel; the control thread's (under vhook_global.lock). */
struct vhook_chan {
	bool open;
	bool source;
	bool streaming; /* source: STREAM seen */
	bool end_wanted; /* source: SEND_END seen; END goes once the buffer is empty */
	bool end_acked; /* source: the peer has the END */
	bool resumed; /* destination: the VM runs here (acks say so) */
	bool end_known; /* destination: END received */
	bool end_raised; /* destination: END_RECEIVED raised */
	bool ack_due; /* destination: something arrived since the last ack */
	bool mac_ok; /* path.dst_mac is known */
	bool store; /* source: stream only once the VM runs at the peer */
	bool discover; /* destination: no source yet; asks the peers (HELLO WHO) */
	uint64_t who_ns; /* destination: last WHO sent */
	struct udpmig_tun_path path;
	struct udpmig_tun_msg id; /* vni, session */
	uint8_t key[UDPMIG_TUN_KEY_LEN];
	uint64_t end_total;
	uint64_t end_ns, arp_ns, ack_ns, tail_ns, tail_seq;
	uint64_t data_first_ns, data_last_ns; /* first and last DATA sent or received */
	struct udpmig_tun_tx *tx;
	struct udpmig_tun_rx *rx;
	struct udpmig_buf *tbuf; /* destination: tunnel packets, in order, behind nothing */
	struct udpmig_tun_tx *back; /* source after an abort: packets to inject first */
	struct rte_mempool *hold; /* the mbufs everything above lives in */
	/* counters */
	uint64_t tx_data, tx_ctl, rx_data, rx_ctl, dup, oow, nomem, unsent, untunnelable, dropped;
	uint64_t rx_resumed; /* source: acks saying the VM runs at the peer */
	uint64_t who_sent; /* destination: WHO messages sent to the peers */
	/* The sender's and receiver's counters when the channel closed. */
	bool tx_closed, rx_closed;
	struct udpmig_tun_tx_stats tx_final;
	struct udpmig_tun_rx_stats rx_final;
};

/* Devargs, parsed. */
struct vhook_args {
	char iface[VHOOK_SOCK_PATH];
	bool client;
	uint16_t queues;
	bool auto_detect;
	uint32_t tail_quiet_ms; /* source: END after the tail was quiet this long */
	char ctl[VHOOK_SOCK_PATH]; /* "" = default, "none" = no control socket */
	char ctl_group[64];
	struct udpmig_vm_conf vm;
	struct udpmig_mig_timeouts timeouts;
	/* tunnel-ip: this port is the tunnel's endpoint, in band (see vhook_tun.c) */
	int tun_family; /* 0: not the endpoint */
	uint8_t tun_addr[16];
	uint16_t tun_port;
};

/* What a channel allocates (vhook_tun_res_make()). */
struct vhook_chan_res {
	struct rte_mempool *hold;
	struct udpmig_tun_tx *tx;
	struct udpmig_tun_rx *rx;
	struct udpmig_buf *tbuf;
};

struct vhook_port {
	/* --- read by datapath threads on every burst --- */
	uint32_t mode; /* enum vhook_mode */
	uint32_t ready; /* 1: started and a device is up: vid is valid */
	int vid;
	struct udpmig_buf *buf;
	struct udpmig_vm *vm;
	bool tun_endpoint; /* tunnel-ip: rx carries the tunnel's output, tx its input */
	/* Bit v: vring v is ready (set up and enabled by the guest), as
	 * vring_state_changed last said; written by the vhost-events thread
	 * without the lock. A queue whose vring is not ready moves nothing. */
	uint32_t vrings_ready;
	uint64_t done_seq __rte_cache_aligned; /* DRAIN: all below are injected or dropped */
	struct rte_mbuf *announce; /* a RARP rx queue 0 hands up as if the VM sent it */

	/* --- written by the vhost-events thread, under vhook_global.lock --- */
	uint32_t log_all __rte_cache_aligned; /* VHOST_F_LOG_ALL now (features_changed, no lock) */
	uint32_t attached; /* a device is up (new_device .. destroy_device) */

	/* --- configuration, fixed after probe --- */
	struct vhook_args args;
	struct rte_eth_dev *eth_dev;
	uint16_t port_id;
	uint32_t slot;
	uint32_t gen;
	uint32_t started; /* between dev_start and dev_stop */
	struct rte_ether_addr mac;

	/* --- owned by the control thread (under vhook_global.lock) --- */
	struct udpmig_mig mig;
	struct vhook_peer peer; /* for the next channel */
	struct vhook_chan chan;
	bool discover_pending; /* a front-end connected: open a discovery (ctl_thread) */
	struct vhook_chan_res
		*chan_res; /* made before the lock, for vhook_tun_open() (a command) */
	bool open_sync; /* a command: vhook_tun_open() makes what is missing at once */
	bool spare_want; /* a source channel waits for its buffers (spare_make()) */
	struct vhook_chan_res spare; /* ... which the control thread made, lock released */
	uint32_t state_pub; /* mig.state, for readers on other threads */
	bool inject; /* held packets go back to the guest as soon as it is up */
	struct rte_mbuf *pend[VHOOK_INJECT_BURST]; /* dequeued, not yet in the virtqueue */
	uint16_t pend_head;
	uint16_t pend_n;
	bool pend_tun; /* pend holds tunnel (or reclaimed) packets, not the buffer's */
	uint64_t transitions;
	uint64_t migrations; /* times the machine left IDLE as a source */
	uint64_t aborts; /* times the held packets went back to the local guest */
	uint64_t inject_full; /* injector found the virtqueue full */
	uint64_t announces; /* RARPs handed up for the VM */
	uint64_t announce_ns; /* when the broadcast RARP goes up (after the learning frame) */
	uint64_t inject_nomem; /* injector found no mbuf to rebuild a tier-2 packet */

	struct vhook_queue *rxq[VHOOK_MAX_QUEUES];
	struct vhook_queue *txq[VHOOK_MAX_QUEUES];
};

/* The process-wide state: every net_vhook port, and the control thread. */
struct vhook_global {
	pthread_mutex_t lock; /* port list changes, machines, control socket handlers */
	struct vhook_port *ports[RTE_MAX_ETHPORTS]; /* by slot */
	uint32_t gens[RTE_MAX_ETHPORTS];
	uint32_t n_ports;
	struct rte_ring *events; /* struct vhook_ev, MP/SC */
	pthread_t thread;
	bool thread_running;
	uint32_t quit;
	/* rte_pmd_vhook_migration_external(): the application polls the
	 * migration work (rte_pmd_vhook_migration_poll), not the thread. */
	bool mig_external;
	uint64_t mig_polls, mig_busy_skips; /* external polls; those that found the lock taken */
	struct udpmig_ctl_server *ctl;
	bool tel_registered;
	char ctl_path[VHOOK_SOCK_PATH];
	uint64_t ev_dropped; /* event ring full (never expected) */
	/* The port of each vhost device id, from new_connection to
	 * destroy_connection (written under the lock): vring_state_changed
	 * looks it up without the lock, which it must not take (vhook_vhost.c). */
	struct vhook_port *by_vid[VHOOK_MAX_VID];
	struct udpmig_vm_table *vms;
	bool discover_pending; /* some port's discover_pending is set (control thread) */
	bool spare_pending; /* some port's spare_want is set (control thread) */
	uint32_t lock_waiters; /* vhook_lock() callers waiting for the lock */
	uint64_t lock_yields; /* times the migration loop stepped aside for them */
};

extern struct vhook_global vhook_global;

/*
 * The lock, for everyone but the migration loop: vhost-user callbacks (the
 * host's vhost thread), ethdev ops, commands, telemetry. pthread mutexes
 * are not fair, and the loop retakes the lock at once while it is busy: a
 * device coming up waited 136 ms for it, and the first packets for the
 * guest were missed meanwhile. A waiter says so, and the loop steps aside
 * (vhook_lock_loop) until it has the lock.
 */
static inline void
vhook_lock(void)
{
	__atomic_fetch_add(&vhook_global.lock_waiters, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&vhook_global.lock);
	__atomic_fetch_sub(&vhook_global.lock_waiters, 1, __ATOMIC_SEQ_CST);
}

static inline void
vhook_unlock(void)
{
	pthread_mutex_unlock(&vhook_global.lock);
}

/* The migration loop's side: nobody is kept waiting behind it. */
static inline bool
vhook_lock_waited(void)
{
	return __atomic_load_n(&vhook_global.lock_waiters, __ATOMIC_SEQ_CST) != 0;
}

/* Datapath (vhook_rxtx.c). */
uint16_t vhook_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vhook_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
void vhook_quiesce(struct vhook_port *p);

/* vhost callbacks (vhook_vhost.c). */
extern const struct rte_vhost_device_ops vhook_vhost_ops;
void vhook_ev_post(struct vhook_port *p, enum vhook_ev_kind kind);

/* Control thread, migration machines, injector (vhook_ctl.c). */
int vhook_port_add(struct vhook_port *p, char *err, size_t errlen);
void vhook_port_del(struct vhook_port *p);
void vhook_set_mode(struct vhook_port *p, enum vhook_mode mode);
int vhook_mig_event(struct vhook_port *p, enum udpmig_mig_event ev, const char *why,
	struct udpmig_mig_result *res);
struct vhook_port *vhook_port_by_name(const char *name);
const char *vhook_mode_name(uint32_t mode);
uint64_t vhook_now_ns(void);

/* What a channel allocates (vhook_tun_res_make()), and from what. */
struct vhook_chan_conf {
	uint32_t slot, gen;
	int socket;
	struct udpmig_vm_conf vm;
};

/* The migration tunnel (vhook_tun.c), on the control thread under the lock
 * (vhook_tun_res_make() and _free() need none). */
int vhook_tun_open(struct vhook_port *p, bool source);
int vhook_tun_open_with(struct vhook_port *p, bool source, struct vhook_chan_res *r);
void vhook_tun_res_conf(const struct vhook_port *p, struct vhook_chan_conf *cc);
int vhook_tun_res_make(const struct vhook_chan_conf *cc, bool source, struct vhook_chan_res *r);
void vhook_tun_res_free(struct vhook_chan_res *r);
void vhook_tun_close(struct vhook_port *p);
void vhook_tun_release(struct vhook_port *p);
void vhook_tun_drop(struct vhook_port *p);
void vhook_tun_send(struct vhook_port *p, uint8_t type);
void vhook_tun_announce(struct vhook_port *p);
void vhook_tun_announce_poll(struct vhook_port *p, uint64_t now_ns);
bool vhook_tun_poll(uint64_t now_ns);
bool vhook_tun_active(void);
bool vhook_tun_quiet(void);
int vhook_tun_inband(struct vhook_port *p, char *err, size_t errlen);
int vhook_tun_peer_set(int argc, const char *argv[], bool add, char *err, size_t errlen);
void vhook_tun_peers_json(FILE *f);
unsigned int vhook_tun_peer_count(void);
bool vhook_tun_discovering(const struct vhook_port *p);
void vhook_tun_inband_release(struct vhook_port *p);
uint16_t vhook_tun_inject_pull(struct vhook_port *p, struct rte_mbuf **pkts, uint16_t n,
	struct rte_mempool *mp, bool *hold);
int vhook_tun_parse_peer(struct vhook_peer *peer, int argc, const char *argv[], int first,
	bool dest, char *err, size_t errlen);
void vhook_tun_fini(void);
void vhook_tun_dump_json(const struct vhook_port *p, FILE *f);
void vhook_tun_dump_global_json(FILE *f);

/* Counters (vhook_stats.c): ethdev stats, xstats, and the same list for
 * the control socket and telemetry. */
#define VHOOK_N_COUNTERS 29
struct rte_eth_dev;
struct rte_eth_stats;
struct rte_eth_xstat;
struct rte_eth_xstat_name;
const char *vhook_counter_name(unsigned int i);
void vhook_counters_get(const struct vhook_port *p, uint64_t v[VHOOK_N_COUNTERS]);
int vhook_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st);
int vhook_stats_reset(struct rte_eth_dev *dev);
int vhook_xstats_get_names(
	struct rte_eth_dev *dev, struct rte_eth_xstat_name *names, unsigned int size);
int vhook_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n);

/* Control socket commands (vhook_cmd.c). */
int vhook_cmd_register(struct udpmig_ctl_server *srv);
int vhook_port_dump_json(struct vhook_port *p, FILE *f);

/* Telemetry (vhook_tel.c). */
void vhook_tel_register(void);

/* A burst's bracket, which vhook_quiesce() waits for. */
static inline void
vhook_epoch_enter(uint64_t *epoch)
{
	__atomic_store_n(epoch, *epoch + 1, __ATOMIC_SEQ_CST);
}

static inline void
vhook_epoch_leave(uint64_t *epoch)
{
	__atomic_store_n(epoch, *epoch + 1, __ATOMIC_RELEASE);
}

#endif /* VHOOK_H */
