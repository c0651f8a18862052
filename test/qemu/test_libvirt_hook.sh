#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# scripts/libvirt/qemu-hook against a running udpmig-switch, without
# libvirt: the test calls the hook as libvirt does (`qemu DOMAIN OPERATION
# SUB-OP EXTRA`, the domain XML on stdin) for an incoming migration and
# checks the port's migration state with udpmig-ctl after each call.
# Then scripts/udpmig-migrate's usage errors.
#
#   [ns h: udpmig-switch, tunnel 10.78.0.12, peer 10.78.0.11] -- vm1.sock (no guest)
#
# Environment: UDPMIG_SWITCH, UDPMIG_CTL (test/qemu/meson.build).
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
it_init libvirt-hook
SWITCH=${UDPMIG_SWITCH:?UDPMIG_SWITCH: path of udpmig-switch}
CTL_BIN=${UDPMIG_CTL:?UDPMIG_CTL: path of udpmig-ctl}
SRC=${UDPMIG_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
HOOK=$SRC/scripts/libvirt/qemu-hook
VM_MAC=52:54:00:12:34:56
KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
T=ulh$$

it_netns "${T}h"
it_veth "${T}h0" "${T}h1" "${T}h"
it_eal swh '0@(0,1),1@(0,1)'
# A channel's own mbuf pool (vhook_tun_open) needs more than 512 MB here.
IT_EAL=("${IT_EAL[@]/#512/1024}")
it_bg swh ip netns exec "${T}h" "$SWITCH" "${IT_EAL[@]}" \
	--vdev "net_vhook0,iface=$IT_DIR/vm1.sock,vm=vm1,mac=$VM_MAC,ctl=$IT_DIR/h.ctl" \
	--vdev "net_vhook1,iface=$IT_DIR/vm2.sock,vm=vm2,ctl=$IT_DIR/h.ctl" \
	--vdev "net_af_packet0,iface=${T}h0" -- --uplink net_af_packet0 --tunnel-ip 10.78.0.12
it_wait_file "$IT_DIR/h.ctl" 30 swh || it_fatal "the switch did not start"
it_wait_file "$IT_DIR/vm1.sock" 10 swh || it_fatal "the switch has no vhost-user socket"

ctl() { "$CTL_BIN" -s "$IT_DIR/h.ctl" "$@"; }
state() { ctl vm-show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["migration"]["state"])'; }
check "the switch knows its peer (peer-add)" it_retry 10 ctl peer-add 10.78.0.11 --key "$KEY"

# domain_xml SOCKET MAC: a libvirt domain with one vhost-user interface
# (QEMU the client of the switch's socket) and one that is not ours.
domain_xml() {
	cat <<EOF
<domain type='kvm'>
  <name>vm1</name>
  <memory unit='MiB'>256</memory>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/></interface>
    <interface type='vhostuser'>
      <mac address='$2'/>
      <source type='unix' path='$1' mode='client'/>
      <model type='virtio'/>
    </interface>
    <interface type='vhostuser'>
      <mac address='52:54:00:00:00:99'/>
      <source type='unix' path='$IT_DIR/not-udpmig.sock' mode='client'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
EOF
}

# hook OP SUBOP [XML]: the hook as libvirt calls it; stdout in hook.out,
# stderr in hook.err; returns its exit status.
hook() {
	local xml=${3:-$(domain_xml "$IT_DIR/vm1.sock" "$VM_MAC")}
	printf '%s\n' "$xml" | UDPMIG_CTL_SOCKETS=$IT_DIR/h.ctl UDPMIG_CTL=$CTL_BIN \
		UDPMIG_LIBVIRT_CONF=$IT_DIR/none.conf "$HOOK" vm1 "$1" "$2" - >"$IT_DIR/hook.out" 2>"$IT_DIR/hook.err"
	local rc=$?
	sed "s/^/# hook $1 $2: /" "$IT_DIR/hook.err"
	return $rc
}

# An incoming migration, as libvirt runs the hooks on the destination.
check_eq "vm1 is IDLE before" "$(state vm1)" IDLE
check "migrate begin: exit 0" hook migrate begin
check_eq "migrate begin: no XML printed (libvirt keeps the domain's)" "$(wc -c <"$IT_DIR/hook.out")" 0
check_eq "vm1 expects the VM" "$(state vm1)" DST_EXPECTING
check_eq "vm1 asks its peers (discovery)" \
	"$(ctl vm-show vm1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["tunnel"]["discovering"])')" True
check_eq "vm2 (not in the domain) untouched" "$(state vm2)" IDLE
for op in "prepare begin" "start begin" "started begin"; do
	# shellcheck disable=SC2086 # two words
	check "$op: exit 0" hook $op
	check_eq "$op: vm1 still expects the VM" "$(state vm1)" DST_EXPECTING
done
check "migrate begin again: exit 0 (already expecting)" hook migrate begin
check_eq "vm1 still expects the VM" "$(state vm1)" DST_EXPECTING
# The incoming migration failed: libvirt stops the destination's QEMU.
check "stopped end: exit 0" hook stopped end
check_eq "stopped end: the failed incoming migration is aborted" "$(state vm1)" IDLE
check "release end: exit 0" hook release end
check_eq "release end: vm1 IDLE" "$(state vm1)" IDLE

# A source whose VM stopped during precopy: aborted; one in any other
# state is left alone.
check "vm1: migrate-start (a source in precopy)" ctl migrate-start vm1 --to 10.78.0.11 --key "$KEY"
check "release end: exit 0" hook release end
check_eq "release end: a source in PRECOPY is aborted" "$(state vm1)" IDLE

# Not ours: no vhost-user interface, or a socket of no udpmig port.
check "a domain without vhost-user interfaces: exit 0" hook migrate begin "<domain><name>x</name><devices/></domain>"
check "an interface on a foreign socket: exit 0" hook migrate begin "$(domain_xml "$IT_DIR/other.sock" "$VM_MAC")"
check_eq "vm1 untouched" "$(state vm1)" IDLE
check "other operations do nothing" hook reconnect begin
check_eq "vm1 untouched" "$(state vm1)" IDLE

# Errors: libvirt cancels the incoming migration on exit 1.
hook migrate begin "$(domain_xml "$IT_DIR/vm1.sock" 52:54:00:de:ad:00)"
check_eq "a MAC that is not the port's VM: exit 1" $? 1
check_eq "vm1 untouched" "$(state vm1)" IDLE
hook migrate begin "<domain><devices><interface type='vhostuser'"
check_eq "XML that does not parse: exit 1" $? 1
printf '%s\n' "$(domain_xml "$IT_DIR/vm1.sock" "$VM_MAC")" | UDPMIG_CTL_SOCKETS=$IT_DIR/dead.ctl UDPMIG_CTL=$CTL_BIN \
	UDPMIG_LIBVIRT_CONF=$IT_DIR/none.conf "$HOOK" vm1 migrate begin - >/dev/null 2>"$IT_DIR/hook.err"
check_eq "a switch that does not answer: exit 1" $? 1
check "... and says which" grep -q 'dead.ctl does not answer' "$IT_DIR/hook.err"
printf 'on-error = warn\nctl = %s\n' "$IT_DIR/dead.ctl" >"$IT_DIR/warn.conf"
printf '%s\n' "$(domain_xml "$IT_DIR/vm1.sock" "$VM_MAC")" | UDPMIG_CTL=$CTL_BIN \
	UDPMIG_LIBVIRT_CONF=$IT_DIR/warn.conf "$HOOK" vm1 migrate begin - >/dev/null 2>&1
check_eq "on-error = warn (config file): exit 0" $? 0
printf 'bogus = 1\n' >"$IT_DIR/bad.conf"
UDPMIG_LIBVIRT_CONF=$IT_DIR/bad.conf "$HOOK" vm1 migrate begin - </dev/null >/dev/null 2>&1
check_eq "a bad configuration file: exit 1" $? 1
"$HOOK" vm1 >/dev/null 2>&1
check_eq "usage: exit 2" $? 2
# The config file: control sockets from it.
printf '# udpmig\nctl = %s\nudpmig-ctl = %s\n' "$IT_DIR/h.ctl" "$CTL_BIN" >"$IT_DIR/libvirt.conf"
printf '%s\n' "$(domain_xml "$IT_DIR/vm1.sock" "$VM_MAC")" | UDPMIG_LIBVIRT_CONF=$IT_DIR/libvirt.conf \
	"$HOOK" vm1 migrate begin - >/dev/null 2>&1
check_eq "configured by /etc/udpmig/libvirt.conf's format: exit 0" $? 0
check_eq "vm1 expects the VM" "$(state vm1)" DST_EXPECTING
check "stopped end" hook stopped end
check_eq "vm1 IDLE" "$(state vm1)" IDLE

# scripts/udpmig-migrate, the other orchestrator script: usage errors
# (exit 2), and a QEMU that is not there (exit 1) leaves the switch alone.
MIG=$SRC/scripts/udpmig-migrate
check "udpmig-migrate --help" "$MIG" --help
for bad in "" "--src-qmp x" "--src-qmp x --uri u --src-ctl $IT_DIR/h.ctl" \
	"--src-qmp x --uri u --vm vm1 --src-ctl $IT_DIR/h.ctl --to 10.78.0.11" \
	"--src-qmp x --uri u --key 1234" "--src-qmp x --uri u --hold-ms -1" "--src-qmp x --uri u --bogus"; do
	# shellcheck disable=SC2086 # options, split into words
	"$MIG" $bad >/dev/null 2>"$IT_DIR/mig.err"
	check_eq "udpmig-migrate $bad: usage error (exit 2)" $? 2
done
"$MIG" --src-qmp "$IT_DIR/no.qmp" --uri "unix:$IT_DIR/mig.sock" --vm vm1 --dst-ctl "$IT_DIR/h.ctl" \
	--ctl-bin "$CTL_BIN" 2>"$IT_DIR/mig.err"
check_eq "udpmig-migrate: no source QEMU (exit 1)" $? 1
check "... says so" grep -q 'cannot connect to QMP socket' "$IT_DIR/mig.err"
check_eq "vm1 untouched" "$(state vm1)" IDLE
it_done
