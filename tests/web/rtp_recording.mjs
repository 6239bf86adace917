// What a phone received, from a packet capture: the capture's UDP datagrams
// (classic pcap, Ethernet, Linux cooked or raw IPv4), the VP8 frames in
// RTP (RFC 7741) and an IVF file of them, and a plain 16-bit WAV writer.
// Used by tests/web/baresip_phone.mjs, which records baresip's received
// video from a capture (baresip 1.0.0 cannot write it to a file).
import { readFileSync, writeFileSync } from 'node:fs';

// Every IPv4/UDP datagram of a classic pcap file:
// {tMs, src, srcPort, dst, dstPort, payload}.
export function readPcapUdp(path) {
  const b = readFileSync(path);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) {
    throw new Error(`${path}: not a classic pcap file`);
  }
  const nano = (le ? magic : b.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const link = u32(20);
  const out = [];
  for (let off = 24; off + 16 <= b.length;) {
    const sec = u32(off), frac = u32(off + 4), incl = u32(off + 8);
    const rec = b.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    let ip = -1;
    if (link === 1 && rec.length >= 14 && rec.readUInt16BE(12) === 0x0800) ip = 14;  // Ethernet
    else if (link === 113 && rec.length >= 16 && rec.readUInt16BE(14) === 0x0800) ip = 16;  // Linux cooked
    else if (link === 276 && rec.length >= 20 && rec.readUInt16BE(0) === 0x0800) ip = 20;  // Linux cooked v2
    else if (link === 101 || link === 228) ip = 0;  // raw IP
    else if (link === 0 && rec.length >= 4) ip = 4;  // BSD loopback
    if (ip < 0 || rec.length < ip + 28 || (rec[ip] >> 4) !== 4 || rec[ip + 9] !== 17) continue;
    const ihl = 4 * (rec[ip] & 0x0f), udp = ip + ihl;
    if (rec.length < udp + 8) continue;
    const addr = (o) => `${rec[o]}.${rec[o + 1]}.${rec[o + 2]}.${rec[o + 3]}`;
    out.push({
      tMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1000),
      src: addr(ip + 12), dst: addr(ip + 16),
      srcPort: rec.readUInt16BE(udp), dstPort: rec.readUInt16BE(udp + 2),
      payload: rec.subarray(udp + 8, Math.min(rec.length, udp + rec.readUInt16BE(udp + 4))),
    });
  }
  return out;
}

// The payload offset of an RTP packet (CSRCs and header extension skipped),
// 0 when it is not RTP version 2.
export function rtpPayloadOffset(p) {
  if (p.length < 12 || (p[0] >> 6) !== 2) return 0;
  let off = 12 + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (p.length < off + 4) return 0;
    off += 4 + 4 * p.readUInt16BE(off + 2);
  }
  return off <= p.length ? off : 0;
}
// RTCP shares the RTP version bits; its packet types are 200..206.
export const isRtcp = (p) => p.length >= 8 && (p[0] >> 6) === 2 && p[1] >= 200 && p[1] <= 206;

// VP8 frames from RTP packets ({tMs, payload}, in arrival order): a frame
// starts at S=1, PID=0 and ends at the marker bit. Returns [{tMs, data}].
export function vp8Frames(packets) {
  const frames = [];
  let cur = [], started = false;
  for (const r of packets) {
    const p = r.payload, off = rtpPayloadOffset(p);
    if (off === 0 || p.length <= off + 1) continue;
    let i = off;
    const desc = p[i++];
    const start = (desc & 0x10) && (desc & 0x07) === 0;
    if (desc & 0x80) {
      const x = p[i++];
      if (x & 0x80) i += (p[i] & 0x80) ? 2 : 1;
      if (x & 0x40) i++;
      if (x & 0x30) i++;
    }
    if (i > p.length) continue;
    if (start) { cur = []; started = true; }
    if (!started) continue;
    cur.push(p.subarray(i));
    if (p[1] & 0x80) { frames.push({ tMs: r.tMs, data: Buffer.concat(cur) }); cur = []; started = false; }
  }
  return frames;
}

// An IVF file of VP8 frames; pts in ms of arrival relative to the first.
export function writeIvf(path, frames) {
  const h = Buffer.alloc(32);
  h.write('DKIF', 0);
  h.writeUInt16LE(0, 4);
  h.writeUInt16LE(32, 6);
  h.write('VP80', 8);
  h.writeUInt16LE(0, 12);  // width and height: taken from the frames
  h.writeUInt16LE(0, 14);
  h.writeUInt32LE(1000, 16);  // timebase 1/1000
  h.writeUInt32LE(1, 20);
  h.writeUInt32LE(frames.length, 24);
  const parts = [h];
  const t0 = frames.length ? frames[0].tMs : 0;
  let last = -1;
  for (const f of frames) {
    const pts = Math.max(Math.round(f.tMs - t0), last + 1);
    last = pts;
    const fh = Buffer.alloc(12);
    fh.writeUInt32LE(f.data.length, 0);
    fh.writeUInt32LE(pts, 4);
    parts.push(fh, f.data);
  }
  writeFileSync(path, Buffer.concat(parts));
  return frames.length;
}

// The 16-bit samples and rate of a PCM WAV file (any chunk layout; a data
// size left at 0 or too large by a writer that did not finish is ignored).
export function readWavPcm16(path) {
  const b = readFileSync(path);
  let off = 12, rate = 8000;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4), size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') rate = b.readUInt32LE(off + 12);
    if (id === 'data') {
      const n = Math.floor((b.length - off - 8) / 2);
      return { rate, samples: new Int16Array(b.buffer.slice(b.byteOffset + off + 8, b.byteOffset + off + 8 + 2 * n)) };
    }
    off += 8 + size + (size & 1);
  }
  return { rate, samples: new Int16Array(0) };
}
// A mono 16-bit WAV file with a 44-byte header.
export function writeWav(path, samples, rate) {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.length * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}
