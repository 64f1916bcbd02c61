// End-to-end tests of dutydesk-sim's server layer: the real binary on loopback, ephemeral ports.
// Run: node --test --experimental-websocket tests/e2e/  with DUTYDESK_SIM=<path to dutydesk-sim>.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSim } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const simBin = process.env.DUTYDESK_SIM ?? path.join(root, 'build/sim/dutydesk-sim');
const seed = path.join(root, 'sim/seed/demo.json');
const bot = { 'X-User-Id': 'B0tB0tB0tB0tB0tB0', 'X-Auth-Token': 'dutydesk-pat-0000000000000000000000000000' };
const ONCALL = { Authorization: 'oncall-token-000000000000000000' };

let sim, urls;
before(async () => { sim = startSim(); urls = await sim.ready; });
after(() => { if (sim.proc.exitCode === null) sim.proc.kill('SIGTERM'); });

const control = (p, init = {}) => fetch(urls.control + '/control' + p, init).then(async (r) => ({ status: r.status, body: await r.json() }));
const post = (p, body) => control(p, { method: 'POST', body: JSON.stringify(body) });

test('the ready line names five distinct loopback URLs', () => {
  const names = ['rocketchat', 'jira-dc', 'jira-cloud', 'oncall', 'control'];
  assert.deepEqual(Object.keys(urls).sort(), [...names].sort());
  const ports = names.map((n) => new URL(urls[n]).port);
  assert.equal(new Set(ports).size, 5);
  for (const n of names) assert.equal(new URL(urls[n]).hostname, '127.0.0.1');
});

test('control health answers and unknown control paths are 404', async () => {
  assert.deepEqual((await control('/health')).body, { ok: true });
  assert.equal((await control('/nope')).status, 404);
});

test('every product request is in the request log with its status and body', async () => {
  const { body: before } = await control('/requests?limit=1');
  const r = await fetch(urls.oncall + '/api/v1/schedules/SCHEDCICD/', { headers: ONCALL });
  assert.equal(r.status, 200);
  const bad = await fetch(urls['jira-dc'] + '/rest/api/2/issue', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"fields":{}}' });
  await bad.text();
  const { body } = await control(`/requests?since=${before.next_seq - 1}`);
  const oncall = body.requests.find((e) => e.system === 'oncall' && e.target === '/api/v1/schedules/SCHEDCICD/');
  assert.ok(oncall, JSON.stringify(body));
  assert.equal(oncall.method, 'GET');
  assert.equal(oncall.status, 200);
  const jira = body.requests.find((e) => e.system === 'jira-dc' && e.method === 'POST');
  assert.equal(jira.body, '{"fields":{}}');
  assert.equal(jira.status, bad.status);
  const filtered = await control(`/requests?system=oncall&since=${before.next_seq - 1}`);
  assert.ok(filtered.body.requests.every((e) => e.system === 'oncall'));
});

test('an injected 429 takes the product shape and lapses when cleared', async () => {
  assert.equal((await post('/faults', { system: 'oncall', rate_429: 1, retry_after_s: 9 })).status, 200);
  const r = await fetch(urls.oncall + '/api/v1/schedules/SCHEDCICD/', { headers: ONCALL });
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('ratelimit-reset'), '9');
  assert.match((await r.json()).detail, /throttled/);
  const faults = (await control('/faults')).body;
  assert.ok(faults.injected.oncall['429'] >= 1);
  await control('/faults?system=oncall', { method: 'DELETE' });
  assert.equal((await fetch(urls.oncall + '/api/v1/schedules/SCHEDCICD/', { headers: ONCALL })).status, 200);
});

test('an injected 5xx uses the chosen status and the product error body', async () => {
  await post('/faults', { system: 'jira-dc', rate_5xx: 1, status_5xx: 502 });
  const r = await fetch(urls['jira-dc'] + '/rest/api/2/serverInfo');
  assert.equal(r.status, 502);
  assert.ok(Array.isArray((await r.json()).errorMessages));
  await control('/faults', { method: 'DELETE' });
  assert.equal((await fetch(urls['jira-dc'] + '/rest/api/2/serverInfo')).status, 200);
});

test('an injected reset drops the connection without an answer', async () => {
  await post('/faults', { system: 'rocketchat', rate_reset: 1 });
  await assert.rejects(fetch(urls.rocketchat + '/api/v1/me', { headers: bot }), /fetch failed/);
  // The control API is never faulted.
  assert.equal((await control('/health')).status, 200);
  await control('/faults', { method: 'DELETE' });
  assert.equal((await fetch(urls.rocketchat + '/api/v1/me', { headers: bot })).status, 200);
});

test('injected latency delays the answer by at least that long', async () => {
  await post('/faults', { system: 'jira-cloud', latency_ms: 300 });
  const t0 = performance.now();
  const r = await fetch(urls['jira-cloud'] + '/rest/api/3/serverInfo');
  const elapsed = performance.now() - t0;
  assert.equal(r.status, 200);
  assert.ok(elapsed >= 295, `answered after ${elapsed} ms`);
  await control('/faults', { method: 'DELETE' });
});

test('bad fault specs are refused', async () => {
  assert.equal((await post('/faults', { system: 'jira-dc', rate_429: 0.8, rate_5xx: 0.8 })).status, 400);
  assert.equal((await post('/faults', { system: 'nope', rate_429: 0.1 })).status, 400);
  assert.equal((await control('/faults', { method: 'POST', body: 'not json' })).status, 400);
});

test('the Rocket.Chat port upgrades /websocket to DDP and greets first', async () => {
  const ws = new WebSocket(urls.rocketchat.replace('http', 'ws') + '/websocket');
  const frames = [];
  const got = (pred) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('frames: ' + JSON.stringify(frames))), 5000);
    const check = () => { const f = frames.find(pred); if (f) { clearTimeout(timer); resolve(f); return true; } return false; };
    if (!check()) ws.addEventListener('message', () => check());
  });
  ws.addEventListener('message', (e) => frames.push(JSON.parse(e.data)));
  await once(ws, 'open');
  await got((f) => f.server_id === '0');
  ws.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1'] }));
  const connected = await got((f) => f.msg === 'connected');
  assert.equal(typeof connected.session, 'string');
  const { body } = await control('/requests?system=rocketchat');
  assert.ok(body.requests.some((e) => e.method === 'WS' && e.body.includes('"connect"')));
  ws.close();
});

// Cloud admin webhooks with a secret are signed; Jira DC 9.x (the DC flavour) does not sign (jira.md §7.5).
test('Jira Cloud webhooks are delivered signed, and retried with the same identifier after a 5xx', async () => {
  const deliveries = [];
  const receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', () => {
      deliveries.push({ headers: req.headers, raw });
      res.statusCode = deliveries.length === 1 ? 503 : 204;
      res.end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const url = `http://127.0.0.1:${receiver.address().port}/jira/webhook`;
  const secret = 'e2e-secret';
  try {
    const cloudAuth = 'Basic ' + Buffer.from('dutybot@example.com:jira-bot-token-0000000000000000').toString('base64');
    const reg = await fetch(urls['jira-cloud'] + '/rest/webhooks/1.0/webhook', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: cloudAuth },
      body: JSON.stringify({ name: 'e2e', url, events: ['jira:issue_created'], secret }),
    });
    assert.ok(reg.status < 300, `register: ${reg.status} ${await reg.text()}`);
    const created = await fetch(urls['jira-cloud'] + '/rest/api/2/issue', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: cloudAuth },
      body: JSON.stringify({ fields: { project: { key: 'DBA' }, issuetype: { name: 'Task' }, summary: 'e2e webhook' } }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { key } = await created.json();
    const deadline = Date.now() + 15000;
    while (deliveries.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(deliveries.length, 2, 'one failed attempt and one retry');
    const [first, second] = deliveries;
    for (const d of deliveries) {
      const expected = 'sha256=' + createHmac('sha256', secret).update(d.raw).digest('hex');
      assert.equal(d.headers['x-hub-signature'], expected);
      const payload = JSON.parse(d.raw);
      assert.equal(payload.webhookEvent, 'jira:issue_created');
      assert.equal(payload.issue.key, key);
    }
    assert.equal(first.headers['x-atlassian-webhook-retry'], undefined);
    assert.equal(second.headers['x-atlassian-webhook-retry'], '1');
    assert.equal(first.headers['x-atlassian-webhook-identifier'], second.headers['x-atlassian-webhook-identifier']);
  } finally {
    receiver.close();
  }
});

test('SIGTERM stops the simulator cleanly', async () => {
  const s = startSim();
  await s.ready;
  s.proc.kill('SIGTERM');
  const [code] = await once(s.proc, 'exit');
  assert.equal(code, 0);
});

test('a port already in use and a bad seed are clear start-up errors', async () => {
  const taken = new URL(urls.control).port;
  const s = spawn(simBin, ['--seed', seed, '--control-listen', `127.0.0.1:${taken}`, '--rc-listen', '127.0.0.1:0',
    '--jira-dc-listen', '127.0.0.1:0', '--jira-cloud-listen', '127.0.0.1:0', '--oncall-listen', '127.0.0.1:0']);
  let err = '';
  s.stderr.on('data', (d) => { err += d; });
  const [code] = await once(s, 'exit');
  assert.equal(code, 1);
  assert.match(err, new RegExp(`cannot listen on 127.0.0.1:${taken} for control`));
  const b = spawn(simBin, ['--seed', path.join(root, 'README.md')]);
  let berr = '';
  b.stderr.on('data', (d) => { berr += d; });
  const [bcode] = await once(b, 'exit');
  assert.equal(bcode, 1);
  assert.match(berr, /is not a JSON object/);
});
