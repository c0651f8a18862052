/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_PRIV_H
#define UDPMIG_PRIV_H

/**
 * @file
 * Helpers shared by the lib modules; not part of the public API.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/**
 * Write a one-line error into a caller's buffer, if it gave one.
 *
 * @param err
 *   The buffer, or NULL.
 * @param errlen
 *   Its size.
 * @param fmt
 *   printf format.
 */
static inline void __attribute__((format(printf, 3, 4)))
udpmig_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* UDPMIG_PRIV_H */
