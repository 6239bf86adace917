#!/usr/bin/env python3
"""Writes the UDP payloads of classic pcap files as one file each (fuzz seeds).

Usage: pcap_udp_payloads.py OUT_DIR [--max N] [--every K] [--prefix P] PCAP...

Reads the pcap format with the standard library only (struct): Ethernet
(with 802.1Q tags), Linux cooked (SLL), BSD loopback and raw-IP link types,
IPv4 (unfragmented) and IPv6 without extension headers. Takes every K-th
UDP packet of each file and stops at N files in total. File names are
<prefix><pcap stem>_<index>.bin, so rerunning overwrites instead of adding.
"""
import argparse
import os
import struct
import sys

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL = 0, 1, 101, 113


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: too short for a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file (pcapng is not supported)")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    pos = 24
    while pos + 16 <= len(data):
        incl_len = struct.unpack(endian + "I", data[pos + 8:pos + 12])[0]
        pos += 16
        if pos + incl_len > len(data):
            break  # truncated capture
        yield linktype, data[pos:pos + incl_len]
        pos += incl_len


def ip_packet(linktype, frame):
    """Returns (ethertype-like version tag, IP packet) or None."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        off, ethertype = 14, struct.unpack("!H", frame[12:14])[0]
        while ethertype == 0x8100 and len(frame) >= off + 4:  # VLAN tags
            ethertype = struct.unpack("!H", frame[off + 2:off + 4])[0]
            off += 4
        return frame[off:] if ethertype in (0x0800, 0x86DD) else None
    if linktype == LINKTYPE_LINUX_SLL:
        return frame[16:] if len(frame) >= 16 else None
    if linktype == LINKTYPE_NULL:
        return frame[4:] if len(frame) >= 4 else None
    if linktype == LINKTYPE_RAW:
        return frame
    return None


def udp_payload(ip):
    if not ip:
        return None
    version = ip[0] >> 4
    if version == 4:
        if len(ip) < 20:
            return None
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        frag = struct.unpack("!H", ip[6:8])[0]
        if ip[9] != 17 or frag & 0x3FFF or ihl < 20 or total > len(ip):
            return None
        udp = ip[ihl:total]
    elif version == 6:
        if len(ip) < 40 or ip[6] != 17:
            return None
        udp = ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
    else:
        return None
    if len(udp) < 8:
        return None
    length = struct.unpack("!H", udp[4:6])[0]
    if length < 8 or length > len(udp):
        return None
    return udp[8:length]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("pcaps", nargs="+")
    ap.add_argument("--max", type=int, default=60, help="total files to write (default 60)")
    ap.add_argument("--every", type=int, default=1, help="keep every K-th UDP packet per file")
    ap.add_argument("--prefix", default="pcap_", help="file name prefix")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    written = 0
    for path in args.pcaps:
        stem = os.path.splitext(os.path.basename(path))[0]
        index = 0
        for linktype, frame in records(path):
            payload = udp_payload(ip_packet(linktype, frame))
            if payload is None:
                continue
            index += 1
            if (index - 1) % args.every:
                continue
            if written >= args.max:
                break
            name = os.path.join(args.out_dir, f"{args.prefix}{stem}_{index:04d}.bin")
            with open(name, "wb") as f:
                f.write(payload)
            written += 1
    print(f"wrote {written} payloads to {args.out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
