#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""QMP helper of the qemu tests: a live migration as an orchestrator does
it, with the udpmig hooks at the right QEMU events; or one QMP command.

  qmp-migrate.py migrate --src QMP --dst QMP --uri URI [--bandwidth BYTES]
                 [--pause-hook CMD] [--stop-hook CMD] [--timeout S] [--out JSON]
                 [--dst-param KEY=INT ...]
  qmp-migrate.py cmd QMP COMMAND [JSON-ARGS]
  qmp-migrate.py wait-event QMP EVENT [--timeout S]
  qmp-migrate.py follow FILE OUT

migrate: turns on the `events` capability (MIGRATION events) and, with
--pause-hook, `pause-before-switchover` on the source; sets max-bandwidth;
starts `migrate`; runs --stop-hook when the source's STOP event comes,
--pause-hook when the migration reaches `pre-switchover` (then
`migrate-continue`); waits for `completed` or `failed` and for the
destination's RESUME. Prints (and writes to --out) one JSON object: the
final query-migrate, and every event of both sides with its time in ms
since `migrate` was sent (t0_monotonic: that instant, CLOCK_MONOTONIC
seconds, to line up with other logs). Exit 0 when completed, 1 otherwise, 2 usage.
"""
import argparse
import json
import select
import shlex
import socket
import subprocess
import sys
import time


class Qmp:
    def __init__(self, path, name, t0):
        self.name = name
        self.t0 = t0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        self.greeting = self._read()
        self.execute("qmp_capabilities")

    def fileno(self):
        return self.sock.fileno()

    def _read(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no QMP message in {timeout} s")
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError(f"{self.name}: QMP socket closed")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def _note(self, msg):
        ev = {
            "side": self.name,
            "t_ms": round((time.monotonic() - self.t0()) * 1000, 1),
            "event": msg["event"],
        }
        if "data" in msg:
            ev["data"] = msg["data"]
        self.events.append(ev)
        return ev

    def poll(self):
        """Read what is there (events); returns the new events."""
        new = []
        while True:
            r, _, _ = select.select([self.sock], [], [], 0)
            if not r and b"\n" not in self.buf:
                return new
            msg = self._read(5)
            if "event" in msg:
                new.append(self._note(msg))

    def execute(self, cmd, args=None, timeout=30.0):
        req = {"execute": cmd}
        if args:
            req["arguments"] = args
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        while True:
            msg = self._read(timeout)
            if "event" in msg:
                self._note(msg)
                continue
            if "error" in msg:
                raise RuntimeError(f"{self.name}: {cmd}: {msg['error']}")
            return msg.get("return")


def run_hook(cmd, events, name, t0):
    t = time.monotonic()
    p = subprocess.run(shlex.split(cmd), capture_output=True, text=True)
    events.append({
        "side": "hook",
        "t_ms": round((t - t0) * 1000, 1),
        "event": name,
        "data": {"rc": p.returncode, "ms": round((time.monotonic() - t) * 1000, 1),
                 "stderr": p.stderr.strip()[-300:]},
    })


def do_migrate(a):
    t0 = [time.monotonic()]
    src = Qmp(a.src, "src", lambda: t0[0])
    dst = Qmp(a.dst, "dst", lambda: t0[0]) if a.dst else None
    caps = [{"capability": "events", "state": True}]
    if a.pause_hook:
        caps.append({"capability": "pause-before-switchover", "state": True})
    src.execute("migrate-set-capabilities", {"capabilities": caps})
    if dst:
        dst.execute("migrate-set-capabilities",
                    {"capabilities": [{"capability": "events", "state": True}]})
    src.execute("migrate-set-parameters", {"max-bandwidth": a.bandwidth})
    if dst and a.dst_param:
        # e.g. announce-rounds: the destination announces the guest.
        dst.execute("migrate-set-parameters",
                    {k: int(v) for k, v in (p.split("=", 1) for p in a.dst_param)})
    hooks = []
    t0[0] = time.monotonic()
    src.execute("migrate", {"uri": a.uri})
    deadline = time.monotonic() + a.timeout
    status = None
    resumed = dst is None
    stop_done = False
    while time.monotonic() < deadline and not (status in ("completed", "failed", "cancelled")
                                               and resumed):
        socks = [src] + ([dst] if dst else [])
        select.select(socks, [], [], 0.2)
        try:
            new = src.poll()
        except EOFError:
            break
        if dst:
            try:
                new += dst.poll()
            except EOFError:
                resumed = True
        for ev in new:
            if ev["side"] == "src" and ev["event"] == "STOP" and a.stop_hook and not stop_done:
                stop_done = True
                run_hook(a.stop_hook, hooks, "stop-hook", t0[0])
            if ev["side"] == "src" and ev["event"] == "MIGRATION":
                status = ev["data"]["status"]
                if status == "pre-switchover":
                    if a.pause_hook:
                        run_hook(a.pause_hook, hooks, "pause-hook", t0[0])
                    src.execute("migrate-continue", {"state": "pre-switchover"})
            if ev["side"] == "dst" and ev["event"] == "RESUME":
                resumed = True
            if status in ("failed", "cancelled"):
                resumed = True
    info = src.execute("query-migrate")
    events = sorted(src.events + (dst.events if dst else []) + hooks, key=lambda e: e["t_ms"])
    out = {"status": info.get("status"), "query_migrate": info, "events": events,
           "t0_monotonic": t0[0]}
    s = json.dumps(out)
    print(s)
    if a.out:
        with open(a.out, "w") as f:
            f.write(s + "\n")
    return 0 if info.get("status") == "completed" else 1


def do_cmd(a):
    q = Qmp(a.qmp, "qmp", time.monotonic)
    r = q.execute(a.command, json.loads(a.args) if a.args else None)
    print(json.dumps(r))
    return 0


def do_wait_event(a):
    t0 = time.monotonic()
    q = Qmp(a.qmp, "qmp", lambda: t0)
    deadline = t0 + a.timeout
    while time.monotonic() < deadline:
        select.select([q], [], [], 0.2)
        for ev in q.poll():
            if ev["event"] == a.event:
                print(json.dumps(ev))
                return 0
    return 1


def do_follow(a):
    """Copy a growing log file, each line prefixed with CLOCK_MONOTONIC."""
    with open(a.file, "rb") as f, open(a.out, "w") as o:
        part = b""
        while True:
            chunk = f.readline()
            if not chunk:
                time.sleep(0.002)
                continue
            part += chunk
            if part.endswith(b"\n"):
                o.write(f"{time.monotonic():.4f} {part.decode(errors='replace')}")
                o.flush()
                part = b""


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="op", required=True)
    m = sub.add_parser("migrate")
    m.add_argument("--src", required=True)
    m.add_argument("--dst")
    m.add_argument("--uri", required=True)
    m.add_argument("--bandwidth", type=int, default=1 << 30)
    m.add_argument("--pause-hook")
    m.add_argument("--stop-hook")
    m.add_argument("--timeout", type=float, default=60)
    m.add_argument("--out")
    m.add_argument("--dst-param", action="append", metavar="KEY=INT",
                   help="migrate-set-parameters on the destination (repeatable)")
    c = sub.add_parser("cmd")
    c.add_argument("qmp")
    c.add_argument("command")
    c.add_argument("args", nargs="?")
    w = sub.add_parser("wait-event")
    w.add_argument("qmp")
    w.add_argument("event")
    w.add_argument("--timeout", type=float, default=30)
    fo = sub.add_parser("follow")
    fo.add_argument("file")
    fo.add_argument("out")
    a = p.parse_args()
    try:
        return {"migrate": do_migrate, "cmd": do_cmd, "wait-event": do_wait_event,
                "follow": do_follow}[a.op](a)
    except KeyboardInterrupt:
        return 0
    except (OSError, EOFError, TimeoutError, RuntimeError, ValueError) as e:
        print(f"qmp-migrate.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
