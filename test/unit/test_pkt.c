/* SPDX-License-Identifier: BSD-3-Clause */
#include "unit.h"
static int reg(int argc, char **argv) { (void)argc; (void)argv; return 0; }
UNIT_MAIN(reg)
