// Replays the request corpora (requests/jira-v3.json, requests/jira-v2.json) against the simulator AND against
// Stoplight Prism validating Atlassian's OpenAPI files. Same bytes to both; see the corpus $comment for the format.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFORMANCE_DIR, URLS, http, jiraUser } from '../lib/common.mjs';

const BOT = jiraUser('dutybot');

const CORPORA = [
  {
    file: 'requests/jira-v3.json',
    sim: URLS.jiraCloud,
    prism: URLS.prismV3,
    auth: `Basic ${Buffer.from(`${BOT.email}:${BOT.token}`).toString('base64')}`,
  },
  {
    file: 'requests/jira-v2.json',
    sim: URLS.jiraDc,
    prism: URLS.prismV2,
    auth: `Bearer ${BOT.token}`,
  },
];

const PLACEHOLDER = /\{\{(#?)([A-Za-z0-9_]+)\}\}/g;
const WHOLE_NUMBER_PLACEHOLDER = /^\{\{#([A-Za-z0-9_]+)\}\}$/;

/** Substitutes placeholders; `missing(name)` supplies a value for an unknown variable (or throws). */
function substitute(value, vars, missing) {
  const lookup = (name) => (name in vars ? vars[name] : missing(name));
  if (typeof value === 'string') {
    const whole = value.match(WHOLE_NUMBER_PLACEHOLDER);
    if (whole) return Number(lookup(whole[1]));
    return value.replace(PLACEHOLDER, (_, _hash, name) => String(lookup(name)));
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars, missing)]));
  }
  return value;
}

function buildRequest(entry, vars, missing, auth) {
  const path = substitute(entry.path, vars, missing);
  const query = entry.query ? new URLSearchParams(substitute(entry.query, vars, missing)).toString() : '';
  const headers = { accept: 'application/json', authorization: auth, ...(entry.headers || {}) };
  let body;
  if (entry.rawBody !== undefined) body = entry.rawBody;
  else if (entry.body !== undefined) body = JSON.stringify(substitute(entry.body, vars, missing));
  if (body !== undefined) headers['content-type'] = entry.contentType || 'application/json';
  return { target: query ? `${path}?${query}` : path, method: entry.method, headers, body };
}

function statusMatches(status, want) {
  if (want === undefined || want === '2xx') return status >= 200 && status < 300;
  if (want === '4xx') return status >= 400 && status < 500;
  return status === want;
}

const getPath = (obj, dotted) => dotted.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);

const describeResponse = (req, res) =>
  `${req.method} ${req.target}${req.body !== undefined ? ` body=${String(req.body).slice(0, 300)}` : ''}\n` +
  `  -> ${res.status} ${res.text.slice(0, 500)}` +
  (res.headers.get('sl-violations') ? `\n  sl-violations: ${res.headers.get('sl-violations')}` : '');

for (const corpus of CORPORA) {
  const data = JSON.parse(readFileSync(resolve(CONFORMANCE_DIR, corpus.file), 'utf8'));

  describe(`${corpus.file}: simulator (${corpus.sim}) and Prism (${corpus.prism}) on ${data.spec.split('/').pop()}`, () => {
    const vars = { ...data.variables };

    for (const entry of data.requests) {
      const expect = entry.expect || {};

      test(entry.name, async (t) => {
        await t.test('simulator', async () => {
          const req = buildRequest(entry, vars, (name) => {
            throw new Error(`unresolved placeholder {{${name}}} (an earlier capture failed)`);
          }, corpus.auth);
          const res = await http(corpus.sim + req.target, req);
          assert.ok(
            statusMatches(res.status, expect.sim),
            `simulator: expected ${expect.sim ?? '2xx'}\n${describeResponse(req, res)}`,
          );
          if (statusMatches(res.status, '2xx') && res.status !== 204 && res.text) {
            assert.notEqual(res.json, undefined, `simulator 2xx body is JSON\n${describeResponse(req, res)}`);
          }
          for (const [name, path] of Object.entries(entry.capture || {})) {
            const v = getPath(res.json, path);
            assert.ok(v !== undefined && v !== null, `capture ${name} from ${path}\n${describeResponse(req, res)}`);
            vars[name] = v;
          }
        });

        await t.test('prism', async () => {
          // Prism has no state: if a capture failed on the simulator, any well-formed id will do.
          const req = buildRequest(entry, vars, () => '10000', corpus.auth);
          const res = await http(corpus.prism + req.target, req);
          const violations = res.headers.get('sl-violations');
          assert.ok(statusMatches(res.status, expect.prism), `prism: expected ${expect.prism ?? '2xx'}\n${describeResponse(req, res)}`);
          if (statusMatches(res.status, '2xx')) {
            assert.equal(violations, null, `prism: no sl-violations on a valid request\n${describeResponse(req, res)}`);
          } else if (expect.prismViolations !== false) {
            assert.ok(violations, `prism: a rejected request carries sl-violations\n${describeResponse(req, res)}`);
            assert.ok(Array.isArray(JSON.parse(violations)), 'sl-violations is a JSON array');
          }
        });
      });
    }
  });
}
