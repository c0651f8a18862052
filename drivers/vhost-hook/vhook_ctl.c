/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The net_vhook control thread: one per process, started with the first
 * port and stopped with the last. The host (OVS, testpmd, udpmig-switch)
 * owns the lcores, so migration work cannot live on one: this thread
 * turns the vhost callbacks' events and the control socket's commands
 * into migration-machine steps, performs their actions, hands held
 * packets back to the guest (the injector), and serves the control
 * socket. It holds vhook_global.lock while it touches ports, for a
 * bounded amount of work at a time, so the vhost-events thread (shared
 * with the host's own vhost ports) never waits long.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_vhost.h>

#include <ethdev_driver.h>

#include "rte_pmd_vhook.h"
#include "vhook.h"

#define EV_RING_SIZE   4096
#define INJECT_BUDGET  8 /* bursts per port per loop */
#define IDLE_POLL_MS   1
#define IDLE_DEEP_MS   20 /* nothing migrates anywhere: all_idle() */
#define ACTIVE_POLL_US 50
/* The loop steps aside this long while vhook_lock() callers wait. */
#define LOCK_YIELD_US 10
#define CTL_DIR       "/run/udpmig"

struct vhook_global vhook_global = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static const char *const mode_names[] = {
	[VHOOK_DIRECT] = "direct",
	[VHOOK_INTERCEPT] = "intercept",
	[VHOOK_DRAIN] = "drain",
};

const char *
vhook_mode_name(uint32_t mode)
{
	return mode < RTE_DIM(mode_names) ? mode_names[mode] : "?";
}

uint64_t
vhook_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UDPMIG_MIG_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void
vhook_set_mode(struct vhook_port *p, enum vhook_mode mode)
{
	__atomic_store_n(&p->mode, mode, __ATOMIC_SEQ_CST);
}

struct vhook_port *
vhook_port_by_name(const char *name)
{
	uint32_t i;

	for (i = 0; i < RTE_DIM(vhook_global.ports); i++) {
		struct vhook_port *p = vhook_global.ports[i];

		if (p != NULL && strcmp(p->args.vm.name, name) == 0)
			return p;
	}
	return NULL;
}

/* --- the injector ------------------------------------------------------ */

static void
pend_drop(struct vhook_port *p)
{
	uint16_t n = p->pend_n - p->pend_head;

	if (n > 0) {
		rte_pktmbuf_free_bulk(p->pend + p->pend_head, n);
		p->vm->stats[VHOOK_CTL_SLOT].drop_pkts += n;
	}
	p->pend_head = 0;
	p->pend_n = 0;
}

/*
 * Has every tx queue seen all of its own held packets injected? Read
 * each queue's mark between two identical, even epochs: the queue was
 * outside a burst, and its next burst will read a done_seq at least as
 * high as ours and go direct.
 */
static bool
queues_through(const struct vhook_port *p, uint64_t done)
{
	unsigned int i;

	for (i = 0; i < VHOOK_MAX_QUEUES; i++) {
		const struct vhook_queue *q = p->txq[i];
		uint64_t e1, e2, mark;

		if (q == NULL)
			continue;
		e1 = __atomic_load_n(&q->epoch, __ATOMIC_SEQ_CST);
		mark = __atomic_load_n(&q->mark, __ATOMIC_SEQ_CST);
		e2 = __atomic_load_n(&q->epoch, __ATOMIC_SEQ_CST);
		if (e1 != e2 || (e1 & 1) != 0 || mark > done)
			return false;
	}
	return true;
}

/*
 * Give held packets back to the guest's first rx virtqueue, in sequence,
 * as fast as it takes them; a full ring is retried on the next round,
 * never dropped. Returns true when it did some work.
 */
/* The guest's rx vring has at least half its buffers free for the device. */
static bool
ring_has_room(const struct vhook_port *p)
{
	struct rte_vhost_vring vr;
	uint16_t vring = p->txq[0]->vring;

	if (rte_vhost_get_vhost_vring(p->vid, vring, &vr) != 0 || vr.size == 0)
		return true;
	return rte_vhost_avail_entries(p->vid, vring) >= vr.size / 2;
}

static bool
inject_step(struct vhook_port *p)
{
	struct rte_mempool *mp = p->rxq[0] != NULL ? p->rxq[0]->mp : NULL;
	struct udpmig_vm_stats *vs = &p->vm->stats[VHOOK_CTL_SLOT];
	uint64_t done;
	unsigned int round;
	bool work = false;

	if (!p->inject || !__atomic_load_n(&p->ready, __ATOMIC_ACQUIRE) || p->txq[0] == NULL)
		return false;
	/*
	 * While packets that come before the VM's own buffer are being
	 * injected (the tunnel's, or the channel's after an abort), every tx
	 * queue keeps intercepting: in DRAIN a queue that had held nothing yet
	 * (mark 0) would go direct at once, ahead of them. That reordered a
	 * migration in CI whenever live packets reached the destination only
	 * after the resume. The VM's own buffer is handed back after them.
	 */
	if (__atomic_load_n(&p->mode, __ATOMIC_RELAXED) != VHOOK_DRAIN && p->chan.back == NULL &&
		p->chan.tbuf == NULL) {
		/* No queue goes direct before the first round sets done_seq. */
		__atomic_store_n(&p->done_seq, 0, __ATOMIC_SEQ_CST);
		vhook_set_mode(p, VHOOK_DRAIN);
	}
	for (round = 0; round < INJECT_BUDGET; round++) {
		uint16_t want, k;

		if (p->pend_head == p->pend_n) {
			uint64_t nomem = 0;
			struct udpmig_buf_stats bs;
			bool hold;

			p->pend_head = 0;
			/* What came before the VM's own buffer: the tunnel's packets
			 * (destination) or the channel's (source, after an abort). */
			p->pend_n =
				vhook_tun_inject_pull(p, p->pend, VHOOK_INJECT_BURST, mp, &hold);
			p->pend_tun = p->pend_n > 0;
			if (hold)
				break;
			if (p->pend_n == 0)
				p->pend_n = (uint16_t)udpmig_buf_dequeue_burst(
					p->buf, p->pend, VHOOK_INJECT_BURST, mp);
			if (p->pend_n == 0) {
				if (udpmig_buf_stats_get(p->buf, &bs) == 0)
					nomem = bs.deq_nomem;
				if (nomem != p->inject_nomem)
					p->inject_nomem = nomem;
				break;
			}
		}
		want = p->pend_n - p->pend_head;
		k = rte_vhost_enqueue_burst(p->vid, p->txq[0]->vring, p->pend + p->pend_head, want);
		rte_pktmbuf_free_bulk(p->pend + p->pend_head, k);
		p->pend_head += k;
		vs->injected_pkts += k;
		work |= k > 0;
		if (k < want) {
			p->inject_full++;
			break;
		}
	}
	/* While the tunnel's packets go in, every live one waits (done_seq 0). */
	if (p->pend_tun && p->pend_head < p->pend_n)
		return work;
	if (p->chan.back != NULL || p->chan.tbuf != NULL)
		return work;
	/*
	 * Live packets go direct only into a ring with room. Right after
	 * thousands of held packets a slow guest's ring is full, and what went
	 * direct then was missed (qemu_migrate_cancel lost 5-14 in 2 of 4
	 * runs). Until the guest has read half its ring, they are held and
	 * injected behind the others.
	 */
	if (!ring_has_room(p))
		return work;
	if (p->pend_head < p->pend_n)
		done = udpmig_buf_seq_get(p->pend[p->pend_head]);
	else
		done = udpmig_buf_consumed(p->buf);
	__atomic_store_n(&p->done_seq, done, __ATOMIC_SEQ_CST);

	if (p->pend_head == p->pend_n && udpmig_buf_count(p->buf) == 0 && queues_through(p, done)) {
		vhook_set_mode(p, VHOOK_DIRECT);
		p->inject = false;
		VHOOK_LOG(INFO, "%s: held packets handed back in order; direct delivery again",
			p->args.vm.name);
	}
	return work;
}

/* --- migration machine -------------------------------------------------- */

static void
do_actions(struct vhook_port *p, uint32_t actions)
{
	uint32_t bit;

	for (bit = 0; bit < UDPMIG_MIG_AB_MAX; bit++) {
		if ((actions & (1u << bit)) == 0)
			continue;
		switch ((enum udpmig_mig_action_bit)bit) {
		case UDPMIG_MIG_AB_OPEN_CHANNEL:
			p->migrations++;
			/* Without a peer (or a tunnel) the migration stays local:
			 * offline, then abort (inject here) or drop. */
			vhook_tun_open(p, true);
			break;
		case UDPMIG_MIG_AB_START_INTERCEPT:
			p->inject = false;
			vhook_set_mode(p, VHOOK_INTERCEPT);
			break;
		case UDPMIG_MIG_AB_STREAM:
			/* Store-and-forward: nothing leaves while the VM is offline. */
			p->chan.streaming = p->chan.open &&
				!(p->chan.store && p->mig.state == UDPMIG_MIG_S_SRC_OFFLINE);
			break;
		case UDPMIG_MIG_AB_SEND_ABORT:
			vhook_tun_send(p, UDPMIG_TUN_ABORT);
			break;
		case UDPMIG_MIG_AB_DROP: {
			/* Counted in the buffer's and the channel's drop counters;
			 * said here too: a port being closed takes its counters along. */
			uint64_t held = udpmig_buf_count(p->buf) + p->pend_n - p->pend_head;
			uint64_t chan = p->chan.dropped;

			pend_drop(p);
			udpmig_buf_flush(p->buf);
			vhook_tun_drop(p);
			if (held > 0 || p->chan.dropped > chan)
				VHOOK_LOG(WARNING,
					"%s: dropped %" PRIu64 " held packets, %" PRIu64
					" of the tunnel's",
					p->args.vm.name, held, p->chan.dropped - chan);
			break;
		}
		case UDPMIG_MIG_AB_INJECT:
			if (!p->chan.open || p->chan.source)
				p->aborts++;
			p->inject = true;
			break;
		case UDPMIG_MIG_AB_ANNOUNCE:
			p->chan.resumed = true;
			p->chan.ack_due = true; /* the source learns it at once */
			vhook_tun_announce(p);
			break;
		case UDPMIG_MIG_AB_STOP_INTERCEPT:
			if (p->mig.state == UDPMIG_MIG_S_SRC_GONE) {
				/* The VM runs elsewhere: what still comes is missed,
				 * and counted; the buffer's rest is streamed. */
				p->inject = false;
				vhook_set_mode(p, VHOOK_DIRECT);
				break;
			}
			/* Back to direct delivery through the injector, which
			 * hands over only once nothing is held. */
			p->inject = true;
			break;
		case UDPMIG_MIG_AB_SEND_END:
			vhook_tun_send(p, UDPMIG_TUN_END);
			break;
		case UDPMIG_MIG_AB_CLOSE_CHANNEL:
			vhook_tun_close(p);
			break;
		case UDPMIG_MIG_AB_MAX:
			break;
		}
	}
}

/* Log a transition once, act on it, publish the state. */
static void
after_step(struct vhook_port *p, const char *why, const struct udpmig_mig_result *res)
{
	char acts[256];

	if (res->to != res->from) {
		p->transitions++;
		udpmig_mig_actions_str(res->actions, acts, sizeof(acts));
		VHOOK_LOG(NOTICE, "%s: %s -> %s on %s (%s) after %.1f ms; actions: %s",
			p->args.vm.name, udpmig_mig_state_name(res->from),
			udpmig_mig_state_name(res->to), udpmig_mig_event_name(res->event), why,
			(double)res->elapsed_ns / 1e6, acts);
	}
	do_actions(p, res->actions);
	__atomic_store_n(&p->state_pub, p->mig.state, __ATOMIC_RELEASE);
}

int
vhook_mig_event(struct vhook_port *p, enum udpmig_mig_event ev, const char *why,
	struct udpmig_mig_result *res)
{
	struct udpmig_mig_result r;
	int ret;

	if (res == NULL)
		res = &r;
	ret = udpmig_mig_step(&p->mig, ev, vhook_now_ns(), &p->args.timeouts, res);
	if (ret == 0)
		after_step(p, why, res);
	return ret;
}

/* A connection that may be an incoming migration: ask the peers. */
static bool
discover_eligible(const struct vhook_port *p)
{
	return p->mig.state == UDPMIG_MIG_S_IDLE && !p->attached && vhook_tun_peer_count() > 0 &&
		!p->chan.open;
}

static void
handle_event(const struct vhook_ev *ev)
{
	struct vhook_port *p;
	enum udpmig_mig_state st;

	if (ev->slot >= RTE_DIM(vhook_global.ports))
		return;
	p = vhook_global.ports[ev->slot];
	if (p == NULL || p->gen != ev->gen || !p->args.auto_detect)
		return;
	st = p->mig.state;
	switch ((enum vhook_ev_kind)ev->kind) {
	case VHOOK_EV_LOG_ALL_ON:
		if (st == UDPMIG_MIG_S_IDLE)
			vhook_mig_event(p, UDPMIG_MIG_E_START, "dirty logging on", NULL);
		break;
	case VHOOK_EV_LOG_ALL_OFF:
		if (st == UDPMIG_MIG_S_SRC_PRECOPY)
			vhook_mig_event(p, UDPMIG_MIG_E_CANCEL, "dirty logging off", NULL);
		break;
	case VHOOK_EV_DESTROY_DEVICE:
		if (st == UDPMIG_MIG_S_SRC_PRECOPY || (st == UDPMIG_MIG_S_IDLE && p->log_all))
			vhook_mig_event(p, UDPMIG_MIG_E_OFFLINE, "rings stopped", NULL);
		break;
	case VHOOK_EV_NEW_DEVICE:
		if (st == UDPMIG_MIG_S_IDLE && vhook_tun_discovering(p)) {
			/* Asked at connection, nobody had the VM: it booted here. */
			vhook_tun_close(p);
			vhook_tun_drop(p);
			VHOOK_LOG(
				NOTICE, "%s: no peer has the VM: not a migration", p->args.vm.name);
		} else if (st == UDPMIG_MIG_S_SRC_OFFLINE) {
			vhook_mig_event(p, UDPMIG_MIG_E_ABORT, "rings restarted here", NULL);
		} else if (st == UDPMIG_MIG_S_DST_EXPECTING) {
			bool nobody = vhook_tun_discovering(p);

			vhook_mig_event(p, UDPMIG_MIG_E_RESUMED_LOCAL,
				"the expected VM's rings started", NULL);
			/* No peer has the VM: a fresh boot, not a migration. Live
			 * packets held since the connection go to it at once. */
			if (nobody && p->mig.state == UDPMIG_MIG_S_DST_DRAINING)
				vhook_mig_event(p, UDPMIG_MIG_E_END_RECEIVED,
					"no peer has the VM: not a migration", NULL);
		}
		break;
	case VHOOK_EV_NEW_CONNECTION:
		/*
		 * With peers to ask: maybe an incoming migration (see
		 * vhook_vhost.c). The port only asks; it expects the VM (and
		 * holds its packets) once a peer says it has it, so a VM that
		 * boots here waits for nothing.
		 */
		if (discover_eligible(p)) {
			/* Opened by discover_open(), with the lock released. */
			p->discover_pending = true;
			vhook_global.discover_pending = true;
		}
		break;
	}
}

/*
 * Open the discovery of connections (VHOOK_EV_NEW_CONNECTION), making the
 * channel's buffers with the lock released: that takes 100-300 ms here,
 * and the device coming up right after the connection waits for the lock.
 * The port is looked up again by slot and generation afterwards.
 */
static void
discover_open(void)
{
	unsigned int s;

	if (!vhook_global.discover_pending)
		return;
	vhook_global.discover_pending = false;
	for (s = 0; s < RTE_DIM(vhook_global.ports); s++) {
		struct vhook_chan_conf cc;
		struct vhook_chan_res r;
		struct vhook_port *p;
		bool ours = false;
		int ret;

		vhook_lock();
		p = vhook_global.ports[s];
		if (p == NULL || !p->discover_pending) {
			vhook_unlock();
			continue;
		}
		p->discover_pending = false;
		vhook_tun_res_conf(p, &cc);
		vhook_unlock();

		ret = vhook_tun_res_make(&cc, false, &r);

		vhook_lock();
		p = vhook_global.ports[s];
		ours = p != NULL && p->gen == cc.gen;
		if (ret == 0 && ours && discover_eligible(p)) {
			memset(&p->peer, 0, sizeof(p->peer));
			p->peer.discover = true;
			ret = vhook_tun_open_with(p, false, &r);
			if (ret == 0)
				VHOOK_LOG(NOTICE, "%s: a front-end connected: asking the peers",
					p->args.vm.name);
		}
		vhook_unlock();
		if (ret != 0 && ours)
			VHOOK_LOG(WARNING, "%s: cannot ask the peers: %s", cc.vm.name,
				strerror(-ret));
		vhook_tun_res_free(&r); /* what was not taken */
	}
}

/*
 * Source channels that an event asked for (vhook_tun_open()): their
 * buffers are made here with the lock released, then the channel opens
 * if the port still migrates with a peer; a peer's HELLO WHO gets its
 * answer at its next retry. A spare that nothing took by the time its
 * port is idle again is freed.
 */
static void
spare_make(void)
{
	unsigned int s;

	for (s = 0; s < RTE_DIM(vhook_global.ports); s++) {
		struct vhook_chan_res r = { 0 };
		struct vhook_chan_conf cc;
		struct vhook_port *p;
		bool ours, want;
		int ret = 0;

		vhook_lock();
		p = vhook_global.ports[s];
		want = p != NULL && p->spare_want && p->spare.hold == NULL;
		if (p != NULL && p->spare.hold != NULL && p->mig.state == UDPMIG_MIG_S_IDLE) {
			r = p->spare; /* unused: freed below */
			memset(&p->spare, 0, sizeof(p->spare));
		}
		if (p != NULL)
			p->spare_want = false;
		if (want)
			vhook_tun_res_conf(p, &cc);
		vhook_unlock();
		if (!want) {
			vhook_tun_res_free(&r);
			continue;
		}

		ret = vhook_tun_res_make(&cc, true, &r);

		vhook_lock();
		p = vhook_global.ports[s];
		ours = p != NULL && p->gen == cc.gen;
		if (ret == 0 && ours && p->spare.hold == NULL &&
			(p->mig.state == UDPMIG_MIG_S_SRC_PRECOPY ||
				p->mig.state == UDPMIG_MIG_S_SRC_OFFLINE)) {
			bool offline = p->mig.state == UDPMIG_MIG_S_SRC_OFFLINE;

			p->spare = r;
			memset(&r, 0, sizeof(r));
			/* OFFLINE already: what the VM's buffer holds goes now. */
			if (p->peer.set && !p->chan.open && vhook_tun_open(p, true) == 0)
				p->chan.streaming = offline && !p->chan.store;
		}
		vhook_unlock();
		if (ret != 0 && ours)
			VHOOK_LOG(WARNING, "%s: cannot make the channel's buffers: %s", cc.vm.name,
				strerror(-ret));
		vhook_tun_res_free(&r); /* what was not taken */
	}
}

/*
 * The migration work: state timeouts, injection, the tunnel. Under the
 * lock; on the control thread, or on the application's lcore that calls
 * rte_pmd_vhook_migration_poll().
 */
static bool
migration_work(void)
{
	uint64_t now = vhook_now_ns();
	bool busy = false;
	unsigned int i;

	for (i = 0; i < RTE_DIM(vhook_global.ports); i++) {
		struct vhook_port *p = vhook_global.ports[i];
		struct udpmig_mig_result res;

		if (p == NULL)
			continue;
		if (udpmig_mig_poll(&p->mig, now, &p->args.timeouts, &res) == 1)
			after_step(p, "state timeout", &res);
		busy |= inject_step(p);
		vhook_tun_announce_poll(p, now);
	}
	busy |= vhook_tun_poll(now);
	return busy;
}

int
rte_pmd_vhook_migration_external(bool on)
{
	vhook_lock();
	vhook_global.mig_external = on;
	vhook_unlock();
	VHOOK_LOG(NOTICE, "migration work: %s",
		on ? "on the application's lcore" : "on the control thread");
	return 0;
}

bool
rte_pmd_vhook_migration_poll(void)
{
	bool busy;

	/* Never wait: a command holds the lock for microseconds; come back.
	 * Nor keep anyone waiting (vhook_lock()). */
	if (vhook_lock_waited() || pthread_mutex_trylock(&vhook_global.lock) != 0) {
		__atomic_fetch_add(&vhook_global.mig_busy_skips, 1, __ATOMIC_RELAXED);
		return true;
	}
	vhook_global.mig_polls++;
	busy = vhook_global.mig_external && migration_work();
	vhook_unlock();
	return busy;
}

/*
 * No port has anything under way, nor any sign of a migration starting
 * (dirty logging): the control thread may sleep IDLE_DEEP_MS. A vhost
 * event then waits that long at most, and none matters sooner on an idle
 * port; a command wakes it at once. Waking every millisecond for nothing
 * took the cores from the poll-mode threads of a host that migrates
 * nothing (Open vSwitch's PMD, the guests'). Under the lock.
 */
static bool
all_idle(void)
{
	unsigned int i;

	if (vhook_global.discover_pending || !vhook_tun_quiet() ||
		rte_ring_count(vhook_global.events) > 0)
		return false;
	for (i = 0; i < RTE_DIM(vhook_global.ports); i++) {
		const struct vhook_port *p = vhook_global.ports[i];

		if (p != NULL &&
			(p->mig.state != UDPMIG_MIG_S_IDLE ||
				__atomic_load_n(&p->log_all, __ATOMIC_RELAXED) || p->inject ||
				p->pend_head < p->pend_n || p->chan.open || p->chan.back != NULL ||
				p->chan.tbuf != NULL || p->discover_pending || p->spare_want ||
				__atomic_load_n(&p->announce, __ATOMIC_RELAXED) != NULL))
			return false;
	}
	return true;
}

static void *
ctl_thread(void *arg __rte_unused)
{
	bool busy = false, deep = false;

	while (!__atomic_load_n(&vhook_global.quit, __ATOMIC_ACQUIRE)) {
		struct vhook_ev evs[32];
		unsigned int n, i;

		/*
		 * Idle: wait for the socket up to IDLE_POLL_MS. While a channel
		 * has packets in flight, come back after ACTIVE_POLL_US: a 1 ms
		 * sleep there delayed acks and retransmissions by as much.
		 */
		if (!busy && !vhook_global.mig_external && vhook_tun_active()) {
			if (vhook_global.ctl != NULL)
				udpmig_ctl_server_run(vhook_global.ctl, 0);
			rte_delay_us_sleep(ACTIVE_POLL_US);
		} else if (vhook_global.ctl != NULL) {
			udpmig_ctl_server_run(
				vhook_global.ctl, busy ? 0 : (deep ? IDLE_DEEP_MS : IDLE_POLL_MS));
		} else if (!busy) {
			rte_delay_us_sleep((deep ? IDLE_DEEP_MS : IDLE_POLL_MS) * 1000);
		}
		busy = false;

		while (vhook_lock_waited()) {
			vhook_global.lock_yields++;
			rte_delay_us_sleep(LOCK_YIELD_US);
		}
		pthread_mutex_lock(&vhook_global.lock);
		n = rte_ring_sc_dequeue_burst_elem(
			vhook_global.events, evs, sizeof(evs[0]), RTE_DIM(evs), NULL);
		for (i = 0; i < n; i++)
			handle_event(&evs[i]);
		busy |= n > 0;
		if (!vhook_global.mig_external)
			busy |= migration_work();
		deep = !busy && all_idle();
		vhook_unlock();
		discover_open();
		if (__atomic_exchange_n(&vhook_global.spare_pending, false, __ATOMIC_ACQ_REL))
			spare_make();
	}
	return NULL;
}

/* --- process-wide set-up ------------------------------------------------ */

/* The default control socket: /run/udpmig/<EAL file prefix>.ctl. */
static void
ctl_default_path(char *buf, size_t len)
{
	const char *rt = rte_eal_get_runtime_dir();
	const char *prefix = strrchr(rt, '/');

	snprintf(buf, len, "%s/%s.ctl", CTL_DIR, prefix != NULL ? prefix + 1 : "rte");
}

/* Release what global_init() made; safe on a half-made state. */
static void
global_free(void)
{
	udpmig_ctl_server_free(vhook_global.ctl);
	vhook_global.ctl = NULL;
	udpmig_vm_table_free(vhook_global.vms);
	vhook_global.vms = NULL;
	rte_ring_free(vhook_global.events);
	vhook_global.events = NULL;
}

static int
global_init(const struct vhook_args *a, char *err, size_t errlen)
{
	struct udpmig_ctl_conf cc = {
		.group = a->ctl_group[0] != '\0' ? a->ctl_group : NULL,
		.version = "net_vhook " UDPMIG_VERSION,
	};
	int ret;

	vhook_global.events = rte_ring_create_elem("vhook_events", sizeof(struct vhook_ev),
		EV_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
	vhook_global.vms = udpmig_vm_table_create(RTE_MAX_ETHPORTS);
	if (vhook_global.events == NULL || vhook_global.vms == NULL) {
		snprintf(err, errlen, "out of memory for the event ring or the VM table");
		ret = -ENOMEM;
		goto fail;
	}
	if (strcmp(a->ctl, "none") != 0) {
		if (a->ctl[0] != '\0')
			strlcpy(vhook_global.ctl_path, a->ctl, sizeof(vhook_global.ctl_path));
		else
			ctl_default_path(vhook_global.ctl_path, sizeof(vhook_global.ctl_path));
		vhook_global.ctl = udpmig_ctl_server_create(vhook_global.ctl_path, &cc);
		if (vhook_global.ctl == NULL) {
			ret = -rte_errno;
			snprintf(err, errlen, "ctl: cannot serve %s: %s", vhook_global.ctl_path,
				strerror(rte_errno));
			goto fail;
		}
		ret = vhook_cmd_register(vhook_global.ctl);
		if (ret < 0) {
			snprintf(err, errlen, "ctl: cannot register commands: %s", strerror(-ret));
			goto fail;
		}
	} else {
		vhook_global.ctl_path[0] = '\0';
	}
	if (!vhook_global.tel_registered) {
		vhook_tel_register();
		vhook_global.tel_registered = true;
	}
	vhook_global.quit = 0;
	ret = rte_ctrl_thread_create(&vhook_global.thread, "vhook-ctl", NULL, ctl_thread, NULL);
	if (ret != 0) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(ret));
		ret = -ret;
		goto fail;
	}
	vhook_global.thread_running = true;
	if (vhook_global.ctl != NULL)
		VHOOK_LOG(INFO, "control socket %s", vhook_global.ctl_path);
	return 0;
fail:
	global_free();
	return ret;
}

/* Called without the lock: the thread takes it. */
static void
global_fini(void)
{
	if (vhook_global.thread_running) {
		__atomic_store_n(&vhook_global.quit, 1, __ATOMIC_RELEASE);
		pthread_join(vhook_global.thread, NULL);
		vhook_global.thread_running = false;
	}
	vhook_tun_fini();
	global_free();
}

/* A later port may repeat the process's control socket, or leave it out. */
static bool
ctl_same(const struct vhook_args *a)
{
	if (a->ctl[0] == '\0')
		return true;
	if (strcmp(a->ctl, "none") == 0)
		return vhook_global.ctl_path[0] == '\0';
	return strcmp(a->ctl, vhook_global.ctl_path) == 0;
}

int
vhook_port_add(struct vhook_port *p, char *err, size_t errlen)
{
	char verr[128];
	uint32_t slot;
	int ret;

	vhook_lock();
	if (vhook_global.n_ports == 0) {
		ret = global_init(&p->args, err, errlen);
		if (ret < 0)
			goto out;
	} else if (!ctl_same(&p->args)) {
		snprintf(err, errlen,
			"ctl: this process already has its control socket (%s); one per process",
			vhook_global.ctl_path[0] != '\0' ? vhook_global.ctl_path : "none");
		ret = -EEXIST;
		goto out;
	}
	if (vhook_port_by_name(p->args.vm.name) != NULL) {
		snprintf(err, errlen, "vm: a net_vhook port for VM '%s' exists", p->args.vm.name);
		ret = -EEXIST;
		goto out_fini;
	}
	for (slot = 0; slot < RTE_DIM(vhook_global.ports); slot++)
		if (vhook_global.ports[slot] == NULL)
			break;
	if (slot == RTE_DIM(vhook_global.ports)) {
		snprintf(err, errlen, "too many net_vhook ports");
		ret = -ENOSPC;
		goto out_fini;
	}
	p->vm = udpmig_vm_table_add(vhook_global.vms, &p->args.vm, verr, sizeof(verr));
	if (p->vm == NULL) {
		ret = -errno;
		snprintf(err, errlen, "%s", verr);
		goto out_fini;
	}
	ret = udpmig_vm_buf_create(p->vm, p->args.queues, p->eth_dev->data->numa_node);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create the buffer (t1-quota %u, t2-slots %u): %s",
			p->args.vm.t1_quota, p->args.vm.t2_slots, strerror(-ret));
		udpmig_vm_free(udpmig_vm_table_del(vhook_global.vms, p->args.vm.name));
		p->vm = NULL;
		goto out_fini;
	}
	p->vm->priv = p;
	p->buf = p->vm->buf;
	udpmig_mig_init(&p->mig, vhook_now_ns());
	p->state_pub = p->mig.state;
	p->slot = slot;
	p->gen = ++vhook_global.gens[slot];
	p->vid = -1;
	vhook_global.ports[slot] = p;
	vhook_global.n_ports++;
	ret = 0;
	goto out;
out_fini:
	if (vhook_global.n_ports == 0) {
		vhook_unlock();
		global_fini();
		return ret;
	}
out:
	vhook_unlock();
	return ret;
}

void
vhook_port_del(struct vhook_port *p)
{
	struct udpmig_buf_stats bs;
	unsigned int vid;
	bool last;

	vhook_lock();
	if (p->vm == NULL || vhook_global.ports[p->slot] != p) {
		vhook_unlock();
		return;
	}
	vhook_mig_event(p, UDPMIG_MIG_E_REMOVE, "port closed", NULL);
	pend_drop(p);
	rte_pktmbuf_free(__atomic_exchange_n(&p->announce, NULL, __ATOMIC_ACQUIRE));
	vhook_tun_close(p);
	if (p->chan.back != NULL) {
		p->chan.dropped += udpmig_tun_tx_held(p->chan.back);
		udpmig_tun_tx_free(p->chan.back);
		p->chan.back = NULL;
	}
	if (p->chan.tbuf != NULL) {
		p->chan.dropped += udpmig_buf_count(p->chan.tbuf);
		udpmig_buf_free(p->chan.tbuf);
		p->chan.tbuf = NULL;
	}
	vhook_tun_release(p);
	if (p->chan.dropped > 0)
		VHOOK_LOG(WARNING, "%s: port closed: %" PRIu64 " tunnel packets dropped",
			p->args.vm.name, p->chan.dropped);
	if (udpmig_buf_stats_get(p->buf, &bs) == 0 && bs.held > 0)
		VHOOK_LOG(WARNING, "%s: port closed with %" PRIu64 " packets held: dropped",
			p->args.vm.name, bs.held);
	/* Its socket is unregistered: no callback looks it up any more. */
	for (vid = 0; vid < VHOOK_MAX_VID; vid++)
		if (vhook_global.by_vid[vid] == p)
			__atomic_store_n(&vhook_global.by_vid[vid], NULL, __ATOMIC_RELEASE);
	vhook_global.ports[p->slot] = NULL;
	udpmig_vm_free(udpmig_vm_table_del(vhook_global.vms, p->args.vm.name));
	p->vm = NULL;
	p->buf = NULL;
	last = --vhook_global.n_ports == 0;
	vhook_unlock();
	if (last)
		global_fini();
}
