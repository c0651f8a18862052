/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_PKT_H
#define UDPMIG_PKT_H
/* placeholder, being written */
#endif
