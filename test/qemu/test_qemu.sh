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
#             stream, with udpmig's explicit commands: migrate-expect on B,
#             migrate-start --to B on A before `migrate`, and
#             migrate-offline on A when the source pauses at
#             pre-switchover (pause-before-switchover; QT_HOOK=stop: at
#             the source's STOP event instead). Zero loss expected.
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
# A guest that crashes or hangs after the migration (TCG: SETUP.md §8;
# here 11 of 41 on memfd memory, none of 11 on hugetlbfs) makes the test
# skip (77), never fail.
#
# Environment: UDPMIG_SWITCH, UDPMIG_CTL, UDPMIG_SEND, UDPMIG_RCV (set by
# test/qemu/meson.build); QT_KERNEL and QT_INITRD (else
# scripts/guest/build-guest.sh builds them in $UDPMIG_BUILD/guest); knobs
# QT_RATE (pps, 5000), QT_SECONDS (stream length, boot 4, migrations
# 15: the migration starts after 1 s of it and takes 0.2-5 s under TCG),
# QT_HOOK (pause | stop), QT_ACCEL (tcg; kvm on a real host), QT_MEM
# (hugetlbfs, a file per QEMU in /dev/hugepages, when 256 free 2 MiB pages
# are there; else memfd),
# QT_APPEND (more guest kernel command line), QT_QMP_ARGS (more
# qmp-migrate.py migrate options, e.g. "--dst-param announce-rounds=1"),
# QT_SUMMARY (write a JSON summary there), QT_TRACE (a directory: the
# switches' logs with CLOCK_MONOTONIC stamps, *.ts, the consoles and the
# QMP events are copied there; docs/qemu-trace.md).
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
MODE=${1:-${QT_MODE:-boot}}
case $MODE in boot | migrate | baseline | auto | discover) ;;
*)
	echo "QT_MODE must be boot, migrate, baseline, auto or discover, not '$MODE'"
	exit 2
	;;
esac
it_init "qemu-$MODE"

SWITCH=${UDPMIG_SWITCH:?UDPMIG_SWITCH: path of udpmig-switch}
CTL_BIN=${UDPMIG_CTL:?UDPMIG_CTL: path of udpmig-ctl}
SEND=${UDPMIG_SEND:?}
SRC=${UDPMIG_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
QMPPY=$SRC/test/qemu/qmp-migrate.py
QEMU=${QT_QEMU:-$(command -v qemu-system-x86_64 || true)}
[ -n "$QEMU" ] || it_skip "qemu-system-x86_64 not installed (Debian qemu-system-x86; scripts/setup.sh)"
command -v ip >/dev/null || it_skip "iproute2 (ip) not installed"
command -v ethtool >/dev/null || it_skip "ethtool not installed (scripts/setup.sh)"
RATE=${QT_RATE:-5000}
if [ "$MODE" = boot ]; then SECONDS_=${QT_SECONDS:-4}; else SECONDS_=${QT_SECONDS:-15}; fi
N=$((RATE * SECONDS_))
HOOK=${QT_HOOK:-pause}
# The receiver's final line comes after this long without a packet: longer
# than a destination may hold the live stream (hold-timeout-ms, 5 s) when
# only auto-detection runs.
GUEST_IDLE=3000
case $MODE in auto | discover) GUEST_IDLE=8000 ;; esac
ACCEL=${QT_ACCEL:-tcg}
VM_MAC=52:54:00:12:34:56
VM_IP=10.78.0.2
TUN_A=10.78.0.11 TUN_B=10.78.0.12
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
T=uqt$$ # interface and namespace prefix

# The guest: a kernel and an initramfs with udpmig-rcv.
KERNEL=${QT_KERNEL:-}
INITRD=${QT_INITRD:-}
if [ -z "$KERNEL" ] || [ -z "$INITRD" ]; then
	rcv=()
	[ -n "${UDPMIG_RCV:-}" ] && rcv=(--rcv "$UDPMIG_RCV")
	out=$("$SRC/scripts/guest/build-guest.sh" --cache "${UDPMIG_BUILD:-$SRC/build}/guest" "${rcv[@]}" \
		2>"$IT_DIR/build-guest.log" | tail -n 1) ||
		it_skip "cannot build the guest (Debian packages not reachable?): $(tail -n 1 "$IT_DIR/build-guest.log")"
	KERNEL=${out% *}
	INITRD=${out#* }
fi
{ [ -f "$KERNEL" ] && [ -f "$INITRD" ]; } || it_fatal "no guest kernel/initramfs ($KERNEL, $INITRD)"

# Guest memory: hugetlbfs when the host has the pages (2 guests of
# 256 MiB); memfd otherwise. Measured here (QEMU 7.2, TCG): on hugetlbfs
# a migration took 0.2-0.4 s and no destination guest crashed in 11 runs;
# on memfd 0.7-4.9 s, and 11 of 41 destination guests crashed or hung,
# every one of them in a run whose downtime was under 20 ms (15 runs).
GUEST_MEM=${QT_MEM:-}
if [ -z "$GUEST_MEM" ]; then
	GUEST_MEM=memfd
	if grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts &&
		[ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)" -ge 256 ]; then
		GUEST_MEM=hugetlbfs
	fi
fi
case $GUEST_MEM in memfd | hugetlbfs) ;; *) it_fatal "QT_MEM must be memfd or hugetlbfs, not '$GUEST_MEM'" ;; esac
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
	case $MODE in auto | discover)
		logs=('--log-level=pmd.net.vhook:debug' '--log-level=lib.vhost.config:debug') ;;
	esac
	it_bg "sw$h" ip netns exec "${T}$h" "$SWITCH" "${IT_EAL[@]}" "${logs[@]}" \
		--vdev "net_vhook0,iface=$IT_DIR/$h.sock,vm=vm1,mac=$VM_MAC,ctl=$IT_DIR/$h.ctl$vdev_extra" \
		--vdev "net_af_packet0,iface=${T}${h}0,qdisc_bypass=1,framecnt=8192" \
		-- --uplink net_af_packet0 --tunnel-ip "$2"
	# The trace: every log line with its CLOCK_MONOTONIC time (the QMP
	# events' clock in migrate.json).
	[ -n "${QT_TRACE:-}" ] && it_bg "ts$h" python3 "$QMPPY" follow "$IT_DIR/sw$h.log" "$IT_DIR/sw$h.ts"
	it_wait_file "$IT_DIR/$h.ctl" 30 "sw$h" || it_fatal "switch $h did not start"
	it_wait_file "$IT_DIR/$h.sock" 10 "sw$h" || it_fatal "switch $h has no vhost-user socket"
}

# qemu NAME SOCKET [QEMU args]: a guest on SOCKET; serial console in
# $IT_DIR/NAME.serial, QMP on $IT_DIR/NAME.qmp.
qemu() {
	local name=$1 sock=$2
	shift 2
	local mem=memory-backend-memfd,id=mem,size=256M,share=on
	if [ "$GUEST_MEM" = hugetlbfs ]; then
		# A file of its own per QEMU: two QEMUs on one shared file would
		# share the guest's memory.
		mem=memory-backend-file,id=mem,size=256M,share=on,mem-path=/dev/hugepages/$T-$name
		it_at_exit rm -f "/dev/hugepages/$T-$name"
	fi
	it_bg "$name" "$QEMU" -name "$name" -accel "$ACCEL" -cpu qemu64 -m 256 -nodefaults -no-reboot \
		-object "$mem" -numa node,memdev=mem \
		-chardev "socket,id=c0,path=$sock" -netdev vhost-user,id=n0,chardev=c0 \
		-device "virtio-net-pci,netdev=n0,mac=$VM_MAC,vectors=0,rx_queue_size=1024,tx_queue_size=1024" \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 loglevel=4 udpmig.ip=$VM_IP/24 udpmig.port=5000 udpmig.idle=$GUEST_IDLE${QT_APPEND:+ $QT_APPEND}" \
		-display none -serial "file:$IT_DIR/$name.serial" -monitor none \
		-qmp "unix:$IT_DIR/$name.qmp,server=on,wait=off" "$@"
	it_wait_file "$IT_DIR/$name.qmp" 30 "$name" || it_fatal "QEMU $name did not start"
}

# crashed NAME: the guest's console shows a kernel crash.
crashed() { grep -Eq 'Kernel panic|BUG: |general protection fault|Oops: |invalid opcode' "$IT_DIR/$1.serial" 2>/dev/null; }

# rcv NAME [KEY]: the last UDPMIG-RCV line's JSON, or one key of it.
rcv() {
	local line
	line=$(tr -d '\r' <"$IT_DIR/$1.serial" 2>/dev/null | grep -ao 'UDPMIG-RCV {.*}' | tail -n 1)
	line=${line#UDPMIG-RCV }
	[ -n "$line" ] || return 1
	if [ -n "${2:-}" ]; then
		python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$line" "$2"
	else
		printf '%s\n' "$line"
	fi
}

# wait_rcv NAME KEY MIN TIMEOUT
wait_rcv() {
	local deadline=$(($(date +%s) + $4)) v
	while :; do
		v=$(rcv "$1" "$2" 2>/dev/null) || v=
		[ -n "$v" ] && [ "$v" -ge "$3" ] && return 0
		crashed "$1" && return 2
		it_running "$1" || return 1
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# wait_final NAME TIMEOUT: the receiver's final line.
wait_final() {
	local deadline=$(($(date +%s) + $2))
	until tr -d '\r' <"$IT_DIR/$1.serial" 2>/dev/null | grep -aq 'UDPMIG-RCV {"final": true'; do
		crashed "$1" && return 2
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

skip_if_crashed() {
	if crashed "$1"; then
		grep -aE -m 3 'Kernel panic|BUG: |general protection fault|Oops: |invalid opcode' "$IT_DIR/$1.serial" |
			sed 's/^/# /'
		local keep=$IT_LOGS/integration-$IT_NAME-crash
		rm -rf "$keep" && mkdir -p "$keep" && cp "$IT_DIR"/*.serial "$IT_DIR"/*.log "$keep/" 2>/dev/null &&
			it__log "console and logs kept in $keep"
		it_skip "guest $1 crashed (TCG after migration, SETUP.md §8): retry"
	fi
}

sender() {
	it_bg send ip netns exec "${T}s" "$SEND" --kernel -- --rate "$RATE" --count "$N" \
		--src-ip 10.78.0.1 --dst-ip "$VM_IP" --report "$IT_DIR/send.json" --ready "$IT_DIR/send.ready"
	it_wait_file "$IT_DIR/send.ready" 30 send || it_fatal "the sender did not start"
}

# --- the source (or only) host
switch a "$TUN_A"
[ "$MODE" = boot ] || switch b "$TUN_B"
if [ "$MODE" = discover ]; then
	# Configuration, once, before the guest boots (peer-add is taken
	# before the switch has set its tunnel endpoint too); retried while
	# the control socket comes up.
	check "A knows B as a peer" it_retry 10 ctl a peer-add "$TUN_B" --key "$KEY"
	check "B knows A as a peer" it_retry 10 ctl b peer-add "$TUN_A" --key "$KEY"
fi
t_boot=$(it__now)
qemu q1 "$IT_DIR/a.sock"
deadline=$(($(date +%s) + 120))
until grep -aq UDPMIG-GUEST-READY "$IT_DIR/q1.serial" 2>/dev/null; do
	it_running q1 || it_fatal "QEMU q1 ended during boot"
	crashed q1 && it_skip "guest q1 crashed during boot"
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
	wait_final q1 60
	skip_if_crashed q1
	R=$(rcv q1) || it_fatal "no UDPMIG-RCV line on the console"
	echo "# receiver: $R"
	check_eq "sender sent every packet" "$(it_json "$IT_DIR/send.json" sent)" "$N"
	check_eq "the guest got every packet" "$(rcv q1 unique)" "$N"
	check_eq "none lost" "$(rcv q1 lost)" 0
	check_eq "none duplicated" "$(rcv q1 duplicated)" 0
	check_eq "none reordered" "$(rcv q1 reordered)" 0
	if [ -n "${QT_SUMMARY:-}" ]; then
		python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(mode="boot", boot_ms=int(sys.argv[2]), sent=int(sys.argv[3])); json.dump(r, open(sys.argv[4], "w"))' \
			"$R" "$boot_ms" "$N" "$QT_SUMMARY"
	fi
	it_done
fi

# --- live migration
wait_rcv q1 received "$RATE" 60
case $? in
0) ;;
2) skip_if_crashed q1 ;;
*) it_fatal "the guest on A receives nothing (last: $(rcv q1 2>/dev/null))" ;;
esac
qemu q2 "$IT_DIR/b.sock" -incoming "unix:$IT_DIR/mig.sock"
it_wait_file "$IT_DIR/mig.sock" 20 q2 || it_fatal "QEMU q2 does not listen for the migration"
HOOKARGS=()
if [ "$MODE" = migrate ] || [ "$MODE" = auto ]; then
	check "B expects the VM" ctl b migrate-expect vm1 --from "$TUN_A" --key "$KEY"
fi
if [ "$MODE" = migrate ]; then
	check "A starts the migration to B" ctl a migrate-start vm1 --to "$TUN_B" --key "$KEY"
	case $HOOK in
	pause) HOOKARGS=(--pause-hook "$CTL_BIN -s $IT_DIR/a.ctl migrate-offline vm1") ;;
	stop) HOOKARGS=(--stop-hook "$CTL_BIN -s $IT_DIR/a.ctl migrate-offline vm1") ;;
	*) it_fatal "QT_HOOK must be pause or stop, not '$HOOK'" ;;
	esac
fi
ctl a vm-show vm1 >"$IT_DIR/a-before.json" 2>&1
# shellcheck disable=SC2086 # QT_QMP_ARGS: options, split into words
python3 "$QMPPY" migrate --src "$IT_DIR/q1.qmp" --dst "$IT_DIR/q2.qmp" --uri "unix:$IT_DIR/mig.sock" \
	--bandwidth $((1 << 30)) "${HOOKARGS[@]}" --timeout 120 --out "$IT_DIR/migrate.json" \
	${QT_QMP_ARGS:-} >/dev/null
mig_rc=$?
ctl b vm-show vm1 >"$IT_DIR/b-after.json" 2>&1
ctl a vm-show vm1 >"$IT_DIR/a-after.json" 2>&1
# The source stays paused after `completed`: quit it, as an orchestrator does.
python3 "$QMPPY" cmd "$IT_DIR/q1.qmp" quit >/dev/null 2>&1
it_wait_exit q1 10 >/dev/null || it_stop q1 5
python3 - "$IT_DIR/migrate.json" <<'EOF'
import json, sys
try:
    m = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"# migration: no result ({e})")
    sys.exit(0)
q = m["query_migrate"]
print(f"# migration: {q.get('status')}, total {q.get('total-time')} ms, downtime {q.get('downtime')} ms,"
      f" setup {q.get('setup-time')} ms, ram {q.get('ram', {}).get('transferred')} B")
for e in m["events"]:
    d = e.get("data", {})
    print(f"#   {e['t_ms']:>9} ms {e['side']:<4} {e['event']} {json.dumps(d) if d else ''}")
EOF
if [ "$mig_rc" -ne 0 ]; then
	skip_if_crashed q1
	echo "# source console (tail): $(tr -d '\r' <"$IT_DIR/q1.serial" | grep -av '^UDPMIG-RCV' | tail -n 5)"
	echo "# source receiver: $(rcv q1)"
	it_running q1 || echo "# QEMU q1 had exited: $(it_rc q1)"
fi
check_eq "QEMU migrated the guest" "$mig_rc" 0
[ "$mig_rc" -eq 0 ] || it_done
it_wait_exit send $((SECONDS_ + 60))
wait_final q2 60
skip_if_crashed q2
# The receiver prints a line every second whatever the network does: a
# console that stays silent after the migration is a hung guest (TCG).
if ! R=$(rcv q2); then
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
migrate | discover)
	check_eq "the guest got every packet" "$(rcv q2 unique)" "$N"
	check_eq "none lost" "$(rcv q2 lost)" 0
	check_gt "A learnt from B's acks that the VM resumed there" \
		"$(vmfield a "['tunnel']['acks_resumed']")" 0
	;;
baseline)
	check_gt "baseline: a stock switch loses packets" "$(rcv q2 lost)" 0
	;;
auto)
	echo "# auto-detection: lost $(rcv q2 lost) of $N"
	;;
esac
check_eq "none duplicated" "$(rcv q2 duplicated)" 0
check_eq "none reordered" "$(rcv q2 reordered)" 0
if [ -n "${QT_SUMMARY:-}" ]; then
	ctl a vm-show vm1 >"$IT_DIR/a-end.json" 2>&1
	ctl b vm-show vm1 >"$IT_DIR/b-end.json" 2>&1
	python3 - "$R" "$IT_DIR/migrate.json" "$QT_SUMMARY" "$MODE" "$HOOK" "$boot_ms" "$N" "$IT_DIR/b-after.json" \
		"$IT_DIR/a-end.json" "$IT_DIR/b-end.json" "$IT_DIR/send.json" <<'EOF'
import json, sys
def counters(path):
    try:
        d = json.load(open(path))
    except Exception:
        return None
    c = d["counters"]
    return {"delivered": c.get("udpmig_delivered_packets"), "tx_missed": c.get("udpmig_tx_missed_packets"),
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
           "send_pps": json.load(open(sys.argv[11])).get("rate_pps")}, open(sys.argv[3], "w"))
EOF
fi
if [ -n "${QT_TRACE:-}" ]; then
	mkdir -p "$QT_TRACE" && cp "$IT_DIR"/*.log "$IT_DIR"/*.ts "$IT_DIR"/*.serial "$IT_DIR"/*.json "$QT_TRACE/" 2>/dev/null
fi
it_done
