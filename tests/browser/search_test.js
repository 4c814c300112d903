// search_test.js — the sbir page in a headless browser: draw a sketch stroke by stroke, pick a style,
// check that results of the right class and style appear, enlarge one, undo, clear, use dropped
// example images as the style, and draw with a finger on a phone-sized screen. The same scenario
// runs in Chromium (Playwright) and in Firefox (Puppeteer over WebDriver BiDi): driver.js.
// Screenshots go to $SBIR_SHOTS. Run by tests/test_browser.c, which starts the server on a
// loopback port with the fixture of tests/browser/fixture.h and passes:
//   SBIR_URL (http://127.0.0.1:PORT/), SBIR_FIXTURE (query.json: strokes, class, style),
//   SBIR_SHOTS (a folder), SBIR_BROWSER (chromium or firefox), SBIR_BROWSER_BIN (its executable:
//   default /usr/bin/chromium or /usr/bin/firefox-esr).
// Prints "ok - ..." / "not ok - ..." per check and "browser: N passed, N failed"; exit 0 iff all pass.
'use strict';
const fs = require('fs');
const path = require('path');
const driver = require('./driver');

const URL = process.env.SBIR_URL;
const fixture = JSON.parse(fs.readFileSync(process.env.SBIR_FIXTURE, 'utf8'));
const SHOTS = process.env.SBIR_SHOTS || '.';
const BROWSER = process.env.SBIR_BROWSER || 'chromium';
const BIN = process.env.SBIR_BROWSER_BIN || (BROWSER === 'firefox' ? '/usr/bin/firefox-esr' : '/usr/bin/chromium');
const EXAMPLE_STYLE = 'sepia'; // the look of the images the test drops as its own style

let passed = 0, failed = 0;
function check(cond, msg) {
  if (cond) passed++; else failed++;
  console.log(`${cond ? 'ok' : 'not ok'} - ${BROWSER}: ${msg}`);
}

const isSearch = (r) => r.url().endsWith('/api/search') && r.request().method() === 'POST';
// A search whose request body contains text (the drivers give bodies differently: page.postData).
const searchWith = (page, text) => async (r) => isSearch(r) && (await page.postData(r)).includes(text);

// The point at (x, y) of Quick, Draw!'s 0..255 canvas, inside the page's canvas.
function mapper(box) {
  return (x, y) => ({ x: box.x + box.width * (0.1 + 0.8 * x / 255), y: box.y + box.height * (0.1 + 0.8 * y / 255) });
}

// Draws the strokes into the page's canvas with the mouse, one by one.
async function drawMouse(page, strokes) {
  const at = mapper(await page.box('#pad'));
  for (const [xs, ys] of strokes) {
    const p0 = at(xs[0], ys[0]);
    await page.mouseMove(p0.x, p0.y);
    await page.mouseDown();
    for (let i = 1; i < xs.length; i++) {
      const p = at(xs[i], ys[i]);
      await page.mouseMove(p.x, p.y, 6);
    }
    await page.mouseUp();
    await page.sleep(250);
  }
}

// The same with a finger: each stroke a touch start, moves every sixth of a segment, an end.
async function drawTouch(page, strokes) {
  const at = mapper(await page.box('#pad'));
  for (const [xs, ys] of strokes) {
    const pts = [at(xs[0], ys[0])];
    for (let i = 1; i < xs.length; i++) {
      const a = at(xs[i - 1], ys[i - 1]), b = at(xs[i], ys[i]);
      for (let s = 1; s <= 6; s++) pts.push({ x: a.x + (b.x - a.x) * s / 6, y: a.y + (b.y - a.y) * s / 6 });
    }
    await page.touchStroke(pts);
    await page.sleep(250);
  }
}

// The grid once it shows the answer `body` (the page may still be rendering when the response lands).
async function gridFor(page, body) {
  const first = body && body.results && body.results.length ? String(body.results[0].id) : null;
  await page.waitFn((id) => {
    const c = document.querySelector('#results .card');
    return id === null ? !c : c && c.dataset.id === id;
  }, first, 10000);
  return page.evalAll('#results .card', (cs) => cs.map((c) => ({ id: c.dataset.id, cls: c.dataset.class, style: c.dataset.style })));
}

// The answer to the last search once drawing has stopped and no search is running.
async function settled(page) {
  await page.sleep(700); // past the page's debounce
  await page.idle();
  return page.evaluate(() => window.__sbirLast);
}

// Every image on screen has loaded. Result thumbnails load lazily, and only Chromium fetches those
// far below the fold ahead of time: images outside the viewport are not waited for.
async function imagesLoaded(page) {
  await page.waitFn(() => [...document.querySelectorAll('img')].filter((i) => {
    if (i.offsetParent === null && getComputedStyle(i).position !== 'fixed') return false;
    const r = i.getBoundingClientRect();
    return r.width > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  }).every((i) => i.complete && i.naturalWidth > 0), null, 15000);
}

// The page aborts a search when a newer stroke arrives, so a response seen while drawing may have no
// body: collect the bodies that can be read and return the last one.
async function searchDuring(page, pred, action) {
  const bodies = [];
  const onResp = async (r) => {
    try { if (await pred(r)) bodies.push(await r.json()); } catch (e) { /* superseded by a newer search */ }
  };
  page.on('response', onResp);
  await action();
  const deadline = Date.now() + driver.ms(15000);
  while (bodies.length === 0 && Date.now() < deadline) await page.sleep(50);
  page.off('response', onResp);
  return bodies.length ? bodies[bodies.length - 1] : {};
}

async function desktop(browser) {
  const page = await browser.newPage({ width: 1280, height: 860 });
  let searches = 0;
  page.on('request', (r) => { if (r.url().endsWith('/api/search')) searches++; });

  await page.goto(URL);
  await page.waitFor(`.style-card[data-style="${fixture.style}"]`);
  const nStyles = await page.count('.style-card');
  check(nStyles >= 2, `style picker shows ${nStyles} cards (any style + the model's)`);
  await imagesLoaded(page);
  check(await page.count('.style-card img') > 0, 'style cards show example thumbnails');

  // Draw with "Any style", stroke by stroke: results arrive while drawing.
  await drawMouse(page, fixture.strokes);
  check(searches >= fixture.strokes.length, `${searches} searches sent while drawing ${fixture.strokes.length} strokes`);
  await page.waitFor('#results .card');

  // Pick the style: the next answer is for (sketch, style), and the grid shows it.
  const resp = page.waitResponse(searchWith(page, `"style":"${fixture.style}"`));
  await page.click(`.style-card[data-style="${fixture.style}"]`);
  const body = await (await resp).json();
  const cards = await gridFor(page, body);
  check(cards.length === body.results.length && cards.length > 0, `grid shows the ${body.results.length} results`);
  check(cards.length > 0 && cards[0].cls === fixture.class, `top result is a ${fixture.class} (got ${cards.length && cards[0].cls})`);
  check(cards.length >= 3 && cards.slice(0, 3).every((c) => c.style === fixture.style),
    `top 3 results are ${fixture.style} (got ${cards.slice(0, 3).map((c) => c.style)})`);
  check(await page.attr('.style-card.on', 'data-style') === fixture.style, 'the picked style is highlighted');
  await imagesLoaded(page);
  await page.screenshot(path.join(SHOTS, 'desktop.png'));

  // Click to enlarge.
  await page.click('#results .card:first-child');
  await page.waitFor('#lightbox:not([hidden])');
  await imagesLoaded(page);
  check(((await page.text('#lb-cap')) || '').includes(fixture.class), 'enlarged view names the class');
  await page.screenshot(path.join(SHOTS, 'enlarged.png'));
  await page.press('Escape');
  check(await page.hidden('#lightbox'), 'Escape closes the enlarged view');

  // Undo: one stroke fewer in the next search.
  const r2 = page.waitResponse(isSearch);
  await page.click('#undo');
  const b2 = await (await r2).json();
  check(b2.query && b2.query.strokes === fixture.strokes.length - 1, `undo: the search has ${b2.query && b2.query.strokes} strokes`);

  // Clear: no strokes, no results.
  await page.click('#clear');
  await page.waitFor('#empty:not([hidden])');
  check(await page.count('#results .card') === 0, 'clear empties the results');

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
  await page.waitFor('#drop.on .ex img');
  check(await page.count('#drop-thumbs .ex') === dropped, `${dropped} dropped images shown as the style`);
  const b3 = await searchDuring(page, searchWith(page, '"style_images"'), () => drawMouse(page, fixture.strokes));
  const c3 = await gridFor(page, await settled(page));
  check(b3.query && b3.query.style_images === dropped, 'the search used the dropped images');
  check(c3.length > 0 && c3[0].style === EXAMPLE_STYLE, `results take the dropped images' look (${EXAMPLE_STYLE}; got ${c3.length && c3[0].style})`);
  await imagesLoaded(page);
  await page.screenshot(path.join(SHOTS, 'own-style.png'));
  check(page.errors.length === 0, `no errors in the page${page.errors.length ? ': ' + page.errors.join('; ') : ''}`);
  await page.close();
}

async function phone(browser) {
  const page = await browser.newPage({ width: 390, height: 844, scale: 2, phone: true });
  await page.goto(URL);
  await page.waitFor(`.style-card[data-style="${fixture.style}"]`);
  check(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'phone: nothing wider than the screen');
  await page.click(`.style-card[data-style="${fixture.style}"]`);
  const body = await searchDuring(page, searchWith(page, '"strokes"'), () => drawTouch(page, fixture.strokes));
  check(body.results && body.results.length > 0, 'phone: drawing with a finger searches');
  const last = await settled(page);
  check(last && last.query && last.query.strokes === fixture.strokes.length,
    `phone: the sketch has ${last && last.query && last.query.strokes} strokes (${fixture.strokes.length} drawn)`);
  const cards = await gridFor(page, last);
  check(cards.length > 0 && cards[0].cls === fixture.class, `phone: top result is a ${fixture.class} (got ${cards.length && cards[0].cls})`);
  check(cards.length > 0 && cards[0].style === fixture.style, `phone: top result is ${fixture.style} (got ${cards.length && cards[0].style})`);
  // Scroll down the results a screen at a time, as a thumb would: the lazy thumbnails load on the way.
  const screens = await page.evaluate(() => Math.ceil(document.documentElement.scrollHeight / innerHeight));
  for (let i = 0; i < screens; i++) {
    await page.evaluate((k) => window.scrollTo(0, k * innerHeight), i);
    await imagesLoaded(page);
  }
  const thumbs = await page.evalAll('#results .card img', (is) => is.filter((i) => i.complete && i.naturalWidth > 0).length);
  check(thumbs === cards.length, `phone: all ${cards.length} thumbnails load when scrolled to (${thumbs} did)`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot(path.join(SHOTS, 'phone.png'), true);
  check(page.errors.length === 0, `phone: no errors in the page${page.errors.length ? ': ' + page.errors.join('; ') : ''}`);
  await page.close();
}

(async () => {
  const browser = await driver.launch(BROWSER, BIN);
  console.log(`# ${browser.name} ${browser.version} (${BIN})`);
  try {
    await desktop(browser);
    await phone(browser);
  } finally {
    await browser.close();
  }
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`not ok - ${BROWSER}: ${e && e.stack ? e.stack.split('\n').slice(0, 4).join(' | ') : e}`);
  console.log(`browser: ${passed} passed, ${failed + 1} failed`);
  process.exit(2);
});
