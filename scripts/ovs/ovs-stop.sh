#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Stop an OVS-DPDK instance started by scripts/ovs/ovs-start.sh --dir DIR:
# ovs-vswitchd first, with "exit --cleanup" (it deletes its bridges and
# ports, so the DPDK ports close and the vhost-user sockets go), then
# ovsdb-server. Only the processes whose pid files are in DIR are touched;
# DIR and the database stay (ovs-start.sh reuses them), and so do the logs.
#
#   scripts/ovs/ovs-stop.sh --dir DIR [--timeout SEC]
set -uo pipefail

DIR=
TIMEOUT=20

die() {
	echo "ovs-stop: $*" >&2
	exit 1
}
log() { echo "ovs-stop: $*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--dir) DIR=${2:-}; shift 2 ;;
	--timeout) TIMEOUT=${2:-}; shift 2 ;;
	--help | -h) echo "usage: $0 --dir DIR [--timeout SEC]"; exit 0 ;;
	*) die "unknown option '$1'; usage: $0 --dir DIR [--timeout SEC]" ;;
	esac
done
[ -n "$DIR" ] || die "--dir is required"
[ -d "$DIR" ] || die "$DIR: no such directory"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout $TIMEOUT: expected seconds"

# pid_of NAME: the pid in DIR/NAME.pid when that process still runs and is
# the daemon it claims to be (a stale pid file may name a reused pid).
pid_of() {
	local pid
	pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	grep -q "$1" "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

# wait_gone PID SECONDS
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# stop NAME CTL: the daemon's own exit command, SIGTERM if it does not
# answer, SIGKILL as the last resort.
stop() {
	local name=$1 pid
	shift
	pid=$(pid_of "$name") || {
		log "$name: not running"
		return 0
	}
	timeout "$TIMEOUT" ovs-appctl -t "$DIR/$name.ctl" "$@" >/dev/null 2>&1 ||
		log "$name: ovs-appctl $* did not answer; SIGTERM"
	wait_gone "$pid" "$TIMEOUT" && { log "$name (pid $pid) stopped"; return 0; }
	kill -TERM "$pid" 2>/dev/null
	wait_gone "$pid" 5 && { log "$name (pid $pid) stopped by SIGTERM"; return 0; }
	kill -KILL "$pid" 2>/dev/null
	wait_gone "$pid" 5
	log "$name (pid $pid) killed"
	return 1
}

rc=0
stop ovs-vswitchd exit --cleanup || rc=1
stop ovsdb-server exit || rc=1
# EAL's runtime directory of the instance ovs-start.sh started (its file
# prefix is recorded in DIR), once no process uses it.
if [ -f "$DIR/eal-file-prefix" ] && ! pid_of ovs-vswitchd >/dev/null; then
	prefix=$(cat "$DIR/eal-file-prefix")
	[[ $prefix =~ ^[A-Za-z0-9_.-]+$ ]] && rm -rf "/var/run/dpdk/$prefix"
	rm -f "$DIR/eal-file-prefix"
fi
exit $rc
