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
destination's RESUME. The QMP client and the migration loop are
scripts/udpmig-migrate's (imported: one implementation). Prints (and
writes to --out) one JSON object: the final query-migrate, and every event of both sides with its time in ms
since `migrate` was sent (t0_monotonic: that instant, CLOCK_MONOTONIC
seconds, to line up with other logs). Exit 0 when completed, 1 otherwise, 2 usage.
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import select
import shlex
import subprocess
import sys
import time


def _load_udpmig_migrate():
    """scripts/udpmig-migrate as a module: the one QMP client (Qmp) and
    migration loop (migrate) of the project."""
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    path = os.environ.get("UDPMIG_MIGRATE") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "udpmig-migrate")
    loader = importlib.machinery.SourceFileLoader("udpmig_migrate", path)
    spec = importlib.util.spec_from_loader("udpmig_migrate", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


um = _load_udpmig_migrate()
Qmp = um.Qmp


def run_hook(cmd, events, name, t0):
    t = time.monotonic()
    p = subprocess.run(shlex.split(cmd), capture_output=True, text=True)
    events.append({
        "side": "hook",
        "t_ms": round((t - t0[0]) * 1000, 1),
        "event": name,
        "data": {"rc": p.returncode, "ms": round((time.monotonic() - t) * 1000, 1),
                 "stderr": p.stderr.strip()[-300:]},
    })
    return True


def do_migrate(a):
    src = Qmp(a.src, "src", time.monotonic)
    dst = Qmp(a.dst, "dst", time.monotonic) if a.dst else None
    hooks = []
    t0 = [0.0]

    def before():
        t0[0] = time.monotonic()
        return True

    def hook(cmd, name):
        return lambda: run_hook(cmd, hooks, name, t0)

    dst_params = None
    if dst and a.dst_param:
        # e.g. announce-rounds: the destination announces the guest.
        dst_params = {k: int(v) for k, v in (p.split("=", 1) for p in a.dst_param)}
    r = um.migrate(src, dst, a.uri, pause=bool(a.pause_hook),
                   on_pause=hook(a.pause_hook, "pause-hook") if a.pause_hook else None,
                   on_stop=hook(a.stop_hook, "stop-hook") if a.stop_hook else None,
                   before=before, timeout=a.timeout, src_params={"max-bandwidth": a.bandwidth},
                   dst_params=dst_params)
    # Hook times: from the instant `migrate` was sent, as the events'.
    for h in hooks:
        h["t_ms"] = round(h["t_ms"] - (r["t0_monotonic"] - t0[0]) * 1000, 1)
    events = sorted(r["events"] + hooks, key=lambda e: e["t_ms"])
    out = {"status": r["status"], "query_migrate": r["query_migrate"], "events": events,
           "t0_monotonic": r["t0_monotonic"]}
    s = json.dumps(out)
    print(s)
    if a.out:
        with open(a.out, "w") as f:
            f.write(s + "\n")
    return 0 if r["status"] == "completed" else 1


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
    except (OSError, EOFError, TimeoutError, um.QmpError, ValueError) as e:
        print(f"qmp-migrate.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
