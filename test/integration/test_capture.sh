#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Packet capture from a running udpmig-switch (rte_pdump), as a user runs it:
#   netns umt<pid>c: udpmig-send --kernel -> veth == [net_af_packet0] switch
#     [net_vhook0] -> udpmig-guest
# 1. dpdk-dumpcap -i net_af_packet0: the uplink's packets, in a pcapng file;
# 2. dpdk-pdump -d <driver> ... port=<net_vhook0>: the VM port's packets.
#    dumpcap takes no EAL options, so it cannot load an out-of-tree driver
#    and does not know net_vhook ports; dpdk-pdump takes -d. In the
#    secondary process the driver only names the port (its queues and
#    buffers are the primary's).
# Capture needs the switch on hugepages without --in-memory (a secondary
# process attaches to its memory): the test skips when there are none.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
it_init capture

SW=${UDPMIG_SWITCH:?UDPMIG_SWITCH: path of udpmig-switch}
DRV=$(it_safe_so "${UDPMIG_DRIVER:?UDPMIG_DRIVER: path of librte_net_vhook.so}")
DUMPCAP=$(command -v dpdk-dumpcap) || it_skip "dpdk-dumpcap not installed (package dpdk)"
PDUMP=$(command -v dpdk-pdump) || it_skip "dpdk-pdump not installed (package dpdk)"
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
[ "$free" -ge 512 ] && grep -q ' /dev/hugepages hugetlbfs' /proc/mounts ||
	it_skip "capture needs >= 512 free 2 MiB hugepages on /dev/hugepages (scripts/setup.sh)"
NS=umt$$c
UP=umt$$u
PEER=umt$$n
VM_MAC=02:00:00:00:00:02
D=$IT_DIR

it_netns "$NS"
it_veth "$PEER" "$UP" "$NS"
ip netns exec "$NS" sh -e -c "
	ip addr add 10.77.0.1/24 dev $PEER
	ip neigh replace 10.77.0.2 lladdr $VM_MAC dev $PEER nud permanent
" || it_fatal "cannot configure $PEER in $NS"

# The switch on hugepages, its files under its own prefix (removed at exit
# with --huge-unlink semantics: EAL cleans them when the process ends).
PREFIX=$(it_prefix sw)
it_bg sw "$SW" --file-prefix "$PREFIX" --no-pci --lcores '0@(0,1),1@(0,1)' -m 256 \
	--log-level='*:notice' --vdev "net_af_packet0,iface=$UP" \
	--vdev "net_vhook0,iface=$D/vm.sock,vm=vm1,ctl=$D/ctl.sock" -- --uplink net_af_packet0
it_at_exit sh -c "rm -f /dev/hugepages/${PREFIX}map_* 2>/dev/null"
it_wait_log sw "2 ports, 1 workers" 30 || it_fatal "the switch did not start"

IT_MEM=nohuge it_eal g1
it_bg g1 "$UDPMIG_GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "$D/vm.sock" "mac=$VM_MAC")" -- \
	--report "$D/g1.json" --ready "$D/g1.ready"
it_wait_file "$D/g1.ready" 60 || it_fatal "the guest did not come up"
it_bg send ip netns exec "$NS" "$UDPMIG_SEND" --kernel -- --rate 2000 --count 60000 \
	--src-ip 10.77.0.1 --dst-ip 10.77.0.2 --report "$D/send.json"

# pcap / pcapng records in a file (no tshark needed).
records() {
	python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
n = 0
if d[:4] == b"\x0a\x0d\x0d\x0a":          # pcapng: count Enhanced Packet Blocks
    off = 0
    while off + 12 <= len(d):
        t, l = struct.unpack_from("<II", d, off)
        if l < 12:
            break
        n += t == 6
        off += l
elif len(d) >= 24:                         # pcap: 16-byte record headers
    off = 24
    while off + 16 <= len(d):
        n += 1
        off += 16 + struct.unpack_from("<I", d, off + 8)[0]
print(n)
EOF
}

# 1. dumpcap on the uplink.
timeout 60 "$DUMPCAP" --file-prefix "$PREFIX" -i net_af_packet0 -c 20 -q -w "$D/up.pcapng" \
	>"$D/dumpcap.log" 2>&1
check_eq "dpdk-dumpcap -i net_af_packet0 exits 0" $? 0
check_ge "... and wrote 20 packets" "$(records "$D/up.pcapng" 2>/dev/null || echo 0)" 20

# 2. dpdk-pdump on the VM port (port 1), with the driver loaded.
VMPORT=$(printf '/ethdev/list\n' | timeout 10 python3 "$(command -v dpdk-telemetry.py)" \
	-f "$PREFIX" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["/ethdev/list"][1])')
it_bg pdump "$PDUMP" --file-prefix "$PREFIX" -d "$DRV" -- \
	--pdump "port=${VMPORT:-1},queue=*,tx-dev=$D/vm-tx.pcap,rx-dev=$D/vm-rx.pcap"
got() { [ "$(records "$D/vm-tx.pcap" 2>/dev/null || echo 0)" -ge 20 ]; }
deadline=$(($(date +%s) + 30))
until got || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.5; done
it_stop pdump 10
check_ge "dpdk-pdump -d <driver>: the VM port's packets toward the guest" \
	"$(records "$D/vm-tx.pcap" 2>/dev/null || echo 0)" 20
check "... and the switch still forwards (the guest keeps receiving)" \
	it_wait_report g1 "$D/g1.json" received 1000 30
check "the switch is still running" it_running sw
it_done
