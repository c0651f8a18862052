/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-port counters: the sum over the workers' single-writer counters,
 * read without stopping them. Shown by --stats-interval, the final log
 * line and telemetry (SW_TELEMETRY_CMD).
 *
 * The telemetry thread may call in at any time, also during shutdown: it
 * reads only sw (static memory), never an ethdev.
 */
#include <inttypes.h>
#include <string.h>

#include <rte_telemetry.h>

#include "switch.h"

#define LINE_MAX_LEN 4096

/* The sum of port @port's counters over every worker. */
void
sw_stats_port(uint16_t port, struct sw_stats *sum)
{
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)sum;
	unsigned int w, i;

	memset(sum, 0, sizeof(*sum));
	for (w = 0; w < sw.nb_workers; w++) {
		src = (const uint64_t *)&sw.workers[w].stats[port];
		for (i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
			dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
}

/* Packets received on rx queue @qid of port @port (one worker polls it). */
uint64_t
sw_stats_rxq(uint16_t port, uint16_t qid)
{
	unsigned int w, r;

	for (w = 0; w < sw.nb_workers; w++)
		for (r = 0; r < sw.workers[w].nb_rxqs; r++)
			if (sw.workers[w].rxqs[r].idx == port && sw.workers[w].rxqs[r].qid == qid)
				return __atomic_load_n(
					&sw.workers[w].rxqs[r].pkts, __ATOMIC_RELAXED);
	return 0;
}

/* Every packet the switch dropped, counted on the port it concerns. */
uint64_t
sw_stats_drops(const struct sw_stats *s)
{
	return s->tx_drop + s->no_mbuf + s->filtered + s->tun_rx_drop;
}

const char *
sw_role_name(enum sw_role r)
{
	switch (r) {
	case SW_ROLE_UPLINK:
		return "uplink";
	case SW_ROLE_VM:
		return "vm";
	case SW_ROLE_TUNNEL:
		return "tunnel";
	}
	return "?";
}

/* "NAME ROLE rx=.. tx=.. drops=.. ..." for every port, " | " between. */
static void
stats_line(char *buf, size_t len)
{
	struct sw_stats s;
	size_t off = 0;
	uint16_t i, q;

	buf[0] = '\0';
	for (i = 0; i < sw.nb_all && off < len; i++) {
		sw_stats_port(i, &s);
		off += snprintf(buf + off, len - off,
			"%s%s %s rx=%" PRIu64 " tx=%" PRIu64 " drops=%" PRIu64 " tx_drop=%" PRIu64
			" flood=%" PRIu64 " unknown=%" PRIu64 " no_mbuf=%" PRIu64
			" filtered=%" PRIu64 " moved_tail=%" PRIu64,
			i ? " | " : "", sw.ports[i].name, sw_role_name(sw.ports[i].role), s.rx,
			s.tx, sw_stats_drops(&s), s.tx_drop, s.flood, s.unknown, s.no_mbuf,
			s.filtered, s.moved_tail);
		if (i == sw.tun_idx && sw.tunnel && off < len)
			off += snprintf(buf + off, len - off,
				" tun_rx=%" PRIu64 " tun_rx_drop=%" PRIu64 " tun_tx=%" PRIu64,
				s.tun_rx, s.tun_rx_drop, s.tun_tx);
		/* Several rx queues: what each one received, "rxq=a,b". */
		for (q = 0; sw.ports[i].nb_rxq > 1 && q < sw.ports[i].nb_rxq && off < len; q++)
			off += snprintf(buf + off, len - off, "%s%" PRIu64,
				q ? "," : " rxq=", sw_stats_rxq(i, q));
	}
}

static uint64_t
learn_drops(void)
{
	uint64_t n = 0;
	unsigned int w;

	for (w = 0; w < sw.nb_workers; w++)
		n += __atomic_load_n(&sw.workers[w].learn_drop, __ATOMIC_RELAXED);
	return n;
}

/* --stats-interval: one line on @f. */
void
sw_stats_print(FILE *f)
{
	char line[LINE_MAX_LEN];

	stats_line(line, sizeof(line));
	fprintf(f, "stats: t=%u macs=%u %s\n", sw.now, sw_mac_count(), line);
	fflush(f);
}

void
sw_stats_log_final(void)
{
	char line[LINE_MAX_LEN];

	stats_line(line, sizeof(line));
	SW_LOG(NOTICE, "stopped: %s; learn events dropped %" PRIu64 ", table full %" PRIu64, line,
		learn_drops(), sw_mac_learn_full());
}

/*
 * SW_TELEMETRY_CMD: {"NAME": {"name", "role", "port_id", "rx", "tx",
 * "drops", every counter, "rx_queues", "tx_queues", "tx_per_worker",
 * "rss_hf", and "rxqN_rx" for each rx queue N}, ...}
 */
static int
tel_ports(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	struct rte_tel_data *pd;
	struct sw_stats s;
	uint16_t i, q;

	rte_tel_data_start_dict(d);
	for (i = 0; i < sw.nb_all; i++) {
		pd = rte_tel_data_alloc();
		if (pd == NULL)
			return -ENOMEM;
		sw_stats_port(i, &s);
		rte_tel_data_start_dict(pd);
		rte_tel_data_add_dict_string(pd, "name", sw.ports[i].name);
		rte_tel_data_add_dict_string(pd, "role", sw_role_name(sw.ports[i].role));
		rte_tel_data_add_dict_u64(pd, "port_id", sw.ports[i].port_id);
		rte_tel_data_add_dict_u64(pd, "rx", s.rx);
		rte_tel_data_add_dict_u64(pd, "tx", s.tx);
		rte_tel_data_add_dict_u64(pd, "drops", sw_stats_drops(&s));
		rte_tel_data_add_dict_u64(pd, "tx_drop", s.tx_drop);
		rte_tel_data_add_dict_u64(pd, "flood", s.flood);
		rte_tel_data_add_dict_u64(pd, "unknown", s.unknown);
		rte_tel_data_add_dict_u64(pd, "no_mbuf", s.no_mbuf);
		rte_tel_data_add_dict_u64(pd, "filtered", s.filtered);
		rte_tel_data_add_dict_u64(pd, "moved_tail", s.moved_tail);
		if (i == sw.tun_idx && sw.tunnel) {
			rte_tel_data_add_dict_u64(pd, "tun_rx", s.tun_rx);
			rte_tel_data_add_dict_u64(pd, "tun_rx_drop", s.tun_rx_drop);
			rte_tel_data_add_dict_u64(pd, "tun_tx", s.tun_tx);
		}
		rte_tel_data_add_dict_u64(pd, "rx_queues", sw.ports[i].nb_rxq);
		rte_tel_data_add_dict_u64(pd, "tx_queues", sw.ports[i].nb_txq);
		rte_tel_data_add_dict_u64(pd, "tx_per_worker", sw.ports[i].txq_per_worker);
		rte_tel_data_add_dict_u64(pd, "rss_hf", sw.ports[i].rss ? sw.ports[i].rss_hf : 0);
		/* Flat keys: 22.11 telemetry nests containers one level only. */
		for (q = 0; q < sw.ports[i].nb_rxq; q++) {
			char key[16];

			snprintf(key, sizeof(key), "rxq%u_rx", q);
			rte_tel_data_add_dict_u64(pd, key, sw_stats_rxq(i, q));
		}
		if (rte_tel_data_add_dict_container(d, sw.ports[i].name, pd, 0) != 0) {
			rte_tel_data_free(pd);
			return -EINVAL;
		}
	}
	return 0;
}

int
sw_stats_telemetry_init(void)
{
	/* The help must fit RTE_TEL_MAX_STRING_LEN (128). */
	return rte_telemetry_register_cmd(SW_TELEMETRY_CMD, tel_ports,
		"Every switch port by name: role, port_id, rx, tx, drops, each counter, "
		"queues, rxqN_rx. No parameters.");
}
