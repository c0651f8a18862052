#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install the net_vhook driver and udpmig-ctl for DPDK applications that
# load the driver with EAL -d (Open vSwitch with DPDK, testpmd, ...):
#   PREFIX/lib/udpmig/librte_net_vhook.so   (default /usr/local/lib/udpmig)
#   PREFIX/bin/udpmig-ctl                   (default /usr/local/bin)
# Builds first (meson + ninja) when the build directory is missing or out
# of date.
#
# EAL's -d refuses a .so when any directory from / down to it is
# world-writable, so the directories are checked (and created 0755).
# DPDK's autoload directory (pmds-<ABI>) is refused: every DPDK process on
# the host, OVS included, would load whatever is put there.
#
#   scripts/install.sh [--prefix DIR] [--build-dir DIR]
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/usr/local
BUILD=$ROOT/build

die() {
	echo "install: $*" >&2
	exit 1
}
log() { echo "install: $*"; }

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) PREFIX=${2:-}; shift 2 ;;
	--build-dir) BUILD=${2:-}; shift 2 ;;
	--help | -h) echo "usage: $0 [--prefix DIR (default /usr/local)] [--build-dir DIR (default $ROOT/build)]"; exit 0 ;;
	*) die "unknown option '$1'; see --help" ;;
	esac
done
[ -n "$PREFIX" ] && [ -n "$BUILD" ] || die "--prefix and --build-dir need a value"
case $PREFIX in /*) ;; *) PREFIX=$PWD/$PREFIX ;; esac
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
LIBDIR=$PREFIX/lib/udpmig
BINDIR=$PREFIX/bin

# Refuse DPDK's autoload directory before anything is built or copied.
for d in $(pkg-config --variable=pmdsdir libdpdk 2>/dev/null) /usr/lib/*/dpdk/pmds-*; do
	case $(readlink -m "$LIBDIR")/ in
	"$(readlink -m "$d")"/*) die "$LIBDIR is in DPDK's autoload directory $d: every DPDK process would load the driver" ;;
	esac
done

# Build (ninja does nothing when the tree is up to date).
if [ ! -f "$BUILD/build.ninja" ]; then
	log "meson setup $BUILD"
	meson setup "$BUILD" "$ROOT" >/dev/null || die "meson setup $BUILD failed"
fi
ninja -C "$BUILD" >/dev/null || die "ninja -C $BUILD failed"
SO=$BUILD/drivers/vhost-hook/librte_net_vhook.so
CTL=$BUILD/app/udpmig-ctl/udpmig-ctl
[ -f "$SO" ] || die "$SO was not built: the DPDK driver SDK headers are missing (run scripts/setup.sh)"
[ -x "$CTL" ] || die "$CTL was not built"

install -d -m 0755 "$LIBDIR" "$BINDIR" || die "cannot create $LIBDIR or $BINDIR"
# Every directory above the driver must not be world-writable (EAL -d).
d=$LIBDIR
while [ "$d" != / ]; do
	[ -z "$(find "$d" -maxdepth 0 -perm -o+w)" ] ||
		die "$d is world-writable: EAL's -d would refuse $LIBDIR/librte_net_vhook.so; choose another --prefix"
	d=$(dirname "$d")
done
# install(1) writes a new file and renames it: a running OVS keeps the
# old mapping; the next start loads the new driver.
install -m 0644 "$SO" "$LIBDIR/librte_net_vhook.so" || die "cannot install $LIBDIR/librte_net_vhook.so"
install -m 0755 "$CTL" "$BINDIR/udpmig-ctl" || die "cannot install $BINDIR/udpmig-ctl"
log "$LIBDIR/librte_net_vhook.so"
log "$BINDIR/udpmig-ctl"
log "load it with EAL: -d $LIBDIR/librte_net_vhook.so (OVS: other_config:dpdk-extra)"
