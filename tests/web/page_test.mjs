// Browser test of sipmixd's web page, run by tests/web/run inside its network
// namespace: two Chromium participants (fake camera and microphone) create and
// join one session and each receives the other's media; a dial without a URI
// shows the API's 400 message next to the URI field; the demo-mode token
// endpoint refuses what it must. Screenshots go to --out.
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import puppeteer from 'puppeteer-core';
import { startPhone } from './baresip_phone.mjs';

const { values: args } = parseArgs({
  options: { url: { type: 'string' }, out: { type: 'string' }, chromium: { type: 'string', default: '/usr/bin/chromium' } },
});
const BASE = args.url;
const OUT = args.out;

let failures = 0;
function check(ok, what, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail !== undefined ? ': ' + JSON.stringify(detail) : ''}`);
  if (!ok) failures++;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- fake media and the phone's recording ----
const PARTICIPANTS = {
  Alice: { name: 'alice', colour: 'red', hz: 440 },
  Bob: { name: 'bob', colour: 'blue', hz: 880 },
};
// The phone (baresip, tests/web/baresip_phone.mjs): its SIP port (and TLS on
// the next one), its ctrl_tcp port, its RTP ports, the tone it sends.
const PHONE = { sipPort: 5070, ctlPort: 5073, rtpPorts: [40000, 40099], toneHz: 1000 };
const MUTED_PROMPT = '/usr/share/asterisk/sounds/en_US_f_Allison/conf-muted.wav';

function ffmpeg(...a) {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...a], { maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
// A plain-coloured picture and 300 ms beeps once a second at the participant's pitch.
function fakeMedia(p) {
  const video = `${OUT}/${p.name}.y4m`, audio = `${OUT}/${p.name}.wav`;
  ffmpeg('-f', 'lavfi', '-i', `color=c=${p.colour}:s=320x240:r=15`, '-t', '1', '-pix_fmt', 'yuv420p', video);
  ffmpeg('-f', 'lavfi', '-i', `aevalsrc=exprs='0.25*sin(2*PI*${p.hz}*t)*lt(mod(t,1),0.3)':s=48000:d=4`,
    '-ac', '1', '-c:a', 'pcm_s16le', audio);
  return { video, audio };
}
function readWav(path) {
  const b = readFileSync(path);
  let off = 12;
  while (off + 8 <= b.length && b.toString('ascii', off, off + 4) !== 'data') off += 8 + b.readUInt32LE(off + 4);
  const rate = b.readUInt32LE(24);
  const n = Math.floor((b.length - off - 8) / 2);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = b.readInt16LE(off + 8 + 2 * i) / 32768;
  return { rate, s };
}
const dbfs = (x) => 20 * Math.log10(Math.max(x, 1e-9));
function rmsDbfs(s) {
  let e = 0;
  for (const v of s) e += v * v;
  return dbfs(Math.sqrt(e / Math.max(s.length, 1)) * Math.SQRT2);  // a full-scale sine is 0 dBFS
}
// The level of one frequency (Goertzel), as the dBFS of a sine of that amplitude.
function toneDbfs(s, hz, rate) {
  const w = 2 * Math.PI * hz / rate, c = 2 * Math.cos(w);
  let s1 = 0, s2 = 0;
  for (const v of s) { const s0 = v + c * s1 - s2; s2 = s1; s1 = s0; }
  const p = s1 * s1 + s2 * s2 - c * s1 * s2;
  return dbfs(2 * Math.sqrt(Math.max(p, 0)) / Math.max(s.length, 1));
}
// The best normalised cross-correlation of a prompt anywhere in a recording.
function bestCorrelation(rec, prompt) {
  const n = prompt.length;
  let pe = 0;
  for (const v of prompt) pe += v * v;
  let best = 0;
  for (let lag = 0; lag + n <= rec.length; lag += 2) {
    let dot = 0, re = 0;
    for (let i = 0; i < n; i++) { const r = rec[lag + i]; dot += r * prompt[i]; re += r * r; }
    if (re > 0) best = Math.max(best, dot / Math.sqrt(re * pe));
  }
  return best;
}

// --- the demo-mode token endpoint, from outside a browser ---
async function tokenEndpointChecks() {
  const url = BASE + 'web/token';
  let r = await fetch(url, { method: 'POST' });
  check(r.status === 403, 'POST /web/token without X-Sipmix-Web is refused', r.status);
  r = await fetch(url, { method: 'POST', headers: { 'X-Sipmix-Web': '1', 'Content-Type': 'application/json' }, body: '{}' });
  const tok = await r.json();
  check(r.status === 200 && typeof tok.jwt === 'string' && tok.expiresAt - Date.now() <= 300000,
    'POST /web/token gives a REST JWT valid at most 5 minutes', { status: r.status, expiresAt: tok.expiresAt });
  r = await fetch(BASE + 'session/create', { method: 'POST', headers: { 'X-OPENTOK-AUTH': tok.jwt } });
  check(r.status === 200, 'the minted JWT is accepted by POST /session/create', r.status);
  r = await fetch(BASE + 'session/create', { method: 'POST', headers: { 'X-OPENTOK-AUTH': tok.jwt.slice(0, -2) + 'xx' } });
  check(r.status === 403, 'a tampered JWT is refused', r.status);
}

// inbound-rtp figures of every remote feed the page subscribed to.
async function inbound(page) {
  return page.evaluate(async () => {
    const out = {};
    for (const feed of window.sipmix.feeds.values()) {
      const pc = feed.handle && feed.handle.webrtcStuff && feed.handle.webrtcStuff.pc;
      if (!pc) continue;
      const f = { display: feed.display, audioPackets: 0, videoPackets: 0, framesDecoded: 0, audioLevel: 0, audioEnergy: 0 };
      (await pc.getStats()).forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'audio') {
          f.audioPackets += r.packetsReceived || 0;
          f.audioLevel = Math.max(f.audioLevel, r.audioLevel || 0);
          f.audioEnergy += r.totalAudioEnergy || 0;
        } else if (r.kind === 'video') {
          f.videoPackets += r.packetsReceived || 0;
          f.framesDecoded += r.framesDecoded || 0;
        }
      });
      out[feed.id] = f;
    }
    return out;
  });
}

async function waitFor(page, fn, what, timeoutMs, ...fnArgs) {
  try {
    await page.waitForFunction(fn, { timeout: timeoutMs, polling: 200 }, ...fnArgs);
    return true;
  } catch (e) {
    check(false, what, 'timed out');
    return false;
  }
}

// Stats of the feed `id` in a page: inbound packets, frames decoded, audio level.
async function feedStats(page, id) {
  return (await inbound(page))[id] || { audioPackets: 0, videoPackets: 0, framesDecoded: 0, audioLevel: 0 };
}
// The highest inbound audio level of feed `id` in each page, sampled for ms.
async function maxLevels(pages, id, ms) {
  const m = pages.map(() => 0);
  for (let t = 0; t < ms; t += 200) {
    await sleep(200);
    for (let i = 0; i < pages.length; i++) m[i] = Math.max(m[i], (await feedStats(pages[i], id)).audioLevel);
  }
  return m;
}

// The live call: the page's dial form calls the phone with video; both
// browsers receive it; a force mute from the page, *6 from the phone, and a
// hang-up from the page, each seen where a person would see it.
async function liveCall(a, b) {
  const phone = await startPhone({ ip: '127.0.0.1', sipPort: PHONE.sipPort, ctlPort: PHONE.ctlPort, rtpPorts: PHONE.rtpPorts,
    dir: `${OUT}/phone`, out: OUT, toneHz: PHONE.toneHz, toneDbfs: -20, answer: 'manual' });
  let stopped = false;
  try {
    await a.$$eval('#headers .h-remove', (bs) => bs.forEach((x) => x.click()));
    await a.$eval('#sip-uri', (e) => { e.value = ''; });
    await a.type('#sip-uri', phone.uri);
    await a.$eval('#sip-from', (e) => { e.value = ''; });
    await a.type('#sip-from', 'frontdesk@127.0.0.1');
    for (const box of ['#sip-video', '#sip-observe']) {
      if (!await a.$eval(box, (e) => e.checked)) await a.click(box);
    }
    const dialResp = a.waitForResponse((r) => r.url().endsWith('/dial') && r.request().method() === 'POST');
    await a.click('#dial-button');
    const resp = await dialResp;
    const call = await resp.json();
    check(resp.status() === 200 && call.streamId, 'the dial form calls the phone (200 with a stream id)',
      { status: resp.status(), call });
    if (resp.status() !== 200) return;
    const sel = `#calls li.call`;
    // The phone rings (180) until it is answered: the page shows RINGING,
    // then ACTIVE once the phone picks up.
    const watchStates = (until) => a.evaluate(async (sel, until) => {
      const seen = [];
      for (let i = 0; i < 150; i++) {
        const st = document.querySelector(sel)?.dataset.state;
        if (st && seen[seen.length - 1] !== st) seen.push(st);
        if (until.includes(st)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      return seen;
    }, sel, until);
    const ringing = await Promise.race([phone.incoming.then(() => true), sleep(10000).then(() => false)]);
    check(ringing, 'the phone rings (baresip: incoming call)', ringing);
    const before = await watchStates(['RINGING', 'ACTIVE', 'HANGUP']);
    check(before[before.length - 1] === 'RINGING', 'the page shows RINGING while the phone rings', before);
    await sleep(1000);
    phone.answer();
    const states = [...before, ...(await watchStates(['ACTIVE', 'HANGUP']))].filter((st, i, all) => st !== all[i - 1]);
    check(states[states.length - 1] === 'ACTIVE' && states.includes('RINGING'), 'the page follows the call from RINGING to ACTIVE', states);

    // Both browsers subscribe to the SIP participant like any publisher.
    const hasFeed = (id) => { const f = window.sipmix.feeds.get(id); return !!(f && f.handle && f.handle.webrtcStuff && f.handle.webrtcStuff.pc); };
    await sleep(2000);  // the answer settles the video codec: the SIP participant's streams may change once
    const aSub = await waitFor(a, hasFeed, 'A subscribes to the SIP participant', 20000, call.streamId);
    const bSub = await waitFor(b, hasFeed, 'B subscribes to the SIP participant', 20000, call.streamId);
    if (!aSub || !bSub) return;
    const label = await a.evaluate((id) => window.sipmix.feeds.get(id).tile.root.querySelector('h3').textContent, call.streamId);
    check(label === 'frontdesk@127.0.0.1', "A labels the SIP participant with the dial's from", label);
    await sleep(3000);
    const s0 = [await feedStats(a, call.streamId), await feedStats(b, call.streamId)];
    const levels = await maxLevels([a, b], call.streamId, 3000);
    const s1 = [await feedStats(a, call.streamId), await feedStats(b, call.streamId)];
    for (const [i, who] of [[0, 'A'], [1, 'B']]) {
      const x0 = s0[i], x1 = s1[i];
      check(x0.audioPackets > 0 && x1.audioPackets > x0.audioPackets, `${who} receiving the phone: inbound audio packets rise`, [x0.audioPackets, x1.audioPackets]);
      check(x0.videoPackets > 0 && x1.videoPackets > x0.videoPackets, `${who} receiving the phone: inbound video packets rise`, [x0.videoPackets, x1.videoPackets]);
      check(x0.framesDecoded > 0 && x1.framesDecoded > x0.framesDecoded, `${who} receiving the phone: frames decoded rise`, [x0.framesDecoded, x1.framesDecoded]);
      check(levels[i] > 0.01, `${who} receiving the phone: audio level above zero`, levels[i]);
    }
    await a.screenshot({ path: `${OUT}/page-call.png`, fullPage: true });

    // A force mute from the page: the browsers hear about nothing, the phone
    // hears the announcement, the page shows the call force-muted.
    phone.mark('mute');
    await a.click(`${sel} button.mute`);
    await waitFor(a, (sel) => document.querySelector(sel + ' .muted-state').textContent === 'force-muted',
      'the page shows the call force-muted', 5000, sel);
    await sleep(2500);
    const mutedLevels = await maxLevels([a, b], call.streamId, 1500);
    check(mutedLevels.every((l) => l < 0.003), "after the page's force mute the phone's audio level is about zero in both browsers", mutedLevels);
    phone.mark('muted');
    await a.screenshot({ path: `${OUT}/page-call-muted.png`, fullPage: true });

    // *6 from the phone (RFC 4733) unmutes it; the page shows the change.
    phone.dtmf('*6');
    const unmuted = await waitFor(a, (sel) => document.querySelector(sel + ' .muted-state').textContent === '',
      'after *6 from the phone the page shows the call unmuted', 8000, sel);
    if (unmuted) check(true, 'after *6 from the phone the page shows the call unmuted');
    await sleep(1500);
    const backLevels = await maxLevels([a, b], call.streamId, 1500);
    check(backLevels.every((l) => l > 0.01), 'after *6 both browsers hear the phone again', backLevels);

    // *Send DTMF* from the page: the phone receives the digits as RFC 4733
    // events (judged from its capture after the call).
    await a.type(`${sel} .dtmf`, '1234#');
    const dtmfResp = a.waitForResponse((r) => r.url().endsWith('/play-dtmf'));
    await a.click(`${sel} .send-dtmf`);
    const dr = await dtmfResp;
    check(dr.status() === 200, "the page's Send DTMF is accepted (play-dtmf 200)", dr.status());
    await sleep(3000);

    // The whole session force-muted from the page, with Bob's stream excluded
    // and `active`: the call and Alice are muted, Bob is not.
    const bobId = await a.evaluate(() => String([...window.sipmix.feeds.values()].find((f) => f.display === 'Bob').id));
    const aliceId = await b.evaluate(() => String([...window.sipmix.feeds.values()].find((f) => f.display === 'Alice').id));
    await a.click(`#tiles .tile input.exclude[value="${bobId}"]`);
    const muteResp = a.waitForResponse((r) => r.url().endsWith('/mute') && r.request().method() === 'POST');
    await a.click('#session-mute-button');
    const mr = await muteResp;
    const mreq = JSON.parse(mr.request().postData() || '{}');
    check(mr.status() === 200 && mreq.active === true && JSON.stringify(mreq.excludedStreamIds) === JSON.stringify([bobId]),
      "the page's session mute sends active and the exclusion (200)", { status: mr.status(), body: mreq });
    const callMuted = await waitFor(a, (sel) => document.querySelector(sel + ' .muted-state').textContent === 'force-muted',
      "after the page's session mute the call shows force-muted", 5000, sel);
    if (callMuted) check(true, "after the page's session mute the call shows force-muted");
    const aliceMuted = await waitFor(b, (id) => window.sipmix.feeds.get(id) && window.sipmix.feeds.get(id).tile.mute.textContent === 'audio force-muted',
      "after the session mute B shows Alice's audio force-muted", 5000, aliceId);
    if (aliceMuted) check(true, "after the session mute B shows Alice's audio force-muted");
    await sleep(2000);
    const bobState = await a.evaluate((id) => { const f = [...window.sipmix.feeds.values()].find((x) => String(x.id) === id); return f.tile.mute.textContent; }, bobId);
    check(bobState === 'audio on', 'the excluded stream (Bob) stays unmuted in A', bobState);
    const sessionMutedLevels = await maxLevels([a, b], call.streamId, 1500);
    check(sessionMutedLevels.every((l) => l < 0.003), "after the session mute the phone's audio level is about zero in both browsers", sessionMutedLevels);
    const bobHeard = (await maxLevels([a], String(bobId), 2000))[0];
    check(bobHeard > 0.01, 'A still hears the excluded Bob', bobHeard);
    await a.screenshot({ path: `${OUT}/page-session-muted.png`, fullPage: true });

    // "End the session's mute": the page sends active:false and says so;
    // the session's mute state ends, and it unmutes nobody (docs/gateway.md).
    await a.click('#session-mute-form input[name=active][value=false]');
    const endResp = a.waitForResponse((r) => r.url().endsWith('/mute') && r.request().method() === 'POST');
    await a.click('#session-mute-button');
    const er = await endResp;
    const ereq = JSON.parse(er.request().postData() || '{}');
    check(er.status() === 200 && ereq.active === false, "the page's End the session's mute sends active:false (200)",
      { status: er.status(), body: ereq });
    const ended = await waitFor(a, () => document.getElementById('status').textContent === 'Session mute ended.',
      "the page says the session's mute ended", 5000);
    if (ended) check(true, "the page says the session's mute ended");
    await sleep(1000);
    const stillMuted = await a.evaluate((sel) => document.querySelector(sel + ' .muted-state').textContent, sel);
    check(stillMuted === 'force-muted', "ending the session's mute unmutes nobody: the call stays force-muted", stillMuted);

    // A hang-up from the page: the phone gets the BYE (baresip reports the
    // call closed by the peer), the page shows HANGUP, the stream leaves both
    // browsers.
    await a.click(`${sel} button.hangup`);
    const bye = await Promise.race([phone.byeSeen, sleep(10000).then(() => 'timeout')]);
    check(bye === true, 'after a hang-up from the page the phone receives the BYE (baresip: call closed by the peer)', bye);
    await waitFor(a, (sel) => document.querySelector(sel).dataset.state === 'HANGUP', 'the page shows HANGUP', 5000, sel);
    const gone = (id) => !window.sipmix.feeds.has(id) && ![...document.querySelectorAll('#tiles .tile')].some((t) => t.dataset.feed === id);
    const aGone = await waitFor(a, gone, 'the SIP stream leaves A', 10000, call.streamId);
    const bGone = await waitFor(b, gone, 'the SIP stream leaves B', 10000, call.streamId);
    if (aGone && bGone) check(true, 'the SIP stream leaves both browsers');

    await phone.stop();
    stopped = true;
    phoneChecks();
  } finally {
    if (!stopped) await phone.stop();
  }
}

// What the phone received, from its recording.
function phoneChecks() {
  const rec = JSON.parse(readFileSync(`${OUT}/phone.json`, 'utf8'));
  const { rate, s } = readWav(`${OUT}/phone-audio.wav`);
  const before = s.subarray(0, rec.marks.mute);
  const tail = before.subarray(Math.max(0, before.length - 3 * rate));
  for (const p of Object.values(PARTICIPANTS)) {
    const level = toneDbfs(tail, p.hz, rate);
    check(level > -45, `the phone hears ${p.name}'s beeps (${p.hz} Hz)`, level.toFixed(1) + ' dBFS');
  }
  // The phone's *6 went out as RFC 4733 events, as tshark reads the capture
  // of what it sent: with the payload type the gateway offered, a marked
  // first packet and end (E bit) packets for each digit.
  const sent = rec.sentEvents;
  const digits = Array.isArray(sent) ? sent.map((e) => e.digit).join('') : '';
  const wellFormed = Array.isArray(sent) && sent.every((e) => e.pt === rec.eventPt && e.marker && e.endPackets >= 1 && e.duration > 0);
  check(digits === '*6' && wellFormed, "the phone's *6 are RFC 4733 events (tshark: offered PT, marker on the first packet, E-bit ends)",
    { eventPt: rec.eventPt, sent });
  check(rec.sipRequests.some((l) => l.startsWith('BYE ')), 'the capture of what the phone received holds the BYE', rec.sipRequests);
  const got = rec.receivedEvents;
  const gotDigits = Array.isArray(got) ? got.map((e) => e.digit).join('') : '';
  check(gotDigits === '1234#' && got.every((e) => e.marker && e.endPackets >= 1),
    "the phone receives the page's DTMF 1234# as RFC 4733 events (tshark)", { got });
  const own = toneDbfs(tail, PHONE.toneHz, rate);
  check(own < -50, 'the phone does not hear itself', own.toFixed(1) + ' dBFS');
  const prompt = readWav(MUTED_PROMPT).s;
  const corr = bestCorrelation(s.subarray(rec.marks.mute, rec.marks.muted), prompt);
  check(corr > 0.3, 'the phone hears the "you are muted" announcement after the force mute', corr.toFixed(2));

  // The last picture the phone decoded (ffmpeg) holds Alice's red tile and Bob's blue one.
  const W = 160, H = 90, F = W * H * 3;
  const rgb = ffmpeg('-i', `${OUT}/phone-video.ivf`, '-fps_mode', 'passthrough', '-vf', `scale=${W}:${H}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
  check(rgb.length >= F, 'ffmpeg decodes the video the phone received', { frames: rgb.length / F, ivfFrames: rec.videoFrames });
  if (rgb.length < F) return;
  const frame = rgb.subarray(rgb.length - F);
  let red = 0, blue = 0;
  for (let i = 0; i < F; i += 3) {
    const r = frame[i], g = frame[i + 1], bl = frame[i + 2];
    red += r > 150 && g < 90 && bl < 90;
    blue += bl > 150 && r < 90 && g < 90;
  }
  check(red > W * H / 10 && blue > W * H / 10, "the phone's decoded video shows Alice's (red) and Bob's (blue) tiles",
    { redPixels: red, bluePixels: blue, of: W * H });
  spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-i', '-',
    '-frames:v', '1', `${OUT}/phone-view-small.png`], { input: frame });
  ffmpeg('-i', `${OUT}/phone-video.ivf`, '-fps_mode', 'passthrough', '-update', '1', `${OUT}/phone-view.png`);
}

async function main() {
  await tokenEndpointChecks();

  // One browser per participant, each with its own fake camera (a plain
  // colour) and microphone (beeps at its own pitch), so that what the phone
  // receives can be told apart.
  const launch = (who) => {
    const m = fakeMedia(who);
    return puppeteer.launch({
      executablePath: args.chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
        `--use-file-for-fake-video-capture=${m.video}`, `--use-file-for-fake-audio-capture=${m.audio}`,
        '--autoplay-policy=no-user-gesture-required', '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
    });
  };
  const browserA = await launch(PARTICIPANTS.Alice);
  const browserB = await launch(PARTICIPANTS.Bob);
  try {
    const a = await browserA.newPage();
    const b = await browserB.newPage();
    for (const [p, n] of [[a, 'A'], [b, 'B']]) {
      p.on('console', (m) => { if (m.type() === 'error') console.log(`[page ${n}] ${m.text()}`); });
      p.on('pageerror', (e) => console.log(`[page ${n}] ${e.message}`));
      await p.setViewport({ width: 1280, height: 1000 });
    }

    // A creates the session; B joins it by id.
    await a.goto(BASE + '?name=Alice', { waitUntil: 'load' });
    if (!await waitFor(a, () => document.body.dataset.ready === 'true', 'page A starts', 15000)) return;
    await a.click('#join-button');
    if (!await waitFor(a, () => document.querySelector('#session-id').value.length > 0, 'A creates a session', 15000)) {
      console.log('join error:', await a.$eval('#join-error', (e) => e.textContent));
      return;
    }
    const sid = await a.$eval('#session-id', (e) => e.value);
    check(/^[0-9a-f-]{36}$/.test(sid), 'POST /session/create gave the page a session id', sid);

    await b.goto(BASE + '?name=Bob&session=' + encodeURIComponent(sid), { waitUntil: 'load' });
    if (!await waitFor(b, () => document.body.dataset.ready === 'true', 'page B starts', 15000)) return;
    await b.click('#join-button');

    const seesOther = (other) => [...window.sipmix.feeds.values()].some((f) => !f.local && f.display === other &&
      f.handle && f.handle.webrtcStuff && f.handle.webrtcStuff.pc);
    const aOk = await waitFor(a, seesOther, 'A subscribes to Bob', 30000, 'Bob');
    const bOk = await waitFor(b, seesOther, 'B subscribes to Alice', 30000, 'Alice');
    if (!aOk || !bOk) {
      for (const [p, n] of [[a, 'A'], [b, 'B']]) console.log(n, 'status:', await p.$eval('#status', (e) => e.textContent));
      return;
    }

    // Media flows both ways: packets and decoded frames rise, audio is heard.
    await sleep(3000);
    const first = { a: await inbound(a), b: await inbound(b) };
    let maxLevel = { a: 0, b: 0 };
    for (let i = 0; i < 15; i++) {  // the fake microphone beeps: sample for a while
      await sleep(200);
      for (const [k, p] of [['a', a], ['b', b]]) {
        for (const f of Object.values(await inbound(p))) maxLevel[k] = Math.max(maxLevel[k], f.audioLevel);
      }
    }
    const second = { a: await inbound(a), b: await inbound(b) };
    for (const [k, other] of [['a', 'Bob'], ['b', 'Alice']]) {
      const id = Object.keys(second[k]).find((x) => second[k][x].display === other);
      const f0 = first[k][id] || {}, f1 = second[k][id] || {};
      const who = `${k.toUpperCase()} receiving ${other}`;
      check(f1.audioPackets > (f0.audioPackets || 0) && f0.audioPackets > 0, `${who}: inbound audio packets rise`,
        [f0.audioPackets, f1.audioPackets]);
      check(f1.videoPackets > (f0.videoPackets || 0) && f0.videoPackets > 0, `${who}: inbound video packets rise`,
        [f0.videoPackets, f1.videoPackets]);
      check(f1.framesDecoded > (f0.framesDecoded || 0) && f0.framesDecoded > 0, `${who}: frames decoded rise`,
        [f0.framesDecoded, f1.framesDecoded]);
      check(maxLevel[k] > 0 && f1.audioEnergy > 0, `${who}: audio level above zero`, { maxLevel: maxLevel[k], energy: f1.audioEnergy });
    }
    // The page labels each publisher and shows a level meter for it.
    const labels = await a.$$eval('#tiles .tile h3', (hs) => hs.map((h) => h.textContent));
    check(labels.includes('Bob') && labels.includes('Alice (you)'), 'A labels every publisher', labels);
    const meter = await a.$eval('#tiles .tile:not(.local) meter', (m) => m.value);
    await sleep(1000);
    const meterMax = await a.evaluate(async () => {
      let m = 0;
      for (let i = 0; i < 10; i++) {
        for (const f of window.sipmix.feeds.values()) if (!f.local) m = Math.max(m, f.tile.meter.value);
        await new Promise((r) => setTimeout(r, 200));
      }
      return m;
    });
    check(meterMax > 0, "A's level meter for Bob moves", { meter, meterMax });

    // A dial without a URI: the API's 400 message shows next to the URI field.
    const dialResp = a.waitForResponse((r) => r.url().endsWith('/dial') && r.request().method() === 'POST');
    await a.click('#dial-button');
    const resp = await dialResp;
    const apiMessage = (await resp.json()).message;
    await waitFor(a, () => document.querySelector('#err-sip-uri').textContent.length > 0, 'the URI error is shown', 5000);
    const shown = await a.$eval('#err-sip-uri', (e) => e.textContent);
    check(resp.status() === 400 && /^sip\.uri: /.test(apiMessage), 'a dial without uri answers 400 naming sip.uri',
      { status: resp.status(), apiMessage });
    check(shown === apiMessage, "the API's message is shown next to the uri field", shown);
    const invalid = await a.$eval('#sip-uri', (e) => e.getAttribute('aria-invalid'));
    const focused = await a.evaluate(() => document.activeElement && document.activeElement.id);
    check(invalid === 'true' && focused === 'sip-uri', 'the uri field is marked invalid and focused', { invalid, focused });
    await a.screenshot({ path: `${OUT}/page.png`, fullPage: true });

    // A bad header name lands next to the headers.
    await a.type('#sip-uri', 'sip:bob@127.0.0.1');
    await a.click('#add-header');
    await a.type('#headers .h-name', 'Via');
    await a.type('#headers .h-value', 'x');
    const hdrResp = a.waitForResponse((r) => r.url().endsWith('/dial'));
    await a.click('#dial-button');
    const hr = await hdrResp;
    const hmsg = (await hr.json()).message;
    await sleep(200);
    const hshown = await a.$eval('#err-sip-headers', (e) => e.textContent);
    check(hr.status() === 400 && hshown === hmsg && hshown.startsWith('sip.headers'),
      "a reserved header's 400 is shown next to the headers", { status: hr.status(), hmsg, hshown });

    // Without a call layer (/healthz 503) a valid dial answers 503, which
    // names no field: it shows under the Dial button.
    const health = await fetch(BASE + 'healthz');
    if (health.status === 503) {
      await a.$$eval('#headers .h-remove', (bs) => bs.forEach((b) => b.click()));
      const r503 = a.waitForResponse((r) => r.url().endsWith('/dial'));
      await a.click('#dial-button');
      const rr = await r503;
      const m503 = (await rr.json()).message;
      await sleep(200);
      const general = await a.$eval('#dial-error', (e) => e.textContent);
      const uriErr = await a.$eval('#err-sip-uri', (e) => e.textContent);
      check(rr.status() === 503 && general === m503 && uriErr === '',
        'an error naming no field shows under the Dial button', { status: rr.status(), m503, general });
    }

    if (health.status === 200) await liveCall(a, b);

    // Phone-sized.
    await a.setViewport({ width: 390, height: 844 });  // (isMobile would reload the page)
    await sleep(500);
    const overflow = await a.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, 'on a phone-sized screen nothing overflows sideways', overflow);
    await a.screenshot({ path: `${OUT}/page-phone.png`, fullPage: true });

    // Keyboard: Tab follows the form's order; Enter on a button activates it.
    await a.focus('#sip-uri');
    await a.keyboard.press('Tab');
    const afterUri = await a.evaluate(() => document.activeElement.id);
    check(afterUri === 'sip-from', 'Tab from the URI goes to From', afterUri);
    const rowsBefore = await a.$$eval('#headers .header-row', (r) => r.length);
    await a.focus('#add-header');
    await a.keyboard.press('Enter');
    const rowsAfter = await a.$$eval('#headers .header-row', (r) => r.length);
    const inName = await a.evaluate(() => document.activeElement.classList.contains('h-name'));
    check(rowsAfter === rowsBefore + 1 && inName, 'Enter on "Add header" adds a row and focuses its name', { rowsBefore, rowsAfter, inName });

    // Every control is a labelled button or a labelled input.
    const unlabelled = await a.evaluate(() => [...document.querySelectorAll('input, button')]
      .filter((e) => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label') &&
        !(e.tagName === 'BUTTON' && e.textContent.trim()))
      .map((e) => e.id || e.className));
    check(unlabelled.length === 0, 'every input and button has a label', unlabelled);
    const clickableDivs = await a.evaluate(() => [...document.querySelectorAll('[onclick]:not(button)')].length);
    check(clickableDivs === 0, 'controls are buttons', clickableDivs);
  } finally {
    await browserA.close();
    await browserB.close();
  }
}

main().then(() => {
  console.log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
  writeFileSync(`${OUT}/result.txt`, failures === 0 ? 'PASS\n' : 'FAIL\n');
  process.exit(failures === 0 ? 0 : 1);
}, (e) => {
  console.log('FAIL', e.stack || e);
  process.exit(1);
});
