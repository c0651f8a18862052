#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Drain: how fast held packets reach the guest after it comes back, against
# the guest stand-in's own receive rate (DESIGN.md §9: "at the virtqueue's
# own speed").
#   sender (virtio_user) -> in.sock [net_vhost1] testpmd io [net_vhook0] vm.sock -> guest
# For N in UDPMIG_BENCH_DRAIN (10000 100000):
#   held:   the VM is offline with no guest; N packets are sent and held;
#           migrate-abort; a fresh guest attaches: the time from its first
#           to its last packet is the drain;
#   direct: a guest is attached; N packets are sent as fast as the sender
#           can: the same span is the guest's own receive rate through the
#           same switch.
# Reports packets per second and the ratio held/direct; fails only when a
# run produces no figure. Writes $UDPMIG_BUILD/bench-drain.json.
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
it_init bench_drain

DRV=$(it_safe_so "${UDPMIG_DRIVER:?UDPMIG_DRIVER: path of librte_net_vhook.so}")
CTL_BIN=${UDPMIG_CTL:?}
GUEST=${UDPMIG_GUEST:?}
SEND=${UDPMIG_SEND:?}
TESTPMD=$(command -v dpdk-testpmd) || it_skip "dpdk-testpmd not installed"
OUT=${UDPMIG_BUILD:-.}/bench-drain.json

ctl() { "$CTL_BIN" -s "$IT_DIR/ctl.sock" "$@"; }
held() { ctl vm-show vm1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["udpmig_buf_held_packets"])'; }

switch() {
	rm -f "$IT_DIR/vm.sock" "$IT_DIR/in.sock" "$IT_DIR/ctl.sock"
	it_eal "$1" '0@(0,1),1@(0,1)'
	IT_EAL=("${IT_EAL[@]/#512/1024}")
	it_bg "$1" stdbuf -o0 -e0 "$TESTPMD" "${IT_EAL[@]}" -d "$DRV" \
		--vdev "net_vhook0,iface=$IT_DIR/vm.sock,vm=vm1,ctl=$IT_DIR/ctl.sock,t1-quota=4096,t2-slots=262144,t2-slot-size=256" \
		--vdev "net_vhost1,iface=$IT_DIR/in.sock" \
		-- -a --stats-period 3600 --total-num-mbufs=32768 --forward-mode=io
	it_wait_file "$IT_DIR/ctl.sock" 30 && it_wait_file "$IT_DIR/in.sock" 30
}

guest() { # NAME N
	it_eal "$1"
	it_bg "$1" "$GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "$IT_DIR/vm.sock")" -- \
		--report "$IT_DIR/$1.json" --ready "$IT_DIR/$1.ready" --expect "$2" --quit-after-idle 1500
	it_wait_file "$IT_DIR/$1.ready" 60
}

sender() { # NAME N
	it_eal "$1"
	it_bg "$1" "$SEND" "${IT_EAL[@]}" --vdev "$(it_virtio "$IT_DIR/in.sock")" -- \
		--rate 2000000 --count "$2" --report "$IT_DIR/$1.json"
}

# rate REPORT: packets per second from the guest's first to last packet
# (what it received; a direct run may lose some when the sender outpaces
# the guest: that is the guest's rate too).
rate() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
span = d.get("rx_span_ms") or 0
print(int(d["unique"] / (span / 1e3)) if span > 0 else 0)' "$1"
}
# complete REPORT N: did the guest get all N?
complete() { [ "$(it_json "$1" unique)" = "$2" ]; }

: >"$IT_DIR/drain.txt"
for n in ${UDPMIG_BENCH_DRAIN:-10000 100000}; do
	# Held, then drained into a fresh guest.
	switch "sw-held-$n" || continue
	ctl migrate-offline vm1 >/dev/null
	sender "s-held-$n" "$n"
	it_wait_exit "s-held-$n" 120
	deadline=$(($(date +%s) + 30))
	until [ "$(held)" -ge "$n" ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.1; done
	ctl migrate-abort vm1 >/dev/null
	guest "g-held-$n" "$n"
	it_wait_exit "g-held-$n" 120
	it_stop "sw-held-$n"
	# Direct: the same guest's own receive rate through the same switch.
	switch "sw-direct-$n" || continue
	guest "g-direct-$n" "$n"
	sender "s-direct-$n" "$n"
	it_wait_exit "s-direct-$n" 120
	it_wait_exit "g-direct-$n" 120
	it_stop "sw-direct-$n"
	h=0
	complete "$IT_DIR/g-held-$n.json" "$n" && h=$(rate "$IT_DIR/g-held-$n.json")
	d=$(rate "$IT_DIR/g-direct-$n.json")
	awk -v n="$n" -v h="$h" -v d="$d" 'BEGIN {
		printf "drain of %d held packets: %.3f Mpps (%.1f ms); the guest direct: %.3f Mpps; ratio %.2f\n",
			n, h / 1e6, (h > 0 ? n / h * 1e3 : 0), d / 1e6, (d > 0 ? h / d : 0) }'
	echo "$n $h $d" >>"$IT_DIR/drain.txt"
done

python3 - "$IT_DIR/drain.txt" "$OUT" <<'EOF'
import json, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1])]
json.dump({"drain": [{"held_packets": n, "drain_pps": h, "drain_ms": (n / h * 1e3 if h else None),
                      "direct_pps": d, "ratio": (h / d if d else None)} for n, h, d in rows]},
          open(sys.argv[2], "w"), indent=1)
EOF
check "a drain rate was measured" awk '$2 > 0 { ok = 1 } END { exit !ok }' "$IT_DIR/drain.txt"
it_done
