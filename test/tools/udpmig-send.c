/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udpmig-send: the sender of the integration tests' test stream
 * (seqstream.h): seq 0, 1, 2, ... at a paced rate, each datagram stamped
 * with its send time.
 *
 *   udpmig-send [EAL args] -- [options]   Ethernet/IPv4/UDP frames on port 0
 *                                         (typically a virtio_user on a switch's
 *                                         vhost-user socket)
 *   udpmig-send --kernel -- [options]     a UDP socket (sendmmsg), no EAL
 *
 * Pacing is a token bucket on CLOCK_MONOTONIC (TSC-backed, and the clock
 * of the stamps): tokens accrue at --rate up to --bucket packets (default
 * 10 ms worth, at least one burst: enough to catch up after the scheduler
 * takes the CPU away, so 100 kpps stays 100.0 kpps with 4 poll-mode
 * processes on 2 cores, where 2 ms gave 94 kpps); a batch leaves once
 * about 100 us worth of tokens (at least 1, at most --burst) are there,
 * so the stream stays smooth at low rates. The sender never loses a packet it numbered: what
 * the port does not take is retried; only after 1 s without progress are
 * the rest counted as tx_dropped (and said so on stderr).
 *
 * Exit: 0 success, 1 runtime error, 2 usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_udp.h>

#include "seqstream.h"
#include "tool_util.h"

#define PROG          "udpmig-send"
#define BURST_MAX     64
#define SIZE_MAX_UDP  1472 /* UDP payload in a 1500-byte IPv4 MTU */
#define HDRS_LEN      (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))
#define NS_PER_SEC    1000000000u
#define NS_PER_US     1000u
#define STALL_NS      NS_PER_SEC /* retry this long without progress, then drop */
#define BATCH_SPAN_NS 100000u /* a batch carries about 100 us of packets */
#define GATES_MAX     4

struct sender {
	/* Options. */
	bool kernel;
	uint64_t rate, count, duration_ns, linger_ns, bucket;
	uint32_t size, stream, burst;
	uint16_t txd;
	struct rte_ether_addr src_mac, dst_mac;
	struct in_addr src_ip, dst_ip;
	uint16_t src_port, dst_port;
	bool src_ip_set, src_port_set;
	const char *report, *ready, *wait_file;
	struct {
		uint64_t seq; /* the packet that waits */
		const char *file; /* ... until this file exists */
	} gate[GATES_MAX];
	unsigned int n_gates, next_gate;

	/* Run (the only thread). */
	uint16_t port_id;
	struct rte_mempool *pool;
	bool port_open;
	int fd;
	uint8_t frame[HDRS_LEN + SIZE_MAX_UDP]; /* template; DPDK mode */
	uint8_t (*bufs)[SIZE_MAX_UDP]; /* kernel mode, one per burst slot */
	uint64_t seq, sent, tx_dropped, retries;
	uint64_t tokens, last_ns; /* token bucket, in packets * 1e9 */
	uint64_t t_start, t_end;
};

static volatile sig_atomic_t stop_req;

static void
on_signal(int sig)
{
	RTE_SET_USED(sig);
	stop_req = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [EAL args] -- [options]     send on DPDK port 0\n"
		"       " PROG " --kernel -- [options]       send with a UDP socket (no EAL)\n"
		"  --rate PPS             packets per second (default 10000)\n"
		"  --count N              send N packets, seq 0..N-1 (default 0: until --duration or SIGTERM)\n"
		"  --duration S           stop after S seconds\n"
		"  --size BYTES           UDP payload, %d..%d (default 64)\n"
		"  --stream ID            stream id in every packet (default 0)\n"
		"  --src-mac --dst-mac    default 02:00:00:00:00:01 -> 02:00:00:00:01:01\n"
		"  --src-ip --dst-ip      default 10.0.0.1 -> 10.0.0.2\n"
		"  --src-port --dst-port  default 5000 -> 5000\n"
		"  --burst N              at most N packets per tx burst (default 32, max %d)\n"
		"  --bucket N             token bucket depth in packets (default: 10 ms at --rate)\n"
		"  --report FILE          JSON report at exit: sent, tx_dropped, duration_s, rate_pps\n"
		"  --ready FILE           create FILE once the port (or socket) is ready\n"
		"  --wait-file FILE       start sending once FILE exists\n"
		"  --gate SEQ:FILE        send packet SEQ and later ones only once FILE exists\n"
		"                         (up to %d gates, SEQ increasing): paces a stream on\n"
		"                         a test's steps\n"
		"  --linger-ms MS         wait MS after the last packet before closing the port (default 100)\n"
		"  --txd N                tx descriptors (default 4096; virtio caps it at queue_size)\n"
		"  --help                 this text\n"
		"Exit status: 0 success, 1 runtime error, 2 usage error.\n",
		SEQSTREAM_HDR_LEN, SIZE_MAX_UDP, BURST_MAX, GATES_MAX);
}

static bool
parse_mac(const char *opt, const char *s, struct rte_ether_addr *mac)
{
	if (rte_ether_unformat_addr(s, mac) == 0)
		return true;
	fprintf(stderr, PROG ": --%s: '%s' is not a MAC address\n", opt, s);
	return false;
}

static bool
parse_ip(const char *opt, const char *s, struct in_addr *ip)
{
	if (inet_pton(AF_INET, s, ip) == 1)
		return true;
	fprintf(stderr, PROG ": --%s: '%s' is not an IPv4 address\n", opt, s);
	return false;
}

/* --gate SEQ:FILE, after the gates already given. */
static bool
parse_gate(struct sender *s, const char *opt, char *arg)
{
	char *colon = strchr(arg, ':');
	uint64_t seq;

	if (colon == NULL || colon[1] == '\0') {
		fprintf(stderr, PROG ": --%s: '%s' is not SEQ:FILE\n", opt, arg);
		return false;
	}
	if (s->n_gates == GATES_MAX) {
		fprintf(stderr, PROG ": --%s: at most %d gates\n", opt, GATES_MAX);
		return false;
	}
	*colon = '\0';
	if (!tool_parse_u64(PROG, opt, arg, 1, UINT64_MAX / 2, &seq))
		return false;
	if (s->n_gates > 0 && seq <= s->gate[s->n_gates - 1].seq) {
		fprintf(stderr,
			PROG ": --%s: %" PRIu64 " is not after the previous gate's %" PRIu64 "\n",
			opt, seq, s->gate[s->n_gates - 1].seq);
		return false;
	}
	s->gate[s->n_gates].seq = seq;
	s->gate[s->n_gates].file = colon + 1;
	s->n_gates++;
	return true;
}

/* Returns 0, 2 for a usage error, or -1 after --help. */
static int
parse_args(struct sender *s, int argc, char **argv)
{
	enum {
		O_RATE = 256,
		O_COUNT,
		O_DURATION,
		O_SIZE,
		O_STREAM,
		O_SRC_MAC,
		O_DST_MAC,
		O_SRC_IP,
		O_DST_IP,
		O_SRC_PORT,
		O_DST_PORT,
		O_BURST,
		O_BUCKET,
		O_REPORT,
		O_READY,
		O_WAIT,
		O_GATE,
		O_LINGER,
		O_TXD,
		O_KERNEL
	};
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, O_RATE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "size", required_argument, NULL, O_SIZE },
		{ "stream", required_argument, NULL, O_STREAM },
		{ "src-mac", required_argument, NULL, O_SRC_MAC },
		{ "dst-mac", required_argument, NULL, O_DST_MAC },
		{ "src-ip", required_argument, NULL, O_SRC_IP },
		{ "dst-ip", required_argument, NULL, O_DST_IP },
		{ "src-port", required_argument, NULL, O_SRC_PORT },
		{ "dst-port", required_argument, NULL, O_DST_PORT },
		{ "burst", required_argument, NULL, O_BURST },
		{ "bucket", required_argument, NULL, O_BUCKET },
		{ "report", required_argument, NULL, O_REPORT },
		{ "ready", required_argument, NULL, O_READY },
		{ "wait-file", required_argument, NULL, O_WAIT },
		{ "gate", required_argument, NULL, O_GATE },
		{ "linger-ms", required_argument, NULL, O_LINGER },
		{ "txd", required_argument, NULL, O_TXD },
		{ "kernel", no_argument, NULL, O_KERNEL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v = 0;
	bool ok = true;
	int c;

	opterr = 0;
	optind = 1;
	while (ok && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *name = c >= O_RATE ? opts[c - O_RATE].name : "";

		switch (c) {
		case O_RATE:
			ok = tool_parse_u64(PROG, name, optarg, 1, 100000000, &s->rate);
			break;
		case O_COUNT:
			ok = tool_parse_u64(PROG, name, optarg, 0, UINT64_MAX / 2, &s->count);
			break;
		case O_DURATION:
			ok = tool_parse_seconds(PROG, name, optarg, &s->duration_ns);
			break;
		case O_SIZE:
			ok = tool_parse_u64(
				PROG, name, optarg, SEQSTREAM_HDR_LEN, SIZE_MAX_UDP, &v);
			s->size = (uint32_t)v;
			break;
		case O_STREAM:
			ok = tool_parse_u64(PROG, name, optarg, 0, UINT32_MAX, &v);
			s->stream = (uint32_t)v;
			break;
		case O_SRC_MAC:
			ok = parse_mac(name, optarg, &s->src_mac);
			break;
		case O_DST_MAC:
			ok = parse_mac(name, optarg, &s->dst_mac);
			break;
		case O_SRC_IP:
			ok = parse_ip(name, optarg, &s->src_ip);
			s->src_ip_set = true;
			break;
		case O_DST_IP:
			ok = parse_ip(name, optarg, &s->dst_ip);
			break;
		case O_SRC_PORT:
		case O_DST_PORT:
			ok = tool_parse_u64(PROG, name, optarg, 1, UINT16_MAX, &v);
			if (c == O_SRC_PORT) {
				s->src_port = (uint16_t)v;
				s->src_port_set = true;
			} else {
				s->dst_port = (uint16_t)v;
			}
			break;
		case O_BURST:
			ok = tool_parse_u64(PROG, name, optarg, 1, BURST_MAX, &v);
			s->burst = (uint32_t)v;
			break;
		case O_BUCKET:
			ok = tool_parse_u64(PROG, name, optarg, 1, 1000000, &s->bucket);
			break;
		case O_REPORT:
			s->report = optarg;
			break;
		case O_READY:
			s->ready = optarg;
			break;
		case O_WAIT:
			s->wait_file = optarg;
			break;
		case O_GATE:
			ok = parse_gate(s, name, optarg);
			break;
		case O_LINGER:
			ok = tool_parse_u64(PROG, name, optarg, 0, 600000, &v);
			s->linger_ns = v * 1000000u;
			break;
		case O_TXD:
			ok = tool_parse_u64(PROG, name, optarg, 64, 32768, &v);
			s->txd = (uint16_t)v;
			break;
		case O_KERNEL:
			s->kernel = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			fprintf(stderr, PROG ": %s needs a value (see --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (!ok)
		return 2;
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	if (s->bucket == 0)
		s->bucket = RTE_MAX((uint64_t)s->burst, s->rate / 100);
	return 0;
}

/* Ethernet/IPv4/UDP headers and a zero-padded payload; IPv4 checksum set. */
static void
build_template(struct sender *s)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)s->frame;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(s->frame, 0, sizeof(s->frame));
	eth->src_addr = s->src_mac;
	eth->dst_addr = s->dst_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + s->size));
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = s->src_ip.s_addr;
	ip->dst_addr = s->dst_ip.s_addr;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(s->src_port);
	udp->dst_port = rte_cpu_to_be_16(s->dst_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + s->size));
	seqstream_write(udp + 1, s->stream, 0, 0);
}

/* Packets the bucket allows now (refills it first). */
static uint64_t
bucket_take(struct sender *s, uint64_t now)
{
	uint64_t dt = now - s->last_ns, cap = s->bucket * NS_PER_SEC;

	if (dt > NS_PER_SEC)
		dt = NS_PER_SEC;
	s->tokens += dt * s->rate;
	if (s->tokens > cap)
		s->tokens = cap;
	s->last_ns = now;
	return s->tokens / NS_PER_SEC;
}

/* DPDK mode: hand n numbered packets to the port; retries, never drops before STALL_NS. */
static int
send_dpdk(struct sender *s, uint32_t n)
{
	const uint32_t len = (uint32_t)HDRS_LEN + s->size;
	struct rte_mbuf *pkts[BURST_MAX];
	uint64_t now, stall_since = 0;
	uint32_t i, done = 0;

	while (rte_pktmbuf_alloc_bulk(s->pool, pkts, n) != 0) {
		/* The tx ring holds them all: the port is not draining. */
		now = seqstream_now_ns();
		if (stall_since == 0)
			stall_since = now;
		else if (now - stall_since > STALL_NS) {
			fprintf(stderr, PROG ": no free mbuf for 1 s\n");
			return -ENOBUFS;
		}
		s->retries++;
		rte_eth_tx_burst(s->port_id, 0, NULL, 0);
		tool_sleep_ns(10 * NS_PER_US);
	}
	now = seqstream_now_ns();
	for (i = 0; i < n; i++) {
		uint8_t *p = rte_pktmbuf_mtod(pkts[i], uint8_t *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

		memcpy(p, s->frame, len);
		seqstream_stamp(udp + 1, s->seq + i, now);
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
		pkts[i]->data_len = (uint16_t)len;
		pkts[i]->pkt_len = len;
	}
	s->seq += n;
	stall_since = 0;
	for (;;) {
		uint16_t k = rte_eth_tx_burst(s->port_id, 0, pkts + done, (uint16_t)(n - done));

		done += k;
		if (done == n)
			break;
		now = seqstream_now_ns();
		if (k != 0 || stall_since == 0)
			stall_since = now;
		if (now - stall_since > STALL_NS) {
			fprintf(stderr,
				PROG
				": port took nothing for 1 s: %u packets counted as tx_dropped\n",
				n - done);
			s->tx_dropped += n - done;
			rte_pktmbuf_free_bulk(pkts + done, n - done);
			break;
		}
		/* The switch is not draining: give it the CPU rather than spin. */
		if (++s->retries % 8 == 0)
			tool_sleep_ns(20 * NS_PER_US);
		else
			rte_pause();
	}
	s->sent += done;
	return 0;
}

/* Kernel mode: sendmmsg n datagrams; partial sends and ENOBUFS are retried. */
static int
send_kernel(struct sender *s, uint32_t n)
{
	struct mmsghdr msgs[BURST_MAX];
	struct iovec iov[BURST_MAX];
	uint64_t now = seqstream_now_ns(), stall_since = 0;
	uint32_t i, done = 0;

	memset(msgs, 0, sizeof(msgs[0]) * n);
	for (i = 0; i < n; i++) {
		seqstream_stamp(s->bufs[i], s->seq + i, now);
		iov[i].iov_base = s->bufs[i];
		iov[i].iov_len = s->size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	s->seq += n;
	while (done < n) {
		int k = sendmmsg(s->fd, msgs + done, n - done, 0);

		if (k < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR &&
			errno != ECONNREFUSED) {
			fprintf(stderr, PROG ": sendmmsg: %s\n", strerror(errno));
			s->tx_dropped += n - done;
			return -errno;
		}
		now = seqstream_now_ns();
		if (k > 0) {
			done += (uint32_t)k;
			stall_since = 0;
			continue;
		}
		if (stall_since == 0)
			stall_since = now;
		if (now - stall_since > STALL_NS) {
			fprintf(stderr,
				PROG
				": socket took nothing for 1 s: %u packets counted as tx_dropped\n",
				n - done);
			s->tx_dropped += n - done;
			break;
		}
		s->retries++;
		tool_sleep_ns(10 * NS_PER_US);
	}
	s->sent += done;
	return 0;
}

static int
wait_for_file(const char *path)
{
	struct stat st;

	while (stat(path, &st) != 0) {
		if (stop_req)
			return -EINTR;
		tool_sleep_ns(1000 * NS_PER_US);
	}
	return 0;
}

/*
 * Packets that may leave before the next gate (or the end of --count);
 * waits at a gate until its file exists, then restarts the pacing there:
 * the stream goes on at --rate, with no burst for the time it waited.
 */
static int
gate_room(struct sender *s, uint64_t batch, uint64_t *left)
{
	int ret;

	*left = s->count != 0 ? s->count - s->seq : UINT64_MAX;
	while (s->next_gate < s->n_gates) {
		if (s->gate[s->next_gate].seq > s->seq) {
			*left = RTE_MIN(*left, s->gate[s->next_gate].seq - s->seq);
			break;
		}
		ret = wait_for_file(s->gate[s->next_gate].file);
		if (ret != 0)
			return ret;
		s->next_gate++;
		s->last_ns = seqstream_now_ns();
		s->tokens = batch * NS_PER_SEC;
	}
	return 0;
}

/* Paced send loop. */
static int
run(struct sender *s)
{
	uint64_t batch =
		RTE_MIN((uint64_t)s->burst, RTE_MAX(1u, s->rate * BATCH_SPAN_NS / NS_PER_SEC));
	uint64_t now, avail, n, left, loops = 0;
	int ret = 0;

	batch = RTE_MIN(batch, s->bucket);
	s->t_start = s->last_ns = seqstream_now_ns();
	s->tokens = batch * NS_PER_SEC; /* the first batch leaves at once */
	while (!stop_req && (s->count == 0 || s->seq < s->count)) {
		ret = gate_room(s, batch, &left);
		if (ret != 0)
			break;
		now = seqstream_now_ns();
		if (s->duration_ns != 0 && now - s->t_start >= s->duration_ns)
			break;
		avail = bucket_take(s, now);
		n = RTE_MIN(RTE_MIN(avail, (uint64_t)s->burst), left);
		if (n < batch && n < left) {
			/* Sleep until the batch is there, minus a little for the wake-up. */
			uint64_t wait = (batch * NS_PER_SEC - s->tokens) / s->rate;

			if (wait > 30 * NS_PER_US)
				tool_sleep_ns(wait - 20 * NS_PER_US);
			else
				rte_pause();
			continue;
		}
		s->tokens -= n * NS_PER_SEC;
		ret = s->kernel ? send_kernel(s, (uint32_t)n) : send_dpdk(s, (uint32_t)n);
		if (ret != 0)
			break;
		/* Drop whatever the port receives (nothing is expected). */
		if (!s->kernel && (++loops & 1023) == 0) {
			struct rte_mbuf *rx[BURST_MAX];
			uint16_t k = rte_eth_rx_burst(s->port_id, 0, rx, BURST_MAX);

			rte_pktmbuf_free_bulk(rx, k);
		}
	}
	s->t_end = seqstream_now_ns();
	return ret;
}

static int
setup_dpdk(struct sender *s)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_link link;
	uint16_t rxd = 256, txd = s->txd, p;
	uint64_t t0;
	unsigned int n;
	int ret;

	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr,
			PROG ": no ethdev port: give EAL a --vdev (e.g. virtio_user0,path=SOCK)\n");
		return -ENODEV;
	}
	RTE_ETH_FOREACH_DEV (p) {
		s->port_id = p;
		break;
	}
	n = rte_align32pow2((uint32_t)txd + rxd + 4u * BURST_MAX + 512u) - 1;
	s->pool = rte_pktmbuf_pool_create(
		"send_pool", n, 128, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (s->pool == NULL) {
		fprintf(stderr, PROG ": mbuf pool of %u: %s\n", n, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	ret = rte_eth_dev_configure(s->port_id, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(s->port_id, &rxd, &txd);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(
			s->port_id, 0, rxd, rte_eth_dev_socket_id(s->port_id), NULL, s->pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(
			s->port_id, 0, txd, rte_eth_dev_socket_id(s->port_id), NULL);
	if (ret == 0)
		ret = rte_eth_dev_start(s->port_id);
	if (ret != 0) {
		fprintf(stderr, PROG ": port %u setup: %s\n", s->port_id, rte_strerror(-ret));
		return ret;
	}
	s->port_open = true;
	t0 = seqstream_now_ns();
	for (;;) {
		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(s->port_id, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			break;
		if (stop_req)
			return -EINTR;
		if (seqstream_now_ns() - t0 > 30ull * NS_PER_SEC) {
			fprintf(stderr, PROG ": port %u: link still down after 30 s\n", s->port_id);
			return -ETIMEDOUT;
		}
		tool_sleep_ns(10 * 1000 * NS_PER_US);
	}
	build_template(s);
	return 0;
}

static int
setup_kernel(struct sender *s)
{
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	uint32_t i;

	s->bufs = calloc(BURST_MAX, sizeof(*s->bufs));
	if (s->bufs == NULL)
		return -ENOMEM;
	for (i = 0; i < BURST_MAX; i++)
		seqstream_write(s->bufs[i], s->stream, 0, 0);
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto fail;
	if (s->src_ip_set || s->src_port_set) {
		src.sin_addr = s->src_ip_set ? s->src_ip : (struct in_addr){ INADDR_ANY };
		src.sin_port = htons(s->src_port_set ? s->src_port : 0);
		if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) != 0)
			goto fail;
	}
	dst.sin_addr = s->dst_ip;
	dst.sin_port = htons(s->dst_port);
	if (connect(s->fd, (struct sockaddr *)&dst, sizeof(dst)) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, PROG ": socket to %s:%u: %s\n", inet_ntoa(s->dst_ip), s->dst_port,
		strerror(errno));
	return -errno;
}

static int
write_report(const struct sender *s)
{
	double secs = (double)(s->t_end - s->t_start) / 1e9;
	char tmp[4096];
	FILE *f;
	bool ok;

	if (s->report == NULL)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", s->report) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	ok = fprintf(f,
		     "{\"mode\": \"%s\", \"sent\": %" PRIu64 ", \"tx_dropped\": %" PRIu64
		     ", \"tx_retries\": %" PRIu64 ", \"numbered\": %" PRIu64
		     ", \"duration_s\": %.6f, \"rate_pps\": %.1f, \"target_pps\": %" PRIu64
		     ", \"stream\": %u, \"size\": %u, \"burst\": %u, \"first_tx_ns\": %" PRIu64
		     ", \"last_tx_ns\": %" PRIu64 "}\n",
		     s->kernel ? "kernel" : "dpdk", s->sent, s->tx_dropped, s->retries, s->seq,
		     secs, secs > 0 ? (double)s->sent / secs : 0.0, s->rate, s->stream, s->size,
		     s->burst, s->t_start, s->t_end) > 0;
	if (fclose(f) != 0 || !ok) {
		unlink(tmp);
		return -EIO;
	}
	return rename(tmp, s->report) == 0 ? 0 : -errno;
}

int
main(int argc, char **argv)
{
	struct sender s = {
		.rate = 10000,
		.size = 64,
		.burst = 32,
		.txd = 4096,
		.linger_ns = 100000000,
		.src_mac = { .addr_bytes = { 0x02, 0, 0, 0, 0, 0x01 } },
		.dst_mac = { .addr_bytes = { 0x02, 0, 0, 0, 0x01, 0x01 } },
		.src_port = 5000,
		.dst_port = 5000,
		.fd = -1,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int eal_argc = argc, ret, rc = 0, i;
	bool eal = false;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			eal_argc = i;
			break;
		}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	inet_pton(AF_INET, "10.0.0.1", &s.src_ip);
	inet_pton(AF_INET, "10.0.0.2", &s.dst_ip);
	if (eal_argc >= 2 && strcmp(argv[1], "--kernel") == 0)
		s.kernel = true;
	if (eal_argc < argc) {
		ret = parse_args(&s, argc - eal_argc, argv + eal_argc);
		if (ret != 0)
			return ret < 0 ? 0 : ret;
	} else if ((ret = parse_args(&s, 1, argv)) != 0) {
		return ret;
	}
	if (s.kernel && eal_argc > 1 + (strcmp(argv[1], "--kernel") == 0)) {
		fprintf(stderr, PROG ": --kernel takes no EAL arguments (got '%s')\n",
			argv[1 + (strcmp(argv[1], "--kernel") == 0)]);
		return 2;
	}
	if (!s.kernel) {
		ret = rte_eal_init(eal_argc, argv);
		if (ret < 0) {
			fprintf(stderr, PROG ": EAL init failed: %s\n", rte_strerror(rte_errno));
			return 1;
		}
		eal = true;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

	ret = s.kernel ? setup_kernel(&s) : setup_dpdk(&s);
	if (ret == 0 && s.ready != NULL && (ret = tool_touch(s.ready)) != 0)
		fprintf(stderr, PROG ": --ready %s: %s\n", s.ready, strerror(-ret));
	if (ret == 0 && s.wait_file != NULL)
		ret = wait_for_file(s.wait_file);
	if (ret == 0)
		ret = run(&s);
	else
		s.t_start = s.t_end = seqstream_now_ns();
	if (ret != 0 && ret != -EINTR)
		rc = 1;
	/* Let the switch drain the tx ring before the port (and its memory) goes. */
	if (s.port_open && s.sent != 0)
		tool_sleep_ns(s.linger_ns);
	if ((ret = write_report(&s)) != 0) {
		fprintf(stderr, PROG ": --report %s: %s\n", s.report, strerror(-ret));
		rc = 1;
	}
	printf(PROG ": sent %" PRIu64 " tx_dropped %" PRIu64 " retries %" PRIu64
		    " in %.3f s (%.0f pps)\n",
		s.sent, s.tx_dropped, s.retries, (double)(s.t_end - s.t_start) / 1e9,
		s.t_end > s.t_start ? (double)s.sent * 1e9 / (double)(s.t_end - s.t_start) : 0.0);
	fflush(stdout);
	if (s.port_open) {
		rte_eth_dev_stop(s.port_id);
		rte_eth_dev_close(s.port_id);
	}
	if (s.fd >= 0)
		close(s.fd);
	free(s.bufs);
	if (eal)
		rte_eal_cleanup();
	return rc;
}
