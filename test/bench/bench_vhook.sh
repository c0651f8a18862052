#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# net_vhook against DPDK's own net_vhost, same peer, same run (DESIGN.md §9).
# Two processes, one busy poll thread each, each on its own core:
#   to-guest:   net_null (rx source) -> testpmd io -> [port under test] -> virtio_user rxonly
#   from-guest: virtio_user txonly -> [port under test] -> testpmd io -> net_null (no-rx)
# 1. forwarding rate with no migration, each direction: net_vhook / net_vhost,
#    runs alternating (and which goes first), median of the ratios (target >= 0.97);
# 2. interception rate while OFFLINE (to-guest): packets per second the port
#    takes into its buffer, against the same port's direct rate.
#
# A third busy thread on two cores turns the measurement into one of the
# scheduler: a 4096-entry virtqueue empties in microseconds and then waits
# a time slice for its peer (an earlier version of this benchmark, with
# three testpmds, measured 0.02 Mpps for both ports). testpmd's main lcore
# sleeps between stats prints, so it floats over both cores.
#
# Reports figures and ratios; fails only when a run produces no figure.
# Writes $UDPMIG_BUILD/bench-vhook.json. Knobs: UDPMIG_BENCH_ROUNDS (3),
# UDPMIG_BENCH_SECS (5), UDPMIG_BENCH_PKT (64, bytes), UDPMIG_BENCH_DIRS
# ("to from"), UDPMIG_BENCH_INTERCEPT (1; 0 skips the interception run).
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
it_init bench_vhook

DRV=$(it_safe_so "${UDPMIG_DRIVER:?UDPMIG_DRIVER: path of librte_net_vhook.so}")
CTL_BIN=${UDPMIG_CTL:?UDPMIG_CTL: path of udpmig-ctl}
TESTPMD=$(command -v dpdk-testpmd) || it_skip "dpdk-testpmd not installed"
ROUNDS=${UDPMIG_BENCH_ROUNDS:-3}
SECS=${UDPMIG_BENCH_SECS:-5}
PKT=${UDPMIG_BENCH_PKT:-64}
OUT=${UDPMIG_BUILD:-.}/bench-vhook.json
SHM=$(mktemp -d /dev/shm/udpmig-bench.XXXXXX)
trap 'rm -rf "$SHM"' EXIT

ctl() { "$CTL_BIN" -s "$IT_DIR/ctl.sock" "$@"; }

# run TAG DIR PORT_VDEV [HOOK]: the switch with the port under test as port 0
# and net_null as port 1, the peer on the other core; HOOK runs in the middle.
run() {
	local tag=$1 dir=$2 vdev=$3 null mode
	if [ "$dir" = to ]; then
		null="net_null0,size=$PKT" mode=rxonly
	else
		null="net_null0,size=$PKT,no-rx=1" mode=txonly
	fi
	rm -f "$IT_DIR/vm.sock" "$IT_DIR/ctl.sock"
	it_eal "sw-$tag" '0@(0,1),1@0'
	it_bg "sw-$tag" stdbuf -o0 -e0 "$TESTPMD" "${IT_EAL[@]}" -d "$DRV" \
		--vdev "$vdev" --vdev "$null" \
		-- -a --stats-period 1 --total-num-mbufs=32768 --forward-mode=io
	it_wait_file "$IT_DIR/vm.sock" 30 || return 1
	it_eal "peer-$tag" '0@(0,1),1@1'
	it_bg "peer-$tag" stdbuf -o0 "$TESTPMD" "${IT_EAL[@]}" \
		--vdev "$(it_virtio "$IT_DIR/vm.sock")" \
		-- -a --stats-period 3600 --forward-mode=$mode --txpkts="$PKT" --total-num-mbufs=16384
	# The peer takes seconds to start on two busy cores: count from the
	# first second in which packets flow.
	local key=Tx-pps deadline=$(($(date +%s) + 60))
	[ "$dir" = from ] && key=Rx-pps
	until [ -n "$(samples "$tag" $key)" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || break
		sleep 0.2
	done
	sleep "$((SECS / 2 + 1))"
	# What else ran: a figure far off its neighbours is explained here.
	top -bn1 -w 200 | head -20 >"$IT_DIR/top-$tag.txt"
	sleep "$((SECS - SECS / 2 + 1))"
	if [ -n "${4:-}" ]; then "$4"; fi
	it_stop "peer-$tag"
	it_stop "sw-$tag"
}

# samples TAG KEY, pps TAG KEY: bench-lib.sh's, on the log of TAG's run.
samples() { bench_samples "$IT_DIR/sw-$1.log" "$2"; }
pps() { bench_pps "$IT_DIR/sw-$1.log" "$2"; }

VHOOK="net_vhook0,iface=$IT_DIR/vm.sock,ctl=$IT_DIR/ctl.sock"
VHOST="net_vhost0,iface=$IT_DIR/vm.sock"
: >"$IT_DIR/fwd.txt"
for r in $(seq 1 "$ROUNDS"); do
	for dir in ${UDPMIG_BENCH_DIRS:-to from}; do
		key=Tx-pps
		[ "$dir" = from ] && key=Rx-pps
		# Which port goes first alternates too: a run can be disturbed by
		# the one before it (page cache, the vhost socket's teardown).
		if [ $((r % 2)) = 1 ]; then
			run "vhook-$dir$r" $dir "$VHOOK"
			run "vhost-$dir$r" $dir "$VHOST"
		else
			run "vhost-$dir$r" $dir "$VHOST"
			run "vhook-$dir$r" $dir "$VHOOK"
		fi
		a=$(pps "vhook-$dir$r" $key)
		b=$(pps "vhost-$dir$r" $key)
		awk -v r="$r" -v d="$dir-guest" -v a="$a" -v b="$b" 'BEGIN {
			printf "round %d, %s: net_vhook %.2f Mpps, net_vhost %.2f Mpps, ratio %.3f\n",
				r, d, a / 1e6, b / 1e6, (b > 0 ? a / b : 0) }'
		echo "$dir $r $a $b" >>"$IT_DIR/fwd.txt"
	done
done

# Interception: the same port, switched to OFFLINE in the middle of a run.
# The rate is what the buffer took (tier 1 + tier 2) between two samples
# shortly after the switch, before it can fill: a full buffer measures the
# drop path instead (the report says how many were dropped in the window).
sample() {
	local t j
	t=$(date +%s.%N)
	j=$(ctl vm-show vhook0) || return
	printf '%s %s\n' "$t" "$j" >"$1"
}
intercept() {
	ctl migrate-offline vhook0 >/dev/null || return
	sample "$IT_DIR/icpt0.txt"
	sleep 0.05
	sample "$IT_DIR/icpt1.txt"
	ctl migrate-abort vhook0 >/dev/null
}
direct=0
if [ "${UDPMIG_BENCH_INTERCEPT:-1}" = 1 ]; then
	run icpt to "$VHOOK,t1-quota=16384,t2-slots=4194304,t2-slot-size=$((PKT > 128 ? PKT : 128)),t2-file=$SHM/t2" intercept
	direct=$(pps icpt Tx-pps)
fi

python3 - "$IT_DIR/fwd.txt" "$IT_DIR/icpt0.txt" "$IT_DIR/icpt1.txt" "$direct" "$OUT" "$PKT" <<'EOF'
import json, statistics, sys
fwd = [l.split() for l in open(sys.argv[1])]
res = {"packet_bytes": int(sys.argv[6]), "target": 0.97}
for d in ("to", "from"):
    rows = [(float(a), float(b)) for dd, _, a, b in fwd if dd == d]
    ratios = [a / b for a, b in rows if b > 0]
    res[d + "_guest"] = {
        "net_vhook_mpps": [a / 1e6 for a, _ in rows],
        "net_vhost_mpps": [b / 1e6 for _, b in rows],
        "ratios": ratios,
        "median_ratio": statistics.median(ratios) if ratios else None,
    }
    m = res[d + "_guest"]["median_ratio"]
    print(f"{d}-guest, io forward, net_vhook / net_vhost, median of {len(ratios)}: "
          + (f"{m:.3f} (target >= 0.97)" if m is not None else "no figure"))
try:
    def held(path):
        t, j = open(path).read().split(" ", 1)
        c = json.loads(j)["counters"]
        return (float(t), c["udpmig_buf_tier1_packets"] + c["udpmig_buf_tier2_packets"],
                c["udpmig_buf_newest_dropped"], c["udpmig_buf_tier2_packets"])
    t0, h0, d0, _ = held(sys.argv[2])
    t1, h1, d1, t2 = held(sys.argv[3])
    icpt = (h1 - h0) / (t1 - t0)
    direct = float(sys.argv[4])
    res["intercept"] = {
        "mpps": icpt / 1e6,
        "window_s": t1 - t0,
        "drops_in_window": d1 - d0,
        "tier2_packets": t2,
        "direct_mpps_same_port": direct / 1e6,
        "ratio_to_direct": icpt / direct if direct else None,
    }
    print(f"interception while OFFLINE: {icpt / 1e6:.2f} Mpps into the buffer over {1e3 * (t1 - t0):.0f} ms "
          f"({d1 - d0:.0f} dropped in the window, {t2:.0f} via tier 2 so far); "
          f"same port direct {direct / 1e6:.2f} Mpps; ratio {icpt / direct if direct else 0:.2f}")
except (OSError, ValueError, KeyError) as e:
    print(f"interception: no figure ({e})")
json.dump(res, open(sys.argv[5], "w"), indent=1)
EOF
for dir in ${UDPMIG_BENCH_DIRS:-to from}; do
	check "the $dir-guest ratio was measured" \
		python3 -c "import json,sys; sys.exit(json.load(open('$OUT'))['${dir}_guest']['median_ratio'] is None)"
done
[ "${UDPMIG_BENCH_INTERCEPT:-1}" != 1 ] ||
	check "the interception rate was measured" test -s "$IT_DIR/icpt1.txt"
it_done
