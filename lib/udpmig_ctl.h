/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_CTL_H
#define UDPMIG_CTL_H

/**
 * @file
 * udpmig control socket server, modelled on OVS unixctl: a Unix stream
 * socket on which operators (the udpmig-ctl tool) run named commands.
 * Commands are registered with their argument counts and a handler; the
 * server checks the counts centrally and handlers only reply. Built-in
 * commands: list-commands (result: an array of {"name","usage"} sorted
 * by name), help [COMMAND] (an array of usage lines, or one), version
 * (a string).
 *
 * Threads: everything, handlers included, runs on the caller's thread
 * inside udpmig_ctl_server_run(), which the caller (a control thread that
 * also does other work) calls in a loop. Nothing here takes a lock; a
 * server must be used from one thread at a time. No call blocks longer
 * than the timeout it is given: every socket is non-blocking.
 *
 * Wire protocol: UTF-8 text, one request per line and one reply per
 * line, each ended by a newline (LF); a client may send several
 * requests before reading the replies (they come back in order). A
 * last request without its newline when the client shuts down its side
 * is dropped.
 *
 * - A request is a JSON array of 1 to @ref UDPMIG_CTL_MAX_ARGS strings;
 *   element 0 is the command name, the others its arguments:
 *   @code ["vm-show","vm1"] @endcode
 *   Whitespace may surround tokens. Strings take the JSON escapes (a
 *   backslash and one of the characters <tt>" \\ / b f n r t</tt>, or
 *   <tt>u</tt> and four hex digits, with surrogate pairs for characters
 *   beyond U+FFFF); an escaped U+0000, unpaired surrogates, raw control
 *   characters and invalid UTF-8 are refused. A request that is not such an array gets
 *   the error "malformed request: <what> at byte N, expected a JSON
 *   array of strings" and the connection stays usable.
 * - A request line longer than @ref UDPMIG_CTL_MAX_LINE bytes (without
 *   its newline) gets the error "request too long (max N bytes)", after
 *   which the server closes the connection.
 * - A reply is one JSON object on one line:
 *   @code {"ok":true,"result":<JSON value>} @endcode
 *   or
 *   @code {"ok":false,"error":"<one line message>"} @endcode
 *
 * The server takes at most 16 connections at a time; one more is
 * accepted, told "too many connections (max 16)" in an error reply and
 * closed. Replies a client does not read are queued (up to 4 MiB per
 * connection, beyond which the connection is closed); while a
 * connection has 64 KiB or more queued, its further requests wait.
 */

#include <stddef.h>
#include <stdio.h>

#include <rte_common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UDPMIG_CTL_MAX_LINE 65536 /**< longest request line, bytes without its newline */
#define UDPMIG_CTL_MAX_ARGS 32 /**< most elements of a request, command included */

struct udpmig_ctl_server;

/** The request being answered; valid only during its handler's call. */
struct udpmig_ctl_conn;

/**
 * A command handler. It must answer with exactly one of
 * udpmig_ctl_reply() or udpmig_ctl_reply_error() before it returns
 * (replies cannot be deferred). It may register commands, but must not
 * run or free the server.
 *
 * @param conn
 *   The request.
 * @param argc
 *   Elements in @p argv, the command name included; within the counts
 *   the command was registered with.
 * @param argv
 *   argv[0] is the command name, then the arguments (UTF-8, NUL-ended;
 *   valid only during the call).
 * @param aux
 *   As given to udpmig_ctl_register().
 */
typedef void (*udpmig_ctl_handler_t)(
	struct udpmig_ctl_conn *conn, int argc, const char *argv[], void *aux);

/** Options of a server. */
struct udpmig_ctl_conf {
	const char *group; /**< NULL: socket mode 0600 (owner only); else this group, mode 0660 */
	const char *version; /**< what the "version" built-in reports; NULL: "unknown" */
};

/**
 * Create a server listening on a Unix socket.
 *
 * The parent directory is created (mode 0755, one level) if missing. A
 * socket file left by a dead server is replaced; a live one (one that
 * accepts a connection) is not. The socket file never has a wider mode
 * than asked: the socket's inode mode is set with fchmod() before
 * bind(), which Linux gives (less the umask) to the file it creates, and
 * the group and final mode are set right after bind(). This leaves the
 * process-wide umask alone.
 *
 * @param path
 *   The socket's path.
 * @param conf
 *   Options; NULL for the defaults (mode 0600, version "unknown").
 * @return
 *   The server, or NULL with rte_errno set: EINVAL (NULL or empty path),
 *   ENAMETOOLONG (path longer than sun_path takes), ENOENT (no such
 *   group), EADDRINUSE (a live server on @p path), EEXIST (@p path
 *   exists and is not a socket), ENOTDIR (the parent is not a
 *   directory), ENOMEM, or the errno of the failing system call (e.g.
 *   EACCES, EPERM when chown to the group is not allowed).
 */
struct udpmig_ctl_server *udpmig_ctl_server_create(
	const char *path, const struct udpmig_ctl_conf *conf);

/**
 * Close the server and its connections (pending replies are dropped) and
 * remove its socket file. Accepts NULL.
 *
 * @param srv
 *   The server.
 */
void udpmig_ctl_server_free(struct udpmig_ctl_server *srv);

/**
 * The path the server listens on.
 *
 * @param srv
 *   The server.
 * @return
 *   The path (owned by the server), or NULL for a NULL server.
 */
const char *udpmig_ctl_server_path(const struct udpmig_ctl_server *srv);

/**
 * Register a command.
 *
 * @param srv
 *   The server.
 * @param name
 *   The command name, [a-z0-9-]+, at most 64 characters (copied).
 * @param usage
 *   Its arguments for help texts, e.g. "VM" or "[COMMAND]"; NULL or ""
 *   for none (copied). Help shows "name usage".
 * @param min_args
 *   Fewest arguments, the name not counted.
 * @param max_args
 *   Most arguments, at most @ref UDPMIG_CTL_MAX_ARGS - 1.
 * @param handler
 *   Called for each valid request.
 * @param aux
 *   Passed to @p handler.
 * @return
 *   0; -EINVAL (NULL server, name or handler, bad name, min_args < 0,
 *   min_args > max_args, max_args too big), -EEXIST (name already
 *   registered, built-ins included), -ENOMEM.
 */
int udpmig_ctl_register(struct udpmig_ctl_server *srv, const char *name, const char *usage,
	int min_args, int max_args, udpmig_ctl_handler_t handler, void *aux);

/**
 * One round of the server: wait up to @p timeout_ms for activity, then
 * accept connections, read, answer every complete request and write
 * replies. Handlers run inside this call.
 *
 * @param srv
 *   The server.
 * @param timeout_ms
 *   Longest wait in milliseconds; 0 does not wait, negative waits
 *   forever.
 * @return
 *   The number of requests answered (>= 0; 0 also when a signal cut the
 *   wait short), or -EINVAL (NULL server) or the negated errno of a
 *   failing poll().
 */
int udpmig_ctl_server_run(struct udpmig_ctl_server *srv, int timeout_ms);

/**
 * Answer a request with a result. A second answer to the same request is
 * ignored (and logged once per server).
 *
 * @param conn
 *   The request.
 * @param json_value
 *   The result, which the caller guarantees is valid JSON (newlines in
 *   it become spaces); NULL for null.
 */
void udpmig_ctl_reply(struct udpmig_ctl_conn *conn, const char *json_value);

/**
 * Answer a request with an error. The message is escaped for JSON and
 * its line breaks become spaces. A second answer is ignored.
 *
 * @param conn
 *   The request.
 * @param fmt
 *   printf format of the message.
 */
void udpmig_ctl_reply_error(struct udpmig_ctl_conn *conn, const char *fmt, ...)
	__rte_format_printf(2, 3);

/**
 * Write a string as a quoted JSON string: quotes, backslashes and control
 * characters are escaped, bytes that are not valid UTF-8 become U+FFFD.
 * For handlers that build replies with open_memstream().
 *
 * @param f
 *   Where.
 * @param s
 *   The string; NULL writes null.
 */
void udpmig_ctl_json_str(FILE *f, const char *s);

/**
 * Parse one request line (public for the tests and the fuzzer).
 *
 * @param line
 *   The request, without its newline; need not be NUL-ended.
 * @param len
 *   Its length.
 * @param storage
 *   Where the unescaped, NUL-ended strings go; @p len + 1 bytes always
 *   suffice.
 * @param storage_len
 *   Size of @p storage.
 * @param argv
 *   Filled with pointers into @p storage.
 * @param max_args
 *   Size of @p argv, at least 1.
 * @param err
 *   On failure, the one-line error message for the client; may be NULL.
 * @param errlen
 *   Size of @p err.
 * @return
 *   The number of elements (>= 1), or -EINVAL: a malformed request, more
 *   than @p max_args elements, @p storage too small, or a NULL or bad
 *   parameter.
 */
int udpmig_ctl_parse_request(const char *line, size_t len, char *storage, size_t storage_len,
	const char *argv[], int max_args, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* UDPMIG_CTL_H */
