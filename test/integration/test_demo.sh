#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The parts of scripts/demo.sh --qemu that need no VM (the demo itself
# takes minutes: it is not a test):
# 0. demo.sh's usage: --help documents --qemu; a bad option, --netem with
#    --qemu, --accel without --qemu exit 2 with a message;
# 1. udpmig-rcv's host-time view (UDPMIG-RCV-HOST, UDPMIG-RCV-TL), which
#    the demo plots: a sender on loopback plays a guest that is stopped
#    for 300 ms. The receiver's clock runs on, so the sender shifts its
#    stamps (tx_ns) by the freeze after the "resume", as a migrated guest
#    sees them. udpmig: the packets of the freeze come in a burst after the
#    resume (held); baseline: they are lost, and the stream resumes 50 ms
#    late. The view must find the freeze (300 ms) and the gaps.
# Usage: test_demo.sh UDPMIG_RCV
set -uo pipefail
. "$(dirname "$0")/lib.sh"
it_init demo
RCV=${1:-${UDPMIG_RCV:-}}
[ -x "$RCV" ] || it_fatal "usage: $0 PATH-OF-udpmig-rcv (not built: '$RCV')"
DEMO=$UDPMIG_SOURCE/scripts/demo.sh
# demo.sh as nobody: an option it wrongly accepts ends at its root check
# (exit 2, another message) instead of running the demo.
demo() { setpriv --reuid=65534 --regid=65534 --clear-groups "$DEMO" "$@"; }

# --- 0. usage
out=$(demo --help 2>&1)
check_eq "demo.sh --help exits 0" "$?" 0
check "demo.sh --help documents --qemu" grep -q -- '--qemu ' <<<"$out"
check "demo.sh --help documents --accel" grep -q -- '--accel auto|tcg|kvm' <<<"$out"
check "demo.sh --help gives the --qemu command" grep -qF -- '--no-setup --qemu' <<<"$out"
# usage_err NAME MESSAGE ARGS...: exit 2 and MESSAGE on stderr.
usage_err() {
	local name=$1 msg=$2 rc
	shift 2
	out=$(demo "$@" 2>&1 >/dev/null)
	rc=$?
	check_eq "demo.sh $name: exit 2" "$rc" 2
	check "demo.sh $name: says '$msg'" grep -qF -- "$msg" <<<"$out"
}
usage_err "--qemu --bogus" "unknown option '--bogus'" --qemu --bogus
usage_err "--qemu --netem" "--netem is not available with --qemu" --qemu --netem "loss 1%"
usage_err "--accel kvm without --qemu" "--accel goes with --qemu" --accel kvm
usage_err "--accel auto without --qemu" "--accel goes with --qemu" --accel auto
usage_err "--qemu --accel xen" "expected auto, tcg or kvm" --qemu --accel xen
usage_err "--qemu --rate 0" "expected a positive number" --qemu --rate 0

# --- 1. udpmig-rcv's host-time view
PORT=$((20000 + $$ % 20000))
cat >"$IT_DIR/freeze.py" <<'EOF'
# A guest stopped for F s, seen from its receiver: see test_demo.sh.
import socket, struct, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
F, RATE, PRE, POST = 0.300, 5000, 2.0, 1.5
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
seq = 0

def send(tx):
    global seq
    hdr = struct.pack(">IHHIIQQ", 0x554D4947, 1, 0, 7, 0, seq, int(tx * 1e9))
    s.sendto(hdr + bytes(32), ("127.0.0.1", port))
    seq += 1

def live(t0, until, shift):
    # RATE packets a second since t0, stamped now + shift.
    while True:
        now = time.monotonic()
        if now - t0 >= until:
            return
        while seq < int((now - t0) * RATE) + 1:
            send(time.monotonic() + shift)
        time.sleep(0.0005)

t0 = time.monotonic()
live(t0, PRE, 0.0)
stop = time.monotonic()
held = int(F * RATE)
if mode == "udpmig":
    # The resume, 3 ms later: what was sent in the freeze, in a burst.
    time.sleep(0.003)
    for i in range(held):
        send(stop + i / RATE)
else:
    seq += held
    time.sleep(0.050)
live(t0 - F, PRE + F + POST, F)
print(seq)
EOF

# view MODE: run the receiver and the sender; the receiver's console in
# $IT_DIR/MODE.out, the host view's JSON in $IT_DIR/MODE.json.
view() {
	it_bg "rcv-$1" "$RCV" --port "$PORT" --quit-after-idle 500 --interval-ms 0
	it_wait_log "rcv-$1" "listening on UDP port" 10 || it_fatal "udpmig-rcv did not bind UDP port $PORT"
	python3 "$IT_DIR/freeze.py" "$1" "$PORT" >"$IT_DIR/$1.sent" || it_fatal "the sender failed"
	it_wait_exit "rcv-$1" 30 || it_fatal "udpmig-rcv did not end"
	cp "$IT_DIR/rcv-$1.log" "$IT_DIR/$1.out"
	grep -a 'UDPMIG-RCV-HOST' "$IT_DIR/$1.out" | sed 's/^UDPMIG-RCV-HOST //' >"$IT_DIR/$1.json"
	echo "# $1: $(cat "$IT_DIR/$1.json")"
}
# tl_sum MODE: the packets of the UDPMIG-RCV-TL lines.
tl_sum() {
	python3 - "$IT_DIR/$1.out" <<'EOF'
import re, sys
digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
n = 0
for ln in open(sys.argv[1], errors="replace"):
    m = re.match(r"UDPMIG-RCV-TL \d+ (\S*)", ln)
    if m:
        n += sum(int(t[1:-1]) if t[0] == "{" else digits.index(t) for t in re.findall(r"\{\d+\}|.", m.group(1)))
print(n)
EOF
}
h() { it_json "$IT_DIR/$1.json" "$2"; }
in_range() { python3 -c 'import sys; v, lo, hi = map(float, sys.argv[1:]); sys.exit(0 if lo <= v <= hi else 1)' "$@"; }

view udpmig
check_eq "udpmig: the view has every packet" "$(h udpmig packets)" "$(cat "$IT_DIR/udpmig.sent")"
check "udpmig: freeze found: 300 ms (+-20; got $(h udpmig freeze_ms))" in_range "$(h udpmig freeze_ms)" 280 320
check "udpmig: the longest gap is the freeze (got $(h udpmig max_gap_ms))" in_range "$(h udpmig max_gap_ms)" 280 1300
check "udpmig: the max delay is the freeze (got $(h udpmig delay_ms_max))" in_range "$(h udpmig delay_ms_max)" 280 1300
# The held packets sent within the resume's 3 ms of the stop look sent
# before it (tl_report()): nearly all of the 1500, not all.
check_ge "udpmig: held packets found" "$(h udpmig held)" 1400
check_eq "udpmig: the timeline sums to the packets" "$(tl_sum udpmig)" "$(h udpmig packets)"

view baseline
check_eq "baseline: the view lacks the 1500 lost" "$(h baseline packets)" $(($(cat "$IT_DIR/baseline.sent") - 1500))
check "baseline: freeze found: 300 ms (+-20; got $(h baseline freeze_ms))" in_range "$(h baseline freeze_ms)" 280 320
check "baseline: the longest gap is the freeze + 50 ms (got $(h baseline max_gap_ms))" \
	in_range "$(h baseline max_gap_ms)" 330 1300
check_eq "baseline: the timeline sums to the packets" "$(tl_sum baseline)" "$(h baseline packets)"
it_done
