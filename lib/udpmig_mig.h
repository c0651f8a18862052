/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_MIG_H
#define UDPMIG_MIG_H
/* placeholder, being written */
#endif
