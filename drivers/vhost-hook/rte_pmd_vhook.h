/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RTE_PMD_VHOOK_H
#define RTE_PMD_VHOOK_H

/**
 * @file
 * The net_vhook driver's one public header: what an application that owns
 * the wire (udpmig-switch) uses to carry the migration tunnel.
 *
 * The tunnel is process-wide, shared by every net_vhook port. Its packets
 * travel on a port the application polls (its uplink): the application
 * hands the driver what rte_pmd_vhook_tun_match() recognises and sends what
 * rte_pmd_vhook_tun_output() gives it. The driver's migration work (acks,
 * retransmission, injection) runs on its control thread. Both calls are
 * lock-free. rte_pmd_vhook_tun_input() may be called from several lcores
 * at once (one per rx queue of a multi-queue port, say);
 * rte_pmd_vhook_tun_output() from one lcore at a time.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default Geneve UDP port (RFC 8926). */
#define RTE_PMD_VHOOK_TUN_PORT 6081

/** The local end of the migration tunnel. */
struct rte_pmd_vhook_tun_endpoint {
	int family; /**< AF_INET or AF_INET6 */
	uint8_t addr[16]; /**< local address; IPv4 in the first 4 bytes */
	uint16_t udp_port; /**< Geneve port, host order; 0 = 6081 */
	struct rte_ether_addr mac; /**< source MAC of tunnel frames (the uplink's) */
};

/**
 * Set the local tunnel endpoint. Call once, before traffic, from the
 * application's main thread (after the net_vhook ports are probed).
 *
 * @return 0, or -EINVAL (bad family or address), -ENODEV (no net_vhook
 *   port in this process), -ENOMEM.
 */
int rte_pmd_vhook_tun_set_endpoint(const struct rte_pmd_vhook_tun_endpoint *ep);

/**
 * Is @p m for the tunnel: UDP to the endpoint's address and port, or an ARP
 * about the endpoint's IPv4 address? Reads headers only; safe on any packet
 * (short, VLAN-tagged, fragmented ones are not the tunnel's).
 */
bool rte_pmd_vhook_tun_match(const struct rte_mbuf *m);

/**
 * Give tunnel packets received on the wire to the driver. Multi-producer:
 * any number of lcores may call it at once.
 *
 * @return how many it took (a prefix of @p pkts); the caller frees the
 *   rest, which the driver counts (`udpmig-ctl status`: tunnel, in_ring_full).
 */
uint16_t rte_pmd_vhook_tun_input(struct rte_mbuf **pkts, uint16_t n);

/**
 * Take up to @p n packets the driver wants sent on the wire (tunnel
 * packets and ARP). The caller owns them and frees what it cannot send.
 */
uint16_t rte_pmd_vhook_tun_output(struct rte_mbuf **pkts, uint16_t n);

/**
 * Who does the migration work (state timeouts, the tunnel's sending,
 * acks and retransmissions, injecting held packets into a guest): the
 * driver's control thread (the default, what a host such as OVS gets), or,
 * with @p on, whoever calls rte_pmd_vhook_migration_poll(), e.g. an lcore
 * the application dedicates to it. The control socket and vhost events
 * stay on the control thread either way. Any thread, any time.
 *
 * @return 0.
 */
int rte_pmd_vhook_migration_external(bool on);

/**
 * One round of migration work, when rte_pmd_vhook_migration_external(true)
 * was called (otherwise nothing). Never blocks: when a control command
 * holds the driver's lock it returns at once. Call it in a loop.
 *
 * @return true when there was work (or the lock was taken: call again
 *   soon), false when idle (a caller may back off).
 */
bool rte_pmd_vhook_migration_poll(void);

#ifdef __cplusplus
}
#endif

#endif /* RTE_PMD_VHOOK_H */
