/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_BUF_H
#define UDPMIG_BUF_H
/* placeholder, being written */
#endif
