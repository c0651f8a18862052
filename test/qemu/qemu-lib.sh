# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# QEMU guests for the tests (sourced after test/integration/lib.sh, which
# gives it_bg, it_skip, IT_DIR, ...): the guest image, its memory, starting
# a QEMU on a vhost-user socket (as client or as server), and reading what
# the guest's receiver (udpmig-rcv) prints on the serial console.
#
#   . "$UDPMIG_SOURCE/test/qemu/qemu-lib.sh"
#   qt_image                        # QT_KERNEL_FILE, QT_INITRD_FILE (skips if it cannot)
#   qt_memory                       # QT_GUEST_MEM: hugetlbfs or memfd
#   qt_qemu q1 "path=$sock"         # client; "path=$sock,server=on,wait=off": server
#   qt_wait_ready q1 120            # UDPMIG-GUEST-READY on the console
#   qt_wait_rcv q1 received 5000 60; qt_rcv q1 lost
#
# Settings read by qt_qemu (set them before): QT_VM_MAC, QT_VM_IP (required),
# QT_GUEST_IDLE (ms, 3000), QT_ACCEL (tcg), QT_APPEND, QT_T (a prefix
# unique to the run for hugetlbfs files; default qt$$). A guest that
# crashes or hangs after a migration under TCG (SETUP.md §8) makes the
# test skip (qt_skip_if_crashed), never fail.

QT_QEMU_BIN=${QT_QEMU:-$(command -v qemu-system-x86_64 || true)}

# qt_need: skip when QEMU is missing.
qt_need() {
	[ -n "$QT_QEMU_BIN" ] || it_skip "qemu-system-x86_64 not installed (Debian qemu-system-x86; scripts/setup.sh)"
}

# qt_image: the guest's kernel and initramfs in QT_KERNEL_FILE and
# QT_INITRD_FILE: QT_KERNEL and QT_INITRD when given, else built (and
# cached) by scripts/guest/build-guest.sh in $UDPMIG_BUILD/guest, with
# UDPMIG_RCV as its receiver when set. Skips when it cannot be built.
qt_image() {
	local src=${UDPMIG_SOURCE:?} out rcv=()
	QT_KERNEL_FILE=${QT_KERNEL:-}
	QT_INITRD_FILE=${QT_INITRD:-}
	if [ -z "$QT_KERNEL_FILE" ] || [ -z "$QT_INITRD_FILE" ]; then
		[ -n "${UDPMIG_RCV:-}" ] && rcv=(--rcv "$UDPMIG_RCV")
		out=$("$src/scripts/guest/build-guest.sh" --cache "${UDPMIG_BUILD:-$src/build}/guest" "${rcv[@]}" \
			2>"$IT_DIR/build-guest.log" | tail -n 1) ||
			it_skip "cannot build the guest (Debian packages not reachable?): $(tail -n 1 "$IT_DIR/build-guest.log")"
		QT_KERNEL_FILE=${out% *}
		QT_INITRD_FILE=${out#* }
	fi
	{ [ -f "$QT_KERNEL_FILE" ] && [ -f "$QT_INITRD_FILE" ]; } ||
		it_fatal "no guest kernel/initramfs ($QT_KERNEL_FILE, $QT_INITRD_FILE)"
}

# qt_memory [PAGES]: QT_GUEST_MEM = QT_MEM if set, else hugetlbfs when
# /dev/hugepages is mounted with PAGES (256: two guests of 256 MiB) free
# 2 MiB pages, else memfd. On hugetlbfs TCG guests migrate in 0.2-0.4 s and
# none crashed in 11 runs; on memfd 0.7-4.9 s and 11 of 41 crashed or hung.
qt_memory() {
	QT_GUEST_MEM=${QT_MEM:-}
	if [ -z "$QT_GUEST_MEM" ]; then
		QT_GUEST_MEM=memfd
		if grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts &&
			[ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)" -ge "${1:-256}" ]; then
			QT_GUEST_MEM=hugetlbfs
		fi
	fi
	case $QT_GUEST_MEM in memfd | hugetlbfs) ;; *) it_fatal "QT_MEM must be memfd or hugetlbfs, not '$QT_GUEST_MEM'" ;; esac
}

# qt_qemu NAME CHARDEV [QEMU args]: a guest whose virtio-net is on the
# vhost-user socket described by CHARDEV (the socket chardev's options:
# "path=P" connects to a server, "path=P,server=on,wait=off" listens for a
# client such as OVS's dpdkvhostuserclient). Serial console in
# $IT_DIR/NAME.serial, QMP on $IT_DIR/NAME.qmp.
qt_qemu() {
	local name=$1 chardev=$2 t=${QT_T:-qt$$}
	shift 2
	local mem=memory-backend-memfd,id=mem,size=256M,share=on
	if [ "${QT_GUEST_MEM:-memfd}" = hugetlbfs ]; then
		# A file of its own per QEMU: two QEMUs on one file share the memory.
		mem=memory-backend-file,id=mem,size=256M,share=on,mem-path=/dev/hugepages/$t-$name
		it_at_exit rm -f "/dev/hugepages/$t-$name"
	fi
	it_bg "$name" "$QT_QEMU_BIN" -name "$name" -accel "${QT_ACCEL:-tcg}" -cpu qemu64 -m 256 -nodefaults -no-reboot \
		-object "$mem" -numa node,memdev=mem \
		-chardev "socket,id=c0,$chardev" -netdev vhost-user,id=n0,chardev=c0 \
		-device "virtio-net-pci,netdev=n0,mac=${QT_VM_MAC:?},vectors=0,rx_queue_size=1024,tx_queue_size=1024" \
		-kernel "${QT_KERNEL_FILE:?qt_image first}" -initrd "${QT_INITRD_FILE:?}" \
		-append "console=ttyS0 loglevel=4 udpmig.ip=${QT_VM_IP:?}/24 udpmig.port=5000 udpmig.idle=${QT_GUEST_IDLE:-3000}${QT_APPEND:+ $QT_APPEND}" \
		-display none -serial "file:$IT_DIR/$name.serial" -monitor none \
		-qmp "unix:$IT_DIR/$name.qmp,server=on,wait=off" "$@"
	it_wait_file "$IT_DIR/$name.qmp" 30 "$name" || it_fatal "QEMU $name did not start"
}

QT_CRASH_RE='Kernel panic|BUG: |general protection fault|Oops: |invalid opcode'

# qt_crashed NAME: the guest's console shows a kernel crash.
qt_crashed() { grep -Eq "$QT_CRASH_RE" "$IT_DIR/$1.serial" 2>/dev/null; }

# qt_wait_ready NAME TIMEOUT: the guest has booted and its eth0 is up
# (UDPMIG-GUEST-READY). Skips when it crashed, fails when QEMU ended, the
# time ran out, or the guest reported an error.
qt_wait_ready() {
	local deadline=$(($(date +%s) + $2))
	until grep -aq UDPMIG-GUEST-READY "$IT_DIR/$1.serial" 2>/dev/null; do
		it_running "$1" || it_fatal "QEMU $1 ended during boot"
		qt_crashed "$1" && it_skip "guest $1 crashed during boot"
		[ "$(date +%s)" -lt "$deadline" ] || it_fatal "the guest $1 did not boot in $2 s"
		sleep 0.1
	done
	! grep -aq UDPMIG-GUEST-ERROR "$IT_DIR/$1.serial" ||
		it_fatal "guest $1: $(grep -ao 'UDPMIG-GUEST-ERROR.*' "$IT_DIR/$1.serial")"
}

# qt_rcv NAME [KEY]: the last UDPMIG-RCV line's JSON, or one key of it.
qt_rcv() {
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

# qt_wait_rcv NAME KEY MIN TIMEOUT: 0 when the receiver's KEY >= MIN,
# 2 when the guest crashed, 1 on timeout or when QEMU ended.
qt_wait_rcv() {
	local deadline=$(($(date +%s) + $4)) v
	while :; do
		v=$(qt_rcv "$1" "$2" 2>/dev/null) || v=
		[ -n "$v" ] && [ "$v" -ge "$3" ] && return 0
		qt_crashed "$1" && return 2
		it_running "$1" || return 1
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# qt_wait_final NAME TIMEOUT: the receiver's final line (0), a crash (2),
# or a timeout (1).
qt_wait_final() {
	local deadline=$(($(date +%s) + $2))
	until tr -d '\r' <"$IT_DIR/$1.serial" 2>/dev/null | grep -aq 'UDPMIG-RCV {"final": true'; do
		qt_crashed "$1" && return 2
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# qt_skip_if_crashed NAME: a crashed guest (TCG) skips the test (77),
# with its console and the logs kept.
qt_skip_if_crashed() {
	if qt_crashed "$1"; then
		grep -aE -m 3 "$QT_CRASH_RE" "$IT_DIR/$1.serial" | sed 's/^/# /'
		local keep=$IT_LOGS/integration-$IT_NAME-crash
		rm -rf "$keep" && mkdir -p "$keep" && cp "$IT_DIR"/*.serial "$IT_DIR"/*.log "$keep/" 2>/dev/null &&
			it__log "console and logs kept in $keep"
		it_skip "guest $1 crashed (TCG after migration, SETUP.md §8): retry"
	fi
}

# qt_migration_summary FILE: qmp-migrate.py's result, one comment line per
# event.
qt_migration_summary() {
	python3 - "$1" <<'EOF'
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
}
