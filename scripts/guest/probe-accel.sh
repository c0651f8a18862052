#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Which QEMU accelerator works on this host for the test guest: prints
# "kvm" or "tcg" on stdout.
#
#   probe-accel.sh [--cache FILE] [--timeout S] [--qemu PATH] KERNEL INITRD
#
# KVM is tried only when /dev/kvm is readable and writable: QEMU boots
# KERNEL/INITRD with -accel kvm -cpu qemu64 (the tests' CPU) and no NIC,
# and KVM counts as working if the kernel reaches userspace ("Run /init"
# on the serial console) within --timeout seconds (default 8; TCG needs 4-6 s for the whole boot, KVM
# well under 1 s). On some hosts /dev/kvm exists but KVM guests hang:
# then the probe is killed at the timeout and the answer is tcg. The
# answer is cached in FILE (with the boot id, the QEMU binary and the
# kernel: any change probes again), so a test run probes once.
set -uo pipefail
CACHE='' TIMEOUT=8 QEMU=${QT_QEMU:-$(command -v qemu-system-x86_64 || true)}
usage() {
	echo "usage: probe-accel.sh [--cache FILE] [--timeout S] [--qemu PATH] KERNEL INITRD" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--cache)
		[ $# -ge 2 ] || usage
		CACHE=$2
		shift 2
		;;
	--timeout)
		[ $# -ge 2 ] || usage
		TIMEOUT=$2
		shift 2
		;;
	--qemu)
		[ $# -ge 2 ] || usage
		QEMU=$2
		shift 2
		;;
	-h | --help) sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' && exit 0 ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || usage
if ! [[ $TIMEOUT =~ ^[1-9][0-9]*$ ]]; then usage; fi
KERNEL=$1 INITRD=$2
if [ -z "$QEMU" ] || [ ! -x "$QEMU" ]; then
	echo "probe-accel.sh: no qemu-system-x86_64" >&2
	exit 1
fi
key="$(cat /proc/sys/kernel/random/boot_id 2>/dev/null) $QEMU $(stat -c %Y "$QEMU" 2>/dev/null) $KERNEL"
if [ -n "$CACHE" ] && [ -f "$CACHE" ] && [ "$(sed -n 2p "$CACHE")" = "$key" ]; then
	sed -n 1p "$CACHE"
	exit 0
fi
accel=tcg
why="no usable /dev/kvm"
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	dir=$(mktemp -d /tmp/udpmig-probe-accel.XXXXXX) || exit 1
	"$QEMU" -accel kvm -cpu qemu64 -m 256 -nodefaults -no-reboot -display none -monitor none \
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 panic=-1" \
		-serial "file:$dir/serial" >"$dir/qemu.log" 2>&1 &
	pid=$!
	disown "$pid" # no "Aborted" job notice: a broken KVM makes QEMU abort
	deadline=$((SECONDS + TIMEOUT))
	why="KVM guest did not reach userspace in $TIMEOUT s"
	while [ $SECONDS -lt "$deadline" ]; do
		if grep -aq 'Run /init' "$dir/serial" 2>/dev/null; then
			accel=kvm
			break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			why="QEMU -accel kvm failed: $(tail -n 1 "$dir/qemu.log")"
			break
		fi
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	rm -rf "$dir"
fi
[ "$accel" = kvm ] && why="KVM guest reached userspace"
echo "probe-accel.sh: $accel ($why)" >&2
if [ -n "$CACHE" ]; then
	mkdir -p "$(dirname "$CACHE")" && printf '%s\n%s\n' "$accel" "$key" >"$CACHE.tmp" && mv "$CACHE.tmp" "$CACHE"
fi
echo "$accel"
