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
 * Delays are not reported: the sender's clock (tx_ns) is the host's, the
 * receiver's the guest's. Gaps use the guest's CLOCK_MONOTONIC only.
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
	report(&set, &o, other, start_ns, true);
	seqstream_set_fini(&set);
	close(fd);
	return rc;
}
