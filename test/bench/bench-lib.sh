# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# What the benchmarks read from dpdk-testpmd's periodic stats prints
# (--stats-period 1), sourced after test/integration/lib.sh.

# bench_samples LOG KEY: port 0's KEY (Rx-pps or Tx-pps) in each stats
# print of LOG, from the first non-zero one (the rate before traffic
# flows is not the port's).
bench_samples() {
	python3 - "$1" "$2" <<'EOF'
import re, sys
try:
    txt = open(sys.argv[1], errors="replace").read()
except OSError:
    sys.exit(0)
v = [int(x) for x in re.findall(r"NIC statistics for port 0 .*?" + sys.argv[2] + r":\s+(\d+)", txt, re.S)]
while v and v[0] == 0:
    v.pop(0)
print(*v)
EOF
}

# bench_pps LOG KEY: the mean of the SECS samples after the first (a
# partial second).
# shellcheck disable=SC2046 # the samples, one argument each
bench_pps() {
	python3 -c 'import sys
v = [int(x) for x in sys.argv[2:]][1:1 + int(sys.argv[1])]
print(sum(v) // len(v) if v else 0)' "${SECS:?}" $(bench_samples "$1" "$2")
}
