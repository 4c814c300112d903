// driver.js — one small page interface over two browser drivers, so that search_test.js runs the
// same scenario in both browsers:
//   chromium: Playwright (npm playwright-core) driving Debian's /usr/bin/chromium over CDP;
//   firefox:  Puppeteer (npm puppeteer-core) driving Debian's /usr/bin/firefox-esr over WebDriver
//             BiDi, which Firefox implements itself (no geckodriver, no patched browser).
// launch(name, executable) -> { name, version, newPage({width, height, scale, phone}), close() }.
// A page offers what the scenario needs and nothing more; coordinates are CSS pixels of the viewport.
'use strict';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Every wait is stretched by SBIR_TIME_STRETCH (test_browser.c sets it: 5 under valgrind, where the
// server is 20-50x slower); nothing else changes.
const STRETCH = Number(process.env.SBIR_TIME_STRETCH) || 1;
const ms = (t) => t * STRETCH;

// What both drivers do the same way (their page objects share these methods).
class Page {
  constructor(raw, ctx) {
    this.raw = raw;
    this.ctx = ctx;
    this.errors = []; // uncaught exceptions and console errors of the page
    raw.on('pageerror', (e) => this.errors.push(e && e.message ? e.message : String(e)));
    raw.on('console', (m) => { if (m.type() === 'error') this.errors.push(m.text()); });
  }
  goto(url) { return this.raw.goto(url); }
  evaluate(fn, arg) { return this.raw.evaluate(fn, arg); }
  evalAll(sel, fn) { return this.raw.$$eval(sel, fn); }
  count(sel) { return this.raw.evaluate((s) => document.querySelectorAll(s).length, sel); }
  attr(sel, name) { return this.raw.evaluate(([s, n]) => { const e = document.querySelector(s); return e ? e.getAttribute(n) : null; }, [sel, name]); }
  text(sel) { return this.raw.evaluate((s) => { const e = document.querySelector(s); return e ? e.textContent : null; }, sel); }
  // Not rendered (absent, display: none, or visibility: hidden), as Playwright's isHidden.
  hidden(sel) {
    return this.raw.evaluate((s) => {
      const e = document.querySelector(s);
      return !e || e.getClientRects().length === 0 || getComputedStyle(e).visibility === 'hidden';
    }, sel);
  }
  box(sel) {
    return this.raw.evaluate((s) => {
      const r = document.querySelector(s).getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }, sel);
  }
  sleep(ms) { return sleep(ms); }
  on(ev, f) { this.raw.on(ev, f); }
  off(ev, f) { this.raw.off(ev, f); }
  waitResponse(pred, timeout = 15000) { return this.raw.waitForResponse(pred, { timeout: ms(timeout) }); }
  press(key) { return this.raw.keyboard.press(key); }
  screenshot(file, fullPage = false) { return this.raw.screenshot({ path: file, fullPage }); }
  mouseMove(x, y, steps = 1) { return this.raw.mouse.move(x, y, { steps }); }
  mouseDown() { return this.raw.mouse.down(); }
  mouseUp() { return this.raw.mouse.up(); }
  close() { return this.ctx.close(); }
}

// ------------------------------------------------------------------ Chromium (Playwright, CDP)

class PlaywrightPage extends Page {
  waitFor(sel, timeout = 10000) { return this.raw.waitForSelector(sel, { timeout: ms(timeout) }); }
  waitFn(fn, arg, timeout = 10000) { return this.raw.waitForFunction(fn, arg, { timeout: ms(timeout) }); }
  click(sel) { return this.raw.click(sel); }
  // "networkidle": no request for 500 ms.
  idle() { return this.raw.waitForLoadState('networkidle'); }
  async postData(resp) { return resp.request().postData() || ''; }
  // One finger: touch events through CDP (Playwright's touchscreen only taps).
  async touchStroke(points) {
    if (!this.cdp) this.cdp = await this.ctx.newCDPSession(this.raw);
    await this.cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [points[0]] });
    for (const p of points.slice(1)) await this.cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [p] });
    await this.cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }
}

async function chromium(executable) {
  const pw = require('playwright-core');
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];
  // launch() gives the browser a fresh temporary profile (user data dir) of its own, removed on close.
  const browser = await pw.chromium.launch({ executablePath: executable, headless: true, args, timeout: ms(60000) });
  return {
    name: 'chromium',
    version: browser.version(),
    async newPage({ width, height, scale = 1, phone = false }) {
      const ctx = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: scale, isMobile: phone, hasTouch: phone });
      return new PlaywrightPage(await ctx.newPage(), ctx);
    },
    close: () => browser.close(),
  };
}

// ------------------------------------------------------------------ Firefox (Puppeteer, WebDriver BiDi)

class PuppeteerPage extends Page {
  waitFor(sel, timeout = 10000) { return this.raw.waitForSelector(sel, { timeout: ms(timeout), visible: true }); }
  waitFn(fn, arg, timeout = 10000) { return this.raw.waitForFunction(fn, { timeout: ms(timeout), polling: 'raf' }, arg); }
  async click(sel) {
    await this.raw.waitForSelector(sel, { timeout: ms(10000), visible: true });
    await this.raw.click(sel);
  }
  idle() { return this.raw.waitForNetworkIdle({ idleTime: 500, timeout: ms(15000) }); }
  // BiDi gives a request's body on demand (request.postData() is CDP-only).
  async postData(resp) { return (await resp.request().fetchPostData()) || ''; }
  // One finger: WebDriver BiDi pointer actions of type "touch" (pointer events with pointerType touch).
  async touchStroke(points) {
    const t = this.raw.touchscreen;
    await t.touchStart(points[0].x, points[0].y);
    for (const p of points.slice(1)) await t.touchMove(p.x, p.y);
    await t.touchEnd();
  }
}

async function firefox(executable) {
  const pp = require('puppeteer-core');
  // A fresh temporary profile, removed on close; -headless (MOZ_HEADLESS) needs no display.
  const browser = await pp.launch({
    browser: 'firefox', executablePath: executable, headless: true, timeout: ms(60000), protocolTimeout: ms(60000),
    extraPrefsFirefox: { 'network.proxy.type': 0, 'browser.safebrowsing.malware.enabled': false, 'browser.safebrowsing.phishing.enabled': false },
  });
  return {
    name: 'firefox',
    version: await browser.version(),
    async newPage({ width, height, scale = 1, phone = false }) {
      const ctx = await browser.createBrowserContext();
      const page = await ctx.newPage();
      await page.setViewport({ width, height, deviceScaleFactor: scale, isMobile: phone, hasTouch: phone });
      return new PuppeteerPage(page, ctx);
    },
    close: () => browser.close(),
  };
}

exports.launch = (name, executable) => (name === 'firefox' ? firefox(executable) : chromium(executable));
exports.ms = ms; // a wait in ms, stretched under valgrind
exports.modules = { chromium: 'playwright-core', firefox: 'puppeteer-core' };
