/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udpmig-rcv: the receiver of the test stream (seqstream.h) inside a real
 * guest (a QEMU VM booted from the initramfs of scripts/guest/). Plain
 * libc, no DPDK, built static: it is the only program of the guest
 * besides busybox.
 *
 *   udpmig-rcv [--port N] [--bind ADDR] [--interval-ms MS]
 *              [--quit-after-idle MS] [--expect N] [--max-seq N]
 *
 * It binds a UDP socket, reads datagrams (recvmmsg), accounts each with
 * seqstream (received, unique, lost, duplicated, reordered, the longest
 * gap between two receptions) and prints one line
 *
 *   UDPMIG-RCV {"final": false, "t_ms": ..., "received": ..., ...}
 *
 * on stdout (the guest's serial console) every --interval-ms, and a final
 * one ("final": true) when it has been idle --quit-after-idle ms after
 * having received something, or on SIGTERM/SIGINT. A line is written with
 * one write(2), so it is never split by the kernel's own console output.
 * The final line also lists the first runs of missing seq ("missing").
 * Datagrams without the seqstream header count in "other".
 *
 * The counters' gaps use the guest's CLOCK_MONOTONIC only, which stops
 * while the VM is stopped (a migration's blackout is not in them). Before
 * the final line comes the host-time view of the stream (tx_ns is the
 * host's clock; see tl_report()): one line
 *
 *   UDPMIG-RCV-HOST {"packets": ..., "freeze_ms": ..., "max_gap_ms": ...,
 *                    "delay_ms_max": ..., "resume_to_last_held_ms": ..., ...}
 *
 * and the packets received per ms of host time since the first packet,
 * "UDPMIG-RCV-TL <ms> <cells>", one cell a ms: 0-9, a-z, A-Z for 0..61,
 * "{N}" for more (scripts/demo.sh --qemu reads them).
 *
 * Exit: 0 after the final line, 1 runtime error, 2 usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "seqstream.h"

#define PROG           "udpmig-rcv"
#define BATCH          64
#define DGRAM_MAX      2048
#define POLL_MS        50
#define RCVBUF         (8 << 20)
#define MAX_SEQ_DEF    (1u << 22) /* 512 KiB of bitmap: 14 min at 5 kpps */
#define NS_PER_MS      UINT64_C(1000000)
#define LINE_MAX_BYTES 1024

static volatile sig_atomic_t stop_req;

struct rcv_opts {
	uint16_t port;
	const char *bind;
	uint64_t interval_ms;
	uint64_t idle_ms; /* 0: never quit on idle */
	uint64_t expect;
	uint64_t max_seq;
};

static void
on_signal(int sig)
{
	(void)sig;
	stop_req = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [options]\n"
		"  --port N               UDP port to bind (default 5000)\n"
		"  --bind ADDR            IPv4 address to bind (default any)\n"
		"  --interval-ms MS       a UDPMIG-RCV line every MS ms (default 1000; 0: none)\n"
		"  --quit-after-idle MS   final line and exit once nothing came for MS ms\n"
		"                         after the first packet (default 0: never)\n"
		"  --expect N             packets expected, seq 0..N-1 (lost counts up to N;\n"
		"                         default 0: up to the highest seq seen)\n"
		"  --max-seq N            highest seq tracked + 1 (default %u)\n"
		"  --help                 this text\n"
		"Exit status: 0 success, 1 runtime error, 2 usage error.\n",
		MAX_SEQ_DEF);
}

static bool
parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, PROG ": --%s: '%s': expected %" PRIu64 "..%" PRIu64 "\n", opt, s,
			min, max);
		return false;
	}
	*out = v;
	return true;
}

static int
parse_args(int argc, char **argv, struct rcv_opts *o)
{
	enum { O_PORT = 256, O_BIND, O_INTERVAL, O_IDLE, O_EXPECT, O_MAX_SEQ, O_HELP };
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, O_PORT },
		{ "bind", required_argument, NULL, O_BIND },
		{ "interval-ms", required_argument, NULL, O_INTERVAL },
		{ "quit-after-idle", required_argument, NULL, O_IDLE },
		{ "expect", required_argument, NULL, O_EXPECT },
		{ "max-seq", required_argument, NULL, O_MAX_SEQ },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_PORT:
			if (!parse_u64("port", optarg, 1, 65535, &v))
				return 2;
			o->port = (uint16_t)v;
			break;
		case O_BIND:
			o->bind = optarg;
			break;
		case O_INTERVAL:
			if (!parse_u64("interval-ms", optarg, 0, 3600000, &o->interval_ms))
				return 2;
			break;
		case O_IDLE:
			if (!parse_u64("quit-after-idle", optarg, 0, 3600000, &o->idle_ms))
				return 2;
			break;
		case O_EXPECT:
			if (!parse_u64("expect", optarg, 0, UINT32_MAX, &o->expect))
				return 2;
			break;
		case O_MAX_SEQ:
			if (!parse_u64("max-seq", optarg, 64, UINT32_MAX, &o->max_seq))
				return 2;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->expect > o->max_seq) {
		fprintf(stderr, PROG ": --expect %" PRIu64 " is above --max-seq %" PRIu64 "\n",
			o->expect, o->max_seq);
		return 2;
	}
	return 0;
}

/*
 * The first MISSING_RUNS runs of missing seq of the first stream, below
 * its end (--expect, or the highest seq + 1), as JSON "[[first, last], ...]".
 */
#define MISSING_RUNS 8

static void
missing_runs(const struct seqstream_set *set, uint64_t expect, char *out, size_t len)
{
	const struct seqstream_rx *rx = &set->rx[0];
	uint64_t end, seq, first = 0;
	unsigned int runs = 0;
	bool in_run = false;
	size_t o = 0;

	o += (size_t)snprintf(out, len, "[");
	end = expect != 0 ? expect : (set->n > 0 && rx->c.any ? rx->c.highest_seq + 1 : 0);
	if (set->n > 0 && end > rx->c.max_seq)
		end = rx->c.max_seq;
	for (seq = 0; set->n > 0 && seq <= end && runs < MISSING_RUNS && o < len; seq++) {
		bool missing = seq < end && !((rx->bitmap[seq / 64] >> (seq % 64)) & 1);

		if (missing && !in_run) {
			first = seq;
			in_run = true;
		} else if (!missing && in_run) {
			o += (size_t)snprintf(out + o, len - o, "%s[%" PRIu64 ", %" PRIu64 "]",
				runs ? ", " : "", first, seq - 1);
			runs++;
			in_run = false;
		}
	}
	if (o < len)
		snprintf(out + o, len - o, "]");
}

/*
 * The host-time view of the stream (scripts/demo.sh --qemu plots it).
 *
 * The guest's clock stops while the VM is stopped for a migration (the
 * TSC and the other guest clocks of QEMU follow its virtual clock), so a
 * blackout does not show in guest time. The sender stamps every packet
 * with the host's CLOCK_MONOTONIC (tx_ns); the host-minus-guest offset of
 * the clocks, K, is max(tx_ns - rx time) over a window of packets (the
 * one of least latency: K minus that latency). K grows by the freeze F
 * across the stop: a packet with rx + K_before - tx_ns < -TL_FREEZE_NS
 * arrived after the stop (it was sent after the receiver's clock stopped).
 * The first such packet (g_post, guest time) starts the packets received
 * after the stop -- a few late: those sent between the stop and the first
 * delivery after the resume look sent before the stop -- and K_after -
 * K_before is F. Each packet's host receive time is then its guest time
 * + K_before (before g_post) or + K_after, which gives the per-ms
 * timeline, the longest gap and the delays in host time. The guest's
 * clock stopped at about the last delivery before g_post (g_frz: the
 * stream came without a pause until then), which gives the host times of
 * the stop and of the resume, and the packets held over the blackout:
 * sent before the resume, delivered after it.
 *
 * Memory: the receive time and tx_ns of the first copy of each seq below
 * TL_SEQ_MAX (touched as seq come, 12 bytes each); duplicates are not in
 * the timeline.
 */
#define TL_SEQ_MAX    (UINT64_C(1) << 21)
#define TL_ANCHOR_NS  (1000 * NS_PER_MS) /* K's window */
#define TL_FREEZE_NS  NS_PER_MS
#define TL_MS_MAX     (600 * 1000) /* the timeline's length, at most */
#define TL_LINE_MS    800 /* ms per UDPMIG-RCV-TL line */
#define NS_PER_US     UINT64_C(1000)
#define TL_LINE_BYTES (TL_LINE_MS * 8 + 64) /* cells of up to 7 bytes */

struct tl {
	uint64_t n; /**< seq tracked: 0 .. n-1 */
	uint32_t *rx_us; /**< guest receive time in us since the start, + 1; 0: none */
	uint64_t *tx_ns; /**< the packet's tx_ns */
};

static void
tl_init(struct tl *t, uint64_t max_seq)
{
	t->n = max_seq < TL_SEQ_MAX ? max_seq : TL_SEQ_MAX;
	t->rx_us = calloc(t->n, sizeof(*t->rx_us));
	t->tx_ns = calloc(t->n, sizeof(*t->tx_ns));
	if (t->rx_us == NULL || t->tx_ns == NULL) {
		free(t->rx_us);
		free(t->tx_ns);
		memset(t, 0, sizeof(*t));
		fprintf(stderr, PROG ": no memory for the timeline: none\n");
	}
}

static void
tl_fini(struct tl *t)
{
	free(t->rx_us);
	free(t->tx_ns);
	memset(t, 0, sizeof(*t));
}

/* The first copy of @p seq, received @p rx_ns after the start. */
static inline void
tl_note(struct tl *t, uint64_t seq, uint64_t tx_ns, uint64_t rx_ns)
{
	uint64_t us = rx_ns / NS_PER_US + 1;

	if (seq >= t->n || t->rx_us[seq] != 0 || us > UINT32_MAX)
		return;
	t->rx_us[seq] = (uint32_t)us;
	t->tx_ns[seq] = tx_ns;
}

static inline int64_t
tl_rx(const struct tl *t, uint64_t seq)
{
	return (int64_t)(t->rx_us[seq] - 1) * (int64_t)NS_PER_US;
}

/* max(tx_ns - rx) over the packets received in [from, to) (guest ns). */
static bool
tl_offset(const struct tl *t, int64_t from, int64_t to, int64_t *k)
{
	bool any = false;
	uint64_t s;

	for (s = 0; s < t->n; s++) {
		int64_t rx = tl_rx(t, s), o = (int64_t)t->tx_ns[s] - rx;

		if (t->rx_us[s] == 0 || rx < from || rx >= to)
			continue;
		if (!any || o > *k)
			*k = o;
		any = true;
	}
	return any;
}

/* The guest time of the first packet from @p from on sent after the stop. */
static bool
tl_stop(const struct tl *t, int64_t from, int64_t k, int64_t *g_post)
{
	bool any = false;
	uint64_t s;

	for (s = 0; s < t->n; s++) {
		int64_t rx = tl_rx(t, s);

		if (t->rx_us[s] == 0 || rx < from ||
			rx + k - (int64_t)t->tx_ns[s] >= -(int64_t)TL_FREEZE_NS)
			continue;
		if (!any || rx < *g_post)
			*g_post = rx;
		any = true;
	}
	return any;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* One per-ms count: 0-9, a-z, A-Z for 0..61, "{N}" above. */
static int
tl_cell(char *out, size_t len, uint32_t c)
{
	static const char digits[] =
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	int n;

	if (c < sizeof(digits) - 1) {
		if (len < 2)
			return -1;
		out[0] = digits[c];
		out[1] = '\0';
		return 1;
	}
	n = snprintf(out, len, "{%" PRIu32 "}", c);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

static void
write_line(const char *line, size_t n)
{
	ssize_t w = write(STDOUT_FILENO, line, n);

	(void)w;
}

/*
 * Print the host-time view: one UDPMIG-RCV-HOST line (JSON), then the
 * per-ms receive counts since the first packet, TL_LINE_MS a line:
 *   UDPMIG-RCV-TL <first ms of the line> <cells>
 */
static void
tl_report(const struct tl *t)
{
	int64_t g0 = INT64_MAX, k_before = 0, k_after, g_post = INT64_MAX, g_frz = 0,
		h0 = INT64_MAX, h_end = 0;
	int64_t *h = NULL, gap = 0, d, d_max = 0, last_held = -1;
	uint64_t s, n = 0, held = 0, tl_ms;
	double d_sum = 0;
	bool stopped;
	uint32_t *cnt = NULL;
	static char line[TL_LINE_BYTES];
	int len;

	for (s = 0; s < t->n; s++)
		if (t->rx_us[s] != 0 && tl_rx(t, s) < g0)
			g0 = tl_rx(t, s);
	if (g0 == INT64_MAX)
		return;
	/* K before the stop: first from the first second, then from the
	 * second before the stop (the clocks' rates differ by some ppm). */
	tl_offset(t, g0, g0 + (int64_t)TL_ANCHOR_NS, &k_before);
	stopped = tl_stop(t, g0 + (int64_t)TL_ANCHOR_NS, k_before, &g_post);
	if (stopped) {
		int64_t from = g_post - (int64_t)TL_ANCHOR_NS;

		if (tl_offset(t, from, g_post, &k_before))
			(void)tl_stop(t, from, k_before, &g_post);
	}
	k_after = k_before;
	if (stopped) {
		(void)tl_offset(t, g_post, INT64_MAX, &k_after);
		for (s = 0; s < t->n; s++)
			if (t->rx_us[s] != 0 && tl_rx(t, s) < g_post && tl_rx(t, s) > g_frz)
				g_frz = tl_rx(t, s);
	}

	h = malloc(t->n * sizeof(*h));
	if (h == NULL)
		return;
	for (s = 0; s < t->n; s++) {
		int64_t rx;

		if (t->rx_us[s] == 0)
			continue;
		rx = tl_rx(t, s);
		h[n] = rx + (stopped && rx >= g_post ? k_after : k_before);
		d = h[n] - (int64_t)t->tx_ns[s];
		if (d < 0)
			d = 0;
		d_sum += (double)d;
		if (d > d_max)
			d_max = d;
		/* Held: sent before the resume, delivered after it. */
		if (stopped && rx >= g_post && (int64_t)t->tx_ns[s] < g_frz + k_after) {
			held++;
			if (rx > last_held)
				last_held = rx;
		}
		if (h[n] < h0)
			h0 = h[n];
		if (h[n] > h_end)
			h_end = h[n];
		n++;
	}
	qsort(h, n, sizeof(*h), cmp_i64);
	for (s = 1; s < n; s++)
		if (h[s] - h[s - 1] > gap)
			gap = h[s] - h[s - 1];
	tl_ms = (uint64_t)(h_end - h0) / NS_PER_MS + 1;
	if (tl_ms > TL_MS_MAX)
		tl_ms = TL_MS_MAX;
	len = snprintf(line, sizeof(line),
		"UDPMIG-RCV-HOST {\"packets\": %" PRIu64 ", \"timeline_ms\": %" PRIu64
		", \"freeze_ms\": %.3f, \"stop_at_ms\": %.3f, \"resume_at_ms\": %.3f"
		", \"max_gap_ms\": %.3f, \"delay_ms_max\": %.3f, \"delay_ms_mean\": %.3f"
		", \"held\": %" PRIu64 ", \"resume_to_last_held_ms\": %.3f}\n",
		n, tl_ms, stopped ? (double)(k_after - k_before) / 1e6 : 0.0,
		stopped ? (double)(g_frz + k_before - h0) / 1e6 : -1.0,
		stopped ? (double)(g_frz + k_after - h0) / 1e6 : -1.0, (double)gap / 1e6,
		(double)d_max / 1e6, n ? d_sum / (double)n / 1e6 : 0.0, held,
		held ? (double)(last_held - g_frz) / 1e6 : 0.0);
	if (len > 0 && (size_t)len < sizeof(line))
		write_line(line, (size_t)len);

	cnt = calloc(tl_ms, sizeof(*cnt));
	if (cnt != NULL) {
		uint64_t ms;

		for (s = 0; s < n; s++) {
			ms = (uint64_t)(h[s] - h0) / NS_PER_MS;
			if (ms < tl_ms)
				cnt[ms]++;
		}
		for (ms = 0; ms < tl_ms; ms += TL_LINE_MS) {
			uint64_t i;
			int o = snprintf(line, sizeof(line), "UDPMIG-RCV-TL %" PRIu64 " ", ms);

			for (i = ms; i < ms + TL_LINE_MS && i < tl_ms && o > 0; i++) {
				int c = tl_cell(line + o, sizeof(line) - (size_t)o - 1, cnt[i]);

				o = c < 0 ? -1 : o + c;
			}
			if (o > 0 && (size_t)o < sizeof(line) - 1) {
				line[o++] = '\n';
				write_line(line, (size_t)o);
			}
		}
	}
	free(cnt);
	free(h);
}

/* One UDPMIG-RCV line, written with a single write(2). */
static void
report(const struct seqstream_set *set, const struct rcv_opts *o, uint64_t other, uint64_t start_ns,
	bool final)
{
	struct seqstream_sum s;
	char line[LINE_MAX_BYTES], missing[320] = "[]";
	int n;

	seqstream_set_sum(set, o->expect, &s);
	if (final)
		missing_runs(set, o->expect, missing, sizeof(missing));
	n = snprintf(line, sizeof(line),
		"UDPMIG-RCV {\"final\": %s, \"t_ms\": %" PRIu64 ", \"received\": %" PRIu64
		", \"unique\": %" PRIu64 ", \"lost\": %" PRIu64 ", \"loss_runs\": %" PRIu64
		", \"duplicated\": %" PRIu64 ", \"reordered\": %" PRIu64
		", \"out_of_range\": %" PRIu64 ", \"other\": %" PRIu64 ", \"streams\": %u"
		", \"first_seq\": %" PRIu64 ", \"highest_seq\": %" PRIu64
		", \"max_gap_ms\": %.3f, \"max_gap_after_seq\": %" PRIu64 ", \"missing\": %s}\n",
		final ? "true" : "false", (seqstream_now_ns() - start_ns) / NS_PER_MS, s.received,
		s.unique, s.lost, s.loss_runs, s.duplicated, s.reordered, s.out_of_range, other,
		set->n, s.first_seq, s.highest_seq, (double)s.max_gap_ns / 1e6, s.max_gap_after_seq,
		missing);
	if (n > 0 && (size_t)n < sizeof(line)) {
		ssize_t w = write(STDOUT_FILENO, line, (size_t)n);

		(void)w;
	}
}

static int
open_socket(const struct rcv_opts *o)
{
	struct sockaddr_in sa;
	int fd, buf = RCVBUF;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
		return -1;
	}
	/* FORCE ignores rmem_max (root, as in the guest); else the capped size. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(o->port);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (o->bind != NULL && inet_pton(AF_INET, o->bind, &sa.sin_addr) != 1) {
		fprintf(stderr, PROG ": --bind: '%s' is not an IPv4 address\n", o->bind);
		close(fd);
		return -2;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, PROG ": bind port %u: %s\n", o->port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][DGRAM_MAX];
	struct rcv_opts o = {
		.port = 5000,
		.interval_ms = 1000,
		.max_seq = MAX_SEQ_DEF,
	};
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct seqstream_set set;
	struct tl tl;
	struct sigaction sa;
	uint64_t start_ns, next_report_ns, last_rx_ns = 0, other = 0;
	bool any = false;
	int fd, rc, i;

	rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	fd = open_socket(&o);
	if (fd < 0)
		return fd == -2 ? 2 : 1;
	/* No per-ms timeline in a guest: 0 ms keeps it to one counter. */
	seqstream_set_init(&set, o.max_seq, 0);
	tl_init(&tl, o.max_seq);
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = DGRAM_MAX;
	}
	fprintf(stderr, PROG ": listening on UDP port %u\n", o.port);
	start_ns = seqstream_now_ns();
	next_report_ns = start_ns + o.interval_ms * NS_PER_MS;

	while (!stop_req) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now;
		int n;

		n = poll(&pfd, 1, POLL_MS);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (n > 0) {
			memset(msgs, 0, sizeof(msgs));
			for (i = 0; i < BATCH; i++) {
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, PROG ": recvmmsg: %s\n", strerror(errno));
				rc = 1;
				break;
			}
			now = seqstream_now_ns();
			for (i = 0; i < n; i++) {
				struct seqstream_hdr h;
				struct seqstream_rx *rx;

				if (seqstream_read(bufs[i], msgs[i].msg_len, &h) != 0 ||
					(rx = seqstream_set_get(&set, h.stream)) == NULL) {
					other++;
					continue;
				}
				/* The guest's clock: tx_ns means nothing here. */
				seqstream_rx_account(rx, h.seq, now, now);
				if (rx == &set.rx[0] && tl.n != 0)
					tl_note(&tl, h.seq, h.tx_ns, now - start_ns);
				any = true;
				last_rx_ns = now;
			}
		}
		now = seqstream_now_ns();
		if (o.interval_ms != 0 && now >= next_report_ns) {
			report(&set, &o, other, start_ns, false);
			next_report_ns += o.interval_ms * NS_PER_MS;
			if (next_report_ns <= now)
				next_report_ns = now + o.interval_ms * NS_PER_MS;
		}
		if (o.idle_ms != 0 && any && now - last_rx_ns >= o.idle_ms * NS_PER_MS)
			break;
	}
	if (tl.n != 0)
		tl_report(&tl);
	report(&set, &o, other, start_ns, true);
	tl_fini(&tl);
	seqstream_set_fini(&set);
	close(fd);
	return rc;
}
