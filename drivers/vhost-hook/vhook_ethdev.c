/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_vhook: devargs -> probe/remove -> eth_dev_ops -> registration.
 *
 *   --vdev 'net_vhook0,iface=/run/udpmig/vm1.sock,vm=vm1,mac=52:54:00:00:00:01'
 *
 * A vhost-user port (rte_vhost, server or client socket, several queue
 * pairs) that holds its VM's packets in order while the VM migrates.
 * Primary processes only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>

#include <rte_hash_crc.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_vhost.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>

#include "vhook.h"

RTE_LOG_REGISTER(vhook_logtype, pmd.net.vhook, NOTICE);

#define VHOOK_ARG_IFACE           "iface"
#define VHOOK_ARG_CLIENT          "client"
#define VHOOK_ARG_QUEUES          "queues"
#define VHOOK_ARG_VM              "vm"
#define VHOOK_ARG_MAC             "mac"
#define VHOOK_ARG_IP              "ip"
#define VHOOK_ARG_T1_QUOTA        "t1-quota"
#define VHOOK_ARG_T2_SLOTS        "t2-slots"
#define VHOOK_ARG_T2_SLOT_SIZE    "t2-slot-size"
#define VHOOK_ARG_T2_FILE         "t2-file"
#define VHOOK_ARG_POLICY          "policy"
#define VHOOK_ARG_HOLD_TIMEOUT    "hold-timeout-ms"
#define VHOOK_ARG_TAIL_QUIET      "tail-quiet-ms"
#define VHOOK_ARG_AUTO_DETECT     "auto-detect"
#define VHOOK_ARG_PRECOPY_TIMEOUT "precopy-timeout-ms"
#define VHOOK_ARG_OFFLINE_TIMEOUT "offline-timeout-ms"
#define VHOOK_ARG_CTL             "ctl"
#define VHOOK_ARG_CTL_GROUP       "ctl-group"
#define VHOOK_ARG_TUNNEL_IP       "tunnel-ip"
#define VHOOK_ARG_TUNNEL_PORT     "tunnel-port"
/*
 * The same as mac=: ethdev's port iterator (RTE_ETH_FOREACH_MATCHING_DEV,
 * which Open vSwitch uses to find the port a dpdk-devargs string created)
 * reads a mac= in the devargs as the port's own MAC, never ours.
 */
#define VHOOK_ARG_VM_MAC "vm-mac"

static const char *const valid_args[] = {
	VHOOK_ARG_IFACE,
	VHOOK_ARG_CLIENT,
	VHOOK_ARG_QUEUES,
	VHOOK_ARG_VM,
	VHOOK_ARG_MAC,
	VHOOK_ARG_IP,
	VHOOK_ARG_T1_QUOTA,
	VHOOK_ARG_T2_SLOTS,
	VHOOK_ARG_T2_SLOT_SIZE,
	VHOOK_ARG_T2_FILE,
	VHOOK_ARG_POLICY,
	VHOOK_ARG_HOLD_TIMEOUT,
	VHOOK_ARG_TAIL_QUIET,
	VHOOK_ARG_AUTO_DETECT,
	VHOOK_ARG_PRECOPY_TIMEOUT,
	VHOOK_ARG_OFFLINE_TIMEOUT,
	VHOOK_ARG_CTL,
	VHOOK_ARG_CTL_GROUP,
	VHOOK_ARG_TUNNEL_IP,
	VHOOK_ARG_TUNNEL_PORT,
	VHOOK_ARG_VM_MAC,
	NULL,
};

/* Offloads the port does not do: the guest computes its own checksums. */
#define VHOOK_FEATURES_OFF                                                        \
	((1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |    \
		(1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) | \
		(1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6))

/* --- devargs -------------------------------------------------------------- */

static int
parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (v == NULL || *v == '\0' || *v == '-')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

static int
parse_one(struct vhook_args *a, const char *key, const char *v, char *err, size_t errlen)
{
	uint64_t x;

	if (strcmp(key, VHOOK_ARG_IFACE) == 0) {
		if (*v == '\0' || strlcpy(a->iface, v, sizeof(a->iface)) >= sizeof(a->iface)) {
			snprintf(err, errlen, "iface: expected a socket path of 1..107 bytes");
			return -EINVAL;
		}
	} else if (strcmp(key, VHOOK_ARG_CLIENT) == 0) {
		if (parse_u64(v, 0, 1, &x) < 0) {
			snprintf(err, errlen, "client=%s: expected 0 (server socket) or 1", v);
			return -EINVAL;
		}
		a->client = x;
	} else if (strcmp(key, VHOOK_ARG_QUEUES) == 0) {
		if (parse_u64(v, 1, VHOOK_MAX_QUEUES, &x) < 0) {
			snprintf(err, errlen, "queues=%s: expected 1..%u", v, VHOOK_MAX_QUEUES);
			return -EINVAL;
		}
		a->queues = (uint16_t)x;
	} else if (strcmp(key, VHOOK_ARG_AUTO_DETECT) == 0) {
		if (parse_u64(v, 0, 1, &x) < 0) {
			snprintf(err, errlen, "auto-detect=%s: expected 0 or 1", v);
			return -EINVAL;
		}
		a->auto_detect = x;
	} else if (strcmp(key, VHOOK_ARG_PRECOPY_TIMEOUT) == 0 ||
		strcmp(key, VHOOK_ARG_OFFLINE_TIMEOUT) == 0) {
		enum udpmig_mig_state st =
			key[0] == 'p' ? UDPMIG_MIG_S_SRC_PRECOPY : UDPMIG_MIG_S_SRC_OFFLINE;

		if (parse_u64(v, 1, UDPMIG_MIG_TIMEOUT_MAX_NS / 1000000, &x) < 0) {
			snprintf(err, errlen, "%s=%s: expected milliseconds, 1..%" PRIu64, key, v,
				UDPMIG_MIG_TIMEOUT_MAX_NS / 1000000);
			return -EINVAL;
		}
		a->timeouts.ns[st] = x * 1000000;
	} else if (strcmp(key, VHOOK_ARG_TAIL_QUIET) == 0) {
		if (parse_u64(v, 1, 60000, &x) < 0) {
			snprintf(err, errlen, "%s=%s: expected milliseconds, 1..60000", key, v);
			return -EINVAL;
		}
		a->tail_quiet_ms = (uint32_t)x;
	} else if (strcmp(key, VHOOK_ARG_CTL) == 0) {
		if (*v == '\0' || strlcpy(a->ctl, v, sizeof(a->ctl)) >= sizeof(a->ctl)) {
			snprintf(err, errlen,
				"ctl: expected a socket path of 1..107 bytes, or none");
			return -EINVAL;
		}
	} else if (strcmp(key, VHOOK_ARG_TUNNEL_IP) == 0) {
		if (inet_pton(AF_INET, v, a->tun_addr) == 1) {
			a->tun_family = AF_INET;
		} else if (inet_pton(AF_INET6, v, a->tun_addr) == 1) {
			a->tun_family = AF_INET6;
		} else {
			snprintf(err, errlen, "tunnel-ip=%s: expected an IPv4 or IPv6 address", v);
			return -EINVAL;
		}
	} else if (strcmp(key, VHOOK_ARG_TUNNEL_PORT) == 0) {
		if (parse_u64(v, 1, UINT16_MAX, &x) < 0) {
			snprintf(err, errlen, "tunnel-port=%s: expected 1..65535", v);
			return -EINVAL;
		}
		a->tun_port = (uint16_t)x;
	} else if (strcmp(key, VHOOK_ARG_CTL_GROUP) == 0) {
		if (*v == '\0' ||
			strlcpy(a->ctl_group, v, sizeof(a->ctl_group)) >= sizeof(a->ctl_group)) {
			snprintf(err, errlen, "ctl-group: expected a group name");
			return -EINVAL;
		}
	} else {
		/* The VM's own settings: the lib parses and names them. */
		const char *k = key;
		int ret;

		if (strcmp(key, VHOOK_ARG_VM) == 0)
			k = "name";
		else if (strcmp(key, VHOOK_ARG_VM_MAC) == 0)
			k = VHOOK_ARG_MAC;
		ret = udpmig_vm_conf_set(&a->vm, k, v, err, errlen);
		if (ret < 0 && strcmp(key, VHOOK_ARG_VM) == 0)
			snprintf(err, errlen, "vm=%s: expected a name of 1..%u of [A-Za-z0-9_.-]",
				v, UDPMIG_VM_NAMESIZE - 1);
		return ret;
	}
	return 0;
}

static void
accepted_list(char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; valid_args[i] != NULL && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", valid_args[i]);
}

/*
 * Parse the devargs into @a. Unknown keys are named (rte_kvargs would
 * only say "invalid"). On error, one line in @err.
 */
static int
vhook_parse_args(
	const char *name, const char *params, struct vhook_args *a, char *err, size_t errlen)
{
	struct rte_kvargs *kv;
	char acc[512];
	unsigned int i, j;
	uint64_t need;
	int ret = 0;

	memset(a, 0, sizeof(*a));
	a->queues = 1;
	a->auto_detect = true;
	a->tail_quiet_ms = 500;
	udpmig_vm_conf_default(&a->vm);
	udpmig_mig_timeouts_default(&a->timeouts);

	kv = rte_kvargs_parse(params != NULL ? params : "", NULL);
	if (kv == NULL) {
		snprintf(err, errlen, "cannot parse '%s': expected key=value,key=value",
			params != NULL ? params : "");
		return -EINVAL;
	}
	for (i = 0; i < kv->count && ret == 0; i++) {
		const struct rte_kvargs_pair *kp = &kv->pairs[i];

		for (j = 0; valid_args[j] != NULL; j++)
			if (strcmp(kp->key, valid_args[j]) == 0)
				break;
		if (valid_args[j] == NULL) {
			accepted_list(acc, sizeof(acc));
			snprintf(err, errlen, "unknown devarg '%s'; accepted: %s", kp->key, acc);
			ret = -EINVAL;
		} else if (kp->value == NULL) {
			snprintf(
				err, errlen, "devarg '%s' has no value (%s=...)", kp->key, kp->key);
			ret = -EINVAL;
		} else {
			ret = parse_one(a, kp->key, kp->value, err, errlen);
		}
	}
	rte_kvargs_free(kv);
	if (ret < 0)
		return ret;
	if (a->iface[0] == '\0') {
		snprintf(err, errlen, "iface=<vhost-user socket path> is required");
		return -EINVAL;
	}
	if (a->tun_port != 0 && a->tun_family == 0) {
		snprintf(err, errlen, "tunnel-port needs tunnel-ip");
		return -EINVAL;
	}
	/* Defaults that depend on the device: VM name and MAC. */
	if (a->vm.name[0] == '\0') {
		const char *n = strncmp(name, "net_", 4) == 0 ? name + 4 : name;

		ret = udpmig_vm_conf_set(&a->vm, "name", n, err, errlen);
		if (ret < 0) {
			snprintf(
				err, errlen, "vm: the device name '%s' is no VM name; give vm=", n);
			return ret;
		}
	}
	if (rte_is_zero_ether_addr(&a->vm.mac)) {
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		uint32_t h = rte_hash_crc(a->vm.name, strlen(a->vm.name), 0);

		snprintf(mac, sizeof(mac), "02:76:68:%02x:%02x:%02x", (h >> 16) & 0xff,
			(h >> 8) & 0xff, h & 0xff);
		udpmig_vm_conf_set(&a->vm, "mac", mac, NULL, 0);
	}
	/*
	 * A destination waits at least as long as its source may take (precopy
	 * plus offline); no devarg sets that wait, so it follows the two that do
	 * instead of failing the probe with a name the user never gave.
	 */
	need = a->timeouts.ns[UDPMIG_MIG_S_SRC_PRECOPY] + a->timeouts.ns[UDPMIG_MIG_S_SRC_OFFLINE];
	if (a->timeouts.ns[UDPMIG_MIG_S_DST_EXPECTING] < need && need <= UDPMIG_MIG_TIMEOUT_MAX_NS)
		a->timeouts.ns[UDPMIG_MIG_S_DST_EXPECTING] = need;
	ret = udpmig_vm_conf_validate(&a->vm, err, errlen);
	if (ret == 0)
		ret = udpmig_mig_timeouts_validate(&a->timeouts, err, errlen);
	return ret;
}

/* --- eth_dev_ops ----------------------------------------------------------- */

static int
vhook_dev_configure(struct rte_eth_dev *dev __rte_unused)
{
	return 0;
}

static int
vhook_dev_start(struct rte_eth_dev *dev)
{
	struct vhook_port *p = dev->data->dev_private;
	uint16_t i;

	__atomic_store_n(&p->started, 1, __ATOMIC_RELEASE);
	vhook_lock();
	if (__atomic_load_n(&p->attached, __ATOMIC_ACQUIRE))
		__atomic_store_n(&p->ready, 1, __ATOMIC_SEQ_CST);
	vhook_unlock();
	for (i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	return 0;
}

static int
vhook_dev_stop(struct rte_eth_dev *dev)
{
	struct vhook_port *p = dev->data->dev_private;
	uint16_t i;

	__atomic_store_n(&p->started, 0, __ATOMIC_RELEASE);
	vhook_lock();
	__atomic_store_n(&p->ready, 0, __ATOMIC_SEQ_CST);
	vhook_quiesce(p);
	vhook_unlock();
	for (i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	for (i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	return 0;
}

static void
queue_free(struct vhook_queue **slot, void **data_slot)
{
	rte_free(*slot);
	*slot = NULL;
	if (data_slot != NULL)
		*data_slot = NULL;
}

static int
vhook_dev_close(struct rte_eth_dev *dev)
{
	struct vhook_port *p = dev->data->dev_private;
	uint16_t i;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY || p == NULL || p->eth_dev == NULL)
		return 0;
	vhook_dev_stop(dev);
	vhook_tun_inband_release(p);
	/* No callback for this socket runs after this returns. */
	rte_vhost_driver_unregister(p->args.iface);
	vhook_port_del(p);
	for (i = 0; i < VHOOK_MAX_QUEUES; i++) {
		queue_free(
			&p->rxq[i], i < dev->data->nb_rx_queues ? &dev->data->rx_queues[i] : NULL);
		queue_free(
			&p->txq[i], i < dev->data->nb_tx_queues ? &dev->data->tx_queues[i] : NULL);
	}
	p->eth_dev = NULL;
	return 0;
}

static int
vhook_dev_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct vhook_port *p = dev->data->dev_private;

	info->max_mac_addrs = 1;
	info->max_rx_pktlen = (uint32_t)-1;
	info->max_rx_queues = p->args.queues;
	info->max_tx_queues = p->args.queues;
	info->min_rx_bufsize = 0;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	return 0;
}

static struct vhook_queue *
queue_new(struct rte_eth_dev *dev, uint16_t qid, unsigned int socket_id, uint16_t vring)
{
	struct vhook_queue *q =
		rte_zmalloc_socket("vhook_queue", sizeof(*q), RTE_CACHE_LINE_SIZE, (int)socket_id);

	if (q == NULL)
		return NULL;
	q->port = dev->data->dev_private;
	q->qid = qid;
	q->vring = vring;
	q->port_id = dev->data->port_id;
	return q;
}

static int
vhook_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc __rte_unused,
	unsigned int socket_id, const struct rte_eth_rxconf *conf __rte_unused,
	struct rte_mempool *mp)
{
	struct vhook_port *p = dev->data->dev_private;
	struct vhook_queue *q = queue_new(dev, qid, socket_id, VHOOK_VRING_GUEST_TX(qid));

	if (q == NULL)
		return -ENOMEM;
	q->mp = mp;
	rte_free(p->rxq[qid]);
	p->rxq[qid] = q;
	dev->data->rx_queues[qid] = q;
	return 0;
}

static int
vhook_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc __rte_unused,
	unsigned int socket_id, const struct rte_eth_txconf *conf __rte_unused)
{
	struct vhook_port *p = dev->data->dev_private;
	struct vhook_queue *q = queue_new(dev, qid, socket_id, VHOOK_VRING_GUEST_RX(qid));

	if (q == NULL)
		return -ENOMEM;
	rte_free(p->txq[qid]);
	p->txq[qid] = q;
	dev->data->tx_queues[qid] = q;
	return 0;
}

static void
vhook_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct vhook_port *p = dev->data->dev_private;

	queue_free(&p->rxq[qid], &dev->data->rx_queues[qid]);
}

static void
vhook_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct vhook_port *p = dev->data->dev_private;

	queue_free(&p->txq[qid], &dev->data->tx_queues[qid]);
}

static int
vhook_link_update(struct rte_eth_dev *dev __rte_unused, int wait __rte_unused)
{
	return 0; /* the vhost callbacks keep dev_link up to date */
}

static int
vhook_noop(struct rte_eth_dev *dev __rte_unused)
{
	return 0;
}

static int
vhook_mtu_set(struct rte_eth_dev *dev __rte_unused, uint16_t mtu __rte_unused)
{
	return 0; /* vhost-user has no MTU to program; the guest's is its own */
}

static const struct eth_dev_ops vhook_ops = {
	.dev_configure = vhook_dev_configure,
	.dev_start = vhook_dev_start,
	.dev_stop = vhook_dev_stop,
	.dev_close = vhook_dev_close,
	.dev_infos_get = vhook_dev_infos_get,
	.promiscuous_enable = vhook_noop,
	.promiscuous_disable = vhook_noop,
	.allmulticast_enable = vhook_noop,
	.allmulticast_disable = vhook_noop,
	.mtu_set = vhook_mtu_set,
	.rx_queue_setup = vhook_rx_queue_setup,
	.tx_queue_setup = vhook_tx_queue_setup,
	.rx_queue_release = vhook_rx_queue_release,
	.tx_queue_release = vhook_tx_queue_release,
	.link_update = vhook_link_update,
	.stats_get = vhook_stats_get,
	.stats_reset = vhook_stats_reset,
	.xstats_get = vhook_xstats_get,
	.xstats_get_names = vhook_xstats_get_names,
};

/*
 * A secondary process (dpdk-dumpcap, dpdk-proc-info) only needs to know
 * the port: its queues, vhost-user state and buffers live in the primary.
 * What it may ask reads dev_private (shared memory) and nothing else.
 */
static const struct eth_dev_ops vhook_secondary_ops = {
	.dev_infos_get = vhook_dev_infos_get,
};

static int
vhook_probe_secondary(struct rte_vdev_device *vdev, const char *name)
{
	struct rte_eth_dev *dev = rte_eth_dev_attach_secondary(name);

	if (dev == NULL) {
		VHOOK_LOG(ERR, "%s: secondary process: the primary has no such port", name);
		return -ENODEV;
	}
	dev->dev_ops = &vhook_secondary_ops;
	dev->device = &vdev->device;
	dev->rx_pkt_burst = rte_eth_pkt_burst_dummy;
	dev->tx_pkt_burst = rte_eth_pkt_burst_dummy;
	rte_eth_dev_probing_finish(dev);
	return 0;
}

/* --- probe / remove ------------------------------------------------------- */

static int
vhook_vhost_setup(struct vhook_port *p, char *err, size_t errlen)
{
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
	int ret;

	if (p->args.client)
		flags |= RTE_VHOST_USER_CLIENT;
	if (rte_vhost_driver_register(p->args.iface, flags) != 0) {
		snprintf(err, errlen,
			"iface=%s: cannot register the vhost-user socket "
			"(in use by another port, or a bad path)",
			p->args.iface);
		return -EINVAL;
	}
	ret = rte_vhost_driver_callback_register(p->args.iface, &vhook_vhost_ops);
	if (ret == 0)
		ret = rte_vhost_driver_disable_features(p->args.iface, VHOOK_FEATURES_OFF);
	if (ret == 0)
		ret = rte_vhost_driver_start(p->args.iface);
	if (ret != 0) {
		snprintf(
			err, errlen, "iface=%s: cannot start the vhost-user socket", p->args.iface);
		rte_vhost_driver_unregister(p->args.iface);
		return -EIO;
	}
	return 0;
}

static int
vhook_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct vhook_args *a;
	struct vhook_port *p;
	char err[768];
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return vhook_probe_secondary(vdev, name);
	a = malloc(sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	ret = vhook_parse_args(name, rte_vdev_device_args(vdev), a, err, sizeof(err));
	if (ret < 0) {
		VHOOK_LOG(ERR, "%s: %s", name, err);
		goto out;
	}
	dev = rte_eth_vdev_allocate(vdev, sizeof(struct vhook_port));
	if (dev == NULL) {
		VHOOK_LOG(ERR, "%s: cannot allocate the ethdev", name);
		ret = -ENOMEM;
		goto out;
	}
	p = dev->data->dev_private;
	p->args = *a;
	p->eth_dev = dev;
	p->port_id = dev->data->port_id;
	p->vid = -1;
	dev->data->mac_addrs = rte_zmalloc(name, sizeof(struct rte_ether_addr), 0);
	if (dev->data->mac_addrs == NULL) {
		ret = -ENOMEM;
		goto release;
	}
	/* The port's own address (not the VM's): locally administered. */
	p->mac = (struct rte_ether_addr){ { 0x02, 0x76, 0x68, 0x6b, (uint8_t)(p->port_id >> 8),
		(uint8_t)p->port_id } };
	*dev->data->mac_addrs = p->mac;
	dev->data->dev_link = (struct rte_eth_link){
		.link_speed = RTE_ETH_SPEED_NUM_10G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_status = RTE_ETH_LINK_DOWN,
		.link_autoneg = RTE_ETH_LINK_FIXED,
	};
	dev->data->dev_flags |= RTE_ETH_DEV_INTR_LSC;
	dev->dev_ops = &vhook_ops;
	dev->rx_pkt_burst = vhook_rx_burst;
	dev->tx_pkt_burst = vhook_tx_burst;

	ret = vhook_port_add(p, err, sizeof(err));
	if (ret < 0) {
		VHOOK_LOG(ERR, "%s: %s", name, err);
		goto release;
	}
	ret = vhook_vhost_setup(p, err, sizeof(err));
	if (ret < 0) {
		VHOOK_LOG(ERR, "%s: %s", name, err);
		vhook_port_del(p);
		goto release;
	}
	ret = vhook_tun_inband(p, err, sizeof(err));
	if (ret < 0) {
		VHOOK_LOG(ERR, "%s: %s", name, err);
		rte_vhost_driver_unregister(p->args.iface);
		vhook_port_del(p);
		goto release;
	}
	rte_eth_dev_probing_finish(dev);
	VHOOK_LOG(INFO, "%s: port %u, VM %s, %s socket %s, %u queue pair(s)", name, p->port_id,
		p->args.vm.name, p->args.client ? "client" : "server", p->args.iface,
		p->args.queues);
	ret = 0;
	goto out;
release:
	p->eth_dev = NULL;
	rte_eth_dev_release_port(dev);
out:
	free(a);
	return ret;
}

static int
vhook_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (dev == NULL)
		return 0;
	vhook_dev_close(dev);
	rte_eth_dev_release_port(dev);
	return 0;
}

static struct rte_vdev_driver vhook_drv = {
	.probe = vhook_probe,
	.remove = vhook_remove,
};

RTE_PMD_REGISTER_VDEV(net_vhook, vhook_drv);
RTE_PMD_REGISTER_PARAM_STRING(net_vhook,
	"iface=<path> "
	"client=<0|1> "
	"queues=<1..16> "
	"vm=<name> "
	"mac=<VM MAC> "
	"ip=<VM address, repeatable> "
	"t1-quota=<mbufs> "
	"t2-slots=<packets> "
	"t2-slot-size=<bytes> "
	"t2-file=<path> "
	"policy=<drop-newest|drop-oldest> "
	"hold-timeout-ms=<ms> "
	"tail-quiet-ms=<ms> "
	"auto-detect=<0|1> "
	"precopy-timeout-ms=<ms> "
	"offline-timeout-ms=<ms> "
	"ctl=<socket path|none> "
	"ctl-group=<group> "
	"tunnel-ip=<this host's tunnel address> "
	"tunnel-port=<UDP port> "
	"vm-mac=<VM MAC, as mac=>");
