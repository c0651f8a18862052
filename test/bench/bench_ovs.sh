#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Open vSwitch with DPDK forwarding through a net_vhook port against OVS's
# own vhost-user port (type=dpdkvhostuser), same peer, same run: the
# benchmark of issue 7. bench_vhook.sh's method with OVS as the switch:
#   to-guest:   net_null rx (64 B) -> OVS -> [port under test] -> virtio_user rxonly
#   from-guest: virtio_user txonly -> [port under test] -> OVS -> net_null (no-rx)
# OVS (scripts/ovs/ovs-start.sh, in a network namespace of its own) has one
# bridge (datapath netdev) with the two ports and one OpenFlow rule per
# direction (in_port=... actions=output:...): no learning, no flooding.
# Two busy threads, each on its own core: OVS's PMD thread on CPU 0
# (pmd-cpu-mask 0x1, never sleeping) and the peer's forwarding lcore on
# CPU 1 (a third busy thread on two cores measures the scheduler). The rate
# is the peer's: what it received (to-guest) or what the port took from
# its ring (from-guest), in testpmd's per-second statistics. Each run
# starts a fresh OVS; runs alternate between the ports and which goes
# first; the ratio net_vhook/dpdkvhostuser is the median over the rounds
# (target >= 0.97, reported, never asserted).
#
# Fails only when a run produces no figure. Writes $UDPMIG_BUILD/bench-ovs.json.
# Knobs: UDPMIG_BENCH_ROUNDS (3), UDPMIG_BENCH_SECS (5), UDPMIG_BENCH_PKT
# (64, bytes), UDPMIG_BENCH_DIRS ("to from").
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
it_init bench_ovs

DRV=$(it_safe_so "${UDPMIG_DRIVER:?UDPMIG_DRIVER: path of librte_net_vhook.so}")
TESTPMD=$(command -v dpdk-testpmd) || it_skip "dpdk-testpmd not installed"
[ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] ||
	it_skip "Open vSwitch with DPDK not installed (apt-get install openvswitch-switch-dpdk; scripts/setup.sh does)"
for t in ovs-vsctl ovs-ofctl; do
	command -v $t >/dev/null || it_skip "$t not installed"
done
command -v ip >/dev/null || it_skip "iproute2 (ip) not installed"
ROUNDS=${UDPMIG_BENCH_ROUNDS:-3}
SECS=${UDPMIG_BENCH_SECS:-5}
PKT=${UDPMIG_BENCH_PKT:-64}
OUT=${UDPMIG_BUILD:-.}/bench-ovs.json
OVS_START=$UDPMIG_SOURCE/scripts/ovs/ovs-start.sh
OVS_STOP=$UDPMIG_SOURCE/scripts/ovs/ovs-stop.sh
NS=ubo$$
# The netdev datapath creates a TAP named ovs-netdev: a namespace of its own.
it_netns "$NS"
D=

vsctl() { ovs-vsctl --db="unix:$D/db.sock" --timeout=20 "$@"; }

# run TAG DIR PORT: a fresh OVS whose port "vm" is PORT (vhook or vhost),
# with net_null as port "null"; the peer on the other core.
run() {
	local tag=$1 dir=$2 port=$3 null mode key=Rx-pps sock
	if [ "$dir" = to ]; then
		null="net_null0,size=$PKT" mode=rxonly
	else
		null="net_null0,size=$PKT,no-rx=1" mode=txonly key=Tx-pps
	fi
	rm -f "$IT_DIR/vm.sock" "$IT_DIR/ctl.sock"
	# A fresh instance (database, run directory) per run.
	D=$IT_DIR/ovs-$tag
	it_at_exit "$OVS_STOP" --dir "$D"
	"$OVS_START" --dir "$D" --netns "$NS" --driver "$DRV" --file-prefix "$(it_prefix "ovs-$tag")" \
		--pmd-cpu-mask 0x1 --pmd-maxsleep 0 --mem 1024 >"$IT_DIR/ovs-$tag-start.log" 2>&1 || {
		cat "$IT_DIR/ovs-$tag-start.log"
		return 1
	}
	vsctl add-br br0 -- set bridge br0 datapath_type=netdev &&
		vsctl add-port br0 null -- set Interface null type=dpdk "options:dpdk-devargs=$null" || return 1
	if [ "$port" = vhook ]; then
		sock=$IT_DIR/vm.sock
		vsctl add-port br0 vm -- set Interface vm type=dpdk \
			"options:dpdk-devargs=net_vhook0,iface=$sock,ctl=$IT_DIR/ctl.sock" || return 1
	else
		sock=$D/vm # vhost-sock-dir: OVS's run directory
		vsctl add-port br0 vm -- set Interface vm type=dpdkvhostuser || return 1
	fi
	if [ "$(vsctl get Interface vm error)" != "[]" ] || [ "$(vsctl get Interface null error)" != "[]" ]; then
		echo "# $tag: $(vsctl get Interface vm error) $(vsctl get Interface null error)"
		return 1
	fi
	ovs-ofctl del-flows "unix:$D/br0.mgmt" &&
		ovs-ofctl add-flow "unix:$D/br0.mgmt" "in_port=null,actions=output:vm" &&
		ovs-ofctl add-flow "unix:$D/br0.mgmt" "in_port=vm,actions=output:null" || return 1
	it_wait_file "$sock" 30 || return 1
	it_eal "peer-$tag" '0@(0,1),1@1'
	it_bg "peer-$tag" stdbuf -o0 "$TESTPMD" "${IT_EAL[@]}" \
		--vdev "$(it_virtio "$sock")" \
		-- -a --stats-period 1 --forward-mode=$mode --txpkts="$PKT" --total-num-mbufs=16384
	# The peer takes seconds to start: count from the first second in
	# which packets flow.
	local deadline=$(($(date +%s) + 60))
	until [ -n "$(samples "$tag" $key)" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || break
		sleep 0.2
	done
	sleep "$((SECS / 2 + 1))"
	# What else ran: a figure far off its neighbours is explained here.
	top -bn1 -w 200 | head -20 >"$IT_DIR/top-$tag.txt"
	sleep "$((SECS - SECS / 2 + 1))"
	vsctl --columns=name,statistics list Interface >"$IT_DIR/ovs-$tag-stats.txt" 2>&1
	it_stop "peer-$tag"
}

# samples TAG KEY, pps TAG KEY: bench-lib.sh's, on the log of TAG's run.
samples() { bench_samples "$IT_DIR/peer-$1.log" "$2"; }
pps() { bench_pps "$IT_DIR/peer-$1.log" "$2"; }

: >"$IT_DIR/fwd.txt"
for r in $(seq 1 "$ROUNDS"); do
	for dir in ${UDPMIG_BENCH_DIRS:-to from}; do
		key=Rx-pps
		[ "$dir" = from ] && key=Tx-pps
		if [ $((r % 2)) = 1 ]; then order="vhook vhost"; else order="vhost vhook"; fi
		for p in $order; do
			run "$p-$dir$r" "$dir" "$p" || echo "# run $p-$dir$r failed: see the logs"
			it_stop "peer-$p-$dir$r" >/dev/null 2>&1
			"$OVS_STOP" --dir "$D" >>"$IT_DIR/ovs-$p-$dir$r-start.log" 2>&1
			cp "$D/ovs-vswitchd.log" "$IT_DIR/ovs-vswitchd-$p-$dir$r.log" 2>/dev/null
		done
		a=$(pps "vhook-$dir$r" $key)
		b=$(pps "vhost-$dir$r" $key)
		awk -v r="$r" -v d="$dir-guest" -v a="$a" -v b="$b" 'BEGIN {
			printf "round %d, %s: net_vhook %.2f Mpps, dpdkvhostuser %.2f Mpps, ratio %.3f\n",
				r, d, a / 1e6, b / 1e6, (b > 0 ? a / b : 0) }'
		echo "$dir $r $a $b" >>"$IT_DIR/fwd.txt"
	done
done

python3 - "$IT_DIR/fwd.txt" "$OUT" "$PKT" <<'EOF'
import json, statistics, sys
fwd = [l.split() for l in open(sys.argv[1])]
res = {"packet_bytes": int(sys.argv[3]), "target": 0.97, "switch": "ovs-vswitchd-dpdk (netdev datapath, 1 PMD)"}
for d in ("to", "from"):
    rows = [(float(a), float(b)) for dd, _, a, b in fwd if dd == d]
    ratios = [a / b for a, b in rows if a > 0 and b > 0]
    res[d + "_guest"] = {
        "net_vhook_mpps": [a / 1e6 for a, _ in rows],
        "dpdkvhostuser_mpps": [b / 1e6 for _, b in rows],
        "ratios": ratios,
        "median_ratio": statistics.median(ratios) if ratios else None,
    }
    m = res[d + "_guest"]["median_ratio"]
    if rows:
        print(f"{d}-guest, OVS, ratio net_vhook/dpdkvhostuser, median of {len(ratios)}: "
              + (f"{m:.3f} (target >= 0.97)" if m is not None else "no figure"))
json.dump(res, open(sys.argv[2], "w"), indent=1)
EOF
for dir in ${UDPMIG_BENCH_DIRS:-to from}; do
	check "the $dir-guest ratio was measured" \
		python3 -c "import json,sys; sys.exit(json.load(open('$OUT'))['${dir}_guest']['median_ratio'] is None)"
done
it_done
