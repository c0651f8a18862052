/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udpmig-switch: options -> EAL -> ports -> MAC table -> tunnel endpoint
 * -> workers -> control loop (learning, aging, stats) -> shutdown.
 *
 *   udpmig-switch [EAL options] -- --uplink NAME [switch options]
 *
 * The net_vhook driver is linked in (rte_pmd_vhook.h), so its VM ports are
 * plain EAL --vdev net_vhookN,... arguments.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_pdump.h>

#include <rte_pmd_vhook.h>

#include "switch.h"

RTE_LOG_REGISTER(sw_logtype, udpmig.switch, NOTICE);

#define CONTROL_PERIOD_NS 1000000L /* the control loop's sleep: learning latency */

struct sw_ctx sw;

static void
on_signal(int sig __rte_unused)
{
	/* Only a flag: every lcore polls it. */
	__atomic_store_n(&sw.force_quit, true, __ATOMIC_RELAXED);
}

/*
 * Split argv at "--": EAL's part stays in argv[0, *eal_argc), the
 * switch's part becomes sw_argv (with the program name first).
 */
static int
split_args(int argc, char **argv, int *eal_argc, char ***sw_argv, int *sw_argc)
{
	char **v;
	int i, dd = argc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dd = i;
			break;
		}
	}
	v = calloc((size_t)(argc - dd + 1), sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	v[0] = argv[0];
	for (i = dd + 1; i < argc; i++)
		v[i - dd] = argv[i];
	*sw_argc = dd < argc ? argc - dd : 1;
	*sw_argv = v;
	*eal_argc = dd;
	return 0;
}

static bool
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

static int
workers_init(char *err, size_t errlen)
{
	unsigned int lcore;

	if (rte_lcore_count() < 2) {
		snprintf(err, errlen,
			"only the main lcore: give EAL at least two lcores, e.g. --lcores "
			"'0@(0,1),1@(0,1)' (the main one controls, the others forward)");
		return -EINVAL;
	}
	if (sw.opts.mig_lcore_set) {
		if (sw.opts.mig_lcore == rte_get_main_lcore() ||
			!rte_lcore_is_enabled(sw.opts.mig_lcore)) {
			snprintf(err, errlen,
				"--migration-lcore %u: not a worker lcore of EAL's --lcores",
				sw.opts.mig_lcore);
			return -EINVAL;
		}
		if (rte_lcore_count() < 3) {
			snprintf(err, errlen,
				"--migration-lcore needs three lcores: the main one, a forwarding "
				"one and the migration one, e.g. --lcores '0@(0,1),1@(0,1),2@(0,1)'");
			return -EINVAL;
		}
	}
	sw.nb_workers = 0;
	RTE_LCORE_FOREACH_WORKER (lcore) {
		struct sw_worker *w = &sw.workers[sw.nb_workers];

		if (sw.opts.mig_lcore_set && lcore == sw.opts.mig_lcore)
			continue;
		w->idx = sw.nb_workers++;
		w->lcore_id = lcore;
	}
	return 0;
}

/*
 * --migration-lcore: the driver's migration work, polled. When idle it
 * backs off (MIG_IDLE_SLEEP_NS after MIG_IDLE_SPINS idle rounds): on a
 * host with few cores a spinning lcore would take the forwarding lcores'
 * time, and a migration is idle most of its life.
 */
#define MIG_IDLE_SPINS    1024
#define MIG_IDLE_SLEEP_NS 50000L

static void sleep_ns(long ns);

static int
migration_main(void *arg __rte_unused)
{
	unsigned int idle = 0;

	SW_LOG(NOTICE, "lcore %u: migration work", rte_lcore_id());
	while (!__atomic_load_n(&sw.force_quit, __ATOMIC_RELAXED)) {
		if (rte_pmd_vhook_migration_poll()) {
			idle = 0;
		} else if (++idle >= MIG_IDLE_SPINS) {
			sleep_ns(MIG_IDLE_SLEEP_NS);
		} else {
			rte_pause();
		}
	}
	return 0;
}

/* --tunnel-ip: give the driver the tunnel's local end (its port's MAC). */
static int
tunnel_init(void)
{
	struct rte_pmd_vhook_tun_endpoint ep;
	int ret;

	sw.tunnel = false;
	if (!sw.opts.tunnel)
		return 0;
	memset(&ep, 0, sizeof(ep));
	ep.family = sw.opts.tun_family;
	memcpy(ep.addr, sw.opts.tun_addr, sizeof(ep.addr));
	ep.udp_port = sw.opts.tun_port;
	ret = rte_eth_macaddr_get(sw.ports[sw.tun_idx].port_id, &ep.mac);
	if (ret != 0) {
		SW_LOG(ERR, "%s: no MAC address: %s", sw.ports[sw.tun_idx].name,
			rte_strerror(-ret));
		return ret;
	}
	ret = rte_pmd_vhook_tun_set_endpoint(&ep);
	if (ret != 0) {
		SW_LOG(ERR, "tunnel endpoint: %s", rte_strerror(-ret));
		return ret;
	}
	sw.tunnel = true;
	SW_LOG(NOTICE, "tunnel endpoint set on %s, UDP port %u", sw.ports[sw.tun_idx].name,
		sw.opts.tun_port);
	return 0;
}

static void
sleep_ns(long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L };

	nanosleep(&ts, NULL);
}

/* The main lcore until a signal: learning, aging, stats. */
static void
control_loop(void)
{
	const uint64_t hz = rte_get_timer_hz(), t0 = rte_get_timer_cycles();
	uint32_t now, last_age = 0, next_stats = sw.opts.stats_interval;
	uint64_t el;

	while (!__atomic_load_n(&sw.force_quit, __ATOMIC_RELAXED)) {
		sleep_ns(CONTROL_PERIOD_NS);
		el = rte_get_timer_cycles() - t0;
		now = (uint32_t)(el / hz);
		__atomic_store_n(&sw.now, now, __ATOMIC_RELAXED);
		__atomic_store_n(&sw.now_ms, (uint32_t)(el * 1000 / hz), __ATOMIC_RELAXED);
		sw_mac_apply();
		if (now != last_age) {
			sw_mac_age(now, sw.opts.mac_aging);
			last_age = now;
		}
		if (sw.opts.stats_interval != 0 && now >= next_stats) {
			sw_stats_print(stdout);
			next_stats = now + sw.opts.stats_interval;
		}
	}
}

/*
 * --ctl PATH: append ",ctl=PATH" to every net_vhook vdev (--vdev X or
 * --vdev=X among the EAL arguments) that names no ctl itself; one naming
 * another path is a usage error. The new strings live until exit (EAL
 * keeps pointers into its argv).
 */
static int
ctl_to_vdevs(int eal_argc, char **argv, const char *path, char *err, size_t errlen)
{
	static const char key[] = ",ctl=";
	int i;

	if (path[0] == '\0')
		return 0;
	for (i = 1; i < eal_argc; i++) {
		char **slot, *v, *nv;
		const char *c;
		size_t pre = 0;

		if (strcmp(argv[i], "--vdev") == 0 && i + 1 < eal_argc) {
			slot = &argv[++i];
		} else if (strncmp(argv[i], "--vdev=", 7) == 0) {
			slot = &argv[i];
			pre = 7;
		} else {
			continue;
		}
		v = *slot + pre;
		if (strncmp(v, SW_DRIVER_VM, strlen(SW_DRIVER_VM)) != 0)
			continue;
		c = strstr(v, key);
		if (c != NULL) {
			size_t n = strcspn(c + strlen(key), ",");

			if (n != strlen(path) || strncmp(c + strlen(key), path, n) != 0) {
				snprintf(err, errlen, "--ctl %s: vdev '%s' names another ctl", path,
					v);
				return -EINVAL;
			}
			continue;
		}
		nv = malloc(strlen(*slot) + strlen(key) + strlen(path) + 1);
		if (nv == NULL) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		sprintf(nv, "%s%s%s", *slot, key, path);
		*slot = nv;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	char err[1024];
	char **sw_argv = NULL;
	int eal_argc, sw_argc, ret, status = SW_EXIT_FAIL;
	unsigned int i;
	bool pdump = false;

	if (split_args(argc, argv, &eal_argc, &sw_argv, &sw_argc) != 0) {
		fprintf(stderr, SW_PROG ": out of memory\n");
		return SW_EXIT_FAIL;
	}
	if (wants_help(eal_argc, argv)) {
		sw_opts_usage(stdout);
		free(sw_argv);
		return SW_EXIT_OK;
	}
	/* Before EAL: a usage error costs nothing. */
	ret = sw_opts_parse(sw_argc, sw_argv, &sw.opts);
	free(sw_argv);
	if (ret != 0)
		return ret > 0 ? SW_EXIT_OK : SW_EXIT_USAGE;
	if (ctl_to_vdevs(eal_argc, argv, sw.opts.ctl, err, sizeof(err)) != 0) {
		fprintf(stderr, SW_PROG ": %s; see --help\n", err);
		return SW_EXIT_USAGE;
	}

	ret = rte_eal_init(eal_argc, argv);
	if (ret < 0) {
		fprintf(stderr, SW_PROG ": EAL: %s\n", rte_strerror(rte_errno));
		return SW_EXIT_FAIL;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	err[0] = '\0';
	if (workers_init(err, sizeof(err)) != 0 || sw_ports_probe(err, sizeof(err)) != 0) {
		fprintf(stderr, SW_PROG ": %s; see --help\n", err);
		status = SW_EXIT_USAGE;
		goto out;
	}
	if (rte_pdump_init() == 0)
		pdump = true;
	else
		SW_LOG(WARNING, "pdump: %s: no capture (dpdk-dumpcap)", rte_strerror(rte_errno));
	ret = sw_mac_init(sw.nb_workers);
	if (ret != 0) {
		SW_LOG(ERR, "MAC table: %s", rte_strerror(-ret));
		goto out;
	}
	/* The endpoint first: the control socket already takes commands. */
	if (tunnel_init() != 0 || sw_ports_setup() != 0)
		goto out;
	ret = sw_stats_telemetry_init();
	if (ret != 0)
		SW_LOG(WARNING, "telemetry " SW_TELEMETRY_CMD ": %s", rte_strerror(-ret));

	SW_LOG(NOTICE, "%u ports, %u workers, burst %u, MAC aging %u s", sw.nb_ports, sw.nb_workers,
		sw.opts.burst, sw.opts.mac_aging);
	for (i = 0; i < sw.nb_workers; i++) {
		ret = rte_eal_remote_launch(sw_worker_main, &sw.workers[i], sw.workers[i].lcore_id);
		if (ret != 0) {
			SW_LOG(ERR, "lcore %u: launch: %s", sw.workers[i].lcore_id,
				rte_strerror(-ret));
			__atomic_store_n(&sw.force_quit, true, __ATOMIC_RELAXED);
			break;
		}
	}
	if (i == sw.nb_workers && sw.opts.mig_lcore_set) {
		rte_pmd_vhook_migration_external(true);
		ret = rte_eal_remote_launch(migration_main, NULL, sw.opts.mig_lcore);
		if (ret != 0) {
			SW_LOG(ERR, "lcore %u: launch: %s", sw.opts.mig_lcore, rte_strerror(-ret));
			rte_pmd_vhook_migration_external(false);
			__atomic_store_n(&sw.force_quit, true, __ATOMIC_RELAXED);
		}
	}
	if (!__atomic_load_n(&sw.force_quit, __ATOMIC_RELAXED) && i == sw.nb_workers) {
		control_loop();
		status = SW_EXIT_OK;
	}
	rte_eal_mp_wait_lcore();
	/* Ports close after this: their held packets are handled by the driver. */
	if (sw.opts.mig_lcore_set)
		rte_pmd_vhook_migration_external(false);
	sw_ports_flush();
	sw_stats_log_final();
out:
	/* Each step accepts what was never set up. */
	sw_ports_close();
	sw_mac_free();
	if (pdump)
		rte_pdump_uninit();
	rte_eal_cleanup();
	return status;
}
