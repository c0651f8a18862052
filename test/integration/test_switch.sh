#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# udpmig-switch between a veth uplink (net_af_packet) and a net_vhook VM port:
#   netns umt<pid>sndr: udpmig-send --kernel -> umt<pid>n (10.77.0.1)
#     == veth == umt<pid>u [net_af_packet0] udpmig-switch [net_vhook0] vm.sock
#     -> udpmig-guest (virtio_user, 02:00:00:00:00:02 "10.77.0.2")
#   udpmig-send (virtio_user, 02:00:00:00:00:03) vm2.sock -> [net_vhook1]
# 0. usage: --help exits 0, a bad option or a missing --uplink exits 2 with
#    one line, a single lcore is refused (no EAL needed for the first ones);
# 1. 20000 datagrams at 10k pps: all received, none lost, reordered or
#    duplicated; the switch's telemetry and stats lines count them;
# 2. known unicast: a VM's packets to the learned namespace MAC go out on
#    the uplink only (no flood, nothing to the other VM);
# 3. SIGTERM: exit 0 within 10 s, final counters logged, sockets gone.
# The namespace and the veth pair are this run's own (umt<pid>...); lib.sh
# deletes them however the test ends (it_netns, it_veth).
#
# test_switch.sh mq (meson's switch_mq): multi-queue forwarding. Two
# workers; the uplink is af_packet with two queue pairs (qpairs=2, on a
# veth with two queues each way); the VM ports are net_vhook queues=2:
#   netns: 8 udpmig-send --kernel streams (source ports 6000..6007), and
#     24 more flows to UDP port 5001 -> veth -> [net_af_packet0, rxq 0 and 1]
#     udpmig-switch [net_vhook0 queues=2] -> udpmig-guest, 2 queue pairs
#                   [net_vhook1 queues=2] <- udpmig-send, 1 queue pair (a
#                     guest that sets up fewer vrings than the port has)
# Every packet arrives, each stream in order; both rx queues of the uplink
# carried traffic (telemetry rxqN_rx); vm-show tells the vrings each guest
# enabled; the 1-pair guest's missing vrings cost no error; the VM's
# packets reach the namespace.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
MODE=${1:-basic}
it_init "switch${1:+_$1}"
case $MODE in basic | mq) ;; *) it_fatal "mode must be basic or mq, not '$MODE'" ;; esac

SW=${UDPMIG_SWITCH:?UDPMIG_SWITCH: path of udpmig-switch}
N=20000
RATE=10000
NS=umt$$sndr
UP=umt$$u
PEER=umt$$n
VM_MAC=02:00:00:00:00:02
VM2_MAC=02:00:00:00:00:03
TEL_CMD=/udpmig_switch/ports
D=$IT_DIR

j() { it_json "$D/$1.json" "$2"; }

# tel_get FILE: the switch's telemetry into FILE; tel FILE PORT KEY: a value.
TEL=$(command -v dpdk-telemetry.py) || TEL=
tel_get() {
	[ -n "$TEL" ] || return 1
	printf '%s\n' "$TEL_CMD" | timeout 20 python3 "$TEL" -f "$SW_PREFIX" >"$1" 2>&1
}
tel() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{") and sys.argv[2] in line:
        print(json.loads(line)[sys.argv[2]][sys.argv[3]][sys.argv[4]])
        break' "$1" "$TEL_CMD" "$2" "$3"
}

# vmport VM KEY: a field of the switch's `vm-show VM` "port" object.
vmport() {
	"$UDPMIG_CTL" -s "$D/ctl.sock" vm-show "$1" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["port"][sys.argv[1]])' "$2"
}
# shellcheck disable=SC2317 # called through it_retry
vmport_is() { [ "$(vmport "$1" "$2")" = "$3" ]; }

# The multi-queue scenario (mode mq): see the top of this file.
mq() {
	local S=8 NM=6000 RM=1500 k streams rx0 rx1
	local TOTAL=$((S * NM))
	it_netns "$NS"
	# A veth with two queues each way (a multi-queue NIC, as far as the
	# kernel goes); af_packet spreads flows over its qpairs sockets itself
	# (PACKET_FANOUT_HASH): the port has no RSS to configure.
	ip link add "$PEER" numtxqueues 2 numrxqueues 2 type veth peer name "$UP" \
		numtxqueues 2 numrxqueues 2 || it_fatal "cannot create the veth pair $PEER-$UP"
	it_at_exit ip link del "$UP"
	ip link set "$PEER" netns "$NS" || it_fatal "cannot move $PEER into $NS"
	ip link set "$UP" up
	sysctl -qw "net.ipv6.conf.$UP.disable_ipv6=1" 2>/dev/null
	ip netns exec "$NS" sh -e -c "
		sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
		ip link set $PEER up
		ip addr add 10.77.0.1/24 dev $PEER
		ip neigh replace 10.77.0.2 lladdr $VM_MAC dev $PEER nud permanent
	" || it_fatal "cannot configure $PEER in $NS"

	# Two workers and the main lcore, all free to run on either CPU.
	it_eal sw '0@(0,1),1@(0,1),2@(0,1)'
	SW_PREFIX=$(it_prefix sw)
	it_bg sw stdbuf -o0 -e0 "$SW" "${IT_EAL[@]}" --vdev "net_af_packet0,iface=$UP,qpairs=2" \
		--vdev "net_vhook0,iface=$D/vm.sock,queues=2" \
		--vdev "net_vhook1,iface=$D/vm2.sock,queues=2" -- \
		--uplink net_af_packet0 --stats-interval 1 --ctl "$D/ctl.sock"
	it_wait_log sw "3 ports, 2 workers" 30 || it_fatal "the switch did not start"
	check "uplink: its 2 rx queues on the 2 workers, a tx queue per worker" grep -Eq \
		"net_af_packet0 \(uplink\): rxq 0 lcore 1, rxq 1 lcore 2; RSS off \(0x0\); tx: a queue per worker" \
		"$D/sw.log"
	check "VM port: its 2 rx queues on the 2 workers, one tx queue and a tx ring (vhost)" grep -Eq \
		"net_vhook0 \(vm\): rxq 0 lcore 1, rxq 1 lcore 2; RSS off \(0x0\); tx: one queue, lcore 1, the others through its tx ring" \
		"$D/sw.log"

	# The receiving guest: 2 queue pairs; it announces itself (gratuitous
	# ARP), so the switch forwards to it without flooding.
	it_eal g1
	it_bg g1 "$UDPMIG_GUEST" "${IT_EAL[@]}" \
		--vdev "$(IT_VQUEUES=2 it_virtio "$D/vm.sock" "mac=$VM_MAC")" -- \
		--expect $NM --report "$D/g1.json" --ready "$D/g1.ready" --garp 10.77.0.2
	it_wait_file "$D/g1.ready" 30 g1 || it_fatal "the guest did not come up"
	check "vm-show: the 2-pair guest enabled both queue pairs of vhook0" \
		it_retry 10 vmport_is vhook0 queues_ready 2
	check_eq "... all 4 vrings" "$(vmport vhook0 vrings_ready)" 15

	# The senders: S streams, each its own flow (source port) and stream id.
	for ((k = 0; k < S; k++)); do
		it_bg "m$k" ip netns exec "$NS" "$UDPMIG_SEND" --kernel -- --dst-ip 10.77.0.2 \
			--dst-port 5000 --src-port $((6000 + k)) --stream $k --count $NM --rate $RM \
			--report "$D/m$k.json"
	done
	# 24 more flows (the guest counts port 5001 as "other"): with 32 flows
	# the chance that the kernel's flow hash puts all on one socket of
	# af_packet's fanout is 2^-31, so both rx queues see traffic.
	it_bg spread ip netns exec "$NS" sh -c "
		for p in \$(seq 7000 7023); do
			'$UDPMIG_SEND' --kernel -- --dst-ip 10.77.0.2 --dst-port 5001 --src-port \$p \
				--count 50 --rate 1000 --linger-ms 0 >/dev/null || exit 1
		done"
	for ((k = 0; k < S; k++)); do
		it_wait_exit "m$k" 120
		check_eq "sender $k exits 0" "$(it_rc "m$k")" 0
	done
	it_wait_exit spread 120
	check_eq "the 24 other flows were sent" "$(it_rc spread)" 0
	it_wait_report g1 "$D/g1.json" unique $TOTAL 20 || true
	it_stop g1 10
	check_eq "the guest exits 0" "$(it_rc g1)" 0
	streams=$(j g1 streams)
	check_eq "the guest saw all $S streams" "$streams" $S
	check_eq "the guest received all $TOTAL" "$(j g1 received)" $TOTAL
	check_eq "none lost" "$(j g1 lost)" 0
	check_eq "none reordered: each flow kept its order" "$(j g1 reordered)" 0
	check_eq "none duplicated" "$(j g1 duplicated)" 0
	check_ge "the other flows arrived too (guest's 'other')" "$(j g1 other)" $((24 * 50))
	echo "# per stream: $(python3 -c "import json; print([(s['stream'], s['received'], s['reordered']) for s in json.load(open('$D/g1.json'))['per_stream']])")"

	# The VM side: a sender with 1 queue pair on vhook1 (queues=2): the
	# switch polls rx queue 1 too, whose vrings were never set up.
	local M=1000 NS_MAC rx_ns
	NS_MAC=$(ip -n "$NS" -o link show "$PEER" | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
	it_eal s2
	it_bg s2 "$UDPMIG_SEND" "${IT_EAL[@]}" --vdev "$(it_virtio "$D/vm2.sock" "mac=$VM2_MAC")" -- \
		--src-mac "$VM2_MAC" --dst-mac "$NS_MAC" --dst-ip 10.77.0.1 --count $M --rate 1000 \
		--report "$D/s2.json" --ready "$D/s2.ready" --linger-ms 1000
	it_wait_file "$D/s2.ready" 30 s2 || it_fatal "the VM-side sender did not come up"
	check "vm-show: the 1-pair guest enabled 1 queue pair of vhook1" \
		it_retry 10 vmport_is vhook1 queues_ready 1
	check_eq "... vrings 0 and 1 only" "$(vmport vhook1 vrings_ready)" 3
	it_wait_exit s2 60
	check_eq "VM sender exits 0" "$(it_rc s2)" 0
	check_eq "VM sender sent $M" "$(j s2 sent)" $M
	rx_ns=$(ip -n "$NS" -s -j link show "$PEER" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])')
	check_ge "the namespace received the VM's packets" "$rx_ns" $M

	check "dpdk-telemetry.py is installed" test -n "$TEL"
	tel_get "$D/tel.out"
	echo "# telemetry: $(grep -F "$TEL_CMD" "$D/tel.out")"
	check_eq "telemetry: the uplink has 2 rx queues" "$(tel "$D/tel.out" net_af_packet0 rx_queues)" 2
	check_eq "telemetry: ... and a tx queue per worker" \
		"$(tel "$D/tel.out" net_af_packet0 tx_per_worker)" 1
	rx0=$(tel "$D/tel.out" net_af_packet0 rxq0_rx)
	rx1=$(tel "$D/tel.out" net_af_packet0 rxq1_rx)
	echo "# uplink rx queue 0: $rx0 packets, rx queue 1: $rx1"
	check_gt "uplink rx queue 0 carried traffic" "$rx0" 0
	check_gt "uplink rx queue 1 carried traffic" "$rx1" 0
	check_ge "uplink: rx = rxq0 + rxq1 >= $TOTAL" "$(tel "$D/tel.out" net_af_packet0 rx)" $TOTAL
	check_eq "telemetry: the VM port has 1 tx queue" "$(tel "$D/tel.out" net_vhook0 tx_queues)" 1
	check_eq "telemetry: no drop toward the VM" "$(tel "$D/tel.out" net_vhook0 drops)" 0
	check_ge "telemetry: vhook1 received the VM's packets" "$(tel "$D/tel.out" net_vhook1 rx)" $M
	check "the stats line shows the uplink's rx queues" grep -Eq "net_af_packet0 uplink rx=.* rxq=[0-9]+,[0-9]+" "$D/sw.log"
	check "polling vrings a guest never set up logged nothing" \
		sh -c "! grep -q 'invalid virtqueue' '$D/sw.log'"

	it_stop sw 10
	check_eq "SIGTERM: the switch exits 0" "$?" 0
	check "SIGTERM: final counters logged" grep -q "udpmig-switch: stopped: net_af_packet0 uplink rx=" "$D/sw.log"
}

if [ "$MODE" = mq ]; then
	mq
	it_done
fi

# 0. Usage -------------------------------------------------------------------------
"$SW" --help >"$D/help.out" 2>&1
check_eq "--help exits 0" $? 0
check "--help mentions --uplink" grep -q -- "--uplink" "$D/help.out"
"$SW" -- --help >/dev/null 2>&1
check_eq "-- --help exits 0" $? 0
"$SW" -- --uplink x --bogus >/dev/null 2>"$D/usage.err"
check_eq "an unknown option exits 2" $? 2
check_eq "... with one line on stderr" "$(wc -l <"$D/usage.err")" 1
check "... naming it" grep -q -- "unknown option '--bogus'; see --help" "$D/usage.err"
"$SW" -- --uplink x --burst 65 >/dev/null 2>"$D/usage.err"
check_eq "--burst 65 exits 2" $? 2
check "... and says what --burst takes" grep -q -- "--burst: '65' is not a number in 1..64" "$D/usage.err"
"$SW" -- --uplink x --rxq 0 >/dev/null 2>"$D/usage.err"
check_eq "--rxq 0 exits 2" $? 2
check_eq "... with one line on stderr" "$(wc -l <"$D/usage.err")" 1
check "... and says what --rxq takes" grep -q -- "--rxq: '0' is not a number in 1..16; see --help" "$D/usage.err"
"$SW" -- --uplink x --rxq abc >/dev/null 2>"$D/usage.err"
check_eq "--rxq abc exits 2" $? 2
check "... and says what --rxq takes" grep -q -- "--rxq: 'abc' is not a number in 1..16" "$D/usage.err"
"$SW" -- --uplink x --rxq >/dev/null 2>"$D/usage.err"
check_eq "--rxq without a value exits 2" $? 2
check "... and says so" grep -q -- "--rxq needs a value" "$D/usage.err"
check "--help documents --rxq" grep -q -- "--rxq N" "$D/help.out"
"$SW" -- --mac-aging 10 >/dev/null 2>"$D/usage.err"
check_eq "a missing --uplink exits 2" $? 2
check "... and says so" grep -q -- "--uplink NAME is required" "$D/usage.err"
"$SW" -- --uplink x --tunnel-dev y >/dev/null 2>"$D/usage.err"
check_eq "--tunnel-dev without --tunnel-ip exits 2" $? 2
check "... and says so" grep -q -- "--tunnel-dev needs --tunnel-ip" "$D/usage.err"
"$SW" -- --uplink x --tunnel-ip 10.0.0.1 --tunnel-dev x >/dev/null 2>"$D/usage.err"
check_eq "--tunnel-dev naming the uplink exits 2" $? 2
check "... and says so" grep -q -- "--tunnel-dev x is the uplink" "$D/usage.err"
it_eal td '0@(0,1),1@(0,1)'
"$SW" "${IT_EAL[@]}" --vdev "net_vhook0,iface=$D/td.sock,ctl=none" -- --uplink net_vhook0 \
	--tunnel-ip 10.0.0.1 --tunnel-dev net_tap9 >"$D/td.log" 2>&1
check_eq "a --tunnel-dev that is no ethdev exits 2" $? 2
check "... naming it and the ethdevs there are" \
	grep -q -- "--tunnel-dev net_tap9: no such ethdev (ethdevs: net_vhook0)" "$D/td.log"
it_eal cc '0@(0,1),1@(0,1)'
"$SW" "${IT_EAL[@]}" --vdev "net_vhook0,iface=$D/cc.sock,ctl=$D/a.ctl" -- --uplink net_vhook0 \
	--ctl "$D/b.ctl" >"$D/cc.log" 2>&1
check_eq "--ctl against a vdev's other ctl= exits 2" $? 2
check "... naming the vdev" grep -q -- "--ctl $D/b.ctl: vdev 'net_vhook0,iface=$D/cc.sock,ctl=$D/a.ctl' names another ctl" "$D/cc.log"
it_eal ml '0@(0,1),1@(0,1)'
"$SW" "${IT_EAL[@]}" --vdev "net_vhook0,iface=$D/ml.sock,ctl=none" -- --uplink net_vhook0 \
	--migration-lcore 1 >"$D/ml.log" 2>&1
check_eq "--migration-lcore with no lcore left to forward exits 2" $? 2
check "... and says what it needs" grep -q -- "--migration-lcore needs three lcores" "$D/ml.log"
"$SW" "${IT_EAL[@]}" --vdev "net_vhook0,iface=$D/ml.sock,ctl=none" -- --uplink net_vhook0 \
	--migration-lcore 5 >"$D/ml.log" 2>&1
check_eq "--migration-lcore naming no EAL lcore exits 2" $? 2
check "... and says so" grep -q -- "--migration-lcore 5: not a worker lcore" "$D/ml.log"
it_eal one '0@(0,1)'
"$SW" "${IT_EAL[@]}" --vdev "net_vhook0,iface=$D/one.sock,ctl=none" -- --uplink net_vhook0 \
	>"$D/one.log" 2>&1
check_eq "a single lcore is refused (exit 2)" $? 2
check "... with a clear error" grep -q "only the main lcore" "$D/one.log"

# 1. The network: a namespace with the sender, a veth pair as the wire ----------------
it_netns "$NS"
it_veth "$PEER" "$UP" "$NS"
# No IPv6 chatter (router solicitations, MLD) on the wire: only the test's frames.
sysctl -qw "net.ipv6.conf.$UP.disable_ipv6=1" 2>/dev/null
ip netns exec "$NS" sh -e -c "
	sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
	ip addr add 10.77.0.1/24 dev $PEER
	ip neigh replace 10.77.0.2 lladdr $VM_MAC dev $PEER nud permanent
" || it_fatal "cannot configure $PEER in $NS"

# The switch: main lcore + one worker, both free to run on either CPU. The
# tunnel endpoint (an address nobody sends to) puts every uplink packet
# through the driver's tunnel match, whether the driver carries the
# tunnel yet or not.
it_eal sw '0@(0,1),1@(0,1)'
SW_PREFIX=$(it_prefix sw)
it_bg sw stdbuf -o0 -e0 "$SW" "${IT_EAL[@]}" --vdev "net_af_packet0,iface=$UP" \
	--vdev "net_vhook0,iface=$D/vm.sock" --vdev "net_vhook1,iface=$D/vm2.sock" -- \
	--uplink net_af_packet0 --stats-interval 1 --tunnel-ip 10.77.0.3 --ctl "$D/ctl.sock"
it_wait_file "$D/vm.sock" 30 sw || it_fatal "the switch did not create its vhost-user socket"
it_wait_log sw "3 ports, 1 workers" 10 || it_fatal "the switch did not start"
check "the switch took --tunnel-ip" grep -Eq "tunnel endpoint set|tunnel not available in this build" "$D/sw.log"
check "the control socket is where --ctl put it" "$UDPMIG_CTL" -s "$D/ctl.sock" vm-show vhook1

# The guest stand-in, with the MAC the namespace's neighbour entry names.
it_eal g1
it_bg g1 "$UDPMIG_GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "$D/vm.sock" "mac=$VM_MAC")" -- \
	--expect $N --report "$D/g1.json" --ready "$D/g1.ready"
it_wait_file "$D/g1.ready" 30 g1 || it_fatal "the guest did not come up"

it_bg s1 ip netns exec "$NS" "$UDPMIG_SEND" --kernel -- --dst-ip 10.77.0.2 --dst-port 5000 \
	--count $N --rate $RATE --report "$D/s1.json"
it_wait_exit s1 60
check_eq "the sender exits 0" "$(it_rc s1)" 0
check_eq "the sender sent $N" "$(j s1 sent)" $N
it_wait_report g1 "$D/g1.json" received $N 20 || true
it_stop g1 10
check_eq "the guest exits 0" "$(it_rc g1)" 0
check_eq "the guest received all $N" "$(j g1 received)" $N
check_eq "none lost" "$(j g1 lost)" 0
check_eq "none reordered" "$(j g1 reordered)" 0
check_eq "none duplicated" "$(j g1 duplicated)" 0

check "dpdk-telemetry.py is installed" test -n "$TEL"
tel_get "$D/tel1.out"
T=$D/tel1.out
check_eq "telemetry: the uplink's role" "$(tel "$T" net_af_packet0 role)" uplink
check_eq "telemetry: the VM port's role" "$(tel "$T" net_vhook0 role)" vm
check_ge "telemetry: uplink rx >= $N" "$(tel "$T" net_af_packet0 rx)" $N
check_ge "telemetry: VM port tx >= $N" "$(tel "$T" net_vhook0 tx)" $N
check_eq "telemetry: no drop toward the VM" "$(tel "$T" net_vhook0 drops)" 0
echo "# telemetry: $(grep -F "$TEL_CMD" "$T")"
# shellcheck disable=SC2016 # an awk program
check "the stats line counts the stream on the VM port" awk -v n=$N '
	/^stats: / { for (i = 1; i <= NF; i++) if ($i == "net_vhook0") { split($(i + 3), a, "="); t = a[2] } }
	END { exit !(t + 0 >= n) }' "$D/sw.log"

# 2. Known unicast: from a second VM to the namespace, whose MAC the
# switch learned from the stream. -------------------------------------------------
M=1000
NS_MAC=$(ip -n "$NS" -o link show "$PEER" | sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
it_eal s2
it_bg s2 "$UDPMIG_SEND" "${IT_EAL[@]}" --vdev "$(it_virtio "$D/vm2.sock" "mac=$VM2_MAC")" -- \
	--src-mac "$VM2_MAC" --dst-mac "$NS_MAC" --dst-ip 10.77.0.1 --count $M --rate 1000 \
	--report "$D/s2.json"
it_wait_exit s2 60
check_eq "VM sender exits 0" "$(it_rc s2)" 0
check_eq "VM sender sent $M" "$(j s2 sent)" $M
tel_get "$D/tel2.out"
T=$D/tel2.out
echo "# telemetry: $(grep -F "$TEL_CMD" "$T")"
check_ge "unicast: the switch received them from the VM" "$(tel "$T" net_vhook1 rx)" $M
check_eq "unicast: to a known MAC, none flooded" "$(tel "$T" net_vhook1 flood)" 0
check_ge "unicast: sent on the uplink" "$(tel "$T" net_af_packet0 tx)" $M
check_lt "unicast: nothing to the other VM" \
	$(($(tel "$T" net_vhook0 tx) + $(tel "$T" net_vhook0 tx_drop))) $((N + M))
rx_ns=$(ip -n "$NS" -s -j link show "$PEER" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])')
check_ge "unicast: the namespace received them" "$rx_ns" $M

# 3. SIGTERM: a clean exit ---------------------------------------------------------------
t0=$(date +%s%N)
it_stop sw 10
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "SIGTERM: the switch exits 0" "$rc" 0
check_lt "SIGTERM: within 10 s (${ms} ms)" "$ms" 10000
check "SIGTERM: final counters logged" grep -q "udpmig-switch: stopped: net_af_packet0 uplink rx=" "$D/sw.log"
check "SIGTERM: the vhost-user sockets are gone" test ! -e "$D/vm.sock" -a ! -e "$D/vm2.sock"

it_done
