// End to end with the real brokers: `dutydesk serve` against dutydesk-sim publishes its events to a real
// nats-server (JetStream, read back with the official NATS client) and to a signed webhook, and exposes metrics that
// a real Prometheus scrapes. NATS is stopped in the middle of a story and started again: nothing is lost, nothing is
// duplicated, every request's events stay in order; a dutydesk restart publishes nothing twice.
// Run: tests/e2e/run.sh <dutydesk-sim> <dutydesk>  (DUTYDESK_BIN unset, or nats-server / prometheus missing: skipped).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, StringCodec } from 'nats';
import { startStack, chat, buttonsOf, byBot, freePort, stop, waitFor, tail } from './lib.mjs';

const bin = process.env.DUTYDESK_BIN;
const have = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const skip = !bin ? 'DUTYDESK_BIN is unset: run tests/e2e/run.sh <dutydesk-sim> <dutydesk>'
  : !have('nats-server') ? 'nats-server is not installed (scripts/setup.sh installs it)'
  : !have('prometheus') ? 'prometheus is not installed (scripts/setup.sh installs it)' : false;

let n = 0;
const uniq = (text) => `${text} (events e2e ${process.pid}-${++n})`;
const CICD = 'cicd-support';
const STREAM = 'DUTYDESK_E2E';
const SECRET = 'hook-secret-e2e';
const sc = StringCodec();

/** A nats-server with JetStream on `port`, its store in `dir` (kept across restarts). */
function startNats(port, dir) {
  const proc = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 10000);
    const check = () => { if (/Server is ready/.test(log)) { clearTimeout(timer); resolve(); } };
    proc.stdout.on('data', check);
    proc.stderr.on('data', check);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`nats-server exited (${code}):\n${log}`)); });
  });
  ready.catch(() => {});
  return { proc, ready, log: () => log };
}

/** Every message of the stream, in stream order: {seq, subject, msgId, event}. */
async function streamMessages(natsUrl) {
  const nc = await connect({ servers: natsUrl, reconnect: false });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(STREAM);
    const out = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; ++seq) {
      const m = await jsm.streams.getMessage(STREAM, { seq });
      out.push({ seq: m.seq, subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), event: JSON.parse(sc.decode(m.data)) });
    }
    return { info, messages: out };
  } finally {
    await nc.close();
  }
}

/** A local HTTP receiver that records every POST with whether its signature is valid. */
async function startReceiver() {
  const got = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const want = 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex');
      got.push({ signed: req.headers['x-dutydesk-signature'] === want, type: req.headers['content-type'],
        event: JSON.parse(body.toString('utf8')) });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { got, url: `http://127.0.0.1:${server.address().port}/hook`, close: () => new Promise((r) => server.close(r)) };
}

/** The value of one series on dutydesk's /metrics, or undefined. */
async function scrape(port, series) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('events on NATS JetStream and a webhook, metrics scraped by Prometheus', { skip }, () => {
  let natsDir, natsPort, natsUrl, nats, receiver, stack, h, prom, promDir, promPort;
  const byRequest = (events) => events.reduce((m, e) => ((m[e.subject] ??= []).push(e.id), m), {});

  before(async () => {
    natsDir = mkdtempSync(path.join(tmpdir(), 'dutydesk-nats-'));
    natsPort = await freePort();
    natsUrl = `nats://127.0.0.1:${natsPort}`;
    nats = startNats(natsPort, natsDir);
    await nats.ready;
    receiver = await startReceiver();
    stack = await startStack({ bin, name: 'events', feedback: { expireAfter: '1h' },
      events: { natsUrl, stream: STREAM, webhooks: [{ url: receiver.url, secret: SECRET }] } });
    h = chat(stack);
    promDir = mkdtempSync(path.join(tmpdir(), 'dutydesk-prom-'));
    promPort = await freePort();
    writeFileSync(path.join(promDir, 'prometheus.yml'), `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: dutydesk
    static_configs:
      - targets: ['127.0.0.1:${stack.metricsPort}']
`);
    prom = spawn('prometheus', [`--config.file=${path.join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  });
  after(async () => {
    await stop(prom);
    await stack?.stopAll();
    await stop(nats?.proc);
    await receiver?.close();
    for (const d of [natsDir, promDir]) if (d && !process.env.E2E_KEEP) rmSync(d, { recursive: true, force: true });
  });

  let first; // the first request of the story
  test('a story is published once, in order, as CloudEvents on <prefix>.request.<team>.<kind>, and to the webhook', async () => {
    assert.deepEqual(stack.readyLine.events, ['nats', 'webhook:0']);
    const { root, intro } = await h.ask('carol', CICD, uniq('nightly build broken'));
    first = root._id;
    await h.ctl.say('alice', CICD, 'looking at it', root._id);
    await h.ctl.click('alice', intro._id, 'Done');
    const survey = await waitFor('the survey DM', async () =>
      (await h.ctl.dmMessages('carol')).find((m) => byBot(m) && buttonsOf(m).some((b) => b.msg === `!dd rate ${root._id} 5`)));
    await h.ctl.click('carol', survey._id, '5');
    const want = [`${first}/event/created`, `${first}/event/comment/`, `${first}/event/status/1`, `${first}/event/rated/1`];
    const got = await waitFor('the four events on the stream', async () => {
      const { messages } = await streamMessages(natsUrl);
      const mine = messages.filter((m) => m.event.subject === first);
      return mine.length >= 4 ? mine : null;
    }, { context: async () => `stream: ${JSON.stringify((await streamMessages(natsUrl)).messages.map((m) => m.event.id))}\n${tail(stack.log(), 20)}` });
    assert.equal(got.length, 4, JSON.stringify(got.map((m) => m.event.id)));
    got.forEach((m, i) => assert.ok(m.event.id.startsWith(want[i]), `${m.event.id} is not ${want[i]}…`));
    const kinds = got.map((m) => m.subject);
    assert.deepEqual(kinds, ['created', 'comment_added', 'status_changed', 'rated'].map((k) => `dutydesk.request.cicd.${k}`));
    for (const m of got) {
      assert.equal(m.msgId, m.event.id, 'Nats-Msg-Id is the event id');
      assert.equal(m.event.specversion, '1.0');
      assert.equal(m.event.source, '/dutydesk');
      assert.equal(m.event.type, `dutydesk.request.${m.subject.split('.').at(-1)}`);
      assert.equal(m.event.datacontenttype, 'application/json');
      assert.match(m.event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(m.event.data.request_id, first);
      assert.equal(m.event.data.team, 'cicd');
      assert.equal(m.event.data.channel, CICD);
    }
    assert.equal(got[0].event.data.requester, 'carol');
    assert.equal(got[2].event.data.to, 'done');
    assert.equal(got[3].event.data.rating, 5);
    // The webhook got the same events, in the same order, each signed.
    const hooked = await waitFor('the webhook deliveries', async () => {
      const mine = receiver.got.filter((x) => x.event.subject === first);
      return mine.length >= 4 ? mine : null;
    });
    assert.deepEqual(hooked.map((x) => x.event.id), got.map((m) => m.event.id));
    assert.ok(hooked.every((x) => x.signed), 'every webhook delivery has a valid X-Dutydesk-Signature');
    assert.ok(hooked.every((x) => x.type === 'application/cloudevents+json'));
  });

  test('NATS stopped mid-story and started again: every event arrives once and in order per request', async () => {
    await stop(nats.proc);
    const { root, intro } = await h.ask('dave', CICD, uniq('registry is slow'));
    await h.ctl.click('alice', intro._id, 'In progress');
    await h.ctl.click('alice', intro._id, 'Done');
    await h.waitBotReactions(root._id, [':white_check_mark:']);
    // While NATS is down the events wait in the outbox (the gauge shows them) and the webhook is not held up.
    await waitFor('the events outbox depth to show the backlog', async () =>
      ((await scrape(stack.metricsPort, 'dutydesk_outbox_depth{queue="events"}')) ?? 0) >= 3 || null, { timeout: 20000 });
    assert.equal(await scrape(stack.metricsPort, 'dutydesk_nats_connected'), 0);
    await waitFor('the webhook to get the new request\'s events', async () =>
      receiver.got.filter((x) => x.event.subject === root._id).length >= 3 || null);
    nats = startNats(natsPort, natsDir);
    await nats.ready;
    const mine = await waitFor('the backlog on the stream', async () => {
      const { messages } = await streamMessages(natsUrl);
      const xs = messages.filter((m) => m.event.subject === root._id);
      return xs.length >= 3 ? xs : null;
    }, { timeout: 40000, context: async () => tail(stack.log(), 20) });
    assert.deepEqual(mine.map((m) => m.event.id),
      [`${root._id}/event/created`, `${root._id}/event/status/1`, `${root._id}/event/status/2`]);
    const { messages } = await streamMessages(natsUrl);
    const ids = messages.map((m) => m.event.id);
    assert.equal(new Set(ids).size, ids.length, `duplicates on the stream: ${ids}`);
    // Within each request the stream order is the order the events happened in.
    for (const [request, list] of Object.entries(byRequest(messages.map((m) => m.event)))) {
      const seqs = list.filter((id) => /\/event\/status\//.test(id)).map((id) => Number(id.split('/').at(-1)));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `status events of ${request} out of order: ${list}`);
      assert.ok(list[0].endsWith('/event/created'), `${request} does not start with created: ${list}`);
    }
    await waitFor('the NATS outbox to drain', async () =>
      (await scrape(stack.metricsPort, 'dutydesk_outbox_depth{queue="events"}')) === 0 || null, { timeout: 20000 });
    await waitFor('the NATS connection gauge to be 1', async () =>
      (await scrape(stack.metricsPort, 'dutydesk_nats_connected')) === 1 || null, { timeout: 20000 });
  });

  test('Prometheus scrapes dutydesk: the story is in the contract metrics', async () => {
    const query = async (q) => {
      const r = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`)).json();
      return r.status === 'success' ? r.data.result : [];
    };
    const value = async (q) => { const xs = await query(q); return xs.length ? Number(xs[0].value[1]) : undefined; };
    // Two requests in #cicd-support so far: created 2 (chat), both reached done, one rating of 5.
    await waitFor('Prometheus to have scraped the story', async () =>
      (await value('sum(dutydesk_requests_created_total{team="cicd",source="chat"})')) === 2 || null,
    { timeout: 30000, context: async () => JSON.stringify(await query('dutydesk_requests_created_total')) });
    assert.equal(await value('up{job="dutydesk"}'), 1);
    assert.equal(await value('sum(dutydesk_status_transitions_total{team="cicd",to="done"})'), 2);
    assert.equal(await value('dutydesk_feedback_ratings_total{team="cicd",rating="5"}'), 1);
    assert.equal(await value('dutydesk_feedback_surveys_sent_total{team="cicd"}'), 2);
    assert.equal(await value('dutydesk_websocket_connected'), 1);
    assert.equal(await value('sum(dutydesk_events_published_total{result="ok"})'), 7);
    assert.ok((await value('sum(dutydesk_events_published_total{result="error"})')) >= 1, 'the outage shows as errors');
    assert.ok((await value('sum(dutydesk_outbound_calls_total{system="rocketchat",result="ok"})')) > 0);
    // The first-response and resolution histograms have one observation per answered / resolved request.
    assert.equal(await value('dutydesk_first_response_seconds_count{team="cicd"}'), 2);
    assert.equal(await value('dutydesk_resolution_seconds_count{team="cicd"}'), 2);
  });
  test('a dutydesk restart publishes nothing twice', async () => {
    const before = (await streamMessages(natsUrl)).messages.length;
    const hooksBefore = receiver.got.length;
    await stack.restart();
    const { root } = await h.ask('carol', CICD, uniq('after the restart'));
    await waitFor('the new request on the stream', async () =>
      (await streamMessages(natsUrl)).messages.some((m) => m.event.subject === root._id) || null);
    const { messages } = await streamMessages(natsUrl);
    assert.equal(messages.length, before + 1, messages.slice(before).map((m) => m.event.id).join(', '));
    await waitFor('the webhook to get it', async () => receiver.got.some((x) => x.event.subject === root._id) || null);
    assert.equal(receiver.got.length, hooksBefore + 1);
  });

});
