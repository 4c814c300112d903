// search_test.js — the sbir page in headless Chromium (Playwright): draw a sketch stroke by stroke,
// pick a style, check that results of the right class and style appear, enlarge one, undo, clear,
// use dropped example images as the style, and draw with a finger on a phone-sized screen.
// Screenshots go to $SBIR_SHOTS. Run by tests/test_browser.c, which starts the server on a
// loopback port with the fixture of tests/browser/fixture.h and passes:
//   SBIR_URL (http://127.0.0.1:PORT/), SBIR_FIXTURE (query.json: strokes, class, style),
//   SBIR_SHOTS (a folder), SBIR_CHROMIUM (default /usr/bin/chromium).
// Prints "ok - ..." / "not ok - ..." per check and "browser: N passed, N failed"; exit 0 iff all pass.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const URL = process.env.SBIR_URL;
const fixture = JSON.parse(fs.readFileSync(process.env.SBIR_FIXTURE, 'utf8'));
const SHOTS = process.env.SBIR_SHOTS || '.';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];
const EXAMPLE_STYLE = 'sepia'; // the look of the images the test drops as its own style

let passed = 0, failed = 0;
function check(cond, msg) {
  if (cond) passed++; else failed++;
  console.log(`${cond ? 'ok' : 'not ok'} - ${msg}`);
}

const isSearch = (r) => r.url().endsWith('/api/search') && r.request().method() === 'POST';

// Draws strokes given on Quick, Draw!'s 0..255 canvas into the page's canvas, one by one.
async function drawMouse(page, strokes) {
  const box = await page.locator('#pad').boundingBox();
  const at = (x, y) => [box.x + box.width * (0.1 + 0.8 * x / 255), box.y + box.height * (0.1 + 0.8 * y / 255)];
  for (const [xs, ys] of strokes) {
    await page.mouse.move(...at(xs[0], ys[0]));
    await page.mouse.down();
    for (let i = 1; i < xs.length; i++) await page.mouse.move(...at(xs[i], ys[i]), { steps: 6 });
    await page.mouse.up();
    await page.waitForTimeout(250);
  }
}

async function drawTouch(page, strokes) {
  const cdp = await page.context().newCDPSession(page);
  const box = await page.locator('#pad').boundingBox();
  const at = (x, y) => ({ x: box.x + box.width * (0.1 + 0.8 * x / 255), y: box.y + box.height * (0.1 + 0.8 * y / 255) });
  for (const [xs, ys] of strokes) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(xs[0], ys[0])] });
    for (let i = 1; i < xs.length; i++) {
      const a = at(xs[i - 1], ys[i - 1]), b = at(xs[i], ys[i]);
      for (let s = 1; s <= 6; s++) {
        const p = { x: a.x + (b.x - a.x) * s / 6, y: a.y + (b.y - a.y) * s / 6 };
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [p] });
      }
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await page.waitForTimeout(250);
  }
}

// The grid once it shows the answer `body` (the page may still be rendering when the response lands).
async function gridFor(page, body) {
  const first = body.results.length ? String(body.results[0].id) : null;
  await page.waitForFunction((id) => {
    const c = document.querySelector('#results .card');
    return id === null ? !c : c && c.dataset.id === id;
  }, first, { timeout: 10000 });
  return page.$$eval('#results .card', (cs) => cs.map((c) => ({ id: c.dataset.id, cls: c.dataset.class, style: c.dataset.style })));
}

// The answer to the last search once drawing has stopped and no search is running.
async function settled(page) {
  await page.waitForTimeout(700); // past the page's debounce
  await page.waitForLoadState('networkidle');
  return page.evaluate(() => window.__sbirLast);
}

async function imagesLoaded(page) {
  await page.waitForFunction(() => [...document.querySelectorAll('img')]
    .filter((i) => i.offsetParent !== null).every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 15000 });
}

async function desktop(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  let searches = 0;
  page.on('request', (r) => { if (r.url().endsWith('/api/search')) searches++; });

  await page.goto(URL);
  await page.waitForSelector(`.style-card[data-style="${fixture.style}"]`);
  const nStyles = await page.locator('.style-card').count();
  check(nStyles >= 2, `style picker shows ${nStyles} cards (any style + the model's)`);
  await imagesLoaded(page);
  check(await page.locator('.style-card img').count() > 0, 'style cards show example thumbnails');

  // Draw with "Any style", stroke by stroke: results arrive while drawing.
  await drawMouse(page, fixture.strokes);
  check(searches >= fixture.strokes.length, `${searches} searches sent while drawing ${fixture.strokes.length} strokes`);
  await page.waitForSelector('#results .card', { timeout: 10000 });

  // Pick the style: the next answer is for (sketch, style), and the grid shows it.
  const resp = page.waitForResponse((r) => isSearch(r) && (r.request().postData() || '').includes(`"style":"${fixture.style}"`));
  await page.click(`.style-card[data-style="${fixture.style}"]`);
  const body = await (await resp).json();
  const cards = await gridFor(page, body);
  check(cards.length === body.results.length && cards.length > 0, `grid shows the ${body.results.length} results`);
  check(cards[0].cls === fixture.class, `top result is a ${fixture.class} (got ${cards[0].cls})`);
  check(cards.slice(0, 3).every((c) => c.style === fixture.style), `top 3 results are ${fixture.style} (got ${cards.slice(0, 3).map((c) => c.style)})`);
  check(await page.locator('.style-card.on').getAttribute('data-style') === fixture.style, 'the picked style is highlighted');
  await imagesLoaded(page);
  await page.screenshot({ path: path.join(SHOTS, 'desktop.png') });

  // Click to enlarge.
  await page.click('#results .card >> nth=0');
  await page.waitForSelector('#lightbox:not([hidden])');
  await imagesLoaded(page);
  check((await page.textContent('#lb-cap')).includes(fixture.class), 'enlarged view names the class');
  await page.screenshot({ path: path.join(SHOTS, 'enlarged.png') });
  await page.keyboard.press('Escape');
  check(await page.locator('#lightbox').isHidden(), 'Escape closes the enlarged view');

  // Undo: one stroke fewer in the next search.
  const r2 = page.waitForResponse(isSearch);
  await page.click('#undo');
  const b2 = await (await r2).json();
  check(b2.query && b2.query.strokes === fixture.strokes.length - 1, `undo: the search has ${b2.query && b2.query.strokes} strokes`);

  // Clear: no strokes, no results.
  await page.click('#clear');
  await page.waitForSelector('#empty:not([hidden])');
  check(await page.locator('#results .card').count() === 0, 'clear empties the results');

  // Your own style: drop example images (taken from the server) on the drop zone, then draw again.
  const dropped = await page.evaluate(async (style) => {
    const styles = await (await fetch('/api/styles')).json();
    const s = styles.styles.find((x) => x.name === style);
    const dt = new DataTransfer();
    for (const e of s.examples.slice(0, 2)) {
      const blob = await (await fetch(e.image)).blob();
      dt.items.add(new File([blob], `example${e.id}.png`, { type: 'image/png' }));
    }
    const zone = document.getElementById('drop');
    for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    return dt.files.length;
  }, EXAMPLE_STYLE);
  await page.waitForSelector('#drop.on .ex img');
  check(await page.locator('#drop-thumbs .ex').count() === dropped, `${dropped} dropped images shown as the style`);
  const b3 = await searchDuring(page, (r) => isSearch(r) && (r.request().postData() || '').includes('"style_images"'),
    () => drawMouse(page, fixture.strokes));
  const c3 = await gridFor(page, await settled(page));
  check(b3.query && b3.query.style_images === dropped, 'the search used the dropped images');
  check(c3.length > 0 && c3[0].style === EXAMPLE_STYLE, `results take the dropped images' look (${EXAMPLE_STYLE}; got ${c3.length && c3[0].style})`);
  await imagesLoaded(page);
  await page.screenshot({ path: path.join(SHOTS, 'own-style.png') });
  check(errors.length === 0, `no errors in the page${errors.length ? ': ' + errors.join('; ') : ''}`);
  await ctx.close();
}

// The page aborts a search when a newer stroke arrives, so a response seen while drawing may have no
// body: collect the bodies that can be read and return the last one.
async function searchDuring(page, pred, action) {
  const bodies = [];
  const onResp = async (r) => {
    if (!pred(r)) return;
    try { bodies.push(await r.json()); } catch (e) { /* superseded by a newer search */ }
  };
  page.on('response', onResp);
  await action();
  const deadline = Date.now() + 15000;
  while (bodies.length === 0 && Date.now() < deadline) await page.waitForTimeout(50);
  page.off('response', onResp);
  return bodies.length ? bodies[bodies.length - 1] : {};
}

async function phone(browser) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(URL);
  await page.waitForSelector(`.style-card[data-style="${fixture.style}"]`);
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'phone: nothing wider than the screen');
  await page.click(`.style-card[data-style="${fixture.style}"]`);
  const body = await searchDuring(page, (r) => isSearch(r) && (r.request().postData() || '').includes('"strokes"'),
    () => drawTouch(page, fixture.strokes));
  check(body.results && body.results.length > 0, 'phone: drawing with a finger searches');
  const cards = await gridFor(page, await settled(page));
  check(cards.length > 0 && cards[0].cls === fixture.class, `phone: top result is a ${fixture.class} (got ${cards.length && cards[0].cls})`);
  await imagesLoaded(page);
  await page.screenshot({ path: path.join(SHOTS, 'phone.png'), fullPage: true });
  check(errors.length === 0, `phone: no errors in the page${errors.length ? ': ' + errors.join('; ') : ''}`);
  await ctx.close();
}

(async () => {
  // launch() gives the browser a fresh temporary profile (user data dir) of its own, removed on close.
  const browser = await chromium.launch({ executablePath: process.env.SBIR_CHROMIUM || '/usr/bin/chromium', headless: true, args: ARGS, timeout: 60000 });
  try {
    await desktop(browser);
    await phone(browser);
  } finally {
    await browser.close();
  }
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`not ok - ${e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : e}`);
  console.log(`browser: ${passed} passed, ${failed + 1} failed`);
  process.exit(2);
});
