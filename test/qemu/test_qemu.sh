#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Real VMs: a QEMU guest (TCG) on a udpmig-switch's net_vhook port gets a
# UDP stream from a sender namespace; the guest's udpmig-rcv accounts it
# and prints its counters on the serial console (scripts/guest/).
#
#   [ns s: sender 10.78.0.1] --- bridge --- [ns a: udpmig-switch A, tunnel 10.78.0.11] -- a.sock -- QEMU
#                                    \----- [ns b: udpmig-switch B, tunnel 10.78.0.12] -- b.sock -- QEMU (incoming)
#
# Modes (first argument, or QT_MODE):
#   boot      one switch, one guest: it boots, announces itself, and gets
#             every packet of QT_SECONDS at QT_RATE pps.
#   migrate   live migration A -> B (QMP, over a unix socket) under the
#             stream, driven by scripts/udpmig-migrate with udpmig's
#             explicit commands: migrate-expect on B, migrate-start --to B
#             on A before `migrate`, and migrate-offline on A when the
#             source pauses at pre-switchover (pause-before-switchover;
#             QT_HOOK=stop: qmp-migrate.py, migrate-offline at the source's
#             STOP event instead). Zero loss expected.
#   baseline  the same migration with no udpmig command and auto-detect=0
#             on both switches (a stock vhost-user switch): loss expected.
#   auto      the same migration with auto-detection only: migrate-expect
#             on B, nothing on A; the switches log vhost-user messages at
#             debug level (the trace of docs/qemu-trace.md). Reports, does
#             not assert zero loss.
#   discover  no migration command at all: the switches know each other
#             (peer-add, configuration done once, before the guest boots);
#             B's port expects the VM when the incoming QEMU connects and
#             finds A with HELLO WHO; A detects the migration from the
#             vhost-user protocol. Debug logs as in auto. Zero loss expected.
#   long      as discover (peers only, no migration command), through
#             scripts/udpmig-migrate --hold-ms QT_HOLD_MS (1200): the source
#             stays paused at pre-switchover that long, so QMP's downtime is
#             >= 1 s (asserted). Zero loss, duplication, reordering expected.
#   cancel    scripts/udpmig-migrate with the explicit commands and a long
#             hold; once the source is paused at pre-switchover, A is
#             OFFLINE and B has tunnel DATA from A, the test sends QMP
#             migrate_cancel (on a second QMP socket of the source). The VM
#             continues on A, which gives its held packets back in order;
#             udpmig-migrate aborts both sides; B drops its copy (counted).
#             Zero loss, duplication, reordering on the source's guest.
#             (5-14 were lost at A's hand-back to direct delivery in half
#             the runs before the hand-back waited for room in the
#             guest's ring; docs/qemu-trace.md §6.)
#   cancel_precopy  the same, cancelled during precopy (max-bandwidth
#             2 MB/s, so precopy lasts): zero loss.
#   dstdie    the destination QEMU is killed (SIGKILL) during precopy: the
#             migration fails, udpmig-migrate aborts both switches, the VM
#             continues on A with zero loss.
#   nodst     the destination switch is killed after the incoming QEMU
#             connected to it (QEMU 7.2 cannot start a vhost-user netdev
#             without its backend: it waits for the connection).
#             scripts/udpmig-migrate refuses to migrate (B's control
#             socket does not answer: exit 1, no `migrate` sent); then A is
#             told to migrate to B anyway (migrate-start --to B) and
#             migrate-offline while the guest still runs there (as an
#             orchestrator that does not know B is gone): A cannot reach B
#             (no ARP answer), its channel times out (offline-timeout-ms
#             3000) and A gives what it held back to the guest, in order.
#             Zero loss on A (the guest waits those 3 s for its packets).
# A guest that crashes or hangs after the migration (TCG: SETUP.md §8;
# here 11 of 41 on memfd memory, none of 11 on hugetlbfs) makes the test
# skip (77), never fail.
#
# Environment: UDPMIG_SWITCH, UDPMIG_CTL, UDPMIG_SEND, UDPMIG_RCV (set by
# test/qemu/meson.build); QT_KERNEL and QT_INITRD (else
# scripts/guest/build-guest.sh builds them in $UDPMIG_BUILD/guest); knobs
# QT_RATE (pps; 50000 with KVM, else 5000), QT_SECONDS (stream length, boot 4, migrations
# 15: the migration starts after 1 s of it and takes 0.2-5 s under TCG),
# QT_HOOK (pause | stop), QT_ACCEL (auto: kvm where a KVM guest boots,
# scripts/guest/probe-accel.sh, probed once and cached in the guest's
# cache directory; else tcg), QT_HOLD_MS (long: 1200), QT_MEM
# (hugetlbfs, a file per QEMU in /dev/hugepages, when 256 free 2 MiB pages
# are there; else memfd),
# QT_APPEND (more guest kernel command line), QT_QMP_ARGS (more
# qmp-migrate.py migrate options, e.g. "--dst-param announce-rounds=1"),
# QT_SUMMARY (write a JSON summary there), QT_TRACE (a directory: the
# switches' logs with CLOCK_MONOTONIC stamps, *.ts, the consoles and the
# QMP events are copied there; docs/qemu-trace.md).
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/qemu-lib.sh"
MODE=${1:-${QT_MODE:-boot}}
case $MODE in boot | migrate | baseline | auto | discover | long | cancel | cancel_precopy | dstdie | nodst) ;;
*)
	echo "QT_MODE must be boot, migrate, baseline, auto, discover, long, cancel, cancel_precopy, dstdie or nodst, not '$MODE'"
	exit 2
	;;
esac
it_init "qemu-$MODE"

SWITCH=${UDPMIG_SWITCH:?UDPMIG_SWITCH: path of udpmig-switch}
CTL_BIN=${UDPMIG_CTL:?UDPMIG_CTL: path of udpmig-ctl}
SEND=${UDPMIG_SEND:?}
SRC=${UDPMIG_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
QMPPY=$SRC/test/qemu/qmp-migrate.py
MIGRATE=$SRC/scripts/udpmig-migrate
qt_need
QEMU=$QT_QEMU_BIN
command -v ip >/dev/null || it_skip "iproute2 (ip) not installed"
command -v ethtool >/dev/null || it_skip "ethtool not installed (scripts/setup.sh)"
if [ "$MODE" = boot ]; then SECONDS_=${QT_SECONDS:-4}; else SECONDS_=${QT_SECONDS:-15}; fi
HOOK=${QT_HOOK:-pause}
# The receiver's final line comes after this long without a packet: longer
# than a destination may hold the live stream (hold-timeout-ms, 5 s) when
# only auto-detection runs.
GUEST_IDLE=3000
case $MODE in auto | discover | long | cancel | cancel_precopy | dstdie | nodst) GUEST_IDLE=8000 ;; esac
HOLD_MS=${QT_HOLD_MS:-1200}
VM_MAC=52:54:00:12:34:56
VM_IP=10.78.0.2
TUN_A=10.78.0.11 TUN_B=10.78.0.12
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
T=uqt$$ # interface and namespace prefix

# The guest: a kernel and an initramfs with udpmig-rcv (qemu-lib.sh).
qt_image
KERNEL=$QT_KERNEL_FILE INITRD=$QT_INITRD_FILE

# The accelerator: KVM where a KVM guest boots, else TCG (probed once).
ACCEL=${QT_ACCEL:-auto}
if [ "$ACCEL" = auto ]; then
	ACCEL=$("$SRC/scripts/guest/probe-accel.sh" --qemu "$QEMU" \
		--cache "${UDPMIG_BUILD:-$SRC/build}/guest/accel" "$KERNEL" "$INITRD" 2>"$IT_DIR/probe-accel.log") ||
		ACCEL=tcg
	echo "# accelerator: $ACCEL ($(tail -n 1 "$IT_DIR/probe-accel.log"))"
fi
case $ACCEL in kvm | tcg) ;; *) it_fatal "QT_ACCEL must be auto, kvm or tcg, not '$ACCEL'" ;; esac
if [ "$ACCEL" = kvm ]; then RATE=${QT_RATE:-50000}; else RATE=${QT_RATE:-5000}; fi
N=$((RATE * SECONDS_))

# Guest memory: hugetlbfs when the host has the pages (2 guests of
# 256 MiB); memfd otherwise. Measured here (QEMU 7.2, TCG): on hugetlbfs
# a migration took 0.2-0.4 s and no destination guest crashed in 11 runs;
# on memfd 0.7-4.9 s, and 11 of 41 destination guests crashed or hung,
# every one of them in a run whose downtime was under 20 ms (15 runs).
qt_memory
GUEST_MEM=$QT_GUEST_MEM
echo "# guest memory: $GUEST_MEM"

# The network.
HOSTS=(a s)
[ "$MODE" = boot ] || HOSTS=(a b s)
it_hosts_on_bridge "$T" "$VM_IP" "$VM_MAC" "${HOSTS[@]}"
# The sender's kernel leaves UDP checksums to the veth (CHECKSUM_PARTIAL);
# af_packet hands the frame to DPDK without that note, and the guest's
# kernel would drop every datagram for a bad checksum: checksum in software.
ip netns exec "${T}s" ethtool -K "${T}s0" tx off >/dev/null 2>&1 ||
	it_fatal "cannot turn off tx checksum offload on ${T}s0 (ethtool installed?)"


# switch HOST TUNNEL_IP
switch() {
	local h=$1 vdev_extra='' logs=('--log-level=pmd.net.vhook:info' '--log-level=lib.vhost.config:info')
	it_eal "sw$h" '0@(0,1),1@(0,1)'
	IT_EAL=("${IT_EAL[@]/#512/1024}")
	[ "$MODE" = baseline ] && vdev_extra=,auto-detect=0
	# nodst: A's channel to a dead peer times out sooner than the default 10 s.
	[ "$MODE" = nodst ] && [ "$h" = a ] && vdev_extra=,offline-timeout-ms=3000
	case $MODE in auto | discover)
		logs=('--log-level=pmd.net.vhook:debug' '--log-level=lib.vhost.config:debug') ;;
	esac
	it_bg "sw$h" ip netns exec "${T}$h" "$SWITCH" "${IT_EAL[@]}" "${logs[@]}" \
		--vdev "net_vhook0,iface=$IT_DIR/$h.sock,vm=vm1,mac=$VM_MAC,ctl=$IT_DIR/$h.ctl$vdev_extra" \
		--vdev "net_af_packet0,iface=${T}${h}0,qdisc_bypass=1,framecnt=8192" \
		-- --uplink net_af_packet0 --tunnel-ip "$2"
	# The trace: every log line with its CLOCK_MONOTONIC time (the QMP
	# events' clock in migrate.json).
	# The new modes use it for the time from resume to the last held packet.
	case ${QT_TRACE:-}:$MODE in
	?*:* | *:long | *:cancel | *:cancel_precopy)
		it_bg "ts$h" python3 "$QMPPY" follow "$IT_DIR/sw$h.log" "$IT_DIR/sw$h.ts" ;;
	esac
	it_wait_file "$IT_DIR/$h.ctl" 30 "sw$h" || it_fatal "switch $h did not start"
	it_wait_file "$IT_DIR/$h.sock" 10 "sw$h" || it_fatal "switch $h has no vhost-user socket"
}

# qemu NAME SOCKET [QEMU args]: a guest on a udpmig port's SOCKET
# (qemu-lib.sh's qt_qemu); serial console in $IT_DIR/NAME.serial, QMP on
# $IT_DIR/NAME.qmp.
QT_VM_MAC=$VM_MAC QT_VM_IP=$VM_IP QT_GUEST_IDLE=$GUEST_IDLE QT_ACCEL=$ACCEL QT_T=$T
qemu() {
	local name=$1 sock=$2
	shift 2
	qt_qemu "$name" "path=$sock" "$@"
}

sender() {
	it_bg send ip netns exec "${T}s" "$SEND" --kernel -- --rate "$RATE" --count "$N" \
		--src-ip 10.78.0.1 --dst-ip "$VM_IP" --report "$IT_DIR/send.json" --ready "$IT_DIR/send.ready"
	it_wait_file "$IT_DIR/send.ready" 30 send || it_fatal "the sender did not start"
}

# --- the source (or only) host
switch a "$TUN_A"
[ "$MODE" = boot ] || switch b "$TUN_B"
if [ "$MODE" = discover ] || [ "$MODE" = long ]; then
	# Configuration, once, before the guest boots (peer-add is taken
	# before the switch has set its tunnel endpoint too); retried while
	# the control socket comes up.
	check "A knows B as a peer" it_retry 10 ctl a peer-add "$TUN_B" --key "$KEY"
	check "B knows A as a peer" it_retry 10 ctl b peer-add "$TUN_A" --key "$KEY"
fi
t_boot=$(it__now)
# A second QMP socket for the test's own commands (migrate_cancel) while
# scripts/udpmig-migrate holds the first (QMP takes one client a socket).
qemu q1 "$IT_DIR/a.sock" -qmp "unix:$IT_DIR/q1c.qmp,server=on,wait=off"
deadline=$(($(date +%s) + 120))
until grep -aq UDPMIG-GUEST-READY "$IT_DIR/q1.serial" 2>/dev/null; do
	it_running q1 || it_fatal "QEMU q1 ended during boot"
	qt_crashed q1 && it_skip "guest q1 crashed during boot"
	[ "$(date +%s)" -lt "$deadline" ] || it_fatal "the guest did not boot in 120 s"
	sleep 0.1
done
boot_ms=$((($(it__now) - t_boot) / 1000))
echo "# guest ready in $boot_ms ms: $(grep -ao 'UDPMIG-GUEST-READY.*' "$IT_DIR/q1.serial" | tr -d '\r')"
grep -aq UDPMIG-GUEST-ERROR "$IT_DIR/q1.serial" && it_fatal "guest: $(grep -ao 'UDPMIG-GUEST-ERROR.*' "$IT_DIR/q1.serial")"
check_eq "A sees the guest's vhost device" "$(vmfield a "['port']['attached']")" True
sender

if [ "$MODE" = boot ]; then
	it_wait_exit send $((SECONDS_ + 60))
	qt_wait_final q1 60
	qt_skip_if_crashed q1
	R=$(qt_rcv q1) || it_fatal "no UDPMIG-RCV line on the console"
	echo "# receiver: $R"
	check_eq "sender sent every packet" "$(it_json "$IT_DIR/send.json" sent)" "$N"
	check_eq "the guest got every packet" "$(qt_rcv q1 unique)" "$N"
	check_eq "none lost" "$(qt_rcv q1 lost)" 0
	check_eq "none duplicated" "$(qt_rcv q1 duplicated)" 0
	check_eq "none reordered" "$(qt_rcv q1 reordered)" 0
	if [ -n "${QT_SUMMARY:-}" ]; then
		python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(mode="boot", boot_ms=int(sys.argv[2]), sent=int(sys.argv[3])); json.dump(r, open(sys.argv[4], "w"))' \
			"$R" "$boot_ms" "$N" "$QT_SUMMARY"
	fi
	it_done
fi

# --- live migration
qt_wait_rcv q1 received "$RATE" 60
case $? in
0) ;;
2) qt_skip_if_crashed q1 ;;
*) it_fatal "the guest on A receives nothing (last: $(qt_rcv q1 2>/dev/null))" ;;
esac
qemu q2 "$IT_DIR/b.sock" -incoming "unix:$IT_DIR/mig.sock"
it_wait_file "$IT_DIR/mig.sock" 20 q2 || it_fatal "QEMU q2 does not listen for the migration"

# qmpc CMD [ARGS]: a QMP command on the source's second QMP socket.
qmpc() { python3 "$QMPPY" cmd "$IT_DIR/q1c.qmp" "$@"; }
# mig_status: the source's migration status (none before any migration).
mig_status() {
	qmpc query-migrate 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("status", "none"))'
}
# wait_mig STATUS TIMEOUT: until the source's migration is in STATUS
# (while udpmig-migrate runs).
wait_mig() {
	local deadline=$(($(date +%s) + $2)) st
	until st=$(mig_status) && [ "$st" = "$1" ]; do
		if ! it_running mig || [ "$(date +%s)" -ge "$deadline" ]; then
			it__log "migration status ${st:-?}, not $1"
			return 1
		fi
		sleep 0.05
	done
}
# wait_gt HOST PATH MIN TIMEOUT: until a vm-show field of HOST is > MIN.
wait_gt() {
	local deadline=$(($(date +%s) + $4)) v
	until v=$(vmfield "$1" "$2" 2>/dev/null) && [ "${v:-0}" -gt "$3" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}
# held_ms SIDE TS: ms from SIDE's (src|dst) last RESUME in migrate.json to
# the first "held packets handed back" line after it in the switch log TS
# (CLOCK_MONOTONIC stamps): the time from resume to the last held packet
# given to the guest.
held_ms() {
	python3 - "$IT_DIR/migrate.json" "$1" "$2" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
res = [e for e in m["events"] if e["side"] == sys.argv[2] and e["event"] == "RESUME"]
if not res:
    sys.exit(1)
t = m["t0_monotonic"] + res[-1]["t_ms"] / 1000
for line in open(sys.argv[3], errors="replace"):
    ts, _, rest = line.partition(" ")
    if "held packets handed back" in rest and float(ts) >= t - 0.05:
        print(round((float(ts) - t) * 1000))
        sys.exit(0)
sys.exit(1)
PYEOF
}
# mig_report: the migration's figures from migrate.json.
mig_report() {
	python3 - "$IT_DIR/migrate.json" <<'PYEOF'
import json, sys
try:
    m = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"# migration: no result ({e})")
    sys.exit(0)
q = m["query_migrate"] or {}
print(f"# migration: {q.get('status')}, total {q.get('total-time')} ms, downtime {q.get('downtime')} ms,"
      f" setup {q.get('setup-time')} ms, ram {q.get('ram', {}).get('transferred')} B")
for e in m["events"]:
    d = e.get("data", {})
    print(f"#   {e['t_ms']:>9} ms {e['side']:<6} {e['event']} {json.dumps(d) if d else ''}")
PYEOF
}

# --- the failure paths: the VM stays on A
case $MODE in cancel | cancel_precopy | dstdie | nodst)
	MIGARGS=("$MIGRATE" --src-qmp "$IT_DIR/q1.qmp" --dst-qmp "$IT_DIR/q2.qmp" --uri "unix:$IT_DIR/mig.sock"
		--vm vm1 --src-ctl "$IT_DIR/a.ctl" --dst-ctl "$IT_DIR/b.ctl" --to "$TUN_B" --from "$TUN_A"
		--key "$KEY" --ctl-bin "$CTL_BIN" --timeout 120 --json "$IT_DIR/migrate.json")
	case $MODE in
	cancel) MIGARGS+=(--hold-ms 60000) ;; # cancelled in the hold
	cancel_precopy | dstdie) MIGARGS+=(--bandwidth 2000000) ;;
	esac
	if [ "$MODE" = nodst ]; then
		# The incoming QEMU is connected to B (it listens for the
		# migration only after its vhost-user netdev connected): now B's
		# switch dies.
		it_stop swb 10
		"${MIGARGS[@]}" 2>"$IT_DIR/mig.log"
		check_eq "udpmig-migrate refuses: B's switch does not answer (exit 1)" $? 1
		sed 's/^/# /' "$IT_DIR/mig.log" | tail -n 3
		check_eq "no migration was started" "$(mig_status)" none
		check_eq "A's VM was not touched" "$(vmfield a "['migration']['state']")" IDLE
		# A is told to migrate to the dead B anyway, and goes offline
		# while the guest still runs here: the channel times out.
		check "A: migrate-start --to B (dead)" ctl a migrate-start vm1 --to "$TUN_B" --key "$KEY"
		check "A: migrate-offline" ctl a migrate-offline vm1
		check "A holds the VM's packets" wait_gt a "['port']['held']" 0 10
		check "A's channel to the dead B times out: IDLE" wait_state a IDLE 20
		check "A's log says so" grep -q 'SRC_OFFLINE -> IDLE on TIMEOUT' "$IT_DIR/swa.log"
		echo "# A tunnel: $(vmfield a "['tunnel']")"
		# B's switch answers nothing, not even ARP for its tunnel address.
		check_eq "A never reached B" "$(vmfield a "['tunnel']['peer_mac_known']")" False
		check_gt "A asked for B's address (ARP)" \
			"$(ctl a status | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"]["arp_out"])')" 0
	else
		it_bg mig "${MIGARGS[@]}"
		case $MODE in
		cancel)
			wait_mig pre-switchover 90 || it_fatal "the source did not pause at pre-switchover"
			check "A is OFFLINE in the blackout" wait_state a SRC_OFFLINE 10
			check "B got A's held packets through the tunnel" wait_gt b "['tunnel']['data_received']" 0 10
			check "migrate_cancel in the blackout" qmpc migrate_cancel
			;;
		cancel_precopy | dstdie)
			wait_mig active 90 || it_fatal "the migration did not start"
			check "A is in PRECOPY" wait_state a SRC_PRECOPY 10
			check "B expects the VM" wait_state b DST_EXPECTING 10
			check_eq "still in precopy" "$(mig_status)" active
			if [ "$MODE" = dstdie ]; then
				it_signal q2 KILL
				it_wait_exit q2 10
				check_ne "the destination QEMU died (SIGKILL)" $? 124
			else
				check "migrate_cancel during precopy" qmpc migrate_cancel
			fi
			;;
		esac
		it_wait_exit mig 60
		check_eq "udpmig-migrate: the migration did not complete (exit 1)" "$(it_rc mig)" 1
		tail -n 4 "$IT_DIR/mig.log" | sed 's/^/# /'
		mig_report
		want=cancelled
		[ "$MODE" = dstdie ] && want=failed
		check_eq "QEMU: migration $want" "$(it_json "$IT_DIR/migrate.json" status)" $want
		deadline=$(($(date +%s) + 20))
		until [ "$(qmpc query-status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = running ]; do
			[ "$(date +%s)" -lt "$deadline" ] || break
			sleep 0.1
		done
		check_eq "the VM runs on A again" \
			"$(qmpc query-status | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" running
		check "A is back to IDLE" wait_state a IDLE 20
		check "B is back to IDLE" wait_state b IDLE 20
		if [ "$MODE" = cancel ]; then
			check_gt "B dropped its copy and counted it" "$(vmfield b "['tunnel']['dropped']")" 0
			check_gt "A gave its buffer back to the guest" \
				"$(vmfield a "['counters']['udpmig_injected_packets']")" 0
			HELD=$(held_ms src "$IT_DIR/swa.ts") || HELD="?"
			echo "# resume on A to its last held packet given back: $HELD ms"
		fi
	fi
	it_wait_exit send $((SECONDS_ + 60))
	qt_wait_final q1 90
	qt_skip_if_crashed q1
	R=$(qt_rcv q1) || it_fatal "no UDPMIG-RCV line on the source's console"
	for h in a b; do
		it_running "sw$h" &&
			echo "# $h: $(ctl $h vm-show vm1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["migration"]["state"], {k: v for k, v in d["counters"].items() if v}, "tunnel dropped", d["tunnel"]["dropped"])')"
	done
	echo "# receiver (the guest on A): $R"
	check_eq "sender sent every packet" "$(it_json "$IT_DIR/send.json" sent)" "$N"
	check_eq "the guest on A got every packet" "$(qt_rcv q1 unique)" "$N"
	check_eq "none lost" "$(qt_rcv q1 lost)" 0
	check_eq "none duplicated" "$(qt_rcv q1 duplicated)" 0
	check_eq "none reordered" "$(qt_rcv q1 reordered)" 0
	if [ -n "${QT_SUMMARY:-}" ]; then
		python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(mode=sys.argv[2], sent=int(sys.argv[3]), held_ms=sys.argv[4]); json.dump(r, open(sys.argv[5], "w"))' \
			"$R" "$MODE" "$N" "${HELD:-}" "$QT_SUMMARY"
	fi
	it_done
	;;
esac

HOOKARGS=()
if { [ "$MODE" = migrate ] && [ "$HOOK" != pause ]; } || [ "$MODE" = auto ]; then
	check "B expects the VM" ctl b migrate-expect vm1 --from "$TUN_A" --key "$KEY"
fi
if [ "$MODE" = migrate ] && [ "$HOOK" != pause ]; then
	check "A starts the migration to B" ctl a migrate-start vm1 --to "$TUN_B" --key "$KEY"
	case $HOOK in
	stop) HOOKARGS=(--stop-hook "$CTL_BIN -s $IT_DIR/a.ctl migrate-offline vm1") ;;
	*) it_fatal "QT_HOOK must be pause or stop, not '$HOOK'" ;;
	esac
fi
ctl a vm-show vm1 >"$IT_DIR/a-before.json" 2>&1
# shellcheck disable=SC2086 # QT_QMP_ARGS: options, split into words
case $MODE:$HOOK in
migrate:pause)
	# As a user does it: scripts/udpmig-migrate with both switches.
	"$MIGRATE" --src-qmp "$IT_DIR/q1.qmp" --dst-qmp "$IT_DIR/q2.qmp" --uri "unix:$IT_DIR/mig.sock" \
		--vm vm1 --src-ctl "$IT_DIR/a.ctl" --dst-ctl "$IT_DIR/b.ctl" --to "$TUN_B" --from "$TUN_A" \
		--key "$KEY" --ctl-bin "$CTL_BIN" --timeout 120 --json "$IT_DIR/migrate.json" \
		${QT_QMP_ARGS:-} 2>"$IT_DIR/mig.log"
	mig_rc=$?
	;;
long:*)
	# No switch command: the switches detect the migration and find each
	# other (peers); the source stays paused at pre-switchover HOLD_MS.
	"$MIGRATE" --src-qmp "$IT_DIR/q1.qmp" --dst-qmp "$IT_DIR/q2.qmp" --uri "unix:$IT_DIR/mig.sock" \
		--hold-ms "$HOLD_MS" --timeout 120 --json "$IT_DIR/migrate.json" ${QT_QMP_ARGS:-} 2>"$IT_DIR/mig.log"
	mig_rc=$?
	;;
*)
	python3 "$QMPPY" migrate --src "$IT_DIR/q1.qmp" --dst "$IT_DIR/q2.qmp" --uri "unix:$IT_DIR/mig.sock" \
		--bandwidth $((1 << 30)) "${HOOKARGS[@]}" --timeout 120 --out "$IT_DIR/migrate.json" \
		${QT_QMP_ARGS:-} >/dev/null
	mig_rc=$?
	;;
esac
ctl b vm-show vm1 >"$IT_DIR/b-after.json" 2>&1
ctl a vm-show vm1 >"$IT_DIR/a-after.json" 2>&1
# The source stays paused after `completed`: quit it, as an orchestrator does.
python3 "$QMPPY" cmd "$IT_DIR/q1.qmp" quit >/dev/null 2>&1
it_wait_exit q1 10 >/dev/null || it_stop q1 5
mig_report
if [ "$mig_rc" -ne 0 ]; then
	qt_skip_if_crashed q1
	echo "# source console (tail): $(tr -d '\r' <"$IT_DIR/q1.serial" | grep -av '^UDPMIG-RCV' | tail -n 5)"
	echo "# source receiver: $(qt_rcv q1)"
	it_running q1 || echo "# QEMU q1 had exited: $(it_rc q1)"
fi
check_eq "QEMU migrated the guest" "$mig_rc" 0
[ "$mig_rc" -eq 0 ] || it_done
it_wait_exit send $((SECONDS_ + 60))
qt_wait_final q2 60
qt_skip_if_crashed q2
# The receiver prints a line every second whatever the network does: a
# console that stays silent after the migration is a hung guest (TCG).
if ! R=$(qt_rcv q2); then
	grep -q . "$IT_DIR/q2.serial" || {
		cp "$IT_DIR/q1.serial" "$IT_DIR/q2.serial" "$IT_DIR"/*.log "$IT_LOGS/" 2>/dev/null
		it_skip "the destination guest printed nothing after the migration (hung; TCG, SETUP.md §8): retry"
	}
	it_fatal "no UDPMIG-RCV line on the destination's console"
fi
for h in a b; do
	st=$(vmfield $h "['migration']['state']" 2>/dev/null)
	echo "# $h: migration state now $st"
done
echo "# B right after the migration: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print({k: d[k] for k in ("migration", "port") if k in d})' "$IT_DIR/b-after.json" 2>/dev/null)"
echo "# A tunnel: $(ctl a vm-show vm1 | python3 -c 'import json,sys; print(json.load(sys.stdin).get("tunnel"))')"
echo "# B tunnel: $(ctl b vm-show vm1 | python3 -c 'import json,sys; print(json.load(sys.stdin).get("tunnel"))')"
for h in a b; do
	echo "# $h endpoint: $(ctl $h status | python3 -c 'import json,sys; print(json.load(sys.stdin).get("tunnel"))')"
done
for h in a b; do
	echo "# $h counters: $(ctl $h vm-show vm1 | python3 -c 'import json,sys; print({k: v for k, v in json.load(sys.stdin)["counters"].items() if v})')"
done
echo "# receiver: $R"
sleep 0.5 # the guest's own counters follow the final line
tr -d '\r' <"$IT_DIR/q2.serial" | grep -a '^UDPMIG-GUEST-STATS' | sed 's/^/# /'
check_eq "sender sent every packet" "$(it_json "$IT_DIR/send.json" sent)" "$N"
case $MODE in
migrate | discover | long)
	check_eq "the guest got every packet" "$(qt_rcv q2 unique)" "$N"
	check_eq "none lost" "$(qt_rcv q2 lost)" 0
	check_gt "A learnt from B's acks that the VM resumed there" \
		"$(vmfield a "['tunnel']['acks_resumed']")" 0
	;;
baseline)
	check_gt "baseline: a stock switch loses packets" "$(qt_rcv q2 lost)" 0
	;;
auto)
	echo "# auto-detection: lost $(qt_rcv q2 lost) of $N"
	;;
esac
check_eq "none duplicated" "$(qt_rcv q2 duplicated)" 0
check_eq "none reordered" "$(qt_rcv q2 reordered)" 0
HELD=
if [ "$MODE" = long ]; then
	dt=$(it_json "$IT_DIR/migrate.json" downtime_ms)
	check_ge "QMP downtime >= 1000 ms (held at pre-switchover $HOLD_MS ms)" "$dt" 1000
	HELD=$(held_ms dst "$IT_DIR/swb.ts") || HELD="?"
	echo "# downtime $dt ms; from the resume on B to its last held packet given to the guest: $HELD ms"
fi
if [ -n "${QT_SUMMARY:-}" ]; then
	ctl a vm-show vm1 >"$IT_DIR/a-end.json" 2>&1
	ctl b vm-show vm1 >"$IT_DIR/b-end.json" 2>&1
	python3 - "$R" "$IT_DIR/migrate.json" "$QT_SUMMARY" "$MODE" "$HOOK" "$boot_ms" "$N" "$IT_DIR/b-after.json" \
		"$IT_DIR/a-end.json" "$IT_DIR/b-end.json" "$IT_DIR/send.json" "$HELD" <<'EOF'
import json, sys
def counters(path):
    try:
        d = json.load(open(path))
    except Exception:
        return None
    c = d["counters"]
    return {"delivered": c.get("udpmig_delivered_packets"), "tx_missed": c.get("udpmig_tx_missed_errors"),
            "data_sent": d["tunnel"]["data_sent"], "data_received": d["tunnel"]["data_received"]}
r = json.loads(sys.argv[1])
m = json.load(open(sys.argv[2]))
q = m["query_migrate"]
try:
    b = json.load(open(sys.argv[8])).get("migration")
except Exception:
    b = None
json.dump({"mode": sys.argv[4], "hook": sys.argv[5], "boot_ms": int(sys.argv[6]), "sent": int(sys.argv[7]),
           "received": r["unique"], "lost": r["lost"], "duplicated": r["duplicated"],
           "reordered": r["reordered"], "max_gap_ms": r["max_gap_ms"], "missing": r.get("missing"),
           "qemu_total_ms": q.get("total-time"), "qemu_downtime_ms": q.get("downtime"),
           "b_migration_after": b, "a": counters(sys.argv[9]), "b": counters(sys.argv[10]),
           "send_pps": json.load(open(sys.argv[11])).get("rate_pps"), "held_ms": sys.argv[12]},
          open(sys.argv[3], "w"))
EOF
fi
if [ -n "${QT_TRACE:-}" ]; then
	mkdir -p "$QT_TRACE" && cp "$IT_DIR"/*.log "$IT_DIR"/*.ts "$IT_DIR"/*.serial "$IT_DIR"/*.json "$QT_TRACE/" 2>/dev/null
fi
it_done
