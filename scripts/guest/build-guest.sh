#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build a minimal QEMU guest for the qemu tests: a Debian cloud kernel and
# an initramfs with busybox, the virtio-net modules and udpmig-rcv (the
# test stream's receiver, test/tools/udpmig-rcv.c). Everything comes from
# Debian packages fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` (nothing is installed), plus a C compiler.
#
#   scripts/guest/build-guest.sh [--cache DIR] [--rcv PATH] [--force]
#
#   --cache DIR  where the packages, the kernel and the initramfs go
#                (default: build/guest in the source tree; never committed)
#   --rcv PATH   a udpmig-rcv already built static (meson's
#                test/tools/udpmig-rcv); default: built here with cc -static
#   --force      download and rebuild everything
#
# Results: DIR/vmlinuz, DIR/initrd.gz (and DIR/kernel-version). A second
# run reuses the packages and rebuilds the initramfs only when one of its
# inputs changed. Prints the two paths on its last line.
#
# The guest's /init reads the kernel command line:
#   udpmig.ip=ADDR/LEN    eth0's address (required for the network)
#   udpmig.port=N         UDP port of the receiver (default 5000)
#   udpmig.idle=MS        receiver: final line after MS ms idle (default 0: never)
#   udpmig.expect=N       receiver: packets expected (default 0)
#   udpmig.announce=N     gratuitous ARPs sent at start (default 3; 0: none)
# and prints "UDPMIG-GUEST-READY ..." once eth0 is up, then the
# receiver's "UDPMIG-RCV {...}" lines on the serial console. When the
# receiver ends, the guest prints its kernel's UDP and eth0 counters
# ("UDPMIG-GUEST-STATS": where it dropped packets itself) and powers off.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=$SRC/build/guest
RCV=
FORCE=0
log() { printf 'build-guest: %s\n' "$*" >&2; }
die() {
	printf 'build-guest: error: %s\n' "$*" >&2
	exit 1
}
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=${2:?--cache DIR} && shift ;;
	--rcv) RCV=${2:?--rcv PATH} && shift ;;
	--force) FORCE=1 ;;
	-h | --help)
		sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done
for t in apt-get apt-cache dpkg-deb cpio gzip cc; do
	command -v "$t" >/dev/null || die "$t not found (scripts/setup.sh installs what is needed)"
done
mkdir -p "$CACHE/debs"
CACHE=$(cd "$CACHE" && pwd)
[ "$FORCE" = 1 ] && rm -rf "${CACHE:?}/debs"/* "$CACHE/kernel" "$CACHE/busybox" "$CACHE/stamp"

# 1. Packages: linux-image-cloud-amd64 is a metapackage; the image is the
# linux-image-<version>-cloud-amd64 package it depends on.
fetch() { # PACKAGE: download into debs/ unless a .deb of it is there
	local p=$1
	if [ -z "$(find "$CACHE/debs" -maxdepth 1 -name "${p}_*.deb")" ]; then
		log "downloading $p"
		(cd "$CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root "$p" >&2) ||
			die "apt-get download $p failed (apt-get update? network?)"
	fi
	find "$CACHE/debs" -maxdepth 1 -name "${p}_*.deb" | sort | tail -n 1
}
if [ -s "$CACHE/image-package" ]; then
	IMGPKG=$(cat "$CACHE/image-package")
else
	IMGPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	[ -n "$IMGPKG" ] || die "cannot resolve the image package of linux-image-cloud-amd64 (apt-get update?)"
	fetch linux-image-cloud-amd64 >/dev/null
	echo "$IMGPKG" >"$CACHE/image-package"
fi
IMGDEB=$(fetch "$IMGPKG")
BBDEB=$(fetch busybox-static)

# 2. Unpack (once).
if [ ! -d "$CACHE/kernel/lib/modules" ]; then
	log "unpacking $(basename "$IMGDEB")"
	rm -rf "$CACHE/kernel.tmp" && dpkg-deb -x "$IMGDEB" "$CACHE/kernel.tmp" &&
		mv "$CACHE/kernel.tmp" "$CACHE/kernel"
fi
if [ ! -x "$CACHE/busybox/bin/busybox" ]; then
	log "unpacking $(basename "$BBDEB")"
	rm -rf "$CACHE/busybox.tmp" && dpkg-deb -x "$BBDEB" "$CACHE/busybox.tmp" &&
		mv "$CACHE/busybox.tmp" "$CACHE/busybox"
fi
KVER=$(find "$CACHE/kernel/lib/modules" -mindepth 1 -maxdepth 1 -printf "%f\n" | sort | tail -n 1)
{ [ -n "$KVER" ] && [ -f "$CACHE/kernel/boot/vmlinuz-$KVER" ]; } || die "no kernel in $IMGDEB"
MODDIR=$CACHE/kernel/lib/modules/$KVER
echo "$KVER" >"$CACHE/kernel-version"
cp -f "$CACHE/kernel/boot/vmlinuz-$KVER" "$CACHE/vmlinuz"

# 3. Modules: virtio_net and virtio_pci with everything they need, in
# dependency order. The package has no modules.dep (depmod makes it at
# install) and the host may have no kmod: each module's own "depends="
# (its .modinfo section) names what it needs.
declare -A MODPATH=()
while IFS= read -r f; do
	b=${f##*/}
	b=${b%%.ko*}
	MODPATH[$b]=${f#"$MODDIR/"}
	MODPATH[${b//-/_}]=${f#"$MODDIR/"}
done < <(find "$MODDIR/kernel" -name '*.ko*')
mod_depends() { # PATH: the names in its depends=, one a line
	local f=$MODDIR/$1
	case $f in
	*.xz) xz -dc "$f" ;;
	*.zst) zstd -qdc "$f" ;;
	*.gz) gzip -dc "$f" ;;
	*) cat "$f" ;;
	esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' '\n' | sed '/^$/d'
}
ORDER=()
declare -A SEEN=()
add_mod() { # NAME
	local n=${1//-/_} d
	[ -z "${SEEN[$n]:-}" ] || return 0
	SEEN[$n]=1
	if [ -z "${MODPATH[$n]:-}" ]; then
		# Built into the kernel: nothing to load.
		grep -q "/$1.ko" "$MODDIR/modules.builtin" 2>/dev/null ||
			grep -q "/${n}.ko" "$MODDIR/modules.builtin" 2>/dev/null ||
			die "module $1 is neither in the package nor built in"
		return 0
	fi
	for d in $(mod_depends "${MODPATH[$n]}"); do
		add_mod "$d"
	done
	ORDER+=("${MODPATH[$n]}")
}
for name in virtio_ring virtio virtio_pci virtio_net; do
	add_mod "$name"
done

# 4. The receiver.
if [ -z "$RCV" ]; then
	RCV=$CACHE/udpmig-rcv
	if [ ! -x "$RCV" ] || [ "$SRC/test/tools/udpmig-rcv.c" -nt "$RCV" ] ||
		[ "$SRC/test/tools/seqstream.c" -nt "$RCV" ] || [ "$SRC/test/tools/seqstream.h" -nt "$RCV" ]; then
		log "building udpmig-rcv (cc -static -O2)"
		cc -static -O2 -Wall -Wextra -o "$RCV.tmp" "$SRC/test/tools/udpmig-rcv.c" \
			"$SRC/test/tools/seqstream.c" && mv "$RCV.tmp" "$RCV"
	fi
fi
[ -x "$RCV" ] || die "no udpmig-rcv at $RCV"

# 5. The initramfs, rebuilt when an input changed.
STAMP=$(
	{
		echo "$KVER ${ORDER[*]}"
		sha256sum "$RCV" "$CACHE/busybox/bin/busybox" "$0"
	} | sha256sum | cut -d' ' -f1
)
if [ -f "$CACHE/initrd.gz" ] && [ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$STAMP" ]; then
	log "initramfs up to date ($KVER, ${#ORDER[@]} modules)"
else
	R=$CACHE/root
	rm -rf "$R"
	mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,lib/modules}
	cp "$CACHE/busybox/bin/busybox" "$R/bin/busybox"
	cp "$RCV" "$R/bin/udpmig-rcv"
	: >"$R/modules.order"
	for m in "${ORDER[@]}"; do
		b=$(basename "$m")
		case $b in
		*.ko.xz) xz -dc "$MODDIR/$m" >"$R/lib/modules/${b%.xz}" ;;
		*.ko.zst) zstd -qdc "$MODDIR/$m" >"$R/lib/modules/${b%.zst}" ;;
		*.ko.gz) gzip -dc "$MODDIR/$m" >"$R/lib/modules/${b%.gz}" ;;
		*) cp "$MODDIR/$m" "$R/lib/modules/$b" ;;
		esac
		b=${b%.xz}
		b=${b%.zst}
		echo "${b%.gz}" >>"$R/modules.order"
	done
	cat >"$R/init" <<'EOF'
#!/bin/busybox sh
# udpmig test guest (scripts/guest/build-guest.sh).
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
IP= PORT=5000 IDLE=0 EXPECT=0 ANNOUNCE=3
for a in $(cat /proc/cmdline); do
	case $a in
	udpmig.ip=*) IP=${a#*=} ;;
	udpmig.port=*) PORT=${a#*=} ;;
	udpmig.idle=*) IDLE=${a#*=} ;;
	udpmig.expect=*) EXPECT=${a#*=} ;;
	udpmig.announce=*) ANNOUNCE=${a#*=} ;;
	esac
done
for m in $(cat /modules.order); do
	insmod "/lib/modules/$m" || echo "UDPMIG-GUEST-ERROR insmod $m"
done
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ -n "$IP" ] && [ -e /sys/class/net/eth0 ]; then
	ip addr add "$IP" dev eth0
	ip link set eth0 up
	[ "$ANNOUNCE" -gt 0 ] && arping -U -c "$ANNOUNCE" -I eth0 "${IP%/*}" >/dev/null 2>&1 &
	echo "UDPMIG-GUEST-READY ip=$IP port=$PORT mac=$(cat /sys/class/net/eth0/address) uptime=$(cut -d' ' -f1 /proc/uptime)"
else
	echo "UDPMIG-GUEST-ERROR no eth0 or no udpmig.ip"
fi
udpmig-rcv --port "$PORT" --quit-after-idle "$IDLE" --expect "$EXPECT"
rc=$?
# Where the guest's own kernel dropped packets: UDP (buffer, checksum) and eth0.
echo "UDPMIG-GUEST-STATS udp: $(grep '^Udp:' /proc/net/snmp | tr '\n' ' ')"
echo "UDPMIG-GUEST-STATS eth0: $(grep 'eth0:' /proc/net/dev)"
echo "UDPMIG-GUEST-EXIT rc=$rc"
poweroff -f
EOF
	chmod 755 "$R/init"
	(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -6 >"$CACHE/initrd.gz.tmp"
	mv "$CACHE/initrd.gz.tmp" "$CACHE/initrd.gz"
	echo "$STAMP" >"$CACHE/stamp"
	log "initramfs $KVER: modules ${ORDER[*]##*/}"
fi
echo "$CACHE/vmlinuz $CACHE/initrd.gz"
