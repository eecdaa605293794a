// Walks the web UI in a real browser (Debian's Chromium through playwright-core) and checks
// every page with axe-core: no serious or critical WCAG 2.2 AA violation, the page policy
// header present, screenshots written for people to look at.
//
// Usage: node walk.mjs BASE_URL SCREENSHOT_DIR EMAIL PASSWORD
// Prints one line per check ("ok NAME" or "FAILED NAME: why") and a summary; exits 1 on failure.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const [base, shots, email, password] = process.argv.slice(2);
if (!base || !shots || !email || !password) {
  console.error('usage: node walk.mjs BASE_URL SCREENSHOT_DIR EMAIL PASSWORD');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });
const axeSource = fs.readFileSync(
  new URL('./node_modules/axe-core/axe.min.js', import.meta.url),
  'utf8',
);

let passed = 0;
let failed = 0;
function ok(name) {
  passed += 1;
  console.log(`ok ${name}`);
}
function fail(name, why) {
  failed += 1;
  console.log(`FAILED ${name}: ${why}`);
}

const browser = await chromium.launch({
  executablePath: process.env.IW_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-background-networking'],
});

/** Screenshots the page and runs axe on it; the page must carry the strict policy. */
async function checkPage(page, name, response, width = 1280) {
  await page.setViewportSize({ width, height: 900 });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const csp = response ? (await response.allHeaders())['content-security-policy'] || '' : '';
  if (!csp.includes("default-src 'none'") || csp.includes('unsafe-inline')) {
    fail(`${name}: content security policy`, `got ${JSON.stringify(csp)}`);
  } else {
    ok(`${name}: content security policy`);
  }
  // Evaluated through the browser's debugging protocol, so the page's policy does not block it.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
    }),
  );
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    fail(`${name}: accessibility`, bad.map((v) => `${v.id} (${v.nodes.length})`).join(', '));
  } else {
    ok(`${name}: accessibility (${result.passes.length} rules pass)`);
  }
}

try {
  for (const scheme of ['light', 'dark']) {
    const context = await browser.newContext({ colorScheme: scheme, locale: 'en-GB' });
    const page = await context.newPage();
    const sfx = scheme === 'dark' ? '-dark' : '';

    let r = await page.goto(`${base}/`);
    if (new URL(page.url()).pathname === '/sign-in') ok(`${scheme}: signed out, / leads to sign-in`);
    else fail(`${scheme}: signed out, / leads to sign-in`, page.url());
    await checkPage(page, `sign-in${sfx}`, r);

    await page.fill('#email', email);
    await page.fill('#password', 'not the password');
    r = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]).then((x) => x[0]);
    if (await page.locator('[role=alert]').count()) ok(`${scheme}: a wrong password is refused clearly`);
    else fail(`${scheme}: a wrong password is refused clearly`, 'no alert');
    await checkPage(page, `sign-in-failed${sfx}`, r);

    await page.fill('#password', password);
    r = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]).then((x) => x[0]);
    const heading = await page.locator('h1').innerText();
    if (new URL(page.url()).pathname === '/' && heading.length > 0) ok(`${scheme}: signed in`);
    else fail(`${scheme}: signed in`, `${page.url()} ${heading}`);
    r = await page.goto(`${base}/`);
    await checkPage(page, `home${sfx}`, r);
    await checkPage(page, `home-phone${sfx}`, r, 375);

    r = await page.goto(`${base}/no/such/page`);
    if (r.status() === 404) ok(`${scheme}: unknown pages get a friendly 404`);
    else fail(`${scheme}: unknown pages get a friendly 404`, `status ${r.status()}`);
    await checkPage(page, `not-found${sfx}`, r);

    // Keyboard only: the skip link comes first and reaches the content.
    await page.goto(`${base}/`);
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement && document.activeElement.className);
    if (first === 'skip') ok(`${scheme}: the first Tab reaches the skip link`);
    else fail(`${scheme}: the first Tab reaches the skip link`, `focused ${first}`);

    await Promise.all([page.waitForNavigation(), page.click('form[action="/sign-out"] button')]);
    if (new URL(page.url()).pathname === '/sign-in') ok(`${scheme}: signed out`);
    else fail(`${scheme}: signed out`, page.url());
    await context.close();
  }
} catch (e) {
  fail('walk', e && e.stack ? e.stack : String(e));
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
