// app.js — the sbir page: draw, pick a style, see results while drawing. Plain JS, no framework.
// Strokes are kept in Quick, Draw!'s raw form, [[x...], [y...], [t...]] in canvas pixels and
// milliseconds, and sent as they are: the server simplifies them as Google does.
'use strict';

const K = 24;               // results asked for
const DEBOUNCE_MS = 150;    // a pause this long in drawing sends a search...
const MAX_WAIT_MS = 450;    // ...and a long stroke sends one at least this often
const THUMB = 192;          // thumbnail side asked of the server
const EXAMPLE_SIDE = 256;   // dropped style images are scaled down to this before upload

const $ = (id) => document.getElementById(id);
const pad = $('pad');
const ctx = pad.getContext('2d');

const state = {
  strokes: [],          // finished strokes
  current: null,        // the stroke being drawn
  t0: 0,                // time of the first point of the drawing
  style: null,          // a style name, or null
  useExamples: false,   // the dropped images are the style
  examples: [],         // [{url: dataURL}]
  maxExamples: 16,
  seq: 0,               // search sequence number: only the latest answer is shown
  inflight: null,       // AbortController of the running request
  timer: 0,
  firstPending: 0,      // when the oldest unsent change happened
};

// ---------------------------------------------------------------- drawing

function resizePad() {
  const r = pad.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  pad.width = Math.round(r.width * dpr);
  pad.height = Math.round(r.height * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  redraw();
}

function drawStroke(s) {
  const [xs, ys] = s;
  if (!xs.length) return;
  ctx.beginPath();
  ctx.moveTo(xs[0], ys[0]);
  if (xs.length === 1) ctx.lineTo(xs[0] + 0.1, ys[0]);
  for (let i = 1; i < xs.length; i++) ctx.lineTo(xs[i], ys[i]);
  ctx.stroke();
}

function redraw() {
  const r = pad.getBoundingClientRect();
  ctx.clearRect(0, 0, r.width, r.height);
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.lineWidth = 3;
  ctx.strokeStyle = '#1d2433';
  for (const s of state.strokes) drawStroke(s);
  if (state.current) drawStroke(state.current);
  const any = state.strokes.length > 0 || state.current !== null;
  $('hint').hidden = any;
  $('undo').disabled = state.strokes.length === 0;
  $('clear').disabled = !any;
}

function point(e) {
  const r = pad.getBoundingClientRect();
  return [Math.round(e.clientX - r.left), Math.round(e.clientY - r.top)];
}

function addPoint(e) {
  const [x, y] = point(e);
  const s = state.current;
  const n = s[0].length;
  if (n && s[0][n - 1] === x && s[1][n - 1] === y) return;
  s[0].push(x);
  s[1].push(y);
  s[2].push(Math.max(0, Math.round(performance.now() - state.t0)));
}

pad.addEventListener('pointerdown', (e) => {
  if (e.pointerType === 'mouse' && e.button !== 0) return;
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  if (!state.strokes.length) state.t0 = performance.now();
  state.current = [[], [], []];
  addPoint(e);
  redraw();
  schedule();
});

pad.addEventListener('pointermove', (e) => {
  if (!state.current) return;
  e.preventDefault();
  // Coalesced events: the points a fast pen made between two frames.
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ce of (events.length ? events : [e])) addPoint(ce);
  redraw();
  schedule();
});

function endStroke(e) {
  if (!state.current) return;
  if (e && e.type === 'pointerup') addPoint(e);
  state.strokes.push(state.current);
  state.current = null;
  redraw();
  schedule(0);
}
pad.addEventListener('pointerup', endStroke);
pad.addEventListener('pointercancel', endStroke);

function undo() {
  if (!state.strokes.length) return;
  state.strokes.pop();
  redraw();
  schedule(0);
}
function clearPad() {
  state.strokes = [];
  state.current = null;
  redraw();
  schedule(0);
}
$('undo').addEventListener('click', undo);
$('clear').addEventListener('click', clearPad);
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'z') { e.preventDefault(); undo(); }
  if (e.key === 'Escape') closeLightbox();
});
window.addEventListener('resize', () => {
  // Points are in CSS pixels of the old size: keep the drawing's look by scaling them.
  const before = pad.width / (window.devicePixelRatio || 1);
  resizePad();
  const after = pad.getBoundingClientRect().width;
  if (before > 0 && Math.abs(after - before) > 1) {
    const f = after / before;
    for (const s of state.strokes) for (let a = 0; a < 2; a++) s[a] = s[a].map((v) => Math.round(v * f));
    redraw();
  }
});

// ---------------------------------------------------------------- searching

function schedule(delay) {
  const now = performance.now();
  if (!state.firstPending) state.firstPending = now;
  clearTimeout(state.timer);
  let wait = delay === undefined ? DEBOUNCE_MS : delay;
  wait = Math.min(wait, Math.max(0, MAX_WAIT_MS - (now - state.firstPending)));
  state.timer = setTimeout(search, wait);
}

function sketchStrokes() {
  const all = state.current ? state.strokes.concat([state.current]) : state.strokes;
  return all.filter((s) => s[0].length > 0);
}

async function search() {
  state.firstPending = 0;
  const strokes = sketchStrokes();
  if (state.inflight) state.inflight.abort();
  if (!strokes.length) {
    showResults([]);
    setMeta('');
    return;
  }
  const body = { strokes, k: K };
  if (state.useExamples && state.examples.length) body.style_images = state.examples.map((e) => e.url);
  else if (state.style) body.style = state.style;
  const seq = ++state.seq;
  const ac = new AbortController();
  state.inflight = ac;
  const t = performance.now();
  try {
    const res = await fetch('/api/search', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: ac.signal,
    });
    const data = await res.json();
    if (seq !== state.seq) return;
    if (res.status === 503) { schedule(300); return; }   // busy: try again shortly
    if (!res.ok) { setStatus(data.error || ('error ' + res.status), true); return; }
    showResults(data.results);
    window.__sbirLast = data; // the answer on screen (the browser tests read it)
    const ms = Math.round(performance.now() - t);
    setMeta(`${data.results.length} results · ${ms} ms`);
    setStatus(statusText);
  } catch (err) {
    if (err.name !== 'AbortError' && seq === state.seq) setStatus('Cannot reach the server', true);
  } finally {
    if (state.inflight === ac) state.inflight = null;
  }
}

function label(text, cls) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

function showResults(results) {
  const grid = $('results');
  grid.replaceChildren();
  $('empty').hidden = results.length > 0;
  for (const r of results) {
    const card = document.createElement('button');
    card.type = 'button';
    card.className = 'card';
    card.dataset.id = r.id;
    card.dataset.class = r.class;
    card.dataset.style = r.style;
    card.title = `${r.class || '?'} · ${r.style || '?'} (score ${r.score.toFixed(3)})`;
    const img = document.createElement('img');
    img.loading = 'lazy';
    img.alt = `${r.class} in ${r.style}`;
    img.src = `${r.image}?size=${THUMB}`;
    const cap = document.createElement('span');
    cap.className = 'cap';
    cap.append(label(r.class || '?', 'cls'), label(pretty(r.style || '?'), 'sty'));
    card.append(img, cap);
    card.addEventListener('click', () => openLightbox(r));
    grid.append(card);
  }
}

// ---------------------------------------------------------------- styles

function pretty(name) {
  return name.replace(/_/g, ' ').replace(/^3d/, '3D');
}

function styleCard(name, title, images) {
  const card = document.createElement('button');
  card.type = 'button';
  card.className = 'style-card';
  card.setAttribute('role', 'radio');
  card.dataset.style = name;
  const mosaic = document.createElement('span');
  mosaic.className = 'mosaic';
  for (const src of images.slice(0, 4)) {
    const img = document.createElement('img');
    img.alt = '';
    img.src = src;
    mosaic.append(img);
  }
  if (!images.length) mosaic.append(label('∗', 'any'));
  card.append(mosaic, label(title, 'name'));
  card.addEventListener('click', () => selectStyle(name));
  return card;
}

function selectStyle(name) {
  state.useExamples = name === '#examples';
  state.style = name && !state.useExamples ? name : null;
  for (const c of document.querySelectorAll('.style-card')) {
    const on = c.dataset.style === (name || '');
    c.classList.toggle('on', on);
    c.setAttribute('aria-checked', on ? 'true' : 'false');
  }
  $('drop').classList.toggle('on', state.useExamples);
  schedule(0);
}

let statusText = '';
async function loadStyles() {
  try {
    const res = await fetch('/api/styles');
    const data = await res.json();
    const box = $('styles');
    box.append(styleCard('', 'Any style', []));
    for (const s of data.styles) box.append(styleCard(s.name, pretty(s.name), s.examples.map((e) => `${e.image}?size=96`)));
    state.maxExamples = data.max_style_images || 16;
    statusText = `${data.images.toLocaleString()} images · ${data.styles.length} styles · ${data.classes.length} classes`;
    setStatus(statusText);
    selectStyle('');
  } catch (err) {
    setStatus('Cannot load the styles from the server', true);
  }
}

// ---------------------------------------------------------------- your own style examples

const drop = $('drop');
drop.addEventListener('click', (e) => { if (!e.target.closest('.x')) $('file').click(); });
drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('file').click(); } });
$('file').addEventListener('change', (e) => { addExamples(e.target.files); e.target.value = ''; });
for (const ev of ['dragenter', 'dragover']) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('hover'); });
for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('hover'));
drop.addEventListener('drop', (e) => { e.preventDefault(); addExamples(e.dataTransfer.files); });
// A file dropped anywhere else must not make the browser leave the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

// Scales an image file down so uploads stay small (the network sees a few dozen pixels anyway).
async function shrink(file) {
  const bmp = await createImageBitmap(file);
  const f = Math.min(1, EXAMPLE_SIDE / Math.max(bmp.width, bmp.height));
  const c = document.createElement('canvas');
  c.width = Math.max(1, Math.round(bmp.width * f));
  c.height = Math.max(1, Math.round(bmp.height * f));
  const g = c.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, c.width, c.height);
  g.drawImage(bmp, 0, 0, c.width, c.height);
  bmp.close && bmp.close();
  return c.toDataURL('image/png');
}

async function addExamples(files) {
  const list = [...files].filter((f) => /^image\/(png|jpeg)$/.test(f.type));
  if (!list.length) { setStatus('Drop PNG or JPEG images', true); return; }
  for (const f of list) {
    if (state.examples.length >= state.maxExamples) break;
    try { state.examples.push({ url: await shrink(f) }); } catch (err) { setStatus(`Cannot read ${f.name}`, true); }
  }
  renderExamples();
  if (state.examples.length) selectStyle('#examples');
}

function renderExamples() {
  const box = $('drop-thumbs');
  box.replaceChildren();
  state.examples.forEach((ex, i) => {
    const w = document.createElement('span');
    w.className = 'ex';
    const img = document.createElement('img');
    img.src = ex.url;
    img.alt = `style example ${i + 1}`;
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'x';
    x.title = 'Remove';
    x.textContent = '×';
    x.addEventListener('click', (e) => {
      e.stopPropagation();
      state.examples.splice(i, 1);
      renderExamples();
      if (!state.examples.length && state.useExamples) selectStyle('');
      else schedule(0);
    });
    w.append(img, x);
    box.append(w);
  });
  drop.classList.toggle('has', state.examples.length > 0);
}

// ---------------------------------------------------------------- enlarge

function openLightbox(r) {
  $('lb-img').src = r.image;
  $('lb-img').alt = `${r.class} in ${r.style}`;
  $('lb-cap').textContent = `#${r.rank} · ${r.class} · ${pretty(r.style)} · score ${r.score.toFixed(3)} · id ${r.id}`;
  $('lightbox').hidden = false;
}
function closeLightbox() { $('lightbox').hidden = true; }
$('lightbox').addEventListener('click', closeLightbox);

// ---------------------------------------------------------------- status

function setStatus(text, bad) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('bad', !!bad);
}
function setMeta(text) { $('meta').textContent = text; }

resizePad();
loadStyles();
