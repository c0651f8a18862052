#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Tunnel throughput: how fast a source switch hands a migrating VM's held
# packets to the destination switch, over memif and over af_packet, against
# raw forwarding on the same kind of link in the same run.
#
#   sender (virtio_user) -> in.sock [net_vhost1 uplink] switch A [net_vhook0 vm1, offline]
#       A [tunnel dev] ==== memif | veth (af_packet) ==== [tunnel dev] B [net_vhook0 vm1] -> guest
#
# For each link in UDPMIG_BENCH_TUN_LINKS (memif af_packet) and N in
# UDPMIG_BENCH_TUN_N (100000):
#   tunnel: B expects vm1 from A; A takes vm1 offline toward B with
#           --store-and-forward (A sends nothing yet); N packets are sent
#           into A's uplink at 2 Mpps and held; a guest attaches to B: B
#           says RESUMED in its acks and A streams everything. The rate is
#           what B's receiver accepted over the span from its first to its
#           last DATA (vm-show -> tunnel.data_span_us);
#   raw:    (once per link) testpmd txonly on one end, rxonly on the other,
#           --txpkts 192 (the size of a tunnel DATA frame here: the 106-byte
#           inner frame of udpmig-send's 64-byte payload plus 86 bytes of
#           Ethernet, IPv4, UDP, Geneve and the 36-byte udpmig option): the
#           rx rate over UDPMIG_BENCH_SECS (5) seconds.
# Each switch runs a worker lcore and the driver's control thread (which
# carries the tunnel), with the guest next to B: five busy threads on two
# cores, against two for the raw run.
# Reports Mpps and the ratio tunnel/raw; fails only when no tunnel rate was
# measured or a process crashed. Writes $UDPMIG_BUILD/bench-tunnel.json.
set -uo pipefail
. "$(dirname "$0")/../integration/lib.sh"
it_init bench_tunnel

SWITCH=${UDPMIG_SWITCH:?UDPMIG_SWITCH: path of udpmig-switch}
CTL_BIN=${UDPMIG_CTL:?}
GUEST=${UDPMIG_GUEST:?}
SEND=${UDPMIG_SEND:?}
TESTPMD=$(command -v dpdk-testpmd) || it_skip "dpdk-testpmd not installed"
LINKS=${UDPMIG_BENCH_TUN_LINKS:-memif af_packet}
NS=${UDPMIG_BENCH_TUN_N:-100000}
SECS=${UDPMIG_BENCH_SECS:-5}
RAW_PKT=192
OUT=${UDPMIG_BUILD:-.}/bench-tunnel.json
VM_MAC=02:00:00:00:00:02
T=ubt$$ # veth and namespace names (<= 15 characters with the suffixes)

held() { ctl "$1" vm-show vm1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"]["held"])'; }

for l in $LINKS; do
	case $l in memif | af_packet) ;;
	*) it_fatal "UDPMIG_BENCH_TUN_LINKS: memif or af_packet, not '$l'" ;;
	esac
done
# af_packet: a veth pair whose ends are in two network namespaces, one per
# host. In one namespace, DPDK 22.11's af_packet PMD cannot open both ends
# in two processes whose pids XOR like the two ifindexes (its fanout group
# id is (pid ^ ifindex) & 0xffff, and the kernel refuses to join a group
# bound to another device: "could not set PACKET_FANOUT ... Invalid
# argument"); the raw testpmds, started one after the other, hit it in 3
# of 9 runs. Fanout groups are per namespace.
if [[ " $LINKS " == *" af_packet "* ]]; then
	command -v ip >/dev/null || it_skip "iproute2 (ip) not installed"
	it_netns "${T}na"
	it_netns "${T}nb"
	it_veth "${T}a" "${T}b" "${T}na"
	ip link set "${T}b" netns "${T}nb" || it_fatal "cannot move ${T}b into ${T}nb"
	ip -n "${T}nb" link set "${T}b" up
	# Only our own frames on the link: no IPv6 autoconfiguration chatter.
	for e in a b; do
		ip netns exec "${T}n$e" sysctl -qw "net.ipv6.conf.${T}$e.disable_ipv6=1" 2>/dev/null
	done
fi

# linkdev LINK HOST(a|b) SOCKET: the --vdev of HOST's end of the link.
linkdev() {
	local role=server ifc=${T}a mac=02:00:00:00:0a:01
	[ "$2" = b ] && role=client ifc=${T}b mac=02:00:00:00:0b:01
	case $1 in
	memif) echo "net_memif0,role=$role,socket=$3,socket-abstract=no,id=0,mac=$mac" ;;
	af_packet) echo "net_af_packet1,iface=$ifc,qdisc_bypass=1,framecnt=8192" ;;
	esac
}
# inns LINK HOST(a|b): the command prefix that runs in HOST's namespace
# (af_packet only), as the array NS_CMD.
inns() {
	NS_CMD=()
	[ "$1" != af_packet ] || NS_CMD=(ip netns exec "${T}n$2")
}
linkname() { case $1 in memif) echo net_memif0 ;; af_packet) echo net_af_packet1 ;; esac }

# switch NAME HOST TUNNEL_IP LINK SOCKET
switch() {
	local name=$1 h=$2 up upname
	rm -f "$IT_DIR/$h.sock" "$IT_DIR/$h.ctl"
	if [ "$h" = a ]; then
		rm -f "$IT_DIR/in.sock"
		up="net_vhost1,iface=$IT_DIR/in.sock" upname=net_vhost1
	else
		up="net_null0,no-rx=1" upname=net_null0
	fi
	it_eal "$name" '0@(0,1),1@(0,1)'
	IT_EAL=("${IT_EAL[@]/#512/1024}")
	inns "$4" "$h"
	it_bg "$name" "${NS_CMD[@]}" "$SWITCH" "${IT_EAL[@]}" \
		--vdev "net_vhook0,iface=$IT_DIR/$h.sock,vm=vm1,mac=$VM_MAC,ctl=$IT_DIR/$h.ctl,t1-quota=4096,t2-slots=262144,t2-slot-size=256,offline-timeout-ms=120000,hold-timeout-ms=120000" \
		--vdev "$up" --vdev "$(linkdev "$4" "$h" "$5")" \
		-- --uplink "$upname" --tunnel-ip "$3" --tunnel-dev "$(linkname "$4")"
	# The control socket comes with the VM port, before the switch gives
	# the driver its tunnel endpoint: a migrate command in between fails
	# ("no tunnel endpoint in this process"). The switch is ready once its
	# workers are announced.
	it_wait_log "$name" 'ports, [0-9]+ workers' 30 || return 1
	[ "$h" = b ] || it_wait_file "$IT_DIR/in.sock" 30 "$name"
}

# tunnel LINK N: one transfer; appends a row to tunnel.txt.
tunnel() {
	local link=$1 n=$2 tag="$1-$2" key deadline h sock=$IT_DIR/memif-$1-$2.sock
	key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
	switch "swa-$tag" a 10.79.0.11 "$link" "$sock" || return 1
	# The memif client must find the server's socket when it starts.
	[ "$link" != memif ] || it_wait_file "$sock" 30 "swa-$tag" || return 1
	switch "swb-$tag" b 10.79.0.12 "$link" "$sock" || return 1
	ctl b migrate-expect vm1 --from 10.79.0.11 --key "$key" >/dev/null || return 1
	ctl a migrate-offline vm1 --to 10.79.0.12 --key "$key" --store-and-forward >/dev/null || return 1
	it_eal "s-$tag"
	it_bg "s-$tag" "$SEND" "${IT_EAL[@]}" --vdev "$(it_virtio "$IT_DIR/in.sock")" -- \
		--rate 2000000 --count "$n" --dst-mac "$VM_MAC" --report "$IT_DIR/s-$tag.json"
	it_wait_exit "s-$tag" 120
	deadline=$(($(date +%s) + 30))
	h=$(held a)
	until [ "${h:-0}" -ge "$n" ] || [ "$(date +%s)" -ge "$deadline" ]; do
		sleep 0.1
		h=$(held a)
	done
	h=${h:-0}
	[ "$h" -ge "$n" ] || echo "# $tag: A holds $h of the $n packets sent (sender: $(cat "$IT_DIR/s-$tag.json" 2>/dev/null))"
	[ "$h" -gt 0 ] || return 1
	ctl a vm-show vm1 >"$IT_DIR/a-before-$tag.json"
	it_eal "g-$tag"
	it_bg "g-$tag" "$GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "$IT_DIR/b.sock" "mac=$VM_MAC")" -- \
		--report "$IT_DIR/g-$tag.json" --ready "$IT_DIR/g-$tag.ready" --expect "$h" --quit-after-idle 1500
	it_wait_file "$IT_DIR/g-$tag.ready" 60 "g-$tag" || return 1
	# What else ran: a figure far off its neighbours is explained here.
	top -bn1 -w 200 | head -20 >"$IT_DIR/top-$tag.txt"
	echo "# $tag: load average $(cut -d' ' -f1-3 /proc/loadavg) when the guest came up"
	it_wait_exit "g-$tag" 180 || it_stop "g-$tag"
	ctl a vm-show vm1 >"$IT_DIR/a-$tag.json"
	ctl b vm-show vm1 >"$IT_DIR/b-$tag.json"
	ctl a status >"$IT_DIR/a-status-$tag.json"
	ctl b status >"$IT_DIR/b-status-$tag.json"
	# A crash is a failure; SIGTERM stops a switch with 0.
	it_stop "swb-$tag"
	check_eq "switch B ($tag) ran to the end" "$(it_rc "swb-$tag")" 0
	it_stop "swa-$tag"
	check_eq "switch A ($tag) ran to the end" "$(it_rc "swa-$tag")" 0
	# The switches' last lines: every port's counters.
	for s in "swa-$tag" "swb-$tag"; do
		grep -h 'stopped:' "$IT_DIR/$s.log" | sed "s/^/# $s: /"
	done
	# Fewer packets than held reached the guest: how the channel ended.
	if [ "$(it_json "$IT_DIR/g-$tag.json" unique)" != "$h" ]; then
		for s in "swa-$tag" "swb-$tag"; do
			grep -h 'net_vhook: vm1' "$IT_DIR/$s.log" | sed "s/^/# $s: /"
		done
	fi
	python3 - "$IT_DIR" "$tag" "$link" "$h" >>"$IT_DIR/tunnel.txt" <<'EOF'
import json, sys
d, tag, link, held = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
a = json.load(open(f"{d}/a-{tag}.json"))["tunnel"]
b = json.load(open(f"{d}/b-{tag}.json"))["tunnel"]
ga = json.load(open(f"{d}/a-status-{tag}.json"))["tunnel"]
gb = json.load(open(f"{d}/b-status-{tag}.json"))["tunnel"]
try:
    g = json.load(open(f"{d}/g-{tag}.json"))
except (OSError, ValueError):
    g = {}
snd = a.get("sender", {})
rcv = b.get("receiver", {})
print(json.dumps({
    "link": link, "held": held, "accepted": rcv.get("accepted", 0),
    "span_us": b.get("data_span_us", 0), "data_received": b.get("data_received", 0),
    "duplicates": b.get("duplicates", 0), "out_of_window": b.get("out_of_window", 0),
    "b_no_mbuf": b.get("no_mbuf", 0), "b_in_ring_full": gb.get("in_ring_full", 0),
    "pushed": snd.get("pushed", 0), "sent": snd.get("sent", 0),
    "retransmits": snd.get("retransmits", 0), "timeout_rounds": snd.get("timeout_rounds", 0),
    "fast_rounds": snd.get("fast_rounds", 0), "out_ring_full": a.get("out_ring_full", 0),
    "a_out_ring_full": ga.get("out_ring_full", 0), "a_no_mbuf": a.get("no_mbuf", 0),
    "a_span_us": a.get("data_span_us", 0),
    "guest_unique": g.get("unique", 0), "guest_duplicated": g.get("duplicated"),
    "guest_reordered": g.get("reordered"), "guest_rx_span_ms": g.get("rx_span_ms"),
}))
EOF
}

# samples NAME: port 0's Rx-pps in each of testpmd's stats prints, from the
# first non-zero one.
samples() {
	python3 - "$IT_DIR/$1.log" <<'EOF'
import re, sys
txt = open(sys.argv[1], errors="replace").read()
v = [int(x) for x in re.findall(r"NIC statistics for port 0 .*?Rx-pps:\s+(\d+)", txt, re.S)]
while v and v[0] == 0:
    v.pop(0)
print(*v)
EOF
}

# raw LINK: testpmd txonly -> link -> testpmd rxonly; appends "LINK PPS"
# (the mean rx rate over SECS seconds) to raw.txt.
raw() {
	local link=$1 sock=$IT_DIR/rawmemif-$1.sock deadline r
	# Each forwarding lcore on a core of its own (as bench_vhook.sh does):
	# with both floating, memif's figure swung from 5 to 18 Mpps between
	# runs on an idle machine (pinned: 6-7.7 Mpps).
	it_eal "rawtx-$link" '0@(0,1),1@0'
	inns "$link" a
	it_bg "rawtx-$link" "${NS_CMD[@]}" stdbuf -o0 -e0 "$TESTPMD" "${IT_EAL[@]}" --vdev "$(linkdev "$link" a "$sock")" \
		-- -a --stats-period 3600 --total-num-mbufs=16384 --forward-mode=txonly --txpkts="$RAW_PKT"
	[ "$link" != memif ] || it_wait_file "$sock" 30 "rawtx-$link" || return 1
	it_eal "rawrx-$link" '0@(0,1),1@1'
	inns "$link" b
	it_bg "rawrx-$link" "${NS_CMD[@]}" stdbuf -o0 -e0 "$TESTPMD" "${IT_EAL[@]}" --vdev "$(linkdev "$link" b "$sock")" \
		-- -a --stats-period 1 --total-num-mbufs=16384 --forward-mode=rxonly
	# Count from the first print in which packets flow: SECS prints after
	# that one (testpmd prints about once a second, later when the cores
	# are busy).
	deadline=$(($(date +%s) + 60 + 3 * SECS))
	while [ "$(samples "rawrx-$link" | wc -w)" -lt $((SECS + 1)) ]; do
		[ "$(date +%s)" -lt "$deadline" ] || break
		it_running "rawrx-$link" || break
		sleep 0.2
	done
	# DPDK 22.11's memif sometimes crashes (SIGSEGV) on the side that is
	# still forwarding when its peer goes away (the tx server, and the rx
	# client too). Stock testpmd, not udpmig: reported, not counted.
	it_stop "rawtx-$link"
	it_stop "rawrx-$link"
	echo "# raw $link: rx pps per print: $(samples "rawrx-$link")" \
		"(testpmd exit status: tx $(it_rc "rawtx-$link"), rx $(it_rc "rawrx-$link"))"
	# shellcheck disable=SC2046 # one argument per sample
	r=$(python3 -c 'import sys
v = [int(x) for x in sys.argv[2:]][1:1 + int(sys.argv[1])]
print(sum(v) // len(v) if v else 0)' "$SECS" $(samples "rawrx-$link"))
	echo "$link ${r:-0}" >>"$IT_DIR/raw.txt"
}

: >"$IT_DIR/tunnel.txt"
: >"$IT_DIR/raw.txt"
for link in $LINKS; do
	for n in $NS; do
		tunnel "$link" "$n" || echo "# tunnel over $link, $n packets: no figure"
		# What is left of a failed run must not disturb the next one.
		for p in "g-$link-$n" "s-$link-$n" "swb-$link-$n" "swa-$link-$n"; do it_stop "$p" >/dev/null; done
	done
	raw "$link" || echo "# raw $link forwarding: no figure"
	r=$(awk -v l="$link" '$1 == l { print $2 }' "$IT_DIR/raw.txt")
	python3 - "$IT_DIR/tunnel.txt" "$link" "${r:-0}" "$RAW_PKT" <<'EOF'
import json, sys
raw = int(sys.argv[3])
for l in open(sys.argv[1]):
    t = json.loads(l)
    if t["link"] != sys.argv[2]:
        continue
    x = t["accepted"] / t["span_us"] if t["span_us"] else 0.0
    z = raw / 1e6
    print(f"tunnel over {t['link']}: {t['held']} held packets transferred at {x:.3f} Mpps "
          f"(span {t['span_us'] / 1e3:.1f} ms, retransmits {t['retransmits']}); "
          f"raw {t['link']} forwarding {z:.3f} Mpps ({sys.argv[4]} B); ratio {x / z if z else 0:.3f}")
    if t["guest_unique"] != t["held"]:
        print(f"# {t['link']}: the guest got {t['guest_unique']} unique packets of the {t['held']} held")
    print(f"# {t['link']}: " + ", ".join(f"{k} {v}" for k, v in t.items() if k not in ("link",)))
EOF
done

python3 - "$IT_DIR/tunnel.txt" "$IT_DIR/raw.txt" "$OUT" "$RAW_PKT" <<'EOF'
import json, sys
raw = {l.split()[0]: int(l.split()[1]) for l in open(sys.argv[2])}
rows = []
for l in open(sys.argv[1]):
    t = json.loads(l)
    x = t["accepted"] / t["span_us"] * 1e6 if t["span_us"] else 0.0
    z = raw.get(t["link"], 0)
    rows.append({
        "link": t["link"], "held": t["held"], "tunnel_pps": int(x),
        "span_ms": t["span_us"] / 1e3, "retransmits": t["retransmits"],
        "out_ring_full": t["out_ring_full"], "raw_pps": z,
        "ratio": (x / z if z else None), "guest_unique": t["guest_unique"],
        "detail": t,
    })
json.dump({"raw_packet_bytes": int(sys.argv[4]), "tunnel": rows}, open(sys.argv[3], "w"), indent=1)
EOF
check "a tunnel rate was measured" python3 -c '
import json, sys
sys.exit(not any(r["tunnel_pps"] > 0 for r in json.load(open(sys.argv[1]))["tunnel"]))' "$OUT"
it_done
