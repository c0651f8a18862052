#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Set up a Debian 12 host for udpmig: packages (Open vSwitch with DPDK
# among them, its system service stopped), the DPDK driver SDK headers
# that Debian's libdpdk-dev does not ship, and 2 MiB hugepages.
# Idempotent; run as root. Environment:
#   UDPMIG_HUGEPAGES   number of 2 MiB pages to reserve (default 1024; 0 = skip)
#   UDPMIG_CACHE       cache directory (default /var/cache/udpmig)
#   UDPMIG_SETUP_EXTRA extra Debian packages to install
set -euo pipefail

HUGEPAGES=${UDPMIG_HUGEPAGES:-1024}
CACHE=${UDPMIG_CACHE:-/var/cache/udpmig}
PKGS=(libdpdk-dev dpdk dpdk-dev libnuma-dev libsodium-dev meson ninja-build pkg-config
      libcunit1-dev gcc clang libclang-rt-14-dev clang-format python3
      iproute2 xz-utils gnuplot-nox
      qemu-system-x86 cpio ethtool
      openvswitch-switch-dpdk)

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (packages, hugepages); try: sudo $0"

# 1. Packages -------------------------------------------------------------
missing=()
for p in "${PKGS[@]}" ${UDPMIG_SETUP_EXTRA:-}; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	log "packages already installed"
fi
# openvswitch-switch's postinst starts and enables the system OVS (kernel
# datapath, /var/run/openvswitch) where an init system lets it. udpmig
# starts its own OVS-DPDK instances (scripts/ovs/ovs-start.sh): the system
# one must neither run beside them nor come back at boot.
OVS_SVC=openvswitch-switch
if [ -e "/lib/systemd/system/$OVS_SVC.service" ] && command -v systemctl >/dev/null; then
	if [ -d /run/systemd/system ] && systemctl is-active --quiet "$OVS_SVC"; then
		log "stopping the system service $OVS_SVC"
		systemctl stop "$OVS_SVC" || log "warning: cannot stop $OVS_SVC"
	fi
	# is-enabled and disable work without a running systemd (containers).
	if systemctl is-enabled --quiet "$OVS_SVC" 2>/dev/null; then
		log "disabling the system service $OVS_SVC"
		systemctl disable --quiet "$OVS_SVC" 2>/dev/null || log "warning: cannot disable $OVS_SVC"
	fi
fi
if [ -x "/etc/init.d/$OVS_SVC" ] && [ ! -d /run/systemd/system ]; then
	if "/etc/init.d/$OVS_SVC" status >/dev/null 2>&1; then
		log "stopping the system service $OVS_SVC (sysvinit)"
		"/etc/init.d/$OVS_SVC" stop >/dev/null || log "warning: cannot stop $OVS_SVC"
	fi
	ls /etc/rc[2-5].d/S*"$OVS_SVC" >/dev/null 2>&1 && update-rc.d "$OVS_SVC" disable >/dev/null 2>&1
fi

# 2. Driver SDK headers from Debian's source package of the same DPDK ------
DPDK_VER=$(dpkg-query -W -f='${Version}' libdpdk-dev)
SDK="$CACHE/dpdk-sdk/$DPDK_VER"
SDK_FILES=(lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h
	   lib/eal/include/dev_driver.h lib/eal/include/bus_driver.h
	   drivers/bus/vdev/bus_vdev_driver.h)
if [ -f "$SDK/VERSION" ] && [ "$(cat "$SDK/VERSION")" = "$DPDK_VER" ]; then
	log "DPDK $DPDK_VER driver SDK headers in $SDK"
else
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
	# deb-src entries for the machine's own mirrors and suites, read from
	# its apt configuration (deb822 .sources and one-line .list formats);
	# /etc/apt is never modified.
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk 'BEGIN{RS=""} {u="";s="";c="";k=""
			     for(i=1;i<=NF;i++){
			       if($i=="URIs:")u=$(i+1); if($i=="Suites:"){j=i+1; while(j<=NF && $j !~ /:$/){s=s" "$j; j++}}
			       if($i=="Components:")c=$(i+1); if($i=="Signed-By:")k=$(i+1)}
			     n=split(s,a," "); for(j=1;j<=n;j++) if(u!="") printf "deb-src [signed-by=%s] %s %s %s\n", k, u, a[j], (c==""?"main":c)}' "$f"
		done
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			sed -n 's/^[[:space:]]*deb[[:space:]]\+/deb-src /p' "$f"
		done
	} | sed 's/\[signed-by=\]//' | sort -u > "$T/sources.list"
	[ -s "$T/sources.list" ] || die "no Debian source found in /etc/apt to fetch the dpdk source package from"
	O=(-o "Dir::Etc::SourceList=$T/sources.list" -o Dir::Etc::SourceParts=/dev/null
	   -o "Dir::State::Lists=$T/lists" -o APT::Sandbox::User=root)
	mkdir -p "$T/lists/partial"
	log "fetching Debian source package dpdk=$DPDK_VER for the driver SDK headers"
	apt-get "${O[@]}" update -q >/dev/null
	(cd "$T" && apt-get "${O[@]}" source --download-only -q "dpdk=$DPDK_VER" >/dev/null) ||
		die "cannot fetch the source package dpdk=$DPDK_VER (installed libdpdk-dev); is the same version on the mirror?"
	ORIG=$(ls "$T"/dpdk_*.orig.tar.* | head -1)
	mkdir -p "$T/x" "$SDK/include"
	tar -xf "$ORIG" -C "$T/x" --wildcards $(printf '*/%s ' "${SDK_FILES[@]}")
	for f in "${SDK_FILES[@]}"; do
		src=$(find "$T/x" -path "*/$f" | head -1)
		[ -n "$src" ] || die "$f missing from $(basename "$ORIG")"
		cp "$src" "$SDK/include/"
	done
	# The source's own version, to be compared with the installed one by the build.
	UPSTREAM=$(tar -xOf "$ORIG" --wildcards '*/VERSION' | head -1)
	echo "$UPSTREAM" > "$SDK/UPSTREAM_VERSION"
	echo "$DPDK_VER" > "$SDK/VERSION"
	rm -rf "$T"; trap - EXIT
	log "DPDK $DPDK_VER ($UPSTREAM) driver SDK headers in $SDK"
fi
ln -sfn "$SDK" "$CACHE/dpdk-sdk/current"

# 3. Hugepages -------------------------------------------------------------
HP=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ "$HUGEPAGES" -gt 0 ]; then
	if [ ! -w "$HP" ]; then
		log "warning: cannot reserve hugepages ($HP not writable); tests run with --no-huge"
	else
		cur=$(cat "$HP")
		[ "$cur" -ge "$HUGEPAGES" ] || echo "$HUGEPAGES" > "$HP" || true
		got=$(cat "$HP")
		[ "$got" -ge "$HUGEPAGES" ] || log "warning: asked for $HUGEPAGES hugepages, the kernel gave $got"
		if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
			mkdir -p /dev/hugepages
			mount -t hugetlbfs nodev /dev/hugepages ||
				log "warning: cannot mount hugetlbfs on /dev/hugepages; tests run with --no-huge"
		fi
		log "hugepages: $(cat "$HP") x 2 MiB, hugetlbfs on /dev/hugepages"
	fi
fi
log "done"
