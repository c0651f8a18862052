# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Shared harness of the integration tests (sourced, bash). A test is:
#
#   . "$(dirname "$0")/lib.sh"
#   it_init NAME                      # temp dir, traps, root check, tool paths
#   it_testpmd sw --vdev net_vhost0,iface=$IT_DIR/a.sock -- --forward-mode=io -a
#   it_wait_file "$IT_DIR/a.sock" 20 sw || it_fatal "no socket"
#   it_eal g1; it_bg g1 "$UDPMIG_GUEST" "${IT_EAL[@]}" --vdev "$(it_virtio "$IT_DIR/a.sock")" -- ...
#   check_eq "guest got everything" "$(it_json "$IT_DIR/g1.json" received)" 20000
#   it_done                           # last line: "udpmig-result: P passed, F failed"
#
# Every process started with it_bg is stopped (SIGTERM, then SIGKILL) when
# the test ends, however it ends. A test that ends before it_done (an error,
# an unbound variable, a signal) counts one more failure. On failure the
# tail of every log is printed and the logs are kept in
# $UDPMIG_BUILD/meson-logs/integration-NAME/ (IT_LOGS overrides the parent).
#
# Environment (set by test/integration/meson.build): UDPMIG_BUILD,
# UDPMIG_SOURCE, UDPMIG_GUEST, UDPMIG_SEND, UDPMIG_TESTPMD. Knobs:
#   IT_MEM=nohuge (default: --no-huge -m 512) | huge (--in-memory --single-file-segments)
#   IT_QSIZE      virtio_user ring size (default 4096: no loss at 100 kpps on 2 busy cores)
#   IT_VQUEUES    virtio_user queue pairs (default 1)
#   IT_KEEP=1     keep $IT_DIR (and print its path) even when the test passes
#   IT_VERBOSE=1  print every log tail, not only on failure

IT_PASS=0
IT_FAIL=0
IT_DONE=0
IT_NAME=
IT_DIR=
IT_EAL=()
declare -A IT_PIDS=() IT_RC=()
IT_ORDER=()

it__now() { printf '%s\n' "${EPOCHREALTIME/./}"; } # microseconds

# it__deadline SECONDS: now + SECONDS (decimals allowed) in microseconds.
it__deadline() {
	local s=${1:-10} i f
	[[ $s =~ ^[0-9]+(\.[0-9]*)?$ ]] || s=10
	i=${s%%.*}
	f=
	[[ $s == *.* ]] && f=${s#*.}
	f=${f}000000
	f=${f:0:6}
	echo $(($(it__now) + 10#$i * 1000000 + 10#$f))
}

it__log() { printf '# %s\n' "$*"; }

# it_init NAME: per-test directory, traps, environment checks.
it_init() {
	IT_NAME=$1
	IT_T0=$(it__now)
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: $IT_NAME needs root (vhost-user sockets, DPDK memory)"
		exit 77
	fi
	UDPMIG_SOURCE=${UDPMIG_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
	# Logs of failed runs: the build's meson-logs when meson runs the test.
	IT_LOGS=${IT_LOGS:-${UDPMIG_BUILD:+$UDPMIG_BUILD/meson-logs}}
	IT_LOGS=${IT_LOGS:-/tmp/udpmig-logs}
	UDPMIG_GUEST=${UDPMIG_GUEST:-${UDPMIG_BUILD:-$UDPMIG_SOURCE/build}/test/tools/udpmig-guest}
	UDPMIG_SEND=${UDPMIG_SEND:-${UDPMIG_BUILD:-$UDPMIG_SOURCE/build}/test/tools/udpmig-send}
	UDPMIG_TESTPMD=${UDPMIG_TESTPMD:-$(command -v dpdk-testpmd || true)}
	IT_DIR=$(mktemp -d "/tmp/udpmig-$IT_NAME.XXXXXX") || {
		echo "not ok - mktemp"
		echo "udpmig-result: 0 passed, 1 failed"
		exit 1
	}
	trap it__exit EXIT
	trap 'it__signal INT' INT
	trap 'it__signal TERM' TERM
	it__log "$IT_NAME: dir $IT_DIR, memory ${IT_MEM:-nohuge}, virtio ring ${IT_QSIZE:-4096}"
	local t
	for t in "$UDPMIG_GUEST" "$UDPMIG_SEND"; do
		[ -x "$t" ] || it_fatal "tool not built: $t"
	done
}

# it_skip REASON: the test cannot run here (meson's skip code 77).
it_skip() {
	echo "SKIP: $IT_NAME: $*"
	IT_DONE=1
	trap '' INT TERM
	it__stop_all
	it__run_at_exit
	exit 77
}

# it_need_testpmd: a failure (not a skip) when dpdk-testpmd is missing.
it_need_testpmd() {
	if [ -z "$UDPMIG_TESTPMD" ] || [ ! -x "$UDPMIG_TESTPMD" ]; then
		it_fatal "dpdk-testpmd not found (Debian package dpdk; scripts/setup.sh installs it)"
	fi
}

# it_prefix NAME: a DPDK file prefix unique to this test run; EAL's
# runtime directories /var/run/dpdk/umt_<pid>_* are removed at the end.
it_prefix() { printf 'umt_%s_%s\n' "$$" "$1"; }

# it_eal NAME [LCORES]: sets the array IT_EAL to the EAL arguments of a
# process. LCORES defaults to one lcore that may run on either CPU (the
# kernel balances the 3-4 poll-mode processes of a test over 2 cores;
# pinning measured no better).
it_eal() {
	local lcores=${2:-'0@(0,1)'}
	IT_EAL=(--file-prefix "$(it_prefix "$1")" --no-pci "--lcores=$lcores" '--log-level=*:notice')
	case ${IT_MEM:-nohuge} in
	nohuge) IT_EAL+=(--no-huge -m 512) ;;
	# --single-file-segments is what virtio_user needs with hugepages; EAL
	# refuses it with --huge-unlink, so --in-memory leaves no files behind.
	huge) IT_EAL+=(--in-memory --single-file-segments) ;;
	*) it_fatal "IT_MEM must be nohuge or huge, not '$IT_MEM'" ;;
	esac
}

# it_virtio SOCKET [EXTRA]: --vdev value of a virtio_user on a vhost-user
# socket, with IT_VQUEUES queue pairs (default 1; more adds the control
# queue virtio_user needs to enable them).
it_virtio() {
	local q=${IT_VQUEUES:-1} cq=
	[ "$q" -gt 1 ] && cq=,cq=1
	printf 'virtio_user0,path=%s,queues=%s%s,queue_size=%s%s\n' "$1" "$q" "$cq" \
		"${IT_QSIZE:-4096}" "${2:+,$2}"
}

# it_bg NAME CMD...: start CMD in the background, output to $IT_DIR/NAME.log.
it_bg() {
	local name=$1
	shift
	[ -z "${IT_PIDS[$name]:-}" ] || it_fatal "it_bg: a process named $name is already running"
	# The child drops this shell's traps before exec: a SIGTERM that comes
	# that early must not run the harness's handlers in the child.
	(
		trap - EXIT INT TERM
		exec "$@"
	) >"$IT_DIR/$name.log" 2>&1 &
	IT_PIDS[$name]=$!
	IT_ORDER+=("$name")
	it__log "started $name (pid $!): $*"
}

# it_testpmd NAME [EAL args] -- [testpmd args]: stock dpdk-testpmd, two
# lcores (main + one forwarding), unbuffered output, stopped with SIGTERM.
it_testpmd() {
	local name=$1
	shift
	it_need_testpmd
	it_eal "$name" '0@(0,1),1@(0,1)'
	it_bg "$name" stdbuf -o0 -e0 "$UDPMIG_TESTPMD" "${IT_EAL[@]}" "$@"
}

it_pid() { printf '%s\n' "${IT_PIDS[$1]:-}"; }

# it_running NAME: true while the process runs.
it_running() {
	local pid=${IT_PIDS[$1]:-}
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

it__reap() {
	local name=$1 pid=${IT_PIDS[$1]:-} rc
	[ -n "$pid" ] || return 0
	wait "$pid" 2>/dev/null
	rc=$?
	IT_RC[$name]=$rc
	unset "IT_PIDS[$name]"
	return $rc
}

# it_signal NAME SIG: send a signal (USR1, USR2, ...).
it_signal() {
	local pid=${IT_PIDS[$1]:-}
	[ -n "$pid" ] && kill -s "$2" "$pid" 2>/dev/null
}

# it_wait_exit NAME TIMEOUT: wait for the process to exit by itself.
# Returns its exit status, or 124 on timeout (it keeps running).
it_wait_exit() {
	local name=$1 deadline
	deadline=$(it__deadline "${2:-10}")
	[ -n "${IT_PIDS[$name]:-}" ] || return "${IT_RC[$name]:-127}"
	while it_running "$name"; do
		[ "$(it__now)" -lt "$deadline" ] || return 124
		sleep 0.05
	done
	it__reap "$name"
}

# it_stop NAME [TIMEOUT]: SIGTERM, wait up to TIMEOUT s (default 10), then
# SIGKILL. Returns the exit status (137 when killed).
it_stop() {
	local name=$1 pid=${IT_PIDS[$1]:-} rc
	[ -n "$pid" ] || return "${IT_RC[$name]:-127}"
	kill -TERM "$pid" 2>/dev/null
	it_wait_exit "$name" "${2:-10}"
	rc=$?
	if [ $rc -eq 124 ]; then
		it__log "$name (pid $pid) ignored SIGTERM for ${2:-10} s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		it__reap "$name"
		rc=$?
	fi
	return $rc
}

# it_rc NAME: exit status of a process that has ended.
it_rc() { printf '%s\n' "${IT_RC[$1]:-}"; }

# it_wait_file PATH TIMEOUT [NAME]: wait for PATH to exist; gives up early
# when process NAME ends. 0 when it exists, 1 otherwise.
it_wait_file() {
	local path=$1 deadline name=${3:-}
	deadline=$(it__deadline "${2:-10}")
	while [ ! -e "$path" ]; do
		if [ -n "$name" ] && ! it_running "$name"; then
			it__log "$name ended while waiting for $path"
			return 1
		fi
		if [ "$(it__now)" -ge "$deadline" ]; then
			it__log "timeout (${2:-10} s) waiting for $path"
			return 1
		fi
		sleep 0.05
	done
}

# it_wait_log NAME REGEX TIMEOUT: wait for an extended regex in NAME's log.
it_wait_log() {
	local name=$1 re=$2 deadline
	deadline=$(it__deadline "${3:-10}")
	until grep -Eq -- "$re" "$IT_DIR/$name.log" 2>/dev/null; do
		if [ "$(it__now)" -ge "$deadline" ]; then
			it__log "timeout (${3:-10} s) waiting for /$re/ in $name.log"
			return 1
		fi
		sleep 0.05
	done
}

# it_json FILE KEY: a value of a JSON object; KEY may be a dotted path
# (instance.rx_pkts). Prints nothing and returns 1 when missing.
it_json() {
	python3 -c '
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
except Exception:
    sys.exit(1)
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2"
}

# it_wait_report NAME FILE KEY VALUE TIMEOUT [OP]: a udpmig-guest writes
# its report on SIGUSR2; ask every 50 ms until KEY OP VALUE. OP is a
# numeric >= (default), >, <=, <, == or !=; == also matches strings
# (true/false).
it_wait_report() {
	local name=$1 file=$2 key=$3 want=$4 op=${6:->=} deadline v
	deadline=$(it__deadline "${5:-10}")
	while :; do
		it_running "$name" || {
			it__log "$name ended while waiting for $key $op $want"
			return 1
		}
		it_signal "$name" USR2
		sleep 0.05
		v=$(it_json "$file" "$key" 2>/dev/null)
		if [ -n "$v" ]; then
			it__num_cmp "$v" "$op" "$want" && return 0
			[ "$op" = "==" ] && [ "$v" = "$want" ] && return 0
		fi
		if [ "$(it__now)" -ge "$deadline" ]; then
			it__log "timeout (${5:-10} s) waiting for $key $op $want in $file (last: ${v:-none})"
			return 1
		fi
	done
}

# Results ------------------------------------------------------------------

# Seconds since it_init, on every result line: where a slow step went.
it__at() { printf '%d.%d s' $((($(it__now) - IT_T0) / 1000000)) $((($(it__now) - IT_T0) / 100000 % 10)); }

it__ok() {
	IT_PASS=$((IT_PASS + 1))
	echo "ok - $1 [$(it__at)]"
}

it__notok() {
	IT_FAIL=$((IT_FAIL + 1))
	echo "not ok - $1 [$(it__at)]"
}

# check DESC CMD...: passes when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then
		it__ok "$desc"
	else
		it__notok "$desc (command failed: $*)"
	fi
}

it__num_cmp() {
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		if (a !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ || b !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) exit 2
		a += 0; b += 0
		if (op == "==") exit !(a == b); if (op == "!=") exit !(a != b)
		if (op == "<=") exit !(a <= b); if (op == "<") exit !(a < b)
		if (op == ">=") exit !(a >= b); if (op == ">") exit !(a > b)
		exit 2 }'
}

it__check_num() {
	local desc=$1 got=$2 op=$3 want=$4 what=$5
	if it__num_cmp "$got" "$op" "$want"; then
		it__ok "$desc"
	else
		it__notok "$desc (got '${got}', want $what)"
	fi
}

# check_eq DESC GOT WANT: numbers compare as numbers, anything else as strings.
check_eq() {
	if it__num_cmp "$2" "==" "$3" || [ "$2" = "$3" ]; then
		it__ok "$1"
	else
		it__notok "$1 (got '$2', want '$3')"
	fi
}
check_ne() { it__check_num "$1" "$2" "!=" "$3" "!= $3"; }
check_le() { it__check_num "$1" "$2" "<=" "$3" "<= $3"; }
check_lt() { it__check_num "$1" "$2" "<" "$3" "< $3"; }
check_ge() { it__check_num "$1" "$2" ">=" "$3" ">= $3"; }
check_gt() { it__check_num "$1" "$2" ">" "$3" "> $3"; }

# it_at_exit CMD...: run CMD when the test ends, however it ends, after its
# processes have stopped; the last registered runs first. For what is not a
# process: network namespaces, veths, bridges, OVS state.
IT_AT_EXIT=()
it_at_exit() { IT_AT_EXIT+=("$(printf '%q ' "$@")"); }

it__run_at_exit() {
	local i
	for ((i = ${#IT_AT_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${IT_AT_EXIT[$i]}" >/dev/null 2>&1 || true
	done
	IT_AT_EXIT=()
}

# it_netns NAME: a network namespace, deleted at the end.
it_netns() {
	ip netns add "$1" || it_fatal "cannot create network namespace $1"
	it_at_exit ip netns del "$1"
	ip -n "$1" link set lo up
}

# it_veth A B [NS_OF_A]: a veth pair A-B, A moved into NS_OF_A if given;
# both up. Deleted at the end (deleting one end deletes both).
it_veth() {
	ip link add "$1" type veth peer name "$2" || it_fatal "cannot create veth $1-$2"
	it_at_exit ip link del "$2"
	if [ -n "${3:-}" ]; then
		ip link set "$1" netns "$3" || it_fatal "cannot move $1 into $3"
		ip -n "$3" link set "$1" up
	else
		ip link set "$1" up
	fi
	ip link set "$2" up
}

# it__stop_all: stop what still runs, newest first.
it__stop_all() {
	local i name
	for ((i = ${#IT_ORDER[@]} - 1; i >= 0; i--)); do
		name=${IT_ORDER[$i]}
		[ -n "${IT_PIDS[$name]:-}" ] || continue
		it__log "stopping $name (pid ${IT_PIDS[$name]}) at the end of the test"
		it_stop "$name" 5 || true
	done
}

it__tails() {
	local f
	for f in "$IT_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "# ---- tail of $(basename "$f")"
		tail -n 25 "$f" | sed 's/^/#   /'
	done
}

# it__finish: stop everything, print the tails on failure, print the
# result line last. Runs once (a signal during it is ignored).
it__finish() {
	local keep
	[ "$IT_DONE" -eq 0 ] || return 0
	IT_DONE=1
	trap '' INT TERM
	it__stop_all
	it__run_at_exit
	if [ "$IT_FAIL" -gt 0 ] || [ "${IT_VERBOSE:-0}" = 1 ]; then
		it__tails
	fi
	if [ "$IT_FAIL" -gt 0 ] && [ -n "$IT_DIR" ] && [ -d "$IT_DIR" ]; then
		keep="$IT_LOGS/integration-$IT_NAME"
		rm -rf "$keep" && mkdir -p "$keep" &&
			find "$IT_DIR" -maxdepth 1 -type f -exec cp {} "$keep/" \; &&
			it__log "logs kept in $keep"
	fi
	echo "udpmig-result: $IT_PASS passed, $IT_FAIL failed"
}

# it_done: the end of a test; exits 1 when a check failed.
it_done() {
	it__finish
	[ "$IT_FAIL" -eq 0 ] && exit 0
	exit 1
}

# it_fatal MSG: a step that cannot go on counts as a failure; ends the test.
it_fatal() {
	it__notok "$*"
	it_done
}

it__signal() {
	[ "$BASHPID" -eq $$ ] || exit 143 # a child before its exec
	it__notok "interrupted by SIG$1"
	it_done
}

# EXIT trap: whatever ended the script, processes stop and files go.
it__exit() {
	local rc=$?
	[ "$BASHPID" -eq $$ ] || return 0 # a child before its exec
	if [ "$IT_DONE" -eq 0 ]; then
		# Ended without it_done: a script error (set -u, exit) is a failure.
		it__notok "test ended before it_done (exit status $rc)"
		it__finish
	fi
	# EAL leaves its runtime directory behind (also after SIGKILL).
	rm -rf "/var/run/dpdk/umt_$$_"* 2>/dev/null
	rm -rf "/var/lib/udpmig/test-drivers/$$" 2>/dev/null
	if [ -n "$IT_DIR" ] && [ -d "$IT_DIR" ]; then
		if [ "${IT_KEEP:-0}" = 1 ]; then
			echo "# kept $IT_DIR" >&2
		else
			rm -rf "$IT_DIR"
		fi
	fi
	[ "$rc" -eq 77 ] && [ "$IT_FAIL" -eq 0 ] && exit 77
	[ "$IT_FAIL" -eq 0 ] || exit 1
	exit "$rc"
}

# it_safe_so PATH: PATH if EAL's -d accepts it, else a copy in a
# root-owned directory. EAL refuses a driver when any directory above it
# is world-writable (a checkout under /tmp or /var/tmp).
it_safe_so() {
	local so=$1 d
	d=$(dirname "$(readlink -f "$so")")
	while [ "$d" != / ]; do
		if [ -n "$(find "$d" -maxdepth 0 -perm -o+w)" ]; then
			local safe=/var/lib/udpmig/test-drivers/$$
			mkdir -p "$safe" && chmod 755 /var/lib/udpmig /var/lib/udpmig/test-drivers "$safe"
			cp "$so" "$safe/" && printf '%s\n' "$safe/$(basename "$so")"
			return
		fi
		d=$(dirname "$d")
	done
	printf '%s\n' "$so"
}

# --- helpers of the migration scenarios (test_migrate, test_ovs, test_qemu) ---
# They talk to a host's control socket $IT_DIR/HOST.ctl with $CTL_BIN.

# it_retry SECONDS CMD...: CMD until it succeeds, every 100 ms.
it_retry() {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# ctl HOST CMD...: udpmig-ctl on HOST's control socket.
ctl() { "$CTL_BIN" -s "$IT_DIR/$1.ctl" "${@:2}"; }

# vmfield HOST PATH: a field of `vm-show vm1` on HOST, PATH like "['port']['held']".
vmfield() { ctl "$1" vm-show vm1 | python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$2"; }

# detached HOST: wait (10 s) until HOST's vm1 has no vhost device.
detached() {
	local deadline=$(($(date +%s) + 10))
	until [ "$(vmfield "$1" "['port']['attached']")" = False ]; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# wait_state HOST STATE TIMEOUT: wait until HOST's vm1 is in migration STATE.
wait_state() {
	local deadline=$(($(date +%s) + $3)) s
	while :; do
		s=$(vmfield "$1" "['migration']['state']")
		[ "$s" = "$2" ] && return 0
		[ "$(date +%s)" -lt "$deadline" ] || {
			it__log "host $1: state $s, not $2, after $3 s"
			return 1
		}
		sleep 0.1
	done
}

# it_hosts_on_bridge PREFIX VM_IP VM_MAC HOST...: a network namespace
# PREFIXh per HOST, each joined to the bridge PREFIXbr by a veth pair
# (PREFIXh0 in the namespace, PREFIXh1 on the bridge). Host "s" is the
# sender: 10.78.0.1/24, with VM_IP's neighbour entry set to VM_MAC.
it_hosts_on_bridge() {
	local t=$1 ip=$2 mac=$3 h
	shift 3
	for h in "$@"; do it_netns "${t}$h"; done
	ip link add "${t}br" type bridge || it_fatal "cannot create bridge ${t}br"
	it_at_exit ip link del "${t}br"
	ip link set "${t}br" up
	for h in "$@"; do
		it_veth "${t}${h}0" "${t}${h}1" "${t}$h"
		ip link set "${t}${h}1" master "${t}br"
	done
	ip -n "${t}s" addr add 10.78.0.1/24 dev "${t}s0"
	ip -n "${t}s" neigh replace "$ip" lladdr "$mac" dev "${t}s0"
}

# drained NAME REPORT: the guest stand-in NAME's count has not moved for
# 300 ms (its ring is empty: nothing more comes once the switch intercepts).
drained() {
	local last=-1 now stable=0 deadline=$(($(date +%s) + 20))
	while [ "$stable" -lt 3 ]; do
		it_signal "$1" USR2
		sleep 0.1
		now=$(it_json "$2" received 2>/dev/null) || now=-2
		if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; fi
		last=$now
		[ "$(date +%s)" -lt "$deadline" ] || return 1
	done
}
