// End-to-end tests of dutydesk's Jira mirror under faults (a fresh simulator + dutydesk each): Jira answering 429 and
// 5xx for a while, dutydesk killed -9 in the middle of Jira calls and restarted on the same database, and webhook
// deliveries duplicated and reordered. Whatever happens, each request has exactly one issue, each reply exactly one
// comment, each Jira comment one thread post, and the chat status ends at the issue's current Jira status.
// Run: tests/e2e/run.sh <dutydesk-sim> <dutydesk>  (DUTYDESK_BIN unset: every test here is skipped).
// E2E_KEEP=1 keeps the temp dirs (config, dutydesk.log, dd.db).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  startStack, chat, jiraHelpers, jiraLinks, captureDeliveries, postWebhook, rawBody, botReactions, byBot, intros,
  formatThread, waitFor, tail,
} from './lib.mjs';

const bin = process.env.DUTYDESK_BIN;
const skip = bin ? false : 'DUTYDESK_BIN is unset: run tests/e2e/run.sh <dutydesk-sim> <dutydesk> to run the Jira tests';

let n = 0;
const uniq = (text) => `${text} (e2e ${process.pid} ${++n})`;
const CICD = 'cicd-support';
const DBA = 'dba-support';
const attributed = (name, user, text) => `${name} (@${user}) in Rocket.Chat: ${text}`;
const jiraStatusNotes = (t) => t.replies.filter((m) => byBot(m) && /changed the status in Jira /.test(m.msg ?? ''));

const jiraStack = (name, flavor = 'datacenter') => startStack({ bin, name, flavor, webhookSecret: `e2e-${name}-secret`,
  jiraStatuses: true, jiraWebhook: true, remindCicd: '1h' });

/** Asserts that request `rootId` has exactly one issue, one link post, and exactly the comments `bodies` (in order). */
async function assertOneIssue(stack, j, rootId, project, bodies) {
  const issues = await j.issuesOf(rootId, project);
  assert.equal(issues.length, 1, `issues of ${rootId}: ${issues.map((i) => i.key).join(', ')}`);
  const t = await stack.ctl.thread(rootId);
  assert.deepEqual(jiraLinks(t).map((m) => m.msg), [`Jira: [${issues[0].key}](${j.browse(issues[0].key)})`], formatThread(t));
  assert.deepEqual(issues[0].comments.map((c) => c.body).filter((b) => !j.isSync(b)), bodies,
    `comments of ${issues[0].key}: ${JSON.stringify(issues[0].comments.map((c) => c.body))}`);
  assert.ok(issues[0].comments.filter((c) => !j.isSync(c.body)).every((c) => c.author === 'dutybot'));
  return issues[0];
}

describe('the Jira mirror under faults', { skip }, () => {
  test('Jira answers 429 and 5xx for 4 s while requests and replies flow: afterwards one issue per request, one comment per reply', async () => {
    const stack = await jiraStack('jira-burst');
    try {
      const h = chat(stack), j = jiraHelpers(stack, h), ctl = stack.ctl;
      await ctl.faults({ system: 'jira-dc', rate_429: 0.3, rate_5xx: 0.3, retry_after_s: 1, for_ms: 4000 });
      const reqs = [];
      for (const [as, room, project, text] of [['alice', CICD, 'CICD', 'pipeline stuck in queue'],
        ['carol', CICD, 'CICD', 'cache misses everywhere'], ['alice', DBA, 'DBA', 'vacuum takes hours']]) {
        const { root } = await h.ask(as, room, uniq(text));
        reqs.push({ root, room, project, replies: [] });
      }
      for (const r of reqs) {
        for (const [as, name, text] of [['bob', 'Bob Smith', 'on it'], ['alice', 'Alice Adams', `more detail ${++n}`]]) {
          await ctl.say(as, r.room, text, r.root._id);
          r.replies.push(attributed(name, as, text));
        }
      }
      for (const r of reqs) {
        const { key } = await j.waitLink(r.root._id, { timeout: 30000 });
        await j.waitIssue(`both replies on ${key}`, key, (i) => r.replies.every((b) => i.comments.some((c) => c.body === b)), { timeout: 30000 });
        r.key = key;
      }
      const injected = (await ctl.faultState()).injected?.['jira-dc'] ?? {};
      assert.ok((injected['429'] ?? 0) > 0 && (injected['5xx'] ?? 0) > 0, `faults injected: ${JSON.stringify(injected)}`);
      await waitFor('the fault spec to lapse', async () => {
        const spec = (await ctl.faultState()).active?.['jira-dc'];
        return !spec || (spec.until_ms && spec.until_ms <= Date.now());
      });
      for (const r of reqs) {
        await j.chatSync(r.root._id, r.key, r.room, { timeout: 30000 });
        await j.jiraSync(r.root._id, r.key);
        const issue = await assertOneIssue(stack, j, r.root._id, r.project, r.replies);
        assert.equal(issue.assignee, r.room === CICD ? 'bob' : 'carol');
        assert.equal(issue.remoteLinks.length, 1);
      }
      assert.equal((await ctl.roomMessages(CICD, true)).filter(byBot).length, 0, 'no Jira-born request from our own issues');
    } finally {
      await stack.stopAll();
    }
  });

  test('dutydesk killed -9 while creating an issue, right after a request, and while commenting: after restarts one issue per request, one comment per reply', async () => {
    const stack = await jiraStack('jira-kill9');
    try {
      const h = chat(stack), j = jiraHelpers(stack, h), ctl = stack.ctl;
      // 1. Killed while Jira has created the issue but not yet answered (the answer is held back 2 s).
      await ctl.faults({ system: 'jira-dc', latency_ms: 2000 });
      const a = await h.ask('alice', CICD, uniq('request A, killed while its issue is created'));
      await waitFor('A\'s issue in Jira', async () => (await j.issuesOf(a.root._id)).length > 0, { timeout: 10000 });
      await stack.kill9();
      await ctl.clearFaults();
      const aDown = await ctl.say('bob', CICD, 'reply to A while dutydesk is down', a.root._id);
      assert.ok(aDown._id);
      await stack.start();
      const { key: ka } = await j.waitLink(a.root._id, { timeout: 20000 });
      // 2. Killed right after a request was posted.
      const b = await ctl.say('carol', CICD, uniq('request B, killed at once'));
      await stack.kill9();
      await stack.start();
      await h.waitThread('B\'s intro', b._id, (t) => intros(t).length >= 1, { timeout: 15000 });
      const { key: kb } = await j.waitLink(b._id, { timeout: 20000 });
      // 3. Killed while Jira has stored a comment but not yet answered, and again right after replies.
      await ctl.faults({ system: 'jira-dc', latency_ms: 2000 });
      await ctl.say('bob', CICD, 'first reply to A', a.root._id);
      await ctl.say('alice', CICD, 'second reply to A', a.root._id);
      await j.waitIssue(`the first reply on ${ka}`, ka,
        (i) => i.comments.some((c) => c.body === attributed('Bob Smith', 'bob', 'first reply to A')), { timeout: 10000 });
      await stack.kill9();
      await ctl.clearFaults();
      await stack.start();
      await ctl.say('bob', CICD, 'first reply to B', b._id);
      await ctl.say('alice', CICD, 'second reply to B', b._id);
      await stack.kill9();
      await stack.start();
      await j.chatSync(a.root._id, ka, CICD, { timeout: 20000 });
      await j.chatSync(b._id, kb, CICD, { timeout: 20000 });
      await j.jiraSync(a.root._id, ka);
      await j.jiraSync(b._id, kb);
      await assertOneIssue(stack, j, a.root._id, 'CICD', [attributed('Bob Smith', 'bob', 'reply to A while dutydesk is down'),
        attributed('Bob Smith', 'bob', 'first reply to A'), attributed('Alice Adams', 'alice', 'second reply to A')]);
      await assertOneIssue(stack, j, b._id, 'CICD', [attributed('Bob Smith', 'bob', 'first reply to B'),
        attributed('Alice Adams', 'alice', 'second reply to B')]);
      for (const id of [a.root._id, b._id]) {
        const t = await ctl.thread(id);
        assert.equal(intros(t).length, 1, formatThread(t));
        assert.deepEqual(botReactions(t.root.reactions), [':new:'], formatThread(t));
      }
      assert.equal((await stack.jira.issues('CICD')).length, 2, 'no other issue was created');
      assert.equal((await ctl.roomMessages(CICD, true)).filter(byBot).length, 0, 'no Jira-born request from our own issues');
    } finally {
      await stack.stopAll();
    }
  });

  for (const flavor of ['datacenter', 'cloud']) {
    test(`${flavor}: webhook deliveries reordered (an older status change after a newer one) and duplicated: the chat status ends at the issue's status, each Jira comment is posted once`, async () => {
      const stack = await jiraStack(`jira-reorder-${flavor}`, flavor);
      try {
        const h = chat(stack), j = jiraHelpers(stack, h), ctl = stack.ctl, J = stack.jira;
        const { root } = await h.ask('alice', CICD, uniq('the deliveries arrive out of order'));
        const { key } = await j.waitLink(root._id);
        await h.waitBotReactions(root._id, [':new:']);
        // dutydesk's own follow-ups (assignee, remote link) raise deliveries too: let them happen before the capture.
        await waitFor(`${key} assigned and linked back`, async () => {
          const i = await J.issue(key);
          return i.assignee && (i.remoteLinks ?? []).length === 1;
        });
        // carol: In Progress, a comment, Done, a comment; none of it reaches dutydesk yet.
        const held = await captureDeliveries(stack, async () => {
          await J.transition(key, 'carol', 'In Progress');
          await J.comment(key, 'carol', 'Picked it up.');
          await J.transition(key, 'carol', 'Done');
          await J.comment(key, 'carol', 'Fixed by a runner restart.');
        }, { count: 6 });
        assert.deepEqual(held.map((d) => d.issueEventTypeName || d.event),
          ['issue_work_started', 'comment_created', 'issue_commented', 'issue_resolved', 'comment_created', 'issue_commented']);
        // Delivered newest first: Done before In Progress.
        for (const d of [...held].reverse()) {
          const r = await postWebhook(stack.webhookUrl, d.raw, { identifier: d.identifier, secret: stack.webhookSecret });
          assert.equal(r.status, 200, r.text);
        }
        await h.waitBotReactions(root._id, [':white_check_mark:'], { timeout: 15000 });
        await j.jiraSync(root._id, key);
        // Now every delivery of the issue again, oldest last: with its own identifier (a retry) and a new one.
        const all = (await J.deliveries({ issue: key, body: true })).filter((d) => d.state === 'delivered');
        for (const d of [...held, ...all].reverse()) {
          for (const identifier of [d.identifier, randomUUID()]) {
            const r = await postWebhook(stack.webhookUrl, d.raw ?? rawBody(d), { identifier, secret: stack.webhookSecret });
            assert.equal(r.status, 200, r.text);
          }
        }
        await j.jiraSync(root._id, key);
        await j.chatSync(root._id, key);
        const t = await ctl.thread(root._id);
        assert.deepEqual(botReactions(t.root.reactions), [':white_check_mark:'], formatThread(t));
        const posts = j.jiraComments(t).map((m) => m.msg).filter((m) => !j.isSync(m));
        assert.deepEqual([...posts].sort(), ['Carol Chen (Jira): Fixed by a runner restart.', 'Carol Chen (Jira): Picked it up.'], formatThread(t));
        const syncs = j.jiraComments(t).map((m) => m.msg).filter((m) => j.isSync(m));
        assert.equal(new Set(syncs).size, syncs.length, `a sync comment was posted twice:\n${formatThread(t)}`);
        const notes = jiraStatusNotes(t).map((m) => m.msg);
        assert.ok(notes.length >= 1 && notes.at(-1).endsWith('→ Done.'), `the last Jira status note is the move to Done:\n${formatThread(t)}`);
        assert.ok(notes.every((m) => !/Done → /.test(m)), `the status never went back from Done:\n${formatThread(t)}`);
        const issue = await J.issue(key);
        assert.equal(issue.status.name, 'Done');
        assert.deepEqual(issue.transitions.map((x) => [x.by, x.to]), [['carol', 'In Progress'], ['carol', 'Done']],
          `no transition was sent back: ${JSON.stringify(issue.transitions)}\n${tail(stack.log(), 20)}`);
      } finally {
        await stack.stopAll();
      }
    });
  }
});
