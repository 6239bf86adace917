// A SIP phone for the browser test and the live demo: baresip 1.0.0, which
// registers nothing, listens on its own UDP port, auto-answers, offers and
// accepts PCMU and VP8, sends a tone (aufile, from a WAV generated here) and
// fakevideo's moving picture, records the audio it decoded (the sndfile
// module), and is driven over ctrl_tcp (netstring JSON): `sndcode` sends
// digits as RFC 4733 telephone-events, `quit` ends it. Its CALL_CLOSED event
// tells whether the peer ended the call (a BYE it received).
//
// baresip 1.0.0 cannot write the video it receives to a file, so dumpcap
// captures every datagram sent to the phone's RTP ports (and its SIP port);
// the VP8 in the capture becomes an IVF file.
//
// Outputs (in `out`): phone.pcap (what the phone received), phone-audio.wav
// (what baresip decoded, 8 kHz), phone-video.ivf (the received VP8 frames),
// phone.json (counts, marks, how the call closed), phone.log (baresip's log).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { isRtcp, readPcapUdp, readWavPcm16, rtpPayloadOffset, vp8Frames, writeIvf, writeWav } from './rtp_recording.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// opts: {ip, sipPort, ctlPort, rtpPorts: [min, max], dir (baresip's config
// and files), out, toneHz, toneDbfs, captureInterface, answer: 'auto' (the
// default) or 'manual' (the phone rings, 180, until answer() is called)}
export async function startPhone(opts) {
  const { ip, sipPort, ctlPort, dir, out } = opts;
  const [rtpMin, rtpMax] = opts.rtpPorts;
  const iface = opts.captureInterface || 'lo';
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.wav')) rmSync(`${dir}/${f}`);

  // The phone's voice: a tone at 8 kHz (aufile needs the codec's rate), long
  // enough for any call here.
  const amp = Math.pow(10, (opts.toneDbfs ?? -20) / 20);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i',
    `aevalsrc=exprs='${amp}*sin(2*PI*${opts.toneHz}*t)':s=8000:d=600`, '-ac', '1', '-c:a', 'pcm_s16le', `${dir}/tone.wav`]);
  if (r.status !== 0) throw new Error(`ffmpeg (the phone's tone): ${r.stderr}`);
  writeFileSync(`${dir}/config`, [
    `sip_listen ${ip}:${sipPort}`,
    `net_interface ${ip}`,
    `rtp_ports ${rtpMin}-${rtpMax}`,
    `audio_source aufile,${dir}/tone.wav`,
    'audio_player aufile,nil',
    'video_source fakevideo,nil',
    'video_display fakevideo,nil',
    'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module aufile.so', 'module fakevideo.so', 'module vp8.so', 'module sndfile.so',
    `snd_path ${dir}`,
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ctlPort}`,
    'module_tmp account.so',
    '',
  ].join('\n'));
  writeFileSync(`${dir}/accounts`,
    `<sip:phone@${ip}>;answermode=${opts.answer === 'manual' ? 'manual' : 'auto'};regint=0;audio_codecs=pcmu;video_codecs=vp8\n`);

  // The capture first, so that the call's first packets are in it.
  const pcap = `${out}/phone.pcap`;
  rmSync(pcap, { force: true });
  const filter = `udp and dst host ${ip} and (dst portrange ${rtpMin}-${rtpMax} or dst port ${sipPort})`;
  // Both captures write into one log, left open (a child's 'exit' can come
  // before its last output).
  const capLog = createWriteStream(`${out}/phone-capture.log`);
  const cap = spawn('dumpcap', ['-q', '-P', '-i', iface, '-f', filter, '-w', pcap], { stdio: ['ignore', 'pipe', 'pipe'] });
  cap.stdout.pipe(capLog, { end: false });
  cap.stderr.pipe(capLog, { end: false });
  const capExit = new Promise((res) => cap.on('exit', (c) => res(c)));
  // A second capture: what the phone sends that is 4 bytes of RTP payload
  // (UDP length 24), i.e. its RFC 4733 events, to judge them with tshark.
  const sentPcap = `${out}/phone-sent-events.pcap`;
  rmSync(sentPcap, { force: true });
  const sentFilter = `udp and src host ${ip} and src portrange ${rtpMin}-${rtpMax} and udp[4:2] = 24`;
  const cap2 = spawn('dumpcap', ['-q', '-P', '-i', iface, '-f', sentFilter, '-w', sentPcap], { stdio: ['ignore', 'pipe', 'pipe'] });
  cap2.stdout.pipe(capLog, { end: false });
  cap2.stderr.pipe(capLog, { end: false });
  const cap2Exit = new Promise((res) => cap2.on('exit', (c) => res(c)));
  for (let i = 0; i < 50 && !(existsSync(pcap) && statSync(pcap).size >= 24 && existsSync(sentPcap) && statSync(sentPcap).size >= 24); i++) {
    await sleep(100);
  }
  if (!existsSync(pcap) || !existsSync(sentPcap)) {
    cap.kill('SIGKILL');
    cap2.kill('SIGKILL');
    throw new Error(`dumpcap did not start capturing the phone's packets (see ${out}/phone-capture.log)`);
  }

  const logStream = createWriteStream(`${out}/phone.log`);
  const baresip = spawn('baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let logText = '';
  for (const s of [baresip.stdout, baresip.stderr]) {
    s.on('data', (d) => { if (logText.length < 65536) logText += d.toString('latin1'); });
    s.pipe(logStream, { end: false });  // two sources: the first to end must not close it
  }
  const baresipExit = new Promise((res) => baresip.on('exit', (c) => res(c)));
  // Ready, with its SIP port and ctrl_tcp bound (or not: then it says why).
  for (let i = 0; i < 100 && !logText.includes('baresip is ready') && baresip.exitCode === null; i++) await sleep(50);
  if (!logText.includes('baresip is ready') || /failed|in use/i.test(logText)) {
    baresip.kill('SIGKILL');
    cap.kill('SIGKILL');
    cap2.kill('SIGKILL');
    throw new Error(`baresip did not start cleanly (see ${out}/phone.log)`);
  }

  // ctrl_tcp: one connection for commands and the phone's events.
  let sock = null;
  for (let i = 0; i < 50 && !sock; i++) {
    await sleep(100);
    sock = await new Promise((res) => {
      const s = connect(ctlPort, '127.0.0.1');
      s.once('connect', () => res(s));
      s.once('error', () => res(null));
    });
  }
  if (!sock) {
    baresip.kill('SIGKILL');
    cap.kill('SIGKILL');
    cap2.kill('SIGKILL');
    throw new Error(`baresip's ctrl_tcp did not come up on 127.0.0.1:${ctlPort} (see ${out}/phone.log)`);
  }
  const events = [];
  const waiters = [];
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {  // netstrings: LEN ":" JSON ","
      const colon = buf.indexOf(0x3a);
      if (colon < 0) break;
      const len = Number(buf.toString('ascii', 0, colon));
      if (buf.length < colon + 1 + len + 1) break;
      const text = buf.toString('utf8', colon + 1, colon + 1 + len);
      buf = buf.subarray(colon + 2 + len);
      let m;
      try { m = JSON.parse(text); } catch { continue; }
      if (m.event) {
        events.push({ tMs: Date.now(), type: m.type, param: m.param });
        for (const w of [...waiters]) if (w.match(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
      }
    }
  });
  sock.on('error', () => {});
  let token = 0;
  const command = (cmd, params = '') => {
    const j = JSON.stringify({ command: cmd, params, token: String(++token) });
    sock.write(`${Buffer.byteLength(j)}:${j},`);
  };
  const waitEvent = (match) => new Promise((resolve) => waiters.push({ match, resolve }));

  // The call's end as the phone saw it: closed by the peer means a BYE.
  const closed = waitEvent((m) => m.type === 'CALL_CLOSED');
  const byeSeen = closed.then((m) => /by peer/i.test(m.param || ''));
  // An incoming call (with answer: 'manual', the phone rings until answer()).
  const incoming = waitEvent((m) => m.type === 'CALL_INCOMING');

  const decodedWav = () => {
    const f = readdirSync(dir).find((x) => x.endsWith('-dec.wav'));
    return f ? `${dir}/${f}` : null;
  };
  const marks = {};
  return {
    uri: `sip:phone@${ip}:${sipPort}`,
    // Digits as RFC 4733 events (baresip's menu command sndcode).
    dtmf: (digits) => command('sndcode', digits),
    incoming,
    // Answers the ringing call (baresip's menu command accept).
    answer: () => command('accept'),
    // The current length (samples) of the audio the phone decoded.
    mark: (name) => {
      const f = decodedWav();
      marks[name] = f ? readWavPcm16(f).samples.length : 0;
    },
    byeSeen,
    closed,
    events,
    // Ends baresip and the capture at once (an aborted run).
    kill() {
      for (const p of [baresip, cap, cap2]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    },
    async stop() {
      // Let a closing call settle, then quit baresip (sndfile closes its
      // files) and stop the capture.
      command('quit');
      const t = setTimeout(() => baresip.kill('SIGKILL'), 5000);
      await baresipExit;
      clearTimeout(t);
      sock.destroy();
      cap.kill('SIGINT');
      cap2.kill('SIGINT');
      const t2 = setTimeout(() => { cap.kill('SIGKILL'); cap2.kill('SIGKILL'); }, 5000);
      await capExit;
      await cap2Exit;
      clearTimeout(t2);
      return writeOutputs();
    },
  };

  function writeOutputs() {
    // Audio: what baresip decoded (sndfile), as a plain 44-byte-header WAV.
    const f = decodedWav();
    const audio = f ? readWavPcm16(f) : { rate: 8000, samples: new Int16Array(0) };
    writeWav(`${out}/phone-audio.wav`, audio.samples, audio.rate);
    // Video: the VP8 the phone received, from the capture. The audio port is
    // the one that carries PCMU (PT 0); the video port the other RTP port.
    const packets = existsSync(pcap) ? readPcapUdp(pcap) : [];
    // The gateway's offer names the ports it sends from (symmetric RTP):
    // only those packets are the call's, whatever else reaches the range.
    const invite = packets.find((p) => p.dstPort === sipPort && p.payload.toString('latin1').startsWith('INVITE '));
    const sdp = invite ? invite.payload.toString('latin1') : '';
    const offered = ['audio', 'video'].map((k) => { const x = new RegExp(`m=${k} (\\d+) `).exec(sdp); return x ? Number(x[1]) : 0; });
    let rtp = packets.filter((p) => p.dstPort !== sipPort && !isRtcp(p.payload) && rtpPayloadOffset(p.payload) > 0);
    const fromGateway = rtp.filter((p) => offered.includes(p.srcPort));
    if (fromGateway.length) rtp = fromGateway;
    const byPort = new Map();
    for (const p of rtp) {
      if (!byPort.has(p.dstPort)) byPort.set(p.dstPort, []);
      byPort.get(p.dstPort).push(p);
    }
    let audioPort = 0, videoPort = 0;
    for (const [port, ps] of byPort) {
      if (ps.some((p) => (p.payload[1] & 0x7f) === 0)) audioPort = port;
    }
    for (const [port, ps] of byPort) {
      if (port !== audioPort && (!videoPort || ps.length > byPort.get(videoPort).length)) videoPort = port;
    }
    const onAudio = byPort.get(audioPort) || [];
    const audioPackets = onAudio.filter((p) => (p.payload[1] & 0x7f) === 0).length;
    // RFC 4733 events: 4-byte payloads of another type on the audio port.
    const eventPackets = onAudio.filter((p) => (p.payload[1] & 0x7f) !== 0 && p.payload.length - rtpPayloadOffset(p.payload) === 4).length;
    const frames = vp8Frames(byPort.get(videoPort) || []);
    writeIvf(`${out}/phone-video.ivf`, frames);
    const sip = packets.filter((p) => p.dstPort === sipPort).map((p) => p.payload.toString('latin1').split('\r\n')[0]);
    // The telephone-event payload type the gateway offered.
    const m = /a=rtpmap:(\d+) telephone-event\/8000/i.exec(sdp);
    const eventPt = m ? Number(m[1]) : null;
    const stats = {
      phone: 'baresip', audioPort, videoPort, audioPackets, eventPackets,
      videoPackets: (byPort.get(videoPort) || []).length, videoFrames: frames.length,
      audioSamples: audio.samples.length, marks, sipRequests: sip, gatewayPorts: offered, fromGatewayOnly: fromGateway.length > 0, eventPt,
      sentEvents: eventPt === null ? null : eventsByTshark(sentPcap, eventPt),
      receivedEvents: eventPt === null ? null : eventsByTshark(pcap, eventPt), events,
    };
    writeFileSync(`${out}/phone.json`, JSON.stringify(stats, null, 1));
    return stats;
  }
}

// The RFC 4733 events in a capture, as tshark decodes
// them with the offered payload type: one entry per event (a run of packets
// with one RTP timestamp), with its digit, whether its first packet has the
// marker bit, its end packets (E bit) and its final duration.
export function eventsByTshark(pcap, pt) {
  const r = spawnSync('tshark', ['-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-o', `rtpevent.event_payload_type_value:${pt}`,
    '-Y', 'rtpevent', '-T', 'fields', '-E', 'separator=,', '-e', 'rtp.p_type', '-e', 'rtp.marker', '-e', 'rtp.timestamp',
    '-e', 'rtpevent.event_id', '-e', 'rtpevent.end_of_event', '-e', 'rtpevent.duration'], { encoding: 'utf8' });
  if (r.status !== 0) return { error: `tshark: ${r.stderr || r.error}` };
  const digits = '0123456789*#';
  const list = [];
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [ptype, marker, ts, id, end, duration] = line.split(',');
    let e = list[list.length - 1];
    if (!e || e.timestamp !== ts) {
      e = { digit: digits[Number(id)] ?? `event ${id}`, timestamp: ts, pt: Number(ptype), marker: marker === '1' || marker === 'True',
        packets: 0, endPackets: 0, duration: 0 };
      list.push(e);
    }
    e.packets++;
    if (end === '1' || end === 'True') e.endPackets++;
    e.duration = Math.max(e.duration, Number(duration));
  }
  return list;
}
