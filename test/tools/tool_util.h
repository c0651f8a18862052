/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TOOL_UTIL_H
#define TOOL_UTIL_H

/* Helpers shared by the test tools (udpmig-guest, udpmig-send). */

#include <stdbool.h>
#include <stdint.h>

/* Parse an unsigned number in [min, max]; false, with "PROG: --opt: ..." printed, otherwise. */
bool tool_parse_u64(const char *prog, const char *opt, const char *s, uint64_t min, uint64_t max,
	uint64_t *out);

/* Parse a number of seconds (decimals allowed) into nanoseconds; false with a message otherwise. */
bool tool_parse_seconds(const char *prog, const char *opt, const char *s, uint64_t *ns);

/* Create (or truncate) a ready file holding our PID; 0 or a negative errno. */
int tool_touch(const char *path);

/* Sleep for ns nanoseconds. */
void tool_sleep_ns(uint64_t ns);

#endif /* TOOL_UTIL_H */
