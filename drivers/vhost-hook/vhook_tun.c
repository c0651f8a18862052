/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The migration tunnel inside the driver: the hand-off with the
 * application that owns the wire (rte_pmd_vhook.h), ARP for the local
 * endpoint, and each VM's channel (lib/udpmig_tun: the sender on the
 * source, the receiver and its in-order queue on the destination).
 *
 * Threads: rte_pmd_vhook_tun_input() and _output() run on the
 * application's lcores and touch only two rings: MP/SC in (input from
 * any number of lcores at once), SP/SC out (output from one). Everything else runs on the driver's control thread, under
 * vhook_global.lock, a bounded amount per loop.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include <ethdev_driver.h>

#include "rte_pmd_vhook.h"
#include "vhook.h"

#define TUN_RING_SIZE   4096
#define TUN_POOL_SIZE   8191 /* > TUN_RING_SIZE: what waits in the out ring, and more */
#define TUN_POOL_CACHE  0 /* one producer thread: the control thread */
#define TUN_BURST       32
#define TUN_IN_BUDGET   512 /* input packets per control loop */
#define TUN_WINDOW      8192
#define TUN_RTO_NS      (20 * 1000 * 1000ull)
#define TUN_RTO_MAX_NS  (500 * 1000 * 1000ull)
#define TUN_RTO_INIT_NS (200 * 1000 * 1000ull) /* until a round trip is measured */
#define ARP_RETRY_NS    (100 * 1000 * 1000ull)
#define END_RETRY_NS    (50 * 1000 * 1000ull)
#define ACK_DELAY_NS    (1 * 1000 * 1000ull) /* an ack at least this often while data flows */
/* And this often in any case while the channel is open: the source learns
 * that the VM resumed here from an ack, even when it has nothing to send
 * (its window full of retained packets), and a lost ack is not fatal. */
#define ACK_KEEPALIVE_NS (20 * 1000 * 1000ull)
#define ARP_ENTRIES      16
#define PEERS_MAX        16
#define WHO_RETRY_NS     (100 * 1000 * 1000ull)
/* Acked packets a source keeps while its VM may come back, out of the
 * window (udpmig_tun_tx_conf.keep_bytes): about 110 k frames of 106 bytes
 * (64-byte UDP payloads), 10 k of 1500. Without it the stream stalled
 * after 8192 packets of a blackout until the VM resumed at the peer
 * (docs/tunnel.md). */
#define TUN_KEEP_BYTES (16u << 20)
/*
 * The congestion window (udpmig_tun_tx_conf.cwnd_*): at most a quarter of
 * a common 8192-frame rx ring in flight, so that the live traffic sharing
 * the destination's uplink always has room: a fixed window of 8192
 * overran the destination's af_packet ring, and the live packets for the
 * VM in it were lost with the tunnel's (ovs_migrate, 250 in one run). It
 * halves on loss down to a quarter of that, no lower: from 64 and down to
 * 16, 5 % random loss and 25 % reordering on the tunnel (migrate_netem)
 * kept it at 16 packets a round trip, slower than the VM's stream.
 */
#define TUN_CWND_INIT 2048
#define TUN_CWND_MIN  512
#define TUN_CWND_MAX  2048
/* The largest inner frame a tunnel mbuf takes: its data room less the outer headers. */
#define TUN_MAX_INNER                                                                             \
	(RTE_MBUF_DEFAULT_DATAROOM - sizeof(struct rte_ether_hdr) - sizeof(struct rte_ipv6_hdr) - \
		sizeof(struct rte_udp_hdr) - UDPMIG_TUN_HDR_LEN)

static struct {
	bool configured;
	struct rte_pmd_vhook_tun_endpoint ep;
	struct rte_ring *in; /* MP/SC: application -> control thread */
	struct rte_ring *out; /* SP/SC: control thread -> application */
	struct rte_mempool *mp;
	/* Neighbours (ARP, or IPv6 ND), of the endpoint's family. */
	struct {
		bool used;
		uint8_t ip[16]; /* network order; IPv4 in the first 4 bytes */
		struct rte_ether_addr mac;
	} arp[ARP_ENTRIES];
	unsigned int arp_next;
	bool active; /* a channel has packets in flight: poll often */
	struct vhook_port *inband; /* the port whose tunnel-ip is the endpoint, or NULL */
	/* Switches this one may migrate VMs with (peer-add), and their keys. */
	struct {
		bool used;
		int family; /* a peer of the other family than the endpoint is never asked */
		uint8_t ip[16];
		uint8_t key[UDPMIG_TUN_KEY_LEN];
	} peers[PEERS_MAX];
	uint64_t who_in, who_unmatched, bound;
	/* counters */
	uint64_t in_full, out_full, not_ours, malformed, bad_option, bad_msg, bad_tag, unknown,
		arp_in, arp_out, nomem;
} tun;

/* IPv6 neighbour discovery (RFC 4861): the messages and option we use. */
#define ND_SOLICIT    135
#define ND_ADVERT     136
#define ND_OPT_SLLA   1 /* source link-layer address */
#define ND_OPT_TLLA   2 /* target link-layer address */
#define ND_F_SOLICIT  0x40 /* NA flags, first byte: solicited */
#define ND_F_OVERRIDE 0x20

/* NS or NA with one link-layer address option. */
struct nd_msg {
	uint8_t type, code;
	rte_be16_t cksum;
	uint8_t flags, rsvd[3];
	uint8_t target[16];
	uint8_t opt_type, opt_len; /* opt_len in 8-byte units: 1 */
	struct rte_ether_addr lla;
} __rte_packed;

/* --- the hand-off (application lcore) --------------------------------------- */

static inline bool
ep_ip4_is(const uint8_t *a)
{
	return memcmp(a, tun.ep.addr, 4) == 0;
}

bool
rte_pmd_vhook_tun_match(const struct rte_mbuf *m)
{
	struct rte_ether_hdr eb;
	const struct rte_ether_hdr *eth;
	uint32_t off = sizeof(eb);

	if (!__atomic_load_n(&tun.configured, __ATOMIC_ACQUIRE))
		return false;
	eth = rte_pktmbuf_read(m, 0, sizeof(eb), &eb);
	if (eth == NULL)
		return false;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) && tun.ep.family == AF_INET) {
		struct rte_arp_hdr ab;
		const struct rte_arp_hdr *a = rte_pktmbuf_read(m, off, sizeof(ab), &ab);

		return a != NULL && ep_ip4_is((const uint8_t *)&a->arp_data.arp_tip);
	}
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && tun.ep.family == AF_INET) {
		struct rte_ipv4_hdr ib;
		struct rte_udp_hdr ub;
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_read(m, off, sizeof(ib), &ib);
		const struct rte_udp_hdr *udp;

		if (ip == NULL || ip->next_proto_id != IPPROTO_UDP ||
			!ep_ip4_is((const uint8_t *)&ip->dst_addr))
			return false;
		udp = rte_pktmbuf_read(m, off + (ip->version_ihl & 0xf) * 4u, sizeof(ub), &ub);
		return udp != NULL && rte_be_to_cpu_16(udp->dst_port) == tun.ep.udp_port;
	}
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) && tun.ep.family == AF_INET6) {
		struct rte_ipv6_hdr ib;
		struct rte_udp_hdr ub;
		const struct rte_ipv6_hdr *ip = rte_pktmbuf_read(m, off, sizeof(ib), &ib);
		const struct rte_udp_hdr *udp;

		if (ip != NULL && ip->proto == IPPROTO_ICMPV6) {
			/* Neighbour discovery about our address, or answering us. */
			struct nd_msg nb;
			const struct nd_msg *nd = rte_pktmbuf_read(m, off + sizeof(ib), 24, &nb);

			return nd != NULL &&
				((nd->type == ND_SOLICIT &&
					 memcmp(nd->target, tun.ep.addr, 16) == 0) ||
					(nd->type == ND_ADVERT &&
						memcmp(ip->dst_addr, tun.ep.addr, 16) == 0));
		}
		if (ip == NULL || ip->proto != IPPROTO_UDP ||
			memcmp(ip->dst_addr, tun.ep.addr, 16) != 0)
			return false;
		udp = rte_pktmbuf_read(m, off + sizeof(ib), sizeof(ub), &ub);
		return udp != NULL && rte_be_to_cpu_16(udp->dst_port) == tun.ep.udp_port;
	}
	return false;
}

uint16_t
rte_pmd_vhook_tun_input(struct rte_mbuf **pkts, uint16_t n)
{
	unsigned int k;

	if (!__atomic_load_n(&tun.configured, __ATOMIC_ACQUIRE))
		return 0;
	k = rte_ring_mp_enqueue_burst(tun.in, (void **)pkts, n, NULL);
	if (k < n)
		__atomic_fetch_add(&tun.in_full, n - k, __ATOMIC_RELAXED);
	return (uint16_t)k;
}

uint16_t
rte_pmd_vhook_tun_output(struct rte_mbuf **pkts, uint16_t n)
{
	if (!__atomic_load_n(&tun.configured, __ATOMIC_ACQUIRE))
		return 0;
	return (uint16_t)rte_ring_sc_dequeue_burst(tun.out, (void **)pkts, n, NULL);
}

/* Under the lock. */
static int
set_endpoint_locked(const struct rte_pmd_vhook_tun_endpoint *ep)
{
	if (vhook_global.n_ports == 0)
		return -ENODEV;
	if (tun.in == NULL) {
		tun.in = rte_ring_create(
			"vhook_tun_in", TUN_RING_SIZE, SOCKET_ID_ANY, RING_F_SC_DEQ);
		tun.out = rte_ring_create("vhook_tun_out", TUN_RING_SIZE, SOCKET_ID_ANY,
			RING_F_SP_ENQ | RING_F_SC_DEQ);
		tun.mp = rte_pktmbuf_pool_create("vhook_tun_mp", TUN_POOL_SIZE, TUN_POOL_CACHE, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
		if (tun.in == NULL || tun.out == NULL || tun.mp == NULL) {
			vhook_tun_fini();
			return -ENOMEM;
		}
	}
	tun.ep = *ep;
	if (tun.ep.udp_port == 0)
		tun.ep.udp_port = RTE_PMD_VHOOK_TUN_PORT;
	__atomic_store_n(&tun.configured, true, __ATOMIC_RELEASE);
	VHOOK_LOG(NOTICE, "tunnel endpoint %s port %u",
		inet_ntop(ep->family, ep->addr, (char[INET6_ADDRSTRLEN]){ 0 }, INET6_ADDRSTRLEN),
		tun.ep.udp_port);
	return 0;
}

int
rte_pmd_vhook_tun_set_endpoint(const struct rte_pmd_vhook_tun_endpoint *ep)
{
	int ret;

	if (ep == NULL || (ep->family != AF_INET && ep->family != AF_INET6))
		return -EINVAL;
	vhook_lock();
	/* A port's tunnel-ip owns the endpoint and its rings' ends. */
	ret = tun.inband != NULL ? -EEXIST : set_endpoint_locked(ep);
	vhook_unlock();
	return ret;
}

/*
 * tunnel-ip=ADDR on a port: the endpoint is in band. The port's rx queue 0
 * hands up what the tunnel sends (source MAC: the port's own), and its tx
 * takes what is for the endpoint, so any switch above that learns MACs
 * (OVS's NORMAL action, udpmig-switch) carries the tunnel between the
 * port and its uplink with no help from the application.
 */
int
vhook_tun_inband(struct vhook_port *p, char *err, size_t errlen)
{
	struct rte_pmd_vhook_tun_endpoint ep;
	int ret;

	if (p->args.tun_family == 0)
		return 0;
	memset(&ep, 0, sizeof(ep));
	ep.family = p->args.tun_family;
	memcpy(ep.addr, p->args.tun_addr, sizeof(ep.addr));
	ep.udp_port = p->args.tun_port;
	/*
	 * The endpoint's MAC comes from its address, not the port (whose MAC
	 * is the same on every host with the same port layout): 02:75 and the
	 * IPv4 address, or a hash of the IPv6 one.
	 */
	{
		uint32_t a4;

		if (ep.family == AF_INET)
			memcpy(&a4, ep.addr, 4);
		else
			a4 = rte_cpu_to_be_32(rte_hash_crc(ep.addr, 16, 0x75646d67));
		ep.mac = (struct rte_ether_addr){ { 0x02, 0x75 } };
		memcpy(&ep.mac.addr_bytes[2], &a4, 4);
	}
	vhook_lock();
	if (tun.inband != NULL || tun.configured) {
		snprintf(err, errlen,
			"tunnel-ip: this process has a tunnel endpoint already (%s); one per process",
			tun.inband != NULL ? tun.inband->args.vm.name : "the application's");
		ret = -EEXIST;
	} else {
		ret = set_endpoint_locked(&ep);
		if (ret < 0)
			snprintf(err, errlen, "tunnel-ip: %s", strerror(-ret));
		else
			tun.inband = p;
	}
	vhook_unlock();
	if (ret == 0)
		__atomic_store_n(&p->tun_endpoint, true, __ATOMIC_RELEASE);
	return ret;
}

/* The endpoint's port goes (once its queues are quiet): so does the endpoint. */
void
vhook_tun_inband_release(struct vhook_port *p)
{
	struct rte_mbuf *m = NULL;

	if (!p->tun_endpoint)
		return;
	vhook_lock();
	__atomic_store_n(&p->tun_endpoint, false, __ATOMIC_RELEASE);
	__atomic_store_n(&tun.configured, false, __ATOMIC_RELEASE);
	tun.inband = NULL;
	while (tun.out != NULL && rte_ring_sc_dequeue(tun.out, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	vhook_unlock();
	VHOOK_LOG(NOTICE, "%s: the tunnel endpoint is gone with its port", p->args.vm.name);
}

void
vhook_tun_fini(void)
{
	struct rte_mbuf *m;

	__atomic_store_n(&tun.configured, false, __ATOMIC_RELEASE);
	while (tun.in != NULL && rte_ring_sc_dequeue(tun.in, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	while (tun.out != NULL && rte_ring_sc_dequeue(tun.out, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(tun.in);
	rte_ring_free(tun.out);
	rte_mempool_free(tun.mp);
	tun.in = tun.out = NULL;
	tun.mp = NULL;
}

/* --- sending (control thread) --------------------------------------------- */

static void
out_burst(struct rte_mbuf **pkts, unsigned int n)
{
	unsigned int k = rte_ring_sp_enqueue_burst(tun.out, (void **)pkts, n, NULL);

	if (k < n) {
		rte_pktmbuf_free_bulk(pkts + k, n - k);
		tun.out_full += n - k;
	}
}

static void
arp_send(uint16_t op, const struct rte_ether_addr *dmac, uint32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(tun.mp);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *a;

	if (m == NULL) {
		tun.nomem++;
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*a));
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	a = (struct rte_arp_hdr *)(eth + 1);
	eth->dst_addr = op == RTE_ARP_OP_REQUEST ?
		(struct rte_ether_addr){ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } } :
		*dmac;
	eth->src_addr = tun.ep.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = tun.ep.mac;
	memcpy(&a->arp_data.arp_sip, tun.ep.addr, 4);
	a->arp_data.arp_tha = op == RTE_ARP_OP_REQUEST ? (struct rte_ether_addr){ { 0 } } : *dmac;
	a->arp_data.arp_tip = tip;
	tun.arp_out++;
	out_burst(&m, 1);
}

static inline size_t
ip_len(void)
{
	return tun.ep.family == AF_INET6 ? 16 : 4;
}

static bool
arp_lookup(const uint8_t *ip, struct rte_ether_addr *mac)
{
	unsigned int i;

	for (i = 0; i < ARP_ENTRIES; i++)
		if (tun.arp[i].used && memcmp(tun.arp[i].ip, ip, ip_len()) == 0) {
			*mac = tun.arp[i].mac;
			return true;
		}
	return false;
}

static void
arp_learn(const uint8_t *ip, const struct rte_ether_addr *mac)
{
	unsigned int i;

	for (i = 0; i < ARP_ENTRIES; i++)
		if (tun.arp[i].used && memcmp(tun.arp[i].ip, ip, ip_len()) == 0) {
			tun.arp[i].mac = *mac;
			return;
		}
	tun.arp[tun.arp_next].used = true;
	memcpy(tun.arp[tun.arp_next].ip, ip, ip_len());
	tun.arp[tun.arp_next].mac = *mac;
	tun.arp_next = (tun.arp_next + 1) % ARP_ENTRIES;
}

static void
arp_input(struct rte_mbuf *m)
{
	struct rte_arp_hdr ab;
	const struct rte_arp_hdr *a =
		rte_pktmbuf_read(m, sizeof(struct rte_ether_hdr), sizeof(ab), &ab);

	tun.arp_in++;
	if (a == NULL || a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
		a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		tun.malformed++;
		return;
	}
	arp_learn((const uint8_t *)&a->arp_data.arp_sip, &a->arp_data.arp_sha);
	if (a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST))
		arp_send(RTE_ARP_OP_REPLY, &a->arp_data.arp_sha, a->arp_data.arp_sip);
}

/*
 * An NS for @target (to its solicited-node multicast group), or an NA
 * answering @dip/@dmac. Both carry our MAC as their link-layer option.
 */
static void
nd_send(uint8_t type, const uint8_t *target, const uint8_t *dip, const struct rte_ether_addr *dmac)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(tun.mp);
	struct rte_ether_hdr *eth;
	struct rte_ipv6_hdr *ip;
	struct nd_msg *nd;

	if (m == NULL) {
		tun.nomem++;
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eth) + sizeof(*ip) + sizeof(*nd));
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	ip = (struct rte_ipv6_hdr *)(eth + 1);
	nd = (struct nd_msg *)(ip + 1);
	memset(ip, 0, sizeof(*ip) + sizeof(*nd));
	eth->src_addr = tun.ep.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(sizeof(*nd));
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255; /* RFC 4861: receivers check it */
	memcpy(ip->src_addr, tun.ep.addr, 16);
	nd->type = type;
	memcpy(nd->target, target, 16);
	nd->opt_len = 1;
	nd->lla = tun.ep.mac;
	if (type == ND_SOLICIT) {
		static const uint8_t snm[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

		memcpy(ip->dst_addr, snm, sizeof(snm));
		memcpy(ip->dst_addr + 13, target + 13, 3);
		eth->dst_addr = (struct rte_ether_addr){ { 0x33, 0x33, 0xff, target[13], target[14],
			target[15] } };
		nd->opt_type = ND_OPT_SLLA;
	} else {
		memcpy(ip->dst_addr, dip, 16);
		eth->dst_addr = *dmac;
		nd->flags = ND_F_SOLICIT | ND_F_OVERRIDE;
		nd->opt_type = ND_OPT_TLLA;
	}
	nd->cksum = rte_ipv6_udptcp_cksum(ip, nd);
	tun.arp_out++;
	out_burst(&m, 1);
}

/*
 * NS for our address: learn the asker, answer. NA to us: learn the
 * target. The link-layer address comes from the option, else from the
 * frame; only messages with hop limit 255 (sent on this link) count.
 */
static void
nd_input(struct rte_mbuf *m)
{
	const uint32_t off = sizeof(struct rte_ether_hdr);
	struct rte_ipv6_hdr ib;
	struct nd_msg nb;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_read(m, off, sizeof(ib), &ib);
	const struct nd_msg *nd;
	struct rte_ether_addr lla;
	uint32_t len;

	tun.arp_in++;
	if (ip == NULL || ip->hop_limits != 255) {
		tun.malformed++;
		return;
	}
	len = RTE_MIN((uint32_t)rte_be_to_cpu_16(ip->payload_len), (uint32_t)sizeof(nb));
	nd = len >= 24 ? rte_pktmbuf_read(m, off + sizeof(ib), len, &nb) : NULL;
	if (nd == NULL) {
		tun.malformed++;
		return;
	}
	lla = eth->src_addr;
	if (len == sizeof(nb) && nd->opt_len == 1 &&
		nd->opt_type == (nd->type == ND_SOLICIT ? ND_OPT_SLLA : ND_OPT_TLLA))
		lla = nd->lla;
	if (nd->type == ND_SOLICIT) {
		/* From the unspecified address: duplicate address detection, not a peer. */
		static const uint8_t any[16];

		if (memcmp(ip->src_addr, any, 16) == 0)
			return;
		arp_learn(ip->src_addr, &lla);
		nd_send(ND_ADVERT, tun.ep.addr, ip->src_addr, &lla);
	} else {
		arp_learn(nd->target, &lla);
	}
}

/* One control message (ACK, END, ABORT) on a channel. */
static void
chan_send_ctl(struct vhook_port *p, uint8_t type, uint8_t flags, uint64_t seq)
{
	struct vhook_chan *c = &p->chan;
	struct udpmig_tun_range r[UDPMIG_TUN_SACK_MAX];
	struct udpmig_tun_msg msg = c->id;
	uint16_t nr = 0;
	struct rte_mbuf *m;

	if (!c->mac_ok)
		return;
	if (type == UDPMIG_TUN_ACK && c->rx != NULL)
		nr = udpmig_tun_rx_sack(c->rx, r, RTE_DIM(r));
	msg.type = type;
	msg.flags = flags;
	msg.seq = seq;
	m = udpmig_tun_encap(tun.mp, &c->path, &msg, NULL, nr > 0 ? r : NULL, nr, c->key);
	if (m == NULL) {
		c->nomem++;
		return;
	}
	c->tx_ctl++;
	out_burst(&m, 1);
}

static void
dst_ack(struct vhook_port *p, uint64_t now)
{
	struct vhook_chan *c = &p->chan;
	uint8_t flags = 0;

	if (c->resumed)
		flags |= UDPMIG_TUN_F_RESUMED;
	if (c->end_known && udpmig_tun_rx_cum(c->rx) >= c->end_total)
		flags |= UDPMIG_TUN_F_END_SEEN;
	chan_send_ctl(p, UDPMIG_TUN_ACK, flags, udpmig_tun_rx_cum(c->rx));
	c->ack_due = false;
	c->ack_ns = now;
}

/* --- channels ------------------------------------------------------------- */

static uint32_t
vni_of(const char *name)
{
	return rte_hash_crc(name, strlen(name), 0x75646d67) & 0xffffff;
}

/* The channel's mbuf pool goes once nothing of it is held any more. */
static void
chan_release(struct vhook_chan *c)
{
	if (c->tx != NULL || c->rx != NULL || c->back != NULL || c->tbuf != NULL)
		return;
	rte_mempool_free(c->hold);
	c->hold = NULL;
}

void
vhook_tun_res_conf(const struct vhook_port *p, struct vhook_chan_conf *cc)
{
	cc->slot = p->slot;
	cc->gen = p->gen;
	cc->socket = p->eth_dev->data->numa_node;
	cc->vm = p->args.vm;
}

void
vhook_tun_res_free(struct vhook_chan_res *r)
{
	udpmig_tun_tx_free(r->tx);
	udpmig_tun_rx_free(r->rx);
	udpmig_buf_free(r->tbuf);
	rte_mempool_free(r->hold);
	memset(r, 0, sizeof(*r));
}

/*
 * What a channel allocates: 10-40 MB of mbufs and rings, 100-300 ms on a
 * loaded machine. Needs no lock (only the copied configuration), so the
 * connection's discovery makes it with the lock released: holding the lock
 * that long kept a device coming up waiting (vhook_lock()).
 */
int
vhook_tun_res_make(const struct vhook_chan_conf *cc, bool source, struct vhook_chan_res *r)
{
	static unsigned int hold_gen;
	char name[RTE_MEMZONE_NAMESIZE], pname[RTE_MEMPOOL_NAMESIZE];
	struct udpmig_tun_tx_conf tc = {
		.window = TUN_WINDOW,
		.rto_ns = TUN_RTO_NS,
		.rto_max_ns = TUN_RTO_MAX_NS,
		.rto_init_ns = TUN_RTO_INIT_NS,
		.cwnd_init = TUN_CWND_INIT,
		.cwnd_min = TUN_CWND_MIN,
		.cwnd_max = TUN_CWND_MAX,
	};

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "vhook_tun_%u", cc->slot);
	/*
	 * What the channel holds (the sender's window, the receiver's window
	 * and its queue's tier 1) lives in mbufs of its own: holding the host's
	 * rx mbufs, a full window starved the uplink of mbufs, and the acks that
	 * would have freed them could no longer be received.
	 */
	snprintf(pname, sizeof(pname), "vhook_hold_%u_%u", cc->slot,
		__atomic_add_fetch(&hold_gen, 1, __ATOMIC_RELAXED));
	r->hold = rte_pktmbuf_pool_create(pname,
		rte_align32pow2(TUN_WINDOW + cc->vm.t1_quota + 1024) - 1, 0, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, cc->socket);
	if (r->hold == NULL)
		return -ENOMEM;
	if (source) {
		tc.keep_bytes = TUN_KEEP_BYTES;
		tc.keep_pool = r->hold;
		r->tx = udpmig_tun_tx_create(name, &tc, cc->socket);
		if (r->tx == NULL) {
			/* Short of memory: the stream stalls once the window is
			 * full of retained packets, and loses nothing. */
			VHOOK_LOG(WARNING,
				"%s: no memory for a keep store of %u bytes: a long blackout will stall the stream",
				cc->vm.name, TUN_KEEP_BYTES);
			tc.keep_bytes = 0;
			tc.keep_pool = NULL;
			r->tx = udpmig_tun_tx_create(name, &tc, cc->socket);
		}
		if (r->tx == NULL)
			goto nomem;
	} else {
		struct udpmig_buf_conf bc = {
			.name = name,
			.socket_id = cc->socket,
			.t1_quota = cc->vm.t1_quota,
			.t2_slots = cc->vm.t2_slots,
			.t2_slot_size = cc->vm.t2_slot_size,
			.policy = cc->vm.policy,
			.n_producers = 1,
		};

		r->rx = udpmig_tun_rx_create(name, TUN_WINDOW, cc->socket);
		r->tbuf = r->rx != NULL ? udpmig_buf_create(&bc) : NULL;
		if (r->tbuf == NULL)
			goto nomem;
	}
	return 0;
nomem:
	vhook_tun_res_free(r);
	return -ENOMEM;
}

/* 1: the port may open a channel now; 0: nothing to open; < 0: it may not. */
static int
chan_may_open(const struct vhook_port *p, bool source)
{
	const struct vhook_chan *c = &p->chan;

	if (c->open)
		return 0;
	/* A source needs its peer (or waits for a WHO); only a destination
	 * discovers. A port's last auto-expect left peer.discover set, and an
	 * auto-detected START once opened a channel to 0.0.0.0 with it. */
	if (!p->peer.set && (source || !p->peer.discover))
		return 0; /* a local-only migration: offline, then abort or drop */
	if (!tun.configured) {
		VHOOK_LOG(WARNING, "%s: no tunnel endpoint in this process: migration stays local",
			p->args.vm.name);
		return -ENOTCONN;
	}
	if (p->peer.set && p->peer.family != tun.ep.family) {
		VHOOK_LOG(WARNING, "%s: peer and local tunnel endpoint differ in address family",
			p->args.vm.name);
		return -EAFNOSUPPORT;
	}
	if (c->back != NULL || c->tbuf != NULL || c->hold != NULL) {
		VHOOK_LOG(WARNING, "%s: the last migration's packets are still being delivered",
			p->args.vm.name);
		return -EBUSY;
	}
	return 1;
}

int
vhook_tun_open(struct vhook_port *p, bool source)
{
	struct vhook_chan_res *r = p->chan_res;

	/* What a command made before it took the lock, if it fits. */
	if (r != NULL && (r->hold == NULL || (r->tx != NULL) != source))
		r = NULL;
	/* Or what the control thread made for this port with the lock released. */
	if (r == NULL && source && p->spare.hold != NULL)
		r = &p->spare;
	/*
	 * A source channel that an event opens (auto-detection with a peer
	 * set, a peer's HELLO WHO) waits for the control thread to make its
	 * buffers with the lock released, and opens then (spare_make() in
	 * vhook_ctl.c): made here, under the lock, they kept every port's
	 * new_device and destroy_device waiting 100-300 ms. A command makes
	 * its own before it takes the lock (vhook_cmd.c), or here at once.
	 */
	if (r == NULL && source && !p->open_sync && chan_may_open(p, true) > 0) {
		p->spare_want = true;
		__atomic_store_n(&vhook_global.spare_pending, true, __ATOMIC_RELEASE);
		return -EINPROGRESS;
	}
	return vhook_tun_open_with(p, source, r);
}

/*
 * Open the port's channel with what vhook_tun_res_make() made (taken over:
 * *r is emptied) or, r NULL, with what it makes now, under the lock.
 */
int
vhook_tun_open_with(struct vhook_port *p, bool source, struct vhook_chan_res *r)
{
	struct vhook_chan *c = &p->chan;
	struct vhook_chan_res made;
	int ret = chan_may_open(p, source);

	if (ret <= 0)
		return ret;
	if (r == NULL) {
		struct vhook_chan_conf cc;

		vhook_tun_res_conf(p, &cc);
		ret = vhook_tun_res_make(&cc, source, &made);
		if (ret != 0)
			return ret;
		r = &made;
	} else if ((r->tx != NULL) != source || r->hold == NULL) {
		return -EINVAL;
	}
	memset(c, 0, sizeof(*c));
	c->source = source;
	c->path.family = tun.ep.family;
	memcpy(c->path.src_ip, tun.ep.addr, 16);
	memcpy(c->path.dst_ip, p->peer.ip, 16);
	c->path.src_port = tun.ep.udp_port;
	c->path.dst_port = tun.ep.udp_port;
	c->path.src_mac = tun.ep.mac;
	c->id.vni = p->peer.vni != 0 ? p->peer.vni : vni_of(p->args.vm.name);
	c->store = source && p->peer.store;
	memcpy(c->key, p->peer.key, sizeof(c->key));
	c->discover = !source && !p->peer.set;
	c->mac_ok = !c->discover && arp_lookup(p->peer.ip, &c->path.dst_mac);
	c->hold = r->hold;
	c->tx = r->tx;
	c->rx = r->rx;
	c->tbuf = r->tbuf;
	memset(r, 0, sizeof(*r));
	if (source)
		/* The VM may come back here until the peer says it runs there. */
		udpmig_tun_tx_retain(c->tx, true);
	else
		c->end_total = UINT64_MAX;
	c->open = true;
	VHOOK_LOG(NOTICE, "%s: channel %06x %s %s", p->args.vm.name, c->id.vni,
		source ? "to" : "from",
		c->discover ? "whichever peer has the VM" :
			      inet_ntop(c->path.family, c->path.dst_ip,
				      (char[INET6_ADDRSTRLEN]){ 0 }, INET6_ADDRSTRLEN));
	return 0;
}

/* DROP on a destination: the tunnel's queue goes, every packet counted. */
void
vhook_tun_drop(struct vhook_port *p)
{
	struct vhook_chan *c = &p->chan;

	if (c->tbuf == NULL)
		return;
	c->dropped += udpmig_buf_count(c->tbuf);
	udpmig_buf_free(c->tbuf);
	c->tbuf = NULL;
	chan_release(c);
}

void
vhook_tun_release(struct vhook_port *p)
{
	chan_release(&p->chan);
	vhook_tun_res_free(&p->spare);
}

void
vhook_tun_close(struct vhook_port *p)
{
	struct vhook_chan *c = &p->chan;

	if (!c->open)
		return;
	if (c->rx != NULL)
		dst_ack(p, vhook_now_ns()); /* the source may wait for END_SEEN */
	if (c->tx != NULL) {
		udpmig_tun_tx_stats_get(c->tx, &c->tx_final);
		c->tx_closed = true;
		/* Kept for the injector when the VM came back here (abort). */
		if (p->inject && udpmig_tun_tx_held(c->tx) > 0 && c->back == NULL) {
			udpmig_tun_tx_retain(c->tx, true);
			c->back = c->tx;
		} else {
			c->dropped += udpmig_tun_tx_held(c->tx);
			udpmig_tun_tx_free(c->tx);
		}
		c->tx = NULL;
	}
	if (c->rx != NULL) {
		udpmig_tun_rx_stats_get(c->rx, &c->rx_final);
		c->rx_closed = true;
	}
	udpmig_tun_rx_free(c->rx);
	c->rx = NULL;
	/* tbuf stays until the injector has emptied it. */
	c->open = false;
	chan_release(c);
}

void
vhook_tun_send(struct vhook_port *p, uint8_t type)
{
	struct vhook_chan *c = &p->chan;

	if (!c->open)
		return;
	if (type == UDPMIG_TUN_END) {
		c->end_wanted = true; /* sent by the poll once the buffer is streamed */
		return;
	}
	chan_send_ctl(p, type, 0, 0);
}

/*
 * A RARP for the VM's MAC, as QEMU sends for guests without GUEST_ANNOUNCE.
 * It goes up from the VM's port (vhook_rx_burst), not out of the tunnel:
 * the switch above must learn the VM's new place as much as the network.
 */
/* Delay between the learning frame and the broadcast RARP (see below). */
#define ANNOUNCE_LEARN_NS (50 * 1000 * 1000ull)

/*
 * A RARP in QEMU's format from the VM's MAC, to @dst, from the rx queue's
 * pool (the application may need its own pool's mbufs), put where rx
 * queue 0 hands it up. False if the slot is still taken or no mbuf.
 */
static bool
announce_put(struct vhook_port *p, const struct rte_ether_addr *dst)
{
	struct rte_mempool *mp = p->rxq[0] != NULL ? p->rxq[0]->mp : NULL;
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *a;
	struct rte_mbuf *m;

	if (__atomic_load_n(&p->announce, __ATOMIC_ACQUIRE) != NULL)
		return false;
	m = mp != NULL ? rte_pktmbuf_alloc(mp) : NULL;
	if (m == NULL) {
		tun.nomem++;
		return false;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return false;
	}
	memset(eth, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	eth->dst_addr = *dst;
	eth->src_addr = p->args.vm.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_RARP);
	a = (struct rte_arp_hdr *)(eth + 1);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REVREQUEST);
	a->arp_data.arp_sha = p->args.vm.mac;
	a->arp_data.arp_tha = p->args.vm.mac;
	__atomic_store_n(&p->announce, m, __ATOMIC_RELEASE);
	p->announces++;
	return true;
}

/*
 * The VM resumed here: announce it up its own port. With the endpoint in
 * band, first a learning frame: the same RARP unicast to the endpoint's
 * MAC, which the switch above has on the endpoint's port, so the switch
 * learns the VM's new port without the frame leaving the host; the
 * broadcast that moves the network follows ANNOUNCE_LEARN_NS later
 * (vhook_tun_announce_poll). Open vSwitch caches its forwarding decisions
 * and re-translates them only when its revalidators next run (up to
 * other_config:max-revalidator, 500 ms, later): it kept dropping the VM's
 * packets from the uplink (as sent back where they came from) for 80 ms
 * after a broadcast RARP had moved the network and its own MAC table at
 * once. This frame narrows that, it cannot order it: OVS also learns from
 * flow statistics it pushes late, and the VM's own announcement moves the
 * network at once. What does order it is a static MAC entry on the
 * destination during the switchover (docs/ovs.md).
 */
void
vhook_tun_announce(struct vhook_port *p)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

	if (tun.inband != NULL && announce_put(p, &tun.ep.mac)) {
		p->announce_ns = vhook_now_ns() + ANNOUNCE_LEARN_NS;
		return;
	}
	p->announce_ns = 0;
	rte_pktmbuf_free(__atomic_exchange_n(&p->announce, NULL, __ATOMIC_ACQUIRE));
	announce_put(p, &bcast);
}

/* The broadcast RARP after the learning frame, once due (control thread). */
void
vhook_tun_announce_poll(struct vhook_port *p, uint64_t now)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

	if (p->announce_ns != 0 && now >= p->announce_ns && announce_put(p, &bcast))
		p->announce_ns = 0;
}

/* --- receiving (control thread) ------------------------------------------- */

/* --- peers and discovery --------------------------------------------------- */

static int hexkey(const char *s, uint8_t *key);

static int
peer_find(const uint8_t *ip)
{
	unsigned int i;

	for (i = 0; i < PEERS_MAX; i++)
		if (tun.peers[i].used && tun.peers[i].family == tun.ep.family &&
			memcmp(tun.peers[i].ip, ip, ip_len()) == 0)
			return (int)i;
	return -1;
}

/* Any peer, by family and address (peer-add, peer-del). */
static int
peer_slot(int family, const uint8_t *ip)
{
	unsigned int i;

	for (i = 0; i < PEERS_MAX; i++)
		if (tun.peers[i].used && tun.peers[i].family == family &&
			memcmp(tun.peers[i].ip, ip, 16) == 0)
			return (int)i;
	return -1;
}

unsigned int
vhook_tun_peer_count(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < PEERS_MAX; i++)
		n += tun.peers[i].used && tun.peers[i].family == tun.ep.family;
	return n;
}

/* peer-add ADDR --key HEX | peer-del ADDR; under the lock. */
int
vhook_tun_peer_set(int argc, const char *argv[], bool add, char *err, size_t errlen)
{
	uint8_t ip[16] = { 0 }, key[UDPMIG_TUN_KEY_LEN];
	int family, k;

	/* The endpoint may come later (an application sets it after the
	 * ports, whose control socket already serves): no check against it. */
	family = inet_pton(AF_INET, argv[1], ip) == 1 ? AF_INET :
		inet_pton(AF_INET6, argv[1], ip) == 1 ? AF_INET6 :
							0;
	if (family == 0) {
		snprintf(err, errlen, "%s: expected an IPv4 or IPv6 address", argv[1]);
		return -EINVAL;
	}
	if (tun.configured && family != tun.ep.family) {
		snprintf(err, errlen, "%s: expected an %s address, like the endpoint's", argv[1],
			tun.ep.family == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	k = peer_slot(family, ip);
	if (!add) {
		if (argc != 2) {
			snprintf(err, errlen, "usage: peer-del ADDR");
			return -EINVAL;
		}
		if (k < 0) {
			snprintf(err, errlen, "%s is not a peer", argv[1]);
			return -ENOENT;
		}
		memset(&tun.peers[k], 0, sizeof(tun.peers[k]));
		return 0;
	}
	if (argc != 4 || strcmp(argv[2], "--key") != 0 || hexkey(argv[3], key) != 0) {
		snprintf(err, errlen, "usage: peer-add ADDR --key HEX (%d hex digits)",
			2 * UDPMIG_TUN_KEY_LEN);
		return -EINVAL;
	}
	if (k < 0) {
		for (k = 0; k < PEERS_MAX && tun.peers[k].used; k++)
			;
		if (k == PEERS_MAX) {
			snprintf(err, errlen, "%d peers already", PEERS_MAX);
			return -ENOSPC;
		}
	}
	tun.peers[k].used = true;
	tun.peers[k].family = family;
	memcpy(tun.peers[k].ip, ip, sizeof(ip));
	memcpy(tun.peers[k].key, key, sizeof(key));
	return 0;
}

void
vhook_tun_peers_json(FILE *f)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned int i, n = 0;

	fputc('[', f);
	for (i = 0; i < PEERS_MAX; i++)
		if (tun.peers[i].used)
			fprintf(f, "%s\"%s\"", n++ ? "," : "",
				inet_ntop(tun.peers[i].family, tun.peers[i].ip, ip, sizeof(ip)));
	fputc(']', f);
}

bool
vhook_tun_discovering(const struct vhook_port *p)
{
	return p->chan.open && p->chan.discover;
}

static uint64_t
mac_u64(const struct rte_ether_addr *m)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		v = v << 8 | m->addr_bytes[i];
	return v;
}

/*
 * The MAC of a tunnel address: from the neighbour table, or false after
 * asking for it (ARP request, or IPv6 neighbour solicitation).
 */
static bool
resolve(const uint8_t *ip, struct rte_ether_addr *mac)
{
	uint32_t a;

	if (arp_lookup(ip, mac))
		return true;
	if (tun.ep.family == AF_INET) {
		memcpy(&a, ip, 4);
		arp_send(RTE_ARP_OP_REQUEST, NULL, a);
	} else {
		nd_send(ND_SOLICIT, ip, NULL, NULL);
	}
	return false;
}

/* Destination, discovering: ask every peer which has the VM. */
static void
who_send(struct vhook_port *p)
{
	struct vhook_chan *c = &p->chan;
	struct udpmig_tun_msg msg = c->id;
	unsigned int i;

	msg.type = UDPMIG_TUN_HELLO;
	msg.flags = UDPMIG_TUN_F_WHO;
	msg.seq = mac_u64(&p->args.vm.mac);
	for (i = 0; i < PEERS_MAX; i++) {
		struct udpmig_tun_path path = c->path;
		struct rte_mbuf *m;

		if (!tun.peers[i].used || tun.peers[i].family != tun.ep.family)
			continue;
		memcpy(path.dst_ip, tun.peers[i].ip, 16);
		if (!resolve(path.dst_ip, &path.dst_mac))
			continue;
		m = udpmig_tun_encap(tun.mp, &path, &msg, NULL, NULL, 0, tun.peers[i].key);
		if (m == NULL) {
			c->nomem++;
			continue;
		}
		c->who_sent++;
		out_burst(&m, 1);
	}
}

/* The peer an authentic packet came from, by its outer source address. */
static int
peer_of(const struct udpmig_tun_parsed *tp)
{
	return tp->family == tun.ep.family ? peer_find(tp->src_ip) : -1;
}

/*
 * Source: a peer asks who has the VM with this MAC. A VM of ours that is
 * migrating (PRECOPY or OFFLINE) with no channel yet takes the asker as
 * its destination, with the asker's VNI and that peer's key, and answers
 * HAVE on the channel (again, if the answer was lost).
 */
static void
hello_who(struct rte_mbuf *m, const struct udpmig_tun_parsed *tp, uint64_t now)
{
	struct vhook_port *p = NULL;
	struct vhook_chan *c;
	uint32_t s;
	int k = peer_of(tp);

	if (k < 0 || !udpmig_tun_verify(m, tp, tun.peers[k].key)) {
		tun.bad_tag++;
		return;
	}
	tun.who_in++;
	for (s = 0; s < RTE_DIM(vhook_global.ports) && p == NULL; s++)
		if (vhook_global.ports[s] != NULL &&
			mac_u64(&vhook_global.ports[s]->args.vm.mac) == tp->msg.seq)
			p = vhook_global.ports[s];
	if (p == NULL ||
		(p->mig.state != UDPMIG_MIG_S_SRC_PRECOPY &&
			p->mig.state != UDPMIG_MIG_S_SRC_OFFLINE)) {
		tun.who_unmatched++;
		return;
	}
	c = &p->chan;
	if (!c->open) {
		memset(&p->peer, 0, sizeof(p->peer));
		p->peer.set = true;
		p->peer.family = tun.ep.family;
		memcpy(p->peer.ip, tp->src_ip, 16);
		memcpy(p->peer.key, tun.peers[k].key, sizeof(p->peer.key));
		p->peer.vni = tp->msg.vni;
		if (vhook_tun_open(p, true) != 0)
			return;
		c->path.dst_mac = tp->src_mac;
		c->mac_ok = true;
		/* OFFLINE already: what the VM's buffer holds goes now. */
		c->streaming = p->mig.state == UDPMIG_MIG_S_SRC_OFFLINE;
		VHOOK_LOG(NOTICE, "%s: peer %s expects the VM (state %s): channel %06x",
			p->args.vm.name,
			inet_ntop(tun.ep.family, tp->src_ip, (char[INET6_ADDRSTRLEN]){ 0 },
				INET6_ADDRSTRLEN),
			udpmig_mig_state_name(p->mig.state), c->id.vni);
	} else if (c->id.vni != tp->msg.vni || memcmp(c->path.dst_ip, tp->src_ip, ip_len()) != 0) {
		tun.who_unmatched++; /* another peer's question: ours is settled */
		return;
	}
	RTE_SET_USED(now);
	chan_send_ctl(p, UDPMIG_TUN_HELLO, UDPMIG_TUN_F_HAVE, tp->msg.seq);
}

static struct vhook_port *
port_by_vni(uint32_t vni)
{
	uint32_t i;

	for (i = 0; i < RTE_DIM(vhook_global.ports); i++) {
		struct vhook_port *p = vhook_global.ports[i];

		if (p != NULL && p->chan.open && p->chan.id.vni == vni)
			return p;
	}
	return NULL;
}

static void
tun_input(struct rte_mbuf *m, uint64_t now)
{
	struct udpmig_tun_parsed tp;
	struct udpmig_tun_range r[UDPMIG_TUN_SACK_MAX];
	struct vhook_chan *c;
	struct vhook_port *p;
	struct rte_ether_hdr eb;
	const struct rte_ether_hdr *eth = rte_pktmbuf_read(m, 0, sizeof(eb), &eb);
	enum udpmig_tun_err e;
	struct rte_mbuf *h;
	const void *src;
	char *dst;

	if (eth != NULL && eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		arp_input(m);
		goto free;
	}
	if (eth != NULL && eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) &&
		tun.ep.family == AF_INET6 && rte_pktmbuf_data_len(m) > sizeof(*eth) + 6 &&
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *, sizeof(*eth))->proto ==
			IPPROTO_ICMPV6) {
		nd_input(m);
		goto free;
	}
	e = udpmig_tun_parse(m, tun.ep.udp_port, &tp);
	switch (e) {
	case UDPMIG_TUN_OK:
		break;
	case UDPMIG_TUN_E_NOT_TUNNEL:
		tun.not_ours++;
		goto free;
	case UDPMIG_TUN_E_OPTION:
		tun.bad_option++;
		goto free;
	case UDPMIG_TUN_E_MSG:
		tun.bad_msg++;
		goto free;
	default:
		tun.malformed++;
		goto free;
	}
	if (tp.msg.type == UDPMIG_TUN_HELLO && (tp.msg.flags & UDPMIG_TUN_F_WHO)) {
		hello_who(m, &tp, now);
		goto free;
	}
	p = port_by_vni(tp.msg.vni);
	if (p == NULL) {
		tun.unknown++;
		goto free;
	}
	c = &p->chan;
	if (c->discover) {
		/* The first authentic word from a peer on our VNI: that is the source. */
		int k = peer_of(&tp);

		if (k < 0 || !udpmig_tun_verify(m, &tp, tun.peers[k].key) ||
			tp.msg.session != c->id.session) {
			tun.bad_tag++;
			goto free;
		}
		memcpy(c->key, tun.peers[k].key, sizeof(c->key));
		memcpy(c->path.dst_ip, tp.src_ip, 16);
		c->path.dst_mac = tp.src_mac;
		c->mac_ok = true;
		c->discover = false;
		c->ack_due = true;
		tun.bound++;
		VHOOK_LOG(NOTICE, "%s: channel %06x: the VM comes from %s", p->args.vm.name,
			c->id.vni,
			inet_ntop(tun.ep.family, tp.src_ip, (char[INET6_ADDRSTRLEN]){ 0 },
				INET6_ADDRSTRLEN));
		/* Asked at connection (auto-detect): now it is a migration. */
		if (p->mig.state == UDPMIG_MIG_S_IDLE)
			vhook_mig_event(p, UDPMIG_MIG_E_EXPECT, "a peer has the VM", NULL);
	} else if (!udpmig_tun_verify(m, &tp, c->key) || tp.msg.session != c->id.session) {
		tun.bad_tag++;
		goto free;
	}
	/*
	 * An authentic packet from the peer's address tells us its MAC. Only
	 * from that address: a replayed packet is authentic too, and one sent
	 * from elsewhere once turned every later ack toward the replayer.
	 */
	if (tp.family == c->path.family &&
		memcmp(tp.src_ip, c->path.dst_ip, tp.family == AF_INET ? 4 : 16) == 0 &&
		(!c->mac_ok || !rte_is_same_ether_addr(&c->path.dst_mac, &tp.src_mac))) {
		c->path.dst_mac = tp.src_mac;
		c->mac_ok = true;
	}
	if (c->source) {
		c->rx_ctl++;
		switch (tp.msg.type) {
		case UDPMIG_TUN_ACK: {
			uint16_t nr = udpmig_tun_sack_read(m, &tp, r, RTE_DIM(r));

			udpmig_tun_tx_ack(c->tx, now, tp.msg.seq, r, nr);
			if (tp.msg.flags & UDPMIG_TUN_F_RESUMED)
				c->rx_resumed++;
			if ((tp.msg.flags & UDPMIG_TUN_F_RESUMED) &&
				p->mig.state != UDPMIG_MIG_S_SRC_FORWARDING &&
				p->mig.state != UDPMIG_MIG_S_SRC_GONE) {
				vhook_mig_event(p, UDPMIG_MIG_E_RESUMED_REMOTE,
					"peer resumed the VM", NULL);
				/* It cannot come back here now: acked packets can go. */
				if (c->tx != NULL && p->mig.state == UDPMIG_MIG_S_SRC_FORWARDING)
					udpmig_tun_tx_retain(c->tx, false);
			}
			if ((tp.msg.flags & UDPMIG_TUN_F_END_SEEN) && c->end_ns != 0 &&
				!c->end_acked) {
				c->end_acked = true;
				vhook_mig_event(p, UDPMIG_MIG_E_REMOVE, "peer has the END", NULL);
			}
			break;
		}
		case UDPMIG_TUN_ABORT:
			vhook_mig_event(p, UDPMIG_MIG_E_ABORT, "peer aborted", NULL);
			break;
		default:
			tun.bad_msg++;
			break;
		}
		goto free;
	}
	/* Destination. */
	switch (tp.msg.type) {
	case UDPMIG_TUN_DATA:
		c->rx_data++;
		c->ack_due = true;
		if (c->data_first_ns == 0)
			c->data_first_ns = now;
		c->data_last_ns = now;
		/* The inner frame moves into the channel's own mbuf (see open). */
		h = rte_pktmbuf_alloc(c->hold);
		dst = h != NULL ? rte_pktmbuf_append(h, (uint16_t)tp.payload_len) : NULL;
		if (dst == NULL) {
			rte_pktmbuf_free(h);
			c->nomem++; /* not acked: the source sends it again */
			goto free;
		}
		src = rte_pktmbuf_read(m, tp.payload_off, tp.payload_len, dst);
		if (src != dst)
			memcpy(dst, src, tp.payload_len);
		switch (udpmig_tun_rx_data(c->rx, tp.msg.seq, h)) {
		case UDPMIG_TUN_RX_STORED:
			goto free;
		case UDPMIG_TUN_RX_DUPLICATE:
			c->dup++;
			break;
		case UDPMIG_TUN_RX_OUT_OF_WINDOW:
			c->oow++;
			break;
		}
		rte_pktmbuf_free(h);
		goto free;
	case UDPMIG_TUN_END:
		c->rx_ctl++;
		c->end_known = true;
		c->end_total = tp.msg.seq;
		c->ack_due = true;
		break;
	case UDPMIG_TUN_ABORT:
		c->rx_ctl++;
		vhook_mig_event(p, UDPMIG_MIG_E_PEER_ABORT, "source aborted", NULL);
		break;
	case UDPMIG_TUN_HELLO:
		c->rx_ctl++; /* HAVE: the source is bound (above) */
		break;
	default:
		tun.bad_msg++;
		break;
	}
free:
	rte_pktmbuf_free(m);
}

/* --- per-channel work ------------------------------------------------------ */

/*
 * The peer's MAC: from the neighbour table, else ask (ARP, or an IPv6
 * neighbour solicitation) every ARP_RETRY_NS. Both ends ask: a
 * destination must be able to ack (and say that the VM resumed) before the
 * source sent it anything, which is the case with --store-and-forward.
 */
static bool
chan_resolve(struct vhook_chan *c, uint64_t now)
{
	if (c->mac_ok)
		return true;
	if (now - c->arp_ns >= ARP_RETRY_NS) {
		c->mac_ok = resolve(c->path.dst_ip, &c->path.dst_mac);
		c->arp_ns = now;
	}
	return c->mac_ok;
}

static bool
src_poll(struct vhook_port *p, uint64_t now)
{
	struct vhook_chan *c = &p->chan;
	struct rte_mbuf *pk[TUN_BURST], *out[TUN_BURST];
	struct rte_mempool *mp = p->rxq[0] != NULL ? p->rxq[0]->mp : tun.mp;
	uint64_t seq[TUN_BURST];
	uint32_t n, k, i, sent = 0;
	bool work = false;

	if (!chan_resolve(c, now))
		return false;
	/* The VM's buffer into the sender's window, in sequence. */
	if (c->streaming) {
		uint32_t room = RTE_MIN(udpmig_tun_tx_space(c->tx), (uint32_t)TUN_BURST);

		if (room > 0) {
			uint32_t keep = 0;

			n = udpmig_buf_dequeue_burst(p->buf, pk, room, mp);
			/* What cannot travel (runts, bigger than a tunnel mbuf) is
			 * dropped and counted here, never retried forever. */
			for (i = 0; i < n; i++) {
				uint32_t len = rte_pktmbuf_pkt_len(pk[i]);

				struct rte_mbuf *h = NULL;

				if (len < RTE_ETHER_HDR_LEN || len > TUN_MAX_INNER)
					c->untunnelable++;
				else
					h = rte_pktmbuf_copy(pk[i], c->hold, 0, UINT32_MAX);
				rte_pktmbuf_free(pk[i]);
				if (h == NULL) {
					c->dropped++;
					continue;
				}
				pk[keep++] = h;
			}
			udpmig_tun_tx_push(c->tx, pk, keep);
			work |= n > 0;
		}
		/*
		 * Tail: is anything still arriving for the VM? Quiet only once
		 * everything held went out and was acked: SRC_GONE's timer is
		 * for the END alone (with store-and-forward, the quiet time once
		 * ran out while 80 k packets still waited, and SRC_GONE's timeout
		 * dropped them).
		 */
		if (udpmig_buf_next_seq(p->buf) != c->tail_seq) {
			c->tail_seq = udpmig_buf_next_seq(p->buf);
			c->tail_ns = now;
		} else if (p->mig.state == UDPMIG_MIG_S_SRC_FORWARDING &&
			udpmig_buf_count(p->buf) == 0 && udpmig_tun_tx_held(c->tx) == 0 &&
			now - c->tail_ns >= (uint64_t)p->args.tail_quiet_ms * 1000000ull) {
			vhook_mig_event(p, UDPMIG_MIG_E_TAIL_QUIET, "tail quiet", NULL);
		}
	}
	/* No more than the out ring takes: encapsulating and signing what
	 * cannot leave wasted the thread's time. */
	n = udpmig_tun_tx_due(c->tx, now, seq, pk,
		RTE_MIN((unsigned int)TUN_BURST, rte_ring_free_count(tun.out)));
	for (i = 0; i < n; i++) {
		struct udpmig_tun_msg msg = c->id;

		msg.type = UDPMIG_TUN_DATA;
		msg.seq = seq[i];
		out[sent] = udpmig_tun_encap(tun.mp, &c->path, &msg, pk[i], NULL, 0, c->key);
		if (out[sent] == NULL)
			break;
		sent++;
	}
	if (sent < n) {
		c->nomem++;
		udpmig_tun_tx_unsent(c->tx, n - sent);
	}
	k = rte_ring_sp_enqueue_burst(tun.out, (void **)out, sent, NULL);
	if (k < sent) {
		rte_pktmbuf_free_bulk(out + k, sent - k);
		udpmig_tun_tx_unsent(c->tx, sent - k);
		c->unsent += sent - k;
	}
	c->tx_data += k;
	if (k > 0) {
		if (c->data_first_ns == 0)
			c->data_first_ns = now;
		c->data_last_ns = now;
	}
	work |= k > 0;
	/* END once every packet has a channel number, again until acked. */
	if (c->end_wanted && !c->end_acked && udpmig_buf_count(p->buf) == 0 &&
		now - c->end_ns >= END_RETRY_NS) {
		chan_send_ctl(p, UDPMIG_TUN_END, 0, udpmig_tun_tx_next_seq(c->tx));
		c->end_ns = now;
	}
	return work;
}

static bool
dst_poll(struct vhook_port *p, uint64_t now)
{
	struct vhook_chan *c = &p->chan;
	struct rte_mbuf *pk[TUN_BURST];
	uint32_t n;

	if (c->discover) {
		if (now - c->who_ns >= WHO_RETRY_NS) {
			who_send(p);
			c->who_ns = now;
		}
		return false;
	}
	chan_resolve(c, now);
	n = udpmig_tun_rx_pull(c->rx, pk, TUN_BURST);
	if (n > 0) {
		unsigned int k = udpmig_buf_enqueue_burst(c->tbuf, 0, pk, n);

		c->dropped += n - k; /* the buffer counted them too */
	}
	if ((c->ack_due && (n < TUN_BURST || now - c->ack_ns >= ACK_DELAY_NS)) ||
		now - c->ack_ns >= ACK_KEEPALIVE_NS)
		dst_ack(p, now);
	if (c->end_known && !c->end_raised && udpmig_tun_rx_cum(c->rx) >= c->end_total &&
		udpmig_tun_rx_held(c->rx) == 0) {
		c->end_raised = true;
		vhook_mig_event(p, UDPMIG_MIG_E_END_RECEIVED, "END in sequence", NULL);
	}
	return n > 0;
}

bool
vhook_tun_poll(uint64_t now)
{
	struct rte_mbuf *in[TUN_BURST];
	unsigned int n, i, total = 0;
	bool work = false;
	uint32_t s;

	if (!tun.configured)
		return false;
	do {
		n = rte_ring_sc_dequeue_burst(tun.in, (void **)in, TUN_BURST, NULL);
		for (i = 0; i < n; i++)
			tun_input(in[i], now);
		total += n;
	} while (n == TUN_BURST && total < TUN_IN_BUDGET);
	work |= total > 0;
	tun.active = false;
	for (s = 0; s < RTE_DIM(vhook_global.ports); s++) {
		struct vhook_port *p = vhook_global.ports[s];

		if (p == NULL || !p->chan.open)
			continue;
		if (p->chan.source) {
			work |= src_poll(p, now);
			tun.active |= p->chan.tx != NULL && udpmig_tun_tx_held(p->chan.tx) > 0;
		} else {
			work |= dst_poll(p, now);
			tun.active |= p->chan.rx_data > 0;
		}
	}
	return work;
}

bool
vhook_tun_active(void)
{
	return tun.active;
}

/* Nothing for the control thread: no channel busy, no tunnel input waiting. */
bool
vhook_tun_quiet(void)
{
	return !tun.active && (tun.in == NULL || rte_ring_empty(tun.in));
}

/*
 * Packets the injector must hand to the guest before the VM's own buffer:
 * on a source after an abort, what the channel held; on a destination,
 * the tunnel's packets, and nothing of the buffer (*hold) until the END
 * came in sequence or the channel is closed.
 */
uint16_t
vhook_tun_inject_pull(struct vhook_port *p, struct rte_mbuf **pkts, uint16_t n,
	struct rte_mempool *mp, bool *hold)
{
	struct vhook_chan *c = &p->chan;
	uint16_t k;

	*hold = false;
	if (c->back != NULL) {
		k = (uint16_t)udpmig_tun_tx_reclaim(c->back, pkts, n);
		if (k > 0)
			return k;
		/* Kept packets wait for an mbuf of the channel's pool. */
		if (udpmig_tun_tx_held(c->back) > 0) {
			*hold = true;
			return 0;
		}
		udpmig_tun_tx_free(c->back);
		c->back = NULL;
		chan_release(c);
	}
	if (c->tbuf != NULL) {
		k = (uint16_t)udpmig_buf_dequeue_burst(c->tbuf, pkts, n, mp);
		if (k > 0)
			return k;
		if (c->open && (c->rx == NULL || udpmig_tun_rx_held(c->rx) == 0) &&
			p->mig.state == UDPMIG_MIG_S_DST_DRAINING)
			vhook_mig_event(p, UDPMIG_MIG_E_DRAINED, "tunnel queue empty", NULL);
		if (c->open) {
			*hold = true;
			return 0;
		}
		if (udpmig_buf_count(c->tbuf) == 0) {
			udpmig_buf_free(c->tbuf);
			c->tbuf = NULL;
			chan_release(c);
		}
	}
	return 0;
}

/* --- migrate-start --to / migrate-expect --from options --------------------- */

static int
hexkey(const char *s, uint8_t *key)
{
	unsigned int i;

	if (strlen(s) != 2 * UDPMIG_TUN_KEY_LEN)
		return -1;
	for (i = 0; i < UDPMIG_TUN_KEY_LEN; i++) {
		char b[3] = { s[2 * i], s[2 * i + 1], 0 };
		char *end;
		unsigned long v = strtoul(b, &end, 16);

		if (*end != '\0' || !isxdigit((unsigned char)b[0]))
			return -1;
		key[i] = (uint8_t)v;
	}
	return 0;
}

int
vhook_tun_parse_peer(struct vhook_peer *peer, int argc, const char *argv[], int first, bool dest,
	char *err, size_t errlen)
{
	const char *addr_opt = dest ? "--from" : "--to";
	const char *accepted = dest ? "--from ADDR, --key HEX, --vni N" :
				      "--to ADDR, --key HEX, --vni N, --store-and-forward";
	bool have_key = false;
	int i;

	memset(peer, 0, sizeof(*peer));
	for (i = first; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!dest && strcmp(o, "--store-and-forward") == 0) {
			peer->store = true;
			continue;
		}
		if (strcmp(o, addr_opt) != 0 && strcmp(o, "--key") != 0 &&
			strcmp(o, "--vni") != 0) {
			snprintf(err, errlen, "unknown option '%s'; accepted: %s", o, accepted);
			return -EINVAL;
		}
		if (v == NULL) {
			snprintf(err, errlen, "%s needs a value", o);
			return -EINVAL;
		}
		i++;
		if (strcmp(o, addr_opt) == 0) {
			if (inet_pton(AF_INET, v, peer->ip) == 1) {
				peer->family = AF_INET;
			} else if (inet_pton(AF_INET6, v, peer->ip) == 1) {
				peer->family = AF_INET6;
			} else {
				snprintf(err, errlen, "%s %s: expected an IPv4 or IPv6 address", o,
					v);
				return -EINVAL;
			}
			peer->set = true;
		} else if (strcmp(o, "--key") == 0) {
			if (hexkey(v, peer->key) != 0) {
				snprintf(err, errlen, "--key: expected %d hex digits",
					2 * UDPMIG_TUN_KEY_LEN);
				return -EINVAL;
			}
			have_key = true;
		} else {
			char *end;
			unsigned long x = strtoul(v, &end, 0);

			if (*v == '\0' || *end != '\0' || x == 0 || x > 0xffffff) {
				snprintf(err, errlen, "--vni %s: expected 1..16777215", v);
				return -EINVAL;
			}
			peer->vni = (uint32_t)x;
		}
	}
	if (peer->set && !have_key) {
		snprintf(err, errlen, "%s needs --key (%d hex digits, the same on both switches)",
			addr_opt, 2 * UDPMIG_TUN_KEY_LEN);
		return -EINVAL;
	}
	if (peer->store && !peer->set) {
		snprintf(err, errlen, "--store-and-forward needs --to ADDR --key HEX");
		return -EINVAL;
	}
	if (dest && !peer->set && vhook_tun_peer_count() == 0) {
		snprintf(err, errlen,
			"migrate-expect needs --from ADDR --key HEX, or peers to ask (peer-add)");
		return -EINVAL;
	}
	peer->discover = dest && !peer->set;
	return 0;
}

/* --- observability ---------------------------------------------------------- */

void
vhook_tun_dump_json(const struct vhook_port *p, FILE *f)
{
	const struct vhook_chan *c = &p->chan;
	char ip[INET6_ADDRSTRLEN] = "";

	if (c->path.family != 0)
		inet_ntop(c->path.family, c->path.dst_ip, ip, sizeof(ip));
	fprintf(f,
		"{\"open\":%s,\"role\":\"%s\",\"vni\":%u,\"peer\":\"%s\",\"peer_mac_known\":%s,"
		"\"data_sent\":%" PRIu64 ",\"control_sent\":%" PRIu64 ",\"data_received\":%" PRIu64
		",\"control_received\":%" PRIu64 ",\"duplicates\":%" PRIu64
		",\"out_of_window\":%" PRIu64 ",\"no_mbuf\":%" PRIu64 ",\"out_ring_full\":%" PRIu64
		",\"untunnelable\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"acks_resumed\":%" PRIu64
		",\"store_and_forward\":%s,\"streaming\":%s,\"data_span_us\":%" PRIu64
		",\"discovering\":%s,\"who_sent\":%" PRIu64,
		c->open ? "true" : "false", c->source ? "source" : "destination", c->id.vni, ip,
		c->mac_ok ? "true" : "false", c->tx_data, c->tx_ctl, c->rx_data, c->rx_ctl, c->dup,
		c->oow, c->nomem, c->unsent, c->untunnelable, c->dropped, c->rx_resumed,
		c->store ? "true" : "false", c->streaming ? "true" : "false",
		(c->data_last_ns - c->data_first_ns) / 1000, c->discover ? "true" : "false",
		c->who_sent);
	/* A closed channel shows its last figures, with nothing held. */
	if (c->tx != NULL || c->tx_closed) {
		struct udpmig_tun_tx_stats st = c->tx_final;

		if (c->tx != NULL)
			udpmig_tun_tx_stats_get(c->tx, &st);
		fprintf(f,
			",\"sender\":{\"pushed\":%" PRIu64 ",\"sent\":%" PRIu64
			",\"retransmits\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"held\":%u"
			",\"timeout_rounds\":%" PRIu64 ",\"fast_rounds\":%" PRIu64
			",\"srtt_us\":%" PRIu64 ",\"rto_us\":%" PRIu64 ",\"kept\":%" PRIu64
			",\"keep_full\":%" PRIu64 ",\"keep_nombuf\":%" PRIu64 ",\"cwnd\":%u"
			",\"cwnd_cuts\":%" PRIu64 "}",
			st.pushed, st.sent, st.retransmits, st.acked,
			c->tx != NULL ? udpmig_tun_tx_held(c->tx) : 0, st.rto_rounds,
			st.fast_rounds, st.srtt_ns / 1000, st.rto_ns / 1000, st.kept, st.keep_full,
			st.keep_nombuf, st.cwnd, st.cwnd_cuts);
	}
	if (c->rx != NULL || c->rx_closed) {
		struct udpmig_tun_rx_stats st = c->rx_final;

		if (c->rx != NULL)
			udpmig_tun_rx_stats_get(c->rx, &st);
		fprintf(f,
			",\"receiver\":{\"accepted\":%" PRIu64 ",\"delivered\":%" PRIu64
			",\"cumulative\":%" PRIu64 ",\"held\":%u,\"end\":",
			st.accepted, st.delivered,
			c->rx != NULL ? udpmig_tun_rx_cum(c->rx) : st.delivered,
			c->rx != NULL ? udpmig_tun_rx_held(c->rx) : 0);
		if (c->end_known)
			fprintf(f, "%" PRIu64 "}", c->end_total);
		else
			fprintf(f, "null}");
	}
	fprintf(f, ",\"queued_for_guest\":%u}",
		c->tbuf != NULL ? (unsigned int)udpmig_buf_count(c->tbuf) : 0);
}

void
vhook_tun_dump_global_json(FILE *f)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (tun.configured)
		inet_ntop(tun.ep.family, tun.ep.addr, ip, sizeof(ip));
	fprintf(f,
		"{\"endpoint\":\"%s\",\"udp_port\":%u,\"in_ring_full\":%" PRIu64
		",\"out_ring_full\":%" PRIu64 ",\"not_tunnel\":%" PRIu64 ",\"malformed\":%" PRIu64
		",\"bad_option\":%" PRIu64 ",\"bad_message\":%" PRIu64 ",\"bad_tag\":%" PRIu64
		",\"unknown_channel\":%" PRIu64 ",\"arp_in\":%" PRIu64 ",\"arp_out\":%" PRIu64
		",\"no_mbuf\":%" PRIu64 ",\"who_received\":%" PRIu64 ",\"who_unmatched\":%" PRIu64
		",\"channels_discovered\":%" PRIu64 ",\"in_band\":%s,\"peers\":",
		ip, tun.configured ? tun.ep.udp_port : 0,
		__atomic_load_n(&tun.in_full, __ATOMIC_RELAXED), tun.out_full, tun.not_ours,
		tun.malformed, tun.bad_option, tun.bad_msg, tun.bad_tag, tun.unknown, tun.arp_in,
		tun.arp_out, tun.nomem, tun.who_in, tun.who_unmatched, tun.bound,
		tun.inband != NULL ? "true" : "false");
	vhook_tun_peers_json(f);
	fputc('}', f);
}
