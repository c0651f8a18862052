/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry of net_vhook ports, for dpdk-telemetry.py against any host
 * process that loaded the driver (testpmd, OVS, udpmig-switch):
 *   /udpmig/vms           the VM names
 *   /udpmig/vm,<name>     one VM: port, migration state, counters
 *   /udpmig/stats         the counters summed over every VM
 * The callbacks run on the telemetry thread and take vhook_global.lock
 * (never held for long) to walk the ports.
 */
#include <string.h>

#include <rte_telemetry.h>

#include "vhook.h"

static int
tel_vms(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	uint32_t i;

	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	vhook_lock();
	for (i = 0; i < RTE_DIM(vhook_global.ports); i++)
		if (vhook_global.ports[i] != NULL)
			rte_tel_data_add_array_string(d, vhook_global.ports[i]->args.vm.name);
	vhook_unlock();
	return 0;
}

static int
tel_vm(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	uint64_t v[VHOOK_N_COUNTERS];
	struct vhook_port *p;
	unsigned int i;
	int ret = 0;

	if (params == NULL || *params == '\0')
		return -EINVAL;
	vhook_lock();
	p = vhook_port_by_name(params);
	if (p == NULL) {
		ret = -ENOENT;
		goto out;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "vm", p->args.vm.name);
	rte_tel_data_add_dict_int(d, "port_id", p->port_id);
	rte_tel_data_add_dict_string(d, "iface", p->args.iface);
	rte_tel_data_add_dict_string(d, "state", udpmig_mig_state_name(p->mig.state));
	rte_tel_data_add_dict_string(d, "mode", vhook_mode_name(p->mode));
	rte_tel_data_add_dict_int(d, "attached", (int)p->attached);
	rte_tel_data_add_dict_int(d, "auto_detect", p->args.auto_detect);
	rte_tel_data_add_dict_int(d, "dirty_logging", (int)p->log_all);
	vhook_counters_get(p, v);
	for (i = 0; i < VHOOK_N_COUNTERS; i++)
		rte_tel_data_add_dict_u64(d, vhook_counter_name(i), v[i]);
out:
	vhook_unlock();
	return ret;
}

static int
tel_stats(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	uint64_t sum[VHOOK_N_COUNTERS] = { 0 }, v[VHOOK_N_COUNTERS];
	uint32_t i, n = 0;
	unsigned int k;

	vhook_lock();
	for (i = 0; i < RTE_DIM(vhook_global.ports); i++) {
		if (vhook_global.ports[i] == NULL)
			continue;
		vhook_counters_get(vhook_global.ports[i], v);
		for (k = 0; k < VHOOK_N_COUNTERS; k++)
			sum[k] += v[k];
		n++;
	}
	vhook_unlock();
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "vms", n);
	for (k = 0; k < VHOOK_N_COUNTERS; k++) {
		const char *name = vhook_counter_name(k);

		/* A sum of states or modes means nothing. */
		if (strcmp(name, "udpmig_state") == 0 || strcmp(name, "udpmig_mode") == 0 ||
			strcmp(name, "udpmig_buf_next_seq") == 0)
			continue;
		if (strcmp(name, "udpmig_events_dropped") == 0)
			sum[k] = n > 0 ? sum[k] / n : 0; /* one process-wide counter */
		rte_tel_data_add_dict_u64(d, name, sum[k]);
	}
	return 0;
}

void
vhook_tel_register(void)
{
	rte_telemetry_register_cmd(
		"/udpmig/vms", tel_vms, "The VMs of net_vhook ports. Takes no parameters.");
	rte_telemetry_register_cmd("/udpmig/vm", tel_vm,
		"One VM's port, migration state and counters. Parameter: the VM name.");
	rte_telemetry_register_cmd("/udpmig/stats", tel_stats,
		"The udpmig counters summed over every VM. Takes no parameters.");
}
