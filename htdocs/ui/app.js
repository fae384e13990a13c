/* SPDX-License-Identifier: Apache-2.0 */
/* mod_cmp management console: a static page that talks only to the Core CMP
 * API, found relative to the page (index.html's meta cmp-api, by default
 * ../api/v1: the console at <prefix>/ui/, the API at <prefix>/api/v1). Everything that comes from the server is shown as text
 * (textContent), never as HTML. No build step, no external resources. */
'use strict';

const API = new URL(document.querySelector('meta[name="cmp-api"]')?.content || '../api/v1',
                    location.href).pathname.replace(/\/$/, '');
const main = document.getElementById('main');

/* ---- small helpers ------------------------------------------------------- */

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'for') el.htmlFor = v;
    else if (k in el && k !== 'list') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(API + path, opts);
  let data = null;
  const text = await res.text();
  if (text) { try { data = JSON.parse(text); } catch (e) { data = { message: text }; } }
  return { ok: res.ok, status: res.status, data };
}

function messages(data) {
  if (Array.isArray(data)) return data.map(String);
  if (data && data.message) return [String(data.message)];
  return ['the request failed'];
}

/* The API's messages above a form, and each field a message names marked
 * invalid and described by them (aria-describedby); the first such field
 * gets the focus. fields: [[RegExp on the message, input], ...]. */
let errorBoxes = 0;
function formErrors(box, res, fields) {
  const err = errorBox(res);
  err.id = 'form-errors-' + (++errorBoxes);
  box.replaceChildren(err);
  const msgs = messages(res.data);
  let first = null;
  for (const [re, input] of fields) {
    if (msgs.some(m => re.test(m))) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', err.id);
      first = first || input;
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  }
  if (first) first.focus();
}

function errorBox(res) {
  return h('div', { class: 'errors', role: 'alert' },
    `The server refused (${res.status}):`, h('ul', {}, messages(res.data).map(m => h('li', {}, m))));
}

function field(id, label, input, hint) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('small', {}, hint) : null);
}

function badge(on, yes = 'enabled', no = 'disabled') {
  return h('span', { class: 'badge ' + (on ? 'on' : 'off') }, on ? yes : no);
}

function select(options, value) {
  const s = h('select');
  for (const [v, label] of options) s.append(h('option', { value: v, selected: v === value }, label));
  return s;
}

/* Each cell carries its column's name (data-label): on a phone the rows
 * become cards, every cell labelled, none hidden (app.css). */
function labelCells(rows, labels) {
  for (const r of rows)
    [...r.children].forEach((td, i) => { if (labels[i]) td.dataset.label = labels[i]; });
  return rows;
}

function table(headers, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, headers.map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, labelCells(rows, headers.map(String)))));
}

/* A form opened below a list: shown, scrolled to, its first field focused. */
function openForm(form) {
  main.append(form);
  const first = form.querySelector('input:not([disabled]):not([type=hidden]), select, textarea');
  (first || form).focus();
  form.scrollIntoView({ block: 'nearest' });
}

/* A render that took so long that another page was asked meanwhile (a
 * later navigation) is dropped: the page shown is always the one asked. */
function pageAt(at, title, ...content) {
  if (at !== location.hash) return;
  page(title, ...content);
}

function page(title, ...content) {
  main.replaceChildren(h('h2', {}, title), ...content.filter(c => c !== null && c !== undefined));
  main.focus();
}

function download(name, text) {
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'application/x-pem-file' })),
    download: name }, 'Download ' + name);
  return a;
}

/* A destructive change only after a dialog that names what will happen;
 * Cancel has the focus, so Enter does nothing harmful. */
function confirmThen(text, label, action) {
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const dialog = h('dialog', { 'aria-label': 'Confirm: ' + label },
    h('p', {}, text),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'danger', onclick: async () => { dialog.close(); dialog.remove(); await action(); } }, label),
      cancel));
  cancel.addEventListener('click', () => { dialog.close(); dialog.remove(); });
  document.body.append(dialog);
  dialog.showModal();
  cancel.focus();
}

/* What a bulk action did, item by item: the API answers 200 with the
 * items it could not change. */
function bulkResult(what, uuids, failures, names) {
  const failed = new Map((Array.isArray(failures) ? failures : []).map(f => [f.uuid, f.message]));
  return h('div', { class: failed.size ? 'errors' : 'notice', role: failed.size ? 'alert' : 'status' },
    `${what}: ${uuids.length - failed.size} of ${uuids.length} done`,
    h('ul', {}, uuids.map(u => h('li', {}, `${names.get(u) || u}: ${failed.has(u) ? 'not done — ' + failed.get(u) : 'done'}`))));
}

async function act(method, path, body, after) {
  const res = await api(method, path, body);
  if (!res.ok) { main.prepend(errorBox(res)); return res; }
  if (after) await after(res);
  return res;
}

/* ---- dashboard ------------------------------------------------------------ */

/* Bars per day with a y-axis (0, half, the largest count) and the day of
 * the month under each bar; perDay as GET /statistics/certificates has it. */
function chart(perDay, key, label) {
  const NS = 'http://www.w3.org/2000/svg';
  const max = Math.max(1, ...perDay.map(d => d[key]));
  const w = 24, hgt = 120, left = 36, top = 8;
  const el = (name, attrs, text) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svg = el('svg', { class: 'chart', viewBox: `0 0 ${left + perDay.length * w} ${top + hgt + 20}`,
    role: 'img', 'aria-label': `${label}, last ${perDay.length} days` });
  for (const v of [0, Math.round(max / 2), max]) {
    const y = top + hgt - Math.round(v / max * hgt);
    svg.append(el('line', { x1: left - 4, x2: left + perDay.length * w, y1: y, y2: y, class: 'grid' }),
      el('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, String(v)));
  }
  perDay.forEach((d, i) => {
    const bh = Math.round(d[key] / max * hgt);
    const r = el('rect', { x: left + i * w + 3, y: top + hgt - bh, width: w - 6, height: bh });
    r.append(el('title', {}, `${d.day}: ${d[key]}`));
    svg.append(r, el('text', { x: left + i * w + 4, y: top + hgt + 14 }, String(d.day).slice(8)));
  });
  return svg;
}

async function dashboard() {
  const at = location.hash;   // the page this render is for (pageAt)
  const day = 86400000, now = Date.now();
  const [stats, expiring, revoked, rejected, refused] = await Promise.all([
    api('GET', '/statistics/certificates?days=14'),
    api('GET', `/certificates?status=valid&limit=10&expiresBefore=${new Date(now + 30 * day).toISOString()}`),
    api('GET', '/certificates?status=revoked&limit=10'),
    api('GET', '/certificates?status=rejected&limit=10'),
    api('GET', '/statistics/cmpRefusals?days=14'),
  ]);
  if (!stats.ok) return pageAt(at, 'Dashboard', errorBox(stats));
  const st = stats.data;
  const byReason = {};
  for (const r of refused.data || []) byReason[r.reason] = (byReason[r.reason] || 0) + Number(r.count);
  const refusedTotal = Object.values(byReason).reduce((a, b) => a + b, 0);
  const issued14 = st.perDay.reduce((a, d) => a + d.issued, 0);
  const empty = (text) => h('p', { class: 'empty' }, text);
  const list = (res, none) => {
    const items = ((res.data && res.data.certificates) || []).map(c =>
      h('li', {}, h('a', { href: '#/certificates/' + c.uuid }, c.subjectDn || c.serialNumber),
        ' ', c.status === 'valid' ? 'expires ' + String(c.notAfter).slice(0, 10) : String(c.revokedAt || '').slice(0, 10)));
    return items.length ? h('ul', {}, items) : empty(none);
  };
  const tile = (n, text) => h('div', { class: 'tile' }, h('div', { class: 'n' }, String(n)), text);
  pageAt(at, 'Dashboard',
    h('div', { class: 'tiles' },
      tile(st.total, 'certificates'), tile(st.byStatus.valid, 'valid'),
      tile(st.expiringWithin30Days, 'expiring within 30 days'),
      tile(st.byStatus.revoked, 'revoked'),
      tile(st.byStatus.rejected, 'failed confirmations (rejected)'),
      tile(refusedTotal, 'failed CMP requests, 14 days')),
    h('h3', {}, 'Certificates issued per day (UTC, 14 days)'),
    h('div', { class: 'card' }, issued14 > 0 ? chart(st.perDay, 'issued', 'certificates issued per day')
      : empty('No certificate was issued in the last 14 days.')),
    h('h3', {}, 'Expiring soon'), list(expiring, 'No valid certificate expires within 30 days.'),
    h('h3', {}, 'Recent revocations'), list(revoked, 'No certificate is revoked.'),
    h('h3', {}, 'Failed CMP requests by reason (14 days)'),
    refusedTotal > 0 ? table(['Reason', 'Requests'], Object.entries(byReason).sort((a, b) => b[1] - a[1])
      .map(([r, n]) => h('tr', {}, h('td', {}, r), h('td', {}, String(n)))))
      : empty('No CMP request was refused in the last 14 days.'),
    h('h3', {}, 'Certificates whose confirmation failed'), list(rejected, 'None.'));
}

/* ---- CMP Profiles ---------------------------------------------------------- */

async function cmpProfileForm(existing) {
  const [ras, signers] = await Promise.all([api('GET', '/raProfiles'), api('GET', '/cmpProfiles/signingCertificates')]);
  const e = existing || {};
  const name = h('input', { value: e.name || '', required: true, disabled: !!existing });
  const desc = h('input', { value: e.description || '' });
  const variant = select([['v2', 'CMPv2'], ['v2_3gpp', 'CMPv2 3GPP'],
    ['v3', 'CMPv3: cmp2021 too (OpenSSL 3.2 or later)']], e.variant || 'v2');
  const req = select([['sharedSecret', 'Shared secret'], ['signature', 'Signature']], e.requestProtectionMethod || 'sharedSecret');
  const rsp = select([['sharedSecret', 'Shared secret'], ['signature', 'Signature']], e.responseProtectionMethod || 'signature');
  const secret = h('input', { type: 'password', autocomplete: 'new-password',
    placeholder: e.hasSharedSecret ? 'unchanged (a secret is set)' : '' });
  // 24 random bytes as 32 base64url characters, shown so that it can be copied
  const generate = h('button', { type: 'button', class: 'secondary', onclick: () => {
    const b = crypto.getRandomValues(new Uint8Array(24));
    secret.type = 'text';
    secret.value = btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_');
  } }, 'Generate a secret');
  const timeout = h('input', { type: 'number', min: 1, max: 86400, required: true,
    value: String(e.confirmTimeout || 300) });
  const signerLabel = (s) => `${s.subjectDn} (${s.serialNumber}), issued by ${s.issuerDn}`;
  const signer = select([['', '— choose —'], ...((signers.data || []).map(s => [s.uuid, signerLabel(s)]))], e.signingCertificateUuid || '');
  const ra = select([['', '— none —'], ...((ras.data || []).map(r => [r.uuid, r.name]))], e.raProfileUuid || '');
  const anchors = h('textarea', { value: e.trustAnchors || '' });
  const implicit = h('input', { type: 'checkbox', checked: e.allowImplicitConfirm !== false });
  const supersede = h('input', { type: 'checkbox', checked: e.revokeOnKeyUpdate !== false });
  const macRr = h('input', { type: 'checkbox', checked: e.allowMacRevocation === true });
  const regOnly = h('input', { type: 'checkbox', checked: e.registrationsOnly === true, id: 'cp-regonly' });
  const regOnlyField = h('div', { class: 'field' }, h('label', { for: 'cp-regonly' }, regOnly,
    ' Device registrations only: take MAC-protected requests only with the secrets of devices registered on its RA Profiles'),
    h('small', {}, 'the profile\'s own shared secret is then not accepted (and need not be set); register devices on the RA Profiles page'));
  const secretField = field('cp-secret', 'Shared secret', secret,
    (existing ? 'leave blank to keep the stored secret; ' : '') + 'at least 12 characters');
  secretField.append(generate);
  // rotation with an overlap: the stored secret stays valid until then
  const overlap = h('input', { type: 'datetime-local' });
  const overlapField = field('cp-overlap', 'Previous secret accepted until', overlap,
    'with a new secret: devices may use the old one until this time (your local time), so that they can be moved one by one; blank: the old one stops at once' +
    (e.previousSecretValidUntil ? `. Now the previous secret is accepted until ${e.previousSecretValidUntil}: a time here moves that end` : ''));
  const endOverlap = h('input', { type: 'checkbox' });
  const endOverlapField = h('div', { class: 'field' }, h('label', { for: 'cp-overlap-end' }, endOverlap,
    ' Stop accepting the previous secret now'));
  endOverlap.id = 'cp-overlap-end';
  const secretRef = h('input', { value: e.sharedSecretReference || '', maxlength: 128 });
  const secretRefField = field('cp-secret-ref', 'Shared secret reference (senderKID)', secretRef,
    'the senderKID MAC-protected requests must carry (openssl cmp -ref); blank: any');
  const signerField = field('cp-signer', 'Signing certificate', signer,
    'devices must trust its issuer: choose one issued by the RA Profile\'s CA, or make one');
  // a new signing certificate, issued by a local Authority, chosen at once
  const sgAuth = select([['', '— Authority —']], '');
  const sgSubject = h('input', { placeholder: 'CN=CMP signer,O=Example' });
  const sgDays = h('input', { type: 'number', min: 1, max: 36500, value: '730' });
  const sgErrors = h('div'), sgNotice = h('div');
  const sgBox = h('div', { class: 'card', hidden: true, role: 'group', 'aria-label': 'New signing certificate' },
    field('sg-auth', 'Issued by', sgAuth), field('sg-subject', 'Subject', sgSubject),
    field('sg-days', 'Validity (days)', sgDays), sgErrors,
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'sg-issue', onclick: async () => {
        const res = await api('POST', '/cmpProfiles/signingCertificates', { issue: {
          authorityUuid: sgAuth.value, subject: sgSubject.value, validityDays: Number(sgDays.value) } });
        if (!res.ok) { sgErrors.replaceChildren(errorBox(res)); return; }
        signer.append(h('option', { value: res.data.uuid }, signerLabel(res.data)));
        signer.value = res.data.uuid;
        sgErrors.replaceChildren();
        sgNotice.replaceChildren(h('p', { class: 'notice', role: 'status' },
          `Signing certificate ${res.data.subjectDn} issued and chosen`));
        sgBox.hidden = true;
        signer.focus();
      } }, 'Issue'),
      h('button', { type: 'button', class: 'secondary', onclick: () => { sgBox.hidden = true; } }, 'Cancel')));
  // Enter in the small form issues; it must not save the whole profile
  for (const i of [sgSubject, sgDays]) i.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); sgBox.querySelector('#sg-issue').click(); }
  });
  signerField.append(h('button', { type: 'button', class: 'secondary', id: 'sg-new', onclick: async () => {
    const auths = await api('GET', '/authorities');
    sgAuth.replaceChildren(...(auths.data || []).filter(a => a.kind === 'local')
      .map(a => h('option', { value: a.uuid }, a.name)));
    // the RA Profile's Authority first: its devices trust that CA
    const chosenRa = (ras.data || []).find(r => r.uuid === ra.value);
    if (chosenRa) sgAuth.value = chosenRa.authorityUuid;
    if (!sgSubject.value) sgSubject.value = `CN=${name.value || e.name || 'CMP'} signer`;
    sgBox.hidden = false;
    sgAuth.focus();
  } }, 'New signing certificate…'), sgNotice, sgBox);
  const anchorsField = field('cp-anchors', 'Trust anchors for signed requests (PEM)', anchors);
  const errors = h('div');
  const sync = () => {
    const gpp = variant.value === 'v2_3gpp';        // 3GPP TS 33.310: signatures only
    for (const s of [req, rsp]) {
      s.querySelector('option[value="sharedSecret"]').disabled = gpp;
      if (gpp) s.value = 'signature';
    }
    regOnlyField.hidden = req.value !== 'sharedSecret';
    secretField.hidden = !(req.value === 'sharedSecret' || rsp.value === 'sharedSecret');
    secretRefField.hidden = secretField.hidden;
    overlapField.hidden = secretField.hidden || !e.hasSharedSecret;
    endOverlapField.hidden = secretField.hidden || !e.previousSecretValidUntil;
    signerField.hidden = rsp.value !== 'signature';
    anchorsField.hidden = req.value !== 'signature';
  };
  for (const s of [variant, req, rsp]) s.addEventListener('change', sync);
  regOnly.addEventListener('change', sync);
  sync();
  const form = h('form', { 'aria-label': existing ? 'Edit CMP Profile' : 'New CMP Profile' },
    h('h3', {}, existing ? `Edit CMP Profile ${e.name}` : 'New CMP Profile'), errors,
    field('cp-name', 'Name', name), field('cp-desc', 'Description', desc),
    field('cp-variant', 'Variant', variant), field('cp-req', 'Request protection', req),
    field('cp-rsp', 'Response protection', rsp), regOnlyField, secretField, overlapField, endOverlapField,
    secretRefField, signerField,
    field('cp-ra', 'Default RA Profile', ra), anchorsField,
    field('cp-timeout', 'Confirmation timeout (seconds)', timeout,
      'how long an issued certificate waits for the client\'s certConf before it is rejected'),
    h('div', { class: 'field' }, h('label', { for: 'cp-implicit' }, implicit, ' Grant implicitConfirm when asked')),
    h('div', { class: 'field' }, h('label', { for: 'cp-supersede' }, supersede,
      ' Revoke a certificate (superseded) once its key update is confirmed')),
    h('div', { class: 'field' }, h('label', { for: 'cp-macrr' }, macRr,
      ' Accept revocation requests protected with the shared secret (not only signed by the certificate)')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, existing ? 'Save' : 'Create'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')));
  implicit.id = 'cp-implicit';
  supersede.id = 'cp-supersede';
  macRr.id = 'cp-macrr';
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { variant: variant.value, requestProtectionMethod: req.value, responseProtectionMethod: rsp.value,
      description: desc.value, allowImplicitConfirm: implicit.checked, revokeOnKeyUpdate: supersede.checked,
      allowMacRevocation: macRr.checked, trustAnchors: anchors.value, confirmTimeout: Number(timeout.value) };
    if (!existing) body.name = name.value;
    body.registrationsOnly = !regOnlyField.hidden && regOnly.checked;
    if (!secretField.hidden) body.sharedSecret = secret.value;
    if (!overlapField.hidden && overlap.value) body.previousSecretValidUntil = new Date(overlap.value).toISOString();
    if (!endOverlapField.hidden && endOverlap.checked) body.previousSecretValidUntil = null;
    body.sharedSecretReference = secretRefField.hidden ? '' : secretRef.value;
    // what is left empty is cleared (null); a PUT keeps what it does not name
    if (!signerField.hidden) body.signingCertificateUuid = signer.value || null;
    body.raProfileUuid = ra.value || null;
    const res = existing ? await api('PUT', '/cmpProfiles/' + e.uuid, body) : await api('POST', '/cmpProfiles', body);
    if (!res.ok) {
      formErrors(errors, res, [[/^name\b/i, name], [/variant|CMPv/i, variant], [/requestProtection|signed requests/i, req],
        [/responseProtection|signed responses/i, rsp], [/shared ?secret(?! ?reference)/i, secret],
        [/sharedSecretReference/i, secretRef], [/signing certificate/i, signer], [/raProfile|RA Profile/, ra],
        [/trustAnchors/i, anchors], [/confirmTimeout/i, timeout], [/previousSecretValidUntil/i, overlap],
        [/registrationsOnly/i, regOnly]]);
      return;
    }
    const saved = `CMP Profile ${res.data.name} saved` + (existing ? '' : ' (disabled until you enable it)');
    // saved from its own page: that page again, else the list
    if (existing && location.hash === '#/cmp-profiles/' + e.uuid) cmpProfileDetail(e.uuid, saved);
    else cmpProfiles(saved);
  });
  return form;
}

async function cmpProfiles(notice) {
  const at = location.hash;   // the page this render is for (pageAt)
  const res = await api('GET', '/cmpProfiles');
  if (!res.ok) return pageAt(at, 'CMP Profiles', errorBox(res));
  const chosen = new Set();
  const rows = res.data.map(p => h('tr', {},
    h('td', {}, h('input', { type: 'checkbox', 'aria-label': 'select ' + p.name,
      onchange: (ev) => ev.target.checked ? chosen.add(p.uuid) : chosen.delete(p.uuid) })),
    h('td', {}, h('a', { href: '#/cmp-profiles/' + p.uuid }, p.name), h('div', { class: 'muted' }, p.description)),
    h('td', {}, p.variant),
    h('td', {}, `${p.requestProtectionMethod} / ${p.responseProtectionMethod}`),
    h('td', {}, p.raProfile ? p.raProfile.name : '—'),
    h('td', {}, badge(p.enabled)),
    h('td', {}, p.cmpUrl ? [h('span', { class: 'mono' }, p.cmpUrl), ' ',
      h('button', { type: 'button', class: 'secondary', 'aria-label': 'Copy the CMP URL of ' + p.name, onclick: () => navigator.clipboard && navigator.clipboard.writeText(p.cmpUrl) }, 'Copy')] : '—'),
    h('td', {}, h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'aria-label': (p.enabled ? 'Disable ' : 'Enable ') + p.name, onclick: () => act('PATCH', `/cmpProfiles/${p.uuid}/${p.enabled ? 'disable' : 'enable'}`, undefined, () => cmpProfiles()) }, p.enabled ? 'Disable' : 'Enable'),
      h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + p.name, onclick: () =>
        confirmThen(`Delete CMP Profile ${p.name}? Devices using its URL can no longer enroll; this cannot be undone.`,
          'Delete', () => act('DELETE', '/cmpProfiles/' + p.uuid, undefined, () => cmpProfiles(`CMP Profile ${p.name} deleted`))) }, 'Delete')))));
  const names = new Map(res.data.map(p => [p.uuid, p.name]));
  const bulk = (path, method, what) => () => {
    if (!chosen.size) return;
    const uuids = [...chosen];
    confirmThen(`${what} ${uuids.length} CMP Profile(s): ${uuids.map(u => names.get(u)).join(', ')}?`, what, async () => {
      const r = await api(method, path, uuids);
      if (!r.ok) { main.prepend(errorBox(r)); return; }
      await cmpProfiles();
      main.prepend(bulkResult(what, uuids, r.data, names));
    });
  };
  pageAt(at, 'CMP Profiles', notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: async () => openForm(await cmpProfileForm()) }, 'New CMP Profile'),
      h('button', { type: 'button', class: 'secondary', onclick: bulk('/cmpProfiles/enable', 'PATCH', 'Enable') }, 'Enable selected'),
      h('button', { type: 'button', class: 'secondary', onclick: bulk('/cmpProfiles/disable', 'PATCH', 'Disable') }, 'Disable selected'),
      h('button', { type: 'button', class: 'danger', onclick: bulk('/cmpProfiles/delete', 'DELETE', 'Delete') }, 'Delete selected')),
    table(['', 'Name', 'Variant', 'Protection (request / response)', 'Default RA Profile', 'State', 'CMP URL', ''], rows));
}

/* The trust bundle a device needs for this profile's signed responses: the
 * CA of the default RA Profile, and the signer's issuer when that is
 * another of our Authorities; a warning when the signer's issuer is not the
 * RA Profile's CA (devices must then trust both). */
function trustBundle(p, auths, ra) {
  const byDn = new Map(auths.map(a => [a.subjectDn, a]));
  const raCa = ra && auths.find(a => a.uuid === ra.authorityUuid);
  const pems = [];
  let warning = null;
  if (raCa) pems.push(raCa.certificate);
  if (p.responseProtectionMethod === 'signature' && p.signingCertificate) {
    const issuer = p.signingCertificate.issuerDn;
    if (!raCa || raCa.subjectDn !== issuer) {
      const other = byDn.get(issuer);
      if (other) pems.push(other.certificate);
      warning = `The signing certificate is issued by ${issuer}, not by the RA Profile's CA` +
        (raCa ? ` ${raCa.subjectDn}` : '') + ': devices must trust both' +
        (other ? ' (the bundle has both).' : `; ${issuer} is not an Authority here, add its certificate to the bundle yourself.`);
    }
  }
  return { pem: pems.join(''), warning };
}

/* The exact openssl cmp line for this profile at base (scheme://host:port). */
function clientCommand(p, base, bundleName) {
  const url = `${base}/api/v1/protocols/cmp/${p.name}`;
  const lines = [`openssl cmp -cmd ir -server ${url}`];
  if (base.startsWith('https:')) lines.push('    -tls_used -tls_trusted tls-ca.pem');
  if (p.requestProtectionMethod === 'sharedSecret')
    lines.push(`    -ref ${p.sharedSecretReference || 'device-1'} -secret env:CMP_SECRET`);
  else
    lines.push('    -cert idevid.pem -key idevid.key');
  if (p.responseProtectionMethod === 'signature') lines.push(`    -trusted ${bundleName}`);
  lines.push('    -newkey device.key -subject /CN=device-1 -certout device.pem');
  return 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out device.key\n' +
    lines.join(' \\\n');
}

async function cmpProfileDetail(uuid, notice) {
  const at = location.hash;   // the page this render is for (pageAt)
  const [res, auths, ras] = await Promise.all([api('GET', '/cmpProfiles/' + uuid), api('GET', '/authorities'),
    api('GET', '/raProfiles')]);
  if (!res.ok) return pageAt(at, 'CMP Profile', errorBox(res));
  const p = res.data;
  const ra = (ras.data || []).find(r => r.uuid === p.raProfileUuid);
  const origin = p.cmpUrl ? p.cmpUrl.replace(/\/api\/v1\/protocols\/cmp\/.*$/, '') : location.origin;
  const base = h('input', { value: origin });
  const bundleName = `${p.name}-trust.pem`;
  const trust = trustBundle(p, auths.data || [], ra);
  const command = h('pre', { id: 'cp-command', class: 'mono' });
  const urls = h('ul', { id: 'cp-urls' });
  const show = () => {
    const b = base.value.replace(/\/+$/, '');
    urls.replaceChildren(
      h('li', {}, 'CMP Profile: ', h('span', { class: 'mono' }, `${b}/api/v1/protocols/cmp/${p.name}`)),
      h('li', {}, 'RFC 9811: ', h('span', { class: 'mono' }, `${b}/.well-known/cmp/p/${p.name}`)),
      ...(p.raProfiles || []).map(r => h('li', {}, `RA Profile ${r.name}: `,
        h('span', { class: 'mono' }, `${b}/api/v1/protocols/cmp/raProfile/${r.name}`))));
    command.textContent = clientCommand(p, b, bundleName);
  };
  base.addEventListener('input', show);
  show();
  const dl = (k, v) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : String(v))];
  const sc = p.signingCertificate;
  pageAt(at, 'CMP Profile ' + p.name, notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    h('dl', {}, dl('State', p.enabled ? 'enabled' : 'disabled (devices are refused)'), dl('Variant', p.variant),
      dl('Protection (request / response)', `${p.requestProtectionMethod} / ${p.responseProtectionMethod}`),
      dl('Default RA Profile', ra ? `${ra.name} (Authority ${ra.authorityName})` : 'none: the profile URL cannot issue'),
      dl('RA Profiles with CMP on this profile', (p.raProfiles || []).map(r => r.name).join(', ')),
      dl('Previous shared secret', p.previousSecretValidUntil ? `accepted until ${p.previousSecretValidUntil}` : null),
      dl('Signing certificate', sc ? `${sc.subjectDn}, issued by ${sc.issuerDn}, valid until ${sc.notAfter}` : null)),
    trust.warning ? h('p', { class: 'errors', role: 'note' }, trust.warning) : null,
    h('h3', {}, 'URLs and client command'),
    field('cp-base', 'Address devices use (scheme://host:port)', base,
      'https: the command adds -tls_used and -tls_trusted (the CA of Apache\'s TLS certificate); an http: address of the same Apache works too'),
    urls,
    command,
    h('p', {}, p.requestProtectionMethod === 'sharedSecret'
      ? 'Set CMP_SECRET to the shared secret in the device\'s environment (the console never shows a stored secret).'
      : 'idevid.pem / idevid.key: the device\'s certificate from a CA in the profile\'s trust anchors.'),
    trust.pem ? download(bundleName, trust.pem) : null,
    h('h3', {}, 'Edit'),
    await cmpProfileForm(p));
}

/* ---- RA Profiles ------------------------------------------------------------ */

function csv(s) { return s.split(',').map(x => x.trim()).filter(Boolean); }

async function raProfileForm(existing) {
  const e = existing || {};
  const auths = existing ? { data: [{ uuid: e.authorityUuid, name: e.authorityName }] } : await api('GET', '/authorities');
  const auth = select((auths.data || []).map(a => [a.uuid, a.name]), e.authorityUuid);
  auth.disabled = !!existing;
  const name = h('input', { required: true, value: e.name || '', disabled: !!existing });
  const desc = h('input', { value: e.description || '' });
  const days = h('input', { type: 'number', min: 1, value: e.validityDays || 365 });
  const types = h('input', { value: (e.allowedKeyTypes || []).join(', '), placeholder: 'EC, RSA, ED25519 (empty: any)' });
  const curves = h('input', { value: (e.allowedEcCurves || []).join(', '), placeholder: 'P-256, P-384, P-521, brainpoolP256r1, brainpoolP384r1, brainpoolP512r1' });
  const ku = h('input', { value: (e.keyUsage || ['digitalSignature']).join(', ') });
  const eku = h('input', { value: (e.extendedKeyUsage || []).join(', '), placeholder: 'clientAuth, serverAuth' });
  const pattern = h('input', { value: e.subjectPattern || '', placeholder: '^CN=.*$' });
  const central = h('input', { value: e.centralKeyType || '', placeholder: 'EC:P-256, RSA:3072, ML-DSA-65 (empty: none)' });
  const san = h('input', { type: 'checkbox', checked: e.allowSubjectAltName !== false, id: 'ra-san' });
  const kurChange = h('input', { type: 'checkbox', checked: e.allowKurIdentityChange === true, id: 'ra-kur-change' });
  const kuChoose = h('input', { type: 'checkbox', checked: e.keyUsageFromRequest === true, id: 'ra-ku-choose' });
  const approval = h('input', { type: 'checkbox', checked: e.requireApproval === true, id: 'ra-approval' });
  const apTimeout = h('input', { type: 'number', min: 60, max: 2592000, value: String(e.approvalTimeout || 86400) });
  const apCheck = h('input', { type: 'number', min: 1, max: 3600, value: String(e.approvalCheckAfter || 30) });
  const apMax = h('input', { type: 'number', min: 1, max: 100000, value: String(e.maxPendingApprovals || 1000) });
  const apFields = h('div', { role: 'group', 'aria-label': 'Approval' },
    field('ra-ap-timeout', 'A request waits at most (seconds)', apTimeout, 'then it expires, and the device is told so'),
    field('ra-ap-check', 'Devices poll every (seconds)', apCheck, 'the checkAfter of each pollRep'),
    field('ra-ap-max', 'Requests that may wait at a time', apMax));
  const syncApproval = () => { apFields.hidden = !approval.checked; };
  approval.addEventListener('change', syncApproval);
  syncApproval();
  const errors = h('div');
  const title = existing ? `Edit RA Profile ${e.name}` : 'New RA Profile';
  const form = h('form', { 'aria-label': title }, h('h3', {}, title), errors,
    field('ra-auth', 'Authority', auth), field('ra-name', 'Name', name), field('ra-desc', 'Description', desc),
    field('ra-days', 'Validity (days)', days), field('ra-types', 'Allowed key types', types),
    field('ra-curves', 'Allowed EC curves', curves, 'named curves only; binary curves only when listed'),
    field('ra-ku', 'Key usage', ku, 'comma-separated, e.g. digitalSignature, keyEncipherment'),
    field('ra-eku', 'Extended key usage', eku), field('ra-pattern', 'Subject pattern (POSIX regex)', pattern),
    field('ra-central', 'Keys made by the server (central key generation)', central,
      'the key type made for a request without a public key (openssl cmp -centralkeygen); it goes to the device encrypted and is never stored. Needs OpenSSL 3.5 and a CMP signing certificate with id-kp-cmKGA'),
    h('div', { class: 'field' }, h('label', { for: 'ra-san' }, san, ' Allow subjectAltName')),
    h('div', { class: 'field' }, h('label', { for: 'ra-kur-change' }, kurChange,
      ' Allow a key update to change the subject or subjectAltName'),
      h('small', {}, 'off: a key update keeps the identity of the certificate it renews')),
    h('div', { class: 'field' }, h('label', { for: 'ra-ku-choose' }, kuChoose,
      ' Let the request choose its key usage, within the key usage above'),
      h('small', {}, 'off: every certificate gets the key usage above')),
    h('div', { class: 'field' }, h('label', { for: 'ra-approval' }, approval,
      ' Requests wait for an administrator\'s approval'),
      h('small', {}, 'the device gets "waiting" and polls; approve or reject on the Approvals page')),
    apFields,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, existing ? 'Save' : 'Create'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { description: desc.value, validityDays: Number(days.value),
      allowedKeyTypes: csv(types.value), keyUsage: csv(ku.value), extendedKeyUsage: csv(eku.value),
      allowSubjectAltName: san.checked, allowKurIdentityChange: kurChange.checked,
      keyUsageFromRequest: kuChoose.checked, requireApproval: approval.checked,
      approvalTimeout: Number(apTimeout.value), approvalCheckAfter: Number(apCheck.value),
      maxPendingApprovals: Number(apMax.value),
      subjectPattern: pattern.value || null, centralKeyType: central.value.trim() || null };
    if (csv(curves.value).length) body.allowedEcCurves = csv(curves.value);
    if (!existing) body.name = name.value;
    const path = `/authorities/${auth.value}/raProfiles` + (existing ? '/' + e.uuid : '');
    const res = await api(existing ? 'PUT' : 'POST', path, body);
    if (!res.ok) {
      formErrors(errors, res, [[/^name\b/i, name], [/validity/i, days], [/allowedKeyTypes|key type/i, types],
        [/allowedEcCurves|curve/i, curves], [/(^|[^d])keyUsage/i, ku], [/extendedKeyUsage/i, eku],
        [/subjectPattern|pattern/i, pattern], [/approvalTimeout/i, apTimeout], [/approvalCheckAfter/i, apCheck],
        [/maxPendingApprovals/i, apMax], [/centralKeyType/i, central]]);
      return;
    }
    raProfiles(`RA Profile ${res.data.name} ` + (existing ? 'saved' : 'created (disabled until you enable it)'));
  });
  return form;
}

async function raProfiles(notice) {
  const at = location.hash;   // the page this render is for (pageAt)
  const [res, cmps] = await Promise.all([api('GET', '/raProfiles'), api('GET', '/cmpProfiles')]);
  if (!res.ok) return pageAt(at, 'RA Profiles', errorBox(res));
  const rows = res.data.map(r => {
    const base = `/authorities/${r.authorityUuid}/raProfiles/${r.uuid}`;
    const pick = select([['', '— CMP Profile —'], ...((cmps.data || []).map(c => [c.uuid, c.name]))], r.cmpProfileUuid || '');
    pick.setAttribute('aria-label', 'CMP Profile for ' + r.name);
    const linked = (cmps.data || []).find(c => c.uuid === r.cmpProfileUuid);
    return h('tr', {},
      h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': 'Edit ' + r.name,
        onclick: async () => openForm(await raProfileForm(r)) }, r.name), h('div', {}, r.description)),
      h('td', {}, r.authorityName),
      h('td', {}, badge(r.enabled)),
      h('td', {}, `${r.validityDays} days; keys ${r.allowedKeyTypes.length ? r.allowedKeyTypes.join(', ') : 'any'}; ${r.keyUsage.join(', ')}` +
        (r.centralKeyType ? `; makes ${r.centralKeyType} keys` : '')),
      h('td', {}, linked ? linked.name : '—', h('div', { class: 'actions' }, pick,
        h('button', { type: 'button', class: 'secondary', 'aria-label': 'Activate CMP for ' + r.name, onclick: () => pick.value &&
          act('PATCH', `${base}/protocols/cmp/activate/${pick.value}`, undefined, () => raProfiles('CMP activated for ' + r.name)) }, 'Activate CMP'),
        r.cmpProfileUuid ? h('button', { type: 'button', class: 'secondary', 'aria-label': 'Deactivate CMP for ' + r.name, onclick: () =>
          act('PATCH', `${base}/protocols/cmp/deactivate`, undefined, () => raProfiles()) }, 'Deactivate') : null)),
      h('td', {}, h('div', { class: 'actions' },
        h('a', { class: 'button secondary', href: `#/ra-profiles/${r.authorityUuid}/${r.uuid}/devices`,
          'aria-label': 'Devices of ' + r.name }, 'Devices'),
        h('button', { type: 'button', class: 'secondary', 'aria-label': (r.enabled ? 'Disable ' : 'Enable ') + r.name, onclick: () => act('PATCH', `${base}/${r.enabled ? 'disable' : 'enable'}`, undefined, () => raProfiles()) }, r.enabled ? 'Disable' : 'Enable'),
        h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + r.name, onclick: () => {
          const users = (cmps.data || []).filter(c => c.raProfileUuid === r.uuid).map(c => c.name);
          confirmThen(`Delete RA Profile ${r.name}? Nothing can be issued through it any more; this cannot be undone.` +
            (users.length ? ` It is the default RA Profile of CMP Profile ${users.join(', ')}, which will be unlinked and cannot serve until it gets another.` : ''),
            'Delete', () => act('DELETE', base + (users.length ? '?force=true' : ''), undefined, () => raProfiles(`RA Profile ${r.name} deleted`)));
        } }, 'Delete'))));
  });
  pageAt(at, 'RA Profiles', notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: async () => openForm(await raProfileForm()) }, 'New RA Profile')),
    table(['Name', 'Authority', 'State', 'Policy', 'CMP', ''], rows));
}

/* ---- Device registrations (per-device enrollment secrets) --------------------- */

/* A secret the server shows once: in a box with a copy button. */
function secretShown(what, secret) {
  const code = h('code', { class: 'secret' }, secret);
  return h('div', { class: 'notice', role: 'status' },
    h('p', {}, `${what}. Its secret is shown only now: give it to the device (openssl cmp -secret pass:…).`),
    h('p', {}, code, ' ', h('button', { type: 'button', class: 'secondary', 'aria-label': 'Copy the secret',
      onclick: () => navigator.clipboard?.writeText(secret) }, 'Copy')));
}

function deviceForm(base, ra, after) {
  const kid = h('input', { required: true, maxlength: 128, placeholder: 'line1-0001' });
  const subject = h('input', { required: true, placeholder: 'CN=line1-0001,O=Example' });
  const sans = h('input', { placeholder: 'DNS:line1-0001.example IP:10.0.0.1' });
  const expires = h('input', { type: 'datetime-local' });
  const maxFail = h('input', { type: 'number', min: 1, max: 100, value: '5' });
  const errors = h('div');
  const form = h('form', { 'aria-label': 'Register a device' }, h('h3', {}, `Register a device on RA Profile ${ra}`), errors,
    field('dv-kid', 'senderKID', kid, 'what the device sends as its reference (openssl cmp -ref)'),
    field('dv-subject', 'Subject', subject, 'the one subject it may get'),
    field('dv-sans', 'subjectAltNames', sans, 'the names it may ask, separated by spaces: DNS:, IP:, email:, URI:'),
    field('dv-expires', 'Expires', expires, 'your local time; blank: in 30 days'),
    field('dv-maxfail', 'Failed attempts before it is locked', maxFail),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Register'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { senderKid: kid.value, subject: subject.value,
      subjectAltNames: sans.value.split(/[\s,]+/).filter(Boolean), maxFailures: Number(maxFail.value) };
    if (expires.value) body.expiresAt = new Date(expires.value).toISOString();
    const res = await api('POST', base, body);
    if (!res.ok) {
      formErrors(errors, res, [[/senderKid/i, kid], [/subject(?!AltName)/i, subject], [/subjectAltName/i, sans],
        [/expiresAt/i, expires], [/maxFailures/i, maxFail]]);
      return;
    }
    after(secretShown(`Device ${res.data.senderKid} registered`, res.data.secret));
  });
  return form;
}

function deviceImportForm(base, ra, after) {
  const file = h('input', { type: 'file', accept: '.csv,text/csv' });
  const text = h('textarea', { rows: 6, placeholder: 'senderKid,subject,subjectAltNames,expiresAt,maxFailures\nline1-0001,/O=Example/CN=line1-0001,DNS:line1-0001.example,,' });
  const errors = h('div');
  const form = h('form', { 'aria-label': 'Import devices' }, h('h3', {}, `Import devices to RA Profile ${ra} (CSV)`), errors,
    h('p', { class: 'muted' }, 'A header row naming the columns (senderKid and subject required; subjectAltNames separated by spaces; expiresAt as 2027-06-30T00:00:00Z; maxFailures), then a row per device. All rows are registered or none.'),
    field('dv-file', 'CSV file', file), field('dv-csv', 'or the CSV itself', text),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Import'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = file.files.length ? await file.files[0].text() : text.value;
    const res = await fetch(API + base + '/import?format=csv', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'text/csv' }, body });
    const out = await res.text();
    if (!res.ok) {
      let data; try { data = JSON.parse(out); } catch (e) { data = { message: out }; }
      formErrors(errors, { status: res.status, data }, [[/./, file.files.length ? file : text]]);
      return;
    }
    const n = out.trim().split('\n').length - 1;
    const a = h('a', { href: URL.createObjectURL(new Blob([out], { type: 'text/csv' })),
      download: `${ra}-device-secrets.csv` }, `Download ${ra}-device-secrets.csv`);
    after(h('div', { class: 'notice', role: 'status' },
      h('p', {}, `${n} device(s) imported. Their secrets are in this file, shown only now: `, a)));
  });
  return form;
}

async function devices(authUuid, raUuid, query, notice) {
  const at = location.hash;   // the page this render is for (pageAt)
  const q = new URLSearchParams(query || '');
  const base = `/authorities/${authUuid}/raProfiles/${raUuid}/deviceRegistrations`;
  const offset = Number(q.get('offset') || 0);
  const args = new URLSearchParams({ limit: '100', offset: String(offset) });
  for (const k of ['state', 'q']) if (q.get(k)) args.set(k, q.get(k));
  const [ra, res] = await Promise.all([api('GET', `/authorities/${authUuid}/raProfiles/${raUuid}`), api('GET', base + '?' + args)]);
  if (!ra.ok) return pageAt(at, 'Devices', errorBox(ra));
  if (!res.ok) return pageAt(at, `Devices of RA Profile ${ra.data.name}`, errorBox(res));
  const here = `#/ra-profiles/${authUuid}/${raUuid}/devices`;
  const reload = (box) => devices(authUuid, raUuid, query, box);
  const state = select([['', 'any state'], ['active', 'active'], ['used', 'used'], ['locked', 'locked'], ['expired', 'expired']], q.get('state') || '');
  const search = h('input', { type: 'search', value: q.get('q') || '', placeholder: 'senderKID or subject' });
  const go = (off) => {
    const f = new URLSearchParams();
    if (state.value) f.set('state', state.value);
    if (search.value) f.set('q', search.value);
    if (off) f.set('offset', String(off));
    location.hash = here + (f.toString() ? '?' + f : '');
  };
  const stateBadge = (d) => h('span', { class: 'badge ' + (d.state === 'active' ? 'on' : 'off') }, d.state);
  const rows = res.data.deviceRegistrations.map(d => h('tr', {},
    h('td', {}, d.senderKid),
    h('td', {}, d.subject, d.subjectAltNames.length ? h('div', { class: 'muted' }, d.subjectAltNames.join(', ')) : null),
    h('td', {}, stateBadge(d), d.failures ? h('div', { class: 'muted' }, `${d.failures} failed attempt(s); last: ${d.lastFailure}`) : null),
    h('td', {}, d.expiresAt.slice(0, 16).replace('T', ' ')),
    h('td', {}, d.certificateUuid ? h('a', { href: '#/certificates/' + d.certificateUuid }, 'certificate') : '—'),
    h('td', {}, h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'aria-label': 'New secret for ' + d.senderKid, onclick: () =>
        confirmThen(`Give device ${d.senderKid} a new secret? Its current secret stops working; the registration becomes active again (unlocked, usable once more).`,
          'New secret', () => act('POST', `${base}/${d.uuid}/secret`, {}, (r) =>
            reload(secretShown(`Device ${d.senderKid} has a new secret`, r.data.secret)))) }, 'New secret'),
      h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + d.senderKid, onclick: () =>
        confirmThen(`Delete the registration of device ${d.senderKid}? Its secret stops working; a certificate issued with it stays.`,
          'Delete', () => act('DELETE', `${base}/${d.uuid}`, undefined, () =>
            reload(h('p', { class: 'notice', role: 'status' }, `Registration of ${d.senderKid} deleted`)))) }, 'Delete')))));
  const total = res.data.total;
  pageAt(at, `Devices of RA Profile ${ra.data.name}`, notice || null,
    h('p', { class: 'muted' }, 'A registered device enrolls once over CMP with its own senderKID and secret, and gets only the subject and names registered for it.'),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => openForm(deviceForm(base, ra.data.name, reload)) }, 'Register a device'),
      h('button', { type: 'button', class: 'secondary', onclick: () => openForm(deviceImportForm(base, ra.data.name, reload)) }, 'Import CSV')),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter devices', onsubmit: (ev) => { ev.preventDefault(); go(0); } },
      field('dv-state', 'State', state), field('dv-q', 'Search', search),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter'))),
    total ? table(['senderKID', 'Subject', 'State', 'Expires (UTC)', 'Certificate', ''], rows)
      : h('p', { class: 'empty' }, 'No device is registered' + (q.get('state') || q.get('q') ? ' that matches.' : ' yet.')),
    h('p', { class: 'muted' }, `${total} registration(s)`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => go(Math.max(0, offset - 100)) }, 'Previous'),
      h('button', { type: 'button', class: 'secondary', disabled: offset + 100 >= total, onclick: () => go(offset + 100) }, 'Next')));
}

/* ---- Approvals (RFC 9483 4.4: requests waiting for a decision) -------------- */

async function approvals(query, notice) {
  const at = location.hash;   // the page this render is for (pageAt)
  const q = new URLSearchParams(query || '');
  const st = q.has('state') ? q.get('state') : 'waiting';
  const offset = Number(q.get('offset') || 0);
  const args = new URLSearchParams({ limit: '100', offset: String(offset) });
  if (st) args.set('state', st);
  const res = await api('GET', '/approvals?' + args);
  if (!res.ok) return pageAt(at, 'Approvals', errorBox(res));
  const reload = (box) => approvals(query, box);
  const state = select([['waiting', 'waiting'], ['', 'any state'], ['approved', 'approved'], ['rejected', 'rejected'],
    ['delivered', 'delivered'], ['expired', 'expired']], st);
  const go = (off) => {
    const f = new URLSearchParams({ state: state.value });
    if (off) f.set('offset', String(off));
    location.hash = '#/approvals?' + f;
  };
  const decide = (a, approve) => {
    const reason = h('textarea', { rows: 2, id: 'ap-reason', maxlength: 500 });
    const err = h('div');
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const dialog = h('dialog', { 'aria-label': (approve ? 'Approve ' : 'Reject ') + a.subject },
      h('p', {}, approve ? `Approve the ${a.requestType} of ${a.subject}? The certificate is issued when the device polls next.`
        : `Reject the ${a.requestType} of ${a.subject}? The device is told the reason when it polls next.`),
      field('ap-reason', approve ? 'Comment (optional)' : 'Reason (the device is told it)', reason), err,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: approve ? '' : 'danger', onclick: async () => {
          const r = await api('POST', `/approvals/${a.uuid}/${approve ? 'approve' : 'reject'}`,
            reason.value ? { reason: reason.value } : {});
          if (!r.ok) { formErrors(err, r, [[/reason/i, reason]]); return; }
          dialog.close(); dialog.remove();
          reload(h('p', { class: 'notice', role: 'status' }, `${a.subject}: ${approve ? 'approved' : 'rejected'}`));
        } }, approve ? 'Approve' : 'Reject'), cancel));
    cancel.addEventListener('click', () => { dialog.close(); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  };
  const rows = res.data.approvals.map(a => h('tr', {},
    h('td', {}, a.subject, a.subjectAltNames.length ? h('div', { class: 'muted' }, a.subjectAltNames.join(', ')) : null),
    h('td', {}, `${a.requestType}, ${a.keyType} key`, h('div', { class: 'muted' }, a.sender)),
    h('td', {}, a.raProfileName),
    h('td', {}, h('span', { class: 'badge ' + (['waiting', 'approved', 'delivered'].includes(a.state) ? 'on' : 'off') }, a.state),
      a.reason ? h('div', { class: 'muted' }, `${a.decidedBy}: ${a.reason}`) : a.decidedBy ? h('div', { class: 'muted' }, a.decidedBy) : null),
    h('td', {}, a.createdAt.slice(0, 16).replace('T', ' '), h('div', { class: 'muted' }, 'expires ' + a.expiresAt.slice(0, 16).replace('T', ' '))),
    h('td', {}, a.state === 'waiting' ? h('div', { class: 'actions' },
      h('button', { type: 'button', 'aria-label': 'Approve ' + a.subject, onclick: () => decide(a, true) }, 'Approve'),
      h('button', { type: 'button', class: 'danger', 'aria-label': 'Reject ' + a.subject, onclick: () => decide(a, false) }, 'Reject'))
      : a.certificateUuid ? h('a', { href: '#/certificates/' + a.certificateUuid }, 'certificate') : null)));
  const total = res.data.total;
  pageAt(at, 'Approvals', notice || null,
    h('p', { class: 'muted' }, 'Requests of RA Profiles that require approval wait here; the device polls until you decide.'),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter requests', onsubmit: (ev) => { ev.preventDefault(); go(0); } },
      field('ap-state', 'State', state), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter'))),
    total ? table(['Subject', 'Request', 'RA Profile', 'State', 'Requested (UTC)', ''], rows)
      : h('p', { class: 'empty' }, st === 'waiting' ? 'No request waits for approval.' : 'No request matches.'),
    h('p', { class: 'muted' }, `${total} request(s)`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => go(Math.max(0, offset - 100)) }, 'Previous'),
      h('button', { type: 'button', class: 'secondary', disabled: offset + 100 >= total, onclick: () => go(offset + 100) }, 'Next')));
}

/* ---- Authorities -------------------------------------------------------------- */

function authorityForm(existing) {
  const name = h('input', { required: true });
  const desc = h('input');
  const mode = select([['generate', 'Generate a new CA here'], ['import', 'Import a CA certificate and key']], 'generate');
  const subject = h('input', { placeholder: 'CN=Example CA,O=Example' });
  const keyType = h('input', { value: 'EC' });
  const keyParam = h('input', { value: 'P-256' });
  const days = h('input', { type: 'number', value: 3650, min: 1 });
  const issuer = select([['', 'none: a self-signed root'],
    ...(existing || []).filter(a => a.enabled).map(a => [a.uuid, `${a.name} (${a.subjectDn})`])], '');
  const cert = h('textarea');
  const key = h('textarea');
  const pass = h('input', { type: 'password', autocomplete: 'off' });
  const gen = h('div', {}, field('au-subject', 'Subject', subject), field('au-keytype', 'Key type', keyType),
    field('au-keyparam', 'Curve or key size', keyParam), field('au-days', 'Validity (days)', days),
    field('au-issuer', 'Issued by', issuer, 'an Authority here that certifies the new CA (a subordinate, never outliving it); none: a root'));
  const imp = h('div', {}, field('au-cert', 'CA certificate (PEM)', cert), field('au-key', 'Private key (PEM)', key),
    field('au-pass', 'Key passphrase', pass));
  const errors = h('div');
  const sync = () => { gen.hidden = mode.value !== 'generate'; imp.hidden = !gen.hidden; };
  mode.addEventListener('change', sync); sync();
  const form = h('form', { 'aria-label': 'New Authority' }, h('h3', {}, 'New Authority'), errors,
    field('au-name', 'Name', name), field('au-desc', 'Description', desc), field('au-mode', 'How', mode), gen, imp,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value, description: desc.value };
    if (mode.value === 'generate') {
      body.generate = { subject: subject.value, keyType: keyType.value, keyParameter: keyParam.value, validityDays: Number(days.value) };
      if (issuer.value) body.generate.issuerAuthorityUuid = issuer.value;
    }
    else Object.assign(body, { certificate: cert.value, privateKey: key.value, passphrase: pass.value });
    const res = await api('POST', '/authorities', body);
    if (!res.ok) { errors.replaceChildren(errorBox(res)); return; }
    authorities(`Authority ${res.data.name} created`);
  });
  return form;
}

/* An Authority's revocation settings: how long a CRL is valid, and the
 * public address of its CRL and certificate that certificates carry. */
function authorityCrlForm(a) {
  const validity = h('input', { type: 'number', min: 300, max: 31622400, value: a.crlValiditySeconds });
  const url = h('input', { value: a.publicUrl || '', placeholder: 'http://pki.example.org/crl' });
  const ocsp = h('input', { value: a.ocspUrl || '', placeholder: 'http://pki.example.org/ocsp' });
  const errors = h('div');
  const form = h('form', { 'aria-label': 'Revocation settings of ' + a.name }, h('h3', {}, 'Revocation settings of ' + a.name), errors,
    field('au-crlvalidity', 'CRL validity (seconds)', validity, 'from a CRL\'s thisUpdate to its nextUpdate; a new CRL follows every revocation within seconds'),
    field('au-publicurl', 'Public URL', url, 'where relying parties reach the cmp-crl location (http://, no trailing slash); certificates issued from now on name ' +
      '<public URL>/' + a.crlFile + ' and ' + a.certificateFile + '. Empty: none'),
    field('au-ocspurl', 'OCSP URL', ocsp, 'where relying parties reach the cmp-ocsp location (http://); certificates issued from now on name <OCSP URL>/' +
      a.name + '. Empty: none'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const res = await api('PUT', '/authorities/' + a.uuid,
      { crlValiditySeconds: Number(validity.value), publicUrl: url.value.trim() || null, ocspUrl: ocsp.value.trim() || null });
    if (!res.ok) { errors.replaceChildren(errorBox(res)); return; }
    if (location.hash === '#/authorities/' + a.uuid) authorityDetail(a.uuid, `Revocation settings of ${a.name} saved`);
    else authorities(`Revocation settings of ${a.name} saved`);
  });
  return form;
}

async function downloadCrl(a) {
  const res = await api('GET', `/authorities/${a.uuid}/crl`);
  if (!res.ok) { main.prepend(errorBox(res)); return; }
  const link = download(a.name + '.crl.pem', res.data.pem);
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}

async function authorities(notice) {
  const at = location.hash;   // the page this render is for (pageAt)
  const res = await api('GET', '/authorities');
  if (!res.ok) return pageAt(at, 'Authorities', errorBox(res));
  const crl = a => a.crl
    ? h('div', {}, `No. ${a.crl.crlNumber}, ${a.crl.entries} revoked, next update ${String(a.crl.nextUpdate).slice(0, 16).replace('T', ' ')}`,
      a.publicUrl ? h('div', { class: 'mono' }, a.publicUrl + '/' + a.crlFile) : h('div', {}, 'no public URL: certificates name no CRL'),
      a.ocspUrl ? h('div', { class: 'mono' }, 'OCSP: ' + a.ocspUrl + '/' + a.name) : null,
      h('button', { type: 'button', class: 'secondary', 'aria-label': 'Download CRL of ' + a.name, onclick: () => downloadCrl(a) }, 'Download CRL'))
    : 'not made yet';
  const rows = res.data.map(a => h('tr', {},
    h('td', {}, h('a', { href: '#/authorities/' + a.uuid }, a.name), h('div', {}, a.description)),
    h('td', {}, a.subjectDn), h('td', {}, String(a.notAfter).slice(0, 10)), h('td', {}, badge(a.enabled)),
    h('td', {}, download(a.name + '.pem', a.certificate || '')),
    h('td', {}, crl(a)),
    h('td', {}, h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'aria-label': 'Revocation settings of ' + a.name, onclick: () => openForm(authorityCrlForm(a)) }, 'Revocation settings'),
      h('button', { type: 'button', class: 'secondary', 'aria-label': (a.enabled ? 'Disable ' : 'Enable ') + a.name, onclick: () => act('PATCH', `/authorities/${a.uuid}/${a.enabled ? 'disable' : 'enable'}`, undefined, () => authorities()) }, a.enabled ? 'Disable' : 'Enable'),
      h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + a.name, onclick: () => confirmThen(
        `Delete Authority ${a.name}? Its CA key is destroyed; this cannot be undone. An Authority that has issued ` +
        'certificates or that RA Profiles use is not deleted: disable it instead.' +
        ((a.raProfiles || []).length ? ` RA Profiles using it: ${a.raProfiles.map(r => r.name).join(', ')}.` : ''),
        'Delete', () => act('DELETE', '/authorities/' + a.uuid, undefined, () => authorities(`Authority ${a.name} deleted`))) }, 'Delete')))));
  pageAt(at, 'Authorities', notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => openForm(authorityForm(res.data)) }, 'New Authority')),
    table(['Name', 'Subject', 'Valid until', 'State', 'CA certificate', 'CRL', ''], rows));
}

/* A CA key rollover (RFC 9810 4.4): a successor key with its certificates,
 * taking over at a chosen time (empty: at once). */
function rolloverForm(a) {
  const from = h('input', { type: 'datetime-local' });
  const keyType = h('input', { placeholder: a.keyType + ' (as now)' });
  const keyParam = h('input', { placeholder: 'as now' });
  const days = h('input', { type: 'number', value: 3650, min: 1, max: 36500 });
  const errors = h('div');
  const form = h('form', { 'aria-label': 'Roll over the key of ' + a.name }, h('h3', {}, 'Roll over the key of ' + a.name), errors,
    h('p', {}, 'A new key and a new self-signed certificate with the same subject, and the link certificates newWithOld and ' +
      'oldWithNew. Devices learn them by a genm rootCaCert before the new key takes over; the old key keeps answering ' +
      'for the certificates it issued (its CRL, OCSP).'),
    field('ro-from', 'Takes over at (your local time)', from, 'empty: at once; it must come before the current CA certificate ends'),
    field('ro-keytype', 'Key type', keyType, 'empty: the type, curve or size of the current key'),
    field('ro-keyparam', 'Curve or key size', keyParam),
    field('ro-days', 'Validity of the new CA certificate (days)', days),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Roll over'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { validityDays: Number(days.value) };
    if (from.value) body.activeFrom = new Date(from.value).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (keyType.value.trim()) body.keyType = keyType.value.trim();
    if (keyParam.value.trim()) body.keyParameter = keyParam.value.trim();
    const res = await api('POST', `/authorities/${a.uuid}/rollover`, body);
    if (!res.ok) { formErrors(errors, res, [[/activeFrom/i, from], [/keyType|key type/i, keyType], [/validityDays/i, days]]); return; }
    authorityDetail(a.uuid, res.data.successor
      ? `The new key of ${a.name} takes over at ${res.data.successor.activeFrom}`
      : `${a.name} issues with its new key (generation ${res.data.keyGeneration}) from now on`);
  });
  return form;
}

/* Issue or rotate an Authority's delegated OCSP signer (RFC 6960 4.2.2.2):
 * a key made on the server, a certificate with id-kp-OCSPSigning. */
function ocspSignerForm(a, signer) {
  const keyType = h('input', { value: 'EC' });
  const keyParam = h('input', { placeholder: 'default: P-256, or 3072 bits' });
  const days = h('input', { type: 'number', value: 30, min: 1, max: 3650 });
  const errors = h('div');
  const what = signer ? 'Rotate the OCSP signer of ' + a.name : 'Issue an OCSP signer for ' + a.name;
  const form = h('form', { 'aria-label': what }, h('h3', {}, what), errors,
    h('p', {}, 'OCSP answers are signed by this certificate instead of the CA key while it is valid' +
      (signer ? '; the current signer is replaced at once.' : '.') +
      ' After it ends, the CA key signs them again: rotate it before then.'),
    field('os-keytype', 'Key type', keyType, 'EC, RSA, Ed25519, ML-DSA-65 ...'),
    field('os-keyparam', 'Curve or key size', keyParam),
    field('os-days', 'Validity (days)', days),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, signer ? 'Rotate' : 'Issue'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { keyType: keyType.value.trim() || 'EC', validityDays: Number(days.value) };
    if (keyParam.value.trim()) body.keyParameter = keyParam.value.trim();
    const res = await api('POST', `/authorities/${a.uuid}/ocspSigner`, body);
    if (!res.ok) { formErrors(errors, res, [[/keyType|key type|curve|size/i, keyType], [/validityDays/i, days]]); return; }
    authorityDetail(a.uuid, `OCSP answers of ${a.name} are signed by ${res.data.subjectDn} (serial ${res.data.serialNumber}) from now on`);
  });
  return form;
}

/* An Authority's page: its CA certificate and chain, CRL and OCSP (and its
 * delegated signer), the RA Profiles that use it, its keys and their
 * rollover; edit, enable or disable, delete. */
async function authorityDetail(uuid, notice) {
  const at = location.hash;   // the page this render is for (pageAt)
  const [res, sres] = await Promise.all([api('GET', '/authorities/' + uuid),
    api('GET', `/authorities/${uuid}/ocspSigner`)]);
  if (!res.ok) return pageAt(at, 'Authority', errorBox(res));
  const a = res.data;
  // (404: it signs its answers itself)
  if (!sres.ok && sres.status !== 404) return pageAt(at, 'Authority ' + a.name, errorBox(sres));
  const signer = sres.ok ? sres.data : null;
  const dl = (k, v) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : v)];
  const desc = h('input', { value: a.description || '' });
  const errors = h('div');
  const edit = h('form', { 'aria-label': 'Edit Authority ' + a.name }, h('h3', {}, 'Description'), errors,
    field('au-edit-desc', 'Description', desc),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save description')));
  edit.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('PUT', '/authorities/' + a.uuid, { description: desc.value });
    if (!r.ok) { formErrors(errors, r, [[/description/i, desc]]); return; }
    authorityDetail(a.uuid, `Authority ${a.name} saved`);
  });
  const fullChain = (a.certificate || '') + (a.chain || '');
  pageAt(at, 'Authority ' + a.name, notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    h('dl', {},
      dl('State', a.enabled ? 'enabled' : 'disabled (its RA Profiles issue nothing)'),
      dl('Kind', a.kind), dl('Description', a.description),
      dl('Subject', a.subjectDn), dl('Issuer', a.issuerDn === a.subjectDn ? `${a.issuerDn} (a root: self-signed)` : a.issuerDn),
      dl('Serial number', a.serialNumber), dl('Key type', a.keyType),
      dl('Valid', `${String(a.notBefore).slice(0, 10)} to ${String(a.notAfter).slice(0, 10)}`),
      dl('CRL', a.crl ? `No. ${a.crl.crlNumber}, ${a.crl.entries} revoked, next update ${String(a.crl.nextUpdate).slice(0, 16).replace('T', ' ')}` : 'not made yet'),
      dl('CRL and CA certificate URLs', a.publicUrl ? `${a.publicUrl}/${a.crlFile}, ${a.publicUrl}/${a.certificateFile}` : 'none: certificates name no CRL'),
      dl('Key', `generation ${a.keyGeneration}` + ((a.retiredKeys || []).length
        ? `; retired keys (each still signs the CRL of its certificates): ${a.retiredKeys.map(k =>
          `generation ${k.generation} since ${String(k.retiredAt).slice(0, 16).replace('T', ' ')}`).join(', ')}` : '')),
      dl('Successor key', a.successor
        ? `generation ${a.successor.generation}, ${a.successor.keyType}, takes over at ${String(a.successor.activeFrom).slice(0, 19).replace('T', ' ')} UTC` +
          ` (made by ${a.successor.createdBy}; new certificate valid to ${String(a.successor.notAfter).slice(0, 10)})`
        : null),
      dl('OCSP URL', a.ocspUrl ? `${a.ocspUrl}/${a.name}` : null),
      dl('OCSP answers signed by', signer
        ? `the delegated signer ${signer.subjectDn} (${signer.keyType}, serial ${signer.serialNumber}), valid to ` +
          `${String(signer.notAfter).slice(0, 16).replace('T', ' ')}` +
          (Date.parse(signer.notAfter) < Date.now() ? ' — ended: the CA key signs them' : '')
        : 'the CA key'),
      dl('RA Profiles using it', (a.raProfiles || []).length
        ? h('span', {}, ...a.raProfiles.flatMap((r, i) => [i ? ', ' : '', h('a', { href: `#/certificates?raProfileUuid=${r.uuid}` }, r.name)]))
        : null),
      dl('Certificates', h('a', { href: '#/certificates?authorityUuid=' + a.uuid }, 'the certificates it issued'))),
    h('div', { class: 'actions' },
      download(a.name + '.pem', a.certificate || ''),
      download(a.name + '-chain.pem', fullChain),
      a.crl ? h('button', { type: 'button', class: 'secondary', 'aria-label': 'Download CRL of ' + a.name, onclick: () => downloadCrl(a) }, 'Download CRL') : null,
      a.newWithOld ? download(a.name + '-newWithOld.pem', a.newWithOld) : null,
      a.oldWithNew ? download(a.name + '-oldWithNew.pem', a.oldWithNew) : null,
      signer ? download(a.name + '-ocsp-signer.pem', signer.certificate) : null),
    a.successor ? h('div', { class: 'actions' },
      download(a.name + '-next.pem', a.successor.certificate),
      download(a.name + '-next-newWithOld.pem', a.successor.newWithOld),
      download(a.name + '-next-oldWithNew.pem', a.successor.oldWithNew),
      h('button', { type: 'button', class: 'danger', 'aria-label': 'Cancel rollover of ' + a.name, onclick: () => confirmThen(
        `Cancel the key rollover of ${a.name}? The successor key (generation ${a.successor.generation}) is destroyed; ` +
        'devices that fetched its certificates keep them but will never see it used.',
        'Cancel rollover', () => act('DELETE', `/authorities/${a.uuid}/rollover`, undefined,
          () => authorityDetail(a.uuid, `The key rollover of ${a.name} was cancelled`))) }, 'Cancel rollover')) : null,
    edit,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'aria-label': 'Revocation settings of ' + a.name, onclick: () => openForm(authorityCrlForm(a)) }, 'Revocation settings'),
      h('button', { type: 'button', class: 'secondary', 'aria-label': (signer ? 'Rotate OCSP signer of ' : 'Issue OCSP signer for ') + a.name,
        onclick: () => openForm(ocspSignerForm(a, signer)) }, signer ? 'Rotate OCSP signer' : 'Issue OCSP signer'),
      signer ? h('button', { type: 'button', class: 'danger', 'aria-label': 'Remove OCSP signer of ' + a.name, onclick: () => confirmThen(
        `Remove the OCSP signer of ${a.name}? Its key is destroyed and the CA key signs the OCSP answers from now on.`,
        'Remove OCSP signer', () => act('DELETE', `/authorities/${a.uuid}/ocspSigner`, undefined,
          () => authorityDetail(a.uuid, `OCSP answers of ${a.name} are signed by the CA key from now on`))) }, 'Remove OCSP signer') : null,
      a.issuerDn === a.subjectDn && !a.successor
        ? h('button', { type: 'button', class: 'secondary', 'aria-label': 'Roll over key of ' + a.name, onclick: () => openForm(rolloverForm(a)) }, 'Roll over key')
        : null,
      h('button', { type: 'button', class: 'secondary', 'aria-label': (a.enabled ? 'Disable ' : 'Enable ') + a.name, onclick: () =>
        act('PATCH', `/authorities/${a.uuid}/${a.enabled ? 'disable' : 'enable'}`, undefined,
          () => authorityDetail(a.uuid, `Authority ${a.name} ${a.enabled ? 'disabled' : 'enabled'}`)) }, a.enabled ? 'Disable' : 'Enable'),
      h('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + a.name, onclick: () => confirmThen(
        `Delete Authority ${a.name}? Its CA key is destroyed; this cannot be undone.` +
        (a.hasIssuedCertificates || (a.raProfiles || []).length
          ? ' It has issued certificates or RA Profiles use it: it will not be deleted; disable it instead.' : ''),
        'Delete', () => act('DELETE', '/authorities/' + a.uuid, undefined, () => { location.hash = '#/authorities'; })) }, 'Delete')));
}

/* ---- Certificates --------------------------------------------------------------- */

/* Search, filters and order in the address (#/certificates?status=valid&sort=-notAfter),
 * so that a view can be linked; the server filters, sorts and pages. */
async function certificates(query) {
  const at = location.hash;   // the page this render is for (pageAt)
  const q = new URLSearchParams(query || '');
  const limit = 20, offset = Number(q.get('offset') || 0);
  const [auths, ras, cmps] = await Promise.all([api('GET', '/authorities'), api('GET', '/raProfiles'),
    api('GET', '/cmpProfiles')]);
  const opts = (res) => [['', 'any'], ...((res.data || []).map(x => [x.uuid, x.name]))];
  const f = {
    subject: h('input', { value: q.get('subject') || '' }),
    serial: h('input', { value: q.get('serial') || '' }),
    status: select([['', 'any'], ['valid', 'valid'], ['revoked', 'revoked'], ['pending', 'pending'], ['rejected', 'rejected']], q.get('status') || ''),
    authorityUuid: select(opts(auths), q.get('authorityUuid') || ''),
    raProfileUuid: select(opts(ras), q.get('raProfileUuid') || ''),
    cmpProfileUuid: select(opts(cmps), q.get('cmpProfileUuid') || ''),
    keyType: select([['', 'any'], ['EC', 'EC'], ['RSA', 'RSA'], ['ED25519', 'Ed25519'], ['ED448', 'Ed448']], q.get('keyType') || ''),
    issuedAfter: h('input', { type: 'date', value: q.get('issuedAfter') || '' }),
    issuedBefore: h('input', { type: 'date', value: q.get('issuedBefore') || '' }),
    expiresAfter: h('input', { type: 'date', value: q.get('expiresAfter') || '' }),
    expiresBefore: h('input', { type: 'date', value: q.get('expiresBefore') || '' }),
  };
  const sort = q.get('sort') || '-createdAt';
  const chosen = (extra) => {
    const n = new URLSearchParams();
    for (const [k, el] of Object.entries(f)) if (el.value) n.set(k, el.value);
    if (sort !== '-createdAt') n.set('sort', sort);
    for (const [k, v] of Object.entries(extra || {})) if (v) n.set(k, v); else n.delete(k);
    return n;
  };
  const go = (extra) => { location.hash = '#/certificates?' + chosen(extra); };
  const args = chosen({ limit, offset, sort });
  const res = await api('GET', '/certificates?' + args);
  const form = h('form', { role: 'search', class: 'filters', 'aria-label': 'Search certificates' },
    field('ce-subject', 'Subject contains', f.subject), field('ce-serial', 'Serial (hex)', f.serial),
    field('ce-status', 'Status', f.status), field('ce-authority', 'Authority', f.authorityUuid),
    field('ce-ra', 'RA Profile', f.raProfileUuid), field('ce-cmp', 'CMP Profile', f.cmpProfileUuid),
    field('ce-keytype', 'Key type', f.keyType),
    field('ce-issued-after', 'Issued from (UTC day)', f.issuedAfter), field('ce-issued-before', 'Issued before', f.issuedBefore),
    field('ce-expires-after', 'Expires from', f.expiresAfter), field('ce-expires-before', 'Expires before', f.expiresBefore),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search'),
      h('button', { type: 'button', class: 'secondary', onclick: () => { location.hash = '#/certificates'; } }, 'Clear')));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); go({ offset: 0 }); });
  if (!res.ok) return pageAt(at, 'Certificates', form, errorBox(res));
  // a column header sorts by it; again, the other way
  const col = (label, key) => {
    const now = sort === key ? 'ascending' : sort === '-' + key ? 'descending' : null;
    const th = h('button', { type: 'button', class: 'link', onclick: () => go({ sort: now === 'descending' ? key : '-' + key, offset: 0 }) },
      label, now ? (now === 'ascending' ? ' ▲' : ' ▼') : '');
    th.dataset.sort = now || 'none';
    return [th, now];
  };
  const heads = [col('Subject', 'subjectDn'), col('Serial', 'serialNumber'), ['Status', null], col('Valid until', 'notAfter'),
    ['RA Profile', null], col('Issued', 'createdAt')];
  const rows = res.data.certificates.map(c => h('tr', {},
    h('td', {}, h('a', { href: '#/certificates/' + c.uuid }, c.subjectDn || '(empty subject)')),
    h('td', { class: 'mono' }, c.serialNumber), h('td', {}, h('span', { class: 'badge ' + c.status }, c.status)),
    h('td', {}, String(c.notAfter).slice(0, 10)), h('td', {}, c.raProfile ? c.raProfile.name : '—'),
    h('td', {}, String(c.createdAt).slice(0, 10))));
  const t = h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, heads.map(([label, now]) => h('th', { scope: 'col', 'aria-sort': now || undefined }, label)))),
    h('tbody', {}, labelCells(rows, ['Subject', 'Serial', 'Status', 'Valid until', 'RA Profile', 'Issued']))));
  pageAt(at, 'Certificates', form,
    h('p', {}, res.data.total ? `${res.data.total} certificates; showing ${offset + 1}–${offset + res.data.certificates.length}`
      : 'No certificate matches.'),
    t,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => go({ offset: Math.max(0, offset - limit) }) }, 'Previous'),
      h('button', { type: 'button', class: 'secondary', disabled: offset + limit >= res.data.total, onclick: () => go({ offset: offset + limit }) }, 'Next')));
}

// RFC 5280 reasons a certificate may be revoked for (removeFromCRL is for
// delta CRLs only: the API refuses it)
const REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded',
  'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'];
// the CRLReason codes (RFC 5280 5.3.1; 7 is not used)
const REASON_NAMES = { 0: 'unspecified', 1: 'keyCompromise', 2: 'cACompromise', 3: 'affiliationChanged',
  4: 'superseded', 5: 'cessationOfOperation', 6: 'certificateHold', 8: 'removeFromCRL',
  9: 'privilegeWithdrawn', 10: 'aACompromise' };

async function certificateDetail(uuid) {
  const at = location.hash;   // the page this render is for (pageAt)
  const res = await api('GET', '/certificates/' + uuid);
  if (!res.ok) return pageAt(at, 'Certificate', errorBox(res));
  const c = res.data;
  const held = c.status === 'revoked' && c.revocationReason === 6;
  // a hold may be made permanent with any other reason
  const reason = select(REASONS.filter(r => !held || r !== 'certificateHold').map(r => [r, r]),
    held ? 'keyCompromise' : 'unspecified');
  // RFC 5280 5.3.2: when the key was (suspected) compromised; optional, UTC
  const invalidity = h('input', { id: 'rv-invalidity', type: 'datetime-local' });
  const revokeBody = () => invalidity.value
    ? { reason: reason.value, invalidityDate: invalidity.value.slice(0, 16) + ':00Z' }
    : { reason: reason.value };
  const question = h('p');
  const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel');
  const dialog = h('dialog', { 'aria-label': 'Confirm revocation' }, question,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'danger', id: 'confirm-revoke', onclick: async () => {
        dialog.close();
        await act('POST', `/certificates/${uuid}/revoke`, revokeBody(), () => certificateDetail(uuid));
      } }, 'Revoke'),
      cancel));
  const ask = () => {
    // what the chosen reason does, truly
    question.textContent = `Revoke ${c.subjectDn || c.serialNumber} with reason ${reason.value}? ` +
      (reason.value === 'certificateHold'
        ? 'The certificate is on hold: listed on the CRL until you release it (then valid again) or revoke it for good.'
        : held ? 'The hold becomes a revocation for good, dated from the hold; this cannot be undone.'
          : 'The certificate stays revoked; this cannot be undone.');
    dialog.showModal();
    cancel.focus();
  };
  const dl = (k, v) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : String(v))];
  pageAt(at, 'Certificate ' + (c.subjectDn || c.serialNumber),
    h('dl', {}, dl('Subject', c.subjectDn), dl('Subject alternative names', c.subjectAltNames), dl('Issuer', c.issuerDn),
      dl('Serial', c.serialNumber), dl('Valid', `${c.notBefore} – ${c.notAfter}`), dl('Key', c.keyType),
      dl('Status', c.status), dl('Revocation reason', REASON_NAMES[c.revocationReason] ?? c.revocationReason), dl('Revoked at', c.revokedAt),
      dl('Invalidity date', c.invalidityDate),
      dl('RA Profile', c.raProfile && c.raProfile.name), dl('CMP Profile', c.cmpProfile && c.cmpProfile.name)),
    download((c.serialNumber || 'certificate') + '.pem', c.certificate || ''),
    c.status === 'valid' || held ? h('div', { class: 'card' }, field('rv-reason', 'Revocation reason', reason),
      field('rv-invalidity', 'Invalidity date (UTC, optional)', invalidity,
        'when the key was or may have been compromised, if before now; on the CRL and in OCSP answers'),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'danger', onclick: ask }, held ? 'Revoke for good…' : 'Revoke…'),
        held ? h('button', { type: 'button', class: 'secondary', onclick: () => confirmThen(
          `Release ${c.subjectDn || c.serialNumber} from hold? It is valid again and leaves the next CRL.`, 'Release',
          () => act('POST', `/certificates/${uuid}/release`, undefined, () => certificateDetail(uuid))) }, 'Release from hold…') : null)) : null,
    dialog,
    h('h3', {}, 'History'),
    (c.history || []).length ? auditTable(c.history, false) : h('p', { class: 'empty' }, 'No event recorded.'),
    h('h3', {}, 'PEM'), h('pre', {}, c.certificate || ''));
}

/* ---- Audit log ------------------------------------------------------------------- */

const when = (t) => String(t).slice(0, 19).replace('T', ' ');

function auditTable(events, withObject) {
  return table(['When (UTC)', 'Actor', 'Action', ...(withObject ? ['Object'] : []), 'Result'],
    events.map(e => h('tr', {}, h('td', {}, when(e.at)), h('td', {}, e.actor), h('td', {}, e.action),
      withObject ? h('td', {}, e.certificateUuid
        ? h('a', { href: '#/certificates/' + e.certificateUuid }, e.objectName || e.object)
        : (e.objectName || h('span', { class: 'mono' }, e.object))) : null,
      h('td', {}, e.result))));
}

/* Filters in the address (#/audit?actor=...&offset=50), so that a view can
 * be linked; the same filters give the CSV export. */
async function audit(query) {
  const at = location.hash;   // the page this render is for (pageAt)
  const q = new URLSearchParams(query || '');
  const offset = Number(q.get('offset') || 0);
  const keys = ['actor', 'action', 'object', 'from', 'to'];
  const filters = new URLSearchParams();
  for (const k of keys) if (q.get(k)) filters.set(k, q.get(k));
  const res = await api('GET', `/auditLogs?limit=50&offset=${offset}&${filters}`);
  const inputs = Object.fromEntries(keys.map(k => [k, h('input', {
    ...(k === 'from' || k === 'to' ? { type: 'date' } : {}), value: q.get(k) || '' })]));
  const go = (o) => {
    const f = new URLSearchParams();
    for (const k of keys) if (inputs[k].value) f.set(k, inputs[k].value);
    if (o) f.set('offset', String(o));
    location.hash = '#/audit?' + f;
  };
  const form = h('form', { class: 'card filters', 'aria-label': 'Filter the audit log', onsubmit: (ev) => { ev.preventDefault(); go(0); } },
    field('al-actor', 'Actor contains', inputs.actor, 'e.g. user:admin, cmp:demo'),
    field('al-action', 'Action', inputs.action, 'an action or its family: cmp, cmp.revoke, POST /certificates/{uuid}/revoke'),
    field('al-object', 'Object contains', inputs.object, 'a name, subject, serial or UUID'),
    field('al-from', 'From (UTC day)', inputs.from), field('al-to', 'Before (UTC day)', inputs.to),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter'),
      h('button', { type: 'button', class: 'secondary', id: 'al-csv', onclick: async () => {
        const r = await fetch(API + `/auditLogs?format=csv&${filters}`, { credentials: 'same-origin' });
        const a = h('a', { href: URL.createObjectURL(new Blob([await r.text()], { type: 'text/csv' })),
          download: 'audit-log.csv' });
        document.body.append(a); a.click(); a.remove();
      } }, 'Export CSV')));
  if (!res.ok) return pageAt(at, 'Audit log', form, errorBox(res));
  pageAt(at, 'Audit log', form,
    res.data.total ? auditTable(res.data.auditLogs, true) : h('p', { class: 'empty' }, 'No event matches.'),
    h('p', { class: 'muted' }, `${res.data.total} event(s)`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => go(Math.max(0, offset - 50)) }, 'Newer'),
      h('button', { type: 'button', class: 'secondary', disabled: offset + 50 >= res.data.total, onclick: () => go(offset + 50) }, 'Older')));
}

/* ---- routing ----------------------------------------------------------------------- */

async function route() {
  const at = location.hash;   // the page this render is for (pageAt)
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  const parts = path.split('/').filter(Boolean);
  for (const a of document.querySelectorAll('nav a'))
    a.toggleAttribute('aria-current', a.getAttribute('href') === '#/' + (parts[0] || ''));
  for (const a of document.querySelectorAll('nav a[aria-current]')) a.setAttribute('aria-current', 'page');
  try {
    if (!parts.length) await dashboard();
    else if (parts[0] === 'cmp-profiles') await (parts[1] ? cmpProfileDetail(parts[1]) : cmpProfiles());
    else if (parts[0] === 'ra-profiles' && parts[3] === 'devices') await devices(parts[1], parts[2], query);
    else if (parts[0] === 'ra-profiles') await raProfiles();
    else if (parts[0] === 'authorities') await (parts[1] ? authorityDetail(parts[1]) : authorities());
    else if (parts[0] === 'certificates') await (parts[1] ? certificateDetail(parts[1]) : certificates(query));
    else if (parts[0] === 'audit') await audit(query);
    else if (parts[0] === 'approvals') await approvals(query);
    else pageAt(at, 'Not found', h('p', {}, 'No such page.'));
  } catch (e) {
    pageAt(at, 'Error', h('div', { class: 'errors', role: 'alert' }, String(e)));
  }
  main.dataset.route = location.hash || '#/';   // what is shown (for tests and assistive tools)
}

window.addEventListener('hashchange', route);
route();
