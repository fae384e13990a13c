/* SPDX-License-Identifier: Apache-2.0 */
// Browser test of the management console: headless Debian Chromium driven by
// playwright-core against the real httpd + PostgreSQL of the integration run.
// Environment: VAR_DIR (with demo.env), SHOTS (screenshot folder).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WORK, env, password, UI, RUN, sh, cmp, api, launch, pageHelpers, flushKept } from './lib.mjs';

const CA = 'ui-ca-' + RUN, RA = 'ui-ra-' + RUN, CMP = 'ui-cmp-' + RUN, DEV = 'ui-dev-' + RUN;

let browser, page;
const dialogs = [];
const { shot, go } = pageHelpers(() => page);

before(async () => { ({ browser, page } = await launch(dialogs)); });

after(async () => { await flushKept(); await browser?.close(); });

test('create an Authority, an RA Profile and a CMP Profile through the forms', async () => {
  await go('#/authorities');
  await page.getByRole('button', { name: 'New Authority' }).click();
  await page.locator('#au-name').fill(CA);
  await page.locator('#au-subject').fill('CN=UI CA,O=Browser Test');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText(`Authority ${CA} created`).waitFor();
  await shot('authorities');

  await go('#/ra-profiles');
  await page.getByRole('button', { name: 'New RA Profile' }).click();
  await page.locator('#ra-auth').selectOption({ label: CA });
  await page.locator('#ra-name').fill(RA);
  await page.locator('#ra-types').fill('EC, ED25519');
  await page.locator('#ra-eku').fill('clientAuth');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText(`RA Profile ${RA} created`).waitFor();
  await page.getByRole('row', { name: new RegExp(RA) }).getByRole('button', { name: 'Enable' }).click();
  await page.getByRole('row', { name: new RegExp(RA) }).getByText('enabled', { exact: true }).waitFor();
  // edit the policy: the form comes prefilled, the change is saved
  await page.getByRole('button', { name: 'Edit ' + RA }).click();
  assert.equal(await page.locator('#ra-types').inputValue(), 'EC, ED25519');
  await page.locator('#ra-days').fill('90');
  assert.equal(await page.locator('#ra-ku-choose').isChecked(), false);
  await page.locator('#ra-ku-choose').check();
  await page.locator('#ra-kur-change').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`RA Profile ${RA} saved`).waitFor();
  const saved = api('GET', '/raProfiles').find(r => r.name === RA);
  assert.equal(saved.keyUsageFromRequest, true);
  assert.equal(saved.allowKurIdentityChange, true);
  await page.getByRole('row', { name: new RegExp(RA) }).getByText(/^90 days/).waitFor();

  await go('#/cmp-profiles');
  await page.getByRole('button', { name: 'New CMP Profile' }).click();
  // the 3GPP variant takes signatures only: the form follows
  await page.locator('#cp-variant').selectOption('v2_3gpp');
  assert.equal(await page.locator('#cp-req').inputValue(), 'signature');
  assert.equal(await page.locator('#cp-secret').isVisible(), false);
  assert.equal(await page.locator('#cp-signer').isVisible(), true);
  await page.locator('#cp-variant').selectOption('v2');
  await page.locator('#cp-req').selectOption('sharedSecret');
  await page.locator('#cp-name').fill(CMP);
  await page.locator('#cp-desc').fill('<img src=x onerror=alert(1)>');
  await page.locator('#cp-rsp').selectOption('sharedSecret');
  assert.equal(await page.locator('#cp-signer').isVisible(), false, 'signing certificate shown for MAC responses');
  // the generator: 32 random characters, shown so that they can be copied
  await page.getByRole('button', { name: 'Generate a secret' }).click();
  const generated = await page.locator('#cp-secret').inputValue();
  assert.match(generated, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(await page.locator('#cp-secret').getAttribute('type'), 'text');
  assert.equal(await page.locator('#cp-timeout').inputValue(), '300');
  await page.locator('#cp-secret').fill('ui-secret-123');
  await page.locator('#cp-ra').selectOption({ label: RA });
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText(`CMP Profile ${CMP} saved`).waitFor();
  const row = page.getByRole('row', { name: new RegExp(CMP) });
  await row.getByRole('button', { name: 'Enable' }).click();
  await page.getByRole('row', { name: new RegExp(CMP) }).getByText('enabled', { exact: true }).waitFor();
  await shot('cmp-profiles');
});

test('a description with HTML is shown as text', async () => {
  await go('#/cmp-profiles');
  const row = page.getByRole('row', { name: new RegExp(CMP) });
  await row.getByText('<img src=x onerror=alert(1)>').waitFor();
  assert.equal(await page.locator('main img').count(), 0, 'the description became an element');
  assert.deepEqual(dialogs, [], 'a script ran or the page failed');
});

test('an invalid form shows the API messages', async () => {
  await go('#/cmp-profiles');
  await page.getByRole('button', { name: 'New CMP Profile' }).click();
  await page.locator('#cp-name').fill('bad name');
  // CMPv3 is offered; where OpenSSL lacks cmp2021 the API's answer says which it needs
  const v32 = /^OpenSSL 3\.([2-9]|\d\d)/.test(sh('openssl', ['version']));
  await page.locator('#cp-variant').selectOption('v3');
  await page.locator('#cp-req').selectOption('sharedSecret');
  await page.locator('#cp-secret').fill('too-short');
  await page.getByRole('button', { name: 'Create' }).click();
  const box = page.getByRole('alert');
  await box.waitFor();
  const text = await box.innerText();
  assert.match(text, /422/);
  assert.match(text, /sharedSecret must be at least 12 characters/);
  assert.match(text, /name is required/);
  if (v32) assert.doesNotMatch(text, /variant/);
  else assert.match(text, /variant v3 \(CMPv3: cmp2021, RFC 9810\) needs OpenSSL 3\.2 or later; this server runs OpenSSL 3\.0/);
  // each field a message names is marked and described by the messages; the first has the focus
  const boxId = await box.getAttribute('id');
  for (const id of ['#cp-name', '#cp-secret', ...(v32 ? [] : ["#cp-variant"])]) {
    assert.equal(await page.locator(id).getAttribute('aria-invalid'), 'true', id);
    assert.equal(await page.locator(id).getAttribute('aria-describedby'), boxId, id);
  }
  assert.equal(await page.locator('#cp-desc').getAttribute('aria-invalid'), null);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'cp-name');
  await shot('cmp-profile-form-errors');
});

test('enroll with openssl cmp, find the certificate, revoke it, kur is refused', async () => {
  const ca = JSON.parse(sh('curl', ['-s', '--cacert', env.ADMIN_CA_FILE, '-u', `${env.ADMIN_USER}:${password}`,
    env.ADMIN_URL + '/authorities'])).find(a => a.name === CA);
  fs.writeFileSync(path.join(WORK, 'ca.pem'), ca.certificate);
  sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'dev.key']);
  sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'new.key']);
  const ir = cmp(['-cmd', 'ir', '-server', env.CMP_BASE_URL + '/' + CMP, '-ref', 'dev', '-secret', 'pass:ui-secret-123',
    '-trusted', 'ca.pem', '-newkey', 'dev.key', '-subject', '/CN=' + DEV, '-certout', 'dev.pem']);
  assert.ok(ir.ok, ir.out);

  await go('#/certificates');
  await page.locator('#ce-subject').fill(DEV);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('main[data-route^="#/certificates?"]').waitFor();
  const link = page.getByRole('link', { name: 'CN=' + DEV });
  await link.waitFor();
  await shot('certificates');
  await link.click();
  await page.getByRole('heading', { name: new RegExp('CN=' + DEV) }).waitFor();
  await page.locator('#rv-reason').selectOption('keyCompromise');
  await page.getByRole('button', { name: 'Revoke…' }).click();
  // the dialog names what happens, and Cancel has the focus
  await page.getByText(/with reason keyCompromise\? The certificate stays revoked/).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
  await page.locator('#confirm-revoke').click();
  await page.getByText('keyCompromise').first().waitFor({ state: 'detached' }).catch(() => {});
  await page.locator('dd', { hasText: /^revoked$/ }).waitFor();
  await page.locator('dd', { hasText: /^keyCompromise$/ }).waitFor();   // the reason's name, not 1
  await shot('certificate-detail');

  const kur = cmp(['-cmd', 'kur', '-server', env.CMP_BASE_URL + '/' + CMP, '-trusted', 'ca.pem',
    '-cert', 'dev.pem', '-key', 'dev.key', '-newkey', 'new.key', '-certout', 'new.pem', '-reqout', 'kur.der']);
  assert.equal(kur.ok, false, 'kur with a revoked certificate was accepted');
  // The refusal is MAC-protected (this profile's responses are), which a
  // client holding only its certificate cannot check: read the reason as sent.
  sh('curl', ['-s', '-o', 'kur-resp.der', '-H', 'Content-Type: application/pkixcmp', '--data-binary', '@kur.der',
    env.CMP_BASE_URL + '/' + CMP]);
  assert.match(sh('openssl', ['asn1parse', '-inform', 'DER', '-in', 'kur-resp.der']), /revoked/);
});

test('a hold is released and then made permanent from the console; the Authority shows and gives its CRL', async () => {
  const HOLD = DEV + '-hold';
  sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'hold.key']);
  const ir = cmp(['-cmd', 'ir', '-server', env.CMP_BASE_URL + '/' + CMP, '-ref', 'dev', '-secret', 'pass:ui-secret-123',
    '-trusted', 'ca.pem', '-newkey', 'hold.key', '-subject', '/CN=' + HOLD, '-certout', 'hold.pem']);
  assert.ok(ir.ok, ir.out);
  await go('#/certificates');
  await page.locator('#ce-subject').fill(HOLD);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('main[data-route^="#/certificates?"]').waitFor();
  await page.getByRole('link', { name: 'CN=' + HOLD }).click();
  await page.getByRole('heading', { name: new RegExp('CN=' + HOLD) }).waitFor();
  const hold = async () => {
    await page.locator('#rv-reason').selectOption('certificateHold');
    await page.getByRole('button', { name: 'Revoke…' }).click();
    await page.getByText(/on hold: listed on the CRL until you release it/).waitFor();
    await page.locator('#confirm-revoke').click();
    await page.locator('dd', { hasText: /^certificateHold$/ }).waitFor();
  };
  await hold();
  await page.getByRole('button', { name: 'Release from hold…' }).click();
  await page.getByText(/It is valid again and leaves the next CRL/).waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Release' }).click();
  await page.locator('dd', { hasText: /^valid$/ }).waitFor();
  await hold();
  // certificateHold is not offered again; the default is keyCompromise
  assert.equal(await page.locator('#rv-reason option[value="certificateHold"]').count(), 0);
  await page.getByRole('button', { name: 'Revoke for good…' }).click();
  await page.getByText(/becomes a revocation for good, dated from the hold/).waitFor();
  await page.locator('#confirm-revoke').click();
  await page.locator('dd', { hasText: /^keyCompromise$/ }).waitFor();
  await shot('certificate-hold-made-permanent');

  // the Authority's CRL: made within seconds, listed with its number, downloadable
  const row = () => page.getByRole('row', { name: new RegExp(CA) });
  for (let i = 0; i < 30; i++) {
    await go('#/authorities');
    if (/No\. \d+, [1-9]\d* revoked/.test(await row().innerText())) break;
    await page.waitForTimeout(300);
  }
  assert.match(await row().innerText(), /No\. \d+, [1-9]\d* revoked, next update/);
  const [download] = await Promise.all([page.waitForEvent('download'),
    row().getByRole('button', { name: 'Download CRL' }).click()]);
  await download.saveAs(path.join(WORK, 'ui.crl.pem'));
  const crlText = sh('openssl', ['crl', '-in', 'ui.crl.pem', '-CAfile', 'ca.pem', '-noout', '-text']);
  assert.match(crlText, /Key Compromise/);
  // its revocation settings: a wrong URL is refused with the API's reason, a right one shown
  await row().getByRole('button', { name: 'Revocation settings' }).click();
  await page.locator('#au-publicurl').fill('https://pki.example.org/crl');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/publicUrl must be an http:\/\/ URL/).waitFor();
  await page.locator('#au-publicurl').fill('http://pki.example.org/crl');
  await page.locator('#au-ocspurl').fill('http://pki.example.org/ocsp');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`Revocation settings of ${CA} saved`).waitFor();
  await row().getByText(`http://pki.example.org/crl/${CA}.crl`).waitFor();
  await row().getByText(`OCSP: http://pki.example.org/ocsp/${CA}`).waitFor();
  await shot('authorities-crl');
  assert.deepEqual(dialogs, [], 'a script ran or the page failed');
});

test('the page of a CMP Profile shows its URLs and a client command that enrolls as shown', async () => {
  const demo = JSON.parse(sh('curl', ['-s', '--cacert', env.ADMIN_CA_FILE, '-u', `${env.ADMIN_USER}:${password}`,
    env.ADMIN_URL + '/cmpProfiles'])).find(p => p.name === 'demo');
  await go('#/cmp-profiles/' + demo.uuid);
  const https = new URL(env.ADMIN_URL).origin, http = new URL(env.CMP_BASE_URL).origin;
  // HTTPS (the console's own address): TLS options and every URL
  assert.equal(await page.locator('#cp-base').inputValue(), https);
  let cmd = await page.locator('#cp-command').innerText();
  assert.match(cmd, new RegExp(`-server ${https}/api/v1/protocols/cmp/demo`));
  assert.match(cmd, /-tls_used -tls_trusted tls-ca\.pem/);
  await page.locator('#cp-urls').getByText(`${https}/.well-known/cmp/p/demo`).waitFor();
  await page.locator('#cp-urls').getByText(`${https}/api/v1/protocols/cmp/raProfile/demo`).waitFor();
  // the trust bundle for its signed responses, downloaded from the page
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download demo-trust.pem' }).click()]);
  await download.saveAs(path.join(WORK, 'demo-trust.pem'));
  // HTTP: the command as shown, run as it is (the secret from the environment)
  await page.locator('#cp-base').fill(http);
  cmd = await page.locator('#cp-command').innerText();
  assert.doesNotMatch(cmd, /tls_used/);
  assert.match(cmd, /-secret env:CMP_SECRET/);
  assert.match(cmd, /-trusted demo-trust\.pem/);
  await shot('cmp-profile-detail');
  const secret = fs.readFileSync(env.CMP_SECRET_FILE, 'utf8').trim();
  const out = sh('bash', ['-c', cmd.replace('/CN=device-1', '/CN=ui-cmd-' + RUN) + ' 2>&1'],
    { env: { ...process.env, CMP_SECRET: secret } });
  assert.ok(fs.existsSync(path.join(WORK, 'device.pem')), out);
  assert.match(sh('openssl', ['verify', '-CAfile', 'demo-trust.pem', 'device.pem']), /device\.pem: OK/);
});

test('deletes and bulk actions ask first; bulk results are shown item by item', async () => {
  const ca = api('GET', '/raProfiles').find(r => r.name === RA).authorityUuid;
  const ra = api('POST', `/authorities/${ca}/raProfiles`, { name: 'ui-bulk-ra' });
  const made = {};
  for (const n of ['ui-bulk-a', 'ui-bulk-b']) {
    made[n] = api('POST', '/cmpProfiles', { name: n, variant: 'v2', requestProtectionMethod: 'sharedSecret',
      responseProtectionMethod: 'sharedSecret', sharedSecret: 'ui-bulk-secret-1' }).uuid;
  }
  api('PATCH', `/authorities/${ca}/raProfiles/${ra.uuid}/protocols/cmp/activate/${made['ui-bulk-a']}`);
  await go('#/cmp-profiles');
  // a single delete: Cancel keeps the profile
  await page.getByRole('button', { name: 'Delete ui-bulk-b' }).click();
  await page.getByText(/Delete CMP Profile ui-bulk-b\? Devices using its URL can no longer enroll/).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
  await page.keyboard.press('Enter');
  await page.getByRole('row', { name: /ui-bulk-b/ }).waitFor();
  // a bulk delete where one cannot go (an RA Profile uses ui-bulk-a): each item's result
  await page.getByRole('checkbox', { name: 'select ui-bulk-a' }).check();
  await page.getByRole('checkbox', { name: 'select ui-bulk-b' }).check();
  await page.getByRole('button', { name: 'Delete selected' }).click();
  await page.getByText('Delete 2 CMP Profile(s): ui-bulk-a, ui-bulk-b?').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  const result = page.getByRole('alert');
  await result.getByText('Delete: 1 of 2 done').waitFor();
  await result.getByText(/ui-bulk-a: not done — Cannot remove as there are associated RA Profiles/).waitFor();
  await result.getByText('ui-bulk-b: done').waitFor();
  await shot('cmp-profiles-bulk-result');
  api('DELETE', '/cmpProfiles/delete/force', [made['ui-bulk-a']]);
  api('DELETE', `/authorities/${ca}/raProfiles/${ra.uuid}`);
  assert.deepEqual(dialogs, [], 'a script ran or the page failed');
});

test('every page renders, on a laptop and a phone', async () => {
  for (const [hash, name] of [['#/', 'dashboard'], ['#/ra-profiles', 'ra-profiles'], ['#/audit', 'audit']]) {
    await go(hash);
    await shot(name);
  }
  await page.getByRole('cell', { name: /POST \/cmpProfiles/ }).first().waitFor();
  await go('#/');
  await page.getByText('failed CMP requests, 14 days').waitFor();
  // the chart of GET /statistics/certificates: a bar per day, a y-axis
  const chart = page.getByRole('img', { name: 'certificates issued per day, last 14 days' });
  await chart.waitFor();
  assert.equal(await chart.locator('rect').count(), 14);
  assert.ok(await chart.locator('line.grid').count() >= 2, 'the chart has no y-axis');
  await page.setViewportSize({ width: 390, height: 844 });
  await go('#/cmp-profiles');
  await shot('cmp-profiles-phone');
  // a card per profile: its state, CMP URL and actions stay on a phone
  const del = page.getByRole('button', { name: 'Delete demo', exact: true });
  const card = page.locator('tr', { has: del });
  assert.equal(await card.locator('td[data-label="State"]').isVisible(), true, 'state hidden on a phone');
  assert.equal(await card.locator('td[data-label="CMP URL"]').isVisible(), true, 'CMP URL hidden on a phone');
  assert.equal(await del.isVisible(), true, 'actions hidden on a phone');
  // keyboard: from the top of the page, Tab walks the menu and reaches the
  // page's first action
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement.textContent === 'New CMP Profile');
  }
  assert.ok(reached, 'the New CMP Profile button is not reachable with Tab');
  assert.deepEqual(dialogs, [], 'a script ran or the page failed');
});

test('the shared secret is changed in the console with an overlap: both secrets enroll inside it, then only the new', async () => {
  const prof = api('GET', '/cmpProfiles').find(p => p.name === CMP);
  const enroll = (secret, cn) => {
    sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', cn + '.key']);
    return cmp(['-cmd', 'ir', '-server', env.CMP_BASE_URL + '/' + CMP, '-ref', 'dev', '-secret', 'pass:' + secret,
      '-trusted', 'ca.pem', '-newkey', cn + '.key', '-subject', '/CN=' + cn, '-certout', cn + '.pem']);
  };
  await go('#/cmp-profiles/' + prof.uuid);
  assert.equal(await page.locator('#cp-overlap').isVisible(), true);
  assert.equal(await page.locator('#cp-overlap-end').isVisible(), false, 'nothing to end yet');
  await page.locator('#cp-secret').fill('ui-secret-456-new');
  // an hour from now, in the browser's local time as datetime-local takes it
  const soon = Date.now() + 3600e3;
  await page.locator('#cp-overlap').fill(await page.evaluate((t) => {
    const d = new Date(t);
    return new Date(t - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 16);
  }, soon));
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`CMP Profile ${CMP} saved`).waitFor();
  const saved = api('GET', '/cmpProfiles/' + prof.uuid);
  assert.ok(Math.abs(Date.parse(saved.previousSecretValidUntil) - soon) < 120e3, String(saved.previousSecretValidUntil));
  let r = enroll('ui-secret-123', DEV + '-old');
  assert.ok(r.ok, 'the old secret inside the window: ' + r.out);
  r = enroll('ui-secret-456-new', DEV + '-new');
  assert.ok(r.ok, 'the new secret: ' + r.out);
  // the page shows the window, and ends it
  await go('#/cmp-profiles');
  await go('#/cmp-profiles/' + prof.uuid);
  await page.locator('dd', { hasText: /^accepted until / }).waitFor();
  await page.locator('#cp-overlap-end').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`CMP Profile ${CMP} saved`).waitFor();
  assert.equal(api('GET', '/cmpProfiles/' + prof.uuid).previousSecretValidUntil, null);
  assert.equal(enroll('ui-secret-123', DEV + '-old2').ok, false, 'the old secret after the window ended');
  r = enroll('ui-secret-456-new', DEV + '-new2');
  assert.ok(r.ok, 'the new secret after the window ended: ' + r.out);
  assert.deepEqual(dialogs, []);
});

test('a certificate page shows its history; the audit log filters, names objects and exports CSV', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });   // the phone test ran before
  const cert = api('GET', '/certificates?subject=' + encodeURIComponent('CN=' + DEV)).certificates
    .find(c => c.subjectDn === 'CN=' + DEV);
  await go('#/certificates/' + cert.uuid);
  const history = page.locator('main table').first();
  await history.getByRole('cell', { name: 'cmp.ir', exact: true }).waitFor();
  await history.getByRole('cell', { name: 'cmp.certConf', exact: true }).waitFor();
  await history.getByRole('cell', { name: 'POST /certificates/{uuid}/revoke', exact: true }).waitFor();
  await go('#/audit');
  await page.locator('#al-object').fill(DEV);
  await page.locator('#al-action').fill('cmp');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.locator(`main[data-route^="#/audit?"]`).waitFor();
  // objects by name, linked to the certificate
  const link = page.getByRole('link', { name: new RegExp(`^CN=${DEV} \\(serial `) }).first();
  await link.waitFor();
  const rows = await page.locator('main tbody tr').count();
  assert.ok(rows >= 2, `${rows} rows`);
  for (const a of await page.locator('main tbody tr td:nth-child(3)').allInnerTexts())
    assert.match(a, /^cmp\./);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#al-csv').click()]);
  const csvPath = path.join(WORK, 'audit.csv');
  await download.saveAs(csvPath);
  const lines = fs.readFileSync(csvPath, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'id,at,actor,action,object,objectName,result,details,certificateUuid');
  assert.equal(lines.length - 1, rows, 'the CSV holds what the filtered page shows');
  await shot('audit-log');
  assert.deepEqual(dialogs, []);
});

test('a signing certificate is issued from the CMP Profile form; a device enrolls with the bundle the profile page gives', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const SIG = CMP + '-sig';
  const ca = api('GET', '/authorities').find(a => a.name === CA);
  await go('#/cmp-profiles');
  await page.getByRole('button', { name: 'New CMP Profile' }).click();
  await page.locator('#cp-name').fill(SIG);
  await page.locator('#cp-req').selectOption('sharedSecret');
  await page.locator('#cp-rsp').selectOption('signature');
  await page.locator('#cp-secret').fill('ui-secret-sig-123');
  await page.locator('#cp-ra').selectOption({ label: RA });
  await page.locator('#sg-new').click();
  await page.locator('#sg-subject').waitFor();
  // the RA Profile's Authority comes first: its devices trust that CA
  assert.equal(await page.locator('#sg-auth').inputValue(), ca.uuid);
  await page.locator('#sg-subject').fill('CN=UI signer ' + RUN);
  await page.locator('#sg-days').press('Enter');          // issues; does not save the profile
  await page.getByText(`Signing certificate CN=UI signer ${RUN} issued and chosen`).waitFor();
  const chosen = await page.locator('#cp-signer option:checked').innerText();
  assert.match(chosen, new RegExp(`^CN=UI signer ${RUN} \\(.*\\), issued by CN=UI CA,O=Browser Test$`));
  assert.equal(api('GET', '/cmpProfiles').some(p => p.name === SIG), false, 'Enter saved the profile');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText(`CMP Profile ${SIG} saved`).waitFor();
  await page.getByRole('row', { name: new RegExp(SIG) }).getByRole('button', { name: 'Enable' }).click();
  await page.getByRole('row', { name: new RegExp(SIG) }).getByText('enabled', { exact: true }).waitFor();
  const prof = api('GET', '/cmpProfiles').find(p => p.name === SIG);
  assert.equal(prof.signingCertificate.subjectDn, 'CN=UI signer ' + RUN);
  await go('#/cmp-profiles/' + prof.uuid);
  assert.equal(await page.locator('p.errors[role="note"]').count(), 0, 'a warning about the signer\'s CA');
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: `Download ${SIG}-trust.pem` }).click()]);
  await download.saveAs(path.join(WORK, SIG + '-trust.pem'));
  sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sig-dev.key']);
  const ir = cmp(['-cmd', 'ir', '-server', env.CMP_BASE_URL + '/' + SIG, '-ref', 'dev', '-secret', 'pass:ui-secret-sig-123',
    '-trusted', SIG + '-trust.pem', '-newkey', 'sig-dev.key', '-subject', '/CN=' + DEV + '-sig', '-certout', 'sig-dev.pem']);
  assert.ok(ir.ok, ir.out);
  assert.deepEqual(dialogs, []);
});

// axe-core (WCAG 2 A/AA rules) on every page, on a laptop and a phone: no
// serious or critical violation. Its script is injected, which the console's
// Content-Security-Policy forbids: this context alone bypasses it.
test('accessibility: axe-core finds no serious or critical violation on any page, laptop and phone', async () => {
  const axe = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname),
    'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true,
    httpCredentials: { username: env.ADMIN_USER, password } });
  const p = await ctx.newPage();
  const prof = api('GET', '/cmpProfiles').find(x => x.name === CMP);
  const cert = api('GET', '/certificates?limit=1').certificates[0];
  const ra = api('GET', '/raProfiles').find(x => x.name === RA);
  const pages = ['#/', '#/cmp-profiles', '#/cmp-profiles/' + prof.uuid, '#/ra-profiles', '#/authorities',
    '#/certificates', '#/certificates/' + cert.uuid, '#/audit',
    `#/ra-profiles/${ra.authorityUuid}/${ra.uuid}/devices`, '#/approvals', '#/authorities/' + ra.authorityUuid];
  const found = [];
  for (const [w, hgt] of [[1280, 800], [390, 844]]) {
    await p.setViewportSize({ width: w, height: hgt });
    for (const hash of pages) {
      await p.goto(UI + hash);
      await p.locator(`main[data-route="${hash}"]`).waitFor();
      await p.addScriptTag({ content: axe });
      const res = await p.evaluate(async () => (await window.axe.run(document,
        { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`));
      for (const v of res) found.push(`${w}px ${hash}: ${v}`);
    }
  }
  await ctx.close();
  assert.deepEqual(found, []);
});

test('an Authority is deleted from the console after a confirmation; one in use is refused with the reason', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const GONE = 'ui-gone-' + RUN;
  api('POST', '/authorities', { name: GONE, generate: { subject: 'CN=' + GONE } });
  await go('#/authorities');
  await page.getByRole('button', { name: 'Delete ' + GONE, exact: true }).click();
  await page.getByText(`Delete Authority ${GONE}? Its CA key is destroyed`).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByText(`Authority ${GONE} deleted`).waitFor();
  assert.equal(api('GET', '/authorities').some(a => a.name === GONE), false);
  // the demo CA has issued certificates and RA Profiles use it: refused, said why
  await page.getByRole('button', { name: 'Delete demo', exact: true }).click();
  await page.getByText('RA Profiles using it: ').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('alert').getByText(/RA Profiles use it|has issued certificates/).waitFor();
  assert.equal(api('GET', '/authorities').some(a => a.name === 'demo'), true);
});

test('devices are registered, imported and given new secrets in the console; each enrolls once with its own secret', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const ra = api('GET', '/raProfiles').find(r => r.name === RA);
  const prof = api('GET', '/cmpProfiles').find(p => p.name === CMP);
  const base = `/authorities/${ra.authorityUuid}/raProfiles/${ra.uuid}/deviceRegistrations`;
  const enroll = (kid, secret, cn, extra = []) => {
    sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', cn + '.key']);
    return cmp(['-cmd', 'ir', '-server', env.CMP_BASE_URL + '/' + CMP, '-ref', kid, '-secret', 'pass:' + secret,
      '-trusted', 'ca.pem', '-newkey', cn + '.key', '-subject', '/CN=' + cn, '-certout', cn + '.pem', ...extra]);
  };
  const K1 = 'k1-' + RUN, K2 = 'k2-' + RUN, K3 = 'k3-' + RUN;
  await go('#/ra-profiles');
  await page.getByRole('link', { name: 'Devices of ' + RA }).click();
  await page.getByRole('heading', { name: `Devices of RA Profile ${RA}` }).waitFor();
  await page.getByText('No device is registered yet.').waitFor();
  // a field the API refuses is marked and named
  await page.getByRole('button', { name: 'Register a device' }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'dv-kid');
  await page.locator('#dv-kid').fill(K1);
  await page.locator('#dv-subject').fill('CN=' + K1);
  await page.locator('#dv-sans').fill('FOO:bar');
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  await page.getByRole('alert').getByText(/subjectAltName 'FOO:bar'/).waitFor();
  assert.equal(await page.locator('#dv-sans').getAttribute('aria-invalid'), 'true');
  await page.locator('#dv-sans').fill(`DNS:${K1}.example`);
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  await page.getByText(`Device ${K1} registered. Its secret is shown only now`).waitFor();
  const secret1 = await page.locator('code.secret').innerText();
  assert.match(secret1, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$/);
  await shot('devices');
  let r = enroll(K1, secret1, K1, ['-sans', K1 + '.example']);
  assert.ok(r.ok, 'the registered device: ' + r.out);
  assert.equal(enroll(K1, secret1, K1).ok, false, 'a second use');
  await go('#/ra-profiles');
  await go(`#/ra-profiles/${ra.authorityUuid}/${ra.uuid}/devices`);
  const row1 = page.getByRole('row', { name: new RegExp(K1) });
  await row1.getByText('used', { exact: true }).waitFor();
  await row1.getByText(/1 failed attempt\(s\); last: already used/).waitFor();
  await row1.getByRole('link', { name: 'certificate' }).waitFor();
  // a new secret: asked first, shown once; the registration usable again
  await page.getByRole('button', { name: 'New secret for ' + K1 }).click();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
  await page.getByRole('dialog').getByRole('button', { name: 'New secret' }).click();
  await page.getByText(`Device ${K1} has a new secret`).waitFor();
  const secret1b = await page.locator('code.secret').innerText();
  assert.notEqual(secret1b, secret1);
  await page.getByRole('row', { name: new RegExp(K1) }).getByText('active', { exact: true }).waitFor();
  assert.ok(enroll(K1, secret1b, K1 + '-b', []).ok === false, 'another subject than registered');
  assert.ok(enroll(K1, secret1b, K1).ok, 'the new secret');
  // a CSV import: the secrets come back as a file to download
  await page.getByRole('button', { name: 'Import CSV' }).click();
  await page.locator('#dv-csv').fill(`senderKid,subject\n${K2},CN=${K2}\n${K3},CN=${K3}\n`);
  const [dl] = await Promise.all([page.waitForEvent('download'),
    (async () => {
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await page.getByText('2 device(s) imported').waitFor();
      await page.getByRole('link', { name: `Download ${RA}-device-secrets.csv` }).click();
    })()]);
  const rows = fs.readFileSync(await dl.path(), 'utf8').trim().split('\n');
  assert.equal(rows[0], 'senderKid,secret,uuid');
  const k3 = rows.find(l => l.startsWith(`"${K3}"`)).split(',')[1].replaceAll('"', '');
  assert.ok(enroll(K3, k3, K3).ok, 'a device of the import');
  // a CSV with a bad row: the row named, nothing stored
  await page.getByRole('button', { name: 'Import CSV' }).click();
  await page.locator('#dv-csv').fill(`senderKid,subject\nk9-${RUN},CN=x\nk9-${RUN},CN=y\n`);
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByRole('alert').getByText(/row 3: senderKid k9-\S+ is given twice/).waitFor();
  assert.equal(api('GET', base + '?q=k9-').total, 0);
  // filters, then delete after a confirmation
  await go(`#/ra-profiles/${ra.authorityUuid}/${ra.uuid}/devices?state=active`);
  await page.getByRole('row', { name: new RegExp(K2) }).waitFor();
  assert.equal(await page.getByRole('row', { name: new RegExp(K3) }).count(), 0, 'a used one among the active');
  await page.getByRole('button', { name: 'Delete ' + K2 }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByText(`Registration of ${K2} deleted`).waitFor();
  assert.equal(api('GET', base + '?q=' + K2).total, 0);
  // the CMP Profile takes registrations only: its own secret is refused then
  await go('#/cmp-profiles/' + prof.uuid);
  await page.locator('#cp-regonly').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`CMP Profile ${CMP} saved`).waitFor();
  assert.equal(api('GET', '/cmpProfiles/' + prof.uuid).registrationsOnly, true);
  assert.equal(enroll('dev', 'ui-secret-456-new', DEV + '-ro').ok, false, 'the profile secret with registrationsOnly');
  await page.locator('#cp-regonly').uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  // (the notice of the first save is still there: wait for the change)
  for (let i = 0; i < 50 && api('GET', '/cmpProfiles/' + prof.uuid).registrationsOnly; i++)
    await page.waitForTimeout(100);
  await page.locator('#cp-regonly:not(:checked)').waitFor();
  assert.ok(enroll('dev', 'ui-secret-456-new', DEV + '-ro2').ok, 'the profile secret again');
  assert.deepEqual(dialogs, []);
});

test('a request waits for approval; the console approves one and rejects another with a reason the device is told', async () => {
  const { spawn } = await import('node:child_process');
  await page.setViewportSize({ width: 1280, height: 800 });
  const ra = api('GET', '/raProfiles').find(r => r.name === RA);
  // the RA Profile's form: approval on, devices poll every second
  await go('#/ra-profiles');
  await page.getByRole('button', { name: 'Edit ' + RA }).click();
  assert.equal(await page.locator('#ra-ap-check').isVisible(), false, 'approval fields shown while off');
  await page.locator('#ra-approval').check();
  await page.locator('#ra-ap-check').fill('1');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`RA Profile ${RA} saved`).waitFor();
  const saved = api('GET', '/raProfiles').find(r => r.name === RA);
  assert.equal(saved.requireApproval, true);
  assert.equal(saved.approvalCheckAfter, 1);
  // enrollments that poll until a decision (openssl cmp in the background)
  const enroll = (cn) => {
    sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', cn + '.key']);
    const child = spawn('openssl', ['cmp', '-cmd', 'ir', '-server', env.CMP_BASE_URL + '/' + CMP, '-ref', 'dev',
      '-secret', 'pass:ui-secret-456-new', '-trusted', 'ca.pem', '-newkey', cn + '.key', '-subject', '/CN=' + cn,
      '-certout', cn + '.pem'], { cwd: WORK });
    let out = '';
    child.stdout.on('data', d => { out += d; });
    child.stderr.on('data', d => { out += d; });
    return new Promise(resolve => child.on('close', code => resolve({ code, out: () => out })));
  };
  const A = 'ap-ok-' + RUN, B = 'ap-no-' + RUN;
  const doneA = enroll(A), doneB = enroll(B);
  await go('#/approvals');
  for (let i = 0; i < 50 && (await page.getByRole('row', { name: new RegExp(B) }).count()) === 0; i++) {
    await page.waitForTimeout(200);
    await go('#/');
    await go('#/approvals');
  }
  const rowA = page.getByRole('row', { name: new RegExp(A) });
  await rowA.getByText('ir, EC key').waitFor();
  await rowA.getByText(`cmp:${CMP}:shared-secret`).waitFor();
  await shot('approvals');
  await page.getByRole('button', { name: 'Approve CN=' + A }).click();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel');
  await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
  await page.getByText(`CN=${A}: approved`).waitFor();
  const a = await doneA;
  assert.equal(a.code, 0, 'the approved device: ' + a.out());
  // a rejection needs its reason; the device gets it
  await page.getByRole('button', { name: 'Reject CN=' + B }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Reject' }).click();
  await page.getByRole('dialog').getByRole('alert').getByText(/reason is required/).waitFor();
  assert.equal(await page.locator('#ap-reason').getAttribute('aria-invalid'), 'true');
  await page.locator('#ap-reason').fill('unknown serial number');
  await page.getByRole('dialog').getByRole('button', { name: 'Reject' }).click();
  await page.getByText(`CN=${B}: rejected`).waitFor();
  const b = await doneB;
  assert.notEqual(b.code, 0);
  assert.match(b.out(), /request rejected by an administrator: unknown serial number/);
  // neither waits any more (other tests may have left requests waiting)
  assert.equal(await page.getByRole('row', { name: new RegExp(`${A}|${B}`) }).count(), 0);
  // the decided ones, with who decided and why
  await go('#/approvals?state=rejected');
  await page.getByRole('row', { name: new RegExp(B) }).getByText('user:admin: unknown serial number').waitFor();
  api('PUT', `/authorities/${ra.authorityUuid}/raProfiles/${ra.uuid}`, { requireApproval: false });
  assert.deepEqual(dialogs, []);
});

test('a page that loads slowly does not replace the page asked after it', async () => {
  const prof = api('GET', '/cmpProfiles').find(p => p.name === CMP);
  // the CMP Profile page waits for its form's data; hold that back 1.5 s
  await page.route('**/api/v1/cmpProfiles/signingCertificates', async (r) => {
    await new Promise(res => setTimeout(res, 1500));
    await r.continue();
  });
  await page.goto(UI + '#/cmp-profiles/' + prof.uuid);
  await page.waitForTimeout(200);
  await go('#/authorities');
  await page.getByRole('heading', { name: 'Authorities' }).waitFor();
  await page.waitForTimeout(2000);
  assert.equal(await page.getByRole('heading', { level: 2 }).innerText(), 'Authorities',
    'the slow CMP Profile page replaced the Authorities page');
  await page.unroute('**/api/v1/cmpProfiles/signingCertificates');
  assert.deepEqual(dialogs, []);
});

test('an Authority has its own page: details, certificate and chain downloads, edit, and a delete that says why not', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const ca = api('GET', '/authorities').find(a => a.name === CA);
  await go('#/authorities');
  await page.getByRole('link', { name: CA, exact: true }).click();
  await page.getByRole('heading', { name: 'Authority ' + CA }).waitFor();
  await page.getByText('CN=UI CA,O=Browser Test (a root: self-signed)').waitFor();
  await page.getByRole('link', { name: RA }).waitFor();
  const [dl] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: `Download ${CA}-chain.pem` }).click()]);
  const pem = fs.readFileSync(await dl.path(), 'utf8');
  assert.equal((pem.match(/BEGIN CERTIFICATE/g) || []).length, 1, 'a root: its chain is itself');
  assert.equal(pem, ca.certificate);
  await page.locator('#au-edit-desc').fill('the console test CA');
  await page.getByRole('button', { name: 'Save description' }).click();
  await page.getByText(`Authority ${CA} saved`).waitFor();
  assert.equal(api('GET', '/authorities/' + ca.uuid).description, 'the console test CA');
  // it has issued certificates: the dialog says so, the API refuses
  await page.getByRole('button', { name: 'Delete ' + CA }).click();
  await page.getByText('It has issued certificates or RA Profiles use it').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('alert').waitFor();
  assert.equal(api('GET', '/authorities').some(a => a.name === CA), true);
  await page.getByRole('link', { name: 'the certificates it issued' }).click();
  await page.locator(`main[data-route="#/certificates?authorityUuid=${ca.uuid}"]`).waitFor();
  assert.deepEqual(dialogs, []);
});

test('an Authority\'s key is rolled over from its page: a successor at a chosen time, cancelled after a confirmation, then one at once', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const name = 'ui-roll-' + RUN;
  const ca = api('POST', '/authorities', { name, generate: { subject: 'CN=UI Roll Root,O=Browser Test', keyType: 'EC' } });
  await go('#/authorities/' + ca.uuid);
  await page.getByRole('heading', { name: 'Authority ' + name }).waitFor();
  await page.getByRole('button', { name: 'Roll over key of ' + name }).click();
  // a key type OpenSSL does not know: the message, at the field
  await page.locator('#ro-keytype').fill('NOPE');
  await page.getByRole('button', { name: 'Roll over', exact: true }).click();
  await page.getByRole('alert').getByText(/keyType NOPE/).waitFor();
  assert.equal(await page.locator('#ro-keytype').getAttribute('aria-invalid'), 'true');
  // tomorrow, in the browser's local time
  const t = new Date(Date.now() + 86400e3);
  const pad = n => String(n).padStart(2, '0');
  const local = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
  await page.locator('#ro-keytype').fill('');
  await page.locator('#ro-from').fill(local);
  await page.getByRole('button', { name: 'Roll over', exact: true }).click();
  await page.getByText(`The new key of ${name} takes over at`).waitFor();
  const waiting = api('GET', '/authorities/' + ca.uuid);
  assert.equal(waiting.successor.generation, 1);
  assert.equal(waiting.keyGeneration, 0);
  assert.equal(Math.abs(Date.parse(waiting.successor.activeFrom) - t.getTime()) < 61e3, true, 'the time asked for');
  await page.getByText(/generation 1, EC, takes over at/).waitFor();
  const [dl] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: `Download ${name}-next.pem` }).click()]);
  assert.equal(fs.readFileSync(await dl.path(), 'utf8'), waiting.successor.certificate);
  assert.equal(await page.getByRole('button', { name: 'Roll over key of ' + name }).count(), 0, 'one successor at a time');
  // cancelled, after a dialog that says what goes
  await page.getByRole('button', { name: 'Cancel rollover of ' + name }).click();
  await page.getByRole('dialog').getByText('The successor key (generation 1) is destroyed').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel rollover' }).click();
  await page.getByText(`The key rollover of ${name} was cancelled`).waitFor();
  assert.equal(api('GET', '/authorities/' + ca.uuid).successor, null);
  // at once: the new key issues, the old one is retired
  await page.getByRole('button', { name: 'Roll over key of ' + name }).click();
  await page.getByRole('button', { name: 'Roll over', exact: true }).click();
  await page.getByText(`${name} issues with its new key (generation 1) from now on`).waitFor();
  await page.getByText(/generation 1; retired keys \(each still signs the CRL of its certificates\): generation 0 since/).waitFor();
  await page.getByRole('link', { name: `Download ${name}-oldWithNew.pem` }).waitFor();
  const now = api('GET', '/authorities/' + ca.uuid);
  assert.equal(now.keyGeneration, 1);
  assert.equal(now.retiredKeys.length, 1);
  assert.notEqual(now.certificate, ca.certificate);
  await shot('authority-rollover');
  assert.deepEqual(dialogs, []);
});

test('a subordinate Authority is generated in the console under an existing one', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const parent = api('GET', '/authorities').find(a => a.name === 'demo');
  const name = 'ui-sub-' + RUN;
  await go('#/authorities');
  await page.getByRole('button', { name: 'New Authority' }).click();
  await page.locator('#au-name').fill(name);
  await page.locator('#au-subject').fill('CN=UI Sub,O=Browser Test');
  await page.locator('#au-issuer').selectOption(parent.uuid);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByText(`Authority ${name} created`).waitFor();
  const sub = api('GET', '/authorities').find(a => a.name === name);
  assert.equal(sub.issuerDn, parent.subjectDn);
  assert.equal(sub.chain, parent.certificate, 'its chain is its issuer, a root');
  assert.equal(Date.parse(sub.notAfter) <= Date.parse(parent.notAfter), true);
  assert.deepEqual(dialogs, []);
});

test('an RA Profile is told the key type the server makes for devices (central key generation), or why this server cannot', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const name = 'ui-ckg-' + RUN;
  const v35 = /^OpenSSL 3\.([5-9]|\d\d)/.test(sh('openssl', ['version']));
  await go('#/ra-profiles');
  await page.getByRole('button', { name: 'New RA Profile' }).click();
  await page.locator('#ra-auth').selectOption({ label: 'demo' });
  await page.locator('#ra-name').fill(name);
  await page.locator('#ra-central').fill('EC:P-384');
  await page.getByRole('button', { name: 'Create' }).click();
  if (!v35) {
    const box = page.getByRole('alert');
    await box.waitFor();
    assert.match(await box.innerText(), /centralKeyType: central key generation \(RFC 9483 4\.1\.6\) needs OpenSSL 3\.5 or later/);
    assert.equal(await page.locator('#ra-central').getAttribute('aria-invalid'), 'true');
    assert.equal(api('GET', '/raProfiles').find(r => r.name === name), undefined);
    return;
  }
  await page.getByText(`RA Profile ${name} created`).waitFor();
  await page.getByRole('row', { name: new RegExp(name) }).getByText(/makes EC:P-384 keys/).waitFor();
  assert.equal(api('GET', '/raProfiles').find(r => r.name === name).centralKeyType, 'EC:P-384');
  // cleared in the edit form
  await page.getByRole('button', { name: 'Edit ' + name }).click();
  assert.equal(await page.locator('#ra-central').inputValue(), 'EC:P-384');
  await page.locator('#ra-central').fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(`RA Profile ${name} saved`).waitFor();
  assert.equal(api('GET', '/raProfiles').find(r => r.name === name).centralKeyType, null);
});

test('an Authority\'s delegated OCSP signer is issued, rotated and removed from its page; openssl ocsp is answered by each', async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  const name = 'ui-ocsp-' + RUN;
  const ca = api('POST', '/authorities', { name, generate: { subject: 'CN=UI OCSP Root,O=Browser Test', keyType: 'EC' } });
  const caFile = path.join(WORK, name + '.pem');
  fs.writeFileSync(caFile, ca.certificate);
  // openssl ocsp about a serial the Authority never issued: the responder's
  // answer verified against the CA; its text names who signed it
  const ask = () => sh('bash', ['-c', `openssl ocsp -issuer ${caFile} -CAfile ${caFile} -serial 0x7e57 ` +
    `-url ${new URL(env.CMP_URL).origin}/ocsp/${name} -resp_text 2>&1`]);
  const signerSerial = (text) => (text.match(/Certificate:\s+Data:[\s\S]*?Serial Number:\s*\n?\s*([0-9a-f:]+)/i) || [])[1];
  await go('#/authorities/' + ca.uuid);
  await page.getByRole('heading', { name: 'Authority ' + name }).waitFor();
  await page.getByText('the CA key', { exact: true }).waitFor();
  let out = ask();
  assert.match(out, /0x7E57: unknown/i);
  assert.equal(signerSerial(out), undefined, 'the CA key signs: no signer certificate in the answer');
  // a key type the server cannot make: the API's message, at the field
  await page.getByRole('button', { name: 'Issue OCSP signer for ' + name }).click();
  await page.locator('#os-keytype').fill('NOPE');
  await page.getByRole('button', { name: 'Issue', exact: true }).click();
  await page.getByRole('alert').getByText(/NOPE/).waitFor();
  assert.equal(await page.locator('#os-keytype').getAttribute('aria-invalid'), 'true');
  await page.locator('#os-keytype').fill('EC');
  await page.getByRole('button', { name: 'Issue', exact: true }).click();
  await page.getByRole('form', { name: 'Issue an OCSP signer for ' + name }).waitFor({ state: 'detached' });
  await page.getByText(`OCSP answers of ${name} are signed by`).waitFor();
  const s1 = api('GET', `/authorities/${ca.uuid}/ocspSigner`);
  await page.getByText(new RegExp(`the delegated signer .*serial ${s1.serialNumber}`)).waitFor();
  const [dl] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: `Download ${name}-ocsp-signer.pem` }).click()]);
  assert.equal(fs.readFileSync(await dl.path(), 'utf8'), s1.certificate);
  out = ask();
  assert.match(out, /Response verify OK/);
  assert.match(out, /0x7E57: unknown/i);
  assert.match(out, /OCSP Signing/, 'the answer carries the delegated signer');
  assert.equal(signerSerial(out).replace(/:/g, '').toLowerCase().replace(/^0+/, ''), s1.serialNumber.toLowerCase().replace(/^0+/, ''));
  // rotated: another certificate, for the days asked, signs from now on
  await page.getByRole('button', { name: 'Rotate OCSP signer of ' + name }).click();
  await page.locator('#os-days').fill('10');
  await page.getByRole('button', { name: 'Rotate', exact: true }).click();
  // (the notice of the issue step is still shown: the form's going is the sign)
  await page.getByRole('form', { name: 'Rotate the OCSP signer of ' + name }).waitFor({ state: 'detached' });
  await page.getByText(`OCSP answers of ${name} are signed by`).waitFor();
  const s2 = api('GET', `/authorities/${ca.uuid}/ocspSigner`);
  assert.notEqual(s2.serialNumber, s1.serialNumber);
  assert.equal(Math.abs(Date.parse(s2.notAfter) - Date.parse(s2.notBefore) - 10 * 86400e3) < 120e3, true, '10 days');
  await page.getByText(new RegExp(`the delegated signer .*serial ${s2.serialNumber}`)).waitFor();
  for (let i = 0; i < 30 && signerSerial(out = ask()).replace(/:/g, '').toLowerCase().replace(/^0+/, '')
    !== s2.serialNumber.toLowerCase().replace(/^0+/, ''); i++) await page.waitForTimeout(100);
  assert.equal(signerSerial(out).replace(/:/g, '').toLowerCase().replace(/^0+/, ''), s2.serialNumber.toLowerCase().replace(/^0+/, ''),
    'the rotated signer answers');
  // removed, after a dialog that says what goes: the CA key signs again
  await page.getByRole('button', { name: 'Remove OCSP signer of ' + name }).click();
  await page.getByRole('dialog').getByText('Its key is destroyed').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove OCSP signer' }).click();
  await page.getByText(`OCSP answers of ${name} are signed by the CA key from now on`).waitFor();
  await page.getByText('the CA key', { exact: true }).waitFor();
  for (let i = 0; i < 30 && signerSerial(out = ask()) !== undefined; i++) await page.waitForTimeout(100);
  assert.equal(signerSerial(out), undefined, 'the CA key signs again');
  assert.match(out, /Response verify OK/);
  await shot('authority-ocsp-signer');
  assert.deepEqual(dialogs, []);
});
