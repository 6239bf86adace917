// A SIP phone's media side for the live tests and the demo: sipp answers the
// call (tests/gateway/sipp/uas_endpoint_av.xml); this process owns the RTP
// sockets it advertises. It sends a PCMU tone and VP8 video (encoded by
// ffmpeg, relayed from the advertised port) to wherever the gateway sends
// from (symmetric RTP), sends RFC 4733 digits when told, and records what it
// receives. One process per call; commands arrive as lines on stdin:
//   dtmf DIGITS   send the digits as RFC 4733 events (PT 101), 120 ms each
//   mark NAME     note the current position of the received audio
//   stop          write the outputs and exit
// Outputs (in --out): phone.pcap (every datagram received, raw IPv4/UDP),
// phone-audio.wav (the received PCMU decoded, 8 kHz, in arrival order),
// phone-video.ivf (the received VP8 frames), phone.json (counts, marks).
import { parseArgs } from 'node:util';
import { createSocket } from 'node:dgram';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const { values: args } = parseArgs({
  options: {
    'audio-port': { type: 'string' },
    'video-port': { type: 'string' },
    'relay-port': { type: 'string' },
    out: { type: 'string' },
    'tone-hz': { type: 'string', default: '1000' },
    'tone-dbfs': { type: 'string', default: '-20' },
    'video-pt': { type: 'string', default: '97' },
    'video-source': { type: 'string', default: 'testsrc2=size=320x240:rate=15' },
  },
});
const AUDIO_PORT = Number(args['audio-port']);
const VIDEO_PORT = Number(args['video-port']);
const RELAY_PORT = Number(args['relay-port'] || VIDEO_PORT + 10);
const VIDEO_PT = Number(args['video-pt']);
const OUT = args.out;
const T0 = Date.now();

// ---- G.711 mu-law (ITU-T G.711) ----
function linearToUlaw(s) {
  const BIAS = 0x84, CLIP = 32635;
  let sign = (s >> 8) & 0x80;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; exp--, mask >>= 1);
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}
function ulawToLinear(u) {
  u = ~u & 0xff;
  let t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (u & 0x80) ? 0x84 - t : t - 0x84;
}

function rtpPayloadOffset(p) {
  if (p.length < 12 || (p[0] >> 6) !== 2) return 0;
  let off = 12 + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (p.length < off + 4) return 0;
    off += 4 + 4 * p.readUInt16BE(off + 2);
  }
  return off <= p.length ? off : 0;
}

// ---- sockets ----
const received = [];  // {t, from, fromPort, toPort, bytes}
const pcm = [];       // Int16Array chunks of received PCMU
let pcmSamples = 0;
const marks = {};
const counts = { audioPackets: 0, videoPackets: 0, eventPackets: 0, sentAudio: 0, sentVideo: 0, sentEvents: 0 };
const peer = { audio: null, video: null };

function bindUdp(port, onMessage) {
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => onMessage(msg, rinfo));
  s.on('error', (e) => { console.error(`phone: port ${port}: ${e.message}`); process.exit(1); });
  s.bind(port, '127.0.0.1');
  return s;
}
const record = (port) => (msg, rinfo) => {
  received.push({ t: Date.now() - T0, from: rinfo.address, fromPort: rinfo.port, toPort: port, bytes: Buffer.from(msg) });
};
const audio = bindUdp(AUDIO_PORT, (msg, rinfo) => {
  record(AUDIO_PORT)(msg, rinfo);
  if (!peer.audio) peer.audio = { address: rinfo.address, port: rinfo.port };
  const off = rtpPayloadOffset(msg);
  if (off === 0) return;
  const pt = msg[1] & 0x7f;
  if (pt === 0) {
    counts.audioPackets++;
    const chunk = new Int16Array(msg.length - off);
    for (let i = off; i < msg.length; i++) chunk[i - off] = ulawToLinear(msg[i]);
    pcm.push(chunk);
    pcmSamples += chunk.length;
  } else if (pt === 101) {
    counts.eventPackets++;
  }
});
bindUdp(AUDIO_PORT + 1, record(AUDIO_PORT + 1));
const video = bindUdp(VIDEO_PORT, (msg, rinfo) => {
  record(VIDEO_PORT)(msg, rinfo);
  if (!peer.video) peer.video = { address: rinfo.address, port: rinfo.port };
  counts.videoPackets++;
});
bindUdp(VIDEO_PORT + 1, record(VIDEO_PORT + 1));
// ffmpeg's RTP arrives here and leaves from the advertised video port.
bindUdp(RELAY_PORT, (msg) => {
  if (!peer.video) return;
  video.send(msg, peer.video.port, peer.video.address);
  counts.sentVideo++;
});
bindUdp(RELAY_PORT + 1, () => {});  // ffmpeg's RTCP

// ---- audio sender: a tone, or RFC 4733 events when queued ----
const SSRC = 0x5eed0001;
let seq = 1, ts = 0, frame = 0;
const events = [];  // {payload: Buffer, first, last}
const amp = 32767 * Math.pow(10, Number(args['tone-dbfs']) / 20);
const hz = Number(args['tone-hz']);
function sendAudio() {
  if (!peer.audio) return;
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(SSRC, 8);
  let body;
  const e = events.length ? events.shift() : null;
  if (e) {
    if (e.first) eventTs = ts;
    h[1] = (e.first ? 0x80 : 0) | 101;
    h.writeUInt32BE(eventTs >>> 0, 4);
    body = e.payload;
    counts.sentEvents++;
  } else {
    h[1] = 0;
    h.writeUInt32BE(ts >>> 0, 4);
    body = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) {
      body[i] = linearToUlaw(Math.round(amp * Math.sin(2 * Math.PI * hz * (frame * 160 + i) / 8000)));
    }
    counts.sentAudio++;
  }
  seq++;
  ts += 160;
  frame++;
  audio.send(Buffer.concat([h, body]), peer.audio.port, peer.audio.address);
}
let eventTs = 0;
// A digit: 6 packets 20 ms apart (duration 160..960), then 3 end packets.
function queueDigit(d) {
  const code = '0123456789'.includes(d) ? Number(d) : d === '*' ? 10 : d === '#' ? 11 : -1;
  if (code < 0) return;
  for (let i = 1; i <= 6; i++) events.push({ payload: Buffer.from([code, 10, (i * 160) >> 8, (i * 160) & 0xff]), first: i === 1 });
  for (let i = 0; i < 3; i++) events.push({ payload: Buffer.from([code, 0x80 | 10, 960 >> 8, 960 & 0xff]), first: false });
  for (let i = 0; i < 3; i++) events.push(null);  // a pause: tone packets between digits
}
const start = Date.now();
let next = 0;
setInterval(() => {  // catch up to the wall clock: one packet per 20 ms
  const due = Math.floor((Date.now() - start) / 20);
  while (next <= due) {
    next++;
    sendAudio();
  }
}, 10);

// ---- video sender: ffmpeg encodes VP8 to the relay port ----
const ffmpeg = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', args['video-source'],
  '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '15', '-an',
  '-payload_type', String(VIDEO_PT), '-ssrc', '1515870810', '-f', 'rtp',
  `rtp://127.0.0.1:${RELAY_PORT}?localrtcpport=${RELAY_PORT + 3}&pkt_size=1200`], { stdio: ['ignore', 'ignore', 'inherit'] });

// ---- outputs ----
function writePcap(path) {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20);  // LINKTYPE_RAW: IPv4 packets
  const parts = [head];
  const ip = (a) => a.split('.').map(Number);
  for (const r of received) {
    const len = 28 + r.bytes.length;
    const rec = Buffer.alloc(16 + 28);
    const tMs = T0 + r.t;
    rec.writeUInt32LE(Math.floor(tMs / 1000), 0);
    rec.writeUInt32LE((tMs % 1000) * 1000, 4);
    rec.writeUInt32LE(len, 8);
    rec.writeUInt32LE(len, 12);
    rec[16] = 0x45;
    rec.writeUInt16BE(len, 18);
    rec[24] = 64;
    rec[25] = 17;
    Buffer.from(ip(r.from)).copy(rec, 28);
    Buffer.from([127, 0, 0, 1]).copy(rec, 32);
    let sum = 0;  // the IPv4 header checksum
    for (let i = 16; i < 36; i += 2) sum += rec.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    rec.writeUInt16BE(~sum & 0xffff, 26);
    rec.writeUInt16BE(r.fromPort, 36);
    rec.writeUInt16BE(r.toPort, 38);
    rec.writeUInt16BE(8 + r.bytes.length, 40);
    parts.push(rec, r.bytes);
  }
  writeFileSync(path, Buffer.concat(parts));
}
function writeWav(path) {
  const data = Buffer.alloc(pcmSamples * 2);
  let o = 0;
  for (const c of pcm) for (const s of c) { data.writeInt16LE(s, o); o += 2; }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}
// VP8 RTP (RFC 7741) to IVF: a frame starts at S=1, PID=0 and ends at the marker.
function writeIvf(path) {
  const frames = [];
  let cur = [], started = false;
  for (const r of received) {
    if (r.toPort !== VIDEO_PORT) continue;
    const p = r.bytes, off = rtpPayloadOffset(p);
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
    if (p[1] & 0x80) { frames.push({ t: r.t, data: Buffer.concat(cur) }); cur = []; started = false; }
  }
  const h = Buffer.alloc(32);
  h.write('DKIF', 0);
  h.writeUInt16LE(0, 4);
  h.writeUInt16LE(32, 6);
  h.write('VP80', 8);
  h.writeUInt16LE(0, 12);  // width and height: taken from the frames
  h.writeUInt16LE(0, 14);
  h.writeUInt32LE(1000, 16);  // timebase 1/1000: pts in ms of arrival
  h.writeUInt32LE(1, 20);
  h.writeUInt32LE(frames.length, 24);
  const parts = [h];
  let last = -1;
  for (const f of frames) {
    const pts = Math.max(f.t, last + 1);
    last = pts;
    const fh = Buffer.alloc(12);
    fh.writeUInt32LE(f.data.length, 0);
    fh.writeUInt32LE(pts, 4);
    parts.push(fh, f.data);
  }
  writeFileSync(path, Buffer.concat(parts));
  return frames.length;
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  ffmpeg.kill('SIGKILL');
  writePcap(`${OUT}/phone.pcap`);
  writeWav(`${OUT}/phone-audio.wav`);
  const frames = writeIvf(`${OUT}/phone-video.ivf`);
  writeFileSync(`${OUT}/phone.json`, JSON.stringify({ ...counts, videoFrames: frames, audioSamples: pcmSamples, marks }, null, 1));
  console.log(`phone: stopped (${counts.audioPackets} audio, ${counts.videoPackets} video packets received)`);
  process.exit(0);
}
process.on('exit', () => ffmpeg.kill('SIGKILL'));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'dtmf') { for (const d of arg || '') queueDigit(d); console.log(`phone: dtmf ${arg}`); }
  else if (cmd === 'mark') { marks[arg] = pcmSamples; console.log(`phone: mark ${arg} ${pcmSamples}`); }
  else if (cmd === 'stop') stop();
}).on('close', stop);
console.log(`phone: audio ${AUDIO_PORT}, video ${VIDEO_PORT}`);
