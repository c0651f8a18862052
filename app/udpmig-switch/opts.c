/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udpmig-switch options (the part of the command line after "--"). They
 * are parsed before EAL starts, so a usage error costs no EAL set-up and
 * needs no privileges. Every error is one line on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_string_fns.h>

#include <rte_pmd_vhook.h>

#include "switch.h"

#define DEF_MAC_AGING 300
#define DEF_BURST     32
#define MAX_AGING     (7u * 86400u)
#define MAX_INTERVAL  86400u

enum {
	O_UPLINK = 256,
	O_TUNNEL_IP,
	O_TUNNEL_DEV,
	O_TUNNEL_PORT,
	O_MAC_AGING,
	O_BURST,
	O_STATS_INTERVAL,
	O_CTL,
	O_MIG_LCORE,
	O_RXQ,
	O_HELP,
};

static const struct option long_opts[] = {
	{ "uplink", required_argument, NULL, O_UPLINK },
	{ "tunnel-ip", required_argument, NULL, O_TUNNEL_IP },
	{ "tunnel-port", required_argument, NULL, O_TUNNEL_PORT },
	{ "tunnel-dev", required_argument, NULL, O_TUNNEL_DEV },
	{ "mac-aging", required_argument, NULL, O_MAC_AGING },
	{ "burst", required_argument, NULL, O_BURST },
	{ "stats-interval", required_argument, NULL, O_STATS_INTERVAL },
	{ "ctl", required_argument, NULL, O_CTL },
	{ "migration-lcore", required_argument, NULL, O_MIG_LCORE },
	{ "rxq", required_argument, NULL, O_RXQ },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

void
sw_opts_usage(FILE *f)
{
	fprintf(f,
		"usage: " SW_PROG " [EAL options] -- [switch options]\n"
		"An L2 learning switch between an uplink ethdev and net_vhook VM ports.\n"
		"Every ethdev other than the uplink must be a net_vhook port\n"
		"(EAL --vdev net_vhookN,iface=SOCKET,...). The driver is linked in: no -d.\n"
		"Switch options:\n"
		"  --uplink NAME          ethdev name of the port toward the network, e.g.\n"
		"                         net_af_packet0 (required)\n"
		"  --tunnel-ip ADDR       local migration tunnel address, IPv4 or IPv6\n"
		"                         (default: none, no tunnel)\n"
		"  --tunnel-port N        tunnel UDP port, with --tunnel-ip (default %u)\n"
		"  --tunnel-dev NAME      ethdev that carries the tunnel instead of the uplink,\n"
		"                         with --tunnel-ip; it is not switched: what arrives\n"
		"                         on it that is not tunnel traffic is dropped and\n"
		"                         counted (default: the uplink carries the tunnel)\n"
		"  --mac-aging SEC        forget a MAC not seen for SEC seconds, 0..%u\n"
		"                         (default %u; 0: never)\n"
		"  --burst N              rx burst size, 1..%u (default %u)\n"
		"  --rxq N                rx queues per port, 1..%u, at most what the port has\n"
		"                         (default: the number of workers). The (port, rx queue)\n"
		"                         pairs are spread over the workers round robin; a port\n"
		"                         with several spreads flows by RSS (IP/UDP hash) where it\n"
		"                         can. A port that is not a vhost port and has a tx queue\n"
		"                         per worker gets one; any other port one tx queue\n"
		"                         (docs/switch.md)\n"
		"  --stats-interval SEC   print a one-line per-port summary on stdout every\n"
		"                         SEC seconds, 0..%u (default 0: never)\n"
		"  --ctl PATH             the control socket (udpmig-ctl -s PATH): added as\n"
		"                         ctl=PATH to every net_vhook vdev that has no ctl=\n"
		"                         (default: the driver's, /run/udpmig/<file-prefix>.ctl)\n"
		"  --migration-lcore ID   run the migration work (tunnel, acks, retransmission,\n"
		"                         injection, timeouts) on this EAL worker lcore, which\n"
		"                         then forwards nothing (default: the driver's control\n"
		"                         thread)\n"
		"  --help                 this text\n"
		"EAL: at least two lcores, the main one (control) and workers (forwarding),\n"
		"e.g. --lcores '0@(0,1),1@(0,1)'.\n"
		"Telemetry: " SW_TELEMETRY_CMD ". SIGINT/SIGTERM stop the switch.\n"
		"Exit status: 0 stopped by a signal, 1 runtime error, 2 usage error.\n",
		RTE_PMD_VHOOK_TUN_PORT, MAX_AGING, DEF_MAC_AGING, SW_BURST_MAX, DEF_BURST,
		SW_MAX_RXQ, MAX_INTERVAL);
}

static int usage_error(const char *fmt, ...) __rte_format_printf(1, 2);

/* One line on stderr: "udpmig-switch: <what>; see --help". */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, SW_PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see --help\n");
	return -EINVAL;
}

/* A decimal number in [min, max], the whole string. */
static int
parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
		return usage_error("%s: '%s' is not a number in %u..%u", opt, s, min, max);
	}
	*out = (uint32_t)v;
	return 0;
}

static void
opts_default(struct sw_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tun_port = RTE_PMD_VHOOK_TUN_PORT;
	o->mac_aging = DEF_MAC_AGING;
	o->burst = DEF_BURST;
}

/*
 * Parse the switch options; argv[0] is the program name. Returns 0, 1
 * when --help was printed, or -EINVAL after printing one line on stderr.
 */
int
sw_opts_parse(int argc, char **argv, struct sw_opts *o)
{
	uint32_t v;
	int c;

	opts_default(o);
	opterr = 0; /* our own one-line messages */
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		switch (c) {
		case O_UPLINK:
			if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o->uplink))
				return usage_error("--uplink: '%s' is not an ethdev name", optarg);
			rte_strscpy(o->uplink, optarg, sizeof(o->uplink));
			break;
		case O_TUNNEL_IP:
			if (inet_pton(AF_INET, optarg, o->tun_addr) == 1)
				o->tun_family = AF_INET;
			else if (inet_pton(AF_INET6, optarg, o->tun_addr) == 1)
				o->tun_family = AF_INET6;
			else
				return usage_error(
					"--tunnel-ip: '%s' is not an IPv4 or IPv6 address", optarg);
			o->tunnel = true;
			break;
		case O_TUNNEL_DEV:
			if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o->tunnel_dev))
				return usage_error(
					"--tunnel-dev: '%s' is not an ethdev name", optarg);
			rte_strscpy(o->tunnel_dev, optarg, sizeof(o->tunnel_dev));
			break;
		case O_TUNNEL_PORT:
			if (parse_u32("--tunnel-port", optarg, 1, UINT16_MAX, &v) != 0)
				return -EINVAL;
			o->tun_port = (uint16_t)v;
			o->tun_port_set = true;
			break;
		case O_MAC_AGING:
			if (parse_u32("--mac-aging", optarg, 0, MAX_AGING, &o->mac_aging) != 0)
				return -EINVAL;
			break;
		case O_BURST:
			if (parse_u32("--burst", optarg, 1, SW_BURST_MAX, &v) != 0)
				return -EINVAL;
			o->burst = (uint16_t)v;
			break;
		case O_STATS_INTERVAL:
			if (parse_u32("--stats-interval", optarg, 0, MAX_INTERVAL,
				    &o->stats_interval) != 0)
				return -EINVAL;
			break;
		case O_CTL:
			if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o->ctl) ||
				strchr(optarg, ',') != NULL)
				return usage_error(
					"--ctl: '%s' is not a socket path of 1..%zu bytes "
					"without ','",
					optarg, sizeof(o->ctl) - 1);
			rte_strscpy(o->ctl, optarg, sizeof(o->ctl));
			break;
		case O_MIG_LCORE:
			if (parse_u32("--migration-lcore", optarg, 1, RTE_MAX_LCORE - 1,
				    &o->mig_lcore) != 0)
				return -EINVAL;
			o->mig_lcore_set = true;
			break;
		case O_RXQ:
			if (parse_u32("--rxq", optarg, 1, SW_MAX_RXQ, &v) != 0)
				return -EINVAL;
			o->rxq = (uint16_t)v;
			break;
		case O_HELP:
			sw_opts_usage(stdout);
			return 1;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (o->uplink[0] == '\0')
		return usage_error("--uplink NAME is required (switch options go after --)");
	if (o->tun_port_set && !o->tunnel)
		return usage_error("--tunnel-port needs --tunnel-ip");
	if (o->tunnel_dev[0] != '\0' && !o->tunnel)
		return usage_error("--tunnel-dev needs --tunnel-ip");
	if (o->tunnel_dev[0] != '\0' && strcmp(o->tunnel_dev, o->uplink) == 0)
		return usage_error("--tunnel-dev %s is the uplink; leave it out to use the uplink",
			o->tunnel_dev);
	return 0;
}
