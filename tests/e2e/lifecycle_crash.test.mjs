// End-to-end tests of `dutydesk serve` against dutydesk-sim: kill -9 and restart, Rocket.Chat 429/5xx bursts (a fresh simulator + dutydesk each).
// (Split from lifecycle.test.mjs: node 20's --test-timeout bounds each file, so every file stays well under 60 s.)
// Run: tests/e2e/run.sh <dutydesk-sim> <dutydesk>  (DUTYDESK_BIN unset: every test here is skipped).
// Every wait polls the control API with a deadline; a timeout shows the thread and the tail of dutydesk's log.
// E2E_KEEP=1 keeps the temp dirs (config, dutydesk.log, dd.db).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BOT, startStack, chat, checkConfig, configYaml, intros, botNotes, botReactions, buttonsOf, byBot, isReminder,
  isEscalated, mentions, formatThread, waitFor, tail, stop, lifecyclePosts, sleep } from './lib.mjs';

const bin = process.env.DUTYDESK_BIN;
const skip = bin ? false : 'DUTYDESK_BIN is unset: run tests/e2e/run.sh <dutydesk-sim> <dutydesk> to run the lifecycle tests';

let n = 0;
const uniq = (text) => `${text} (e2e ${process.pid}-${++n})`;
const CICD = 'cicd-support';
const DBA = 'dba-support';
const statusNote = (from, to) => new RegExp(`changed the status: ${from} → ${to}`);
const HELP = /Commands in a request thread/;
const statusNotes = (t) => t.replies.filter((m) => byBot(m) && /changed the status:/.test(m.msg ?? ''));

describe('dutydesk serve against the simulator', { skip }, () => {
  describe('robustness: crashes and Rocket.Chat errors', () => {
    test('kill -9 and a restart on the same database: nothing lost, nothing posted twice, a pending reminder fires once', async () => {
      const stack = await startStack({ bin, name: 'kill9', remindCicd: '4s' });
      try {
        const h = chat(stack);
        const ctl = stack.ctl;
        const a = await h.ask('alice', CICD, uniq('request A before the crash'));
        await h.waitBotReactions(a.root._id, [':new:']);
        const c = await h.ask('carol', CICD, uniq('request C with a pending reminder'));
        await h.waitBotReactions(c.root._id, [':new:']);
        // D is posted and dutydesk killed at once: its handling may be cut anywhere (before the intro, between the
        // intro and the reaction, before the state is written).
        const d = await ctl.say('alice', CICD, uniq('request D, killed mid-step'));
        await stack.kill9();
        await ctl.say('bob', CICD, '!dd status in_progress', a.root._id);
        const b = await ctl.say('alice', CICD, uniq('request B while dutydesk is down'));
        const ready = await stack.start();
        assert.ok(ready.restored >= 2, `restored ${ready.restored}`);
        await h.waitBotReactions(a.root._id, [':hammer_and_wrench:'], { timeout: 15000 });
        await h.waitBotReply('the status note posted while down', a.root._id, statusNote('Open', 'In progress'));
        await h.waitThread('the intro of B', b._id, (t) => intros(t).length >= 1, { timeout: 15000 });
        const tc = await h.waitThread('C\'s second reminder', c.root._id, (t) => t.replies.some(isEscalated), { timeout: 20000 });
        const firsts = tc.replies.filter((m) => isReminder(m) && !isEscalated(m));
        assert.equal(firsts.length, 1, `C's first reminder exactly once:\n${formatThread(tc)}`);
        await h.waitBotReactions(d._id, [':new:'], { timeout: 15000 });
        for (const id of [a.root._id, b._id, c.root._id, d._id]) {
          const t = await ctl.thread(id);
          assert.equal(intros(t).length, 1, formatThread(t));
          assert.equal(botReactions(t.root.reactions).length, 1, formatThread(t));
        }
        assert.equal(statusNotes(await ctl.thread(a.root._id)).length, 1);
      } finally {
        await stack.stopAll();
      }
    });

    test('killed -9 right after its first start, before any message: what is posted while it is down still becomes requests', async () => {
      // The first start writes each room's starting cursor; without it the restart began from "now" again and
      // skipped these messages (found by the chaos run, seed 10).
      const stack = await startStack({ bin, name: 'kill9-first', remindCicd: '1h' });
      try {
        const h = chat(stack);
        await stack.kill9();
        const a = await stack.ctl.say('alice', CICD, uniq('request A while the first dutydesk is down'));
        const b = await stack.ctl.say('carol', DBA, uniq('request B while the first dutydesk is down'));
        // The outage outlasts the backfill's 1 s overlap, so only the stored starting cursor can bring A and B back
        // (not a wait for anything: it is the length of the downtime).
        await sleep(1500);
        await stack.start();
        for (const m of [a, b]) {
          await h.waitBotReactions(m._id, [':new:'], { timeout: 15000 });
          const t = await h.waitThread('the intro', m._id, (x) => intros(x).length >= 1, { timeout: 15000 });
          assert.equal(intros(t).length, 1, formatThread(t));
        }
      } finally {
        await stack.stopAll();
      }
    });

    test('Rocket.Chat 429 and 5xx bursts: everything still happens exactly once', async () => {
      const stack = await startStack({ bin, name: 'bursts', remindCicd: '1h' });
      try {
        const h = chat(stack);
        const ctl = stack.ctl;
        const a = await h.ask('alice', CICD, uniq('before the burst'));
        await h.waitBotReactions(a.root._id, [':new:']);
        await ctl.faults({ system: 'rocketchat', rate_429: 0.3, rate_5xx: 0.3, retry_after_s: 1, for_ms: 5000 });
        const roots = [a.root];
        roots.push(await ctl.say('alice', CICD, uniq('during the burst 1')));
        await ctl.click('bob', a.intro._id, 'In progress');
        roots.push(await ctl.say('carol', CICD, uniq('during the burst 2')));
        roots.push(await ctl.say('carol', DBA, uniq('during the burst 3')));
        for (const r of roots) {
          await h.waitThread(`the intro of ${r.msg}`, r._id, (t) => intros(t).length >= 1, { timeout: 20000 });
        }
        await h.waitBotReactions(a.root._id, [':hammer_and_wrench:'], { timeout: 20000 });
        await h.waitBotReply('the status note', a.root._id, statusNote('Open', 'In progress'), { timeout: 20000 });
        const injected = (await ctl.faultState()).injected?.rocketchat ?? {};
        assert.ok((injected['429'] ?? 0) + (injected['5xx'] ?? 0) > 0, `no fault was injected: ${JSON.stringify(injected)}`);
        // GET /control/faults lists a lapsed spec until the next product request (reported), so look at until_ms.
        await waitFor('the burst to lapse', async () => {
          const spec = (await ctl.faultState()).active?.rocketchat;
          return !spec || (spec.until_ms && spec.until_ms <= Date.now());
        }, { timeout: 10000 });
        roots.push((await h.ask('alice', CICD, uniq('after the burst'), { timeout: 20000 })).root);
        for (const r of roots.slice(1)) await h.waitBotReactions(r._id, [':new:'], { timeout: 20000 });
        for (const r of roots) {
          const t = await ctl.thread(r._id);
          assert.equal(intros(t).length, 1, formatThread(t));
          assert.equal(botReactions(t.root.reactions).length, 1, formatThread(t));
        }
        const ta = await ctl.thread(a.root._id);
        assert.equal(statusNotes(ta).length, 1, formatThread(ta));
        assert.equal(lifecyclePosts(ta).length, 2, formatThread(ta));
      } finally {
        await stack.stopAll();
      }
    });
  });
});
