#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# net_vhook in dpdk-testpmd, with real vhost-user sockets and virtio-user
# processes:
#   sender (virtio_user) -> in.sock [net_vhost1] testpmd io [net_vhook0] vm.sock -> guest
# 1. plain forwarding: every packet arrives, in order;
# 2. migrate-offline -> the guest detaches -> packets are held (counters)
#    -> migrate-abort -> a new guest attaches: every packet, in order,
#    none lost or duplicated, at 100k pps, with tier 2 in use;
# 3. both tiers too small: what is lost is exactly what is counted, for
#    drop-newest and drop-oldest;
# 4. telemetry from the running testpmd.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
it_init vhook

DRV=$(it_safe_so "${UDPMIG_DRIVER:?UDPMIG_DRIVER: path of librte_net_vhook.so}")
CTL_BIN=${UDPMIG_CTL:?UDPMIG_CTL: path of udpmig-ctl}
GUEST=${UDPMIG_GUEST:?}
SEND=${UDPMIG_SEND:?}
TESTPMD=$(command -v dpdk-testpmd) || it_skip "dpdk-testpmd not installed"

# switch NAME DEVARGS: testpmd forwarding between net_vhook0 and net_vhost1.
switch() {
	local name=$1 devargs=$2
	rm -f "$IT_DIR/vm.sock" "$IT_DIR/in.sock" "$IT_DIR/ctl.sock"
	it_eal "$name" '0@(0,1),1@(0,1)'
	it_bg "$name" stdbuf -o0 -e0 "$TESTPMD" "${IT_EAL[@]}" -d "$DRV" \
		--vdev "net_vhook0,iface=$IT_DIR/vm.sock,vm=vm1,ctl=$IT_DIR/ctl.sock$devargs" \
		--vdev "net_vhost1,iface=$IT_DIR/in.sock" \
		-- -a --stats-period 3600 --total-num-mbufs=32768 --forward-mode=io
	it_wait_file "$IT_DIR/ctl.sock" 20 && it_wait_file "$IT_DIR/in.sock" 20
}

ctl() { "$CTL_BIN" -s "$IT_DIR/ctl.sock" "$@"; }
# counter NAME: one of vm1's counters.
counter() { ctl vm-show vm1 | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"; }
field() { ctl vm-show vm1 | python3 -c "import json,sys; print(json.load(sys.stdin)['port']['$1'])"; }
# detached [TIMEOUT]: wait until the switch has seen the guest go. A guest
# process that has exited is not yet detached: the switch learns it when
# its vhost thread reads the closed socket. An abort sent before that would
# hand the held packets to the rings of a guest that no longer reads them.
detached() {
	local deadline=$(($(date +%s) + ${1:-10}))
	until [ "$(field attached)" = False ]; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# guest NAME STATE REPORT [extra options]
guest() {
	local name=$1 state=$2 report=$3
	shift 3
	it_eal "$name"
	it_bg "$name" "$GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "$IT_DIR/vm.sock")" -- \
		--state "$state" --report "$report" --ready "$IT_DIR/$name.ready" "$@"
	it_wait_file "$IT_DIR/$name.ready" 30
}

# sender NAME RATE COUNT
sender() {
	it_eal "$1"
	it_bg "$1" "$SEND" "${IT_EAL[@]}" --vdev "$(it_virtio "$IT_DIR/in.sock")" -- \
		--rate "$2" --count "$3" --report "$IT_DIR/$1.json" --ready "$IT_DIR/$1.ready"
}

# 1. Plain forwarding ------------------------------------------------------------
switch sw1 ""
guest g1 "$IT_DIR/g1.state" "$IT_DIR/g1.json" --expect 20000 --quit-after-idle 2000
sender s1 20000 20000
it_wait_exit s1 60
it_wait_exit g1 60
check_eq "plain: guest received every packet" "$(it_json "$IT_DIR/g1.json" received)" 20000
check_eq "plain: none lost" "$(it_json "$IT_DIR/g1.json" lost)" 0
check_eq "plain: none reordered" "$(it_json "$IT_DIR/g1.json" reordered)" 0
check_eq "plain: none duplicated" "$(it_json "$IT_DIR/g1.json" duplicated)" 0
check_eq "plain: nothing intercepted" "$(counter udpmig_intercepted_packets)" 0
echo "# plain: port $(ctl vm-show vm1 | python3 -c "import json,sys; print({k: v for k, v in json.load(sys.stdin)['counters'].items() if v})")"
it_stop sw1

# 2. Offline, detach, abort, re-attach at 100k pps ----------------------------------
N=300000
switch sw2 ",t1-quota=2048,t2-slots=262144,t2-slot-size=256"
guest g2 "$IT_DIR/g2.state" "$IT_DIR/g2.json" --expect $N
sender s2 100000 $N
it_wait_file "$IT_DIR/s2.ready" 30
sleep 0.5 # let the stream run before the stop
check "migrate-offline is accepted" ctl migrate-offline vm1
check_eq "the port intercepts" "$(field mode)" intercept
sleep 0.3 # the offline window: the guest keeps draining its ring
it_stop g2 10
check "the switch saw the guest detach" detached
held=$(counter udpmig_buf_held_packets)
check "packets are held while the guest is away ($held)" test "$held" -gt 0
check "migrate-abort is accepted" ctl migrate-abort vm1
guest g3 "$IT_DIR/g2.state" "$IT_DIR/g3.json" --expect $N --quit-after-idle 1500
it_wait_exit s2 120
it_wait_exit g3 120
R=$IT_DIR/g3.json
check_eq "offline: every packet arrived" "$(it_json "$R" unique)" $N
check_eq "offline: none lost" "$(it_json "$R" lost)" 0
check_eq "offline: none reordered" "$(it_json "$R" reordered)" 0
check_eq "offline: none duplicated" "$(it_json "$R" duplicated)" 0
check "offline: the guest saw a gap of at least 300 ms ($(it_json "$R" max_gap_ms) ms)" \
	python3 -c "import sys; sys.exit(0 if $(it_json "$R" max_gap_ms) >= 300 else 1)"
ic=$(counter udpmig_intercepted_packets)
check "offline: packets were intercepted ($ic)" test "$ic" -gt 0
check_eq "offline: every intercepted packet was injected" "$(counter udpmig_injected_packets)" "$ic"
check "offline: tier 2 was used ($(counter udpmig_buf_tier2_packets))" test "$(counter udpmig_buf_tier2_packets)" -gt 0
check_eq "offline: no buffer drop" "$(counter udpmig_buf_newest_dropped)" 0
check_eq "offline: back to direct delivery" "$(field mode)" direct
check_eq "offline: no packet missed by the virtqueue" "$(counter udpmig_tx_missed_errors)" 0
echo "# offline: guest $(python3 -c "import json; d=json.load(open('$R')); print({k: d[k] for k in ('received', 'lost', 'loss_runs', 'max_gap_ms', 'max_gap_after_seq', 'delay_ms_max')})")"
echo "# offline: port $(ctl vm-show vm1 | python3 -c "import json,sys; print({k: v for k, v in json.load(sys.stdin)['counters'].items() if v})")"

# 4. Telemetry (same switch) --------------------------------------------------------
TEL=$(command -v dpdk-telemetry.py)
if [ -n "$TEL" ]; then
	out=$(printf '/udpmig/vms\n/udpmig/vm,vm1\n/udpmig/stats\n' |
		timeout 20 python3 "$TEL" -f "$(it_prefix sw2)" 2>&1)
	check "telemetry: /udpmig/vms lists vm1" grep -q '"/udpmig/vms": \["vm1"\]' <<<"$out"
	check "telemetry: /udpmig/vm,vm1 has the counters" grep -q '"udpmig_injected_packets": '"$ic" <<<"$out"
	check "telemetry: /udpmig/stats" grep -q '"/udpmig/stats": {"vms": 1' <<<"$out"
else
	check "dpdk-telemetry.py is installed" false
fi
it_stop sw2

# 3. Both tiers too small: losses are exactly the counted drops --------------------
for policy in drop-newest drop-oldest; do
	N=60000
	switch "sw-$policy" ",t1-quota=1024,t2-slots=2048,t2-slot-size=256,policy=$policy"
	guest "g-$policy" "$IT_DIR/$policy.state" "$IT_DIR/$policy.json" --expect $N
	sender "s-$policy" 50000 $N
	it_wait_file "$IT_DIR/s-$policy.ready" 30
	sleep 0.2
	check "$policy: migrate-offline is accepted" ctl migrate-offline vm1
	sleep 0.2
	it_stop "g-$policy" 10
	check "$policy: the switch saw the guest detach" detached
	check "$policy: migrate-abort is accepted" ctl migrate-abort vm1
	guest "g2-$policy" "$IT_DIR/$policy.state" "$IT_DIR/$policy-2.json" --expect $N --quit-after-idle 1500
	it_wait_exit "s-$policy" 120
	it_wait_exit "g2-$policy" 120
	R=$IT_DIR/$policy-2.json
	dropped=$(($(counter udpmig_buf_newest_dropped) + $(counter udpmig_buf_oldest_dropped) +
		$(counter udpmig_tx_missed_errors)))
	check "$policy: the buffer overflowed ($dropped dropped)" test "$dropped" -gt 0
	check_eq "$policy: lost == counted drops" "$(it_json "$R" lost)" "$dropped"
	check_eq "$policy: received + lost == sent" \
		$(($(it_json "$R" unique) + $(it_json "$R" lost))) $N
	check_eq "$policy: none reordered" "$(it_json "$R" reordered)" 0
	check_eq "$policy: none duplicated" "$(it_json "$R" duplicated)" 0
	it_stop "sw-$policy"
done

it_done
