/* SPDX-License-Identifier: Apache-2.0 */
// Issue 16's acceptance, in the browser: from an empty database to enrolled
// devices with the console alone and the command it shows. An Authority, an
// RA Profile, a CMP Profile whose signing certificate is issued in the form,
// the profile page's command and trust bundle, run as shown; then the shared
// secret rotated with an overlap, and both secrets enroll inside it.
// Environment: VAR_DIR of an instance whose database has the schema only.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WORK, env, RUN, sh, api, launch, pageHelpers, flushKept } from './lib.mjs';

let browser, page;
const dialogs = [];
const { shot, go } = pageHelpers(() => page);

before(async () => { ({ browser, page } = await launch(dialogs)); });
after(async () => { await flushKept(); await browser?.close(); });

// the profile page's command, as shown, with another subject and file
async function runCommand(secret, cn) {
  const cmd = (await page.locator('#cp-command').innerText())
    .replace('/CN=device-1', '/CN=' + cn).replace('-certout device.pem', `-certout ${cn}.pem`)
    .replace(/device\.key/g, cn + '.key');
  let out = '';
  try {
    out = sh('bash', ['-c', cmd + ' 2>&1'], { env: { ...process.env, CMP_SECRET: secret } });
  } catch (e) {
    out = String(e.stdout) + String(e.stderr);
  }
  return { ok: fs.existsSync(path.join(WORK, cn + '.pem')), out };
}

test('an empty database to enrolled devices with the console alone; the secret rotated with an overlap', async () => {
  assert.deepEqual(api('GET', '/authorities'), [], 'the database is not empty');
  await go('#/');
  await page.getByText('No certificate was issued in the last 14 days.').waitFor();

  await go('#/authorities');
  await page.getByRole('button', { name: 'New Authority' }).click();
  await page.locator('#au-name').fill('factory-ca');
  await page.locator('#au-subject').fill('CN=Factory CA ' + RUN + ',O=Example');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText('Authority factory-ca created').waitFor();

  await go('#/ra-profiles');
  await page.getByRole('button', { name: 'New RA Profile' }).click();
  await page.locator('#ra-name').fill('devices');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText('RA Profile devices created').waitFor();
  await page.getByRole('button', { name: 'Enable devices' }).click();
  await page.getByRole('button', { name: 'Disable devices' }).waitFor();

  await go('#/cmp-profiles');
  await page.getByRole('button', { name: 'New CMP Profile' }).click();
  await page.locator('#cp-name').fill('factory');
  await page.locator('#cp-req').selectOption('sharedSecret');
  await page.locator('#cp-rsp').selectOption('signature');
  await page.getByRole('button', { name: 'Generate a secret' }).click();
  const secret1 = await page.locator('#cp-secret').inputValue();
  await page.locator('#cp-ra').selectOption({ label: 'devices' });
  await page.locator('#sg-new').click();
  await page.locator('#sg-subject').fill('CN=Factory CMP signer');
  await page.locator('#sg-issue').click();
  await page.getByText('Signing certificate CN=Factory CMP signer issued and chosen').waitFor();
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText('CMP Profile factory saved').waitFor();
  await page.getByRole('button', { name: 'Enable factory' }).click();
  await page.getByRole('button', { name: 'Disable factory' }).waitFor();

  // the profile's page: its command over HTTP, run as shown with the bundle it gives
  await page.getByRole('link', { name: 'factory', exact: true }).click();
  await page.locator('#cp-command').waitFor();
  await page.locator('#cp-base').fill(new URL(env.CMP_BASE_URL).origin);
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download factory-trust.pem' }).click()]);
  await download.saveAs(path.join(WORK, 'factory-trust.pem'));
  let r = await runCommand(secret1, 'device-a');
  assert.ok(r.ok, r.out);
  assert.match(sh('openssl', ['verify', '-CAfile', 'factory-trust.pem', 'device-a.pem']), /device-a\.pem: OK/);
  await shot('empty-cmp-profile');

  // a new secret, the old one accepted for an hour more
  await page.getByRole('button', { name: 'Generate a secret' }).click();
  const secret2 = await page.locator('#cp-secret').inputValue();
  assert.notEqual(secret2, secret1);
  await page.locator('#cp-overlap').fill(await page.evaluate((t) =>
    new Date(t - new Date(t).getTimezoneOffset() * 60e3).toISOString().slice(0, 16), Date.now() + 3600e3));
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('CMP Profile factory saved').waitFor();       // its page again
  await page.locator('dd', { hasText: /^accepted until / }).waitFor();
  await page.locator('#cp-base').fill(new URL(env.CMP_BASE_URL).origin);
  r = await runCommand(secret1, 'device-old');
  assert.ok(r.ok, 'the old secret inside the overlap: ' + r.out);
  r = await runCommand(secret2, 'device-new');
  assert.ok(r.ok, 'the new secret: ' + r.out);

  // the console shows the three devices, each with its history
  await go('#/certificates');
  for (const cn of ['device-a', 'device-old', 'device-new'])
    await page.getByRole('link', { name: 'CN=' + cn, exact: true }).waitFor();
  assert.deepEqual(dialogs, []);
});
