/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of udpmig_ctl: the create and register error contracts,
 * the socket's mode, the request parser (every malformed case, escapes),
 * then a real server on a socket in a fresh /tmp directory, run by a
 * pthread, with clients in the test thread: built-ins, argument checks,
 * pipelining, split requests, long lines, the connection limit, handlers
 * that misbehave, queued replies. Last, the udpmig-ctl tool (argv[1],
 * given by meson) run as a process against that server. No EAL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* environ */
#endif
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>

#include "udpmig_ctl.h"
#include "unit.h"

#define VERSION  "1.2.3-test"
#define OK(v)    "{\"ok\":true,\"result\":" v "}"
#define ERR(m)   "{\"ok\":false,\"error\":\"" m "\"}"
#define EXPECTED ", expected a JSON array of strings"

static char dir[64]; /* the test's directory in /tmp */
static const char *cli; /* the udpmig-ctl executable */
static struct udpmig_ctl_server *srv; /* run by the server thread */
static pthread_t srv_thread;
static int srv_stop;
static char line[256 * 1024]; /* a reply */

static const char *
tpath(const char *name)
{
	static char p[4][128];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* ---- handlers ---- */

static void
h_echo(struct udpmig_ctl_conn *conn, int argc, const char *argv[], void *aux)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int i;

	(void)aux;
	putc('[', f);
	for (i = 1; i < argc; i++) {
		fputs(i > 1 ? "," : "", f);
		udpmig_ctl_json_str(f, argv[i]);
	}
	fputs("]\n", f); /* the server makes the newline a space */
	fclose(f);
	udpmig_ctl_reply(conn, buf);
	free(buf);
}

/* vm-show VM, silent (no reply), twice (three replies), fail MSG, big BYTES. */
static void
h_test(struct udpmig_ctl_conn *conn, int argc, const char *argv[], void *aux)
{
	char buf[128], *s;
	size_t n;

	(void)argc;
	if (strcmp(argv[0], "vm-show") == 0) {
		snprintf(buf, sizeof(buf), "{\"vm\":\"%s\",\"aux\":%d}", argv[1], *(int *)aux);
		udpmig_ctl_reply(conn, buf);
	} else if (strcmp(argv[0], "twice") == 0) {
		udpmig_ctl_reply(conn, "1");
		udpmig_ctl_reply(conn, "2");
		udpmig_ctl_reply_error(conn, "3");
	} else if (strcmp(argv[0], "fail") == 0) {
		udpmig_ctl_reply_error(conn, "bad \"%s\"\nsecond\\line", argv[1]);
	} else if (strcmp(argv[0], "big") == 0) {
		n = strtoul(argv[1], NULL, 10);
		s = malloc(n + 3);
		memset(s, 'x', n + 2);
		s[0] = s[n + 1] = '"';
		s[n + 2] = '\0';
		udpmig_ctl_reply(conn, s);
		free(s);
	}
}

/* ---- clients ---- */

static int
cl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
cl_send(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0 && (n = send(fd, s, len, MSG_NOSIGNAL)) > 0) {
		s += n;
		len -= (size_t)n;
	}
	CU_ASSERT(len == 0);
}

/* One line into line[] (no newline); its length, or -1 at EOF or timeout. */
static ssize_t
cl_line(int fd)
{
	size_t n = 0;
	ssize_t got;
	char *nl;

	while (n < sizeof(line) - 1) {
		got = recv(fd, line + n, sizeof(line) - 1 - n, MSG_PEEK);
		if (got <= 0)
			break;
		nl = memchr(line + n, '\n', (size_t)got);
		got = recv(fd, line + n, nl != NULL ? (size_t)(nl - line) - n + 1 : (size_t)got, 0);
		if (got <= 0)
			break;
		n += (size_t)got;
		if (nl != NULL) {
			line[n - 1] = '\0';
			return (ssize_t)n - 1;
		}
	}
	line[n] = '\0';
	return -1;
}

/* Whether the server closed @fd (EOF, or a reset for unread input). */
static bool
cl_closed(int fd)
{
	char c;

	return recv(fd, &c, 1, 0) == 0 || errno == ECONNRESET;
}

/* One request on its own connection; the reply is in line[]. */
static const char *
call(const char *req)
{
	int fd = cl_connect(udpmig_ctl_server_path(srv));

	CU_ASSERT_FATAL(fd >= 0);
	cl_send(fd, req, strlen(req));
	cl_send(fd, "\n", 1);
	CU_ASSERT(cl_line(fd) >= 0);
	close(fd);
	return line;
}

static void *
srv_loop(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&srv_stop, __ATOMIC_ACQUIRE))
		udpmig_ctl_server_run(srv, 10);
	return NULL;
}

/* ---- create, register, parse: no server thread ---- */

static void
test_create_errors(void)
{
	struct udpmig_ctl_conf conf = { .group = "udpmig-no-such-group" };
	char longp[200];
	FILE *f;

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	rte_errno = 0;
	CU_ASSERT(udpmig_ctl_server_create(NULL, NULL) == NULL && rte_errno == EINVAL);
	CU_ASSERT(udpmig_ctl_server_create("", NULL) == NULL && rte_errno == EINVAL);
	CU_ASSERT(udpmig_ctl_server_create(longp, NULL) == NULL && rte_errno == ENAMETOOLONG);
	CU_ASSERT(udpmig_ctl_server_create(tpath("g.ctl"), &conf) == NULL && rte_errno == ENOENT);
	CU_ASSERT(access(tpath("g.ctl"), F_OK) != 0);
	f = fopen(tpath("file"), "w");
	CU_ASSERT_FATAL(f != NULL);
	fclose(f);
	CU_ASSERT(udpmig_ctl_server_create(tpath("file"), NULL) == NULL && rte_errno == EEXIST);
	CU_ASSERT(udpmig_ctl_server_create(tpath("file/x.ctl"), NULL) == NULL &&
		rte_errno == ENOTDIR);
	unlink(tpath("file"));
	udpmig_ctl_server_free(NULL);
	CU_ASSERT(udpmig_ctl_server_path(NULL) == NULL);
	CU_ASSERT(udpmig_ctl_server_run(NULL, 0) == -EINVAL);
}

static void
test_create_live_and_stale(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct udpmig_ctl_server *a, *b;
	struct stat st;
	int fd;

	a = udpmig_ctl_server_create(tpath("live.ctl"), NULL);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT(strcmp(udpmig_ctl_server_path(a), tpath("live.ctl")) == 0);
	rte_errno = 0;
	CU_ASSERT(udpmig_ctl_server_create(tpath("live.ctl"), NULL) == NULL &&
		rte_errno == EADDRINUSE);
	CU_ASSERT(stat(tpath("live.ctl"), &st) == 0); /* still there */
	udpmig_ctl_server_free(a);
	CU_ASSERT(access(tpath("live.ctl"), F_OK) != 0);

	/* A socket file nobody listens on: replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tpath("stale.ctl"));
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	CU_ASSERT(stat(tpath("stale.ctl"), &st) == 0 && S_ISSOCK(st.st_mode));
	b = udpmig_ctl_server_create(tpath("stale.ctl"), NULL);
	CU_ASSERT_FATAL(b != NULL);
	fd = cl_connect(tpath("stale.ctl"));
	CU_ASSERT(fd >= 0);
	close(fd);
	udpmig_ctl_server_free(b);
}

static void
test_create_modes(void)
{
	struct udpmig_ctl_conf conf = { 0 };
	struct udpmig_ctl_server *s;
	struct group *gr;
	struct stat st;

	s = udpmig_ctl_server_create(tpath("sub/a.ctl"), NULL);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT(stat(tpath("sub"), &st) == 0 && S_ISDIR(st.st_mode) &&
		(st.st_mode & 07777) == 0755);
	CU_ASSERT(stat(tpath("sub/a.ctl"), &st) == 0 && (st.st_mode & 07777) == 0600);
	CU_ASSERT(st.st_uid == geteuid());
	udpmig_ctl_server_free(s);

	gr = getgrnam("daemon"); /* not the process's group */
	gr = gr != NULL ? gr : getgrnam("root");
	CU_ASSERT_FATAL(gr != NULL);
	conf.group = gr->gr_name;
	s = udpmig_ctl_server_create(tpath("sub/b.ctl"), &conf); /* sub exists now */
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT(stat(tpath("sub/b.ctl"), &st) == 0 && (st.st_mode & 07777) == 0660);
	CU_ASSERT(st.st_gid == gr->gr_gid);
	udpmig_ctl_server_free(s);
	rmdir(tpath("sub"));
}

static void
test_register_errors(void)
{
	struct udpmig_ctl_server *s = udpmig_ctl_server_create(tpath("reg.ctl"), NULL);
	char name[80];

	CU_ASSERT_FATAL(s != NULL);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CU_ASSERT(udpmig_ctl_register(NULL, "x", NULL, 0, 0, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, NULL, NULL, 0, 0, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, "x", NULL, 0, 0, NULL, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, "", NULL, 0, 0, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, "Vm-show", NULL, 0, 0, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, "vm show", NULL, 0, 0, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, "vm_show", NULL, 0, 0, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, name, NULL, 0, 0, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, "x", NULL, -1, 0, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, "x", NULL, 2, 1, h_test, NULL) == -EINVAL);
	CU_ASSERT(
		udpmig_ctl_register(s, "x", NULL, 0, UDPMIG_CTL_MAX_ARGS, h_test, NULL) == -EINVAL);
	CU_ASSERT(udpmig_ctl_register(s, "help", NULL, 0, 0, h_test, NULL) == -EEXIST);
	CU_ASSERT(udpmig_ctl_register(s, "list-commands", NULL, 0, 0, h_test, NULL) == -EEXIST);
	CU_ASSERT(udpmig_ctl_register(s, "version", NULL, 0, 0, h_test, NULL) == -EEXIST);
	CU_ASSERT(
		udpmig_ctl_register(s, "x-1", NULL, 0, UDPMIG_CTL_MAX_ARGS - 1, h_test, NULL) == 0);
	CU_ASSERT(udpmig_ctl_register(s, "x-1", NULL, 0, 0, h_test, NULL) == -EEXIST);
	udpmig_ctl_server_free(s);
}

static int
parse(const char *req, size_t len, const char *argv[], char *err)
{
	static char storage[1024];

	return udpmig_ctl_parse_request(
		req, len, storage, sizeof(storage), argv, UDPMIG_CTL_MAX_ARGS, err, 256);
}

static void
test_parse_malformed(void)
{
	static const char *const bad[] = { "", "  \t", "{}", "\"vm-show\"", "null", "[]", "[ ]",
		"[1]", "[null]", "[[\"a\"]]", "[\"a\",1]", "[\"a\",]", "[\"a\" \"b\"]", "[\"a\"",
		"[\"a\",", "[\"a", "[\"a\\", "[\"a\"]x", "[\"a\"] ]", "[\"a\"],", "[\"a\\q\"]",
		"[\"a\\x41\"]", "[\"\\u12\"]", "[\"\\u12g4\"]", "[\"\\u0000\"]", "[\"\\ud800\"]",
		"[\"\\udc00\"]", "[\"\\ud800\\u0041\"]", "[\"\\ud800\\n\"]", "[\"\\ud800\\udbff\"]",
		"[\"a\tb\"]", "[\"a\nb\"]", "[\"\x01\"]", "[\"\x7f\xff\"]", "[\"\xc3\"]",
		"[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"a\"\x01]",
		"\xef\xbb\xbf[\"a\"]" };
	const char *argv[UDPMIG_CTL_MAX_ARGS];
	char err[256], storage[8];
	size_t i;

	for (i = 0; i < RTE_DIM(bad); i++) {
		err[0] = '\0';
		CU_ASSERT(parse(bad[i], strlen(bad[i]), argv, err) == -EINVAL);
		CU_ASSERT(strncmp(err, "malformed request: ", 19) == 0);
		CU_ASSERT(strstr(err, ", expected a JSON array of strings") != NULL);
	}
	CU_ASSERT(parse("[\"a\0b\"]", 7, argv, err) == -EINVAL);
	CU_ASSERT(strstr(err, "control character in string at byte 3") != NULL);
	CU_ASSERT(parse("[\"a\"]\0", 6, argv, err) == -EINVAL);
	CU_ASSERT(strstr(err, "trailing garbage at byte 5") != NULL);
	CU_ASSERT(parse("{}", 2, argv, err) == -EINVAL && strstr(err, "not an array at byte 0"));
	/* Too small storage; bad parameters. */
	CU_ASSERT(udpmig_ctl_parse_request("[\"abcdefgh\"]", 12, storage, sizeof(storage), argv, 4,
			  err, sizeof(err)) == -EINVAL);
	CU_ASSERT(strcmp(err, "request too long (max 7 bytes)") == 0);
	CU_ASSERT(udpmig_ctl_parse_request("[\"a\",\"b\",\"c\"]", 13, line, 100, argv, 2, err,
			  sizeof(err)) == -EINVAL);
	CU_ASSERT(strcmp(err, "too many elements in request (max 2)") == 0);
	CU_ASSERT(udpmig_ctl_parse_request(NULL, 1, line, 100, argv, 2, err, 256) == -EINVAL);
	CU_ASSERT(udpmig_ctl_parse_request("[\"a\"]", 5, NULL, 100, argv, 2, NULL, 0) == -EINVAL);
	CU_ASSERT(udpmig_ctl_parse_request("[\"a\"]", 5, line, 100, NULL, 2, err, 256) == -EINVAL);
	CU_ASSERT(udpmig_ctl_parse_request("[\"a\"]", 5, line, 100, argv, 0, err, 256) == -EINVAL);
}

static void
test_parse_valid(void)
{
	const char *argv[UDPMIG_CTL_MAX_ARGS + 1];
	char req[512], err[256];
	int i, n;

	CU_ASSERT(parse(" \t[ \"vm-show\" ,\r\n\"vm1\" ] \r", 26, argv, err) == 2);
	CU_ASSERT(strcmp(argv[0], "vm-show") == 0 && strcmp(argv[1], "vm1") == 0);
	CU_ASSERT(parse("[\"vm-show\"]junk", 11, argv, err) == 1); /* len stops it */
	CU_ASSERT(parse("[\"\"]", 4, argv, err) == 1 && argv[0][0] == '\0');
	CU_ASSERT(parse("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", 20, argv, err) == 1);
	CU_ASSERT(strcmp(argv[0], "\"\\/\b\f\n\r\t") == 0);
	n = snprintf(req, sizeof(req), "[\"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\\u007f\", \"é€\"]");
	CU_ASSERT(parse(req, (size_t)n, argv, err) == 2);
	CU_ASSERT(strcmp(argv[0], "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f") == 0);
	CU_ASSERT(strcmp(argv[1], "\xc3\xa9\xe2\x82\xac") == 0);
	/* 32 elements; 33 is too many. */
	n = 0;
	for (i = 0; i < UDPMIG_CTL_MAX_ARGS; i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\"a%d\"", i ? "," : "[", i);
	CU_ASSERT(snprintf(req + n, sizeof(req) - (size_t)n, "]") == 1);
	CU_ASSERT(parse(req, (size_t)n + 1, argv, err) == UDPMIG_CTL_MAX_ARGS);
	CU_ASSERT(strcmp(argv[31], "a31") == 0);
	snprintf(req + n, sizeof(req) - (size_t)n, ",\"x\"]");
	CU_ASSERT(parse(req, strlen(req), argv, err) == -EINVAL);
	CU_ASSERT(strcmp(err, "too many elements in request (max 32)") == 0);
}

static void
test_json_str(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	udpmig_ctl_json_str(f, "a\"b\\c/\b\f\n\r\t\x01\x1f é \xff\xc3 end");
	putc(' ', f);
	udpmig_ctl_json_str(f, NULL);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(
		buf, "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f é \\ufffd\\ufffd end\" null");
	free(buf);
}

/* ---- a running server ---- */

static int vm_aux = 7;

static int
srv_setup(void)
{
	struct udpmig_ctl_conf conf = { .version = VERSION };

	srv = udpmig_ctl_server_create(tpath("srv.ctl"), &conf);
	if (srv == NULL || udpmig_ctl_register(srv, "vm-show", "VM", 1, 1, h_test, &vm_aux) != 0 ||
		udpmig_ctl_register(srv, "echo", "[ARG...]", 0, 31, h_echo, NULL) != 0 ||
		udpmig_ctl_register(srv, "pair", "A [B]", 1, 2, h_echo, NULL) != 0 ||
		udpmig_ctl_register(srv, "two", "A B", 2, 2, h_echo, NULL) != 0 ||
		udpmig_ctl_register(srv, "silent", NULL, 0, 0, h_test, NULL) != 0 ||
		udpmig_ctl_register(srv, "twice", "", 0, 0, h_test, NULL) != 0 ||
		udpmig_ctl_register(srv, "fail", "MSG", 1, 1, h_test, NULL) != 0 ||
		udpmig_ctl_register(srv, "big", "BYTES", 1, 1, h_test, NULL) != 0)
		return -1;
	srv_stop = 0;
	return pthread_create(&srv_thread, NULL, srv_loop, NULL) == 0 ? 0 : -1;
}

static int
srv_teardown(void)
{
	__atomic_store_n(&srv_stop, 1, __ATOMIC_RELEASE);
	pthread_join(srv_thread, NULL);
	udpmig_ctl_server_free(srv);
	return access(tpath("srv.ctl"), F_OK) != 0 && rmdir(dir) == 0 ? 0 : -1; /* all gone */
}

static void
test_builtins(void)
{
	CU_ASSERT_STRING_EQUAL(call("[\"version\"]"), OK("\"" VERSION "\""));
	CU_ASSERT_STRING_EQUAL(call("[\"list-commands\"]"),
		"{\"ok\":true,\"result\":[{\"name\":\"big\",\"usage\":\"big BYTES\"},"
		"{\"name\":\"echo\",\"usage\":\"echo [ARG...]\"},"
		"{\"name\":\"fail\",\"usage\":\"fail MSG\"},"
		"{\"name\":\"help\",\"usage\":\"help [COMMAND]\"},"
		"{\"name\":\"list-commands\",\"usage\":\"list-commands\"},"
		"{\"name\":\"pair\",\"usage\":\"pair A [B]\"},"
		"{\"name\":\"silent\",\"usage\":\"silent\"},"
		"{\"name\":\"twice\",\"usage\":\"twice\"},"
		"{\"name\":\"two\",\"usage\":\"two A B\"},"
		"{\"name\":\"version\",\"usage\":\"version\"},"
		"{\"name\":\"vm-show\",\"usage\":\"vm-show VM\"}]}");
	CU_ASSERT(strncmp(call("[\"help\"]"),
			  "{\"ok\":true,\"result\":[\"big BYTES\",\"echo [ARG...]\",", 49) == 0);
	CU_ASSERT_STRING_EQUAL(call("[\"help\",\"vm-show\"]"), OK("\"vm-show VM\""));
	CU_ASSERT_STRING_EQUAL(
		call("[\"help\",\"nope\"]"), ERR("unknown command 'nope'; try list-commands"));
}

static void
test_commands(void)
{
	static const char *const cases[][2] = {
		{ "[\"vm-show\",\"vm1\"]", OK("{\"vm\":\"vm1\",\"aux\":7}") },
		{ "[\"echo\",\"a\\\"b\",\"\\u00e9\",\"\"]", OK("[\"a\\\"b\",\"é\",\"\"] ") },
		{ "[\"pair\",\"a\",\"b\"]", OK("[\"a\",\"b\"] ") },
		{ "[\"nope\",\"x\"]", ERR("unknown command 'nope'; try list-commands") },
		{ "[\"a\\\"b\\n\"]", ERR("unknown command 'a\\\"b '; try list-commands") },
		{ "[\"vm-show\"]", ERR("'vm-show' takes 1 argument (usage: vm-show VM)") },
		{ "[\"vm-show\",\"a\",\"b\"]",
			ERR("'vm-show' takes 1 argument (usage: vm-show VM)") },
		{ "[\"version\",\"x\"]", ERR("'version' takes no arguments (usage: version)") },
		{ "[\"pair\"]", ERR("'pair' takes 1 to 2 arguments (usage: pair A [B])") },
		{ "[\"two\",\"a\"]", ERR("'two' takes 2 arguments (usage: two A B)") },
		{ "[\"help\",\"a\",\"b\"]",
			ERR("'help' takes at most 1 argument (usage: help [COMMAND])") },
		{ "[\"silent\"]", ERR("internal error: 'silent' gave no reply") },
		{ "[\"fail\",\"x\"]", ERR("bad \\\"x\\\" second\\\\line") },
		{ "[\"echo\",1]", ERR("malformed request: non-string element at byte 8" EXPECTED) },
	};
	size_t i;

	for (i = 0; i < RTE_DIM(cases); i++)
		CU_ASSERT_STRING_EQUAL(call(cases[i][0]), cases[i][1]);
}

/* One connection: errors keep it usable, pipelining, a split request, a double reply. */
static void
test_one_connection(void)
{
	static const char reqs[] = "[\"version\"]\n{}\n\n[\"twice\"]\n[\"vm-show\",\"a\"]\n"
				   "[\"vm-show\",\"\\u00\"]\n[\"version\"]\n";
	static const char *const replies[] = {
		OK("\"" VERSION "\""),
		ERR("malformed request: not an array at byte 0" EXPECTED),
		ERR("malformed request: empty request at byte 0" EXPECTED),
		OK("1"),
		OK("{\"vm\":\"a\",\"aux\":7}"),
		ERR("malformed request: bad \\\\u escape at byte 16" EXPECTED),
		OK("\"" VERSION "\""),
	};
	int fd = cl_connect(udpmig_ctl_server_path(srv));
	struct timespec pause = { .tv_nsec = 100 * 1000 * 1000 };
	size_t i;

	CU_ASSERT_FATAL(fd >= 0);
	cl_send(fd, reqs, sizeof(reqs) - 1); /* all in one write */
	for (i = 0; i < RTE_DIM(replies); i++) {
		CU_ASSERT(cl_line(fd) >= 0);
		CU_ASSERT_STRING_EQUAL(line, replies[i]);
	}
	/* One request in three writes with pauses (no reply in between). */
	cl_send(fd, "[\"vm-sh", 7);
	nanosleep(&pause, NULL);
	cl_send(fd, "ow\",\"v", 6);
	nanosleep(&pause, NULL);
	cl_send(fd, "m2\"]\r\n", 6);
	CU_ASSERT(cl_line(fd) >= 0);
	CU_ASSERT_STRING_EQUAL(line, OK("{\"vm\":\"vm2\",\"aux\":7}"));
	close(fd);
}

static void
test_long_lines(void)
{
	size_t max = UDPMIG_CTL_MAX_LINE, n;
	char *req = malloc(max + 8000);
	int fd;

	/* Exactly the longest line: answered. */
	n = (size_t)snprintf(req, max, "[\"echo\",\"");
	memset(req + n, 'y', max - n - 2);
	memcpy(req + max - 2, "\"]\n", 3);
	fd = cl_connect(udpmig_ctl_server_path(srv));
	cl_send(fd, req, max + 1);
	CU_ASSERT(cl_line(fd) == (ssize_t)(max + 15));
	CU_ASSERT(strncmp(line, "{\"ok\":true,\"result\":[\"yyy", 25) == 0);
	/* One byte more: refused, then closed. */
	memcpy(req + max - 2, "y\"]\n", 4);
	cl_send(fd, req, max + 2);
	CU_ASSERT(cl_line(fd) >= 0);
	CU_ASSERT_STRING_EQUAL(line, ERR("request too long (max 65536 bytes)"));
	CU_ASSERT(cl_closed(fd));
	close(fd);
	/* A long line with no newline at all. */
	memset(req, 'z', max + 8000);
	fd = cl_connect(udpmig_ctl_server_path(srv));
	cl_send(fd, req, max + 8000);
	CU_ASSERT(cl_line(fd) >= 0 && strstr(line, "request too long") != NULL);
	CU_ASSERT(cl_closed(fd));
	close(fd);
	free(req);
}

static void
test_connection_limit(void)
{
	int fds[16], fd, i;

	for (i = 0; i < 16; i++) {
		fds[i] = cl_connect(udpmig_ctl_server_path(srv));
		CU_ASSERT_FATAL(fds[i] >= 0);
		cl_send(fds[i], "[\"version\"]\n", 12); /* the server has taken it */
		CU_ASSERT(cl_line(fds[i]) > 0 && strstr(line, VERSION) != NULL);
	}
	fd = cl_connect(udpmig_ctl_server_path(srv));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(cl_line(fd) >= 0);
	CU_ASSERT_STRING_EQUAL(line, ERR("too many connections (max 16)"));
	CU_ASSERT(cl_closed(fd));
	close(fd);
	/* The 16 still work; once one goes, a new one is taken. */
	cl_send(fds[15], "[\"version\"]\n", 12);
	CU_ASSERT(cl_line(fds[15]) > 0 && strstr(line, VERSION) != NULL);
	close(fds[0]);
	usleep(100 * 1000);
	CU_ASSERT(strstr(call("[\"version\"]"), VERSION) != NULL);
	for (i = 1; i < 16; i++)
		close(fds[i]);
}

/* A reply bigger than the socket buffer, and pipelined ones, to a client that reads late. */
static void
test_queued_replies(void)
{
	int fd = cl_connect(udpmig_ctl_server_path(srv)), i;

	CU_ASSERT_FATAL(fd >= 0);
	cl_send(fd, "[\"big\",\"200000\"]\n[\"version\"]\n", 29);
	usleep(200 * 1000);
	CU_ASSERT(cl_line(fd) == 200000 + 2 + 21);
	CU_ASSERT(strncmp(line, "{\"ok\":true,\"result\":\"xxx", 24) == 0);
	CU_ASSERT(cl_line(fd) > 0 && strstr(line, VERSION) != NULL);
	for (i = 0; i < 30; i++) /* ~6 MB asked for, read late: answered as read */
		cl_send(fd, "[\"big\",\"200000\"]\n", 17);
	usleep(300 * 1000);
	for (i = 0; i < 30 && cl_line(fd) == 200023; i++)
		;
	CU_ASSERT(i == 30);
	cl_send(fd, "[\"big\",\"5000000\"]\n", 18); /* one reply over 4 MiB: closed */
	CU_ASSERT(cl_closed(fd));
	close(fd);
}

/* ---- the udpmig-ctl tool ---- */

static char cli_out[4096], cli_err[4096];

static void
read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t got;

	while (n < size - 1 && (got = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	close(fd);
}

/* Run udpmig-ctl with @args (NULL-ended), UDPMIG_RUN_DIR=@rundir if not NULL; its exit status. */
static int
run_cli(const char *rundir, const char *const args[])
{
	char *argv[16], *envp[64], env[160];
	int po[2], pe[2], status, n = 0, i;
	pid_t pid;

	argv[0] = (char *)(uintptr_t)cli;
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = (char *)(uintptr_t)args[i];
	argv[i + 1] = NULL;
	for (i = 0; environ[i] != NULL && n < 62; i++)
		if (strncmp(environ[i], "UDPMIG_RUN_DIR=", 15) != 0)
			envp[n++] = environ[i];
	snprintf(env, sizeof(env), "UDPMIG_RUN_DIR=%s", rundir != NULL ? rundir : "");
	if (rundir != NULL)
		envp[n++] = env;
	envp[n] = NULL;
	if (pipe(po) != 0 || pipe(pe) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		execve(cli, argv, envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	read_all(po[0], cli_out, sizeof(cli_out));
	read_all(pe[0], cli_err, sizeof(cli_err));
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define CLI(rundir, ...) run_cli(rundir, (const char *const[]){ __VA_ARGS__, NULL })

static void
test_cli_replies(void)
{
	const char *s = udpmig_ctl_server_path(srv);

	CU_ASSERT_FATAL(cli != NULL);
	CU_ASSERT(CLI(NULL, "-s", s, "version") == 0);
	CU_ASSERT_STRING_EQUAL(cli_out, "\"" VERSION "\"\n");
	CU_ASSERT_STRING_EQUAL(cli_err, "");
	CU_ASSERT(CLI(NULL, "--socket", s, "--timeout", "2", "echo", "a\"b\\c", "\xc3\xa9\tx", "",
			  "-x") == 0);
	CU_ASSERT_STRING_EQUAL(cli_out, "[\"a\\\"b\\\\c\",\"\xc3\xa9\\tx\",\"\",\"-x\"]\n");
	CU_ASSERT(CLI(NULL, "-s", s, "-t", "0.5", "big", "3000") == 0);
	CU_ASSERT(strlen(cli_out) == 3003 && strncmp(cli_out, "\"xxx", 4) == 0);
	CU_ASSERT(CLI(NULL, "-s", s, "vm-show") == 1);
	CU_ASSERT_STRING_EQUAL(cli_out, "");
	CU_ASSERT_STRING_EQUAL(
		cli_err, "udpmig-ctl: 'vm-show' takes 1 argument (usage: vm-show VM)\n");
	CU_ASSERT(CLI(NULL, "-s", s, "fail", "x\xc3\xa9") == 1);
	CU_ASSERT_STRING_EQUAL(cli_err, "udpmig-ctl: bad \"x\xc3\xa9\" second\\line\n");
	CU_ASSERT(CLI(NULL, "-s", s, "nope") == 1);
	CU_ASSERT_STRING_EQUAL(cli_err, "udpmig-ctl: unknown command 'nope'; try list-commands\n");
}

static void
test_cli_trouble(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec t0, t1;
	int fd;

	CU_ASSERT(CLI(NULL, "-s", tpath("none.ctl"), "version") == 2);
	CU_ASSERT(strncmp(cli_err, "udpmig-ctl: cannot connect to ", 30) == 0);
	CU_ASSERT(strchr(cli_err, '\n') == cli_err + strlen(cli_err) - 1);
	/* A socket that never answers. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tpath("mute"));
	CU_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 4) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT(CLI(NULL, "-s", tpath("mute"), "-t", "0.3", "version") == 2);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT(strstr(cli_err, "no reply from") != NULL);
	CU_ASSERT(t1.tv_sec - t0.tv_sec < 3);
	close(fd);
	unlink(tpath("mute"));
}

static void
test_cli_usage(void)
{
	static const char *const usage_errors[][4] = {
		{ "-t", "abc", NULL, "bad timeout 'abc'" },
		{ "-t", "0", NULL, "bad timeout '0'" },
		{ "--bogus", "x", NULL, "unknown option '--bogus'" },
		{ "-x", "x", NULL, "unknown option '-x'" },
		{ "-s", NULL, NULL, "option '-s' needs an argument" },
		{ "-t", "5", NULL, "no COMMAND given" },
	};
	size_t i;

	for (i = 0; i < RTE_DIM(usage_errors); i++) {
		CU_ASSERT(run_cli(NULL, usage_errors[i]) == 2);
		CU_ASSERT(strncmp(cli_err, "udpmig-ctl: ", 12) == 0 &&
			strstr(cli_err, usage_errors[i][3]) != NULL);
		CU_ASSERT(strstr(cli_err, "\ntry udpmig-ctl --help\n") != NULL);
	}
	CU_ASSERT(CLI(NULL, "--help") == 0);
	CU_ASSERT(strstr(cli_out, "list-commands shows what the server offers") != NULL);
	CU_ASSERT(strstr(cli_out, "-s, --socket") != NULL && strstr(cli_out, "migrate-abort VM"));
	CU_ASSERT(CLI(NULL, "-h", "version") == 0 && strncmp(cli_out, "Usage: ", 7) == 0);
	CU_ASSERT(CLI(NULL, "-V") == 0 && strncmp(cli_out, "udpmig-ctl ", 11) == 0);
}

static void
test_cli_default_socket(void)
{
	struct udpmig_ctl_server *other;
	char msg[256];

	CU_ASSERT(mkdir(tpath("empty"), 0755) == 0);
	CU_ASSERT(CLI(tpath("empty"), "version") == 2);
	snprintf(msg, sizeof(msg), "udpmig-ctl: no control socket in %s; give one with -s\n",
		tpath("empty"));
	CU_ASSERT_STRING_EQUAL(cli_err, msg);
	CU_ASSERT(CLI(tpath("missing"), "version") == 2 && strstr(cli_err, "no control socket"));
	rmdir(tpath("empty"));
	/* Only srv.ctl in dir (files not named *.ctl do not count). */
	CU_ASSERT(CLI(dir, "version") == 0);
	CU_ASSERT_STRING_EQUAL(cli_out, "\"" VERSION "\"\n");
	other = udpmig_ctl_server_create(tpath("other.ctl"), NULL);
	CU_ASSERT_FATAL(other != NULL);
	CU_ASSERT(CLI(dir, "version") == 2);
	CU_ASSERT(strstr(cli_err, "several control sockets in ") != NULL &&
		strstr(cli_err, "srv.ctl") != NULL && strstr(cli_err, "other.ctl") != NULL &&
		strstr(cli_err, "; pick one with -s\n") != NULL);
	udpmig_ctl_server_free(other);
}

static int
reg(int argc, char **argv)
{
	CU_pSuite pure, live;

	cli = argc > 1 ? argv[1] : NULL;
	snprintf(dir, sizeof(dir), "/tmp/udpmig-test-ctl-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	pure = CU_add_suite("udpmig_ctl", NULL, NULL);
	if (pure == NULL || CU_add_test(pure, "create: errors", test_create_errors) == NULL ||
		CU_add_test(pure, "create: live and stale sockets", test_create_live_and_stale) ==
			NULL ||
		CU_add_test(pure, "create: directory and socket modes", test_create_modes) ==
			NULL ||
		CU_add_test(pure, "register: errors", test_register_errors) == NULL ||
		CU_add_test(pure, "parse: malformed requests", test_parse_malformed) == NULL ||
		CU_add_test(pure, "parse: valid requests, escapes", test_parse_valid) == NULL ||
		CU_add_test(pure, "json_str", test_json_str) == NULL)
		return -1;
	live = CU_add_suite("udpmig_ctl server", srv_setup, srv_teardown);
	if (live == NULL || CU_add_test(live, "built-ins", test_builtins) == NULL ||
		CU_add_test(live, "commands and their errors", test_commands) == NULL ||
		CU_add_test(live, "one connection, pipelined", test_one_connection) == NULL ||
		CU_add_test(live, "long lines", test_long_lines) == NULL ||
		CU_add_test(live, "connection limit", test_connection_limit) == NULL ||
		CU_add_test(live, "queued replies", test_queued_replies) == NULL ||
		CU_add_test(live, "udpmig-ctl: replies", test_cli_replies) == NULL ||
		CU_add_test(live, "udpmig-ctl: trouble", test_cli_trouble) == NULL ||
		CU_add_test(live, "udpmig-ctl: usage", test_cli_usage) == NULL ||
		CU_add_test(live, "udpmig-ctl: default socket", test_cli_default_socket) == NULL)
		return -1;
	return 0;
}

UNIT_MAIN(reg)
