#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Set up this machine, build, and run every udpmig test:
#   1. scripts/setup.sh (packages, DPDK driver SDK headers, hugepages)
#   2. format: project C sources are clang-formatted
#   3. unit: the CUnit suites (gcc build in build/)
#   4. sanitizers: the CUnit suites again under ASan+UBSan, and the
#      libFuzzer targets (clang build in build-san/)
#   5. integration: real DPDK processes (testpmd with the net_vhook driver,
#      vhost-user sockets, virtio-user guest stand-ins, the sender), suites
#      integration, ovs (two Open vSwitch instances) and qemu (QEMU guests)
#   6. bench: the benchmarks (they report; only a crash or a missing figure fails)
# The last line is "N passed, N failed" over every test that ran.
#
# Environment: UDPMIG_SKIP_SETUP=1 skips step 1; UDPMIG_SKIP_SAN=1 skips 4;
# UDPMIG_SKIP_INTEGRATION=1 skips 5; UDPMIG_SKIP_BENCH=1 skips 6.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT

say() { printf '\n=== %s\n' "$*"; }
# record NAME passed|failed|skipped [COUNT]
record() { printf '%s %s %s\n' "$1" "$2" "${3:-1}" >> "$RESULTS"; }

# Add up a meson build's test log: a CUnit program counts its own tests
# (its "udpmig-result:" line), any other test counts as one.
count_meson() {
	local log=$1/meson-logs/testlog.json
	[ -f "$log" ] || { record "$2" failed; return; }
	python3 - "$log" "$2" >> "$RESULTS" <<'EOF'
import json, re, sys
log, tag = sys.argv[1], sys.argv[2]
for line in open(log):
    t = json.loads(line)
    name = f"{tag}/{t['name']}".replace(" ", "")
    m = re.findall(r"^udpmig-result: (\d+) passed, (\d+) failed$", t.get("stdout") or "", re.M)
    ok = t["result"] == "OK"
    if t["result"] == "SKIP":
        print(name, "skipped", 1)
    elif m:
        p, f = map(int, m[-1])
        if not ok and f == 0:
            f = 1  # crashed, timed out or failed after its summary
        print(name, "passed", p)
        print(name, "failed", f)
    else:
        print(name, "passed" if ok else "failed", 1)
EOF
}

# 1. Set-up -----------------------------------------------------------------
if [ "${UDPMIG_SKIP_SETUP:-0}" != 1 ]; then
	say "setup"
	if [ "$(id -u)" -ne 0 ]; then
		echo "test: run as root (it installs packages and reserves hugepages): sudo $0" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	if ! "$ROOT/scripts/setup.sh"; then
		echo "test: scripts/setup.sh failed" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

# 2. Format -----------------------------------------------------------------
say "format"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t SRCS < <(git -C "$ROOT" ls-files -co --exclude-standard '*.c' '*.h')
else
	mapfile -t SRCS < <(find lib drivers app test -name '*.[ch]')
fi
if clang-format --dry-run -Werror "${SRCS[@]}"; then
	echo "format: ${#SRCS[@]} files clean"
	record format passed
else
	echo "format: run clang-format -i on the files above"
	record format failed
fi

# 3. Unit (gcc) ---------------------------------------------------------------
say "build (gcc) and unit tests"
if { [ -d build ] && meson setup --reconfigure build >/dev/null || meson setup build; } &&
	ninja -C build; then
	meson test -C build --suite unit --print-errorlogs --num-processes 1
	count_meson build unit
else
	record build failed
fi

# 4. Sanitizers and fuzzers (clang) -------------------------------------------
if [ "${UDPMIG_SKIP_SAN:-0}" != 1 ]; then
	say "build (clang, ASan+UBSan), unit tests and fuzzers"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	export LSAN_OPTIONS=suppressions=$ROOT/test/lsan.supp:print_suppressions=0
	if { [ -d build-san ] && meson setup --reconfigure build-san >/dev/null ||
		CC=clang meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false \
			-Dc_args=-fno-sanitize-recover=all -Dfuzz=enabled; } &&
		ninja -C build-san; then
		meson test -C build-san --suite unit --suite fuzz --print-errorlogs --num-processes 1
		count_meson build-san san
	else
		record build-san failed
	fi
fi

# 5. Integration (gcc build, real processes) -----------------------------------
if [ "${UDPMIG_SKIP_INTEGRATION:-0}" != 1 ] && [ -f build/build.ninja ]; then
	say "integration tests (real DPDK processes, Open vSwitch, QEMU guests)"
	meson test -C build --suite integration --suite ovs --suite qemu --print-errorlogs \
		--num-processes 1 --verbose |
		grep -E '^(ok|not ok|udpmig-result|SKIP|#.*(lost|offline|guest))' || true
	count_meson build integration
fi

# 6. Benchmarks ----------------------------------------------------------------
if [ "${UDPMIG_SKIP_BENCH:-0}" != 1 ]; then
	say "benchmarks (reported, never failing on a number)"
	meson test -C build --benchmark --print-errorlogs --num-processes 1 --verbose |
		grep -vE '^(# started|ninja|\[|Ok:|Expected|Fail:|Unexpected|Skipped|Timeout|Full log)' || true
	count_meson build bench
fi

# Summary ----------------------------------------------------------------------
say "summary"
python3 - "$RESULTS" <<'EOF'
import sys
tot = {"passed": 0, "failed": 0, "skipped": 0}
failed = []
for line in open(sys.argv[1]):
    name, kind, n = line.rsplit(None, 2)
    tot[kind] += int(n)
    if kind == "failed" and int(n) > 0:
        failed.append(name)
for n in failed:
    print("FAILED:", n)
s = f"{tot['passed']} passed, {tot['failed']} failed"
if tot["skipped"]:
    s += f", {tot['skipped']} skipped"
print(s)
sys.exit(1 if tot["failed"] else 0)
EOF
