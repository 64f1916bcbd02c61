// Jira admin webhooks: registered through the product's own REST API (POST /rest/webhooks/1.0/webhook, Cloud and
// DC <= 9), triggered through the OFFICIAL jira.js clients, received on a loopback HTTP server.
// Expected behaviour: /work/shared/reference/jira.md §7 (envelope, v2 representation even on Cloud, DC comment events
// without `issue`, X-Hub-Signature = sha256 HMAC of the raw body, X-Atlassian-Webhook-Identifier on Cloud).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { EventLog, URLS, http, nonce } from '../lib/common.mjs';
import { BOT, adf, call, cloudClient, dcClient } from '../lib/jira.mjs';

const RUN = nonce();
const WAIT = 15000;
const SECRET = `conformance-secret-${RUN}`;

function startReceiver() {
  const log = new EventLog('webhook receiver');
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
      res.writeHead(200).end();
      log.push({ method: req.method, url: req.url, headers: req.headers, raw, body });
    });
  });
  server.listen(0, '127.0.0.1');
  return { server, log };
}

async function register(base, auth, url, events, secret) {
  const body = { name: `conformance-${RUN}`, url, events, excludeBody: false };
  if (secret) body.secret = secret;
  const res = await http(`${base}/rest/webhooks/1.0/webhook`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(res.status >= 200 && res.status < 300, `register webhook: ${res.status} ${res.text}`);
  assert.match(res.json?.self ?? '', /\/rest\/webhooks\/1\.0\/webhook\/\d+$/, `self in ${res.text}`);
  return res.json.self;
}

describe('Jira webhooks (admin webhook REST registration, jira.js-triggered events)', () => {
  let rx;
  let port;
  const registered = [];

  before(async () => {
    rx = startReceiver();
    await once(rx.server, 'listening');
    port = rx.server.address().port;
  });

  after(async () => {
    for (const { self, auth } of registered) {
      await http(self, { method: 'DELETE', headers: { authorization: auth } }).catch(() => {});
    }
    rx.server.close();
  });

  test('Cloud: signed deliveries in the v2 representation', async () => {
    const auth = `Basic ${Buffer.from(`${BOT.email}:${BOT.token}`).toString('base64')}`;
    const self = await register(URLS.jiraCloud, auth, `http://127.0.0.1:${port}/cloud/${RUN}`,
      ['jira:issue_created', 'jira:issue_updated', 'comment_created'], SECRET);
    registered.push({ self, auth });
    const jira = cloudClient();
    const from = rx.log.mark();
    const issue = await call(
      jira.issues.createIssue({
        fields: { project: { key: 'DBA' }, issuetype: { id: '10002' }, summary: `webhook ${RUN}`, description: adf(`hook body ${RUN}`) },
      }),
      'create',
    );
    const created = await rx.log.waitFor(
      (d) => d.url === `/cloud/${RUN}` && d.body?.webhookEvent === 'jira:issue_created' && d.body.issue?.key === issue.key,
      WAIT, 'jira:issue_created', from,
    );
    assert.equal(created.method, 'POST');
    assert.match(created.headers['content-type'], /^application\/json/);
    const expectedSig = `sha256=${createHmac('sha256', SECRET).update(created.raw).digest('hex')}`;
    assert.equal(created.headers['x-hub-signature'], expectedSig, 'X-Hub-Signature over the raw body');
    assert.ok(created.headers['x-atlassian-webhook-identifier'], 'X-Atlassian-Webhook-Identifier present');
    assert.equal(created.headers['x-atlassian-webhook-retry'], undefined, 'no retry header on the first attempt');
    const b = created.body;
    assert.equal(typeof b.timestamp, 'number');
    assert.equal(b.issue_event_type_name, 'issue_created');
    assert.equal(b.issue.id, issue.id);
    assert.match(b.issue.self, /\/rest\/api\/2\/issue\//, 'payload self links are v2');
    assert.equal(typeof b.issue.fields.description, 'string', 'description is a string in webhooks, even on Cloud');
    assert.equal(b.user.accountId, BOT.account_id);

    const c = await call(jira.issueComments.addComment({ issueIdOrKey: issue.key, comment: adf(`hook comment ${RUN}`) }), 'comment');
    const cc = await rx.log.waitFor(
      (d) => d.url === `/cloud/${RUN}` && d.body?.webhookEvent === 'comment_created' && d.body.comment?.id === c.id,
      WAIT, 'comment_created', from,
    );
    assert.equal(typeof cc.body.comment.body, 'string', 'comment body is a string in webhooks, even on Cloud');
    assert.ok(cc.body.comment.body.includes(`hook comment ${RUN}`));
    assert.match(cc.body.comment.self, new RegExp(`/rest/api/2/issue/${issue.id}/comment/${c.id}$`));
    assert.equal(cc.body.comment.author.accountId, BOT.account_id);
    assert.equal(cc.body.issue?.key, issue.key, 'Cloud comment events carry a reduced issue');
    assert.notEqual(cc.headers['x-atlassian-webhook-identifier'], created.headers['x-atlassian-webhook-identifier']);

    await call(jira.issues.doTransition({ issueIdOrKey: issue.key, transition: { id: '11' } }), 'transition');
    const upd = await rx.log.waitFor(
      (d) => d.url === `/cloud/${RUN}` && d.body?.webhookEvent === 'jira:issue_updated' && d.body.issue?.key === issue.key &&
        d.body.changelog?.items?.some((i) => i.field === 'status'),
      WAIT, 'jira:issue_updated with a status change', from,
    );
    const item = upd.body.changelog.items.find((i) => i.field === 'status');
    assert.equal(item.fromString, 'To Do');
    assert.equal(item.toString, 'In Progress');
    assert.equal(upd.body.issue.fields.status.name, 'In Progress');
  });

  test('DC 9: unsigned deliveries; comment events carry no issue object', async () => {
    const auth = `Bearer ${BOT.token}`;
    const self = await register(URLS.jiraDc, auth, `http://127.0.0.1:${port}/dc/${RUN}`,
      ['jira:issue_created', 'comment_created']);
    registered.push({ self, auth });
    const jira = dcClient();
    const from = rx.log.mark();
    const issue = await call(
      jira.issues.createIssue({ fields: { project: { key: 'DBA' }, issuetype: { name: 'Task' }, summary: `dc webhook ${RUN}` } }),
      'create',
    );
    const created = await rx.log.waitFor(
      (d) => d.url === `/dc/${RUN}` && d.body?.webhookEvent === 'jira:issue_created' && d.body.issue?.key === issue.key,
      WAIT, 'jira:issue_created', from,
    );
    assert.equal(created.headers['x-hub-signature'], undefined, 'Jira <= 9 does not sign');
    assert.equal(created.body.user.name, BOT.name);
    assert.equal(created.body.user.key, BOT.key);
    const c = await call(jira.issueComments.addComment({ issueIdOrKey: issue.key, comment: `dc hook ${RUN}` }), 'comment');
    const cc = await rx.log.waitFor(
      (d) => d.url === `/dc/${RUN}` && d.body?.webhookEvent === 'comment_created' && d.body.comment?.id === c.id,
      WAIT, 'comment_created', from,
    );
    assert.equal(cc.body.comment.body, `dc hook ${RUN}`);
    assert.equal(cc.body.comment.author.name, BOT.name);
    assert.equal(cc.body.issue, undefined, 'DC comment payloads have no issue (since Jira 7.1)');
    assert.match(cc.body.comment.self, new RegExp(`/rest/api/2/issue/${issue.id}/comment/${c.id}$`));
  });
});
