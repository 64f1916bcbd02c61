// End-to-end tests of `dutydesk serve` against dutydesk-sim: OnCall down, SIGTERM, websocket drops (a fresh simulator + dutydesk each).
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
  isEscalated, mentions, formatThread, waitFor, tail, stop, waitRealtimeSubs, lifecyclePosts } from './lib.mjs';

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
  describe('OnCall unreachable', () => {
    let stack, h;
    before(async () => {
      stack = await startStack({
        bin, name: 'oncall-down',
        beforeServe: (ctl) => ctl.faults({ system: 'oncall', rate_5xx: 1 }),
      });
      h = chat(stack);
    });
    after(async () => { await stack?.stopAll(); });

    test('the intro tags the fallback and says why', async () => {
      const { intro } = await h.ask('alice', CICD, uniq('CI down while OnCall is down'), { timeout: 15000 });
      assert.ok(mentions(intro, 'dave'), `fallback tagged: ${intro.msg}`);
      assert.ok(!mentions(intro, 'bob'), intro.msg);
      assert.match(intro.msg, /no on-duty from OnCall/);
      assert.ok(buttonsOf(intro).length === 3, 'still has the buttons');
    });

    test('SIGTERM stops dutydesk cleanly', async () => {
      const proc = stack.dd.proc;
      const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const { code, signal } = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, `exit ${code ?? signal}; log:\n${tail(stack.log())}`);
    });
  });


  describe('robustness: websocket drops', () => {
    test('a dropped websocket while messages are posted: each message becomes exactly one request', async () => {
      const stack = await startStack({ bin, name: 'drop', remindCicd: '1h' });
      try {
        const h = chat(stack);
        const ctl = stack.ctl;
        const roots = [(await h.ask('alice', CICD, uniq('before the drop'))).root];
        assert.ok((await ctl.drop()).dropped >= 1, 'the first drop dropped no websocket');
        roots.push(await ctl.say('alice', CICD, uniq('while reconnecting 1')));
        roots.push(await ctl.say('carol', CICD, uniq('while reconnecting 2')));
        await waitRealtimeSubs(ctl, stack.log);
        roots.push(await ctl.say('alice', CICD, uniq('just before a second drop')));
        assert.ok((await ctl.drop()).dropped >= 1, 'the second drop dropped no websocket');
        roots.push(await ctl.say('carol', DBA, uniq('right after the second drop')));
        for (const r of roots) await h.waitThread(`the intro of ${r.msg}`, r._id, (t) => intros(t).length >= 1, { timeout: 15000 });
        roots.push((await h.ask('alice', CICD, uniq('the last one'), { timeout: 20000 })).root);
        for (const r of roots) {
          const t = await h.waitThread(`one :new: on ${r.msg}`, r._id, (t) => botReactions(t.root.reactions).length >= 1);
          assert.equal(intros(t).length, 1, formatThread(t));
          assert.deepEqual(botReactions(t.root.reactions), [':new:'], formatThread(t));
          assert.equal(lifecyclePosts(t).length, 1, formatThread(t));
        }
      } finally {
        await stack.stopAll();
      }
    });

  });

  describe('start-up', () => {
    test('a message posted right after the ready line becomes a request', async () => {
      const stack = await startStack({ bin, name: 'startup', remindCicd: '1h', waitRealtime: false });
      try {
        const h = chat(stack);
        const { intro } = await h.ask('alice', CICD, uniq('posted as soon as dutydesk said ready'));
        assert.ok(mentions(intro, 'bob'), intro.msg);
      } finally {
        await stack.stopAll();
      }
    });
  });
});
