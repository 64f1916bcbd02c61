// End-to-end tests of the rating survey: `dutydesk serve` against dutydesk-sim with feedback enabled. The requester
// gets a DM with five buttons when the request is resolved, clicks one (as the web client does: the button's msg is
// posted in the DM), may write a comment, cannot rate twice; reopening withdraws an unanswered survey; an unanswered
// survey expires; `dutydesk report` then counts what was stored.
// Run: tests/e2e/run.sh <dutydesk-sim> <dutydesk>  (DUTYDESK_BIN unset: every test here is skipped).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startStack, chat, buttonsOf, byBot, waitFor, tail } from './lib.mjs';

const bin = process.env.DUTYDESK_BIN;
const skip = bin ? false : 'DUTYDESK_BIN is unset: run tests/e2e/run.sh <dutydesk-sim> <dutydesk>';

let n = 0;
const uniq = (text) => `${text} (feedback e2e ${process.pid}-${++n})`;
const CICD = 'cicd-support';
const SURVEY = /^Your request in #cicd-support is resolved: “(.*)”\nHow did we do\?/;

/** Helpers for the DM between `user` and the bot. */
function dms(stack, h) {
  const ctl = h.ctl;
  const context = (user) => async () =>
    `DM with ${user}:\n${(await ctl.dmMessages(user)).map((m) => `  ${m.u?.username}: ${JSON.stringify(m.msg)}` +
      (buttonsOf(m).length ? ` [${buttonsOf(m).map((b) => b.text).join(' ')}]` : '')).join('\n')}` +
    `\n--- dutydesk log (tail):\n${tail(stack.log(), 25)}`;
  const d = {
    /** Waits until the DM with `user` has a bot message whose text matches `re` (the `nth` such, from 1). */
    waitBot: (what, user, re, { nth = 1, timeout = 10000 } = {}) =>
      waitFor(what, async () => {
        const ms = (await ctl.dmMessages(user)).filter((m) => byBot(m) && re.test(m.msg ?? ''));
        return ms.length >= nth ? ms[nth - 1] : null;
      }, { timeout, context: context(user) }),
    /** The survey DM of request `text`, once sent. */
    survey: (user, text, opts) => d.waitBot(`the survey DM to ${user} about "${text}"`, user,
      new RegExp(`^Your request in #cicd-support is resolved: “${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}”`), opts),
    /** Posts `text` as `user` in the DM (the room exists once the bot opened it). */
    say: async (user, text) => {
      const { rooms } = await ctl.get(`/rocketchat/users/${user}/dms`);
      const dm = rooms.find((r) => (r.usernames ?? []).includes('dutydesk'));
      assert.ok(dm, `${user} has no DM with the bot`);
      return ctl.post('/rocketchat/messages', { as: user, rid: dm._id, text });
    },
    /** The bot's messages in the DM with `user`. */
    fromBot: async (user) => (await ctl.dmMessages(user)).filter(byBot),
    context,
  };
  return d;
}

/** Opens a request as `who` in #cicd-support and resolves it as alice (a member) with the Done button. */
async function resolvedRequest(h, who, text) {
  const { root, intro } = await h.ask(who, CICD, text);
  const r = await h.ctl.click('alice', intro._id, 'Done');
  assert.equal(r.posted, true);
  await h.waitBotReactions(root._id, [':white_check_mark:']);
  return root;
}

describe('the rating survey against the simulator', { skip }, () => {
  let stack, h, d;
  before(async () => {
    stack = await startStack({ bin, name: 'feedback', feedback: { expireAfter: '1h', anonymous: false } });
    h = chat(stack);
    d = dms(stack, h);
  });
  after(async () => { await stack?.stopAll(); });

  test('the ready line says feedback is on', () => {
    assert.equal(stack.readyLine.feedback, true);
  });

  test('resolved: the requester gets one DM with five rating buttons; a click rates, a comment is kept, a second rating is refused', async () => {
    const text = uniq('the runner is offline');
    const root = await resolvedRequest(h, 'carol', text);
    const survey = await d.survey('carol', text);
    assert.match(survey.msg, SURVEY);
    const buttons = buttonsOf(survey).map(({ type, text, msg, msg_in_chat_window }) => ({ type, text, msg, msg_in_chat_window }));
    assert.deepEqual(buttons, [1, 2, 3, 4, 5].map((i) =>
      ({ type: 'button', text: String(i), msg: `!dd rate ${root._id} ${i}`, msg_in_chat_window: true })));

    const click = await h.ctl.click('carol', survey._id, '5');
    assert.equal(click.posted, true);
    assert.equal(click.message.msg, `!dd rate ${root._id} 5`);
    await d.waitBot('the thanks for the rating', 'carol', /^Thank you! You rated us 5 of 5\./);

    await d.say('carol', 'Fixed within minutes, thanks!');
    await d.waitBot('the comment receipt', 'carol', /^Thank you, your comment is saved with your rating\./);

    await h.ctl.click('carol', survey._id, '2');
    await d.waitBot('the refusal of a second rating', 'carol', /^You have rated this request already \(5 of 5\)/);
    // One survey for this request, however many answers.
    const surveys = (await d.fromBot('carol')).filter((m) => m.msg.includes(text));
    assert.equal(surveys.length, 1);
  });

  test('somebody else clicking the survey is refused and changes nothing', async () => {
    const text = uniq('deploy key rotated?');
    const root = await resolvedRequest(h, 'dave', text);
    await d.survey('dave', text);
    // eve types the button text into her own DM with the bot (her DM room exists once the bot writes to her).
    const { intro } = await h.ask('eve', CICD, uniq('eve needs a DM room'));
    await h.ctl.click('alice', intro._id, 'Done');
    await d.waitBot('eve\'s own survey', 'eve', SURVEY);
    await d.say('eve', `!dd rate ${root._id} 1`);
    await d.waitBot('the refusal of a stranger\'s rating', 'eve', new RegExp(`^Only the person who opened request ${root._id} can rate it\\.`));
    // dave can still rate.
    await d.say('dave', `!dd rate ${root._id} 4`);
    await d.waitBot('dave\'s thanks', 'dave', /^Thank you! You rated us 4 of 5\./);
  });

  test('reopened before rating: the survey DM is changed to say it is withdrawn; the next resolution sends a new one', async () => {
    const text = uniq('artifact upload fails');
    const { root, intro } = await h.ask('carol', CICD, text);
    await h.ctl.click('alice', intro._id, 'Done');
    const first = await d.survey('carol', text);
    await h.ctl.click('alice', intro._id, 'Open');
    await waitFor('the survey DM to be withdrawn', async () => {
      const m = await h.ctl.message(first._id);
      return /was reopened, so this survey is withdrawn/.test(m.msg) ? m : null;
    }, { context: d.context('carol') });
    // A click on the withdrawn survey is answered: there is no open survey.
    await h.ctl.click('carol', first._id, '3');
    await d.waitBot('the answer to a withdrawn survey', 'carol', new RegExp(`^There is no open survey for request ${root._id}`));
    await h.ctl.click('alice', intro._id, 'Done');
    const second = await d.survey('carol', text, { nth: 1 });
    const all = (await d.fromBot('carol')).filter((m) => SURVEY.test(m.msg ?? '') && m.msg.includes(text));
    assert.equal(all.length, 1, 'the withdrawn DM no longer reads as a survey; the second survey is a new message');
    assert.notEqual(second._id, first._id);
    await h.ctl.click('carol', second._id, '4');
    await d.waitBot('the thanks for round 2', 'carol', /^Thank you! You rated us 4 of 5\./);
  });

  test('dutydesk report counts the stored ratings', async () => {
    // The thanks DM goes out just before the rating is committed: the last one may take a moment to show.
    const want = { 1: 0, 2: 0, 3: 0, 4: 2, 5: 1 };
    let last = '';
    const cicd = await waitFor('the report to count three ratings', async () => {
      const r = spawnSync(bin, ['report', '--config', stack.configPath, '--format', 'json', '--since', '2000-01-01'],
        { encoding: 'utf8' });
      assert.equal(r.status, 0, `report failed:\n${r.stdout}${r.stderr}`);
      last = r.stdout;
      const t = JSON.parse(r.stdout).teams.find((x) => x.team === 'cicd');
      return t && JSON.stringify(t.distribution) === JSON.stringify(want) ? t : null;
    }, { context: async () => last });
    // Ratings 5 (carol), 4 (dave), 4 (carol, round 2); eve's survey is open; one survey was withdrawn.
    assert.equal(cicd.responses, 3);
    assert.equal(cicd.surveys_sent, 5);
    assert.equal(cicd.csat_percent, 100);
    assert.equal(cicd.mean_rating, 13 / 3);
  });
});

describe('an unanswered survey expires', { skip }, () => {
  let stack, h, d;
  before(async () => {
    stack = await startStack({ bin, name: 'feedback-expiry', feedback: { expireAfter: '2s' } });
    h = chat(stack);
    d = dms(stack, h);
  });
  after(async () => { await stack?.stopAll(); });

  test('after feedback.expire_after the DM says so and a late click is answered, not counted', async () => {
    const text = uniq('cache server full');
    const root = await resolvedRequest(h, 'carol', text);
    const survey = await d.survey('carol', text);
    await waitFor('the survey DM to expire', async () => {
      const m = await h.ctl.message(survey._id);
      return /has expired/.test(m.msg) ? m : null;
    }, { timeout: 10000, context: d.context('carol') });
    await h.ctl.click('carol', survey._id, '5');
    await d.waitBot('the answer to an expired survey', 'carol', new RegExp(`^There is no open survey for request ${root._id}`));
  });
});
