// sipmix web page: joins a session (a Janus VideoRoom room whose id is the
// session id) with camera and microphone, shows every publisher, and drives
// sipmixd's REST API (dial, call state, hang up, force mute, DTMF).
// docs/web.md describes how it gets its credentials and what it calls.
'use strict';

const $ = (id) => document.getElementById(id);

const state = {
  config: null,          // GET /web/config.json
  projectId: '',
  jwt: '',               // REST JWT (X-OPENTOK-AUTH)
  jwtExpiresAt: 0,       // ms
  clientToken: '',       // client token for dials
  sessionId: '',
  janus: null,
  publisher: null,       // our publishing handle
  myId: null,            // our publisher id in the room
  feeds: new Map(),      // publisher id -> {id, display, handle, tile, streams, moderated: {mid: bool}}
  calls: new Map(),      // connectionId -> {id, connectionId, streamId, state, muted, li, timer}
  refreshTimer: null,
  statsTimer: null,
};
window.sipmix = state;  // for the browser tests and the curious

function setStatus(text) {
  $('status').textContent = text;
}

// ---------- REST ----------

function restHeaders(json) {
  const h = { 'X-OPENTOK-AUTH': state.jwt };
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

function readCredsFromForm() {
  state.projectId = $('project-id').value.trim();
  state.jwt = $('rest-jwt').value.trim();
  state.clientToken = $('client-token').value.trim();
}

// Demo mode: sipmixd mints a short-lived REST JWT (and a client token for the
// session) for pages on its own host. Refreshed before it expires.
async function fetchDemoToken() {
  const body = {};
  if (state.sessionId) body.sessionId = state.sessionId;
  const name = $('display').value.trim();
  if (name) body.data = 'name=' + name;
  const r = await fetch('/web/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Sipmix-Web': '1' },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(j.message || ('token: HTTP ' + r.status));
  state.projectId = j.projectId;
  state.jwt = j.jwt;
  state.jwtExpiresAt = j.expiresAt;
  if (j.clientToken) state.clientToken = j.clientToken;
  $('project-id').value = state.projectId;
  $('rest-jwt').value = state.jwt;
  $('client-token').value = state.clientToken;
  clearTimeout(state.refreshTimer);
  const inMs = Math.max(5000, state.jwtExpiresAt - Date.now() - 30000);
  state.refreshTimer = setTimeout(() => fetchDemoToken().catch((e) => setStatus('Token refresh failed: ' + e.message)), inMs);
}

async function ensureCreds() {
  if (state.config && state.config.demo) {
    if (!state.jwt || Date.now() > state.jwtExpiresAt - 20000) await fetchDemoToken();
  } else {
    readCredsFromForm();
  }
}

// Calls the REST API; returns {ok, status, body}. Never throws on HTTP errors.
async function rest(method, path, body) {
  await ensureCreds();
  const r = await fetch(path, {
    method,
    headers: restHeaders(body !== undefined),
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = { message: text }; }
  return { ok: r.ok, status: r.status, body: parsed };
}

function projectPath(rest) {
  return '/v2/project/' + encodeURIComponent(state.projectId) + rest;
}
function sessionPath(rest) {
  return projectPath('/session/' + encodeURIComponent(state.sessionId) + rest);
}

// Puts a REST error next to the field its message names ("sip.uri: ...").
// Falls back to `fallback` when no field of `form` matches.
function showFieldError(form, message, fallback) {
  const field = (message.match(/^([A-Za-z][A-Za-z0-9_.-]*): /) || [])[1] || '';
  let best = null;
  for (const el of form.querySelectorAll('[data-field]')) {
    const f = el.dataset.field;
    if (f && (field === f || field.startsWith(f + '.')) && (!best || f.length > best.dataset.field.length)) best = el;
  }
  const target = best || fallback;
  target.textContent = message;
  const input = target.id ? form.querySelector('[aria-describedby~="' + target.id + '"]') : null;
  if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
}

function clearFieldErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

// ---------- Janus ----------

function janusInit() {
  return new Promise((resolve) => Janus.init({ debug: false, dependencies: Janus.useDefaultDependencies(), callback: resolve }));
}

function janusConnect() {
  return new Promise((resolve, reject) => {
    const j = new Janus({
      server: state.config.janusUrl,
      success: () => resolve(j),
      error: (e) => reject(new Error('Janus: ' + e)),
      destroyed: () => setStatus('Left the session.'),
    });
  });
}

function attach(opts) {
  return new Promise((resolve, reject) => {
    state.janus.attach(Object.assign({
      plugin: 'janus.plugin.videoroom',
      success: resolve,
      error: (e) => reject(new Error('attach: ' + e)),
    }, opts));
  });
}

// Sends a synchronous VideoRoom request and resolves with plugindata.data.
function request(handle, message) {
  return new Promise((resolve, reject) => handle.send({ message, success: resolve, error: (e) => reject(new Error(e)) }));
}

async function joinRoom() {
  let joinedResolve, joinedReject;
  const joined = new Promise((res, rej) => { joinedResolve = res; joinedReject = rej; });
  const handle = await attach({
    onmessage: (msg, jsep) => onPublisherMessage(msg, jsep, joinedResolve, joinedReject),
    onlocaltrack: (track, on) => onLocalTrack(track, on),
    webrtcState: (up) => setStatus(up ? 'Publishing in session ' + state.sessionId : 'Media stopped'),
  });
  state.publisher = handle;
  const join = { request: 'join', room: state.sessionId, ptype: 'publisher', display: $('display').value.trim() || 'guest' };
  handle.send({ message: join });
  try {
    await joined;
  } catch (e) {
    // 426: Janus has no room for this session. A sipmixd with its call layer
    // opens the room on POST /session/create; without it the page opens one
    // with the codecs the gateway uses, so the page still works.
    if (!/426/.test(e.message)) throw e;
    const made = await request(handle, { request: 'create', room: state.sessionId, permanent: false, publishers: 16,
      audiocodec: 'opus,pcmu,pcma,g722', videocodec: 'vp8,h264' });
    if (made && made.error) throw new Error('create room: ' + made.error);
    const again = new Promise((res, rej) => { joinedResolve = res; joinedReject = rej; });
    handle.send({ message: join });
    await again;
  }
}

function onPublisherMessage(msg, jsep, joinedResolve, joinedReject) {
  if (msg.videoroom === 'joined') {
    state.myId = msg.id;
    joinedResolve();
    publish();
    for (const p of msg.publishers || []) addFeed(p);
  } else if (msg.videoroom === 'event') {
    if (msg.error) {
      if (state.myId === null) joinedReject(new Error('join: ' + msg.error_code + ' ' + msg.error));
      else setStatus('Janus: ' + msg.error);
    }
    for (const p of msg.publishers || []) addFeed(p);
    const gone = msg.leaving || msg.unpublished || msg.kicked;
    if (gone && gone !== 'ok') removeFeed(gone);
    if (msg.moderation) onModeration(msg.id, msg.mid, msg.moderation === 'muted');
  } else if (msg.videoroom === 'destroyed') {
    setStatus('The session ended.');
  }
  if (jsep) state.publisher.handleRemoteJsep({ jsep });
}

function publish() {
  state.publisher.createOffer({
    tracks: [{ type: 'audio', capture: true, recv: false }, { type: 'video', capture: true, recv: false }],
    success: (jsep) => state.publisher.send({ message: { request: 'publish', audio: true, video: true }, jsep }),
    error: (e) => setStatus('Camera/microphone: ' + (e.message || e)),
  });
}

function onLocalTrack(track, on) {
  const feed = ensureTile(state.myId, ($('display').value.trim() || 'guest') + ' (you)', true);
  if (!on) return;
  const stream = feed.tile.video.srcObject || new MediaStream();
  if (!stream.getTracks().includes(track)) stream.addTrack(track);
  if (track.kind === 'video') feed.tile.video.srcObject = stream;
}

// The streams a subscription gets: a publisher that changes them (a SIP
// caller whose video codec is settled by its answer publishes a new video
// stream and disables the first) needs a new subscription.
function streamsKey(p) {
  return (p.streams || []).filter((s) => !s.disabled).map((s) => s.mid + ':' + (s.codec || '')).join(',');
}

// One subscriber handle per remote publisher: the handle is the feed.
async function addFeed(p) {
  if (p.id === state.myId) return;
  const known = state.feeds.get(p.id);
  if (known && known.subscribing) {
    const changed = p.streams && streamsKey(p) !== known.streamsKey;
    updateFeedInfo(p);
    if (!changed) return;
    if (known.handle) known.handle.detach();
    known.handle = null;
    known.tile.video.srcObject = null;
    subscribe(known, p);
    return;
  }
  const feed = ensureTile(p.id, p.display || String(p.id), false);
  feed.subscribing = true;  // a second publishers event for it must not subscribe twice
  updateFeedInfo(p);
  subscribe(feed, p);
}

async function subscribe(feed, p) {
  const key = streamsKey(p);
  feed.streamsKey = key;
  const handle = await attach({
    onmessage: (msg, jsep) => {
      if (jsep && jsep.type === 'offer') {
        handle.createAnswer({
          jsep,
          tracks: [{ type: 'data' }],
          success: (ans) => handle.send({ message: { request: 'start', room: state.sessionId }, jsep: ans }),
          error: (e) => setStatus('Subscribe: ' + (e.message || e)),
        });
      }
    },
    onremotetrack: (track, mid, on) => {
      const stream = feed.tile.video.srcObject || new MediaStream();
      if (on) {
        if (!stream.getTracks().includes(track)) stream.addTrack(track);
      } else {
        for (const t of stream.getTracks()) if (t.id === track.id) stream.removeTrack(t);
      }
      feed.tile.video.srcObject = stream;
      feed.tile.video.play().catch(() => {});
    },
  });
  // It left, or changed its streams, meanwhile.
  if (state.feeds.get(p.id) !== feed || feed.streamsKey !== key) { handle.detach(); return; }
  feed.handle = handle;
  handle.send({ message: { request: 'join', room: state.sessionId, ptype: 'subscriber', streams: [{ feed: p.id }] } });
}

function updateFeedInfo(p) {
  const feed = state.feeds.get(p.id);
  if (!feed) return;
  feed.streams = p.streams || feed.streams || [];
  if (p.display) { feed.display = p.display; feed.tile.name.textContent = p.display; }
  for (const s of feed.streams) if (s.moderated !== undefined) feed.moderated[s.mid] = !!s.moderated;
  renderMute(feed);
}

function removeFeed(id) {
  const feed = state.feeds.get(id);
  if (!feed) return;
  if (feed.handle) feed.handle.detach();
  feed.tile.root.remove();
  state.feeds.delete(id);
}

function onModeration(id, mid, muted) {
  const feed = state.feeds.get(id);
  if (!feed) return;
  feed.moderated[mid] = muted;
  renderMute(feed);
}

// ---------- tiles ----------

function ensureTile(id, label, local) {
  if (state.feeds.has(id)) return state.feeds.get(id);
  const root = document.createElement('article');
  root.className = 'tile' + (local ? ' local' : '');
  root.dataset.feed = id;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = local;  // never play our own microphone back
  const name = document.createElement('h3');
  name.textContent = label;
  const idLine = document.createElement('p');
  idLine.className = 'hint';
  idLine.textContent = 'stream ' + id;
  const meterLabel = document.createElement('label');
  const meter = document.createElement('meter');
  meter.min = 0; meter.max = 1; meter.value = 0;
  meter.className = 'level';
  meterLabel.append('audio level ', meter);
  const mute = document.createElement('p');
  mute.className = 'mute-state';
  const controls = document.createElement('div');
  controls.className = 'buttons';
  const muteBtn = document.createElement('button');
  muteBtn.type = 'button';
  muteBtn.textContent = 'Force mute';
  muteBtn.setAttribute('aria-label', 'Force mute ' + label);
  muteBtn.addEventListener('click', () => forceMuteStream(String(id), root));
  const exLabel = document.createElement('label');
  const ex = document.createElement('input');
  ex.type = 'checkbox';
  ex.className = 'exclude';
  ex.value = String(id);
  exLabel.append(ex, ' exclude from session mute');
  controls.append(muteBtn, exLabel);
  const err = document.createElement('p');
  err.className = 'field-error';
  err.setAttribute('role', 'alert');
  root.append(video, name, idLine, meterLabel, mute, controls, err);
  $('tiles').append(root);
  const feed = { id, display: label, handle: null, streams: [], moderated: {}, local,
    tile: { root, video, name, meter, mute, err } };
  state.feeds.set(id, feed);
  renderMute(feed);
  return feed;
}

function renderMute(feed) {
  const audio = (feed.streams || []).find((s) => s.type === 'audio');
  const mid = audio ? audio.mid : '0';
  const muted = !!feed.moderated[mid];
  feed.tile.mute.textContent = muted ? 'audio force-muted' : 'audio on';
  feed.tile.root.classList.toggle('muted', muted);
}

// Audio levels from getStats: inbound-rtp for remote feeds, media-source for ours.
async function updateLevels() {
  for (const feed of state.feeds.values()) {
    const h = feed.local ? state.publisher : feed.handle;
    const pc = h && h.webrtcStuff && h.webrtcStuff.pc;
    if (!pc) continue;
    try {
      const stats = await pc.getStats();
      let level = 0;
      stats.forEach((r) => {
        if (r.kind === 'audio' && (r.type === 'inbound-rtp' || r.type === 'media-source') && r.audioLevel !== undefined) {
          level = Math.max(level, r.audioLevel);
        }
      });
      feed.tile.meter.value = level;
      feed.level = level;
    } catch (e) { /* the connection is closing */ }
  }
}

// ---------- session ----------

async function onJoin(ev) {
  ev.preventDefault();
  const form = $('join-form');
  clearFieldErrors(form);
  $('join-button').disabled = true;
  try {
    state.sessionId = $('session-id').value.trim();
    await ensureCreds();
    if (!state.sessionId) {
      setStatus('Creating a session…');
      const r = await rest('POST', '/session/create', {});
      if (!r.ok) throw new Error(r.body && r.body.message ? r.body.message : 'HTTP ' + r.status);
      state.sessionId = r.body[0].session_id;
      $('session-id').value = state.sessionId;
    }
    if (state.config.demo) await fetchDemoToken();  // a client token for this session
    const link = location.origin + location.pathname + '?session=' + encodeURIComponent(state.sessionId);
    $('session-link').textContent = 'Others join with ' + link;
    setStatus('Joining session ' + state.sessionId + '…');
    state.janus = await janusConnect();
    await joinRoom();
    $('leave-button').disabled = false;
    state.statsTimer = setInterval(updateLevels, 500);
  } catch (e) {
    $('join-error').textContent = e.message;
    setStatus('Not joined.');
    $('join-button').disabled = false;
  }
}

function onLeave() {
  clearInterval(state.statsTimer);
  for (const id of [...state.feeds.keys()]) removeFeed(id);
  if (state.janus) state.janus.destroy();
  state.janus = null;
  state.publisher = null;
  state.myId = null;
  $('leave-button').disabled = true;
  $('join-button').disabled = false;
}

async function forceMuteStream(streamId, root) {
  const err = root.querySelector('.field-error');
  err.textContent = '';
  const r = await rest('POST', sessionPath('/stream/' + encodeURIComponent(streamId) + '/mute'));
  if (!r.ok) err.textContent = r.body ? r.body.message : 'HTTP ' + r.status;
}

async function onSessionMute(ev) {
  ev.preventDefault();
  const form = $('session-mute-form');
  clearFieldErrors(form);
  const active = form.querySelector('input[name=active]:checked').value === 'true';
  const excluded = [...document.querySelectorAll('input.exclude:checked')].map((c) => c.value);
  const body = { active };
  if (excluded.length) body.excludedStreamIds = excluded;
  const r = await rest('POST', sessionPath('/mute'), body);
  if (!r.ok) showFieldError(form, r.body ? r.body.message : 'HTTP ' + r.status, form.querySelector('[data-field="active"]'));
  else setStatus(active ? 'Session force-muted.' : 'Session mute ended.');
}

// ---------- dial ----------

function addHeaderRow(name, value) {
  const n = $('headers').children.length + 1;
  const row = document.createElement('div');
  row.className = 'header-row';
  row.innerHTML = '<label>Name <input class="h-name" spellcheck="false"></label>' +
    '<label>Value <input class="h-value" spellcheck="false"></label>' +
    '<button type="button" class="h-remove">Remove</button>';
  row.querySelector('.h-name').value = name || '';
  row.querySelector('.h-value').value = value || '';
  row.querySelector('.h-remove').setAttribute('aria-label', 'Remove header ' + n);
  row.querySelector('.h-remove').addEventListener('click', () => { row.remove(); $('add-header').focus(); });
  $('headers').append(row);
  row.querySelector('.h-name').focus();
}

function dialBody() {
  const sip = {};
  const uri = $('sip-uri').value.trim();
  if (uri) sip.uri = uri;  // left out when empty: the API says what is missing
  const from = $('sip-from').value.trim();
  if (from) sip.from = from;
  const rows = [...document.querySelectorAll('#headers .header-row')];
  if (rows.length) {
    sip.headers = {};
    for (const r of rows) {
      const k = r.querySelector('.h-name').value.trim();
      if (k) sip.headers[k] = r.querySelector('.h-value').value;
    }
  }
  const user = $('auth-username').value;
  const pass = $('auth-password').value;
  if (user || pass) sip.auth = { username: user, password: pass };
  sip.secure = $('sip-secure').checked;
  sip.video = $('sip-video').checked;
  sip.observeForceMute = $('sip-observe').checked;
  const streams = $('sip-streams').value.split(',').map((s) => s.trim()).filter(Boolean);
  if (streams.length) sip.streams = streams;
  return { sessionId: state.sessionId, token: state.clientToken, sip };
}

async function onDial(ev) {
  ev.preventDefault();
  const form = $('dial-form');
  clearFieldErrors(form);
  if (!state.sessionId) { $('dial-error').textContent = 'Join a session first.'; return; }
  $('dial-button').disabled = true;
  try {
    const r = await rest('POST', projectPath('/dial'), dialBody());
    if (!r.ok) {
      showFieldError(form, r.body && r.body.message ? r.body.message : 'HTTP ' + r.status, $('dial-error'));
      return;
    }
    addCall(r.body);
  } catch (e) {
    $('dial-error').textContent = e.message;
  } finally {
    $('dial-button').disabled = false;
  }
}

function addCall(c) {
  const li = document.createElement('li');
  li.className = 'call';
  li.innerHTML = '<p><strong class="uri"></strong> <span class="state" aria-live="polite">DIALING</span>' +
    ' <span class="muted-state"></span></p><p class="hint ids"></p>' +
    '<div class="buttons"><button type="button" class="hangup">Hang up</button>' +
    '<button type="button" class="mute">Force mute</button>' +
    '<label>DTMF <input class="dtmf" inputmode="tel" size="8" spellcheck="false"></label>' +
    '<button type="button" class="send-dtmf">Send DTMF</button></div>' +
    '<p class="field-error" role="alert"></p>';
  li.querySelector('.uri').textContent = $('sip-uri').value.trim();
  li.querySelector('.ids').textContent = 'connection ' + c.connectionId + ' · stream ' + c.streamId;
  const call = Object.assign({ state: 'DIALING', li }, c);
  state.calls.set(c.connectionId, call);
  const err = li.querySelector('.field-error');
  const show = (r) => { err.textContent = r.ok ? '' : (r.body ? r.body.message : 'HTTP ' + r.status); };
  li.querySelector('.hangup').addEventListener('click', async () =>
    show(await rest('DELETE', sessionPath('/connection/' + encodeURIComponent(c.connectionId)))));
  li.querySelector('.mute').addEventListener('click', async () =>
    show(await rest('POST', sessionPath('/stream/' + encodeURIComponent(c.streamId) + '/mute'))));
  li.querySelector('.send-dtmf').addEventListener('click', async () =>
    show(await rest('POST', sessionPath('/connection/' + encodeURIComponent(c.connectionId) + '/play-dtmf'),
      { digits: li.querySelector('.dtmf').value.trim() })));
  $('calls').prepend(li);
  pollCall(call);
}

// The call's state, polled once a second until HANGUP.
async function pollCall(call) {
  const r = await rest('GET', sessionPath('/connection/' + encodeURIComponent(call.connectionId)));
  if (r.ok) {
    call.state = r.body.state;
    call.muted = r.body.muted;
  } else if (r.status === 404) {
    call.state = 'HANGUP';
  }
  call.li.querySelector('.state').textContent = call.state;
  call.li.querySelector('.muted-state').textContent = call.muted ? 'force-muted' : '';
  call.li.dataset.state = call.state;
  if (call.state === 'HANGUP') {
    for (const b of call.li.querySelectorAll('button')) b.disabled = true;
    return;
  }
  call.timer = setTimeout(() => pollCall(call), 1000);
}

// ---------- start ----------

async function main() {
  $('join-form').addEventListener('submit', onJoin);
  $('leave-button').addEventListener('click', onLeave);
  $('dial-form').addEventListener('submit', onDial);
  $('session-mute-form').addEventListener('submit', onSessionMute);
  $('add-header').addEventListener('click', () => addHeaderRow());
  const q = new URLSearchParams(location.search);
  if (q.get('session')) $('session-id').value = q.get('session');
  if (q.get('name')) $('display').value = q.get('name');
  try {
    const r = await fetch('/web/config.json');
    state.config = await r.json();
    if (state.config.demo) {
      $('creds-hint').textContent = 'Demo mode: sipmixd gives this page short-lived credentials for project ' +
        state.config.projectId + '.';
    } else {
      $('creds').open = true;
      $('creds-hint').textContent = 'Paste a project id, a REST JWT (sipmixd jwt) and a client token (sipmixd token).';
    }
    await janusInit();
    setStatus('Ready.');
    document.body.dataset.ready = 'true';
  } catch (e) {
    setStatus('Cannot start: ' + e.message);
  }
}

main();
