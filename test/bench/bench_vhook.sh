#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# net_vhook against DPDK's own net_vhost, same peers, same run (DESIGN.md §9):
#   txonly peer -> in.sock [net_vhost1] testpmd io [port under test] vm.sock -> rxonly peer
# 1. forwarding rate with no migration: net_vhook / net_vhost, runs
#    alternating, median of the ratios (target >= 0.97);
# 2. interception rate while OFFLINE: packets per second the port takes
#    into the buffer, against the same port's direct rate.
# Reports figures and ratios; fails only when a run produces no figure.
# Writes $UDPMIG_BUILD/bench-vhook.json.
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
it_init bench_vhook

DRV=$(it_safe_so "${UDPMIG_DRIVER:?UDPMIG_DRIVER: path of librte_net_vhook.so}")
CTL_BIN=${UDPMIG_CTL:?UDPMIG_CTL: path of udpmig-ctl}
TESTPMD=$(command -v dpdk-testpmd) || it_skip "dpdk-testpmd not installed"
ROUNDS=${UDPMIG_BENCH_ROUNDS:-3}
SECS=${UDPMIG_BENCH_SECS:-6}
OUT=${UDPMIG_BUILD:-.}/bench-vhook.json

# One run: start the switch with PORT_ARGS as port 0, the two peers, let it
# run SECS seconds, print port 0's mean Tx-pps over the last samples.
run() {
	local tag=$1 vdev=$2
	rm -f "$IT_DIR"/*.sock
	it_bg "sw-$tag" stdbuf -o0 -e0 "$TESTPMD" --lcores='0@(0,1),1@(0,1)' --no-pci --huge-unlink \
		--file-prefix "$(it_prefix "sw-$tag")" -d "$DRV" \
		--vdev "$vdev" --vdev "net_vhost1,iface=$IT_DIR/in.sock" \
		-- -a --stats-period 1 --total-num-mbufs=32768 --forward-mode=io
	it_wait_file "$IT_DIR/vm.sock" 30 && it_wait_file "$IT_DIR/in.sock" 30 || return 1
	it_bg "rx-$tag" stdbuf -o0 "$TESTPMD" --lcores='0@(0,1),1@(0,1)' --no-pci --no-huge -m 512 \
		--file-prefix "$(it_prefix "rx-$tag")" --vdev "virtio_user0,path=$IT_DIR/vm.sock" \
		-- -a --stats-period 3600 --forward-mode=rxonly --total-num-mbufs=8192
	it_bg "tx-$tag" stdbuf -o0 "$TESTPMD" --lcores='0@(0,1),1@(0,1)' --no-pci --no-huge -m 512 \
		--file-prefix "$(it_prefix "tx-$tag")" --vdev "virtio_user0,path=$IT_DIR/in.sock" \
		-- -a --stats-period 3600 --forward-mode=txonly --total-num-mbufs=8192
	sleep "$SECS"
	if [ -n "${3:-}" ]; then "$3"; fi
	it_stop "tx-$tag"
	it_stop "rx-$tag"
	it_stop "sw-$tag"
}

# Mean of port 0's "Tx-pps" over the samples after the first two.
tx_pps() {
	python3 - "$IT_DIR/$1.log" <<'EOF'
import re, sys
txt = open(sys.argv[1], errors="replace").read()
blocks = re.findall(r"NIC statistics for port 0 .*?Tx-pps:\s+(\d+)", txt, re.S)
v = [int(x) for x in blocks[2:]] or [0]
print(sum(v) // len(v))
EOF
}

VHOOK="net_vhook0,iface=$IT_DIR/vm.sock,ctl=$IT_DIR/ctl.sock"
VHOST="net_vhost0,iface=$IT_DIR/vm.sock"
ratios=()
for r in $(seq 1 "$ROUNDS"); do
	run "vhook$r" "$VHOOK"
	run "vhost$r" "$VHOST"
	a=$(tx_pps "sw-vhook$r")
	b=$(tx_pps "sw-vhost$r")
	awk -v r="$r" -v a="$a" -v b="$b" 'BEGIN { printf "round %d: net_vhook %.2f Mpps, net_vhost %.2f Mpps, ratio %.3f\n", r, a / 1e6, b / 1e6, (b > 0 ? a / b : 0) }'
	if [ "$b" -gt 0 ]; then ratios+=("$r"); fi
	echo "$r $a $b" >>"$IT_DIR/fwd.txt"
done

# Interception: the same port, switched to OFFLINE in the middle of a run.
intercept() {
	local ctl=("$CTL_BIN" -s "$IT_DIR/ctl.sock")
	local c0 c1 t0 t1
	"${ctl[@]}" migrate-offline vhook0 >/dev/null
	c0=$("${ctl[@]}" vm-show vhook0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["udpmig_intercepted_packets"])')
	t0=$(date +%s.%N)
	sleep 0.5
	c1=$("${ctl[@]}" vm-show vhook0 | python3 -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(c["udpmig_intercepted_packets"], c["udpmig_buf_drop_newest_packets"], c["udpmig_buf_tier2_packets"])')
	t1=$(date +%s.%N)
	echo "$c0 $c1 $t0 $t1" >"$IT_DIR/intercept.txt"
	"${ctl[@]}" migrate-abort vhook0 >/dev/null
}
run icpt "$VHOOK,t1-quota=16384,t2-slots=4194304,t2-slot-size=128" intercept
direct=$(tx_pps sw-icpt)

python3 - "$IT_DIR/fwd.txt" "$IT_DIR/intercept.txt" "$direct" "$OUT" <<'EOF'
import json, statistics, sys
fwd = [list(map(float, l.split())) for l in open(sys.argv[1])]
ratios = [a / b for _, a, b in fwd if b > 0]
c0, c1, drops, t2, t0, t1 = map(float, open(sys.argv[2]).read().split())
icpt = (c1 - c0) / (t1 - t0)
direct = float(sys.argv[3])
res = {
    "forward_mpps": {"net_vhook": [a / 1e6 for _, a, _ in fwd], "net_vhost": [b / 1e6 for _, _, b in fwd]},
    "vhook_over_vhost": {"median": statistics.median(ratios) if ratios else None, "runs": ratios, "target": 0.97},
    "intercept_mpps": icpt / 1e6,
    "intercept_drops": drops,
    "intercept_tier2_packets": t2,
    "direct_mpps_same_port": direct / 1e6,
    "intercept_over_direct": icpt / direct if direct else None,
}
json.dump(res, open(sys.argv[4], "w"), indent=1)
print(f"net_vhook / net_vhost, io forward, median of {len(ratios)}: "
      f"{res['vhook_over_vhost']['median']:.3f} (target >= 0.97)" if ratios else "no ratio")
print(f"interception while OFFLINE: {icpt / 1e6:.2f} Mpps into the buffer "
      f"({drops:.0f} dropped full, {t2:.0f} via tier 2); same port direct {direct / 1e6:.2f} Mpps; "
      f"ratio {res['intercept_over_direct'] or 0:.2f}")
EOF
check "the forwarding ratio was measured" test "${#ratios[@]}" -gt 0
check "the interception rate was measured" test -s "$IT_DIR/intercept.txt"
it_done
