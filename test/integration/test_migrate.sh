#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# A VM (the guest stand-in) moves from switch A to switch B under UDP load
# and loses nothing. Two hosts are network namespaces; a Linux bridge is
# the physical network; the sender sits in a third namespace:
#
#   [ns s: sender 10.78.0.1] --- bridge --- [ns a: udpmig-switch A, tunnel 10.78.0.11]
#                                    \----- [ns b: udpmig-switch B, tunnel 10.78.0.12]
#
# The guest (MAC 02:00:00:00:00:02, 10.78.0.2) starts on A and announces
# itself (gratuitous ARP). B expects the VM (migrate-expect), A starts the
# migration (migrate-start --to B), goes offline (migrate-offline), the
# guest detaches, and after the blackout a guest attaches to B: B injects
# what A sent through the tunnel, announces the VM (RARP), A forwards the
# tail and ends the channel. The guest's accounting carries over (its
# --state file): 0 lost, 0 duplicated, 0 reordered.
#
# MIG_MODE=abort aborts the move in the blackout, after A streamed to B:
# the guest comes back on A and gets everything, in order; B drops its
# copy. MIG_MODE=forge sends B forged tunnel packets during the move (a
# wrong key, an unknown VNI) and replays authentic sequence numbers: none
# reaches the guest, and B's counters show each kind.
# MIG_MODE=isolate: A has a second VM (vm2, 10.78.0.3) that stays; vm1
# goes offline under a flood that overflows its (small) buffers: vm2 loses
# nothing and is not reordered; what vm1 lost is exactly what A counted.
# MIG_MODE=ipv6 is udpmig with the tunnel over IPv6 (the switches find
# each other with neighbour discovery).
# MIG_MODE=lcore is udpmig with the migration work on a switch lcore of
# its own (udpmig-switch --migration-lcore) instead of the driver's thread.
# MIG_MODE=inband is udpmig with MIG_TUNNEL_LINK=inband (below).
# MIG_MODE=mq is udpmig with multi-queue switches: two workers each, the
# uplink af_packet with qpairs=2, the VM port queues=2 and a guest with two
# queue pairs (the switch's default --rxq: one rx queue per worker).
# MIG_MODE=discover: the switches know each other (peer-add, once), and
# no migration command names a peer: B expects the VM from whichever peer
# has it (HELLO WHO), A answers because its VM is migrating.
# MIG_MODE=store is udpmig with --store-and-forward: A sends B nothing
# while the VM is offline, and everything once B says it resumed there.
# MIG_MODE=baseline runs the same move with no udpmig command: what a stock
# vhost-user switch does (the guest announces itself on B with a gratuitous
# ARP, as a guest with GUEST_ANNOUNCE would); the test then asserts that
# packets were lost, and that none were duplicated or reordered.
# Knobs: MIG_MODE (above), MIG_RATE (pps, 5000), MIG_COUNT
# (30000), MIG_BLACKOUT_MS (300), MIG_NETEM (a tc netem spec for the
# tunnel, e.g. "loss 5% delay 10ms": see below), MIG_SUMMARY (write a
# JSON summary there),
# MIG_TIMELINE (the guest's per-ms receive timeline, CSV, there),
# MIG_TUNNEL_LINK (uplink: the tunnel shares the bridge, the default;
# veth: a veth pair of its own between A and B, --tunnel-dev; inband: the
# endpoint is a net_vhook port of its own with tunnel-ip=, which the
# switch carries like any port, with no --tunnel-ip: how OVS carries it).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
it_init migrate

SWITCH=${UDPMIG_SWITCH:?UDPMIG_SWITCH: path of udpmig-switch}
CTL_BIN=${UDPMIG_CTL:?}
GUEST=${UDPMIG_GUEST:?}
SEND=${UDPMIG_SEND:?}
command -v ip >/dev/null || it_skip "iproute2 (ip) not installed"
MODE=${1:-${MIG_MODE:-udpmig}}
# A second argument: a tc netem spec for the tunnel (meson's migrate_netem).
MIG_NETEM=${2:-${MIG_NETEM:-}}
TUN_A=10.78.0.11 TUN_B=10.78.0.12
case $MODE in udpmig | store | baseline | abort | forge | isolate) ;;
ipv6) MODE=udpmig TUN_A=fd00:78::11 TUN_B=fd00:78::12 ;;
lcore) MODE=udpmig MIG_LCORE=1 ;;
inband) MODE=udpmig MIG_TUNNEL_LINK=inband ;;
discover) MODE=udpmig DISCOVER=1 ;;
mq) MODE=udpmig MQ=1 ;;
*) it_fatal "MIG_MODE must be udpmig, ipv6, lcore, inband, discover, mq, store, baseline, abort, forge or isolate, not '$MODE'" ;;
esac
RATE=${MIG_RATE:-5000}
N=${MIG_COUNT:-30000}
BLACKOUT_MS=${MIG_BLACKOUT_MS:-300}
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
VM_MAC=02:00:00:00:00:02
T=umt$$ # interface and namespace prefix (<= 15 characters with suffixes)

# The network.
it_hosts_on_bridge "$T" 10.78.0.2 "$VM_MAC" a b s
# Faults on the tunnel (MIG_NETEM): the switches carry the tunnel on a
# link of its own (--tunnel-dev), through a namespace w in between, so
# what the VM's own traffic meets on the physical network is not udpmig's
# to repair:
#
#   [ns a: tunnel dev ${T}at] --- [ns w: ${T}wa | netem or relay | ${T}wb] --- [ns b: ${T}bt]
#
# In w a bridge with `tc netem` on both ports (each direction meets the
# faults once); where the kernel has no sch_netem (this project's CI
# machines), udpmig-impair relays between the two ports and applies the
# same spec (loss, duplicate, delay, reorder: netem's meaning).
TUNDEV=()
if [ -n "${MIG_NETEM:-}" ]; then
	it_netns "${T}w"
	for h in a b; do
		it_veth "${T}${h}t" "${T}w$h" "${T}$h"
		ip link set "${T}w$h" netns "${T}w"
		ip -n "${T}w" link set "${T}w$h" up
	done
	if ip netns exec "${T}w" tc qdisc add dev "${T}wa" root netem delay 1ms 2>/dev/null; then
		IMPAIR_BY=netem
		ip -n "${T}w" link add "${T}wbr" type bridge || it_fatal "cannot create bridge in w"
		ip -n "${T}w" link set "${T}wbr" up
		for h in a b; do
			ip -n "${T}w" link set "${T}w$h" master "${T}wbr"
			# shellcheck disable=SC2086 # the spec is words
			ip netns exec "${T}w" tc qdisc replace dev "${T}w$h" root netem ${MIG_NETEM} ||
				it_fatal "tc netem ${MIG_NETEM} on ${T}w$h"
		done
	else
		IMPAIR_BY=udpmig-impair
		IMPAIR=${UDPMIG_IMPAIR:?UDPMIG_IMPAIR: path of udpmig-impair}
		imp=()
		# shellcheck disable=SC2086 # the spec is words
		set -- $MIG_NETEM
		while [ $# -gt 0 ]; do
			case $1 in
			loss) imp+=(--loss "${2%\%}") ;;
			duplicate) imp+=(--dup "${2%\%}") ;;
			reorder) imp+=(--reorder "${2%\%}") ;;
			delay) imp+=(--delay "${2%ms}") ;;
			*) it_fatal "MIG_NETEM: udpmig-impair does not know '$1' (loss, duplicate, reorder, delay)" ;;
			esac
			shift 2
			# A correlation ("reorder 25% 50%") has no meaning for the relay.
			while [ $# -gt 0 ] && [[ $1 == *% ]]; do shift; done
		done
		it_bg impair ip netns exec "${T}w" "$IMPAIR" --a "${T}wa" --b "${T}wb" "${imp[@]}" \
			--stats-file "$IT_DIR/impair.json"
		it_wait_file "$IT_DIR/impair.json" 10 || it_fatal "udpmig-impair did not start"
	fi
	echo "# tunnel faults: $MIG_NETEM, by $IMPAIR_BY"
elif [ "${MIG_TUNNEL_LINK:-uplink}" = veth ]; then
	# The tunnel on a veth pair of its own, straight from A to B.
	it_veth "${T}at" "${T}bt" "${T}a"
	ip link set "${T}bt" netns "${T}b"
	ip -n "${T}b" link set "${T}bt" up
fi
if [ -n "${MIG_NETEM:-}" ] || [ "${MIG_TUNNEL_LINK:-uplink}" = veth ]; then
	TUNDEV=(--vdev net_af_packet1,iface=TUNIF,qdisc_bypass=1,framecnt=8192)
fi




# switch HOST TUNNEL_IP
switch() {
	local h=$1 mig=()
	if [ -n "${MIG_LCORE:-}" ]; then
		it_eal "sw$h" '0@(0,1),1@(0,1),2@(0,1)'
		mig=(--migration-lcore 2)
	elif [ -n "${MQ:-}" ]; then
		it_eal "sw$h" '0@(0,1),1@(0,1),2@(0,1)'
	else
		it_eal "sw$h" '0@(0,1),1@(0,1)'
	fi
	# Device up/down and vhost-user set-up in the log: what a failure needs.
	IT_EAL+=('--log-level=pmd.net.vhook:info' '--log-level=lib.vhost.config:info')
	# Two buffers of a VM (held, and the tunnel's on a destination) and the
	# channel's mbufs need more than the test tools' 512 MB.
	IT_EAL=("${IT_EAL[@]/#512/1024}")
	local extra=() tunip=(--tunnel-ip "$2") tunport=()
	if [ "${MIG_TUNNEL_LINK:-uplink}" = inband ]; then
		tunip=()
		tunport=(--vdev "net_vhook9,iface=$IT_DIR/${h}tun.sock,vm=tunnel,tunnel-ip=$2")
	fi
	# isolate: vm1's buffers are small (its flood overflows them), and A
	# has a second VM that stays.
	if [ "$MODE" = isolate ] && [ "$h" = a ]; then
		extra=(--vdev "net_vhook1,iface=$IT_DIR/a2.sock,vm=vm2,mac=02:00:00:00:00:03")
		VM1_ARGS=",t1-quota=256,t2-slots=1024,t2-slot-size=256,offline-timeout-ms=60000"
	fi
	# The test's own steps between OFFLINE and the new guest (forged
	# packets, waits, a guest's start) can take longer than the default
	# 10 s offline timeout on 2 loaded cores; A then rightly takes the VM
	# back and the move fails (migrate_forged, migrate_abort: 2 of 3 CI
	# runs in a day, once with faults on the tunnel). No mode here tests
	# that timeout: give every one 60 s.
	[ -n "${VM1_ARGS:-}" ] || VM1_ARGS=",offline-timeout-ms=60000"
	it_bg "sw$h" ip netns exec "${T}$h" "$SWITCH" "${IT_EAL[@]}" \
		--vdev "net_vhook0,iface=$IT_DIR/$h.sock,vm=vm1,mac=$VM_MAC,ctl=$IT_DIR/$h.ctl${VM1_ARGS:-}${MQ:+,queues=2}" \
		"${extra[@]}" \
		--vdev "net_af_packet0,iface=${T}${h}0,qdisc_bypass=1,framecnt=8192${MQ:+,qpairs=2}" \
		"${TUNDEV[@]/TUNIF/${T}${h}t}" \
		"${tunport[@]}" \
		-- --uplink net_af_packet0 "${tunip[@]}" ${TUNDEV:+--tunnel-dev net_af_packet1} \
		"${mig[@]}"
	it_wait_file "$IT_DIR/$h.ctl" 30 || it_fatal "switch $h did not start"
	if [ -n "${MQ:-}" ]; then
		check "switch $h: the uplink's 2 rx queues on its 2 workers" it_wait_log "sw$h" \
			"net_af_packet0 \(uplink\): rxq 0 lcore 1, rxq 1 lcore 2;.* tx: a queue per worker" 30
	fi
}

# guest NAME HOST REPORT [options]
guest() {
	local name=$1 h=$2 report=$3
	shift 3
	it_eal "$name"
	it_bg "$name" "$GUEST" "${IT_EAL[@]}" \
		--vdev "$(IT_VQUEUES=${MQ:+2} it_virtio "$IT_DIR/$h.sock" "mac=$VM_MAC")" -- \
		--state "$IT_DIR/vm.state" --report "$report" --ready "$IT_DIR/$name.ready" \
		--expect "$N" "$@"
	it_wait_file "$IT_DIR/$name.ready" 60 || it_fatal "guest $name did not come up"
}



switch a "$TUN_A"
switch b "$TUN_B"

if [ -n "${DISCOVER:-}" ]; then
	# Configured once, before anything boots, as an operator would: A
	# asks its peers when g1 connects (nobody has the VM: a fresh boot).
	# Opening that discovery once held the driver lock 100-300 ms and the
	# first packets for g1 were missed; the check of "none lost" covers it.
	check "A knows B as a peer" ctl a peer-add "$TUN_B" --key "$KEY"
	check "B knows A as a peer" ctl b peer-add "$TUN_A" --key "$KEY"
fi
guest g1 a "$IT_DIR/g1.json" --garp 10.78.0.2
# The stream is paced on the test's steps, not on the clock: the second
# third waits until the VM is offline and the last third until it runs
# again, so that each phase (before, in the blackout, after) carries
# packets however long the steps take on a loaded machine. Once a CI run
# spent 7 s before migrate-start, and the whole 6 s stream had gone to
# the first guest. At normal speed the steps win the race and the sender
# never waits.
GATES=()
if [ "$MODE" != isolate ]; then
	GATES=(--gate "$((N / 3)):$IT_DIR/gate.offline" --gate "$((2 * N / 3)):$IT_DIR/gate.resumed")
fi
gate() { touch "$IT_DIR/gate.$1"; }
it_bg send ip netns exec "${T}s" "$SEND" --kernel -- --rate "$RATE" --count "$N" \
	--src-ip 10.78.0.1 --dst-ip 10.78.0.2 --report "$IT_DIR/send.json" --ready "$IT_DIR/send.ready" \
	"${GATES[@]}"
it_wait_file "$IT_DIR/send.ready" 30
it_wait_report g1 "$IT_DIR/g1.json" received 1000 30 ||
	it_fatal "the guest on A receives nothing"

if [ "$MODE" = isolate ]; then
	N2=$((N / 2))
	ip -n "${T}s" neigh replace 10.78.0.3 lladdr 02:00:00:00:00:03 dev "${T}s0"
	it_eal h1
	it_bg h1 "$GUEST" "${IT_EAL[@]}" \
		--vdev "$(it_virtio "$IT_DIR/a2.sock" "mac=02:00:00:00:00:03")" -- \
		--report "$IT_DIR/h1.json" --ready "$IT_DIR/h1.ready" --expect "$N2" --garp 10.78.0.3
	it_wait_file "$IT_DIR/h1.ready" 60 || it_fatal "vm2's guest did not come up"
	it_bg send2 ip netns exec "${T}s" "$SEND" --kernel -- --rate 2000 --count "$N2" \
		--src-ip 10.78.0.1 --dst-ip 10.78.0.3 --report "$IT_DIR/send2.json"
	check "vm1 goes offline (local)" ctl a migrate-offline vm1
	check "vm1's guest has read its ring" drained g1 "$IT_DIR/g1.json"
	it_stop g1 10
	check "A saw vm1's guest detach" detached a
	it_wait_exit send 120
	it_wait_exit send2 120
	dropped=$(ctl a vm-show vm1 | python3 -c 'import json,sys
c = json.load(sys.stdin)["counters"]
print(c["udpmig_buf_newest_dropped"] + c["udpmig_buf_oldest_dropped"] + c["udpmig_tx_missed_errors"])')
	check_gt "vm1's buffers overflowed" "$dropped" 0
	check "vm1 comes back" ctl a migrate-abort vm1
	guest g2 a "$IT_DIR/g2.json" --quit-after-idle 2000
	it_wait_exit g2 120
	it_stop h1 10
	H=$IT_DIR/h1.json
	echo "# vm2: $(python3 -c "import json; d=json.load(open('$H')); print({k: d.get(k) for k in ('received', 'lost', 'duplicated', 'reordered', 'max_gap_ms')})")"
	echo "# vm1: $(python3 -c "import json; d=json.load(open('$IT_DIR/g2.json')); print({k: d.get(k) for k in ('received', 'lost', 'duplicated', 'reordered')})"), dropped $dropped"
	check_eq "vm2 got every packet" "$(it_json "$H" unique)" "$N2"
	check_eq "vm2: none reordered" "$(it_json "$H" reordered)" 0
	check_eq "vm2: none duplicated" "$(it_json "$H" duplicated)" 0
	# A's count also has the broadcasts (ARP, the other guest's announcement)
	# it dropped for vm1: every lost packet is counted, not the reverse.
	check_le "vm1: every packet it lost was counted by A" "$(it_json "$IT_DIR/g2.json" lost)" "$dropped"
	check_gt "vm1 lost packets (the overflow was real)" "$(it_json "$IT_DIR/g2.json" lost)" 0
	check_eq "vm1: none reordered" "$(it_json "$IT_DIR/g2.json" reordered)" 0
	it_done
fi

FORGE=${UDPMIG_SOURCE:-$(dirname "$0")/../..}/test/tools/udpmig-forge.py
forge() { ip netns exec "${T}s" python3 "$FORGE" --to 10.78.0.12 "$@"; }

if [ -n "${DISCOVER:-}" ]; then
	check "B expects the VM from whichever peer has it" ctl b migrate-expect vm1
	check_eq "... and is asking" "$(vmfield b "['tunnel']['discovering']")" True
	check "A starts the migration, naming no peer" ctl a migrate-start vm1
	bound() { [ "$(vmfield a "['tunnel']['peer']")" = "$TUN_B" ]; }
	check "A answered B's question: its channel goes to B" it_retry 10 bound
	check_eq "B knows where the VM comes from" "$(vmfield b "['tunnel']['peer']")" "$TUN_A"
	check "A takes the VM offline" ctl a migrate-offline vm1
	check "the guest on A has read its ring" drained g1 "$IT_DIR/g1.json"
elif [ "$MODE" != baseline ]; then
	check "B expects the VM" ctl b migrate-expect vm1 --from "$TUN_A" --key "$KEY"
	VNI=$(vmfield b "['tunnel']['vni']")
	if [ "$MODE" = forge ]; then
		check "forged: 50 DATA with a wrong key" forge --vni "$VNI" --count 50
		check "forged: 50 DATA with the key, for an unknown VNI" \
			forge --vni $(((VNI + 1) & 0xffffff)) --key "$KEY" --count 50
	fi
	SAF=()
	[ "$MODE" = store ] && SAF=(--store-and-forward)
	check "A starts the migration to B" ctl a migrate-start vm1 --to "$TUN_B" --key "$KEY" \
		"${SAF[@]}"
	check "A takes the VM offline" ctl a migrate-offline vm1
	# What A put in the guest's ring before going offline is the guest's:
	# a real VM's ring moves with its memory; the stand-in's does not, so
	# let it read its ring empty before it goes.
	check "the guest on A has read its ring" drained g1 "$IT_DIR/g1.json"
fi
gate offline
it_stop g1 10
check "A saw the guest detach" detached a
sleep "$(awk -v ms="$BLACKOUT_MS" 'BEGIN { print ms / 1000 }')"
case $MODE in
udpmig | store | forge)
	if [ "$MODE" = store ]; then
		check_eq "store-and-forward: A holds the VM's packets, streams nothing" \
			"$(vmfield a "['tunnel']['streaming']")" False
		check_eq "store-and-forward: B has received no DATA while the VM is offline" \
			"$(vmfield b "['tunnel']['data_received']")" 0
		check_gt "store-and-forward: A holds the blackout's packets" \
			"$(vmfield a "['port']['held']")" 0
	fi
	if [ "$MODE" = forge ]; then
		wait_cum() { [ "$(vmfield b "['tunnel']['receiver']['cumulative']")" -ge 100 ]; }
		check "B has received 100 packets from A" it_retry 20 wait_cum ||
			it__log "B: $(ctl b vm-show vm1 2>&1 | head -c 2000)"
		check "replayed: 50 DATA with the key and sequence numbers B already has" \
			forge --vni "$VNI" --key "$KEY" --seq 0 --count 50
	fi
	# No announcement from this guest: B's RARP for it must move the VM's
	# MAC in B's switch and in the bridge.
	guest g2 b "$IT_DIR/g2.json" --quit-after-idle 3000 ${MIG_TIMELINE:+--timeline "$MIG_TIMELINE"}
	attached_b() { [ "$(vmfield b "['port']['attached']")" = True ]; }
	check "B sees the guest's vhost device come up" it_retry 30 attached_b
	gate resumed
	check "A ends the tail and the channel" wait_state a IDLE 30
	check "B delivered everything and is done" wait_state b IDLE 30
	check_gt "A learnt from B's acks that the VM resumed there" \
		"$(vmfield a "['tunnel']['acks_resumed']")" 0
	if [ -n "${MIG_LCORE:-}" ]; then
		for h in a b; do
			st=$(ctl $h status | python3 -c 'import json,sys; w=json.load(sys.stdin)["migration_work"]; print(w["by"], w["polls"])')
			check_eq "switch $h: the migration work ran on its lcore" "${st% *}" application
			check_gt "switch $h: ... which polled" "${st#* }" 0
		done
	fi
	;;
abort)
	wait_cum() { [ "$(vmfield b "['tunnel']['receiver']['cumulative']")" -ge 1 ]; }
	check "A streamed to B before the abort" it_retry 20 wait_cum
	check_gt "A kept the acked packets out of its window (the keep store)" \
		"$(vmfield a "['tunnel']['sender']['kept']")" 0
	check "A aborts: the VM stays" ctl a migrate-abort vm1
	check "B drops its copy" wait_state b IDLE 10
	check_gt "B counted what it dropped" "$(vmfield b "['tunnel']['dropped']")" 0
	guest g2 a "$IT_DIR/g2.json" --quit-after-idle 3000
	gate resumed
	;;
baseline)
	guest g2 b "$IT_DIR/g2.json" --quit-after-idle 3000 --garp 10.78.0.2 \
		${MIG_TIMELINE:+--timeline "$MIG_TIMELINE"}
	gate resumed
	;;
esac
it_wait_exit send 120
it_wait_exit g2 120

R=$IT_DIR/g2.json
echo "# guest: $(python3 -c "import json; d=json.load(open('$R')); print({k: d.get(k) for k in ('received', 'unique', 'lost', 'duplicated', 'reordered', 'max_gap_ms', 'instances')})")"
echo "# A tunnel: $(ctl a vm-show vm1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"])')"
echo "# B tunnel: $(ctl b vm-show vm1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"])')"
for h in a b; do
	echo "# $h uplink (kernel): $(ip -n "${T}$h" -s link show "${T}${h}0" | awk '/RX:/{getline; print "rx", $1, "dropped", $4}')"
	echo "# $h ethdev imissed (ports 0, 1): $(printf '/ethdev/stats,0\n/ethdev/stats,1\n' |
		timeout 10 python3 "$(command -v dpdk-telemetry.py)" -f "$(it_prefix "sw$h")" 2>/dev/null |
		grep -o '"imissed": [0-9]*' | tr '\n' ' ')"
	echo "# $h counters: $(ctl $h vm-show vm1 | python3 -c 'import json,sys; print({k: v for k, v in json.load(sys.stdin)["counters"].items() if v})')"
done
echo "# A endpoint: $(ctl a status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"])')"
echo "# B endpoint: $(ctl b status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"])')"
check_eq "sender sent every packet" "$(it_json "$IT_DIR/send.json" sent)" "$N"
if [ "$MODE" = forge ]; then
	tb=$(ctl b status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"]["bad_tag"])')
	tu=$(ctl b status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"]["unknown_channel"])')
	check_ge "B counted the wrong-key packets (bad_tag)" "$tb" 50
	check_ge "B counted the unknown-VNI packets (unknown_channel)" "$tu" 50
	check_ge "B counted the replays (duplicates)" "$(vmfield b "['tunnel']['duplicates']")" 50
fi
if [ "$MODE" != baseline ]; then
	check_eq "the guest got every packet" "$(it_json "$R" unique)" "$N"
	check_eq "none lost" "$(it_json "$R" lost)" 0
else
	check_gt "baseline: a stock switch loses packets" "$(it_json "$R" lost)" 0
fi
check_eq "none duplicated" "$(it_json "$R" duplicated)" 0
check_eq "none reordered" "$(it_json "$R" reordered)" 0
if [ -n "${MIG_NETEM:-}" ]; then
	check_gt "the faults were real: A retransmitted" \
		"$(vmfield a "['tunnel']['sender']['retransmits']")" 0
	if [ "$IMPAIR_BY" = udpmig-impair ]; then
		it_stop impair 10
		echo "# impair: $(cat "$IT_DIR/impair.json")"
		for k in lost duplicated reordered; do
			check_gt "the relay's faults: $k" "$(python3 -c "import json; d=json.load(open('$IT_DIR/impair.json')); print(d['a_to_b']['$k'] + d['b_to_a']['$k'])")" 0
		done
	fi
fi
check "the blackout shows in the guest's timeline (a gap >= ${BLACKOUT_MS} ms)" \
	python3 -c "import sys; sys.exit(0 if $(it_json "$R" max_gap_ms) >= $BLACKOUT_MS else 1)"
if [ -n "${DISCOVER:-}" ]; then
	# A fresh guest where peers are known but nothing migrates: the
	# connection could be an incoming migration, but nobody has the VM (or
	# the device came up before A had asked: the stand-in's comes up at
	# once), and it runs at once instead of waiting for a source.
	it_eal g3
	it_bg g3 "$GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "$IT_DIR/a.sock" "mac=$VM_MAC")" -- \
		--report "$IT_DIR/g3.json" --ready "$IT_DIR/g3.ready"
	check "a fresh guest on A comes up" it_wait_file "$IT_DIR/g3.ready" 60
	attached_a() { [ "$(vmfield a "['port']['attached']")" = True ]; }
	check "... A sees its device" it_retry 30 attached_a
	check_eq "... and A's port stays idle" "$(vmfield a "['migration']['state']")" IDLE
	check_eq "... in direct delivery" "$(vmfield a "['port']['mode']")" direct
	it_stop g3 10
fi
if [ -n "${MIG_SUMMARY:-}" ]; then
	python3 - "$R" "$IT_DIR/send.json" "$MIG_SUMMARY" "$MODE" "$RATE" "$BLACKOUT_MS" <<'EOF'
import json, sys
g, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
json.dump({
    "mode": sys.argv[4], "rate_pps": int(sys.argv[5]), "blackout_ms": int(sys.argv[6]),
    "sent": s["sent"], "received": g["unique"], "lost": g["lost"],
    "duplicated": g["duplicated"], "reordered": g["reordered"],
    "max_gap_ms": g["max_gap_ms"], "held_delay_ms_max": g["delay_ms_max"],
    "held_delay_ms_mean": g["delay_ms_mean"],
}, open(sys.argv[3], "w"), indent=1)
EOF
fi
it_done
