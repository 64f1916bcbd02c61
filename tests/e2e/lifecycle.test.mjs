// End-to-end tests of `dutydesk serve` against dutydesk-sim: the request lifecycle as a user sees it in Rocket.Chat.
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
  isEscalated, mentions, formatThread, waitFor, tail, stop,
} from './lib.mjs';

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
  test('the test configuration passes check-config', () => {
    assert.ok(existsSync(bin), `DUTYDESK_BIN=${bin} does not exist`);
    const dir = mkdtempSync(path.join(tmpdir(), 'dutydesk-cfg-'));
    const file = path.join(dir, 'dutydesk.yaml');
    const urls = { rocketchat: 'http://127.0.0.1:3000', 'jira-dc': 'http://127.0.0.1:8080', oncall: 'http://127.0.0.1:8081' };
    writeFileSync(file, configYaml({ urls, dir, httpPort: 18090, metricsPort: 19464 }));
    const r = checkConfig(bin, file);
    assert.equal(r.status, 0, `check-config failed:\n${r.stdout}${r.stderr}${r.error ?? ''}`);
    assert.match(r.stdout, /: ok/);
  });

  describe('one dutydesk and one simulator for the ordinary lifecycle', () => {
    let stack, h, ctl;
    before(async () => {
      stack = await startStack({ bin, name: 'shared' });
      h = chat(stack);
      ctl = h.ctl;
    });
    after(async () => { await stack?.stopAll(); });

    test('the ready line names the bot, the channels and nothing restored', () => {
      assert.equal(stack.readyLine.bot, BOT);
      assert.deepEqual([...stack.readyLine.channels].sort(), [CICD, DBA]);
      assert.equal(stack.readyLine.restored, 0);
    });

    test('a top-level message becomes a request: the intro tags the on-duty with status buttons, the root gets :new:', async () => {
      const text = uniq('CI is red on main');
      const { root, intro } = await h.ask('alice', CICD, text);
      assert.ok(mentions(intro, 'bob'), `intro does not tag @bob: ${intro.msg}`);
      assert.equal(intro.tmid, root._id);
      const buttons = buttonsOf(intro).map(({ type, text, msg, msg_in_chat_window }) => ({ type, text, msg, msg_in_chat_window }));
      assert.deepEqual(buttons, [
        { type: 'button', text: 'Open', msg: '!dd status open', msg_in_chat_window: true },
        { type: 'button', text: 'In progress', msg: '!dd status in_progress', msg_in_chat_window: true },
        { type: 'button', text: 'Done', msg: '!dd status done', msg_in_chat_window: true },
      ]);
      await h.waitBotReactions(root._id, [':new:']);
      // A follow-up request is handled, and this one still has one intro and one reaction.
      await h.ask('alice', CICD, uniq('follow-up'));
      const t = await ctl.thread(root._id);
      assert.equal(intros(t).length, 1, formatThread(t));
      assert.deepEqual(botReactions(t.root.reactions), [':new:'], formatThread(t));
    });

    test('messages by the bot and system messages do not become requests', async () => {
      const botMsg = await ctl.say(BOT, CICD, uniq('announcement from the bot'));
      await ctl.post('/rocketchat/users', { username: `frank${process.pid}${n}` });
      await ctl.addMember(CICD, `frank${process.pid}${n}`);
      const all = await ctl.roomMessages(CICD, true);
      const sys = all.filter((m) => m.t === 'uj').at(-1);
      assert.ok(sys, 'the simulator posted no uj system message');
      await h.ask('alice', CICD, uniq('a real request after them'));
      for (const m of [botMsg, sys]) {
        const t = await ctl.thread(m._id);
        assert.equal(t.replies.length, 0, `not a request, yet:\n${formatThread(t)}`);
        assert.deepEqual(botReactions(t.root.reactions), [], formatThread(t));
      }
    });

    test('the on-duty clicks a status button: the status reaction is replaced and a note goes in the thread', async () => {
      const { root, intro } = await h.ask('alice', CICD, uniq('deploy job stuck'));
      await h.waitBotReactions(root._id, [':new:']);
      const r = await ctl.click('bob', intro._id, 'In progress');
      assert.equal(r.posted, true);
      assert.equal(r.message.msg, '!dd status in_progress');
      await h.waitBotReactions(root._id, [':hammer_and_wrench:']);
      await h.waitBotReply('the status note', root._id, statusNote('Open', 'In progress'));
    });

    test('a channel member may change the status by typing the command', async () => {
      const { root } = await h.ask('carol', CICD, uniq('runner out of disk'));
      await ctl.say('alice', CICD, '!dd status in_progress', root._id);
      await h.waitBotReactions(root._id, [':hammer_and_wrench:']);
      const note = await h.waitBotReply('the status note', root._id, statusNote('Open', 'In progress'));
      assert.ok(mentions(note, 'alice'), note.msg);
    });

    test('the requester may only set a final status on their own request', async () => {
      const { root } = await h.ask('carol', CICD, uniq('please close me myself'));
      await h.waitBotReactions(root._id, [':new:']);
      const dmsBefore = (await ctl.dmMessages('carol')).length;
      await ctl.say('carol', CICD, '!dd status in_progress', root._id);
      await waitFor('a DM to carol refusing a non-final status', async () =>
        (await ctl.dmMessages('carol')).slice(dmsBefore).find((m) => byBot(m) && /only set a final status/.test(m.msg)),
      { context: h.describe(root._id) });
      await ctl.say('carol', CICD, '!dd status done', root._id);
      await h.waitBotReactions(root._id, [':white_check_mark:']);
      const t = await h.waitThread('the done note', root._id, (t) => statusNotes(t).length >= 1);
      assert.equal(statusNotes(t).length, 1, formatThread(t));
      assert.match(statusNotes(t)[0].msg, statusNote('Open', 'Done'));
    });

    test('anyone else is refused by a DM and nothing changes', async () => {
      const { root, intro } = await h.ask('carol', CICD, uniq('not yours to touch'));
      await h.waitBotReactions(root._id, [':new:']);
      const dmsBefore = (await ctl.dmMessages('eve')).length;
      await ctl.click('eve', intro._id, 'Done');
      const dm = await waitFor('a refusal DM to eve', async () =>
        (await ctl.dmMessages('eve')).slice(dmsBefore).find((m) => byBot(m)), { context: h.describe(root._id) });
      assert.match(dm.msg, /You may not change the status/);
      // Something later happens in the thread; by then eve's click has certainly been handled.
      await ctl.say('bob', CICD, '!dd help', root._id);
      const t = await h.waitThread('the help text', root._id, (t) => t.replies.some((m) => byBot(m) && HELP.test(m.msg)));
      assert.equal(statusNotes(t).length, 0, formatThread(t));
      assert.deepEqual(botReactions(t.root.reactions), [':new:'], formatThread(t));
      assert.equal((await ctl.dmMessages('eve')).slice(dmsBefore).filter(byBot).length, 1);
    });

    test('a repeated click of the same button changes nothing and posts nothing', async () => {
      const { root, intro } = await h.ask('alice', CICD, uniq('flaky test suite'));
      await ctl.click('bob', intro._id, 'In progress');
      await h.waitBotReactions(root._id, [':hammer_and_wrench:']);
      await h.waitBotReply('the status note', root._id, statusNote('Open', 'In progress'));
      const before = await ctl.thread(root._id);
      await ctl.click('bob', intro._id, 'In progress');
      await ctl.say('bob', CICD, '!dd help', root._id);
      const t = await h.waitThread('the help text', root._id,
        (t) => t.replies.filter((m) => byBot(m) && HELP.test(m.msg)).length >= 1);
      assert.equal(statusNotes(t).length, 1, formatThread(t));
      assert.equal(botNotes(t).length, botNotes(before).length + 1, `only the help text is new:\n${formatThread(t)}`);
      assert.deepEqual(botReactions(t.root.reactions), [':hammer_and_wrench:'], formatThread(t));
    });

    test('!dd help, and an unknown !dd command, answer with the help text', async () => {
      const { root } = await h.ask('alice', CICD, uniq('how do I use this'));
      await ctl.say('alice', CICD, '!dd help', root._id);
      await h.waitThread('the help text', root._id, (t) => t.replies.filter((m) => byBot(m) && HELP.test(m.msg)).length === 1);
      await ctl.say('alice', CICD, '!dd frobnicate now', root._id);
      const t = await h.waitThread('a second help text', root._id,
        (t) => t.replies.filter((m) => byBot(m) && HELP.test(m.msg)).length === 2);
      assert.deepEqual(botReactions(t.root.reactions), [':new:'], formatThread(t));
    });

    test('!dd assign @user assigns the request', async () => {
      const { root } = await h.ask('alice', CICD, uniq('needs dave'));
      await ctl.say('bob', CICD, '!dd assign @dave', root._id);
      const note = await h.waitBotReply('the assign note', root._id, /assigned this request to @dave/);
      assert.ok(mentions(note, 'bob'), note.msg);
    });

    test('a status emoji added to the root by the on-duty or a member sets that status', async () => {
      const { root } = await h.ask('carol', CICD, uniq('artifact upload fails'));
      await h.waitBotReactions(root._id, [':new:']);
      await ctl.react('bob', root._id, ':hammer_and_wrench:');
      await h.waitBotReactions(root._id, [':hammer_and_wrench:']);
      await h.waitBotReply('the status note', root._id, statusNote('Open', 'In progress'));
      await ctl.react('alice', root._id, ':white_check_mark:');
      await h.waitBotReactions(root._id, [':white_check_mark:']);
      await h.waitBotReply('the done note', root._id, statusNote('In progress', 'Done'));
    });

    test('an idle request reminds the on-duty, and the second unanswered reminder tags the fallback too', async () => {
      const { root } = await h.ask('carol', CICD, uniq('nobody answers'));
      const t = await h.waitThread('two reminders (remind_after 3s)', root._id, (t) => t.replies.filter(isReminder).length >= 2,
        { timeout: 15000 });
      const [first, second] = t.replies.filter(isReminder);
      assert.ok(mentions(first, 'bob') && !mentions(first, 'dave'), `first reminder: ${first.msg}`);
      assert.ok(isEscalated(second) && mentions(second, 'bob') && mentions(second, 'dave'), `second reminder: ${second.msg}`);
    });

    test('a staff reply re-arms the reminder (the next one is a first reminder again, remind_after later)', async () => {
      const { root } = await h.ask('carol', CICD, uniq('answer me once'));
      await h.waitThread('the first reminder', root._id, (t) => t.replies.filter(isReminder).length >= 1, { timeout: 10000 });
      const reply = await ctl.say('bob', CICD, 'looking at it', root._id);
      const t = await h.waitThread('a reminder after bob\'s reply', root._id,
        (t) => t.replies.some((m) => isReminder(m) && m.ts > reply.ts), { timeout: 10000 });
      const next = t.replies.find((m) => isReminder(m) && m.ts > reply.ts);
      assert.ok(!isEscalated(next) && !mentions(next, 'dave'), `after a staff reply the count starts again: ${next.msg}`);
      assert.ok(Date.parse(next.ts) - Date.parse(reply.ts) >= 2500, `re-armed at the reply: ${reply.ts} -> ${next.ts}`);
    });

    test('a final status stops the reminders', async () => {
      const { root, intro } = await h.ask('alice', CICD, uniq('fix it and close'));
      await ctl.click('bob', intro._id, 'Done');
      const done = await h.waitBotReply('the done note', root._id, statusNote('Open', 'Done'));
      // A request created after the done gets its first reminder remind_after later; an armed reminder of the done
      // request would have fired by then.
      const { root: later } = await h.ask('alice', CICD, uniq('a later request'));
      await h.waitThread('the later request\'s first reminder', later._id, (t) => t.replies.some(isReminder), { timeout: 10000 });
      const t = await ctl.thread(root._id);
      assert.deepEqual(t.replies.filter((m) => isReminder(m) && m.ts > done.ts), [], formatThread(t));
    });

    test('!dd move #room reposts the request in that channel, notes the link, swaps the reaction and closes it', async () => {
      const text = uniq('replica lag on db-3');
      const { root } = await h.ask('carol', CICD, text);
      await h.waitBotReactions(root._id, [':new:']);
      await ctl.say('bob', CICD, '!dd move #dba-support', root._id);
      const repost = await waitFor('the repost in #dba-support', async () =>
        (await ctl.roomMessages(DBA, true)).find((m) => byBot(m) && (m.msg ?? '').includes(text)),
      { context: h.describe(root._id) });
      assert.ok(mentions(repost, 'carol'), `names the requester: ${repost.msg}`);
      assert.ok(repost.msg.includes(root._id), `links the original: ${repost.msg}`);
      assert.match(repost.msg, /cicd-support/);
      const t2 = await h.waitThread('the repost\'s own intro', repost._id, (t) => intros(t).length >= 1);
      assert.ok(mentions(intros(t2)[0], 'carol'), `the DBA on-duty is tagged: ${intros(t2)[0].msg}`);
      const note = await h.waitBotReply('the moved note', root._id, /Moved to #dba-support by @bob/);
      assert.ok(note.msg.includes(repost._id), `the note links the repost: ${note.msg}`);
      await h.waitBotReactions(root._id, [':arrow_right:']);
      await ctl.say('bob', CICD, '!dd status done', root._id);
      const t = await h.waitThread('the "moved" note after a later command', root._id,
        (t) => t.replies.some((m) => byBot(m) && /was moved to #dba-support/.test(m.msg)));
      assert.equal(statusNotes(t).length, 0, formatThread(t));
      assert.deepEqual(botReactions(t.root.reactions), [':arrow_right:'], formatThread(t));
      assert.equal(intros(t2).length, 1, formatThread(t2));
    });

    test('the requester may move their request by service name', async () => {
      const text = uniq('postgres vacuum is slow');
      const { root } = await h.ask('alice', CICD, text);
      await ctl.say('alice', CICD, '!dd move postgres', root._id);
      const repost = await waitFor('the repost in #dba-support', async () =>
        (await ctl.roomMessages(DBA, true)).find((m) => byBot(m) && (m.msg ?? '').includes(text)),
      { context: h.describe(root._id) });
      const t2 = await h.waitThread('the repost\'s own intro', repost._id, (t) => intros(t).length >= 1);
      assert.ok(mentions(intros(t2)[0], 'carol'), intros(t2)[0].msg);
      await h.waitBotReactions(root._id, [':arrow_right:']);
    });
  });

});
