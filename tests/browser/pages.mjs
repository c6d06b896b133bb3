// Drives Debian's Chromium through Gõ Cửa's review pages as a commune
// leader, with Playwright. Started by server/tests/web_pages.rs, which
// prepares the data (two communes, a conflict, an absent resident) on a
// real server, and afterwards checks what only it can: that the
// settlement reached a phone and that the downloaded workbook holds the
// right people.
//
// Environment (all required):
//   GOCUA_BASE         server address, e.g. http://127.0.0.1:41234
//   GOCUA_USER         the leader's login; GOCUA_PASSWORD its password
//   GOCUA_CONFLICT     resident id of the conflict to settle
//   GOCUA_KEEP         the outcome label to keep (e.g. "Đã kích hoạt")
//   GOCUA_SEARCH       a name typed without diacritics, e.g. "thu ha"
//   GOCUA_FOUND        the name it must find, with diacritics
//   GOCUA_OTHER_HH     a household of another commune
//   GOCUA_OWN_HH       a household of the leader's commune
//   GOCUA_OFFICER      an officer's name (their target list is printed)
//   GOCUA_OUT          folder for screenshots and the download
//
// Prints one JSON line: {"ok": true, "download": PATH, ...}. Any failed
// check throws: the exit code is non-zero and the message says which.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// WCAG 2 A and AA checks of the page as shown (contrast, labels, names,
// landmarks…) by axe-core; run through DevTools, so the pages' strict CSP
// stays on.
async function accessible(page, what) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  if (found.length) throw new Error(`check failed: ${what} accessibility: ${found.join('; ')}`);
}

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing environment variable ${k}`);
  return v;
};
const base = env('GOCUA_BASE');
const out = env('GOCUA_OUT');
fs.mkdirSync(out, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}
const digits = (s) => (s ?? '').replace(/[^0-9]/g, '');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const result = { ok: false };
try {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    locale: 'vi-VN',
  });
  const page = await context.newPage();

  // 1. Sign in with the keyboard only; count the bytes of the first view.
  await page.goto(`${base}/login`);
  await accessible(page, 'login');
  check(await page.evaluate(() => document.activeElement?.id) === 'username', 'username field has focus');
  await page.keyboard.type(env('GOCUA_USER'));
  await page.keyboard.press('Tab');
  await page.keyboard.type(env('GOCUA_PASSWORD'));
  const responses = [];
  const counter = (r) => responses.push(r);
  page.on('response', counter);
  await Promise.all([page.waitForURL('**/dashboard'), page.keyboard.press('Enter')]);
  await page.waitForLoadState('load');
  page.off('response', counter);
  let firstView = 0;
  for (const r of responses) {
    if (r.status() === 200) firstView += (await r.body()).length;
  }
  result.first_view_bytes = firstView;
  check(firstView > 1000 && firstView <= 100 * 1024, `dashboard first view ${firstView} B ≤ 100 KB`);
  check(await page.getAttribute('html', 'lang') === 'vi', 'Vietnamese by default');

  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'gocua_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', 'session cookie is HttpOnly and SameSite=Strict');

  // 2. The dashboard's numbers are the API's for the same data.
  const api = async (p, token) => {
    const r = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } });
    check(r.ok, `API ${p}: ${r.status}`);
    return r.json();
  };
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: env('GOCUA_USER'), password: env('GOCUA_PASSWORD'), device_id: 'browser-test-api' }),
  });
  check(login.ok, 'API login');
  const token = (await login.json()).access_token;
  const report = await api('/api/v1/reports/daily', token);
  const kpi = async (id) => {
    const el = page.locator(`[data-testid=kpi-${id}]`);
    return { text: await el.innerText(), value: await el.getAttribute('data-value') };
  };
  const totals = report.totals;
  const open = Object.values(totals.remaining).reduce((a, b) => a + b, 0);
  for (const [id, want] of [
    ['eligible', totals.eligible], ['activated', totals.activated],
    ['change', totals.change_since_yesterday], ['open', open],
  ]) {
    const got = await kpi(id);
    check(digits(got.text) === String(want) && got.value === String(want),
      `dashboard ${id} shows ${got.text} (${got.value}), API says ${want}`);
  }
  const pct = await kpi('percent');
  check(Number(pct.value) === totals.percent, `percent ${pct.value} vs API ${totals.percent}`);
  check(pct.text.replace(/\s/g, '') === `${totals.percent.toFixed(1).replace('.', ',')}%`, `percent written the Vietnamese way: ${pct.text}`);
  for (const h of report.hamlets) {
    const cell = page.locator(`[data-testid=hamlets] tr[data-hamlet="${h.hamlet}"] td[data-value]`);
    check(await cell.getAttribute('data-value') === String(h.counts.activated), `hamlet ${h.hamlet} activated`);
  }
  check(await page.locator('svg.chart').count() >= 2, 'charts drawn as SVG');
  result.dashboard = { eligible: totals.eligible, activated: totals.activated };

  // 2b. An officer's list of the day, as the phone computes it, printed to
  //     PDF by the browser (A4, the print stylesheet).
  await page.goto(`${base}/targets`);
  await page.selectOption('#user', { label: env('GOCUA_OFFICER') });
  await Promise.all([page.waitForURL(/user=/), page.click('form.filters button')]);
  const officerId = await page.locator('#user').inputValue();
  const targets = await api(`/api/v1/targets?user=${officerId}`, token);
  const shownHouses = await page.locator('[data-testid=targets] tbody').evaluateAll((bs) => bs.map((b) => b.dataset.household));
  check(JSON.stringify(shownHouses) === JSON.stringify(targets.households.map((h) => h.id)),
    `target list households in walking order: page ${shownHouses.length}, API ${targets.households.length}`);
  check(shownHouses.length > 0, 'the officer has households to visit');
  const shownNames = await page.locator('[data-testid=targets] tbody th[scope=row]').allInnerTexts();
  check(JSON.stringify(shownNames) === JSON.stringify(targets.households.flatMap((h) => h.residents.map((r) => r.full_name))),
    'target list residents as the API lists them');
  check(await page.locator('[data-testid=quota]').innerText() === String(targets.quota), 'quota');
  const pdf = path.join(out, 'targets.pdf');
  await page.pdf({ path: pdf, format: 'A4' });
  check(fs.readFileSync(pdf).subarray(0, 5).toString() === '%PDF-', 'the list prints to PDF');
  result.targets_pdf = pdf;

  // 3. Search the absent list without diacritics.
  await page.goto(`${base}/lists/absent`);
  await page.fill('#q', env('GOCUA_SEARCH'));
  await Promise.all([page.waitForURL(/q=/), page.press('#q', 'Enter')]);
  const names = await page.locator('[data-testid=list] tbody th').allInnerTexts();
  check(names.length === 1 && names[0] === env('GOCUA_FOUND'), `search found ${JSON.stringify(names)}`);
  check(await page.locator('[data-testid=total]').innerText() === '1', 'one person found');

  // 4. Download the list and keep the file for the Rust side to open.
  await page.goto(`${base}/lists/absent`);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Tải Excel' }).click(),
  ]);
  const file = path.join(out, download.suggestedFilename());
  await download.saveAs(file);
  check(fs.readFileSync(file).subarray(0, 2).toString() === 'PK', 'the download is an XLSX (zip) file');
  result.download = file;

  // 5. Screenshots at phone and desktop widths; nothing wider than a phone;
  //    WCAG 2 AA by axe-core at both widths.
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: width === 360 ? 740 : 900 });
    for (const [name, p] of [['dashboard', '/dashboard'], ['list', '/lists/absent'], ['review', '/review'], ['targets', '/targets']]) {
      await page.goto(`${base}${p}`);
      await page.screenshot({ path: path.join(out, `${name}-${width}.png`), fullPage: true });
      await accessible(page, `${name} at ${width}px`);
      if (width === 360) {
        const wide = await page.evaluate(() => document.documentElement.scrollWidth);
        check(wide <= 360, `${name} is ${wide}px wide on a 360px phone`);
      }
    }
  }

  await page.setViewportSize({ width: 1280, height: 900 });

  // 6. Settle the conflict: it leaves the queue (page and API).
  await page.goto(`${base}/review`);
  const resident = env('GOCUA_CONFLICT');
  const item = page.locator(`article[data-resident="${resident}"]`);
  check(await item.count() === 1, 'the conflict is in the queue');
  check(await item.locator('.side').count() >= 2, 'both sides of the evidence are shown');
  const side = item.locator('.side').filter({ hasText: env('GOCUA_KEEP') }).first();
  await side.locator('input[name=note]').fill('Đã gọi điện xác minh với gia đình');
  await Promise.all([page.waitForURL(/settled=1/), side.locator('button').click()]);
  check(await page.locator(`article[data-resident="${resident}"]`).count() === 0, 'settled item left the page');
  const queue = await api('/api/v1/review', token);
  check(!queue.some((i) => i.resident === resident), 'settled item left the API queue');

  // 7. A form without the session's token is refused.
  const forged = await page.request.post(`${base}/review/${resident}/settle`, {
    form: { csrf: 'forged', decision: '{"outcome":"refused"}' },
    maxRedirects: 0,
  });
  check(forged.status() === 403, `forged form answered ${forged.status()}`);

  // 8. Another commune's household by URL: the same "not found" as a
  //    missing one; one of our own opens.
  const other = await page.goto(`${base}/households/${env('GOCUA_OTHER_HH')}`);
  check(other.status() === 404, `other commune's household answered ${other.status()}`);
  check((await page.locator('[data-testid=error]').innerText()).includes('Không tìm thấy'), 'not-found page in Vietnamese');
  const own = await page.goto(`${base}/households/${env('GOCUA_OWN_HH')}`);
  check(own.status() === 200 && await page.locator('[data-testid=residents] tbody tr').count() > 0, 'own household opens');

  // 9. English on request, and back.
  await page.goto(`${base}/dashboard`);
  await Promise.all([page.waitForURL('**/dashboard**'), page.getByRole('link', { name: 'English' }).click()]);
  check(await page.getAttribute('html', 'lang') === 'en', 'English page');
  check((await page.locator('h1').innerText()).startsWith('Campaign progress'), 'English heading');
  await page.getByRole('link', { name: 'Tiếng Việt' }).click();
  check(await page.getAttribute('html', 'lang') === 'vi', 'back to Vietnamese');

  // 10. Signing out ends the session.
  await Promise.all([page.waitForURL('**/login'), page.getByRole('button', { name: 'Đăng xuất' }).click()]);
  await page.goto(`${base}/dashboard`);
  check(page.url().endsWith('/login'), 'signed out: the dashboard asks to sign in');

  result.ok = true;
} finally {
  await browser.close();
  console.log(JSON.stringify(result));
}
