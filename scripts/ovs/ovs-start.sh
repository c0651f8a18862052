#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Start one Open vSwitch with DPDK instance by hand, with the net_vhook
# driver loaded, and nothing of the system's openvswitch-switch service:
# its own database, sockets, pid files and logs under DIR, optionally
# inside a network namespace (two OVS-DPDK instances cannot share one: the
# netdev datapath always creates a TAP named ovs-netdev).
#
#   scripts/ovs/ovs-start.sh --dir DIR [--netns NS] [--driver SO]
#       [--socket-mem MB | --no-huge [--mem MB]] [--pmd-cpu-mask MASK]
#       [--file-prefix P] [--pmd-maxsleep US]
#
# On success it prints, one per line, shell assignments a caller can eval:
#   DB=unix:DIR/db.sock              for ovs-vsctl --db=$DB
#   VSWITCHD_CTL=DIR/ovs-vswitchd.ctl for ovs-appctl -t $VSWITCHD_CTL
#   OVSDB_CTL=DIR/ovsdb-server.ctl, OVS_DIR=DIR, OVS_NETNS=NS, OVS_LOG=...
# Stop it with scripts/ovs/ovs-stop.sh --dir DIR. Needs root and the
# Debian package openvswitch-switch-dpdk (scripts/setup.sh installs it).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VSWITCHD_DPDK=${OVS_VSWITCHD_DPDK:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}

DIR=
NETNS=
DRIVER=
SOCKET_MEM=
NOHUGE=0
MEM=1024
PMD_MASK=0x2
PREFIX=
MAXSLEEP=
TIMEOUT=${OVS_START_TIMEOUT:-60}

usage() {
	cat <<EOF
usage: $0 --dir DIR [options]
  --dir DIR            the instance's database, sockets, pid files and logs (created)
  --netns NS           run ovsdb-server and ovs-vswitchd in network namespace NS
  --driver SO          the net_vhook driver (EAL -d); default: the installed one
                       (/usr/local/lib/udpmig/librte_net_vhook.so), else build*/ of this tree
  --socket-mem MB      DPDK memory on hugepages (2 MiB pages; reserved if short)
  --no-huge            DPDK memory without hugepages (the default when --socket-mem is not given)
  --mem MB             with --no-huge: how much (default $MEM)
  --pmd-cpu-mask MASK  CPUs of the PMD threads (default $PMD_MASK: core 1 of 2)
  --pmd-maxsleep US    let idle PMD threads sleep up to US microseconds (OVS 3.1:
                       other_config:pmd-maxsleep), for machines with few cores
  --file-prefix P      EAL file prefix (default: ovs-<basename of DIR>)
EOF
}

die() {
	echo "ovs-start: $*" >&2
	exit 1
}
log() { echo "ovs-start: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--dir) DIR=${2:-}; shift 2 ;;
	--netns) NETNS=${2:-}; shift 2 ;;
	--driver) DRIVER=${2:-}; shift 2 ;;
	--socket-mem) SOCKET_MEM=${2:-}; shift 2 ;;
	--no-huge) NOHUGE=1; shift ;;
	--mem) MEM=${2:-}; shift 2 ;;
	--pmd-cpu-mask) PMD_MASK=${2:-}; shift 2 ;;
	--pmd-maxsleep) MAXSLEEP=${2:-}; shift 2 ;;
	--file-prefix) PREFIX=${2:-}; shift 2 ;;
	--help | -h) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done
[ -n "$DIR" ] || { usage >&2; die "--dir is required"; }
[ "$(id -u)" -eq 0 ] || die "run as root (DPDK, network namespaces)"
[ -x "$VSWITCHD_DPDK" ] || die "$VSWITCHD_DPDK missing: apt-get install openvswitch-switch-dpdk (scripts/setup.sh)"
command -v ovsdb-server >/dev/null || die "ovsdb-server missing (package openvswitch-switch)"
[ -z "$SOCKET_MEM" ] || [[ $SOCKET_MEM =~ ^[0-9]+$ ]] || die "--socket-mem $SOCKET_MEM: expected MB"
[[ $MEM =~ ^[0-9]+$ ]] || die "--mem $MEM: expected MB"
[ -z "$MAXSLEEP" ] || [[ $MAXSLEEP =~ ^[0-9]+$ ]] || die "--pmd-maxsleep $MAXSLEEP: expected microseconds"
[ -n "$SOCKET_MEM" ] && [ "$NOHUGE" = 1 ] && die "--socket-mem and --no-huge exclude each other"
[ -n "$SOCKET_MEM" ] || NOHUGE=1
if [ -n "$NETNS" ]; then
	ip netns exec "$NETNS" true 2>/dev/null || die "no network namespace '$NETNS'"
	NSX=(ip netns exec "$NETNS")
else
	NSX=()
fi

mkdir -p "$DIR" || die "cannot create $DIR"
DIR=$(cd "$DIR" && pwd)
PREFIX=${PREFIX:-ovs-$(basename "$DIR")}
DB=unix:$DIR/db.sock
VSWITCHD_CTL=$DIR/ovs-vswitchd.ctl
OVSDB_CTL=$DIR/ovsdb-server.ctl

# An instance that already runs here is not started twice.
for p in ovsdb-server ovs-vswitchd; do
	if [ -f "$DIR/$p.pid" ] && kill -0 "$(cat "$DIR/$p.pid")" 2>/dev/null; then
		die "$p already runs for $DIR (pid $(cat "$DIR/$p.pid")); scripts/ovs/ovs-stop.sh --dir $DIR"
	fi
done

# The driver: an absolute path that EAL's -d accepts (no world-writable
# directory from / down to it), never DPDK's autoload directory.
if [ -z "$DRIVER" ]; then
	for d in /usr/local/lib/udpmig/librte_net_vhook.so "$ROOT"/build*/drivers/vhost-hook/librte_net_vhook.so; do
		[ -f "$d" ] && { DRIVER=$d; break; }
	done
	[ -n "$DRIVER" ] || die "no net_vhook driver found: scripts/install.sh, or --driver SO"
fi
[ -f "$DRIVER" ] || die "--driver $DRIVER: no such file"
DRIVER=$(readlink -f "$DRIVER")
d=$(dirname "$DRIVER")
while [ "$d" != / ]; do
	[ -z "$(find "$d" -maxdepth 0 -perm -o+w)" ] ||
		die "$DRIVER: $d is world-writable, EAL's -d refuses it; scripts/install.sh puts the driver in /usr/local/lib/udpmig"
	d=$(dirname "$d")
done
case $DRIVER in */dpdk/pmds-*) die "$DRIVER is in DPDK's autoload directory: every DPDK process would load it" ;; esac

# Memory. Without hugepages EAL takes -m; OVS then must not pass
# --socket-mem (it does so only when other_config:dpdk-socket-mem is set).
# With hugepages, reserve what is missing (2 MiB pages) and mount hugetlbfs.
if [ "$NOHUGE" = 1 ]; then
	MEMARGS="--no-huge --legacy-mem -m $MEM"
else
	HP=/sys/kernel/mm/hugepages/hugepages-2048kB
	need=$(((SOCKET_MEM + 1) / 2))
	free=$(cat "$HP/free_hugepages" 2>/dev/null || echo 0)
	if [ "$free" -lt "$need" ]; then
		total=$(cat "$HP/nr_hugepages")
		echo $((total + need - free)) >"$HP/nr_hugepages" 2>/dev/null
		free=$(cat "$HP/free_hugepages")
		[ "$free" -ge "$need" ] || die "--socket-mem $SOCKET_MEM needs $need free 2 MiB hugepages, the kernel has $free; try --no-huge"
		log "reserved 2 MiB hugepages: now $(cat "$HP/nr_hugepages")"
	fi
	if ! grep -q ' hugetlbfs ' /proc/mounts; then
		mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages ||
			die "cannot mount hugetlbfs on /dev/hugepages"
	fi
	MEMARGS=
fi

# Everything of this instance lives in DIR: OVS_RUNDIR and friends keep the
# tools away from /var/run/openvswitch (the system service's).
export OVS_RUNDIR=$DIR OVS_DBDIR=$DIR OVS_LOGDIR=$DIR OVS_SYSCONFDIR=$DIR OVS_PKGDATADIR=/usr/share/openvswitch
VSCTL=(ovs-vsctl --db="$DB" --timeout=10)

if [ ! -f "$DIR/conf.db" ]; then
	ovsdb-tool create "$DIR/conf.db" "$SCHEMA" || die "ovsdb-tool create $DIR/conf.db"
fi
"${NSX[@]}" ovsdb-server "$DIR/conf.db" --remote="punix:$DIR/db.sock" \
	--remote=db:Open_vSwitch,Open_vSwitch,manager_options \
	--pidfile="$DIR/ovsdb-server.pid" --detach --log-file="$DIR/ovsdb-server.log" \
	--unixctl="$OVSDB_CTL" || die "ovsdb-server did not start; see $DIR/ovsdb-server.log"
# From here on a failure stops what this script started.
fail() {
	echo "ovs-start: $*" >&2
	"$(dirname "$0")/ovs-stop.sh" --dir "$DIR" >/dev/null 2>&1
	exit 1
}
"${VSCTL[@]}" --no-wait init || fail "ovs-vsctl init"

# The DPDK settings. dpdk-extra: no PCI scan, a file prefix of our own
# (the other instance's and the tests' must not meet), the driver, the
# memory. OVS adds -l <first core> (the main lcore) itself (so EAL refuses
# a --lcores here; EAL's control threads, the driver's among them, run on
# the other core), and
# --in-memory unless --legacy-mem is given: EAL refuses --in-memory with
# --no-huge (which implies legacy memory), hence "--no-huge --legacy-mem". On 2 cores the PMD thread takes core 1 (pmd-cpu-mask=0x2); the
# main lcore and OVS's other threads share core 0 with everything else.
cfg=(other_config:dpdk-init=true "other_config:pmd-cpu-mask=$PMD_MASK"
	"other_config:dpdk-extra=--no-pci --file-prefix=$PREFIX -d $DRIVER${MEMARGS:+ $MEMARGS}")
if [ -n "$SOCKET_MEM" ]; then
	cfg+=("other_config:dpdk-socket-mem=$SOCKET_MEM")
else
	"${VSCTL[@]}" --no-wait remove Open_vSwitch . other_config dpdk-socket-mem >/dev/null 2>&1
fi
[ -z "$MAXSLEEP" ] || cfg+=("other_config:pmd-maxsleep=$MAXSLEEP")
"${VSCTL[@]}" --no-wait set Open_vSwitch . "${cfg[@]}" || fail "ovs-vsctl set other_config"
# Without --in-memory (which --no-huge excludes) EAL keeps a runtime
# directory, /var/run/dpdk/<prefix>: ovs-stop.sh removes it, and only it.
echo "$PREFIX" >"$DIR/eal-file-prefix"

"${NSX[@]}" "$VSWITCHD_DPDK" "$DB" --pidfile="$DIR/ovs-vswitchd.pid" --detach \
	--log-file="$DIR/ovs-vswitchd.log" --unixctl="$VSWITCHD_CTL" ||
	fail "ovs-vswitchd-dpdk did not start; see $DIR/ovs-vswitchd.log"

# DPDK initialises in the background of ovs-vswitchd's main loop.
deadline=$(($(date +%s) + TIMEOUT))
until [ "$("${VSCTL[@]}" get Open_vSwitch . dpdk_initialized 2>/dev/null)" = true ]; do
	if ! kill -0 "$(cat "$DIR/ovs-vswitchd.pid" 2>/dev/null)" 2>/dev/null; then
		tail -n 5 "$DIR/ovs-vswitchd.log" >&2
		fail "ovs-vswitchd ended before DPDK was initialised; see $DIR/ovs-vswitchd.log"
	fi
	[ "$(date +%s)" -lt "$deadline" ] || fail "DPDK not initialised after $TIMEOUT s; see $DIR/ovs-vswitchd.log"
	sleep 0.2
done
log "OVS-DPDK up in ${NETNS:-the current namespace}: $("${VSCTL[@]}" get Open_vSwitch . dpdk_version)"

printf 'DB=%s\nVSWITCHD_CTL=%s\nOVSDB_CTL=%s\nOVS_DIR=%s\nOVS_NETNS=%s\nOVS_LOG=%s\nOVS_FILE_PREFIX=%s\n' \
	"$DB" "$VSWITCHD_CTL" "$OVSDB_CTL" "$DIR" "$NETNS" "$DIR/ovs-vswitchd.log" "$PREFIX"
