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
# --qemu does the same with a real VM: a QEMU guest (KVM where a KVM guest
# boots, else TCG) live-migrated between the two switches over QMP. The
# scenario is then test/qemu/test_qemu.sh: mode `discover` (udpmig with no
# migration command at all: the switches detect the migration from the
# vhost-user protocol) and mode `baseline` (stock behaviour). The guest's
# receiver (test/tools/udpmig-rcv) prints its timeline in host time and
# the delays on its serial console; this script reads QT_TRACE's copy.
#
# Two hosts are network namespaces on a Linux bridge (the physical
# network), joined by a veth pair of their own for the tunnel
# (udpmig-switch --tunnel-dev); the sender is in a third namespace. The
# scenario is test/integration/test_migrate.sh, run with the options below.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=
COUNT=0
BLACKOUT_MS=300
NETEM=
SETUP=1
QEMU=0
ACCEL=
TRIES=3 # --qemu: a run whose TCG guest crashed or hung (exit 77) is retried

usage() {
	cat <<EOF
usage: sudo $0 [options]
  --rate PPS          UDP packets per second to the VM (default 20000; with
                      --qemu: 5000 under TCG, 50000 under KVM)
  --count N           packets in each run (default: 6 s worth at --rate;
                      with --qemu 15 s worth, rounded up to whole seconds)
  --blackout-ms MS    how long the VM is away (default $BLACKOUT_MS). With --qemu:
                      how long the stopped source is held at QEMU's
                      pre-switchover (pause-before-switchover), on top of
                      QEMU's own downtime; the report gives the blackout as
                      measured: QMP's downtime and the guest's stopped clock
  --netem SPEC        faults on the tunnel link, netem's words: loss, duplicate,
                      delay, reorder, e.g. "loss 5% delay 10ms reorder 25%"
                      (tc netem, or udpmig-impair where the kernel has none;
                      not with --qemu)
  --qemu              a real VM instead of the stand-in: a QEMU guest
                      (scripts/guest/build-guest.sh, cached in build/guest)
                      live-migrated over QMP; udpmig's run has no migration
                      command at all (auto-detection); about 2 minutes
  --accel auto|tcg|kvm  with --qemu: QEMU's accelerator (default auto: kvm
                      where a KVM guest boots, scripts/guest/probe-accel.sh;
                      KVM guests hang on some hosts: then tcg)
  --no-setup          skip scripts/setup.sh (packages, hugepages, headers)
  --help              this text
Writes $ROOT/build/demo/report.json (fields "udpmig" and "baseline") and
$ROOT/build/demo/timeline.png (packets received per ms, both runs). With
--qemu, times are the host's (the guest's clock stops while the VM is
stopped) and the report adds qmp_downtime_ms, guest_stopped_ms,
held_packets and resume_to_last_held_ms.
Example, a real VM: sudo $0 --no-setup --qemu
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
	--qemu) QEMU=1; shift ;;
	--accel)
		case ${2:-} in auto | tcg | kvm) ACCEL=$2 ;; *) die "--accel '${2:-}': expected auto, tcg or kvm" ;; esac
		shift 2 ;;
	--no-setup) SETUP=0; shift ;;
	--help | -h) usage; exit 0 ;;
	*) die "unknown option '$1'; see --help" ;;
	esac
done
if [ "$QEMU" = 1 ]; then
	[ -z "$NETEM" ] || die "--netem is not available with --qemu (test/qemu/test_qemu.sh has no faulty tunnel link)"
else
	[ -z "$ACCEL" ] || die "--accel goes with --qemu"
	RATE=${RATE:-20000}
	[ "$COUNT" -gt 0 ] || COUNT=$((RATE * 6))
fi
[ "$(id -u)" -eq 0 ] || die "run as root (namespaces, hugepages, packages): sudo $0"

cd "$ROOT"
if [ "$SETUP" = 1 ]; then
	./scripts/setup.sh
fi
{ [ -d build ] && meson setup --reconfigure build >/dev/null || meson setup build >/dev/null; }
ninja -C build >/dev/null
mkdir -p build/demo
# Nothing of an earlier run in this one's report.
rm -rf build/demo/udpmig* build/demo/baseline* build/demo/report.json build/demo/timeline.png

export UDPMIG_BUILD=$ROOT/build UDPMIG_SOURCE=$ROOT
export UDPMIG_SWITCH=$ROOT/build/app/udpmig-switch/udpmig-switch
export UDPMIG_CTL=$ROOT/build/app/udpmig-ctl/udpmig-ctl
export UDPMIG_GUEST=$ROOT/build/test/tools/udpmig-guest
export UDPMIG_SEND=$ROOT/build/test/tools/udpmig-send
export UDPMIG_IMPAIR=$ROOT/build/test/tools/udpmig-impair
[ -x "$UDPMIG_SWITCH" ] || die "udpmig-switch was not built (driver SDK headers missing? run scripts/setup.sh)"

# qemu_run LABEL MODE: one real-VM run of test/qemu/test_qemu.sh: its
# summary in build/demo/LABEL.json, its consoles and logs in
# build/demo/LABEL-trace/, its output in build/demo/LABEL.log. Exit 77 (a
# TCG guest that crashed or hung after the migration) is retried.
qemu_run() {
	local label=$1 mode=$2 try r
	for try in $(seq 1 "$TRIES"); do
		rm -rf "build/demo/$label-trace" "build/demo/$label.json" "build/demo/$label-timeline.csv"
		QT_ACCEL=$ACCEL QT_RATE=$RATE QT_SECONDS=$QSECONDS QT_SUMMARY=$ROOT/build/demo/$label.json \
			QT_TRACE=$ROOT/build/demo/$label-trace QT_QMP_ARGS="--pause-hook $HOLD" \
			bash test/qemu/test_qemu.sh "$mode" >"build/demo/$label.log" 2>&1
		r=$?
		[ "$r" -eq 77 ] || return "$r"
		echo "demo: $label: skipped: $(grep -ai 'skip' "build/demo/$label.log" | tail -n 1)" >&2
		[ "$try" -lt "$TRIES" ] && echo "demo: $label: run $((try + 1)) of $TRIES" >&2
	done
	return 77
}

# qemu_timeline LABEL: the guest's host-time view from the destination's
# console (udpmig-rcv's UDPMIG-RCV-HOST and UDPMIG-RCV-TL lines): the
# timeline CSV, and the times added to build/demo/LABEL.json.
qemu_timeline() {
	python3 - "build/demo/$1-trace/q2.serial" "build/demo/$1.json" "build/demo/$1-timeline.csv" \
		"$1" "$ACCEL" "$RATE" "$BLACKOUT_MS" "build/demo/$1-trace/migrate.json" <<'PYEOF'
import json, re, sys
serial, summary, csv, label, accel, rate, hold, migrate = sys.argv[1:9]
try:
    text = open(serial, "rb").read().decode(errors="replace").replace("\r", "")
except OSError as e:
    sys.exit(f"demo: {label}: no console of the destination guest ({e})")
host, cells = None, {}
for ln in text.splitlines():
    m = re.search(r"UDPMIG-RCV-HOST (\{.*\})", ln)
    if m:
        host = json.loads(m.group(1))
    m = re.search(r"UDPMIG-RCV-TL (\d+) (\S*)", ln)
    if m:
        cells[int(m.group(1))] = m.group(2)
if host is None:
    sys.exit(f"demo: {label}: no UDPMIG-RCV-HOST line on the destination's console (udpmig-rcv too old?)")
digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
counts = []
for start in sorted(cells):
    if start != len(counts):
        print(f"demo: {label}: the timeline misses ms {len(counts)}..{start - 1}", file=sys.stderr)
        counts.extend([0] * (start - len(counts)))
    for tok in re.findall(r"\{\d+\}|.", cells[start]):
        counts.append(int(tok[1:-1]) if tok[0] == "{" else digits.index(tok))
with open(csv, "w") as f:
    f.write("ms,count\n")
    for ms, c in enumerate(counts):
        f.write(f"{ms},{c}\n")
try:
    r = json.load(open(summary))
except (OSError, ValueError):
    sys.exit(0)
# How long the hold hook really took (a busy host stretches it).
hook_ms = None
try:
    for e in json.load(open(migrate))["events"]:
        if e.get("event") == "pause-hook":
            hook_ms = e.get("data", {}).get("ms")
except (OSError, ValueError, KeyError):
    pass
r.update({
    "accel": accel, "rate_pps": int(rate), "hold_ms": int(hold), "hold_hook_ms": hook_ms,
    # the guest's own gap: its clock stops with the VM (no blackout in it)
    "max_gap_ms_guest_clock": r.get("max_gap_ms_guest_clock", r.get("max_gap_ms")),
    "max_gap_ms": host["max_gap_ms"],
    "held_delay_ms_max": host["delay_ms_max"], "held_delay_ms_mean": host["delay_ms_mean"],
    "qmp_downtime_ms": r.get("qemu_downtime_ms"), "guest_stopped_ms": host["freeze_ms"],
    "held_packets": host["held"], "resume_to_last_held_ms": host["resume_to_last_held_ms"],
    "stop_at_ms": host["stop_at_ms"], "resume_at_ms": host["resume_at_ms"],
})
json.dump(r, open(summary, "w"), indent=1)
PYEOF
}

rc=0
if [ "$QEMU" = 1 ]; then
	command -v qemu-system-x86_64 >/dev/null ||
		die "qemu-system-x86_64 is not installed (scripts/setup.sh installs qemu-system-x86)"
	export UDPMIG_RCV=$ROOT/build/test/tools/udpmig-rcv
	[ -x "$UDPMIG_RCV" ] || die "udpmig-rcv was not built"
	# The guest (built once into build/guest), and the accelerator: its
	# default rate depends on it.
	guest=$(scripts/guest/build-guest.sh --cache "$ROOT/build/guest" --rcv "$UDPMIG_RCV" \
		2>build/demo/build-guest.log | tail -n 1) ||
		die "cannot build the guest (see build/demo/build-guest.log; Debian packages reachable?)"
	export QT_KERNEL=${guest% *} QT_INITRD=${guest#* }
	if [ "${ACCEL:-auto}" = auto ]; then
		ACCEL=tcg
		if [ -x scripts/guest/probe-accel.sh ]; then
			ACCEL=$(scripts/guest/probe-accel.sh --cache "$ROOT/build/guest/accel" \
				"$QT_KERNEL" "$QT_INITRD" 2>build/demo/probe-accel.log) || ACCEL=tcg
		fi
	fi
	if [ -z "$RATE" ]; then
		RATE=5000
		[ "$ACCEL" = kvm ] && RATE=50000
	fi
	QSECONDS=15
	[ "$COUNT" -gt 0 ] && QSECONDS=$(((COUNT + RATE - 1) / RATE))
	COUNT=$((RATE * QSECONDS))
	# The blackout: qmp-migrate.py runs the pause hook while the stopped
	# source waits at pre-switchover, then sends migrate-continue.
	HOLD=$ROOT/build/demo/hold.sh
	[[ $HOLD != *[[:space:]]* ]] || die "--qemu: the hold hook's path has a space: $HOLD"
	printf '#!/bin/sh\n# scripts/demo.sh --qemu: the blackout, at pre-switchover\nexec sleep %d.%03d\n' \
		$((BLACKOUT_MS / 1000)) $((BLACKOUT_MS % 1000)) >"$HOLD"
	chmod 755 "$HOLD"
	for label in udpmig baseline; do
		mode=discover
		[ "$label" = baseline ] && mode=baseline
		echo "demo: $label (QEMU $ACCEL, test_qemu.sh $mode): $COUNT packets at $RATE pps," \
			"source held $BLACKOUT_MS ms at pre-switchover"
		r=0
		qemu_run "$label" "$mode" || r=$?
		case $r in
		0) ;;
		77)
			echo "demo: $label: the guest crashed or hung $TRIES times (TCG); see build/demo/$label.log" >&2
			rc=1
			;;
		*)
			echo "demo: $label: a check failed; see build/demo/$label.log" >&2
			grep -aE '^not ok' "build/demo/$label.log" >&2 || true
			rc=1
			;;
		esac
		qemu_timeline "$label" || rc=1
	done
else
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
fi

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
        ("held delay, mean (ms)", "held_delay_ms_mean"),
        # --qemu only: left out when no run has them
        ("hold hook took (ms)", "hold_hook_ms"),
        ("QMP downtime (ms)", "qmp_downtime_ms"), ("guest clock stopped (ms)", "guest_stopped_ms"),
        ("held packets", "held_packets"), ("resume to last held (ms)", "resume_to_last_held_ms")]
optional = {"hold_hook_ms", "qmp_downtime_ms", "guest_stopped_ms", "held_packets", "resume_to_last_held_ms"}
print()
print(f"{'':24}{'udpmig':>14}{'baseline':>14}")
for label, key in rows:
    if key in optional and all(not runs[m] or runs[m].get(key) is None for m in runs):
        continue
    cells = []
    for mode in ("udpmig", "baseline"):
        r = runs[mode]
        v = r.get(key) if r else None
        cells.append("-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v)))
    print(f"{label:24}{cells[0]:>14}{cells[1]:>14}")
print(f"\nreport: {sys.argv[3]}")
EOF
# Packets received per millisecond, both runs, on one time axis.
TITLE="$RATE pps, blackout $BLACKOUT_MS ms"
[ "$QEMU" = 1 ] && TITLE="QEMU $ACCEL, $RATE pps, source held $BLACKOUT_MS ms at pre-switchover"
if command -v gnuplot >/dev/null && [ -s build/demo/udpmig-timeline.csv ]; then
	gnuplot <<EOF || echo "demo: gnuplot failed; the timelines are in build/demo/*-timeline.csv" >&2
set terminal pngcairo size 1200,500
set output "build/demo/timeline.png"
set datafile separator ","
set title "packets received per ms ($TITLE)"
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
