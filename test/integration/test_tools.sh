#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The test tools, and the stock-vhost baseline:
#   udpmig-send (virtio_user) -> in.sock [net_vhost0] testpmd io [net_vhost1] vm.sock
#     -> udpmig-guest (virtio_user)
# 0. usage errors exit 2, --help exits 0 (no EAL);
# 1. 20000 packets at 20k pps: all received, none lost, duplicated or reordered;
# 2. the guest moves: it stops halfway (state saved), a new instance with
#    --state attaches while the sender keeps sending. Stock vhost drops what
#    comes while nobody is attached: lost > 0 and lost == sent - received;
# 3. kernel mode: udpmig-send --kernel to a UDP socket on loopback.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
it_init tools
it_need_testpmd

D=$IT_DIR

# guest NAME [options]: a guest on vm.sock, waits until its link is up.
guest() {
	local name=$1
	shift
	it_eal "$name"
	it_bg "$name" "$UDPMIG_GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "$D/vm.sock")" -- \
		--report "$D/$name.json" --ready "$D/$name.ready" "$@"
	it_wait_file "$D/$name.ready" 30 "$name" || it_fatal "$name did not come up"
}

# sender NAME [options]: a sender on in.sock.
sender() {
	local name=$1
	shift
	it_eal "$name"
	it_bg "$name" "$UDPMIG_SEND" "${IT_EAL[@]}" --vdev "$(it_virtio "$D/in.sock")" -- \
		--report "$D/$name.json" --ready "$D/$name.ready" "$@"
}

j() { it_json "$D/$1.json" "$2"; }

# 0. Usage -------------------------------------------------------------------
"$UDPMIG_GUEST" -- --bogus >/dev/null 2>"$D/usage.err"
check_eq "guest: unknown option exits 2" $? 2
check_eq "guest: ... with one line on stderr" "$(wc -l <"$D/usage.err")" 1
"$UDPMIG_SEND" -- --size 8 >/dev/null 2>"$D/usage.err"
check_eq "send: --size 8 exits 2" $? 2
check "send: ... and says what --size takes" grep -q -- "--size: '8' is not a number in 32..1472" "$D/usage.err"
"$UDPMIG_SEND" --kernel -- --gate 5 >/dev/null 2>"$D/usage.err"
check_eq "send: --gate without a file exits 2" $? 2
check "send: ... and says what --gate takes" grep -q -- "--gate: '5' is not SEQ:FILE" "$D/usage.err"
"$UDPMIG_SEND" --kernel -- --gate 5:a --gate 3:b >/dev/null 2>"$D/usage.err"
check_eq "send: gates out of order exit 2" $? 2
check "send: ... and says which" grep -q -- "--gate: 3 is not after the previous gate's 5" "$D/usage.err"
# A gate holds the stream until its file exists (the migration tests pace
# their stream on their steps with it): 200 packets at 10 kpps take 20 ms,
# but the sender still runs 1 s later, and sends the rest once told.
"$UDPMIG_SEND" --kernel -- --rate 10000 --count 200 --gate "100:$D/gate" --dst-ip 127.0.0.1 \
	--dst-port 9 --report "$D/gate.json" >/dev/null 2>&1 &
gate_pid=$!
sleep 1
check "send: waits at its gate" kill -0 "$gate_pid"
touch "$D/gate"
wait "$gate_pid"
check_eq "send: ... and goes on once the file exists" $? 0
check_eq "send: ... sending every packet" "$(it_json "$D/gate.json" sent)" 200
"$UDPMIG_GUEST" --help >/dev/null
check_eq "guest: --help exits 0" $? 0
"$UDPMIG_SEND" -- --help >/dev/null
check_eq "send: -- --help exits 0" $? 0

# The switch: stock vhost on both sides, io forwarding. --------------------
it_testpmd sw --vdev "net_vhost0,iface=$D/in.sock,queues=1" \
	--vdev "net_vhost1,iface=$D/vm.sock,queues=1" -- \
	--forward-mode=io --auto-start --stats-period 1 --nb-cores=1 --total-num-mbufs=16384
if ! it_wait_file "$D/vm.sock" 30 sw || ! it_wait_file "$D/in.sock" 30 sw; then
	it_fatal "testpmd did not create its vhost-user sockets"
fi

# 1. A complete stream -----------------------------------------------------------
N=20000
guest g1 --expect $N --quit-after-idle 500 --timeline "$D/g1.csv"
# Pause and resume (SIGUSR1) before any traffic: nothing can overflow.
it_signal g1 USR1
it_wait_report g1 "$D/g1.json" instance.pauses 1 10 || it_fatal "1: the guest did not pause"
check_eq "1: SIGUSR1 pauses the guest" "$(j g1 instance.paused)" true
it_signal g1 USR1
it_wait_report g1 "$D/g1.json" instance.paused false 10 == || it_fatal "1: the guest did not resume"
sender s1 --rate 20000 --count $N
it_wait_exit s1 60
check_eq "1: sender exits 0" "$(it_rc s1)" 0
it_wait_exit g1 60
check_eq "1: guest exits 0" "$(it_rc g1)" 0
check_eq "1: sender sent $N" "$(j s1 sent)" $N
check_eq "1: sender dropped none" "$(j s1 tx_dropped)" 0
# Paced, never faster than asked; slower when other tests share the cores.
check_le "1: sender rate at most 20k pps" "$(j s1 rate_pps)" 20400
check_ge "1: sender rate roughly 20k pps" "$(j s1 rate_pps)" 12000
check_eq "1: guest received $N" "$(j g1 received)" $N
check_eq "1: none lost" "$(j g1 lost)" 0
check_eq "1: none duplicated" "$(j g1 duplicated)" 0
check_eq "1: none reordered" "$(j g1 reordered)" 0
check_eq "1: nothing else received" "$(j g1 other)" 0
check_eq "1: the timeline counts every packet" \
	"$(awk -F, 'NR > 1 { n += $2 } END { print n + 0 }' "$D/g1.csv" 2>/dev/null)" $N
check_gt "1: the delay was measured" "$(j g1 delay_ms_max)" 0
check_eq "1: it was paused once" "$(j g1 instance.pauses)" 1
check_gt "1: for some time" "$(j g1 instance.paused_ms)" 0

# 2. The guest moves: stop it halfway, a new instance continues ---------------
# The sender runs until told to stop, so the second guest attaches while
# it still sends, however long its start takes on busy cores.
guest g2 --state "$D/g.state"
sender s2 --rate 20000
it_wait_report g2 "$D/g2.json" received 5000 30 || it_fatal "2: the first guest received too little"
it_stop g2 10
check_eq "2: first guest exits 0 on SIGTERM" "$(it_rc g2)" 0
check "2: its state file exists" test -s "$D/g.state"
check_eq "2: its report says it ended" "$(j g2 instance.running)" false
first=$(j g2 received)
last_g2=$(j g2 highest_seq)
guest g3 --state "$D/g.state" --quit-after-idle 700 --timeline "$D/g3.csv"
it_wait_report g3 "$D/g3.json" instance.rx_pkts 4000 30 || it_fatal "2: the second guest received too little"
it_stop s2 10
check_eq "2: sender exits 0 on SIGTERM" "$(it_rc s2)" 0
it_wait_exit g3 30
check_eq "2: second guest exits 0" "$(it_rc g3)" 0
sent=$(j s2 sent)
received=$(j g3 received)
lost=$(j g3 lost)
check_eq "2: sender dropped none" "$(j s2 tx_dropped)" 0
check_eq "2: two instances accounted" "$(j g3 instances)" 2
check_eq "2: the second continues the first's count" "$(j g3 received)" \
	$((first + $(j g3 instance.rx_pkts)))
check_eq "2: the last packet arrived (highest_seq + 1 == sent)" $(($(j g3 highest_seq) + 1)) "$sent"
check_gt "2: stock vhost lost packets while no guest was attached" "$lost" 0
check_eq "2: lost == sent - received" "$lost" $((sent - received))
check_eq "2: none duplicated" "$(j g3 duplicated)" 0
check_eq "2: none reordered" "$(j g3 reordered)" 0
check_ge "2: losses counted in runs" "$(j g3 loss_runs)" 1
check_eq "2: the longest gap is the detach (after the first guest's last packet)" \
	"$(j g3 max_gap_after_seq)" "$last_g2"
check_gt "2: the gap covers the detach (> 50 ms)" "$(j g3 max_gap_ms)" 50
check_eq "2: the timeline spans both guests" \
	"$(awk -F, 'NR > 1 { n += $2 } END { print n + 0 }' "$D/g3.csv" 2>/dev/null)" "$received"
it_stop sw 10
check_eq "testpmd exits 0 on SIGTERM" "$(it_rc sw)" 0

# 3. Kernel mode on loopback --------------------------------------------------
PORT=$((20000 + $$ % 20000))
it_bg rx python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
s.settimeout(5)
n = bad = 0
last = -1
try:
    while n < int(sys.argv[3]):
        d = s.recv(2048)
        magic, ver, _, stream, _, seq, _ = struct.unpack("!IHHIIQQ", d[:32])
        bad += magic != 0x554D4947 or ver != 1 or seq != last + 1 or len(d) != 100
        last = seq
        n += 1
finally:
    print("received", n, "bad", bad)
' "$PORT" "$D/rx.ready" 2000
it_wait_file "$D/rx.ready" 10 rx || it_fatal "3: the UDP receiver did not start"
"$UDPMIG_SEND" --kernel -- --dst-ip 127.0.0.1 --dst-port "$PORT" --count 2000 --rate 20000 \
	--size 100 --report "$D/k.json" >"$D/k.log" 2>&1
check_eq "3: kernel-mode sender exits 0" $? 0
check_eq "3: it sent 2000" "$(j k sent)" 2000
it_wait_exit rx 10
check_eq "3: the socket received 2000 in order, well formed" "$(tail -n 1 "$D/rx.log")" \
	"received 2000 bad 0"

it_done
