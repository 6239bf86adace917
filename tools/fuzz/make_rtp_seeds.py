#!/usr/bin/env python3
"""Regenerates the seed corpora of fuzz_rtp, fuzz_rtcp and fuzz_srtp.

Real RTP packets come from Debian's sip-tester captures (PCMA audio and
RFC 4733 events); RTCP packets and RTP packets with CSRCs, RFC 8285
extensions and padding are built here, since the captures hold none.
Usage: make_rtp_seeds.py [CORPUS_ROOT] (default: tools/fuzz/corpus)
"""
import glob
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcap_udp_payloads import ip_packet, records, udp_payload  # noqa: E402

SIP_TESTER = "/usr/share/sip-tester"


def pcap_payloads(path, every=1, limit=1000):
    out = []
    index = 0
    for linktype, frame in records(path):
        payload = udp_payload(ip_packet(linktype, frame))
        if payload is None:
            continue
        if index % every == 0 and len(out) < limit:
            out.append(payload)
        index += 1
    return out


def rtp(seq, ts, ssrc, pt=0, marker=False, csrcs=(), ext=None, payload=b"", padding=0):
    """ext: (profile, bytes) already laid out, padded here to 32 bits."""
    b0 = 0x80 | (0x20 if padding else 0) | (0x10 if ext else 0) | len(csrcs)
    out = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    out += b"".join(struct.pack("!I", c) for c in csrcs)
    if ext:
        profile, body = ext
        body += b"\0" * (-len(body) % 4)
        out += struct.pack("!HH", profile, len(body) // 4) + body
    out += payload
    if padding:
        out += b"\0" * (padding - 1) + bytes([padding])
    return out


def one_byte(*elements):
    return 0xBEDE, b"".join(bytes([(i << 4) | (len(d) - 1)]) + d for i, d in elements)


def two_byte(*elements):
    return 0x1000, b"".join(bytes([i, len(d)]) + d for i, d in elements)


def rtcp(pt, count, body, padding=0):
    body += b"\0" * (padding - 1) + bytes([padding]) if padding else b""
    assert len(body) % 4 == 0
    return struct.pack("!BBH", 0x80 | (0x20 if padding else 0) | count, pt, len(body) // 4) + body


def report_block(ssrc, lost=-3, seq=0x1FFFF):
    return struct.pack("!IB", ssrc, 12) + (lost & 0xFFFFFF).to_bytes(3, "big") + struct.pack(
        "!IIII", seq, 80, 0xABCD1234, 32768)


def sr(ssrc, blocks=()):
    body = struct.pack("!IIIIII", ssrc, 0xE8D4A510, 0x80000000, 0xFFFFFF00, 1000, 160000)
    return rtcp(200, len(blocks), body + b"".join(report_block(b) for b in blocks))


def rr(ssrc, blocks=(), padding=0):
    return rtcp(201, len(blocks), struct.pack("!I", ssrc) + b"".join(report_block(b) for b in blocks), padding)


def sdes(ssrc, cname):
    item = bytes([1, len(cname)]) + cname
    item += b"\0" * (4 - len(item) % 4)
    return rtcp(202, 1, struct.pack("!I", ssrc) + item)


def pli(sender, media):
    return rtcp(206, 1, struct.pack("!II", sender, media))


def fir(sender, entries):
    return rtcp(206, 4, struct.pack("!II", sender, 0) + b"".join(struct.pack("!IB3x", s, n) for s, n in entries))


def bye(ssrc):
    return rtcp(203, 1, struct.pack("!I", ssrc))


def app(ssrc):
    return rtcp(204, 0, struct.pack("!I", ssrc) + b"sipx" + b"data")


def nack(sender, media):
    return rtcp(205, 1, struct.pack("!IIHH", sender, media, 0xFFFF, 0x0003))


def built_rtp():
    level = bytes([0x80 | 30])
    return {
        "csrc_ext_pad": rtp(0xFFFF, 0xFFFFFF00, 0x1234, 111, True, (1, 2, 3),
                            one_byte((1, level), (3, b"\x01\x02\x03\x04")), bytes(range(40)), 4),
        "two_byte_ext": rtp(0, 960, 0x1234, 96, False, (), two_byte((1, level), (20, bytes(30)), (2, b"")),
                            bytes(range(100))),
        "one_byte_id15": rtp(1, 1920, 0x1234, 111, False, (), one_byte((1, level), (15, b"\xff")), b"\x55" * 20),
        "opus_wrap": rtp(0xFFFE, 0xFFFFFC40, 0xCAFE, 111, False, (), None, b"\xfc\xff\xfe"),
    }


def built_rtcp():
    return {
        "sr_sdes": sr(0x1111, [0x2222, 0x3333]) + sdes(0x1111, b"sipmix@gw"),
        "rr_sdes_bye": rr(0x1111, [0x2222]) + sdes(0x1111, b"leg") + bye(0x1111),
        "pli": pli(0x1111, 0x2222),
        "fir": fir(0x1111, [(0x2222, 255), (0x3333, 0)]),
        "rr_pli_fir_pad": rr(0x1111, [0x2222]) + pli(0x1111, 0x2222) + fir(0x1111, [(0x2222, 7)]) + rr(0x1, [],
                                                                                                        padding=4),
        "app_nack": sr(0x1111) + app(0x1111) + nack(0x1111, 0x2222),
    }


def write(directory, name, data):
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    dirs = {t: os.path.join(root, t) for t in ("fuzz_rtp", "fuzz_rtcp", "fuzz_srtp")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
        for old in glob.glob(os.path.join(d, "*.bin")):
            os.remove(old)

    real = [("g711a", p) for p in pcap_payloads(os.path.join(SIP_TESTER, "g711a.pcap"), every=25)]
    for name in ("star", "6", "pound", "0"):
        real += [("dtmf_" + name, p) for p in pcap_payloads(os.path.join(SIP_TESTER, f"dtmf_2833_{name}.pcap"),
                                                             every=3)]
    rtps = built_rtp()
    rtcps = built_rtcp()

    for i, (stem, p) in enumerate(real):
        write(dirs["fuzz_rtp"], f"pcap_{stem}_{i:02d}.bin", p)
    for name, p in list(rtps.items()) + list(rtcps.items()):
        write(dirs["fuzz_rtp"], f"built_{name}.bin", p)
    for name, p in rtcps.items():
        write(dirs["fuzz_rtcp"], f"built_{name}.bin", p)
    # fuzz_srtp input: mode, tamper position (16 bit), xor mask, packet.
    no_tamper = b"\xff\xff\x00"
    for i, (stem, p) in enumerate(real[::2]):
        write(dirs["fuzz_srtp"], f"rt_rtp_{stem}_{i:02d}.bin", b"\x02" + no_tamper + p)
    for name, p in rtps.items():
        write(dirs["fuzz_srtp"], f"rt_rtp_built_{name}.bin", b"\x02" + no_tamper + p)
        write(dirs["fuzz_srtp"], f"tamper_rtp_built_{name}.bin", b"\x02\x00\x10\x01" + p)
    for name, p in rtcps.items():
        write(dirs["fuzz_srtp"], f"rt_rtcp_built_{name}.bin", b"\x03" + no_tamper + p)
    write(dirs["fuzz_srtp"], "raw_srtp.bin", b"\x00" + no_tamper + real[0][1] + bytes(10))
    write(dirs["fuzz_srtp"], "raw_srtp32.bin", b"\x04" + no_tamper + real[1][1] + bytes(4))
    write(dirs["fuzz_srtp"], "raw_srtcp.bin", b"\x01" + no_tamper + rtcps["sr_sdes"] + b"\x80\0\0\1" + bytes(10))
    for t, d in dirs.items():
        print(f"{t}: {len(os.listdir(d))} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
