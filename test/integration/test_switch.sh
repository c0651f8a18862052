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
set -uo pipefail
. "$(dirname "$0")/lib.sh"
it_init switch

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
