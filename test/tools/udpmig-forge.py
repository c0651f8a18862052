#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Send forged or replayed udpmig tunnel packets (DATA) to a switch.

Builds the Geneve header and the udpmig option exactly as
lib/udpmig_tun_wire.h lays them out, with a keyed BLAKE2b-128 tag over the
Geneve header, the option (tag zeroed) and the payload, and sends them over
a plain UDP socket (the kernel builds the outer headers). Each payload is
an Ethernet frame carrying one datagram of the udpmig-send stream (the
"UMIG" header, test/tools/seqstream.h), so a forged packet that reached
the guest would show in its accounting (a duplicate, or out of range).

Exit status: 0 sent, 2 usage error.
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import time

OPT_CLASS, OPT_TYPE = 0xFF75, 0x81
MSG_DATA = 1


def mac(s):
    b = bytes(int(x, 16) for x in s.split(":"))
    if len(b) != 6:
        raise argparse.ArgumentTypeError(f"{s}: expected a MAC address")
    return b


def inner_frame(dst_mac, src_ip, dst_ip, stream_seq, port):
    payload = struct.pack(">IHHII QQ".replace(" ", ""), 0x554D4947, 1, 0, 0, 0,
                          stream_seq, time.monotonic_ns())
    udp = struct.pack(">HHHH", port, port, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                               socket.inet_aton(src_ip), socket.inet_aton(dst_ip)))
    s = sum(struct.unpack(">10H", bytes(ip)))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    ip[10:12] = struct.pack(">H", ~s & 0xFFFF)
    return dst_mac + bytes.fromhex("02000000ee01") + b"\x08\x00" + bytes(ip) + udp


def tunnel_packet(vni, session, seq, payload, key):
    geneve = struct.pack(">BBH", 9, 0x40, 0x6558) + vni.to_bytes(3, "big") + b"\x00"
    opt = struct.pack(">HBBBBHIQ", OPT_CLASS, OPT_TYPE, 8, MSG_DATA, 0, 0, session, seq)
    tag = hashlib.blake2b(geneve + opt + bytes(16) + payload, key=key, digest_size=16).digest()
    return geneve + opt + tag + payload


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--to", required=True, help="the switch's tunnel address")
    ap.add_argument("--port", type=int, default=6081, help="tunnel UDP port (6081)")
    ap.add_argument("--vni", type=lambda v: int(v, 0), required=True, help="channel VNI")
    ap.add_argument("--session", type=int, default=0)
    ap.add_argument("--key", help="64 hex digits; default: a random (wrong) key")
    ap.add_argument("--seq", type=int, default=0, help="first channel sequence number")
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--stream-seq", type=int, default=0, help="first seq of the inner datagrams")
    ap.add_argument("--vm-mac", type=mac, default=mac("02:00:00:00:00:02"))
    ap.add_argument("--vm-ip", default="10.78.0.2")
    ap.add_argument("--src-ip", default="10.78.0.1", help="inner source address")
    ap.add_argument("--udp-port", type=int, default=5000, help="inner UDP port (the stream's)")
    a = ap.parse_args()
    try:
        key = bytes.fromhex(a.key) if a.key else os.urandom(32)
    except ValueError:
        key = b""
    if len(key) != 32:
        print("udpmig-forge: --key: expected 64 hex digits", file=sys.stderr)
        return 2
    if not 0 < a.vni < 1 << 24:
        print("udpmig-forge: --vni: expected 1..16777215", file=sys.stderr)
        return 2
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(a.count):
        inner = inner_frame(a.vm_mac, a.src_ip, a.vm_ip, a.stream_seq + i, a.udp_port)
        s.sendto(tunnel_packet(a.vni, a.session, a.seq + i, inner, key), (a.to, a.port))
        time.sleep(0.0005)
    print(f"udpmig-forge: sent {a.count} DATA packets to {a.to}:{a.port} vni {a.vni:#x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
