/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket server. Each connection has an input buffer of one
 * maximal line (plus its newline) and an output queue. A poll round
 * reads what is there, answers every complete line in order and writes
 * as much of the queue as the socket takes; the rest waits for POLLOUT
 * in a later round. A connection with a long queue is not read until
 * the queue shrinks (back-pressure on clients that pipeline without
 * reading); one whose queue would pass OUT_MAX is closed.
 *
 * A request's strings are unescaped into one server-wide buffer: only
 * one request is answered at a time, on the caller's thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_debug.h>
#include <rte_errno.h>
#include <rte_log.h>

#include "udpmig_ctl.h"
#include "udpmig_priv.h"

RTE_LOG_REGISTER(udpmig_ctl_logtype, udpmig.ctl, INFO);
#define CTL_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, udpmig_ctl_logtype, "udpmig.ctl: " fmt "\n", ##__VA_ARGS__)

#define MAX_CONNS    16
#define MAX_NAME     64
#define IN_SIZE      (UDPMIG_CTL_MAX_LINE + 1) /* a line and its newline */
#define OUT_HIGH     (64u << 10) /* stop reading a connection with this much queued */
#define OUT_MAX      (4u << 20) /* close a connection that would queue more */
#define ACCEPT_BATCH 32
#define READ_ROUNDS  8
#define DRAIN_MAX    (1u << 20)
#define BACKLOG      64

#define OK_HEAD  "{\"ok\":true,\"result\":"
#define ERR_HEAD "{\"ok\":false,\"error\":"
#define BUSY_MSG ERR_HEAD "\"too many connections (max " RTE_STR(MAX_CONNS) ")\"}\n"

struct cmd {
	char *name;
	char *usage; /* "name args" */
	int min_args;
	int max_args;
	udpmig_ctl_handler_t handler;
	void *aux;
};

struct udpmig_ctl_conn {
	struct udpmig_ctl_server *srv;
	int fd;
	bool eof; /* the peer sends no more: close once the queue is written */
	bool closing; /* read no more: close once the queue is written */
	bool dead; /* close now */
	bool replied; /* the request being answered has its reply */
	const char *cmd; /* its command name, for logs */
	char *in; /* IN_SIZE bytes */
	size_t in_len;
	char *out; /* queued reply bytes: [out_off, out_len) */
	size_t out_off;
	size_t out_len;
	size_t out_cap;
};

struct udpmig_ctl_server {
	int fd; /* listening socket, -1 before bind */
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	dev_t dev; /* of the socket file, so free() unlinks only ours */
	ino_t ino;
	char *version;
	char *storage; /* IN_SIZE bytes: the strings of the current request */
	struct cmd *cmds; /* sorted by name */
	int n_cmds;
	int cap_cmds;
	struct udpmig_ctl_conn *conns[MAX_CONNS];
	int n_conns;
	bool double_reply_logged;
};

/* ---- JSON text ---- */

/* Length of the valid UTF-8 sequence at @p (@n bytes readable), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = p[0] & (0x7fu >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		(cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static size_t
utf8_put(char *d, uint32_t cp)
{
	static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4, i;

	for (i = n - 1; i > 0; i--, cp >>= 6)
		d[i] = (char)(0x80 | (cp & 0x3f));
	d[0] = (char)(lead[n] | cp);
	return n;
}

/* The characters JSON escapes with a letter, and the letters. */
static const char esc_chr[] = "\"\\/\b\f\n\r\t";
static const char esc_let[] = "\"\\/bfnrt";

void
udpmig_ctl_json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *e;
	size_t rest, n;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (rest = strlen(s); rest > 0; p += n, rest -= n) {
		n = *p < 0x80 ? 1 : utf8_seq(p, rest);
		e = *p != '/' ? memchr(esc_chr, *p, sizeof(esc_chr) - 1) : NULL;
		if (e != NULL)
			fprintf(f, "\\%c", esc_let[e - esc_chr]);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else if (n == 0)
			fputs("\\ufffd", f);
		else
			fwrite(p, 1, n, f);
		n = RTE_MAX(n, (size_t)1);
	}
	putc('"', f);
}

/* ---- request parser ---- */

struct pstate {
	const unsigned char *s;
	size_t len;
	size_t i; /* next input byte */
	char *out;
	size_t out_len;
	size_t o; /* next output byte */
};

static const char no_room[] = "no room"; /* storage too small */
static const char too_many[] = "too many";

static void
skip_ws(struct pstate *ps)
{
	while (ps->i < ps->len && memchr(" \t\r\n", ps->s[ps->i], 4) != NULL)
		ps->i++;
}

static bool
put(struct pstate *ps, const void *b, size_t n)
{
	if (ps->out_len - ps->o < n)
		return false;
	memcpy(ps->out + ps->o, b, n);
	ps->o += n;
	return true;
}

/* Four hex digits at the input position (consumed), or -1. */
static int32_t
hex4(struct pstate *ps)
{
	int32_t v = 0;
	unsigned int d;
	int k;

	for (k = 0; k < 4; k++, ps->i++) {
		d = ps->i < ps->len ? ps->s[ps->i] | 0x20u : 0;
		if (d >= '0' && d <= '9')
			v = v << 4 | (int32_t)(d - '0');
		else if (d >= 'a' && d <= 'f')
			v = v << 4 | (int32_t)(d - 'a' + 10);
		else
			return -1;
	}
	return v;
}

/* The rest of a \u escape (after the 'u'), a surrogate pair whole. */
static const char *
parse_u(struct pstate *ps, uint32_t *cp)
{
	int32_t hi = hex4(ps), lo;

	if (hi < 0)
		return "bad \\u escape";
	if (hi == 0)
		return "\\u0000 in string";
	*cp = (uint32_t)hi;
	if (hi < 0xd800 || hi > 0xdfff)
		return NULL;
	if (hi >= 0xdc00 || ps->i + 1 >= ps->len || ps->s[ps->i] != '\\' || ps->s[ps->i + 1] != 'u')
		return "unpaired surrogate";
	ps->i += 2;
	lo = hex4(ps);
	if (lo < 0xdc00 || lo > 0xdfff)
		return lo < 0 ? "bad \\u escape" : "unpaired surrogate";
	*cp = 0x10000 + ((uint32_t)(hi - 0xd800) << 10) + (uint32_t)(lo - 0xdc00);
	return NULL;
}

/* The string whose opening quote is at the input position; NULL or what is wrong. */
static const char *
parse_string(struct pstate *ps)
{
	const char *e, *what;
	uint32_t cp;
	char u[4];
	size_t n;

	for (ps->i++;;) {
		if (ps->i >= ps->len)
			return "unterminated string";
		if (ps->s[ps->i] == '"') {
			ps->i++;
			return put(ps, "", 1) ? NULL : no_room;
		}
		if (ps->s[ps->i] < 0x20)
			return "control character in string";
		if (ps->s[ps->i] != '\\') {
			n = utf8_seq(ps->s + ps->i, ps->len - ps->i);
			if (n == 0)
				return "invalid UTF-8";
			if (!put(ps, ps->s + ps->i, n))
				return no_room;
			ps->i += n;
			continue;
		}
		if (++ps->i >= ps->len)
			return "unterminated string";
		if (ps->s[ps->i] == 'u') {
			ps->i++;
			what = parse_u(ps, &cp);
			if (what != NULL)
				return what;
			n = utf8_put(u, cp);
		} else {
			e = memchr(esc_let, ps->s[ps->i], sizeof(esc_let) - 1);
			if (e == NULL)
				return "bad escape";
			u[0] = esc_chr[e - esc_let];
			n = 1;
			ps->i++;
		}
		if (!put(ps, u, n))
			return no_room;
	}
}

/* The elements of the array whose '[' is at the input position; NULL or what is wrong. */
static const char *
parse_elements(struct pstate *ps, const char *argv[], int max_args, int *argc)
{
	const char *what;

	ps->i++;
	skip_ws(ps);
	if (ps->i < ps->len && ps->s[ps->i] == ']')
		return "empty array";
	for (;;) {
		skip_ws(ps);
		if (ps->i >= ps->len)
			return "unterminated array";
		if (ps->s[ps->i] != '"')
			return "non-string element";
		if (*argc == max_args)
			return too_many;
		argv[*argc] = ps->out + ps->o;
		what = parse_string(ps);
		if (what != NULL)
			return what;
		(*argc)++;
		skip_ws(ps);
		if (ps->i >= ps->len)
			return "unterminated array";
		if (ps->s[ps->i] == ']')
			break;
		if (ps->s[ps->i] != ',')
			return "expected ',' or ']'";
		ps->i++;
	}
	ps->i++;
	skip_ws(ps);
	return ps->i < ps->len ? "trailing garbage" : NULL;
}

int
udpmig_ctl_parse_request(const char *line, size_t len, char *storage, size_t storage_len,
	const char *argv[], int max_args, char *err, size_t errlen)
{
	struct pstate ps = {
		.s = (const unsigned char *)line,
		.len = len,
		.out = storage,
		.out_len = storage_len,
	};
	const char *what;
	int argc = 0;

	if ((line == NULL && len > 0) || storage == NULL || argv == NULL || max_args < 1) {
		udpmig_set_err(err, errlen, "invalid parser arguments");
		return -EINVAL;
	}
	skip_ws(&ps);
	if (ps.i >= ps.len)
		what = "empty request";
	else if (ps.s[ps.i] != '[')
		what = "not an array";
	else
		what = parse_elements(&ps, argv, max_args, &argc);
	if (what == NULL)
		return argc;
	if (what == no_room)
		udpmig_set_err(err, errlen, "request too long (max %zu bytes)",
			storage_len > 0 ? storage_len - 1 : 0);
	else if (what == too_many)
		udpmig_set_err(err, errlen, "too many elements in request (max %d)", max_args);
	else
		udpmig_set_err(err, errlen,
			"malformed request: %s at byte %zu, expected a JSON array of strings", what,
			ps.i);
	return -EINVAL;
}

/* ---- replies ---- */

static size_t
pending(const struct udpmig_ctl_conn *c)
{
	return c->out_len - c->out_off;
}

/* Room for @n more queued bytes, or NULL (and the connection dies). */
static char *
out_reserve(struct udpmig_ctl_conn *c, size_t n)
{
	size_t cap;
	char *p;

	if (c->dead)
		return NULL;
	if (pending(c) + n > OUT_MAX) {
		CTL_LOG(WARNING, "fd %d: more than %u bytes of replies unread, closing", c->fd,
			OUT_MAX);
		c->dead = true;
		return NULL;
	}
	if (c->out_len + n > c->out_cap && c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > c->out_cap) {
		cap = RTE_MAX(RTE_MAX(c->out_cap * 2, c->out_len + n), (size_t)4096);
		p = realloc(c->out, cap);
		if (p == NULL) {
			CTL_LOG(ERR, "fd %d: no memory for a reply, closing", c->fd);
			c->dead = true;
			return NULL;
		}
		c->out = p;
		c->out_cap = cap;
	}
	p = c->out + c->out_len;
	c->out_len += n;
	return p;
}

/* Queue @head, @body with its line breaks made spaces, and "}\n". */
static void
put_reply(struct udpmig_ctl_conn *c, const char *head, const char *body, size_t len)
{
	size_t hlen = strlen(head), i;
	char *p = out_reserve(c, hlen + len + 2);

	if (p == NULL)
		return;
	memcpy(p, head, hlen);
	p += hlen;
	for (i = 0; i < len; i++)
		p[i] = body[i] == '\n' || body[i] == '\r' ? ' ' : body[i];
	memcpy(p + len, "}\n", 2);
}

/* Whether @conn may still reply; marks it replied. */
static bool
reply_claim(struct udpmig_ctl_conn *conn)
{
	if (conn == NULL)
		return false;
	if (conn->replied) {
		RTE_ASSERT(!conn->replied);
		if (!conn->srv->double_reply_logged)
			CTL_LOG(ERR, "'%s' replied twice; ignored the second reply",
				conn->cmd != NULL ? conn->cmd : "?");
		conn->srv->double_reply_logged = true;
		return false;
	}
	conn->replied = true;
	return true;
}

void
udpmig_ctl_reply(struct udpmig_ctl_conn *conn, const char *json_value)
{
	if (!reply_claim(conn))
		return;
	if (json_value == NULL)
		json_value = "null";
	put_reply(conn, OK_HEAD, json_value, strlen(json_value));
}

void
udpmig_ctl_reply_error(struct udpmig_ctl_conn *conn, const char *fmt, ...)
{
	char *msg = NULL, *json = NULL;
	size_t len = 0;
	va_list ap;
	FILE *f;
	int rc;

	if (!reply_claim(conn))
		return;
	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	f = rc < 0 ? NULL : open_memstream(&json, &len);
	if (f == NULL) {
		free(msg);
		put_reply(conn, ERR_HEAD, "\"out of memory\"", 15);
		return;
	}
	for (rc = 0; msg[rc] != '\0'; rc++)
		if (msg[rc] == '\n' || msg[rc] == '\r')
			msg[rc] = ' ';
	udpmig_ctl_json_str(f, msg);
	if (fclose(f) != 0)
		put_reply(conn, ERR_HEAD, "\"out of memory\"", 15);
	else
		put_reply(conn, ERR_HEAD, json, len);
	free(json);
	free(msg);
}

/* ---- commands ---- */

static const struct cmd *
cmd_find(const struct udpmig_ctl_server *srv, const char *name)
{
	int i;

	for (i = 0; i < srv->n_cmds; i++)
		if (strcmp(srv->cmds[i].name, name) == 0)
			return &srv->cmds[i];
	return NULL;
}

static bool
name_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return false;
	return n > 0 && n <= MAX_NAME;
}

int
udpmig_ctl_register(struct udpmig_ctl_server *srv, const char *name, const char *usage,
	int min_args, int max_args, udpmig_ctl_handler_t handler, void *aux)
{
	struct cmd c, *cmds;
	int cap, i;

	if (srv == NULL || name == NULL || handler == NULL || !name_ok(name) || min_args < 0 ||
		min_args > max_args || max_args > UDPMIG_CTL_MAX_ARGS - 1)
		return -EINVAL;
	if (cmd_find(srv, name) != NULL)
		return -EEXIST;
	if (srv->n_cmds == srv->cap_cmds) {
		cap = srv->cap_cmds == 0 ? 16 : srv->cap_cmds * 2;
		cmds = realloc(srv->cmds, sizeof(*cmds) * (size_t)cap);
		if (cmds == NULL)
			return -ENOMEM;
		srv->cmds = cmds;
		srv->cap_cmds = cap;
	}
	c = (struct cmd){
		.name = strdup(name),
		.min_args = min_args,
		.max_args = max_args,
		.handler = handler,
		.aux = aux,
	};
	if (asprintf(&c.usage, "%s%s%s", name, usage != NULL && *usage != '\0' ? " " : "",
		    usage != NULL ? usage : "") < 0)
		c.usage = NULL;
	if (c.name == NULL || c.usage == NULL) {
		free(c.name);
		free(c.usage);
		return -ENOMEM;
	}
	for (i = srv->n_cmds; i > 0 && strcmp(srv->cmds[i - 1].name, name) > 0; i--)
		srv->cmds[i] = srv->cmds[i - 1];
	srv->cmds[i] = c;
	srv->n_cmds++;
	return 0;
}

/* list-commands, help [COMMAND] and version. */
static void
builtin(struct udpmig_ctl_conn *conn, int argc, const char *argv[], void *aux)
{
	const struct udpmig_ctl_server *srv = aux;
	bool list = strcmp(argv[0], "list-commands") == 0;
	const struct cmd *one = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int i;

	if (argc > 1 && (one = cmd_find(srv, argv[1])) == NULL) {
		udpmig_ctl_reply_error(conn, "unknown command '%s'; try list-commands", argv[1]);
		return;
	}
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		udpmig_ctl_reply_error(conn, "out of memory");
		return;
	}
	if (strcmp(argv[0], "version") == 0 || one != NULL) {
		udpmig_ctl_json_str(f, one != NULL ? one->usage : srv->version);
	} else {
		for (i = 0; i < srv->n_cmds; i++) {
			putc(i == 0 ? '[' : ',', f);
			if (list) {
				fputs("{\"name\":", f);
				udpmig_ctl_json_str(f, srv->cmds[i].name);
				fputs(",\"usage\":", f);
			}
			udpmig_ctl_json_str(f, srv->cmds[i].usage);
			if (list)
				putc('}', f);
		}
		putc(']', f);
	}
	if (fclose(f) != 0)
		udpmig_ctl_reply_error(conn, "out of memory");
	else
		udpmig_ctl_reply(conn, buf);
	free(buf);
}

/* "1 argument", "no arguments", "1 to 2 arguments", "at most 1 argument". */
static void
takes_str(const struct cmd *cmd, char *s, size_t n)
{
	const char *plural = cmd->max_args == 1 ? "" : "s";

	if (cmd->max_args == 0)
		snprintf(s, n, "no arguments");
	else if (cmd->min_args == cmd->max_args)
		snprintf(s, n, "%d argument%s", cmd->max_args, plural);
	else if (cmd->min_args == 0)
		snprintf(s, n, "at most %d argument%s", cmd->max_args, plural);
	else
		snprintf(s, n, "%d to %d arguments", cmd->min_args, cmd->max_args);
}

static void
dispatch(struct udpmig_ctl_server *srv, struct udpmig_ctl_conn *c, const char *line, size_t len)
{
	const char *argv[UDPMIG_CTL_MAX_ARGS];
	const struct cmd *cmd;
	char err[160];
	int argc;

	c->replied = false;
	c->cmd = NULL;
	argc = udpmig_ctl_parse_request(
		line, len, srv->storage, IN_SIZE, argv, UDPMIG_CTL_MAX_ARGS, err, sizeof(err));
	if (argc < 0) {
		udpmig_ctl_reply_error(c, "%s", err);
		return;
	}
	c->cmd = argv[0];
	cmd = cmd_find(srv, argv[0]);
	if (cmd == NULL) {
		udpmig_ctl_reply_error(c, "unknown command '%s'; try list-commands", argv[0]);
		return;
	}
	if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
		takes_str(cmd, err, sizeof(err));
		udpmig_ctl_reply_error(c, "'%s' takes %s (usage: %s)", cmd->name, err, cmd->usage);
		return;
	}
	CTL_LOG(DEBUG, "fd %d: %s, %d argument(s)", c->fd, cmd->name, argc - 1);
	/* The handler may register commands: use argv[0], not cmd, after it. */
	cmd->handler(c, argc, argv, cmd->aux);
	if (!c->replied) {
		CTL_LOG(ERR, "'%s' gave no reply", argv[0]);
		udpmig_ctl_reply_error(c, "internal error: '%s' gave no reply", argv[0]);
	}
}

/* ---- connections ---- */

/* Read and drop what the peer sent, so that close() does not reset it. */
static void
drain(int fd)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while (total < DRAIN_MAX && (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
}

static void
conn_close(struct udpmig_ctl_conn *c)
{
	if (!c->dead)
		drain(c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void
conn_flush(struct udpmig_ctl_conn *c)
{
	ssize_t n;

	while (pending(c) > 0 && !c->dead) {
		n = send(c->fd, c->out + c->out_off, pending(c), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true;
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > OUT_HIGH) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
}

/*
 * Answer the complete lines in the input buffer, until the queue reaches
 * OUT_HIGH (the rest wait); returns how many.
 */
static int
conn_lines(struct udpmig_ctl_server *srv, struct udpmig_ctl_conn *c)
{
	char *start = c->in, *end = c->in + c->in_len, *nl;
	int answered = 0;

	while (!c->dead && pending(c) < OUT_HIGH &&
		(nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
		dispatch(srv, c, start, (size_t)(nl - start));
		answered++;
		start = nl + 1;
	}
	c->in_len = (size_t)(end - start);
	memmove(c->in, start, c->in_len);
	if (c->in_len == IN_SIZE && memchr(c->in, '\n', IN_SIZE) == NULL) {
		c->replied = false;
		c->cmd = NULL;
		udpmig_ctl_reply_error(c, "request too long (max %d bytes)", UDPMIG_CTL_MAX_LINE);
		c->closing = true;
		c->in_len = 0;
		answered++;
	}
	return answered;
}

/* Write the queue and answer waiting lines while the socket takes the replies. */
static int
conn_pump(struct udpmig_ctl_server *srv, struct udpmig_ctl_conn *c)
{
	int answered = 0, n;

	for (;;) {
		conn_flush(c);
		if (c->dead || pending(c) >= OUT_HIGH)
			return answered;
		n = conn_lines(srv, c);
		if (n == 0)
			return answered;
		answered += n;
	}
}

static int
conn_read(struct udpmig_ctl_server *srv, struct udpmig_ctl_conn *c)
{
	int answered = 0, round;
	ssize_t n;

	for (round = 0; round < READ_ROUNDS; round++) {
		if (c->dead || c->closing || c->eof || pending(c) >= OUT_HIGH ||
			c->in_len == IN_SIZE)
			break;
		n = recv(c->fd, c->in + c->in_len, IN_SIZE - c->in_len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				CTL_LOG(DEBUG, "fd %d: %s", c->fd, strerror(errno));
				c->dead = true;
			}
			break;
		}
		if (n == 0) {
			c->eof = true;
			break;
		}
		c->in_len += (size_t)n;
		answered += conn_pump(srv, c);
	}
	return answered;
}

static void
accept_new(struct udpmig_ctl_server *srv)
{
	struct udpmig_ctl_conn *c;
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				errno != ECONNABORTED)
				CTL_LOG(ERR, "accept on %s: %s", srv->path, strerror(errno));
			return;
		}
		if (srv->n_conns == MAX_CONNS) {
			CTL_LOG(DEBUG, "%s: too many connections, refused one", srv->path);
			drain(fd);
			send(fd, BUSY_MSG, sizeof(BUSY_MSG) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c != NULL)
			c->in = malloc(IN_SIZE);
		if (c == NULL || c->in == NULL) {
			CTL_LOG(ERR, "%s: no memory for a connection", srv->path);
			free(c);
			close(fd);
			return;
		}
		c->srv = srv;
		c->fd = fd;
		srv->conns[srv->n_conns++] = c;
	}
}

int
udpmig_ctl_server_run(struct udpmig_ctl_server *srv, int timeout_ms)
{
	struct udpmig_ctl_conn *polled[MAX_CONNS], *c;
	struct pollfd pfd[1 + MAX_CONNS];
	int answered = 0, np, i, ret;
	short ev;

	if (srv == NULL)
		return -EINVAL;
	pfd[0] = (struct pollfd){ .fd = srv->fd, .events = POLLIN };
	for (np = 1, i = 0; i < srv->n_conns; i++, np++) {
		c = srv->conns[i];
		ev = 0;
		if (!c->eof && !c->closing && pending(c) < OUT_HIGH)
			ev |= POLLIN;
		if (pending(c) > 0)
			ev |= POLLOUT;
		pfd[np] = (struct pollfd){ .fd = c->fd, .events = ev };
		polled[i] = c;
	}
	if (poll(pfd, (nfds_t)np, timeout_ms) < 0) {
		if (errno == EINTR)
			return 0;
		ret = -errno;
		CTL_LOG(ERR, "poll on %s: %s", srv->path, strerror(errno));
		return ret;
	}
	for (i = 1; i < np; i++) {
		c = polled[i - 1];
		if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
			answered += conn_read(srv, c);
		if ((pfd[i].revents & (POLLOUT | POLLHUP | POLLERR)) != 0)
			answered += conn_pump(srv, c);
	}
	/* Reap before accepting: a client that left makes room for a new one. */
	for (i = 0; i < srv->n_conns;) {
		c = srv->conns[i];
		if (c->dead || ((c->eof || c->closing) && pending(c) == 0)) {
			conn_close(c);
			srv->conns[i] = srv->conns[--srv->n_conns];
		} else {
			i++;
		}
	}
	if ((pfd[0].revents & POLLIN) != 0)
		accept_new(srv);
	return answered;
}

/* ---- the socket ---- */

static int
group_gid(const char *name, gid_t *gid)
{
	const size_t size = 256u << 10; /* room for a big member list */
	struct group gr, *res = NULL;
	char *buf = malloc(size);
	int rc;

	if (buf == NULL)
		return ENOMEM;
	rc = getgrnam_r(name, &gr, buf, size, &res);
	if (rc == 0 && res == NULL)
		rc = ENOENT;
	if (rc == 0)
		*gid = gr.gr_gid;
	free(buf);
	return rc;
}

/* Create the parent directory of @path if it is missing (one level). */
static int
make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0) {
		/* Undo the umask: clients of a group socket must reach it. */
		if (chmod(dir, 0755) != 0)
			return errno;
		CTL_LOG(INFO, "created %s", dir);
		return 0;
	}
	if (errno != EEXIST)
		return errno;
	if (stat(dir, &st) != 0)
		return errno;
	return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* 0 if nothing is at @sa's path or a stale socket was removed, else an errno. */
static int
clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) != 0)
		return errno == ENOENT ? 0 : errno;
	if (!S_ISSOCK(st.st_mode))
		return EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? 0 : errno;
	close(fd);
	if (rc == 0 || rc == EAGAIN || rc == EINPROGRESS)
		return EADDRINUSE;
	if (rc == ENOENT)
		return 0;
	if (rc != ECONNREFUSED)
		return rc;
	if (unlink(sa->sun_path) != 0 && errno != ENOENT)
		return errno;
	CTL_LOG(NOTICE, "removed the stale socket %s", sa->sun_path);
	return 0;
}

/*
 * Bind and listen. The socket inode gets the narrowest mode first: Linux
 * gives the file bind() creates the socket's inode mode less the umask,
 * so the file is never wider than 0600 until the group is set.
 */
static int
listen_on(struct udpmig_ctl_server *srv, const struct sockaddr_un *sa, gid_t gid, mode_t mode)
{
	struct stat st;
	int ret;

	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0)
		return errno;
	if (fchmod(srv->fd, 0600) != 0)
		return errno;
	if (bind(srv->fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0)
		return errno;
	if ((gid != (gid_t)-1 && chown(sa->sun_path, (uid_t)-1, gid) != 0) ||
		chmod(sa->sun_path, mode) != 0 || lstat(sa->sun_path, &st) != 0 ||
		listen(srv->fd, BACKLOG) != 0) {
		ret = errno;
		unlink(sa->sun_path);
		return ret;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	return 0;
}

static void
srv_destroy(struct udpmig_ctl_server *srv)
{
	int i;

	for (i = 0; i < srv->n_conns; i++)
		conn_close(srv->conns[i]);
	if (srv->fd >= 0)
		close(srv->fd);
	for (i = 0; i < srv->n_cmds; i++) {
		free(srv->cmds[i].name);
		free(srv->cmds[i].usage);
	}
	free(srv->cmds);
	free(srv->version);
	free(srv->storage);
	free(srv);
}

struct udpmig_ctl_server *
udpmig_ctl_server_create(const char *path, const struct udpmig_ctl_conf *conf)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct udpmig_ctl_server *srv = NULL;
	gid_t gid = (gid_t)-1;
	mode_t mode = 0600;
	int ret;

	if (path == NULL || *path == '\0') {
		ret = EINVAL;
		goto fail;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		ret = ENAMETOOLONG;
		goto fail;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (conf != NULL && conf->group != NULL) {
		ret = group_gid(conf->group, &gid);
		if (ret != 0) {
			CTL_LOG(ERR, "%s: group '%s': %s", path, conf->group,
				ret == ENOENT ? "no such group" : strerror(ret));
			goto fail;
		}
		mode = 0660;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		ret = ENOMEM;
		goto fail;
	}
	srv->fd = -1;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	srv->version = strdup(conf != NULL && conf->version != NULL ? conf->version : "unknown");
	srv->storage = malloc(IN_SIZE);
	if (srv->version == NULL || srv->storage == NULL ||
		udpmig_ctl_register(srv, "list-commands", NULL, 0, 0, builtin, srv) != 0 ||
		udpmig_ctl_register(srv, "help", "[COMMAND]", 0, 1, builtin, srv) != 0 ||
		udpmig_ctl_register(srv, "version", NULL, 0, 0, builtin, srv) != 0) {
		ret = ENOMEM;
		goto fail;
	}
	ret = make_parent(path);
	if (ret == 0)
		ret = clear_stale(&sa);
	if (ret == 0)
		ret = listen_on(srv, &sa, gid, mode);
	if (ret != 0) {
		CTL_LOG(ERR, "cannot listen on %s: %s", path,
			ret == EADDRINUSE ? "a server is running there" : strerror(ret));
		goto fail;
	}
	CTL_LOG(INFO, "listening on %s (mode %04o%s%s)", path, (unsigned int)mode,
		gid != (gid_t)-1 ? ", group " : "", gid != (gid_t)-1 ? conf->group : "");
	return srv;

fail:
	if (srv != NULL)
		srv_destroy(srv);
	rte_errno = ret;
	return NULL;
}

void
udpmig_ctl_server_free(struct udpmig_ctl_server *srv)
{
	struct stat st;

	if (srv == NULL)
		return;
	/* Unlink the file only if it is still ours, not a successor's. */
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	CTL_LOG(INFO, "closed %s", srv->path);
	srv_destroy(srv);
}

const char *
udpmig_ctl_server_path(const struct udpmig_ctl_server *srv)
{
	return srv != NULL ? srv->path : NULL;
}
