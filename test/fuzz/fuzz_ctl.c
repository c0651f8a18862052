/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target of the control socket's request parser,
 * udpmig_ctl_parse_request(). Each input is one request line, copied to a
 * malloc'd buffer of exactly its size so that ASan sees any over-read.
 * Checks:
 * - the result is an element count in 1..UDPMIG_CTL_MAX_ARGS or -EINVAL
 *   with a one-line message of a known form; len + 1 bytes of storage
 *   always suffice;
 * - the strings lie inside the storage;
 * - written back with udpmig_ctl_json_str(), the strings parse to the
 *   same strings (so they hold valid UTF-8 and no NUL);
 * - with storage of half the size, the parse gives the same result or
 *   "request too long", never an overflow.
 * A violation abort()s.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpmig_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)              \
	do {                     \
		if (!(cond))     \
			abort(); \
	} while (0)

struct parsed {
	int argc;
	const char *argv[UDPMIG_CTL_MAX_ARGS];
	char err[256];
	char *storage;
	size_t storage_len;
};

static void
parse(const char *line, size_t len, size_t storage_len, struct parsed *p)
{
	int i;

	p->storage_len = storage_len;
	p->storage = malloc(storage_len > 0 ? storage_len : 1);
	CHECK(p->storage != NULL);
	p->err[0] = '\0';
	p->argc = udpmig_ctl_parse_request(line, len, p->storage, storage_len, p->argv,
		UDPMIG_CTL_MAX_ARGS, p->err, sizeof(p->err));
	if (p->argc < 0) {
		CHECK(p->argc == -EINVAL);
		CHECK(strchr(p->err, '\n') == NULL);
		CHECK(strncmp(p->err, "malformed request: ", 19) == 0 ||
			strcmp(p->err, "too many elements in request (max 32)") == 0 ||
			strncmp(p->err, "request too long (max ", 22) == 0);
		return;
	}
	CHECK(p->argc >= 1 && p->argc <= UDPMIG_CTL_MAX_ARGS);
	for (i = 0; i < p->argc; i++) {
		CHECK(p->argv[i] >= p->storage && p->argv[i] < p->storage + storage_len);
		CHECK(memchr(p->argv[i], '\0', (size_t)(p->storage + storage_len - p->argv[i])) !=
			NULL);
	}
}

static void
same(const struct parsed *a, const struct parsed *b)
{
	int i;

	CHECK(a->argc == b->argc);
	for (i = 0; i < a->argc; i++)
		CHECK(strcmp(a->argv[i], b->argv[i]) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parsed full, half, again;
	char *line, *text = NULL;
	size_t text_len = 0;
	FILE *f;
	int i;

	if (size > UDPMIG_CTL_MAX_LINE)
		return 0;
	line = malloc(size > 0 ? size : 1);
	CHECK(line != NULL);
	memcpy(line, data, size);

	parse(line, size, size + 1, &full);
	CHECK(full.argc > 0 || strncmp(full.err, "request too long", 16) != 0);

	parse(line, size, size / 2, &half);
	if (half.argc > 0)
		same(&full, &half);
	else if (full.argc > 0)
		CHECK(strncmp(half.err, "request too long", 16) == 0);

	if (full.argc > 0) {
		f = open_memstream(&text, &text_len);
		CHECK(f != NULL);
		for (i = 0; i < full.argc; i++) {
			putc(i == 0 ? '[' : ',', f);
			udpmig_ctl_json_str(f, full.argv[i]);
		}
		putc(']', f);
		CHECK(fclose(f) == 0);
		parse(text, text_len, text_len + 1, &again);
		same(&full, &again);
		free(again.storage);
		free(text);
	}
	free(half.storage);
	free(full.storage);
	free(line);
	return 0;
}
