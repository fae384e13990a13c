/* SPDX-License-Identifier: Apache-2.0 */
// Every admin API response the tests saw, checked against openapi.json: the
// operation exists, the status is one it documents, and a JSON body
// validates against that status's schema (JSON Schema 2020-12, as OpenAPI
// 3.1 has it; formats checked). Usage: node openapi-check.mjs OPENAPI LOG...
// where each LOG holds one {"method","path","status","body"} per line (body:
// the response's text, path below /api/v1, query included or not).
import fs from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [openapiFile, ...logs] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(openapiFile, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: doc.components });
const fix = (s) => JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"openapi#/components/'));

// the path templates, most literal first (/cmpProfiles/signingCertificates before /cmpProfiles/{uuid})
const templates = Object.keys(doc.paths).map(t => ({ t, parts: t.split('/').filter(Boolean) }))
  .sort((a, b) => a.parts.filter(p => p.startsWith('{')).length - b.parts.filter(p => p.startsWith('{')).length);
function operation(method, path) {
  const dec = (x) => { try { return decodeURIComponent(x); } catch (e) { return x; } };
  const parts = path.split('?')[0].split('/').filter(Boolean).map(dec);
  for (const { t, parts: tp } of templates) {
    if (tp.length !== parts.length) continue;
    if (tp.every((p, i) => p.startsWith('{') || p === parts[i])) return { t, op: doc.paths[t][method.toLowerCase()] };
  }
  return { t: null, op: null };
}

const validators = new Map();
let seen = 0, checked = 0;
const failures = [];
for (const log of logs) {
  if (!fs.existsSync(log)) continue;
  for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    seen++;
    const where = `${r.method} ${r.path} -> ${r.status}`;
    const { t, op } = operation(r.method, r.path);
    if (!op) {
      // a path or method the API does not have: documented as 404/405 for all
      if (r.status === 404 || r.status === 405) continue;
      failures.push(`${where}: no such operation in openapi.json`);
      continue;
    }
    const resp = op.responses[String(r.status)] || op.responses.default;
    if (!resp) { failures.push(`${where}: status not documented for ${r.method} ${t}`); continue; }
    const schema = resp.content && resp.content['application/json'] && resp.content['application/json'].schema;
    if (!schema || !r.body || !r.body.trim()) continue;
    let body;
    try { body = JSON.parse(r.body); } catch (e) { continue; }   // not JSON (an export): its own type
    const key = `${r.method} ${t} ${r.status}`;
    if (!validators.has(key)) validators.set(key, ajv.compile(fix(schema)));
    const v = validators.get(key);
    checked++;
    if (!v(body))
      failures.push(`${where}: ${ajv.errorsText(v.errors)} in ${JSON.stringify(body).slice(0, 200)}`);
  }
}
const unique = [...new Set(failures)];
console.log(`${seen} responses seen, ${checked} JSON bodies validated, ${unique.length} distinct failures`);
for (const f of unique.slice(0, 40)) console.log('  ' + f);
process.exit(unique.length ? 1 : 0);
