/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rte_vhost callbacks of net_vhook ports. They run on the vhost-events
 * thread, which every vhost-user port of the process shares (OVS's own
 * ports too), so they stay short: publish the device to the datapath,
 * post an event for the control thread, and return. The one wait is in
 * destroy_device, which must not return while a datapath thread may
 * still touch the virtqueues (a burst at most).
 *
 * Migration hooks (DESIGN.md §2, MIGRATION-EVENTS.md §1):
 * - features_changed with VHOST_F_LOG_ALL: QEMU started dirty logging,
 *   a migration began (event LOG_ALL_ON; OFF when it is cleared);
 * - destroy_device (rte_vhost calls it on GET_VRING_BASE) while a
 *   migration is under way: the VM stopped, its blackout begins. The
 *   datapath switches to intercepting here, before the rings go away,
 *   so that not one packet falls between the two;
 * - new_device: the rings run again; for a VM that was stopped here this
 *   aborts the migration and its held packets go back to it.
 */
#include <linux/vhost.h>

#include <rte_vhost.h>

#include <ethdev_driver.h>

#include "vhook.h"

/* The port serving this vhost device; call with vhook_global.lock held. */
static struct vhook_port *
port_of_vid(int vid)
{
	char ifname[PATH_MAX];
	uint32_t i;

	if (rte_vhost_get_ifname(vid, ifname, sizeof(ifname)) != 0)
		return NULL;
	for (i = 0; i < RTE_DIM(vhook_global.ports); i++) {
		struct vhook_port *p = vhook_global.ports[i];

		if (p != NULL && strcmp(p->args.iface, ifname) == 0)
			return p;
	}
	return NULL;
}

void
vhook_ev_post(struct vhook_port *p, enum vhook_ev_kind kind)
{
	struct vhook_ev ev = {
		.slot = p->slot,
		.gen = p->gen,
		.kind = kind,
	};

	if (rte_ring_mp_enqueue_elem(vhook_global.events, &ev, sizeof(ev)) != 0)
		__atomic_fetch_add(&vhook_global.ev_dropped, 1, __ATOMIC_RELAXED);
}

static int
vhook_new_device(int vid)
{
	struct rte_eth_dev *dev;
	struct vhook_port *p;
	uint16_t i, mtu;

	vhook_lock();
	p = port_of_vid(vid);
	if (p == NULL) {
		vhook_unlock();
		VHOOK_LOG(ERR, "new device %d: no net_vhook port for its socket", vid);
		return -1;
	}
	dev = p->eth_dev;
	/* Polled: the guest need not kick us. */
	for (i = 0; i < rte_vhost_get_vring_num(vid); i++)
		rte_vhost_enable_guest_notification(vid, i, 0);
	if (rte_vhost_get_mtu(vid, &mtu) == 0)
		dev->data->mtu = mtu;
	p->vid = vid;
	__atomic_store_n(&p->attached, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&p->started, __ATOMIC_ACQUIRE))
		__atomic_store_n(&p->ready, 1, __ATOMIC_SEQ_CST);
	dev->data->dev_link.link_status = RTE_ETH_LINK_UP;
	vhook_ev_post(p, VHOOK_EV_NEW_DEVICE);
	vhook_unlock();

	VHOOK_LOG(INFO, "%s: device %d up (%u vrings)", p->args.vm.name, vid,
		rte_vhost_get_vring_num(vid));
	rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, NULL);
	return 0;
}

static void
vhook_destroy_device(int vid)
{
	struct rte_eth_dev *dev;
	struct vhook_port *p;
	enum udpmig_mig_state st;
	bool intercept = false;

	vhook_lock();
	p = port_of_vid(vid);
	if (p == NULL) {
		vhook_unlock();
		return;
	}
	dev = p->eth_dev;
	st = p->mig.state;
	/*
	 * A migration under way and the rings stop: the VM's blackout.
	 * Intercept before the virtqueue goes, so nothing falls between.
	 */
	if (p->args.auto_detect &&
		(st == UDPMIG_MIG_S_SRC_PRECOPY || (st == UDPMIG_MIG_S_IDLE && p->log_all)) &&
		__atomic_load_n(&p->mode, __ATOMIC_RELAXED) == VHOOK_DIRECT) {
		vhook_set_mode(p, VHOOK_INTERCEPT);
		intercept = true;
	}
	/* Handing held packets back: the guest left again, hold on to them. */
	if (__atomic_load_n(&p->mode, __ATOMIC_RELAXED) == VHOOK_DRAIN)
		vhook_set_mode(p, VHOOK_INTERCEPT);
	__atomic_store_n(&p->ready, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&p->attached, 0, __ATOMIC_RELEASE);
	vhook_quiesce(p);
	p->vid = -1;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	vhook_ev_post(p, VHOOK_EV_DESTROY_DEVICE);
	vhook_unlock();

	VHOOK_LOG(INFO, "%s: device %d down%s", p->args.vm.name, vid,
		intercept ? " during a migration: intercepting" : "");
	rte_eth_dev_callback_process(dev, RTE_ETH_EVENT_INTR_LSC, NULL);
}

/*
 * rte_vhost calls this while it handles SET_FEATURES, with every virtqueue
 * lock of the device held. So no vhook_global.lock: the control thread
 * holds that one while it waits for a virtqueue lock (the injector's
 * rte_vhost_enqueue_burst), and a migration cancelled while the source
 * injected deadlocked here (QEMU turning dirty logging off). The port is
 * found through the per-vid table; log_all has this thread as its only
 * writer, and the event ring takes any producer.
 */
static int
vhook_features_changed(int vid, uint64_t features)
{
	struct vhook_port *p = NULL;
	uint32_t on = (features & (1ULL << VHOST_F_LOG_ALL)) != 0;

	if (vid >= 0 && vid < VHOOK_MAX_VID)
		p = __atomic_load_n(&vhook_global.by_vid[vid], __ATOMIC_ACQUIRE);
	if (p != NULL && on != __atomic_load_n(&p->log_all, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&p->log_all, on, __ATOMIC_RELEASE);
		vhook_ev_post(p, on ? VHOOK_EV_LOG_ALL_ON : VHOOK_EV_LOG_ALL_OFF);
	}
	if (p != NULL)
		VHOOK_LOG(DEBUG, "%s: features 0x%" PRIx64 " (dirty logging %s)", p->args.vm.name,
			features, on ? "on" : "off");
	return 0;
}

/*
 * rte_vhost calls this after any message that changed whether a vring is
 * ready (set up, kicked and enabled: also a guest's ethtool -L, or
 * VIRTIO_NET_CTRL_MQ), before new_device for the first ones, and with
 * the device's virtqueue locks held. So no vhook_global.lock here: the
 * control thread may hold it while it waits for a virtqueue lock (the
 * injector's rte_vhost_enqueue_burst). The datapath reads the mask with
 * every burst: a queue whose vring is not ready returns at once, without
 * rte_vhost, which logs an error per call for a vring the guest never set
 * up, and takes the virtqueue's lock for one it disabled.
 */
static int
vhook_vring_state_changed(int vid, uint16_t vring, int enable)
{
	struct vhook_port *p = NULL;

	if (vid >= 0 && vid < VHOOK_MAX_VID)
		p = __atomic_load_n(&vhook_global.by_vid[vid], __ATOMIC_ACQUIRE);
	if (p != NULL && vring < 32) {
		if (enable)
			__atomic_fetch_or(&p->vrings_ready, 1u << vring, __ATOMIC_RELEASE);
		else
			__atomic_fetch_and(&p->vrings_ready, ~(1u << vring), __ATOMIC_RELEASE);
	}
	VHOOK_LOG(DEBUG, "device %d: vring %u %s", vid, vring, enable ? "ready" : "not ready");
	return 0;
}

/*
 * A front-end connected. For an idle VM with no device this may be the
 * incoming QEMU of a migration, which connects when it starts and starts
 * the rings only after the migration (MIGRATION-EVENTS.md §1).
 */
static int
vhook_new_connection(int vid)
{
	struct vhook_port *p;

	VHOOK_LOG(DEBUG, "device %d: connection", vid);
	vhook_lock();
	p = port_of_vid(vid);
	if (p != NULL) {
		/* A new front-end: no vring is ready until it says so. */
		__atomic_store_n(&p->vrings_ready, 0, __ATOMIC_RELEASE);
		if (vid >= 0 && vid < VHOOK_MAX_VID) {
			__atomic_store_n(&vhook_global.by_vid[vid], p, __ATOMIC_RELEASE);
		} else {
			/* Untracked: every queue goes to rte_vhost, as without the mask. */
			__atomic_store_n(&p->vrings_ready, UINT32_MAX, __ATOMIC_RELEASE);
			VHOOK_LOG(WARNING,
				"%s: vhost device id %d above %d: vring states not tracked",
				p->args.vm.name, vid, VHOOK_MAX_VID);
		}
		vhook_ev_post(p, VHOOK_EV_NEW_CONNECTION);
	}
	vhook_unlock();
	return 0;
}

static void
vhook_destroy_connection(int vid)
{
	struct vhook_port *p = NULL;

	VHOOK_LOG(DEBUG, "device %d: connection closed", vid);
	if (vid < 0 || vid >= VHOOK_MAX_VID)
		return;
	vhook_lock();
	p = vhook_global.by_vid[vid];
	__atomic_store_n(&vhook_global.by_vid[vid], NULL, __ATOMIC_RELEASE);
	if (p != NULL)
		__atomic_store_n(&p->vrings_ready, 0, __ATOMIC_RELEASE);
	vhook_unlock();
}

const struct rte_vhost_device_ops vhook_vhost_ops = {
	.new_device = vhook_new_device,
	.destroy_device = vhook_destroy_device,
	.vring_state_changed = vhook_vring_state_changed,
	.features_changed = vhook_features_changed,
	.new_connection = vhook_new_connection,
	.destroy_connection = vhook_destroy_connection,
};
