/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UDPMIG_VM_H
#define UDPMIG_VM_H
/* placeholder, being written */
#endif
