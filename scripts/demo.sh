#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The main job, from a fresh Debian 12 machine: set up, build, then move a
# VM (the virtio-user guest stand-in) from switch A to switch B under UDP
# load, twice:
#   udpmig    A buffers the VM's packets while it is away and streams them
#             to B through the tunnel; B injects them in order on resume;
#   baseline  the same move with no udpmig command: what a stock
#             vhost-user switch does (the guest announces itself on B).
# Prints both side by side, writes build/demo/report.json and plots
# build/demo/timeline.png (gnuplot).
#
# Two hosts are network namespaces on a Linux bridge (the physical
# network), joined by a veth pair of their own for the tunnel
# (udpmig-switch --tunnel-dev); the sender is in a third namespace. The
# scenario is test/integration/test_migrate.sh, run with the options below.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=20000
COUNT=0
BLACKOUT_MS=300
NETEM=
SETUP=1

usage() {
	cat <<EOF
usage: sudo $0 [options]
  --rate PPS          UDP packets per second to the VM (default $RATE)
  --count N           packets in each run (default: 6 s worth at --rate)
  --blackout-ms MS    how long the VM is away (default $BLACKOUT_MS)
  --netem SPEC        faults on the tunnel link, netem's words: loss, duplicate,
                      delay, reorder, e.g. "loss 5% delay 10ms reorder 25%"
                      (tc netem, or udpmig-impair where the kernel has none)
  --no-setup          skip scripts/setup.sh (packages, hugepages, headers)
  --help              this text
Writes $ROOT/build/demo/report.json (fields "udpmig" and "baseline") and
$ROOT/build/demo/timeline.png (packets received per ms, both runs).
EOF
}

die() {
	echo "demo: $*" >&2
	exit 2
}
num() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] || die "$1 $2: expected a positive number"; }

while [ $# -gt 0 ]; do
	case $1 in
	--rate) num "$1" "${2:-}"; RATE=$2; shift 2 ;;
	--count) num "$1" "${2:-}"; COUNT=$2; shift 2 ;;
	--blackout-ms) num "$1" "${2:-}"; BLACKOUT_MS=$2; shift 2 ;;
	--netem) [ -n "${2:-}" ] || die "--netem needs a spec"; NETEM=$2; shift 2 ;;
	--no-setup) SETUP=0; shift ;;
	--help | -h) usage; exit 0 ;;
	*) die "unknown option '$1'; see --help" ;;
	esac
done
[ "$(id -u)" -eq 0 ] || die "run as root (namespaces, hugepages, packages): sudo $0"
[ "$COUNT" -gt 0 ] || COUNT=$((RATE * 6))

cd "$ROOT"
if [ "$SETUP" = 1 ]; then
	./scripts/setup.sh
fi
{ [ -d build ] && meson setup --reconfigure build >/dev/null || meson setup build >/dev/null; }
ninja -C build >/dev/null
mkdir -p build/demo

export UDPMIG_BUILD=$ROOT/build UDPMIG_SOURCE=$ROOT
export UDPMIG_SWITCH=$ROOT/build/app/udpmig-switch/udpmig-switch
export UDPMIG_CTL=$ROOT/build/app/udpmig-ctl/udpmig-ctl
export UDPMIG_GUEST=$ROOT/build/test/tools/udpmig-guest
export UDPMIG_SEND=$ROOT/build/test/tools/udpmig-send
export UDPMIG_IMPAIR=$ROOT/build/test/tools/udpmig-impair
[ -x "$UDPMIG_SWITCH" ] || die "udpmig-switch was not built (driver SDK headers missing? run scripts/setup.sh)"

rc=0
for mode in udpmig baseline; do
	echo "demo: $mode: $COUNT packets at $RATE pps, blackout $BLACKOUT_MS ms${NETEM:+, netem $NETEM}"
	if ! MIG_MODE=$mode MIG_RATE=$RATE MIG_COUNT=$COUNT MIG_BLACKOUT_MS=$BLACKOUT_MS \
		MIG_NETEM=$NETEM MIG_TUNNEL_LINK=veth MIG_SUMMARY=$ROOT/build/demo/$mode.json \
		MIG_TIMELINE=$ROOT/build/demo/$mode-timeline.csv \
		bash test/integration/test_migrate.sh >"build/demo/$mode.log" 2>&1; then
		echo "demo: $mode: a check failed; see build/demo/$mode.log" >&2
		grep -E '^not ok' "build/demo/$mode.log" >&2 || true
		rc=1
	fi
done

python3 - build/demo/udpmig.json build/demo/baseline.json build/demo/report.json <<'EOF'
import json, sys
runs = {}
for mode, path in (("udpmig", sys.argv[1]), ("baseline", sys.argv[2])):
    try:
        runs[mode] = json.load(open(path))
    except (OSError, ValueError):
        runs[mode] = None
json.dump(runs, open(sys.argv[3], "w"), indent=1)
rows = [("sent", "sent"), ("received", "received"), ("lost", "lost"),
        ("duplicated", "duplicated"), ("reordered", "reordered"),
        ("longest gap (ms)", "max_gap_ms"), ("held delay, max (ms)", "held_delay_ms_max"),
        ("held delay, mean (ms)", "held_delay_ms_mean")]
print()
print(f"{'':24}{'udpmig':>14}{'baseline':>14}")
for label, key in rows:
    cells = []
    for mode in ("udpmig", "baseline"):
        r = runs[mode]
        v = r.get(key) if r else None
        cells.append("-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v)))
    print(f"{label:24}{cells[0]:>14}{cells[1]:>14}")
print(f"\nreport: {sys.argv[3]}")
EOF
# Packets received per millisecond, both runs, on one time axis.
if command -v gnuplot >/dev/null && [ -s build/demo/udpmig-timeline.csv ]; then
	gnuplot <<EOF || echo "demo: gnuplot failed; the timelines are in build/demo/*-timeline.csv" >&2
set terminal pngcairo size 1200,500
set output "build/demo/timeline.png"
set datafile separator ","
set title "packets received per ms ($RATE pps, blackout $BLACKOUT_MS ms)"
set xlabel "time since the first packet (ms)"
set ylabel "packets / ms"
set key top right
plot "build/demo/baseline-timeline.csv" using 1:2 every ::1 with impulses lc rgb "#d62728" title "baseline", \
     "build/demo/udpmig-timeline.csv" using 1:2 every ::1 with impulses lc rgb "#1f77b4" title "udpmig"
EOF
	[ -s build/demo/timeline.png ] && echo "plot: $ROOT/build/demo/timeline.png"
else
	echo "demo: no gnuplot: no plot (the timelines are in build/demo/*-timeline.csv)" >&2
fi
exit $rc
