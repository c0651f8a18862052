/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_VM_H
#define UDPMIG_VM_H

/**
 * @file
 * udpmig VM table: the local VMs a switch knows, found by name (control
 * plane) or by MAC, IPv4 or IPv6 address (datapath), each with its
 * configuration (buffer quotas, drop policy, hold timeout) and counters.
 *
 * Threads: one control thread adds and removes VMs; datapath threads look
 * them up at the same time without locks. A removed VM (and a slot it
 * leaves) may still be read by a datapath thread that looked it up just
 * before: the caller frees it only after every datapath thread has
 * passed a quiescent point (e.g. rte_rcu_qsbr), which
 * udpmig_vm_table_del() leaves to the caller by returning the VM.
 *
 * Per-VM counters are kept per queue (one writer each) and summed when
 * read. Pure logic: no EAL needed except for udpmig_vm_buf_create().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ether.h>

#include "udpmig_buf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UDPMIG_VM_NAMESIZE   32 /**< longest VM name, with its NUL */
#define UDPMIG_VM_MAX_IP4    4 /**< IPv4 addresses per VM */
#define UDPMIG_VM_MAX_IP6    4 /**< IPv6 addresses per VM */
#define UDPMIG_VM_MAX_QUEUES 64 /**< per-queue counter sets of a VM */
#define UDPMIG_VM_PATHSIZE   256 /**< longest tier-2 file path */

/** Configuration of one VM. */
struct udpmig_vm_conf {
	char name[UDPMIG_VM_NAMESIZE]; /**< unique, [A-Za-z0-9_.-]+ */
	struct rte_ether_addr mac; /**< unique unicast MAC */
	uint8_t n_ip4; /**< addresses in @ref ip4 */
	uint8_t n_ip6; /**< addresses in @ref ip6 */
	uint32_t ip4[UDPMIG_VM_MAX_IP4]; /**< IPv4 addresses, network order */
	uint8_t ip6[UDPMIG_VM_MAX_IP6][16]; /**< IPv6 addresses, network order */
	uint32_t t1_quota; /**< tier-1 mbufs (zero copy) */
	uint32_t t2_slots; /**< tier-2 packets (copied) */
	uint32_t t2_slot_size; /**< tier-2 largest packet, bytes */
	char t2_file[UDPMIG_VM_PATHSIZE]; /**< tier 2 in this file; "" = memory */
	enum udpmig_buf_policy policy; /**< when both tiers are full */
	uint32_t hold_timeout_ms; /**< longest a destination holds packets */
};

/** Counters of one VM (per queue, or summed); a cache line each, so queues never share one. */
struct udpmig_vm_stats {
	uint64_t rx_pkts; /**< packets for the VM seen by the datapath */
	uint64_t rx_bytes; /**< their bytes */
	uint64_t delivered_pkts; /**< handed to the VM's virtqueue directly */
	uint64_t intercepted_pkts; /**< given to the VM's buffer instead */
	uint64_t injected_pkts; /**< held packets later put in the virtqueue */
	uint64_t tunneled_pkts; /**< held packets sent to the peer switch */
	uint64_t drop_pkts; /**< dropped outside the buffer (e.g. virtqueue full) */
} __rte_cache_aligned;

/** One VM. Fields other than @ref priv are owned by the table. */
struct udpmig_vm {
	struct udpmig_vm_conf conf; /**< its configuration (read-only once added) */
	uint32_t id; /**< small number, unique while the VM exists */
	struct udpmig_buf *buf; /**< its buffer, see udpmig_vm_buf_create() */
	void *priv; /**< the caller's */
	struct udpmig_vm_stats stats[UDPMIG_VM_MAX_QUEUES];
	/**< per-queue counters, one writer each */
};

struct udpmig_vm_table;

/**
 * Fill a configuration with the defaults: no name, no MAC, no address,
 * tier 1 4096 mbufs, tier 2 65536 slots of 2048 bytes in memory,
 * drop-newest, hold timeout 5000 ms.
 *
 * @param conf
 *   The configuration.
 */
void udpmig_vm_conf_default(struct udpmig_vm_conf *conf);

/**
 * Set one configuration field from text, as devargs and control commands
 * give it. Keys: name, mac, ip (IPv4 or IPv6; repeat for more),
 * t1-quota, t2-slots, t2-slot-size, t2-file, policy (drop-newest,
 * drop-oldest), hold-timeout-ms.
 *
 * @param conf
 *   The configuration.
 * @param key
 *   The field.
 * @param value
 *   Its text.
 * @param err
 *   On failure, one line naming the field and what it accepts; may be NULL.
 * @param errlen
 *   Size of @p err.
 * @return
 *   0; -EINVAL (unknown key, bad value), -ENOSPC (too many addresses),
 *   -ENAMETOOLONG (name or path too long).
 */
int udpmig_vm_conf_set(
	struct udpmig_vm_conf *conf, const char *key, const char *value, char *err, size_t errlen);

/**
 * Check a configuration as a whole.
 *
 * @param conf
 *   The configuration.
 * @param err
 *   On failure, one line naming the field; may be NULL.
 * @param errlen
 *   Size of @p err.
 * @return
 *   0 or -EINVAL (no or bad name, MAC missing, multicast or zero, both
 *   tiers 0, quota over 2^30, slot size out of 64..65536, hold timeout 0).
 */
int udpmig_vm_conf_validate(const struct udpmig_vm_conf *conf, char *err, size_t errlen);

/**
 * Create a table.
 *
 * @param max_vms
 *   Most VMs it holds, 1 .. 65536.
 * @return
 *   The table, or NULL with errno set: EINVAL, ENOMEM.
 */
struct udpmig_vm_table *udpmig_vm_table_create(uint32_t max_vms);

/**
 * Free a table and the VMs still in it (with their buffers). Accepts NULL.
 * No datapath thread may use the table any more.
 *
 * @param tbl
 *   The table.
 */
void udpmig_vm_table_free(struct udpmig_vm_table *tbl);

/**
 * Add a VM. Control thread only.
 *
 * @param tbl
 *   The table.
 * @param conf
 *   Its configuration (copied; validated with udpmig_vm_conf_validate()).
 * @param err
 *   On failure, one line saying why; may be NULL.
 * @param errlen
 *   Size of @p err.
 * @return
 *   The VM, or NULL with errno set: EINVAL (bad conf), EEXIST (name, MAC
 *   or an address already used by another VM), ENOSPC (table full),
 *   ENOMEM.
 */
struct udpmig_vm *udpmig_vm_table_add(
	struct udpmig_vm_table *tbl, const struct udpmig_vm_conf *conf, char *err, size_t errlen);

/**
 * Remove a VM from the table; lookups stop finding it. Control thread
 * only. The caller frees it with udpmig_vm_free() once no datapath
 * thread can hold it.
 *
 * @param tbl
 *   The table.
 * @param name
 *   The VM's name.
 * @return
 *   The VM, or NULL with errno set: EINVAL (NULL argument), ENOENT.
 */
struct udpmig_vm *udpmig_vm_table_del(struct udpmig_vm_table *tbl, const char *name);

/**
 * Free a VM removed from its table, and its buffer. Accepts NULL.
 *
 * @param vm
 *   The VM.
 */
void udpmig_vm_free(struct udpmig_vm *vm);

/**
 * Create the VM's buffer from its configuration. Needs EAL.
 *
 * @param vm
 *   The VM; its @ref udpmig_vm::buf must be NULL.
 * @param n_producers
 *   Producer ids the buffer takes (e.g. the port's tx queues).
 * @param socket_id
 *   NUMA socket, or SOCKET_ID_ANY.
 * @return
 *   0; -EINVAL (NULL VM, a buffer already there, bad n_producers),
 *   -ENOMEM, or the errno udpmig_buf_create() set, negated.
 */
int udpmig_vm_buf_create(struct udpmig_vm *vm, uint16_t n_producers, int socket_id);

/**
 * Find a VM by name. Control thread.
 *
 * @param tbl
 *   The table.
 * @param name
 *   The name.
 * @return
 *   The VM, or NULL.
 */
struct udpmig_vm *udpmig_vm_lookup_name(const struct udpmig_vm_table *tbl, const char *name);

/**
 * Find a VM by MAC. Lock-free; datapath.
 *
 * @param tbl
 *   The table.
 * @param mac
 *   The MAC.
 * @return
 *   The VM, or NULL.
 */
struct udpmig_vm *udpmig_vm_lookup_mac(
	const struct udpmig_vm_table *tbl, const struct rte_ether_addr *mac);

/**
 * Find a VM by IPv4 address. Lock-free; datapath.
 *
 * @param tbl
 *   The table.
 * @param ip4
 *   The address, network order.
 * @return
 *   The VM, or NULL.
 */
struct udpmig_vm *udpmig_vm_lookup_ip4(const struct udpmig_vm_table *tbl, uint32_t ip4);

/**
 * Find a VM by IPv6 address. Lock-free; datapath.
 *
 * @param tbl
 *   The table.
 * @param ip6
 *   The 16 address bytes, network order.
 * @return
 *   The VM, or NULL.
 */
struct udpmig_vm *udpmig_vm_lookup_ip6(const struct udpmig_vm_table *tbl, const uint8_t *ip6);

/**
 * Call @p fn for every VM, in no given order, until it returns non-zero.
 * Control thread.
 *
 * @param tbl
 *   The table.
 * @param fn
 *   The callback.
 * @param arg
 *   Passed to @p fn.
 * @return
 *   0, the first non-zero value @p fn returned, or -EINVAL.
 */
int udpmig_vm_foreach(
	const struct udpmig_vm_table *tbl, int (*fn)(struct udpmig_vm *vm, void *arg), void *arg);

/**
 * The number of VMs in the table.
 *
 * @param tbl
 *   The table.
 * @return
 *   The count (0 for NULL).
 */
uint32_t udpmig_vm_count(const struct udpmig_vm_table *tbl);

/**
 * Sum a VM's per-queue counters.
 *
 * @param vm
 *   The VM.
 * @param sum
 *   Filled in.
 * @return
 *   0 or -EINVAL.
 */
int udpmig_vm_stats_get(const struct udpmig_vm *vm, struct udpmig_vm_stats *sum);

/**
 * Write a VM's configuration and counters as one JSON object (for the
 * control socket; use open_memstream() for a string).
 *
 * @param vm
 *   The VM.
 * @param f
 *   Where.
 * @return
 *   0, -EINVAL, or -EIO when writing failed.
 */
int udpmig_vm_dump_json(const struct udpmig_vm *vm, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* UDPMIG_VM_H */
