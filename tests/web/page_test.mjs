// Browser test of sipmixd's web page, run by tests/web/run inside its network
// namespace: two Chromium participants (fake camera and microphone) create and
// join one session and each receives the other's media; a dial without a URI
// shows the API's 400 message next to the URI field; the demo-mode token
// endpoint refuses what it must. Screenshots go to --out.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

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

async function main() {
  await tokenEndpointChecks();

  const browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required', '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
  });
  try {
    const ctxA = await browser.createBrowserContext();
    const ctxB = await browser.createBrowserContext();
    const a = await ctxA.newPage();
    const b = await ctxB.newPage();
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
    await browser.close();
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
