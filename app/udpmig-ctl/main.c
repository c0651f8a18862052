/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * udpmig-ctl: run one command on a udpmig control socket (the server is
 * lib/udpmig_ctl.c; the wire protocol is in lib/udpmig_ctl.h). Sends the
 * command as one JSON array of strings, reads one reply line and prints
 * its result on stdout, or its error on stderr.
 *
 * Exit status: 0 the command succeeded, 1 the server answered with an
 * error, 2 usage, connection, timeout or protocol trouble.
 *
 * Plain libc: no DPDK, no udpmig lib.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef UDPMIG_VERSION
#define UDPMIG_VERSION "unknown"
#endif

#define RUN_DIR       "/run/udpmig"
#define RUN_DIR_ENV   "UDPMIG_RUN_DIR" /* overrides RUN_DIR (tests) */
#define EXIT_FAILED   1
#define EXIT_TROUBLE  2
#define MAX_REPLY     (64u << 20)
#define MAX_TIMEOUT_S 86400.0

static const char help_text[] =
	"Usage: udpmig-ctl [-s SOCKET] [-t SECONDS] COMMAND [ARG...]\n"
	"Run one COMMAND on a udpmig switch's control socket and print its result\n"
	"(JSON) on stdout.\n"
	"\n"
	"Options:\n"
	"  -s, --socket SOCKET    the control socket (default: the only *.ctl\n"
	"                         socket in " RUN_DIR ")\n"
	"  -t, --timeout SECONDS  wait at most this long for the reply (default 5)\n"
	"  -h, --help             show this help and exit\n"
	"  -V, --version          show the version and exit\n"
	"\n"
	"Common commands (list-commands shows what the server offers):\n"
	"  list-commands          the commands and their usage\n"
	"  help [COMMAND]         the usage of one command, or of all\n"
	"  version                the server's version\n"
	"  status                 the switch's state\n"
	"  stats                  the switch's counters\n"
	"  vm-show VM             a VM's configuration, state and counters\n"
	"  migrate-start VM       start migrating VM away from this switch\n"
	"  migrate-offline VM     VM is stopped here: buffer its packets for the peer\n"
	"  migrate-abort VM       abort VM's migration\n"
	"\n"
	"Environment: " RUN_DIR_ENV " replaces " RUN_DIR " in the socket search.\n"
	"Exit status: 0 success, 1 the command failed (its error is on stderr),\n"
	"2 usage, connection, timeout or protocol trouble.\n";

static const char *sock_path;

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("udpmig-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_TROUBLE);
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("udpmig-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\ntry udpmig-ctl --help\n", stderr);
	exit(EXIT_TROUBLE);
}

/* The only *.ctl socket in the run directory, into @out. */
static void
find_socket(char *out, size_t outlen)
{
	const char *dir = getenv(RUN_DIR_ENV);
	char names[512] = "", path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t len;
	int n = 0;
	DIR *d;

	if (dir == NULL || *dir == '\0')
		dir = RUN_DIR;
	d = opendir(dir);
	if (d == NULL && errno != ENOENT)
		die("cannot read %s: %s", dir, strerror(errno));
	while (d != NULL && (de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".ctl") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		if (n++ == 0)
			snprintf(out, outlen, "%s", path);
		len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s", n > 1 ? ", " : "", de->d_name);
	}
	if (d != NULL)
		closedir(d);
	if (n == 0)
		die("no control socket in %s; give one with -s", dir);
	if (n > 1)
		die("several control sockets in %s (%s); pick one with -s", dir, names);
}

/* @s as a JSON string. */
static void
json_str(FILE *f, const char *s)
{
	static const char chr[] = "\"\\\b\f\n\r\t", let[] = "\"\\bfnrt";
	const char *e;

	putc('"', f);
	for (; *s != '\0'; s++) {
		e = memchr(chr, *s, sizeof(chr) - 1);
		if (e != NULL)
			fprintf(f, "\\%c", let[e - chr]);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			putc(*s, f);
	}
	putc('"', f);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd until @deadline (ms); false on timeout. */
static bool
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int rc;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return false;
		rc = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (rc > 0)
			return true;
		if (rc < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
	}
}

static int
connect_to(const char *path, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	/* A Unix socket connects at once, or says EAGAIN while the backlog is full. */
	while (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno != EAGAIN && errno != EINTR)
			die("cannot connect to %s: %s", path, strerror(errno));
		if (now_ms() >= deadline)
			die("timed out connecting to %s", path);
		usleep(10000);
	}
	return fd;
}

static void
send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0) {
			buf += n;
			len -= (size_t)n;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (!wait_fd(fd, POLLOUT, deadline))
				die("timed out sending to %s", sock_path);
		} else if (errno != EINTR) {
			die("cannot send to %s: %s", sock_path, strerror(errno));
		}
	}
}

/* One reply line (newline excluded), NUL-ended; its length into @len. */
static char *
recv_line(int fd, int64_t deadline, size_t *len)
{
	size_t cap = 4096, have = 0;
	char *buf = NULL, *nl;
	ssize_t n;

	for (;;) {
		if (cap - have < 4096) {
			if (cap >= MAX_REPLY)
				die("reply from %s longer than %u bytes", sock_path, MAX_REPLY);
			cap *= 2;
		}
		buf = realloc(buf, cap);
		if (buf == NULL)
			die("out of memory");
		n = recv(fd, buf + have, cap - have - 1, 0);
		if (n == 0)
			die("%s closed the connection without a reply", sock_path);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!wait_fd(fd, POLLIN, deadline))
				die("no reply from %s in time", sock_path);
			continue;
		}
		if (n < 0 && errno != EINTR)
			die("cannot read from %s: %s", sock_path, strerror(errno));
		if (n < 0)
			continue;
		nl = memchr(buf + have, '\n', (size_t)n);
		have += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			*len = (size_t)(nl - buf);
			return buf;
		}
	}
}

/* ---- a minimal JSON scanner for the reply ---- */

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* Past the string whose quote is at @p, or NULL. */
static const char *
skip_str(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Past the value at @p, or NULL. Nesting is counted, not checked. */
static const char *
skip_value(const char *p, const char *end)
{
	const char *q = p;
	int depth = 0;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_str(p, end);
	if (*p != '{' && *p != '[') {
		while (q < end &&
			((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
				memchr("+-.E", *q, 4) != NULL))
			q++;
		return q > p ? q : NULL;
	}
	for (; q < end; q++) {
		if (*q == '"') {
			q = skip_str(q, end);
			if (q == NULL)
				return NULL;
			q--;
		} else if (*q == '{' || *q == '[') {
			depth++;
		} else if ((*q == '}' || *q == ']') && --depth == 0) {
			return q + 1;
		}
	}
	return NULL;
}

static unsigned int
hex4(const char *p)
{
	unsigned int v = 0, d;
	int i;

	for (i = 0; i < 4; i++) {
		d = (unsigned char)p[i] | 0x20u;
		d = d >= '0' && d <= '9' ? d - '0' : d >= 'a' && d <= 'f' ? d - 'a' + 10 : 16;
		if (d == 16)
			return UINT32_MAX;
		v = v << 4 | d;
	}
	return v;
}

/* The JSON string [p, end) (quotes included) unescaped, control characters made spaces. */
static char *
unescape(const char *p, const char *end)
{
	static const char let[] = "\"\\/bfnrt", chr[] = "\"\\/\b\f\n\r\t";
	char *out = malloc((size_t)(end - p) + 1), *o = out;
	unsigned int cp, lo;
	const char *e;

	if (out == NULL)
		die("out of memory");
	for (p++, end--; p < end; p++) {
		if (*p != '\\') {
			*o++ = (unsigned char)*p < 0x20 ? ' ' : *p;
			continue;
		}
		if (++p >= end)
			break;
		e = memchr(let, *p, sizeof(let) - 1);
		if (e != NULL) {
			*o++ = chr[e - let] < 0x20 ? ' ' : chr[e - let];
			continue;
		}
		cp = *p == 'u' && end - p > 4 ? hex4(p + 1) : UINT32_MAX;
		if (cp == UINT32_MAX) {
			*o++ = '?';
			continue;
		}
		p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff && end - p > 6 && p[1] == '\\' && p[2] == 'u' &&
			(lo = hex4(p + 3)) >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			cp = 0xfffd;
		}
		if (cp < 0x20) {
			*o++ = ' ';
		} else if (cp < 0x80) {
			*o++ = (char)cp;
		} else if (cp < 0x800) {
			*o++ = (char)(0xc0 | cp >> 6);
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			*o++ = (char)(0xe0 | cp >> 12);
			*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*o++ = (char)(0xf0 | cp >> 18);
			*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
			*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*o++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	*o = '\0';
	return out;
}

static bool
key_is(const char *key, const char *kend, const char *name)
{
	return (size_t)(kend - key) == strlen(name) + 2 && memcmp(key + 1, name, strlen(name)) == 0;
}

/* Print the reply's result or error; the exit status. */
static int
print_reply(const char *p, const char *end)
{
	const char *key, *kend, *v, *vend, *res = NULL, *res_end = NULL, *err = NULL;
	const char *err_end = NULL;
	char *msg;
	int ok = -1;

	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		goto bad;
	for (p = skip_ws(p + 1, end); p < end && *p != '}';) {
		key = p;
		kend = *p == '"' ? skip_str(p, end) : NULL;
		p = kend != NULL ? skip_ws(kend, end) : end;
		if (p >= end || *p != ':')
			goto bad;
		v = skip_ws(p + 1, end);
		vend = skip_value(v, end);
		if (vend == NULL)
			goto bad;
		if (key_is(key, kend, "ok")) {
			ok = -1;
			if (vend - v == 4 && memcmp(v, "true", 4) == 0)
				ok = 1;
			else if (vend - v == 5 && memcmp(v, "false", 5) == 0)
				ok = 0;
		} else if (key_is(key, kend, "result")) {
			res = v;
			res_end = vend;
		} else if (key_is(key, kend, "error") && *v == '"') {
			err = v;
			err_end = vend;
		}
		p = skip_ws(vend, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
		else if (p >= end || *p != '}')
			goto bad;
	}
	if (p >= end || skip_ws(p + 1, end) != end)
		goto bad;
	if (ok == 1 && res != NULL) {
		fwrite(res, 1, (size_t)(res_end - res), stdout);
		putchar('\n');
		if (fflush(stdout) != 0 || ferror(stdout))
			die("cannot write the result: %s", strerror(errno));
		return EXIT_SUCCESS;
	}
	if (ok == 0 && err != NULL) {
		msg = unescape(err, err_end);
		fprintf(stderr, "udpmig-ctl: %s\n", msg);
		free(msg);
		return EXIT_FAILED;
	}
bad:
	die("malformed reply from %s", sock_path);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char found[PATH_MAX], *req = NULL, *reply, *end;
	double timeout = 5.0;
	size_t req_len = 0, reply_len;
	int64_t deadline;
	int c, fd, i, rc;
	FILE *f;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:t:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock_path = optarg;
			break;
		case 't':
			errno = 0;
			timeout = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(timeout > 0) ||
				timeout > MAX_TIMEOUT_S)
				usage_error("bad timeout '%s': give seconds, more than 0", optarg);
			break;
		case 'h':
			fputs(help_text, stdout);
			return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_TROUBLE;
		case 'V':
			printf("udpmig-ctl %s\n", UDPMIG_VERSION);
			return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_TROUBLE;
		case ':':
			usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt != 0)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("no COMMAND given");
	if (sock_path == NULL) {
		find_socket(found, sizeof(found));
		sock_path = found;
	}

	f = open_memstream(&req, &req_len);
	if (f == NULL)
		die("out of memory");
	for (i = optind; i < argc; i++) {
		putc(i == optind ? '[' : ',', f);
		json_str(f, argv[i]);
	}
	fputs("]\n", f);
	if (fclose(f) != 0)
		die("out of memory");

	deadline = now_ms() + (int64_t)(timeout * 1000.0 + 0.5);
	fd = connect_to(sock_path, deadline);
	send_all(fd, req, req_len, deadline);
	reply = recv_line(fd, deadline, &reply_len);
	close(fd);
	rc = print_reply(reply, reply + reply_len);
	free(reply);
	free(req);
	return rc;
}
