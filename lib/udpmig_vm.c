/* SPDX-License-Identifier: BSD-3-Clause */
#include "udpmig_vm.h"
