/* SPDX-License-Identifier: Apache-2.0 */
// What the browser tests share: the environment of the integration run
// (VAR_DIR with demo.env), shell and openssl cmp helpers, the admin API by
// curl, and a headless Debian Chromium with the console's credentials.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const VAR_DIR = process.env.VAR_DIR;
export const SHOTS = process.env.SHOTS || 'tests/out/screenshots';
export const WORK = fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'cmp-ui-'));
export const env = Object.fromEntries(fs.readFileSync(path.join(VAR_DIR, 'demo.env'), 'utf8')
  .split('\n').filter(l => l.includes('=')).map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
export const password = fs.readFileSync(env.ADMIN_PASSWORD_FILE, 'utf8').trim();
export const UI = process.env.UI_URL || env.ADMIN_UI_URL;   // UI_URL: the console mounted elsewhere
export const RUN = Date.now().toString(36);          // names unique per run

export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { cwd: WORK, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

export function cmp(args) {
  try {
    return { ok: true, out: sh('openssl', ['cmp', ...args]) };
  } catch (e) {
    return { ok: false, out: String(e.stdout) + String(e.stderr) };
  }
}

// the admin API straight, beside the console (its answer's JSON, null when empty)
export function api(method, p, body) {
  return JSON.parse(sh('curl', ['-s', '--cacert', env.ADMIN_CA_FILE, '-u',
    `${env.ADMIN_USER}:${password}`, '-X', method, '-H', 'Content-Type: application/json',
    ...(body ? ['--data', JSON.stringify(body)] : []), env.ADMIN_URL + p]) || 'null');
}

// Chromium with a page of the console's credentials; dialogs and page errors
// land in `dialogs` (a test asserts it stays empty).
export async function launch(dialogs) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 },
    httpCredentials: { username: env.ADMIN_USER, password },
  });
  const page = await context.newPage();
  page.on('dialog', d => { dialogs.push(d.message()); d.dismiss(); });
  page.on('pageerror', e => dialogs.push('page error: ' + e.message));
  page.on('response', keep);
  return { browser, page };
}

// Every admin API answer the console gets, kept in API_LOG (one JSON per
// line) for the check against openapi.json at the end of the run.
const pending = [];
function keep(res) {
  const m = /\/api\/v1(\/[^?#]*)(\?[^#]*)?$/.exec(res.url());
  if (!process.env.API_LOG || !m || m[1] === '/openapi.json') return;
  pending.push(res.text().catch(() => '').then(body => fs.appendFileSync(process.env.API_LOG,
    JSON.stringify({ method: res.request().method(), path: m[1] + (m[2] || ''), status: res.status(),
      body: (res.headers()['content-type'] || '').startsWith('application/json') ? body : '' }) + '\n')));
}

export async function flushKept() { await Promise.all(pending); }

// shot(name) and go(hash) on the page getPage() returns
export function pageHelpers(getPage) {
  return {
    async shot(name) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await getPage().screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
    },
    async go(hash) {
      await getPage().goto(UI + hash);
      await getPage().locator(`main[data-route="${hash}"]`).waitFor();
    },
  };
}
