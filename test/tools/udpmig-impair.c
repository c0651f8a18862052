/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udpmig-impair: a userspace stand-in for tc netem (this kernel has no
 * sch_netem). It relays every Ethernet frame between two interfaces
 * through AF_PACKET sockets and impairs it on the way, per frame and per
 * direction, with a seeded PRNG (so a run is reproducible):
 *
 *   udpmig-impair --a IFACE --b IFACE [--loss PCT] [--dup PCT]
 *                 [--reorder PCT] [--delay MS] [--seed N] [--udp-port N]
 *                 [--limit N] [--stats-file PATH]
 *
 * netem semantics: dup is drawn, then loss (a frame picked for both goes
 * out once); with --delay every frame is held MS ms, except that with
 * --reorder PCT a frame goes out at once with probability PCT, overtaking
 * the held ones ("tc netem delay 10ms reorder 25%"). The delay is the
 * same for every frame, so each direction's queue of held frames is a
 * FIFO ordered by due time (CLOCK_MONOTONIC, ns); due frames move to a
 * FIFO of frames ready to go, which is sent with sendmmsg().
 *
 * Frames are read from a TPACKET_V2 receive ring: no syscall per frame on
 * the relay's side, and a frame is visible as soon as it is in (unlike
 * TPACKET_V3, whose blocks wait for a timer when traffic is light).
 *
 * The sockets use PACKET_VNET_HDR: a frame the sender's stack left for
 * checksum offload (CHECKSUM_PARTIAL on a veth) comes with its
 * virtio_net_hdr, which is handed back on transmit, so its checksum is
 * still completed downstream (without it, such a frame would reach the
 * far side with a bad checksum unless tx offload were turned off there).
 * A VLAN tag the kernel took into metadata (tp_vlan_tci) is put back.
 *
 * Exit: 0 after SIGINT/SIGTERM, 1 runtime error, 2 usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg, ppoll */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#define PROG          "udpmig-impair"
#define MAX_FRAME     9216 /* longest frame relayed; longer ones are "truncated" */
#define VLAN_HLEN     4
#define VNET_LEN      ((uint32_t)sizeof(struct virtio_net_hdr))
#define RX_BUDGET     256 /* frames read per ring before sending */
#define RING_FRAME    TPACKET_ALIGN(128 + MAX_FRAME) /* tpacket2_hdr, sll, vnet hdr, frame */
#define RING_BLOCK    (1U << 17)
#define RING_FPB      (RING_BLOCK / RING_FRAME) /* frames per block; none spans two */
#define RING_FRAMES   2048 /* about 10 ms at 200 kpps; 18 MiB per interface */
#define TX_BATCH      64
#define SMALL_CAP     2048 /* slot classes: most frames fit a small one */
#define LARGE_CAP     (VNET_LEN + MAX_FRAME + VLAN_HLEN)
#define FREE_KEEP     4096 /* free slots kept per class for reuse */
#define SOCK_BUF      (4 << 20) /* send buffer */
#define RETRY_NS      100000ULL /* after ENOBUFS, send again in 100 us */
#define TICK_NS       1000000000ULL
#define NS_PER_MS     1000000ULL
#define DEFAULT_LIMIT 100000
#define MAX_LIMIT     10000000
#define MAX_DELAY_MS  3600000.0

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef TP_STATUS_VLAN_TPID_VALID
#define TP_STATUS_VLAN_TPID_VALID (1 << 6)
#endif

/* A frame held by the relay: data is the virtio_net_hdr, then the frame. */
struct slot {
	struct slot *next;
	uint64_t due; /* CLOCK_MONOTONIC ns */
	uint32_t len;
	uint32_t cap;
	unsigned char data[];
};

struct fifo {
	struct slot *head;
	struct slot *tail;
	uint32_t n;
};

struct counters {
	uint64_t rx;
	uint64_t tx;
	uint64_t lost;
	uint64_t duplicated;
	uint64_t reordered;
	uint64_t delayed;
	uint64_t passed;
	uint64_t overflow;
	uint64_t truncated;
	uint64_t tx_errors;
	uint64_t sock_drops;
};

/* A TPACKET_V2 receive ring, read in the kernel's order. */
struct ring {
	unsigned char *map;
	size_t map_len;
	uint32_t frame_nr;
	uint32_t next;
};

/* One direction: frames read from in_fd are impaired, then sent on out_fd. */
struct dir {
	const char *name;
	int in_fd;
	int out_fd;
	struct ring rx;
	uint64_t rng;
	struct fifo delay; /* held for --delay, in due order */
	struct fifo ready; /* to send now, in order */
	bool want_pollout; /* EAGAIN: wait for POLLOUT on out_fd */
	uint64_t retry_ns; /* ENOBUFS: send again at this time */
	struct counters c;
};

struct config {
	const char *if_a;
	const char *if_b;
	double loss; /* probabilities, 0..1 */
	double dup;
	double reorder;
	double delay_ms;
	uint64_t delay_ns;
	uint64_t seed;
	int udp_port; /* 0: impair every frame */
	uint32_t limit;
	const char *stats_file;
};

static struct config cfg = {
	.seed = 1,
	.limit = DEFAULT_LIMIT,
};

static volatile sig_atomic_t stop_requested;

static struct slot *free_small;
static struct slot *free_large;
static uint32_t nfree_small;
static uint32_t nfree_large;

/* One line on stderr, "udpmig-impair: <what><tail>", and exit @code. */
static void __attribute__((format(printf, 3, 0), noreturn))
vdie(int code, const char *tail, const char *fmt, va_list ap)
{
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
	exit(code);
}

/* A bad option or value: exit 2. */
static void __attribute__((format(printf, 1, 2), noreturn)) usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(2, "; see --help\n", fmt, ap);
}

/* A runtime error: exit 1. */
static void __attribute__((format(printf, 1, 2), noreturn)) fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(1, "\n", fmt, ap);
}

static void
usage(void)
{
	fputs("Usage: " PROG " --a IFACE --b IFACE [OPTION]...\n"
	      "Relay every Ethernet frame between two interfaces (AF_PACKET, promiscuous)\n"
	      "and impair it on the way like tc netem, which this stands in for. Each\n"
	      "direction is impaired on its own; every decision is drawn per frame from a\n"
	      "seeded PRNG, so a run is reproducible.\n"
	      "\n"
	      "  --a IFACE          first interface (frames read on it are \"a_to_b\")\n"
	      "  --b IFACE          second interface (frames read on it are \"b_to_a\")\n"
	      "  --loss PCT         drop a frame with probability PCT% (default 0)\n"
	      "  --dup PCT          send a frame twice with probability PCT% (default 0);\n"
	      "                     as in netem, a frame picked for both dup and loss goes\n"
	      "                     out once; the copy is delayed like the original\n"
	      "  --delay MS         hold every frame MS milliseconds before sending it\n"
	      "                     (decimals allowed; default 0)\n"
	      "  --reorder PCT      with --delay: send a frame at once with probability\n"
	      "                     PCT%, ahead of the held ones, as \"tc netem delay MS\n"
	      "                     reorder PCT%\" does (default 0; no effect without --delay)\n"
	      "  --seed N           PRNG seed, 0 to 2^64-1 (default 1)\n"
	      "  --udp-port N       impair only untagged IPv4/IPv6 UDP frames from or to\n"
	      "                     port N (non-first IP fragments do not match); relay\n"
	      "                     every other frame at once, unimpaired (\"passed\")\n"
	      "  --limit N          most frames held per direction, delayed or waiting to\n"
	      "                     be sent (default 100000); beyond it a frame is\n"
	      "                     dropped (\"overflow\")\n"
	      "  --stats-file PATH  write the counters as JSON to PATH every second and\n"
	      "                     on exit (written to PATH.tmp, then renamed)\n"
	      "  -h, --help         print this help and exit\n"
	      "\n"
	      "PCT is a percentage from 0 to 100, decimals allowed (0.5), optionally with\n"
	      "a trailing %. Frames longer than 9216 bytes are dropped (\"truncated\"): a TCP\n"
	      "sender on a veth hands over GSO frames of up to 64 KiB, so cap them at the\n"
	      "endpoints (ip link set DEV gso_max_size 9000). Smaller GSO and checksum-offload\n"
	      "frames are relayed with their virtio_net_hdr, so offloads may stay on.\n"
	      "The relay prints \"" PROG ": relaying A <-> B (...)\" on stderr when ready.\n"
	      "On SIGINT or SIGTERM it stops and prints one JSON line on stdout,\n"
	      "  {\"a_to_b\":{...},\"b_to_a\":{...},\"total\":{...}}\n"
	      "each with the counters rx, tx (copies included), lost, duplicated,\n"
	      "reordered (sent early), delayed, passed, overflow, truncated, tx_errors,\n"
	      "sock_drops (dropped by the kernel: the relay's receive ring was full) and\n"
	      "queued (held at that moment; on exit these are discarded, as netem would).\n"
	      "A frame the output refuses with EAGAIN or ENOBUFS is kept and sent again.\n"
	      "Needs CAP_NET_RAW. Exit status: 0 after a signal, 1 runtime error (missing\n"
	      "interface, socket error), 2 usage error.\n",
		stdout);
}

/* --- option parsing ----------------------------------------------------- */

static double
parse_decimal(const char *opt, const char *s, double max, bool pct)
{
	char *end;
	double v;

	if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
		goto bad;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v))
		goto bad;
	if (pct && *end == '%')
		end++;
	if (*end != '\0' || v < 0 || v > max)
		goto bad;
	return v;
bad:
	if (pct)
		usage_error("%s: '%s' is not a percentage from 0 to 100", opt, s);
	usage_error("%s: '%s' is not a number from 0 to %.0f", opt, s, max);
}

static uint64_t
parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	if (!(s[0] >= '0' && s[0] <= '9'))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	return v;
bad:
	usage_error("%s: '%s' is not an integer from %" PRIu64 " to %" PRIu64, opt, s, min, max);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "a", required_argument, NULL, 'A' },
		{ "b", required_argument, NULL, 'B' },
		{ "loss", required_argument, NULL, 'l' },
		{ "dup", required_argument, NULL, 'd' },
		{ "reorder", required_argument, NULL, 'r' },
		{ "delay", required_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, 's' },
		{ "udp-port", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'L' },
		{ "stats-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'A':
			cfg.if_a = optarg;
			break;
		case 'B':
			cfg.if_b = optarg;
			break;
		case 'l':
			cfg.loss = parse_decimal("--loss", optarg, 100, true) / 100;
			break;
		case 'd':
			cfg.dup = parse_decimal("--dup", optarg, 100, true) / 100;
			break;
		case 'r':
			cfg.reorder = parse_decimal("--reorder", optarg, 100, true) / 100;
			break;
		case 'D':
			cfg.delay_ms = parse_decimal("--delay", optarg, MAX_DELAY_MS, false);
			cfg.delay_ns = (uint64_t)(cfg.delay_ms * NS_PER_MS + 0.5);
			break;
		case 's':
			cfg.seed = parse_uint("--seed", optarg, 0, UINT64_MAX);
			break;
		case 'p':
			cfg.udp_port = (int)parse_uint("--udp-port", optarg, 1, 65535);
			break;
		case 'L':
			cfg.limit = (uint32_t)parse_uint("--limit", optarg, 1, MAX_LIMIT);
			break;
		case 'f':
			if (optarg[0] == '\0' || strlen(optarg) + 5 > PATH_MAX)
				usage_error("--stats-file: bad path '%s'", optarg);
			cfg.stats_file = optarg;
			break;
		case 'h':
			usage();
			exit(0);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt != 0)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg.if_a == NULL || cfg.if_b == NULL)
		usage_error("--a and --b are required");
	if (strcmp(cfg.if_a, cfg.if_b) == 0)
		usage_error("--a and --b must be different interfaces");
}

/* --- PRNG: xorshift64*, seeded through splitmix64 ----------------------- */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* true with probability p (0..1); draws nothing when p is 0 */
static bool
chance(uint64_t *s, double p)
{
	uint64_t x = *s;

	if (p <= 0)
		return false;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) * 0x1.0p-53 < p;
}

/* --- frame slots and queues --------------------------------------------- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct slot *
slot_get(uint32_t len)
{
	struct slot **list = len <= SMALL_CAP ? &free_small : &free_large;
	uint32_t *nfree = len <= SMALL_CAP ? &nfree_small : &nfree_large;
	uint32_t cap = len <= SMALL_CAP ? SMALL_CAP : LARGE_CAP;
	struct slot *s = *list;

	if (s != NULL) {
		*list = s->next;
		(*nfree)--;
		return s;
	}
	s = malloc(sizeof(*s) + cap);
	if (s != NULL)
		s->cap = cap;
	return s;
}

static void
slot_put(struct slot *s)
{
	struct slot **list = s->cap == SMALL_CAP ? &free_small : &free_large;
	uint32_t *nfree = s->cap == SMALL_CAP ? &nfree_small : &nfree_large;

	if (*nfree >= FREE_KEEP) {
		free(s);
		return;
	}
	s->next = *list;
	*list = s;
	(*nfree)++;
}

static void
fifo_push(struct fifo *q, struct slot *s)
{
	s->next = NULL;
	if (q->tail != NULL)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
	q->n++;
}

static struct slot *
fifo_pop(struct fifo *q)
{
	struct slot *s = q->head;

	q->head = s->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	return s;
}

/* Move the held frames that are due to the end of the ready queue. */
static void
promote(struct dir *d, uint64_t now)
{
	while (d->delay.head != NULL && d->delay.head->due <= now)
		fifo_push(&d->ready, fifo_pop(&d->delay));
}

/* --- classification ----------------------------------------------------- */

/* Is this untagged Ethernet frame IPv4/IPv6 UDP from or to port? */
static bool
udp_port_match(const unsigned char *f, uint32_t len, int port)
{
	const unsigned char *l3 = f + ETH_HLEN;
	uint32_t l3len, off;
	unsigned int et, nh, i;

	if (len < ETH_HLEN)
		return false;
	l3len = len - ETH_HLEN;
	et = (unsigned int)f[12] << 8 | f[13];
	if (et == ETH_P_IP) {
		if (l3len < 20 || (l3[0] >> 4) != 4 || (l3[0] & 0xf) < 5 || l3[9] != IPPROTO_UDP)
			return false;
		if ((((unsigned int)l3[6] << 8 | l3[7]) & 0x1fff) != 0)
			return false; /* not the first fragment: no UDP header */
		off = (uint32_t)(l3[0] & 0xf) * 4;
	} else if (et == ETH_P_IPV6) {
		if (l3len < 40 || (l3[0] >> 4) != 6)
			return false;
		nh = l3[6];
		off = 40;
		for (i = 0; i < 8 && nh != IPPROTO_UDP; i++) {
			if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
				nh == IPPROTO_DSTOPTS) {
				if (off + 2 > l3len)
					return false;
				nh = l3[off];
				off += ((uint32_t)l3[off + 1] + 1) * 8;
			} else if (nh == IPPROTO_FRAGMENT) {
				if (off + 8 > l3len)
					return false;
				if ((((unsigned int)l3[off + 2] << 8 | l3[off + 3]) & 0xfff8) != 0)
					return false;
				nh = l3[off];
				off += 8;
			} else {
				return false;
			}
		}
		if (nh != IPPROTO_UDP)
			return false;
	} else {
		return false;
	}
	if (off + 4 > l3len)
		return false;
	return ((int)((unsigned int)l3[off] << 8 | l3[off + 1]) == port ||
		(int)((unsigned int)l3[off + 2] << 8 | l3[off + 3]) == port);
}

/* --- receive ------------------------------------------------------------ */

/*
 * Queue one copy of a received frame (buf: virtio_net_hdr + frame) on q,
 * putting back the VLAN tag the kernel took into metadata (tci >= 0).
 */
static void
enqueue(struct dir *d, struct fifo *q, const unsigned char *buf, uint32_t len, long tci,
	unsigned int tpid, uint64_t due)
{
	uint32_t total = len + (tci >= 0 ? VLAN_HLEN : 0);
	struct slot *s;

	if (d->delay.n + d->ready.n >= cfg.limit) {
		d->c.overflow++;
		return;
	}
	s = slot_get(total);
	if (s == NULL) {
		d->c.overflow++;
		return;
	}
	if (tci < 0) {
		memcpy(s->data, buf, len);
	} else {
		struct virtio_net_hdr vh;
		unsigned char *p = s->data;

		memcpy(&vh, buf, VNET_LEN);
		if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			vh.csum_start += VLAN_HLEN;
		if (vh.hdr_len != 0)
			vh.hdr_len += VLAN_HLEN;
		memcpy(p, &vh, VNET_LEN);
		p += VNET_LEN;
		memcpy(p, buf + VNET_LEN, 2 * ETH_ALEN);
		p += 2 * ETH_ALEN;
		*p++ = (unsigned char)(tpid >> 8);
		*p++ = (unsigned char)tpid;
		*p++ = (unsigned char)(tci >> 8);
		*p++ = (unsigned char)tci;
		memcpy(p, buf + VNET_LEN + 2 * ETH_ALEN, len - VNET_LEN - 2 * ETH_ALEN);
	}
	s->len = total;
	s->due = due;
	fifo_push(q, s);
}

/* Impair one frame from d's rx ring (h: its tpacket2_hdr) and queue what goes out. */
static void
handle_frame(struct dir *d, const struct tpacket2_hdr *h, uint64_t now)
{
	const unsigned char *raw = (const unsigned char *)h;
	const void *sll_at = raw + TPACKET_ALIGN(sizeof(*h)); /* the ring's layout */
	const struct sockaddr_ll *sll = sll_at;
	const unsigned char *buf = raw + h->tp_mac - VNET_LEN; /* vnet header, then the frame */
	uint32_t len = VNET_LEN + h->tp_snaplen;
	unsigned int tpid = ETH_P_8021Q;
	long tci = -1;
	int copies;
	bool early;

	if (sll->sll_pkttype == PACKET_OUTGOING)
		return;
	d->c.rx++;
	if (h->tp_snaplen < h->tp_len || h->tp_len > MAX_FRAME || h->tp_len < ETH_HLEN ||
		h->tp_mac < VNET_LEN || h->tp_mac + h->tp_snaplen > RING_FRAME) {
		d->c.truncated++;
		return;
	}
	if (h->tp_status & TP_STATUS_VLAN_VALID) {
		tci = h->tp_vlan_tci;
		if (h->tp_status & TP_STATUS_VLAN_TPID_VALID)
			tpid = h->tp_vlan_tpid;
	}

	if (cfg.udp_port != 0 &&
		(tci >= 0 || !udp_port_match(buf + VNET_LEN, len - VNET_LEN, cfg.udp_port))) {
		d->c.passed++;
		enqueue(d, &d->ready, buf, len, tci, tpid, now);
		return;
	}

	/* netem_enqueue(): duplication first, then loss takes one copy away */
	copies = 1;
	if (chance(&d->rng, cfg.dup))
		copies++;
	if (chance(&d->rng, cfg.loss))
		copies--;
	if (copies == 0) {
		d->c.lost++;
		return;
	}
	if (copies == 2)
		d->c.duplicated++;

	early = cfg.delay_ns == 0;
	if (!early && chance(&d->rng, cfg.reorder)) {
		early = true;
		d->c.reordered++;
	} else if (!early) {
		d->c.delayed++;
	}
	while (copies-- > 0) {
		if (early)
			enqueue(d, &d->ready, buf, len, tci, tpid, now);
		else
			enqueue(d, &d->delay, buf, len, tci, tpid, now + cfg.delay_ns);
	}
}

static struct tpacket2_hdr *
ring_frame(const struct ring *r, uint32_t i)
{
	void *f =
		r->map + (size_t)(i / RING_FPB) * RING_BLOCK + (size_t)(i % RING_FPB) * RING_FRAME;

	return f;
}

/*
 * Take what d's rx ring holds (at most RX_BUDGET frames), handing each
 * slot back to the kernel once copied. Returns true when more may be waiting.
 */
static bool
dir_rx(struct dir *d)
{
	uint64_t now = now_ns();
	unsigned int n;

	promote(d, now);
	for (n = 0; n < RX_BUDGET; n++) {
		struct tpacket2_hdr *h = ring_frame(&d->rx, d->rx.next);

		if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			return false;
		handle_frame(d, h, now);
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		if (++d->rx.next == d->rx.frame_nr)
			d->rx.next = 0;
	}
	return true;
}

/* --- transmit ----------------------------------------------------------- */

static void
dir_tx(struct dir *d, uint64_t now)
{
	struct mmsghdr mm[TX_BATCH];
	struct iovec iov[TX_BATCH];

	promote(d, now);
	if (d->want_pollout || d->ready.head == NULL)
		return;
	if (d->retry_ns != 0) {
		if (now < d->retry_ns)
			return;
		d->retry_ns = 0;
	}
	memset(mm, 0, sizeof(mm));
	while (d->ready.head != NULL) {
		struct slot *s;
		unsigned int n = 0;
		int r, e;

		for (s = d->ready.head; s != NULL && n < TX_BATCH; s = s->next, n++) {
			iov[n].iov_base = s->data;
			iov[n].iov_len = s->len;
			mm[n].msg_hdr.msg_iov = &iov[n];
			mm[n].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(d->out_fd, mm, n, MSG_DONTWAIT);
		if (r > 0) {
			d->c.tx += (uint64_t)r;
			while (r-- > 0)
				slot_put(fifo_pop(&d->ready));
			continue;
		}
		e = errno;
		if (r == 0 || e == EINTR)
			continue;
		if (e == EAGAIN || e == EWOULDBLOCK) {
			d->want_pollout = true;
			return;
		}
		if (e == ENOBUFS) {
			d->retry_ns = now + RETRY_NS;
			return;
		}
		d->c.tx_errors++; /* EMSGSIZE (longer than the MTU), ENETDOWN, ... */
		slot_put(fifo_pop(&d->ready));
	}
}

/* When d needs the loop back (CLOCK_MONOTONIC ns); UINT64_MAX: never. */
static uint64_t
dir_wake(const struct dir *d, uint64_t now)
{
	uint64_t wake = UINT64_MAX;

	if (d->ready.head != NULL && !d->want_pollout)
		wake = d->retry_ns != 0 ? d->retry_ns : now;
	if (d->delay.head != NULL && d->delay.head->due < wake)
		wake = d->delay.head->due;
	return wake;
}

/* --- counters ----------------------------------------------------------- */

static void
poll_sock_drops(struct dir *d)
{
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);

	if (getsockopt(d->in_fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
		d->c.sock_drops += st.tp_drops;
}

static size_t
counters_json(char *buf, size_t size, const struct counters *c, uint64_t queued)
{
	int n = snprintf(buf, size,
		"{\"rx\":%" PRIu64 ",\"tx\":%" PRIu64 ",\"lost\":%" PRIu64
		",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"delayed\":%" PRIu64
		",\"passed\":%" PRIu64 ",\"overflow\":%" PRIu64 ",\"truncated\":%" PRIu64
		",\"tx_errors\":%" PRIu64 ",\"sock_drops\":%" PRIu64 ",\"queued\":%" PRIu64 "}",
		c->rx, c->tx, c->lost, c->duplicated, c->reordered, c->delayed, c->passed,
		c->overflow, c->truncated, c->tx_errors, c->sock_drops, queued);

	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void
stats_json(char *buf, size_t size, const struct dir dirs[2])
{
	struct counters t;
	uint64_t qa = dirs[0].delay.n + dirs[0].ready.n;
	uint64_t qb = dirs[1].delay.n + dirs[1].ready.n;
	size_t n = 0;

	t.rx = dirs[0].c.rx + dirs[1].c.rx;
	t.tx = dirs[0].c.tx + dirs[1].c.tx;
	t.lost = dirs[0].c.lost + dirs[1].c.lost;
	t.duplicated = dirs[0].c.duplicated + dirs[1].c.duplicated;
	t.reordered = dirs[0].c.reordered + dirs[1].c.reordered;
	t.delayed = dirs[0].c.delayed + dirs[1].c.delayed;
	t.passed = dirs[0].c.passed + dirs[1].c.passed;
	t.overflow = dirs[0].c.overflow + dirs[1].c.overflow;
	t.truncated = dirs[0].c.truncated + dirs[1].c.truncated;
	t.tx_errors = dirs[0].c.tx_errors + dirs[1].c.tx_errors;
	t.sock_drops = dirs[0].c.sock_drops + dirs[1].c.sock_drops;

	n += (size_t)snprintf(buf + n, size - n, "{\"a_to_b\":");
	n += counters_json(buf + n, size - n, &dirs[0].c, qa);
	n += (size_t)snprintf(buf + n, size - n, ",\"b_to_a\":");
	n += counters_json(buf + n, size - n, &dirs[1].c, qb);
	n += (size_t)snprintf(buf + n, size - n, ",\"total\":");
	n += counters_json(buf + n, size - n, &t, qa + qb);
	snprintf(buf + n, size - n, "}");
}

static int
write_stats_file(const char *json)
{
	char tmp[PATH_MAX];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", cfg.stats_file);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	ok = fprintf(f, "%s\n", json) > 0;
	if (fclose(f) != 0 || !ok) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, cfg.stats_file) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* --- set-up ------------------------------------------------------------- */

static int
open_port(const char *ifname, struct ring *rx)
{
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	struct tpacket_req req;
	unsigned int ifindex = if_nametoindex(ifname);
	int one = 1, size = SOCK_BUF, version = TPACKET_V2;
	int fd;

	if (ifindex == 0)
		fatal("no interface '%s': %s", ifname, strerror(errno));
	/* protocol 0: nothing is queued before bind() picks the interface */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("%s: socket(AF_PACKET, SOCK_RAW): %s", ifname, strerror(errno));
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0)
		fatal("%s: PACKET_VERSION TPACKET_V2: %s", ifname, strerror(errno));
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0)
		fatal("%s: PACKET_VNET_HDR: %s", ifname, strerror(errno));
	/* before 4.20 there is no such option: sll_pkttype still filters */
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0 &&
		errno != ENOPROTOOPT)
		fatal("%s: PACKET_IGNORE_OUTGOING: %s", ifname, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));

	memset(&req, 0, sizeof(req));
	req.tp_block_size = RING_BLOCK;
	req.tp_frame_size = RING_FRAME;
	req.tp_block_nr = (RING_FRAMES + RING_FPB - 1) / RING_FPB;
	req.tp_frame_nr = req.tp_block_nr * RING_FPB;
	if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0)
		fatal("%s: PACKET_RX_RING: %s", ifname, strerror(errno));
	rx->map_len = (size_t)req.tp_block_size * req.tp_block_nr;
	rx->map = mmap(NULL, rx->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rx->map == MAP_FAILED)
		fatal("%s: mmap of the rx ring: %s", ifname, strerror(errno));
	rx->frame_nr = req.tp_frame_nr;
	rx->next = 0;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		fatal("%s: bind: %s", ifname, strerror(errno));

	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0)
		fatal("%s: PACKET_ADD_MEMBERSHIP (promiscuous): %s", ifname, strerror(errno));
	return fd;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int
main(int argc, char **argv)
{
	static char json[2048];
	struct dir dirs[2];
	struct pollfd pfd[2];
	bool rx_more[2] = { true, true };
	bool stats_warned = false;
	struct sigaction sa;
	sigset_t block, unblocked;
	uint64_t next_tick, x;
	char port[16];
	int fd_a, fd_b, i;

	parse_args(argc, argv);

	/* SIGINT/SIGTERM stay blocked but inside ppoll(): no missed wake-up */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGINT);
	sigdelset(&unblocked, SIGTERM);

	memset(dirs, 0, sizeof(dirs));
	fd_a = open_port(cfg.if_a, &dirs[0].rx);
	fd_b = open_port(cfg.if_b, &dirs[1].rx);
	x = cfg.seed;
	dirs[0].name = cfg.if_a;
	dirs[0].in_fd = fd_a;
	dirs[0].out_fd = fd_b;
	dirs[0].rng = splitmix64(&x) | 1;
	dirs[1].name = cfg.if_b;
	dirs[1].in_fd = fd_b;
	dirs[1].out_fd = fd_a;
	dirs[1].rng = splitmix64(&x) | 1;

	if (cfg.stats_file != NULL) {
		stats_json(json, sizeof(json), dirs);
		if (write_stats_file(json) != 0)
			fatal("cannot write %s.tmp or rename it to %s: %s", cfg.stats_file,
				cfg.stats_file, strerror(errno));
	}

	if (cfg.udp_port != 0)
		snprintf(port, sizeof(port), "%d", cfg.udp_port);
	else
		snprintf(port, sizeof(port), "all");
	fprintf(stderr,
		PROG ": relaying %s <-> %s (loss %g%%, dup %g%%, reorder %g%%, delay %g ms, "
		     "udp-port %s, limit %" PRIu32 ", seed %" PRIu64 ")\n",
		cfg.if_a, cfg.if_b, cfg.loss * 100, cfg.dup * 100, cfg.reorder * 100, cfg.delay_ms,
		port, cfg.limit, cfg.seed);

	next_tick = now_ns() + TICK_NS;
	while (!stop_requested) {
		uint64_t now, wake;
		struct timespec ts;
		bool more = false;
		int n;

		for (i = 0; i < 2; i++) {
			if (rx_more[i])
				rx_more[i] = dir_rx(&dirs[i]);
			more |= rx_more[i];
		}
		now = now_ns();
		dir_tx(&dirs[0], now);
		dir_tx(&dirs[1], now);

		if (now >= next_tick) {
			next_tick = now + TICK_NS;
			poll_sock_drops(&dirs[0]);
			poll_sock_drops(&dirs[1]);
			if (cfg.stats_file != NULL) {
				stats_json(json, sizeof(json), dirs);
				if (write_stats_file(json) != 0 && !stats_warned) {
					fprintf(stderr, PROG ": cannot write %s: %s\n",
						cfg.stats_file, strerror(errno));
					stats_warned = true;
				}
			}
		}

		wake = more ? now : next_tick;
		for (i = 0; i < 2; i++) {
			uint64_t w = dir_wake(&dirs[i], now);

			if (w < wake)
				wake = w;
		}
		wake = wake > now ? wake - now : 0;
		ts.tv_sec = (time_t)(wake / 1000000000ULL);
		ts.tv_nsec = (long)(wake % 1000000000ULL);

		/* pfd[i] is dirs[i]'s input and dirs[1 - i]'s output */
		for (i = 0; i < 2; i++) {
			pfd[i].fd = dirs[i].in_fd;
			pfd[i].events = POLLIN | (dirs[1 - i].want_pollout ? POLLOUT : 0);
			pfd[i].revents = 0;
		}
		n = ppoll(pfd, 2, &ts, &unblocked);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("ppoll: %s", strerror(errno));
		}
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents & POLLNVAL)
				fatal("%s: socket closed", dirs[i].name);
			if (pfd[i].revents & (POLLIN | POLLERR))
				rx_more[i] = true;
			if (pfd[i].revents & (POLLOUT | POLLERR))
				dirs[1 - i].want_pollout = false;
			if (pfd[i].revents & POLLERR) {
				int err;
				socklen_t el = sizeof(err);

				/* e.g. ENETDOWN: clear it, carry on */
				getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
			}
		}
	}

	poll_sock_drops(&dirs[0]);
	poll_sock_drops(&dirs[1]);
	stats_json(json, sizeof(json), dirs);
	printf("%s\n", json);
	fflush(stdout);
	if (cfg.stats_file != NULL && write_stats_file(json) != 0)
		fprintf(stderr, PROG ": cannot write %s: %s\n", cfg.stats_file, strerror(errno));
	munmap(dirs[0].rx.map, dirs[0].rx.map_len);
	munmap(dirs[1].rx.map, dirs[1].rx.map_len);
	close(fd_a);
	close(fd_b);
	return 0;
}
