#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# A VM (the guest stand-in) moves between two Open vSwitch with DPDK hosts
# under UDP load and loses nothing: test/integration/test_migrate.sh with
# OVS (bridge br0, datapath netdev, the default NORMAL flow) instead of
# udpmig-switch on each host, and the net_vhook ports configured through
# ovs-vsctl:
#
#   [ns s: sender 10.78.0.1] --- bridge --- [ns a: OVS-DPDK A: up, vm1, tun 10.78.0.11]
#                                    \----- [ns b: OVS-DPDK B: up, vm1, tun 10.78.0.12]
#
# Ports of each OVS (type=dpdk, options:dpdk-devargs):
#   up   net_af_packet0 on the host's veth to the bridge (the uplink)
#   vm1  net_vhook0: the VM's vhost-user socket, its MAC, the control socket
#   tun  net_vhook1,tunnel-ip=...: the tunnel endpoint in band; OVS's NORMAL
#        switching carries the tunnel (and its ARP) like any port's traffic
#
# Modes (first argument, or OVS_MODE):
#   udpmig    B expects the VM, A starts the migration and goes offline, the
#             guest leaves A and after the blackout attaches to B: 0 lost,
#             0 duplicated, 0 reordered. Also: a bad dpdk-devargs on B
#             (queues=0) shows in the Interface's error column and in the
#             OVS log while OVS keeps running and forwarding, and A's vm1
#             statistics in OVSDB list every udpmig drop and error xstat
#             (a broadcast flooded to the guest-less port after the move
#             shows in udpmig_tx_missed_errors).
#   baseline  the same move with OVS's stock dpdkvhostuser ports (OVS is the
#             vhost-user server) and no udpmig at all; the guest announces
#             itself on B (gratuitous ARP): packets are lost (asserted).
#   delport   A holds the VM's packets (store-and-forward: nothing streamed)
#             and vm1 is deleted with ovs-vsctl del-port: OVS must not crash,
#             and the driver must count what it dropped.
#   qemu      a real QEMU guest (TCG, test/qemu/qemu-lib.sh; QEMU is the
#             vhost-user client of A's and B's net_vhook ports) migrates
#             live from A to B under the stream, driven as a user would:
#             scripts/udpmig-migrate --dst-ovs br0:vm1 (migrate-expect on B,
#             migrate-start on A; at pre-switchover B's pin, then
#             migrate-offline on A; the unpin 2 s after the resume).
#             The guest's receiver (udpmig-rcv): 0 lost, 0 duplicated,
#             0 reordered. A guest that crashes or hangs after the
#             migration (TCG) skips the test (77).
#   qemu_baseline  the same QEMU migration with OVS's stock
#             dpdkvhostuserclient ports (QEMU is the vhost-user server) and
#             no udpmig: packets are lost (asserted).
# The switchover on B (udpmig and qemu modes), as an orchestrator does it
# (scripts/udpmig-migrate --dst-ovs in qemu mode; the same two ovs-appctl
# commands by the script in udpmig mode, README "Open vSwitch"): while the VM is
# paused, B's MAC table gets a static entry for the VM on vm1 (ovs-appctl
# fdb/add), removed once the move is over (fdb/del). Without it OVS B can
# learn the VM back on its uplink after the resume, from the statistics of
# the VM's last frames before the pause that reached B through the network
# (its revalidators push them up to other_config:max-revalidator, 500 ms,
# later), and its NORMAL action then drops the VM's stream as sent back
# where it came from (drop_action_of_pipeline; issue 7). The tests make
# that condition certain instead of 1 run in 5: just before the switchover
# (qemu mode: just before the migration, well within one 10 s period),
# frames from the VM's MAC (gratuitous ARPs) reach B's uplink from the
# network side (sent on the bridge's port, so the bridge itself learns
# nothing), and B's revalidators run every 10 s (max-revalidator), so
# that their statistics are still unpushed when the VM resumes (the
# stand-in takes 1-2 s to come up on B; QEMU's downtime is 10-30 ms, and
# the test's frames add 50-100 ms to it). OVS_PIN=0 leaves the pin out:
# then whether B drops depends on the order in which one revalidator pass
# pushes the old frames and the VM's new ones (udpmig mode: 1 run of 2
# lost 118 655, all in B's drop_action_of_pipeline; qemu mode: 0 of 2,
# the guest's own announcements win there). OVS_STALE=0 sends no such
# frames and leaves max-revalidator alone.
#
# Knobs: OVS_RATE (pps; 50000, QEMU modes 5000), OVS_COUNT (6 s worth; QEMU
# modes 15 s worth), OVS_BLACKOUT_MS (300), OVS_FRAMECNT (the uplinks'
# af_packet rings, the hosts' "NICs": 32768 frames. Here two busy PMDs,
# two guests, the sender and the drivers' threads share 2 cores, and a PMD
# can lose its core for 100 ms and more: with 8192 frames (160 ms of the
# 50 kpps stream, less with the tunnel's share) one clean-clone CI run in
# about eight lost 250-420 of the VM's packets in the kernel, before they
# reached either OVS, udpmig's counters and OVS's own all complete. The
# tunnel's congestion window keeps its share of a ring to 2048 frames,
# docs/tunnel.md),
# OVS_PMD_MAXSLEEP (us, default 100: OVS 3.1's pmd-maxsleep lets an idle
# PMD thread sleep; 0 = always busy), OVS_PMD_CORES ("1 0": the PMD core
# of A and of B; two busy PMDs on one core starve each other), OVS_VM_ARGS
# (more devargs for vm1; default ",t2-slots=262144,t2-slot-size=256", see
# below), OVS_MEM (MB of DPDK memory per OVS, 1024).
#
# The buffer at 50 kpps: A intercepts from migrate-offline until the
# bridge learns the VM's MAC behind B, here 2.0-2.3 s (the 300 ms blackout,
# the guest stand-in's start on a loaded machine, B's announcement), i.e.
# 94-113 k packets, while the in-band tunnel drains it at 32-45 kpps (its
# work runs on the driver's control thread, which EAL puts on the CPU that
# OVS's -l 0 leaves, the CPU of A's PMD thread). The default
# buffer (t1-quota 4096 + 65536 tier-2 slots) overflowed: 19 659 lost, every
# one counted in udpmig_buf_newest_dropped; nothing was lost in the
# kernel, the af_packet ring or OVS. 262144 tier-2 slots of 256 bytes (the
# stream's frames are 106 bytes) take 64 MiB.
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
MODE=${1:-${OVS_MODE:-udpmig}}
it_init "ovs_$MODE"

CTL_BIN=${UDPMIG_CTL:?UDPMIG_CTL: path of udpmig-ctl}
DRIVER=${UDPMIG_DRIVER:?UDPMIG_DRIVER: path of librte_net_vhook.so}
OVS_START=$UDPMIG_SOURCE/scripts/ovs/ovs-start.sh
OVS_STOP=$UDPMIG_SOURCE/scripts/ovs/ovs-stop.sh
case $MODE in udpmig | baseline | delport | qemu | qemu_baseline) ;;
*) it_fatal "mode must be udpmig, baseline, delport, qemu or qemu_baseline, not '$MODE'" ;;
esac
command -v ip >/dev/null || it_skip "iproute2 (ip) not installed"
[ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] ||
	it_skip "Open vSwitch with DPDK not installed (apt-get install openvswitch-switch-dpdk; scripts/setup.sh does)"
command -v ovs-vsctl >/dev/null || it_skip "ovs-vsctl not installed"

if [[ $MODE == qemu* ]]; then
	# A TCG guest's receiver keeps up with 5 kpps; the stream lasts 15 s:
	# the migration starts after 1 s of it and takes 0.2-5 s under TCG.
	RATE=${OVS_RATE:-5000}
	N=${OVS_COUNT:-$((RATE * 15))}
	. "$UDPMIG_SOURCE/test/qemu/qemu-lib.sh"
	qt_need
	# The guest's receiver: test/qemu/meson.build sets UDPMIG_RCV; the
	# build's otherwise.
	if [ -z "${UDPMIG_RCV:-}" ] && [ -x "${UDPMIG_BUILD:-}/test/tools/udpmig-rcv" ]; then
		UDPMIG_RCV=$UDPMIG_BUILD/test/tools/udpmig-rcv
	fi
	command -v ethtool >/dev/null || it_skip "ethtool not installed (scripts/setup.sh)"
else
	RATE=${OVS_RATE:-50000}
	N=${OVS_COUNT:-$((RATE * 6))}
fi
BLACKOUT_MS=${OVS_BLACKOUT_MS:-300}
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
VM_MAC=02:00:00:00:00:02
TUN_A=10.78.0.11 TUN_B=10.78.0.12
T=umo$$ # interface and namespace prefix (<= 15 characters with suffixes)
# EAL -d refuses a driver below a world-writable directory (a checkout in /tmp).
DRIVER=$(it_safe_so "$DRIVER")

# The network: test_migrate.sh's.
it_hosts_on_bridge "$T" 10.78.0.2 "$VM_MAC" a b s
# The af_packet uplink passes an unfilled (offloaded) UDP checksum on: the
# guest would drop every datagram. The sender's side fills it in.
ip netns exec "${T}s" ethtool -K "${T}s0" tx off >/dev/null 2>&1 || true

vsctl() { ovs-vsctl --db="unix:$IT_DIR/ovs$1/db.sock" --timeout=20 "${@:2}"; }
vswitchd_pid() { cat "$IT_DIR/ovs$1/ovs-vswitchd.pid" 2>/dev/null; }
ovs_alive() { kill -0 "$(vswitchd_pid "$1")" 2>/dev/null && vsctl "$1" show >/dev/null; }


# port_ok HOST PORT: ovs-vsctl add-port exits 0 even when OVS could not
# create the interface; its error column says.
port_ok() {
	local e
	e=$(vsctl "$1" get Interface "$2" error 2>&1)
	[ "$e" = "[]" ] || it_fatal "OVS $1: port $2: $e (see ovs-vswitchd-$1.log)"
}

# ovs HOST TUNNEL_IP PMD_CPU_MASK: an OVS-DPDK instance in the host's namespace, its
# bridge and ports. ovs-stop.sh runs at the end however the test ends
# (before the namespace goes: it_at_exit runs the newest first).
ovs() {
	local h=$1 tun=$2 d=$IT_DIR/ovs$1 env
	# Its logs join the test's (tails and kept logs on failure) once it stopped.
	it_at_exit cp "$d/ovs-vswitchd.log" "$IT_DIR/ovs-vswitchd-$h.log"
	it_at_exit "$OVS_STOP" --dir "$d"
	env=$("$OVS_START" --dir "$d" --netns "${T}$h" --driver "$DRIVER" \
		--file-prefix "$(it_prefix "ovs$h")" --pmd-maxsleep "${OVS_PMD_MAXSLEEP:-100}" \
		--pmd-cpu-mask "$3" --mem "${OVS_MEM:-1024}" 2>"$IT_DIR/ovs$h-start.log")
	[[ $env == *DB=unix:$d/db.sock* ]] || {
		cat "$IT_DIR/ovs$h-start.log"
		it_fatal "OVS $h did not start"
	}
	vsctl "$h" add-br br0 -- set bridge br0 datapath_type=netdev ||
		it_fatal "OVS $h: add-br br0"
	vsctl "$h" add-port br0 up -- set Interface up type=dpdk \
		"options:dpdk-devargs=net_af_packet0,iface=${T}${h}0,qdisc_bypass=1,framecnt=${OVS_FRAMECNT:-32768}" ||
		it_fatal "OVS $h: port up"
	port_ok "$h" up
	if [ "$MODE" = baseline ]; then
		# Stock OVS: the vhost-user server socket is $d/vm1 (vhost-sock-dir).
		vsctl "$h" add-port br0 vm1 -- set Interface vm1 type=dpdkvhostuser ||
			it_fatal "OVS $h: port vm1 (dpdkvhostuser)"
		port_ok "$h" vm1
		VM_SOCK[$h]=$d/vm1
		return
	fi
	if [ "$MODE" = qemu_baseline ]; then
		# Stock OVS as the vhost-user client of QEMU's server socket.
		vsctl "$h" add-port br0 vm1 -- set Interface vm1 type=dpdkvhostuserclient \
			"options:vhost-server-path=$IT_DIR/$h.sock" ||
			it_fatal "OVS $h: port vm1 (dpdkvhostuserclient)"
		port_ok "$h" vm1
		VM_SOCK[$h]=$IT_DIR/$h.sock
		return
	fi
	# vm-mac=, not mac=: OVS finds the port it created by matching the
	# devargs against ethdev ports, and ethdev reads mac= as the port's MAC.
	# Both ports name the same control socket (one per process).
	vsctl "$h" add-port br0 vm1 -- set Interface vm1 type=dpdk \
		"options:dpdk-devargs=net_vhook0,iface=$IT_DIR/$h.sock,vm=vm1,vm-mac=$VM_MAC,ctl=$IT_DIR/$h.ctl${OVS_VM_ARGS-,t2-slots=262144,t2-slot-size=256}" ||
		it_fatal "OVS $h: port vm1 (net_vhook)"
	port_ok "$h" vm1
	vsctl "$h" add-port br0 tun -- set Interface tun type=dpdk \
		"options:dpdk-devargs=net_vhook1,iface=$IT_DIR/${h}tun.sock,vm=tunnel,tunnel-ip=$tun,ctl=$IT_DIR/$h.ctl" ||
		it_fatal "OVS $h: port tun (net_vhook, tunnel endpoint)"
	port_ok "$h" tun
	VM_SOCK[$h]=$IT_DIR/$h.sock
	it_wait_file "$IT_DIR/$h.ctl" 10 || it_fatal "OVS $h: no control socket"
}

# guest NAME HOST REPORT [options]: the guest stand-in on the host's vm1.
guest() {
	local name=$1 h=$2 report=$3
	shift 3
	it_eal "$name"
	it_bg "$name" "$UDPMIG_GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "${VM_SOCK[$h]}" "mac=$VM_MAC")" -- \
		--state "$IT_DIR/vm.state" --report "$report" --ready "$IT_DIR/$name.ready" \
		--expect "$N" "$@"
	it_wait_file "$IT_DIR/$name.ready" 60 || it_fatal "guest $name did not come up"
}




# stale_frames N MS: gratuitous ARPs from the VM's MAC into B's uplink from
# the network side (sent on the bridge's port of B's veth, so the bridge,
# the physical network, learns nothing from them). They stand for the VM's
# last broadcasts before the pause. One, then after MS ms (B has installed
# its datapath flow) N more, MS apart: these hit that flow, so B learns
# from them only when its revalidators push the flow's statistics.
stale_frames() {
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
mac = bytes(int(x, 16) for x in sys.argv[2].split(":"))
ip = socket.inet_aton(sys.argv[3])
f = b"\xff" * 6 + mac + b"\x08\x06" + bytes.fromhex("0001080006040001") + mac + ip + bytes(6) + ip
for i in range(1 + int(sys.argv[4])):
    s.send(f.ljust(60, b"\0"))
    time.sleep(int(sys.argv[5]) / 1000)' "${T}b1" "$VM_MAC" 10.78.0.2 "$1" "$2"
}

# pin_vm / unpin_vm: B's static MAC entry for the VM on vm1 (the switchover
# step; see the head of this file).
pin_vm() {
	[ "${OVS_PIN:-1}" = 1 ] || return 0
	ovs-appctl -t "$IT_DIR/ovsb/ovs-vswitchd.ctl" fdb/add br0 vm1 0 "$VM_MAC"
}
unpin_vm() {
	[ "${OVS_PIN:-1}" = 1 ] || return 0
	ovs-appctl -t "$IT_DIR/ovsb/ovs-vswitchd.ctl" fdb/del br0 0 "$VM_MAC"
}
fdb_b() { ovs-appctl -t "$IT_DIR/ovsb/ovs-vswitchd.ctl" fdb/show br0 | grep -i "$VM_MAC" | tr -s ' '; }

# xstat HOST PORT NAME: a counter of OVSDB's Interface statistics column
# (ovs-vswitchd refreshes it every 5 s).
xstat() { vsctl "$1" get Interface "$2" "statistics:$3" 2>/dev/null | tr -d '"'; }

# ovs_report: what each OVS and its ports counted, where packets were
# dropped (OVS, the kernel below it), and udpmig's counters.
ovs_report() {
	for h in a b; do
		echo "# OVS $h ports: $(vsctl "$h" --columns=name,statistics list Interface 2>/dev/null |
			python3 -c 'import sys,re
n=None
for l in sys.stdin:
    if l.startswith("name"): n=l.split(":",1)[1].strip()
    if l.startswith("statistics") and n:
        d=dict(re.findall(r"(\w+)=(\d+)", l))
        print(n, {k: d[k] for k in ("rx_packets","tx_packets","rx_dropped","tx_dropped","rx_missed_errors") if k in d}, end="; ")')"
	done
	# Drops below OVS: the kernel's, on the veths (a busy CPU's backlog).
	for h in a b; do
		echo "# $h uplink (kernel): $(ip -n "${T}$h" -s link show "${T}${h}0" | awk '/RX:/{getline; print "rx", $1, "dropped", $4}')"
	done
	echo "# softnet backlog drops (all CPUs, whole machine): $(python3 -c 'import sys; print(sum(int(l.split()[1], 16) for l in open("/proc/net/softnet_stat")))')"
	# What each datapath port carried, live (OVSDB's statistics lag by up
	# to 5 s): a packet that reached neither OVS was lost below it.
	for h in a b; do
		echo "# $h datapath ports (live): $(ovs-appctl -t "$IT_DIR/ovs$h/ovs-vswitchd.ctl" dpctl/show -s 2>/dev/null |
			awk '/port [0-9]+:/ { p = $3 } /RX packets/ { printf "%s rx %s; ", p, $2 } /TX packets/ { printf "%s tx %s; ", p, $2 }')"
	done
	for h in a b; do
		# OVS's own drop reasons (coverage counters of the datapath).
		echo "# OVS $h drops: $(ovs-appctl -t "$IT_DIR/ovs$h/ovs-vswitchd.ctl" coverage/show 2>/dev/null |
			awk '/drop/ && $NF != 0 {printf "%s=%s ", $1, $NF}')"
	done
	if [ "$MODE" != baseline ] && [ "$MODE" != qemu_baseline ]; then
		for h in a b; do
			[ "$MODE" = delport ] && [ "$h" = a ] ||
				echo "# $h counters: $(ctl $h vm-show vm1 | python3 -c 'import json,sys; print({k: v for k, v in json.load(sys.stdin)["counters"].items() if v})' 2>/dev/null)"
			echo "# $h endpoint: $(ctl $h status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"])' 2>/dev/null)"
		done
	fi
}

# qemu_move: the QEMU modes, from the guest's boot on A to the checks; ends
# the test.
qemu_move() {
	local chardev=path mig_rc
	# QEMU is the vhost-user server of OVS's dpdkvhostuserclient ports, the
	# client of net_vhook's (a server socket by default).
	[ "$MODE" = qemu_baseline ] && chardev=server
	qt_sock() {
		if [ "$chardev" = server ]; then echo "path=$1,server=on,wait=off"; else echo "path=$1"; fi
	}
	qt_image
	qt_memory 256
	echo "# guest memory: $QT_GUEST_MEM"
	QT_VM_MAC=$VM_MAC QT_VM_IP=10.78.0.2 QT_T=$T
	qt_qemu q1 "$(qt_sock "${VM_SOCK[a]}")"
	qt_wait_ready q1 120
	echo "# guest: $(grep -ao 'UDPMIG-GUEST-READY.*' "$IT_DIR/q1.serial" | tr -d '\r')"
	if [ "$MODE" = qemu ]; then
		attached_a() { [ "$(vmfield a "['port']['attached']")" = True ]; }
		check "A sees the guest's vhost device" it_retry 10 attached_a
	else
		link_a() { [ "$(vsctl a get Interface vm1 link_state)" = up ]; }
		check "OVS A's vm1 (dpdkvhostuserclient) is up" it_retry 10 link_a
	fi
	it_bg send ip netns exec "${T}s" "$UDPMIG_SEND" --kernel -- --rate "$RATE" --count "$N" \
		--src-ip 10.78.0.1 --dst-ip 10.78.0.2 --report "$IT_DIR/send.json" --ready "$IT_DIR/send.ready"
	it_wait_file "$IT_DIR/send.ready" 30 send || it_fatal "the sender did not start"
	qt_wait_rcv q1 received "$RATE" 60
	case $? in
	0) ;;
	2) qt_skip_if_crashed q1 ;;
	*) it_fatal "the guest on A receives nothing through OVS (last: $(qt_rcv q1 2>/dev/null))" ;;
	esac
	qt_qemu q2 "$(qt_sock "${VM_SOCK[b]}")" -incoming "unix:$IT_DIR/mig.sock"
	it_wait_file "$IT_DIR/mig.sock" 20 q2 || it_fatal "QEMU q2 does not listen for the migration"
	if [ "$MODE" = qemu ] && [ "${OVS_STALE:-1}" = 1 ]; then
		# The VM's last broadcasts before the pause reach B (the test's
		# stand-in for them), and B pushes their flows' statistics only
		# after the resume, for certain: max-revalidator 10 s, longer than
		# the whole migration.
		vsctl b set Open_vSwitch . other_config:max-revalidator=10000
		stale_frames 2 10
	fi
	# B's forwarding state around the move, every 100 ms for 8 s (kept with
	# the logs on failure): its MAC table's entry for the VM, the datapath
	# flows that drop or carry the VM's MAC, the bridge's entry for it.
	# Issue 7 showed here as the VM's entry back on port 1 (the uplink)
	# after the move, and a drop flow from the uplink to the VM.
	# shellcheck disable=SC2016 # the inner script's own $1 and $2
	it_bg flowsb bash -c 'for i in $(seq 80); do
		echo "== $(date +%T.%N)"
		ovs-appctl -t "$1" fdb/show br0 | grep -i "$2"
		ovs-appctl -t "$1" dpctl/dump-flows | grep -E "actions:drop|$2"
		bridge fdb show br "$3" | grep -i "$2"
		sleep 0.1
	done' flowsb "$IT_DIR/ovsb/ovs-vswitchd.ctl" "$VM_MAC" "${T}br"
	if [ "$MODE" = qemu ]; then
		# As a user runs it (README, Open vSwitch): scripts/udpmig-migrate
		# tells both switches, and at pre-switchover pins the VM's MAC on
		# B's vm1 before A goes offline; it unpins 2 s after the resume.
		local pin=(--dst-ovs br0:vm1 --vm-mac "$VM_MAC" --dst-ovs-ctl "$IT_DIR/ovsb/ovs-vswitchd.ctl")
		[ "${OVS_PIN:-1}" = 1 ] || pin=()
		"$UDPMIG_SOURCE/scripts/udpmig-migrate" --src-qmp "$IT_DIR/q1.qmp" --dst-qmp "$IT_DIR/q2.qmp" \
			--uri "unix:$IT_DIR/mig.sock" --bandwidth $((1 << 30)) --vm vm1 \
			--src-ctl "$IT_DIR/a.ctl" --dst-ctl "$IT_DIR/b.ctl" --to "$TUN_B" --from "$TUN_A" \
			--key "$KEY" --ctl-bin "$CTL_BIN" "${pin[@]}" --timeout 120 \
			--json "$IT_DIR/migrate.json" 2>"$IT_DIR/mig.log"
		mig_rc=$?
		[ "$mig_rc" -eq 0 ] || echo "# udpmig-migrate: $(tail -n 3 "$IT_DIR/mig.log")"
	else
		python3 "$UDPMIG_SOURCE/test/qemu/qmp-migrate.py" migrate --src "$IT_DIR/q1.qmp" \
			--dst "$IT_DIR/q2.qmp" --uri "unix:$IT_DIR/mig.sock" --bandwidth $((1 << 30)) \
			--timeout 120 --out "$IT_DIR/migrate.json" >/dev/null
		mig_rc=$?
	fi
	# The source stays paused after `completed`: quit it, as an orchestrator does.
	python3 "$UDPMIG_SOURCE/test/qemu/qmp-migrate.py" cmd "$IT_DIR/q1.qmp" quit >/dev/null 2>&1
	it_wait_exit q1 10 >/dev/null || it_stop q1 5
	qt_migration_summary "$IT_DIR/migrate.json"
	if [ "$mig_rc" -ne 0 ]; then
		qt_skip_if_crashed q1
		echo "# source console (tail): $(tr -d '\r' <"$IT_DIR/q1.serial" | grep -av '^UDPMIG-RCV' | tail -n 5)"
	fi
	check_eq "QEMU migrated the guest" "$mig_rc" 0
	[ "$mig_rc" -eq 0 ] || it_done
	if [ "$MODE" = qemu_baseline ]; then
		# OVS B connected to the incoming QEMU's socket at its start; the
		# vhost device runs (link up) once the guest resumed.
		link_b() { [ "$(vsctl b get Interface vm1 link_state)" = up ]; }
		check "OVS B's vm1 (dpdkvhostuserclient) is up after the migration" it_retry 10 link_b
	fi
	it_wait_exit send 120
	qt_wait_final q2 60
	qt_skip_if_crashed q2
	# The receiver prints a line every second whatever the network does: a
	# console that stays silent after the migration is a hung guest (TCG).
	if ! R=$(qt_rcv q2); then
		grep -q . "$IT_DIR/q2.serial" ||
			it_skip "the destination guest printed nothing after the migration (hung; TCG): retry"
		it_fatal "no UDPMIG-RCV line on the destination's console"
	fi
	if [ "$MODE" = qemu ]; then
		echo "# B's MAC table after the move: $(fdb_b)"
		check "A ends the tail and the channel" wait_state a IDLE 30
		check "B delivered everything and is done" wait_state b IDLE 30
		if [ "${OVS_PIN:-1}" = 1 ]; then
			pins=$(python3 - "$IT_DIR/migrate.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["switch_commands"]
print(" ".join("%s=%s" % (x["args"][0], x["rc"]) for x in c if x.get("side") == "dst-ovs"))
EOF
)
			check_eq "udpmig-migrate pinned the VM's MAC on B and unpinned it" "$pins" "fdb/add=0 fdb/del=0"
			static_b() { ! fdb_b | grep -q static; }
			check "... and B learns the VM's MAC again (no static entry)" static_b
		fi
		echo "# A tunnel: $(vmfield a "['tunnel']")"
	fi
	echo "# sender: $(python3 -c "import json; d=json.load(open('$IT_DIR/send.json')); print({k: d.get(k) for k in ('sent', 'tx_dropped', 'duration_s', 'rate_pps')})")"
	echo "# receiver (destination guest): $R"
	ovs_report
	sleep 0.5 # the guest's own counters follow the final line
	tr -d '\r' <"$IT_DIR/q2.serial" | grep -a '^UDPMIG-GUEST-STATS' | sed 's/^/# /'
	check_eq "sender sent every packet" "$(it_json "$IT_DIR/send.json" sent)" "$N"
	if [ "$MODE" = qemu ]; then
		echo "# OVS b drop_action_of_pipeline: $(ovs-appctl -t "$IT_DIR/ovsb/ovs-vswitchd.ctl" \
			coverage/read-counter drop_action_of_pipeline 2>/dev/null)"
		check_eq "the guest got every packet" "$(qt_rcv q2 unique)" "$N"
		check_eq "none lost" "$(qt_rcv q2 lost)" 0
		check_gt "A learnt from B's acks that the VM resumed there" \
			"$(vmfield a "['tunnel']['acks_resumed']")" 0
	else
		echo "# qemu_baseline (stock dpdkvhostuserclient ports, no udpmig): lost $(qt_rcv q2 lost) of $N"
		check_gt "baseline: stock OVS vhost-user ports lose packets" "$(qt_rcv q2 lost)" 0
	fi
	check_eq "none duplicated" "$(qt_rcv q2 duplicated)" 0
	check_eq "none reordered" "$(qt_rcv q2 reordered)" 0
	for h in a b; do
		check "OVS $h still runs at the end" ovs_alive "$h"
	done
	it_done
}

declare -A VM_SOCK=()
read -r CORE_A CORE_B <<<"${OVS_PMD_CORES:-1 0}"
ovs a "$TUN_A" "$(printf '0x%x' $((1 << CORE_A)))"
ovs b "$TUN_B" "$(printf '0x%x' $((1 << CORE_B)))"
[[ $MODE == qemu* ]] && qemu_move

# A bad dpdk-devargs: the port is refused with an error in OVSDB and the
# driver's reason in the log; OVS runs on and keeps its other ports.
if [ "$MODE" = udpmig ]; then
	vsctl b add-port br0 bad -- set Interface bad type=dpdk \
		"options:dpdk-devargs=net_vhook2,iface=$IT_DIR/bad.sock,queues=0" 2>"$IT_DIR/bad.err"
	echo "# bad devargs: ovs-vsctl add-port exited $?: $(head -1 "$IT_DIR/bad.err")"
	err=$(vsctl b get Interface bad error)
	echo "# bad devargs: Interface bad error: $err"
	check "bad devargs: Interface error names the device" grep -q "Error attaching device 'net_vhook2" <<<"$err"
	check "bad devargs: the OVS log has the driver's reason" \
		grep -q "net_vhook2: queues=0: expected 1..16" "$IT_DIR/ovsb/ovs-vswitchd.log"
	check "bad devargs: OVS B still runs and answers" ovs_alive b
	vsctl b del-port br0 bad
fi

guest g1 a "$IT_DIR/g1.json" --garp 10.78.0.2
echo "# softnet backlog drops before (all CPUs, whole machine): $(python3 -c 'import sys; print(sum(int(l.split()[1], 16) for l in open("/proc/net/softnet_stat")))')"
it_bg send ip netns exec "${T}s" "$UDPMIG_SEND" --kernel -- --rate "$RATE" --count "$N" \
	--src-ip 10.78.0.1 --dst-ip 10.78.0.2 --report "$IT_DIR/send.json" --ready "$IT_DIR/send.ready"
it_wait_file "$IT_DIR/send.ready" 30
it_wait_report g1 "$IT_DIR/g1.json" received 1000 30 ||
	it_fatal "the guest on A receives nothing through OVS"

case $MODE in
udpmig | delport)
	check "B expects the VM" ctl b migrate-expect vm1 --from "$TUN_A" --key "$KEY"
	SAF=()
	[ "$MODE" = delport ] && SAF=(--store-and-forward)
	check "A starts the migration to B" ctl a migrate-start vm1 --to "$TUN_B" --key "$KEY" "${SAF[@]}"
	check "A takes the VM offline" ctl a migrate-offline vm1
	check "the guest on A has read its ring" drained g1 "$IT_DIR/g1.json"
	;;
esac
it_stop g1 10
[ "$MODE" = baseline ] || check "A saw the guest detach" detached a
if [ "$MODE" = udpmig ]; then
	# The switchover on B (the head of this file): the VM's last
	# broadcasts reach B, then B pins the VM's MAC on vm1.
	if [ "${OVS_STALE:-1}" = 1 ]; then
		vsctl b set Open_vSwitch . other_config:max-revalidator=10000
		stale_frames 5 20
		echo "# B's MAC table after the VM's last frames: $(fdb_b)"
	fi
	check "B pins the VM's MAC on vm1 at the switchover" pin_vm
fi
sleep "$(awk -v ms="$BLACKOUT_MS" 'BEGIN { print ms / 1000 }')"

case $MODE in
udpmig)
	guest g2 b "$IT_DIR/g2.json" --quit-after-idle 3000
	attached_b() { [ "$(vmfield b "['port']['attached']")" = True ]; }
	check "B sees the guest's vhost device come up" it_retry 30 attached_b
	echo "# B's MAC table after the move: $(fdb_b)"
	check "A ends the tail and the channel" wait_state a IDLE 30
	check "B delivered everything and is done" wait_state b IDLE 30
	check "B's switchover pin is removed" unpin_vm
	;;
baseline)
	guest g2 b "$IT_DIR/g2.json" --quit-after-idle 3000 --garp 10.78.0.2
	;;
delport)
	held=$(vmfield a "['port']['held']")
	echo "# A holds $held packets of vm1 when its port is deleted"
	check_gt "A holds the VM's packets (store-and-forward)" "$held" 0
	check "ovs-vsctl del-port br0 vm1 on A during the migration" vsctl a del-port br0 vm1
	check "OVS A survives the deletion and answers" ovs_alive a
	# The port's close is the migration's REMOVE event: its DROP action
	# flushes the held packets (udpmig_buf_flush_dropped, which goes
	# with the port), then the channel closes.
	check "A's driver logged the drop of the held packets on close" it_retry 5 \
		grep -Eq "vm1: SRC_OFFLINE -> IDLE on REMOVE \(port closed\).*actions: DROP" "$IT_DIR/ovsa/ovs-vswitchd.log"
	echo "# A's log: $(grep -E 'net_vhook: (vm1|tunnel)|Device .net_vhook0' "$IT_DIR/ovsa/ovs-vswitchd.log" | tail -4 | cut -c 1-220 | sed 's/^/\n#   /')"
	check "the tunnel port on A still answers (control socket)" ctl a status
	check "OVS A still forwards: the tunnel port is polled" it_retry 5 vsctl a get Interface tun statistics:rx_packets
	# B waits for A (the destination's wait is the source's precopy +
	# offline timeouts): the orchestrator, knowing the source failed, ends
	# the move on B; the guest resumes there and announces itself.
	check "B gives up on the move (migrate-abort)" ctl b migrate-abort vm1
	check "B is back to IDLE" wait_state b IDLE 10
	guest g2 b "$IT_DIR/g2.json" --quit-after-idle 3000 --garp 10.78.0.2
	;;
esac
it_wait_exit send 120
it_wait_exit g2 120

R=$IT_DIR/g2.json
S=$IT_DIR/send.json
echo "# sender: $(python3 -c "import json; d=json.load(open('$S')); print({k: d.get(k) for k in ('sent', 'tx_dropped', 'duration_s', 'rate_pps')})")"
echo "# guest: $(python3 -c "import json; d=json.load(open('$R')); print({k: d.get(k) for k in ('received', 'unique', 'lost', 'duplicated', 'reordered', 'max_gap_ms', 'instances')})")"
ovs_report
check_eq "sender sent every packet" "$(it_json "$S" sent)" "$N"
case $MODE in
udpmig)
	echo "# OVS b drop_action_of_pipeline: $(ovs-appctl -t "$IT_DIR/ovsb/ovs-vswitchd.ctl" \
		coverage/read-counter drop_action_of_pipeline 2>/dev/null)"
	check_eq "the guest got every packet" "$(it_json "$R" unique)" "$N"
	check_eq "none lost" "$(it_json "$R" lost)" 0
	check_gt "A learnt from B's acks that the VM resumed there" \
		"$(vmfield a "['tunnel']['acks_resumed']")" 0
	echo "# A tunnel: $(vmfield a "['tunnel']")"
	# udpmig's counters through OVS. OVS 3.1 copies into the Interface
	# statistics column only the xstats whose names end in _errors or
	# _dropped (or hold _management_, or are rx_q<N>_/tx_q<N>_ packets or
	# bytes): every udpmig drop and error counter is named so. The others
	# are in DPDK telemetry (/ethdev/xstats) of OVS's EAL and in vm-show.
	drop_names=$(ctl a vm-show vm1 | python3 -c 'import json,sys; print(" ".join(k for k in json.load(sys.stdin)["counters"] if k.endswith(("_dropped", "_errors"))))')
	echo "# A vm1 drop and error counters: $drop_names"
	# The driver's drops and errors, by name (the list is the driver's; a
	# renamed counter that loses its suffix drops out of it and fails here).
	check_eq "A's driver names its drops _dropped and its errors _errors" \
		"$(wc -w <<<"$drop_names")" 8
	# A broadcast from the sender floods to A's vm1, which has no guest any
	# more: the driver counts it in udpmig_tx_missed_errors (ethdev oerrors)
	# at once, and OVS shows it in the Interface statistics within its 5 s
	# refresh.
	missed0=$(vmfield a "['counters']['udpmig_tx_missed_errors']")
	ip netns exec "${T}s" python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for _ in range(10):
    s.sendto(b"udpmig broadcast probe", ("10.78.0.255", 9))'
	missed_a() { [ "$(vmfield a "['counters']['udpmig_tx_missed_errors']")" -ge $((missed0 + 10)) ]; }
	check "A's vm1 (no guest) counts the flooded broadcasts in udpmig_tx_missed_errors" it_retry 5 missed_a
	missed1=$(vmfield a "['counters']['udpmig_tx_missed_errors']")
	ovs_missed() { [ "$(xstat a vm1 udpmig_tx_missed_errors)" -ge "$missed1" ]; }
	check "OVS A's vm1 statistics show udpmig_tx_missed_errors >= the driver's $missed1" \
		it_retry 12 ovs_missed
	check_gt "OVS A's vm1 statistics: udpmig_tx_missed_errors" "$(xstat a vm1 udpmig_tx_missed_errors)" 0
	ovs_names=$(vsctl a get Interface vm1 statistics)
	missing=
	for n in $drop_names; do
		re="(^|[{ ])$n="
		[[ $ovs_names =~ $re ]] || missing+=" $n"
	done
	check_eq "OVS A's vm1 statistics list every udpmig drop and error counter" "${missing:-none}" none
	echo "# OVS A vm1 statistics: $(vsctl a get Interface vm1 statistics)"
	port=$(vsctl a get Interface vm1 status:port_no | tr -d '"')
	TEL=$(command -v dpdk-telemetry.py)
	tel=$(echo "/ethdev/xstats,$port" | timeout 10 python3 "$TEL" -f "$(it_prefix ovsa)" 2>/dev/null |
		python3 -c 'import json,sys; t=sys.stdin.read(); d=json.JSONDecoder().raw_decode(t[t.index("{"):])[0]; print(list(d.values())[0].get("udpmig_intercepted_packets", ""))' 2>/dev/null)
	echo "# OVS A telemetry /ethdev/xstats,$port: udpmig_intercepted_packets $tel"
	check_eq "OVS A's telemetry: vm1's udpmig_intercepted_packets == the driver's count" \
		"$tel" "$(vmfield a "['counters']['udpmig_intercepted_packets']")"
	;;
baseline)
	echo "# baseline (stock dpdkvhostuser ports, no udpmig): lost $(it_json "$R" lost) of $N"
	check_gt "baseline: stock OVS vhost-user ports lose packets" "$(it_json "$R" lost)" 0
	;;
delport)
	echo "# delport: lost $(it_json "$R" lost) of $N (A held $held when vm1 was deleted)"
	# Lost also counts what reached A between the deletion and the
	# guest's announcement on B.
	check_ge "the VM lost at least what A held" "$(it_json "$R" lost)" "$held"
	;;
esac
check_eq "none duplicated" "$(it_json "$R" duplicated)" 0
check_eq "none reordered" "$(it_json "$R" reordered)" 0
for h in a b; do
	check "OVS $h still runs at the end" ovs_alive "$h"
done
it_done
