// The live demo (tools/demo-live, docs/web.md): starts Janus (plain RTP on
// 127.0.0.1, no browsers), sipmixd bridged to it and a local SIP phone
// (baresip, tests/web/baresip_phone.mjs: auto-answers, records what it
// decodes; its received video comes from a capture); publishes generated
// participants (labelled video, distinct voices) into a new session as Janus
// remote publishers; dials the phone with video; the phone presses *6 twice,
// the session's moderator force-mutes it over REST, the phone's *6 unmutes
// it, DTMF is played to it, and the call is hung up. Everything the phone
// received and everything sipmixd reported goes to --out.
//
//   node tools/demo_live.mjs --sipmixd build/gateway/sipmixd [--out DIR] [--keep-running]
import { parseArgs } from 'node:util';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startPhone } from '../tests/web/baresip_phone.mjs';

const { values: args } = parseArgs({
  options: {
    sipmixd: { type: 'string' },
    out: { type: 'string', default: 'sipmix-demo/live' },
    'keep-running': { type: 'boolean', default: false },
  },
});
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SIPMIXD = resolve(args.sipmixd);
const OUT = resolve(args.out);
const PROJECT = 'demo';
const SECRET = randomBytes(24).toString('hex');
const SOUNDS = '/usr/share/asterisk/sounds/en_US_f_Allison';
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';
// The generated participants: a label and colour for the picture, a prompt
// looped at its own pitch for the voice.
const PARTICIPANTS = [
  { id: 'ada', label: 'Ada', colour: '0xb03a2e', prompt: 'conf-onlyperson', pitch: 1.0 },
  { id: 'grace', label: 'Grace', colour: '0x1f618d', prompt: 'conf-thereare', pitch: 1.25 },
  { id: 'linus', label: 'Linus', colour: '0x1e8449', prompt: 'conf-getpin', pitch: 0.8 },
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const T0 = Date.now();
const t = () => (Date.now() - T0) / 1000;
const procs = [];
function log(msg) { console.log(`[demo ${t().toFixed(1).padStart(5)} s] ${msg}`); }
function start(cmd, argv, logName, opts = {}) {
  const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (logName) {
    p.stdout?.on('data', (d) => appendFileSync(`${OUT}/logs/${logName}`, d));
    p.stderr?.on('data', (d) => appendFileSync(`${OUT}/logs/${logName}`, d));
  }
  procs.push(p);
  return p;
}
let phoneToKill = null;
function stopAll() {
  if (phoneToKill) phoneToKill.kill();
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  setTimeout(() => { for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); }, 3000).unref();
}
async function tcpFree(p) {
  const s = createNetServer();
  try {
    await new Promise((res, rej) => { s.once('error', rej); s.listen(p, '127.0.0.1', res); });
    await new Promise((r) => s.close(r));
    return true;
  } catch { return false; }
}
// A port free for both UDP and TCP (baresip's SIP listens on both).
async function freeBothPort() {
  for (let i = 0; i < 50; i++) {
    const p = await freePort('udp');
    if (await tcpFree(p)) return p;
  }
  throw new Error('no port free for both UDP and TCP');
}
async function freePort(kind = 'tcp') {
  if (kind === 'udp') {
    const s = createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    const p = s.address().port;
    s.close();
    return p;
  }
  const s = createNetServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}
function ffmpeg(...a) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...a], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// ---- events: callbacks, call states, actions; all as JSON lines ----
const events = [];
function event(kind, data) {
  const e = { t: Number(t().toFixed(3)), kind, ...data };
  events.push(e);
  appendFileSync(`${OUT}/events.jsonl`, JSON.stringify(e) + '\n');
}

async function janusConfig(dir, httpPort) {
  const plugins = (await findDir('/usr/lib', 'janus/plugins/libjanus_videoroom.so'));
  if (!plugins) throw new Error('no Janus VideoRoom plugin (apt-get install janus)');
  const lib = dirname(plugins);
  const allBut = (d, keep) => readdirSync(`${lib}/${d}`).filter((f) => f.endsWith('.so') && f !== keep).join(',');
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/janus.jcfg`, `general: {
  configs_folder = "${dir}"
  plugins_folder = "${lib}/plugins"
  transports_folder = "${lib}/transports"
  events_folder = "${lib}/events"
  loggers_folder = "${lib}/loggers"
  debug_level = 4
  session_timeout = 60
}
nat: { ignore_mdns = true }
plugins: { disable = "${allBut('plugins', 'libjanus_videoroom.so')}" }
transports: { disable = "${allBut('transports', 'libjanus_http.so')}" }
loggers: { disable = "${allBut('loggers', '')}" }
events: { broadcast = false }
`);
  writeFileSync(`${dir}/janus.transport.http.jcfg`, `general: { json = "compact", base_path = "/janus", http = true, port = ${httpPort}, ip = "127.0.0.1", https = false }
admin: { admin_http = false, admin_https = false }
`);
  writeFileSync(`${dir}/janus.plugin.videoroom.jcfg`, 'general: { string_ids = true }\n');
}
async function findDir(root, tail) {
  const r = spawnSync('find', [root, '-path', `*/${tail}`, '-print', '-quit']);
  const p = r.stdout.toString().trim();
  return p ? dirname(p) : null;
}
async function waitHttp(url, what) {
  for (let i = 0; i < 100; i++) {
    try { const r = await fetch(url); if (r.status < 500) return; } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`${what} did not come up (${url}; see ${OUT}/logs)`);
}

// ---- Janus: one session holding every generated participant ----
class Janus {
  constructor(url) { this.url = url; this.tx = 0; }
  async post(path, body) {
    const r = await fetch(this.url + path, { method: 'POST', body: JSON.stringify({ transaction: 'd' + (++this.tx), ...body }) });
    const j = await r.json();
    if (j.janus === 'error') throw new Error(`Janus: ${j.error.code} ${j.error.reason}`);
    return j;
  }
  async open() {
    this.sid = (await this.post('', { janus: 'create' })).data.id;
    this.hid = (await this.post(`/${this.sid}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).data.id;
    this.keepalive = setInterval(() => this.post(`/${this.sid}`, { janus: 'keepalive' }).catch(() => {}), 20000);
  }
  async request(body) {
    const j = await this.post(`/${this.sid}/${this.hid}`, { janus: 'message', body });
    const d = j.plugindata && j.plugindata.data;
    if (!d || d.error) throw new Error(`Janus ${body.request}: ${d ? d.error : JSON.stringify(j)}`);
    return d;
  }
  close() { clearInterval(this.keepalive); }
}

// A participant: a Janus remote publisher fed by ffmpeg (Opus SSRC 1000 PT 111,
// VP8 SSRC 1010 PT 96, both to its one port).
async function publish(janus, room, p) {
  const rp = await janus.request({ request: 'add_remote_publisher', room, id: p.id, display: p.label,
    streams: [{ type: 'audio', mindex: 0, mid: '0', codec: 'opus' }, { type: 'video', mindex: 1, mid: '1', codec: 'vp8' }] });
  const port = rp.port;
  const voice = `${SOUNDS}/${p.prompt}.wav`;
  const text = `drawtext=fontfile=${FONT}:text=${p.label}:fontsize=56:fontcolor=white:x=(w-text_w)/2:y=(h-text_h)/2`;
  const video = existsSync(FONT) ? `color=c=${p.colour}:s=320x240:r=15,${text}` : `color=c=${p.colour}:s=320x240:r=15`;
  start('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', voice, '-re', '-f', 'lavfi', '-i', video,
    '-map', '0:a', '-af', `asetrate=8000*${p.pitch},aresample=48000`, '-ac', '1', '-c:a', 'libopus', '-b:a', '32k',
    '-payload_type', '111', '-ssrc', '1000', '-f', 'rtp', `rtp://127.0.0.1:${port}`,
    '-map', '1:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-g', '15',
    '-payload_type', '96', '-ssrc', '1010', '-f', 'rtp', `rtp://127.0.0.1:${port}?pkt_size=1200`], `publisher-${p.id}.log`);
  log(`participant ${p.label} publishes (voice ${p.prompt} x${p.pitch}, Janus port ${port})`);
}

async function main() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(`${OUT}/logs`, { recursive: true });
  if (!existsSync(SIPMIXD)) throw new Error(`no sipmixd at ${SIPMIXD}`);

  // Callbacks receiver.
  const cb = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      try {
        const j = JSON.parse(body);
        for (const e of Array.isArray(j) ? j : [j]) event('callback', { callback: e });
      } catch { event('callback', { raw: body }); }
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => cb.listen(0, '127.0.0.1', r));
  const cbPort = cb.address().port;

  const janusPort = await freePort();
  await janusConfig(`${OUT}/logs/janus-conf`, janusPort);
  start('janus', ['-C', `${OUT}/logs/janus-conf/janus.jcfg`, '-F', `${OUT}/logs/janus-conf`, '-o'], 'janus.log');
  const janusUrl = `http://127.0.0.1:${janusPort}/janus`;
  await waitHttp(`${janusUrl}/info`, 'Janus');
  log(`Janus at ${janusUrl}`);

  const httpPort = await freePort();
  const sipPort = await freePort('udp');
  const rtpBase = 30000 + 2 * Math.floor(Math.random() * 4000);
  const base = `http://127.0.0.1:${httpPort}`;
  start(SIPMIXD, ['--http', `127.0.0.1:${httpPort}`, '--sip', `127.0.0.1:${sipPort}`, '--rtp-ports', `${rtpBase}-${rtpBase + 99}`,
    '--janus', janusUrl, '--project', `${PROJECT}:${SECRET}`, '--web-demo-project', PROJECT,
    '--web-root', `${SRC}/gateway/web`, '--callback-url', `http://127.0.0.1:${cbPort}/cb`], 'sipmixd.log');
  await waitHttp(`${base}/healthz`, 'sipmixd');
  log(`sipmixd at ${base}`);

  let jwtValue = '', jwtAt = 0;
  const jwt = () => {  // a REST JWT lives 5 minutes at most: a new one every 2
    if (Date.now() - jwtAt > 120000) {
      jwtValue = spawnSync(SIPMIXD, ['jwt', '--project', `${PROJECT}:${SECRET}`, '--ttl', '300']).stdout.toString().trim();
      jwtAt = Date.now();
    }
    return jwtValue;
  };
  const rest = async (method, path, body) => {
    const r = await fetch(base + path, { method, headers: { 'X-OPENTOK-AUTH': jwt(), 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let j = null;
    try { j = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, body: j, text };
  };

  const created = await rest('POST', '/session/create');
  if (created.status !== 200) throw new Error(`POST /session/create: ${created.status} ${created.text}`);
  const sid = created.body[0].session_id;
  event('session', { sessionId: sid });
  log(`session ${sid}`);

  const janus = new Janus(janusUrl);
  await janus.open();
  for (const p of PARTICIPANTS) await publish(janus, sid, p);

  // The phone: baresip on its own SIP port (TLS takes the next one), a
  // ctrl_tcp port, and 100 RTP ports the capture watches.
  let phoneSip = 0;
  for (let i = 0; i < 50 && !phoneSip; i++) {
    const p = await freeBothPort();
    if (await tcpFree(p + 1)) phoneSip = p;
  }
  if (!phoneSip) throw new Error('no free SIP port pair for the phone');
  const rtpMin = 40000 + 100 * Math.floor(Math.random() * 100);
  const phone = await startPhone({ ip: '127.0.0.1', sipPort: phoneSip, ctlPort: await freePort(),
    rtpPorts: [rtpMin, rtpMin + 99], dir: `${OUT}/logs/phone`, out: OUT, toneHz: 600, toneDbfs: -26 });
  phoneToKill = phone;
  log(`the phone (baresip) listens at ${phone.uri}`);

  // Let the participants' media settle, then dial the phone with video.
  await sleep(2000);
  const token = spawnSync(SIPMIXD, ['token', '--project', `${PROJECT}:${SECRET}`, '--session', sid, '--data', 'name=Front desk'])
    .stdout.toString().trim();
  const dial = await rest('POST', `/v2/project/${PROJECT}/dial`, { sessionId: sid, token,
    sip: { uri: phone.uri, from: 'demo@127.0.0.1', video: true, observeForceMute: true } });
  if (dial.status !== 200) throw new Error(`dial: ${dial.status} ${dial.text}`);
  const call = dial.body;
  event('action', { action: 'dial', status: dial.status, call });
  log(`dialled the phone: connection ${call.connectionId}`);
  const connPath = `/v2/project/${PROJECT}/session/${sid}/connection/${call.connectionId}`;

  // Call state and mute flag, polled.
  let last = '', lastConn = null;
  const poll = setInterval(async () => {
    const r = await rest('GET', connPath).catch(() => null);
    if (!r) return;
    const st = r.status === 404 ? 'HANGUP' : r.body && r.body.state;
    const key = `${st}/${r.body && r.body.muted}`;
    if (r.status === 200) lastConn = r.body;
    if (key !== last) { last = key; event('state', { state: st, muted: r.body ? !!r.body.muted : false }); }
  }, 200);
  for (let i = 0; i < 100 && !last.startsWith('ACTIVE'); i++) await sleep(100);
  if (!last.startsWith('ACTIVE')) throw new Error(`the call did not become ACTIVE (${last}); see ${OUT}/logs`);
  log('call ACTIVE');

  const act = async (what, fn) => { const r = await fn(); event('action', { action: what, ...(r || {}) }); log(what); };
  await sleep(5000);
  await act('phone presses *6 (mutes itself)', () => { phone.dtmf('*6'); return { digits: '*6', from: 'phone' }; });
  await sleep(4000);
  await act('phone presses *6 (unmutes itself)', () => { phone.dtmf('*6'); return { digits: '*6', from: 'phone' }; });
  await sleep(4000);
  await act('REST force mute of the phone', async () => {
    const r = await rest('POST', `/v2/project/${PROJECT}/session/${sid}/stream/${call.streamId}/mute`, {});
    return { status: r.status };
  });
  await sleep(4000);
  await act('phone presses *6 (ends the force mute)', () => { phone.dtmf('*6'); return { digits: '*6', from: 'phone' }; });
  await sleep(4000);
  await act('REST play-dtmf 1234# to the phone', async () => {
    const r = await rest('POST', `${connPath}/play-dtmf`, { digits: '1234#' });
    return { status: r.status, digits: '1234#', to: 'phone' };
  });
  await sleep(3000);
  const metrics = await fetch(`${base}/metrics`).then((r) => r.text()).catch(() => '');
  const beforeHangup = lastConn;
  await act('REST hang-up', async () => ({ status: (await rest('DELETE', connPath)).status }));
  const bye = await Promise.race([phone.byeSeen, sleep(10000).then(() => 'timeout')]);
  const closed = phone.events.find((e) => e.type === 'CALL_CLOSED');
  event('phone', { sawBye: bye === true, closed: closed ? closed.param : null });
  await sleep(1500);
  clearInterval(poll);

  // ---- outputs ----
  const phoneStats = await phone.stop();
  ffmpeg('-i', `${OUT}/phone-audio.wav`, '-i', `${OUT}/phone-video.ivf`, '-map', '0:a', '-map', '1:v',
    '-c:a', 'pcm_s16le', '-c:v', 'copy', `${OUT}/phone.mkv`);
  const frames = phoneStats.videoFrames;
  const step = Math.max(1, Math.floor(frames / 12));
  ffmpeg('-i', `${OUT}/phone-video.ivf`, '-fps_mode', 'passthrough', '-vf',
    `select='not(mod(n\\,${step}))',scale=320:180,tile=4x3:padding=4:color=white`, '-frames:v', '1', `${OUT}/contact-sheet.png`);
  timeline(`${OUT}/timeline`);
  writeFileSync(`${OUT}/stats.json`, JSON.stringify({ session: sid, call, connection: beforeHangup, phone: phoneStats,
    sawBye: bye === true, metrics: metrics.split('\n').filter((l) => l && !l.startsWith('#')) }, null, 1));

  console.log(`
The live demo's outputs are in ${OUT}/:
  phone.mkv          what the phone received (audio and video), play it
  phone.pcap         the phone's received RTP (tshark -r ${OUT}/phone.pcap)
  contact-sheet.png  the phone's received video, decoded
  timeline.png       the phone's received level, call states, mute state, digits
  events.jsonl       sipmixd's callbacks, the call's states and the demo's actions
  stats.json         the call, the phone's counters, sipmixd's /metrics
  logs/              Janus, sipmixd, the participants' encoders; phone.log is baresip's`);

  if (args['keep-running']) {
    console.log(`
The stack stays up (Ctrl-C to stop). The page: ${base}/?session=${sid}
Janus listens on 127.0.0.1 only: a browser on this host can use the page and
its REST calls, but its media needs Janus on a non-loopback address
(docs/web.md, "Janus reachability").`);
    await new Promise((r) => process.on('SIGINT', r));
  }
  janus.close();
  cb.close();
}

// The timeline: the phone's received level (dBFS per 100 ms), the call's
// states and mute flag, and the digits, as SVG, rendered to PNG by ffmpeg.
function timeline(base) {
  const b = readFileSync(`${OUT}/phone-audio.wav`);
  const n = (b.length - 44) / 2, win = 800;
  const levels = [];
  for (let i = 0; i + win <= n; i += win) {
    let e = 0;
    for (let k = 0; k < win; k++) { const v = b.readInt16LE(44 + 2 * (i + k)) / 32768; e += v * v; }
    levels.push(Math.max(-70, 10 * Math.log10(e / win + 1e-12) + 3));
  }
  // The phone's audio starts with the call: align it to the first state.
  const t0 = (events.find((e) => e.kind === 'state') || { t: 0 }).t;
  const tEnd = events[events.length - 1].t + 1;
  const W = 1200, H = 420, L = 60, R = 130, x = (tt) => L + (tt - t0) / (tEnd - t0) * (W - L - R);
  const y = (db) => 40 + (-db / 70) * 180;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${L}" y="24" font-size="16" font-weight="bold">sipmix live demo: what the phone heard, and the call</text>
<text x="8" y="${y(0) + 4}">0 dB</text><text x="8" y="${y(-60) + 4}">-60</text>
<line x1="${L}" y1="${y(-60)}" x2="${W - R}" y2="${y(-60)}" stroke="#ccc"/>
<polyline fill="none" stroke="#1f618d" stroke-width="1.5" points="${levels.map((d, i) => `${x(t0 + i * 0.1).toFixed(1)},${y(d).toFixed(1)}`).join(' ')}"/>
`;
  const states = events.filter((e) => e.kind === 'state');
  const colours = { DIALING: '#aaa', RINGING: '#f5b041', ACTIVE: '#58d68d', ON_HOLD: '#85c1e9', HANGUP: '#e74c3c' };
  states.forEach((s, i) => {
    const x1 = x(s.t), x2 = x(i + 1 < states.length ? states[i + 1].t : tEnd);
    svg += `<rect x="${x1}" y="240" width="${Math.max(1, x2 - x1)}" height="24" fill="${colours[s.state] || '#ddd'}"/>`;
    svg += `<text x="${x1 + 3}" y="256">${s.state}</text>`;
    if (s.muted) svg += `<rect x="${x1}" y="270" width="${Math.max(1, x2 - x1)}" height="24" fill="#c0392b"/><text x="${x1 + 3}" y="286" fill="white">muted</text>`;
  });
  svg += `<text x="8" y="256">state</text><text x="8" y="286">mute</text><text x="8" y="320">actions</text>`;
  events.filter((e) => e.kind === 'action' || (e.kind === 'callback' && e.callback && e.callback.event === 'muteForced')).forEach((e, i) => {
    const xx = x(e.t);
    const label = e.kind === 'action' ? e.action : `callback muteForced ${e.callback.muted}`;
    svg += `<line x1="${xx}" y1="40" x2="${xx}" y2="${310 + (i % 5) * 20}" stroke="#555" stroke-dasharray="3,3"/>`;
    svg += `<text x="${xx + 3}" y="${320 + (i % 5) * 20}">${label.replace(/[<&>]/g, '')}</text>`;
  });
  for (let s = Math.ceil(t0); s <= tEnd; s += 5) svg += `<text x="${x(s)}" y="232" fill="#888">${Math.round(s - t0)} s</text>`;
  svg += '</svg>\n';
  writeFileSync(`${base}.svg`, svg);
  ffmpeg('-i', `${base}.svg`, `${base}.png`);
}

process.on('SIGTERM', () => { stopAll(); process.exit(1); });
main().then(() => { stopAll(); setTimeout(() => process.exit(0), 500); }, (e) => {
  console.error(`demo-live: ${e.stack || e.message}`);
  stopAll();
  setTimeout(() => process.exit(1), 500);
});
