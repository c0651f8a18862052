#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# net_vhook's answers to bad input, as a user meets them:
# - bad devargs fail the probe with one line naming the key and what it takes;
# - bad control commands, unknown VMs and commands in the wrong state get
#   a one-line error and exit code 1 from udpmig-ctl;
# - EAL refuses to load the driver from a world-writable directory.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
it_init vhook_errors

DRV=$(it_safe_so "${UDPMIG_DRIVER:?UDPMIG_DRIVER: path of librte_net_vhook.so}")
CTL_BIN=${UDPMIG_CTL:?UDPMIG_CTL: path of udpmig-ctl}
TESTPMD=$(command -v dpdk-testpmd) || it_skip "dpdk-testpmd not installed"

S=$IT_DIR/x.sock
# key=value   expected message (grep -E)
while IFS='|' read -r args want; do
	[ -n "$args" ] || continue
	# Interactive testpmd with no input quits at once, after probing.
	out=$(timeout 60 "$TESTPMD" --lcores=0@0,1@1 --no-pci --no-huge -m 256 --no-telemetry \
		--file-prefix "$(it_prefix bad)" -d "$DRV" --vdev "net_vhook0,$args" \
		-- -i --total-num-mbufs=2048 2>&1 </dev/null)
	check "devargs '$args' -> '$want'" grep -qE "net_vhook: net_vhook0: .*$want" <<<"$out"
done <<EOF
iface=$S,bogus=1|unknown devarg 'bogus'; accepted: iface, client, queues
vm=x|iface=<vhost-user socket path> is required
iface=$S,queues=0|queues=0: expected 1..16
iface=$S,queues=abc|queues=abc: expected 1..16
iface=$S,client=2|client=2: expected 0 \(server socket\) or 1
iface=$S,policy=random|policy
iface=$S,t1-quota=0,t2-slots=0|t1-quota, t2-slots: both 0
iface=$S,mac=01:00:5e:00:00:01|mac
iface=$S,vm=bad/name|vm=bad/name: expected a name
iface=$S,offline-timeout-ms=0|offline-timeout-ms=0: expected milliseconds
iface=$S,tail-quiet-ms=0|tail-quiet-ms=0: expected milliseconds, 1..60000
iface=$S,auto-detect=yes|auto-detect=yes: expected 0 or 1
iface=$S,ctl|devarg 'ctl' has no value
iface=$S,tunnel-ip=10.0.0.300|tunnel-ip=10.0.0.300: expected an IPv4 or IPv6 address
iface=$S,tunnel-port=6081|tunnel-port needs tunnel-ip
iface=$S,tunnel-ip=10.0.0.1,tunnel-port=0|tunnel-port=0: expected 1..65535
EOF

# One tunnel endpoint per process: a second port's tunnel-ip fails its probe.
out=$(timeout 60 "$TESTPMD" --lcores=0@0,1@1 --no-pci --no-huge -m 512 --no-telemetry \
	--file-prefix "$(it_prefix bad2)" -d "$DRV" \
	--vdev "net_vhook0,iface=$IT_DIR/t0.sock,ctl=none,tunnel-ip=10.0.0.1" \
	--vdev "net_vhook1,iface=$IT_DIR/t1.sock,ctl=none,tunnel-ip=10.0.0.2" \
	-- -i --total-num-mbufs=2048 2>&1 </dev/null)
check "a second tunnel-ip is refused, naming the first" grep -qE \
	"net_vhook1: tunnel-ip: this process has a tunnel endpoint already \\(vhook0\\)" <<<"$out"

# Control commands against a running port.
rm -f "$IT_DIR/vm.sock" "$IT_DIR/ctl.sock"
it_bg sw stdbuf -o0 -e0 "$TESTPMD" --lcores=0@0,1@1 --no-pci --no-huge -m 512 \
	--file-prefix "$(it_prefix sw)" -d "$DRV" \
	--vdev "net_vhook0,iface=$IT_DIR/vm.sock,vm=vm1,ctl=$IT_DIR/ctl.sock" \
	-- -a --stats-period 3600 --total-num-mbufs=4096
it_wait_file "$IT_DIR/ctl.sock" 30
ctl() { "$CTL_BIN" -s "$IT_DIR/ctl.sock" "$@"; }

check_eq "the socket is root-only (0600)" "$(stat -c %a "$IT_DIR/ctl.sock")" 600
check "list-commands names every command" sh -c \
	"'$CTL_BIN' -s '$IT_DIR/ctl.sock' list-commands | grep -q migrate-offline"
check "status lists vm1" sh -c "'$CTL_BIN' -s '$IT_DIR/ctl.sock' status | grep -q '\"vm\":\"vm1\"'"

# cmd...   exit code   stderr (grep -E)
while IFS='|' read -r cmd code want; do
	[ -n "$cmd" ] || continue
	# shellcheck disable=SC2086
	err=$(ctl $cmd 2>&1 >/dev/null)
	rc=$?
	check_eq "'$cmd' exits $code" "$rc" "$code"
	check "'$cmd' says '$want'" grep -qE "^udpmig-ctl: .*$want" <<<"$err"
	check_eq "'$cmd' says it in one line" "$(wc -l <<<"$err")" 1
done <<'EOF'
no-such-command|1|unknown command 'no-such-command'; try list-commands
vm-show nobody|1|unknown VM 'nobody' \(known: vm1\)
vm-show|1|'vm-show' takes 1 argument
migrate-offline vm1 extra|1|migrate-offline: unknown option 'extra'; accepted: --to ADDR, --key HEX, --vni N
migrate-start vm1 --to 10.0.0.1|1|migrate-start: --to needs --key \(64 hex digits, the same on both switches\)
migrate-start vm1 --to nowhere --key 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff|1|migrate-start: --to nowhere: expected an IPv4 or IPv6 address
migrate-start vm1 --to 10.0.0.1 --key 12|1|migrate-start: --key: expected 64 hex digits
migrate-start vm1 --to 10.0.0.1 --key 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff --vni 0|1|migrate-start: --vni 0: expected 1..16777215
migrate-start vm1 --key|1|migrate-start: --key needs a value
migrate-expect vm1 --key 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff --vni 5 --vni 6|1|migrate-expect needs --from ADDR --key HEX
migrate-expect vm1 --from 10.0.0.1 --key 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff|1|migrate-expect: VM vm1: cannot open the channel: .*not connected
migrate-resumed vm1|1|migrate-resumed: VM vm1 is in state IDLE, where it does not apply
migrate-abort vm1|1|migrate-abort: VM vm1 is in state IDLE, where it does not apply
EOF
check "udpmig-ctl with no command is a usage error (2)" sh -c "'$CTL_BIN' -s '$IT_DIR/ctl.sock'; test \$? -eq 2"
check "udpmig-ctl with a dead socket exits 2" sh -c "'$CTL_BIN' -s '$IT_DIR/none.sock' status; test \$? -eq 2"
check "migrate-start on a plain VM works" ctl migrate-start vm1
check "a second migrate-start is a no-op" ctl migrate-start vm1
check "migrate-abort after it works" ctl migrate-abort vm1
check_eq "the VM is back in IDLE" \
	"$(ctl vm-show vm1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["migration"]["state"])')" IDLE
it_stop sw

# A second process asking for the same control socket is refused.
# (covered by the socket's own tests in test_ctl)

# EAL refuses a driver in a world-writable directory (so the README says:
# load it from the build tree or an installed, root-owned directory).
WW=$(mktemp -d /tmp/udpmig-ww.XXXXXX)
chmod 1777 "$WW"
cp "$DRV" "$WW/"
out=$(timeout 60 "$TESTPMD" --no-pci --no-huge -m 256 --no-telemetry --file-prefix "$(it_prefix ww)" \
	-d "$WW/$(basename "$DRV")" -- --help 2>&1 </dev/null)
rm -rf "$WW"
check "EAL refuses -d from a world-writable directory" grep -q "world-writable" <<<"$out"

it_done
