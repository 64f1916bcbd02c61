// The simulator's live page (sim/web/, docs/simulator.md) in a real headless Chromium: Debian's chromium driven by
// playwright-core (no browser download). A simulator and `dutydesk serve` run on loopback (tests/e2e/lib.mjs); every
// action goes through the page (pick a user, post, click a button) and every check waits, with a deadline, for the
// page to show the result. The control API is only read to explain a failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { root, startStack, formatThread, tail, jiraControl } from '../e2e/lib.mjs';

const bin = process.env.DUTYDESK_BIN;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.BROWSER_ARTIFACTS || path.join(root, 'build/browser-artifacts');
const CICD = 'cicd-support';
const WAIT = 20000;  // for what dutydesk does (intro, reaction, Jira issue); the page polls every second

let stack, browser, page;
const pageErrors = [];

before(async () => {
  assert.ok(bin, 'DUTYDESK_BIN names the dutydesk binary (tests/browser/run.sh <dutydesk-sim> <dutydesk>)');
  mkdirSync(artifacts, { recursive: true });
  // remind_after 1h: no reminder lands in the thread while the test looks at it; jiraStatuses maps the chat statuses
  // to To Do / In Progress / Done, so a status click transitions the issue.
  stack = await startStack({ bin, name: 'browser', remindCicd: '1h', jiraWebhook: true, jiraStatuses: true });
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console.error: ${m.text()}`); });
});

after(async () => {
  await browser?.close().catch(() => {});
  await stack?.stopAll();
});

/** What the simulator holds and what dutydesk logged: appended to a failed wait, to tell a page bug from a bot bug. */
async function context(rootId) {
  const parts = [];
  if (rootId) parts.push(`thread (control API):\n${formatThread(await stack.ctl.thread(rootId).catch((e) => ({ error: e.message })))}`);
  const issues = await stack.jira.issues().catch(() => []);
  parts.push(`jira-dc issues (control API): ${JSON.stringify(issues.map((i) => [i.key, i.status.name, i.assignee]))}`);
  parts.push(`page status line: ${await page.locator('#conn').textContent().catch(() => '?')}; notice: ${await page.locator('#notice').textContent().catch(() => '?')}`);
  parts.push(`page errors: ${JSON.stringify(pageErrors)}`);
  parts.push(`dutydesk log (tail):\n${tail(stack.log(), 15)}`);
  return parts.join('\n');
}

/** Waits (with a deadline) until the page shows `locator`; returns its first match. */
async function see(what, locator, { timeout = WAIT, rootId } = {}) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
    return locator.first();
  } catch (e) {
    await page.screenshot({ path: path.join(artifacts, 'live-page-failure.png'), fullPage: true }).catch(() => {});
    throw new Error(`the page did not show ${what} within ${timeout} ms (${e.message.split('\n')[0]})\n${await context(rootId)}`);
  }
}

const room = (name) => page.locator(`.room[data-room-name="${name}"]`);
const message = (mid) => page.locator(`.msg[data-mid="${mid}"]`);

/** Picks the acting user in the page's header, as a visitor does. */
async function actAs(username) {
  await page.selectOption('#as-user', username);
  assert.equal(await page.locator('body').getAttribute('data-as'), username);
}

test('the page shows the seeded world: channels, users to act as, who is on call, the Jira projects', async () => {
  const response = await page.goto(stack.urls.control + '/');
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-type'], /^text\/html/);
  await see('the live status line', page.locator('body[data-live="up"]'), { timeout: 5000 });
  await see('#cicd-support', room(CICD).locator('h2', { hasText: `#${CICD}` }));
  await see('#dba-support', room('dba-support'));
  const users = await page.locator('#as-user option').evaluateAll((xs) => xs.map((o) => o.value));
  assert.deepEqual(users, ['alice', 'bob', 'carol', 'dave', 'eve'], 'every seeded human, not the bot');
  await see('bob on call for CI/CD', page.locator('[data-schedule="SCHEDCICD"] .person[data-username="bob"]'));
  await see('carol on call for DBA', page.locator('[data-schedule="SCHEDDBA"] .person[data-username="carol"]'));
  await see('the CICD project on the Jira board', page.locator('.board[data-system="jira-dc"] .project[data-project="CICD"]'));
  await see('the DBA project on the Jira board', page.locator('.board[data-system="jira-dc"] .project[data-project="DBA"]'));
});

test('a request posted on the page gets the on-duty tag and the status reaction; "In progress" clicked on the page moves its Jira issue', async () => {
  const text = `The deploy job hangs at step 3 (browser test ${process.pid})`;
  await actAs('alice');
  await page.selectOption('#room', { label: `#${CICD}` });
  await page.fill('#text', text);
  await page.click('#send');
  const posted = await see('alice\'s request in #cicd-support', room(CICD).locator('.msg[data-user="alice"]:not([data-tmid])', { hasText: text }));
  const rootId = await posted.getAttribute('data-mid');
  assert.ok(rootId);
  assert.equal(await page.inputValue('#text'), '', 'the composer is emptied after a post');

  // The bot's intro in the thread tags the on-duty (bob, from OnCall) and carries the status buttons.
  const thread = page.locator(`.thread[data-tmid="${rootId}"]`);
  const intro = await see('the intro tagging @bob', thread.locator('.msg.bot', { has: page.locator('.mention[data-mention="bob"]') }), { rootId });
  const buttons = await intro.locator('button.action').evaluateAll((xs) => xs.map((b) => b.textContent));
  assert.ok(buttons.includes('In progress'), `the intro's buttons: ${JSON.stringify(buttons)}`);
  await see('the :new: status reaction on the request', message(rootId).locator(':scope > .reactions > .reaction[data-emoji=":new:"]'), { rootId });

  // The Jira link in the thread names the issue; the board shows it in To Do, assigned to the on-duty.
  const link = await see('the Jira link in the thread', thread.locator('.msg.bot a', { hasText: /^CICD-\d+$/ }), { rootId });
  const key = (await link.textContent()).trim();
  const board = page.locator('.board[data-system="jira-dc"] .project[data-project="CICD"]');
  await see(`${key} in To Do, assigned to bob`, board.locator(`.column[data-status="To Do"] .issue[data-key="${key}"][data-assignee="bob"]`), { rootId });

  // bob (the on-duty) clicks "In progress" on the page.
  await actAs('bob');
  await intro.locator('button.action', { hasText: /^In progress$/ }).click();
  await see('the notice of bob\'s click', page.locator('#notice', { hasText: '@bob clicked "In progress"' }), { timeout: 5000, rootId });
  await see(`${key} in the In Progress column`, board.locator(`.column[data-status="In Progress"] .issue[data-key="${key}"]`), { rootId });
  await see('the :hammer_and_wrench: reaction on the request', message(rootId).locator(':scope > .reactions > .reaction[data-emoji=":hammer_and_wrench:"]'), { rootId });
  await see('the status note in the thread', thread.locator('.msg.bot', { hasText: '@bob changed the status: Open → In progress.' }), { rootId });
  assert.equal(await board.locator(`.column[data-status="To Do"] .issue[data-key="${key}"]`).count(), 0, `${key} left To Do`);
  assert.equal(await message(rootId).locator(':scope > .reactions > .reaction[data-emoji=":new:"]').count(), 0, 'the :new: reaction is gone');

  // The page showed what the simulator holds: the transition was the bot's, for bob's click.
  const issue = await jiraControl(stack.ctl).issue(key);
  assert.equal(issue.status.name, 'In Progress');
  assert.deepEqual(issue.transitions.map((t) => [t.by, t.from, t.to]), [['dutybot', 'To Do', 'In Progress']]);

  // A reply in the thread, posted from the page: shown in the thread, mirrored as a comment on the issue's card.
  await actAs('alice');
  await thread.locator('button.reply').click();
  assert.equal(await page.locator('body').getAttribute('data-reply-to'), rootId);
  const reply = `Still stuck after a retry (browser test ${process.pid})`;
  await page.fill('#text', reply);
  await page.press('#text', 'Enter');
  await see('alice\'s reply in the thread', thread.locator('.msg[data-user="alice"]', { hasText: reply }), { rootId });
  assert.equal(await room(CICD).locator('.messages > .msg > .text', { hasText: reply }).count(), 0, 'the reply is not top level');
  const card = board.locator(`.issue[data-key="${key}"]`);
  await see(`the reply as a comment on ${key}`, card.locator('details.comments summary'), { rootId });
  await card.locator('details.comments summary').click();
  await see(`the comment's text on ${key}`, card.locator('.comment', { hasText: `Alice Adams (@alice) in Rocket.Chat: ${reply}` }), { rootId });

  const shot = path.join(artifacts, 'live-page.png');
  await page.screenshot({ path: shot, fullPage: true });
  test.diagnostic?.(`screenshot: ${shot}`);
  assert.deepEqual(pageErrors, [], 'no script errors on the page');
});

test('a click dutydesk refuses shows up as the bot\'s DM on the page; the page says when it cannot reach the simulator', async () => {
  // eve is neither the on-duty, a member of #cicd-support nor the requester: dutydesk answers her click in a DM.
  await actAs('eve');
  const intro = page.locator('.thread .msg.bot', { has: page.locator('.mention[data-mention="bob"]') }).first();
  await intro.locator('button.action', { hasText: /^Done$/ }).click();
  await see('the notice of eve\'s click', page.locator('#notice', { hasText: '@eve clicked "Done"' }), { timeout: 5000 });
  await see('the DM refusing eve', page.locator('.room.dm .msg.bot', { hasText: 'You may not change the status' }));
  await page.screenshot({ path: path.join(artifacts, 'live-page-dm.png'), fullPage: true });
  // Without the simulator the status line turns to "not reaching" and the page stays put.
  await stack.sim.proc.kill('SIGTERM');
  await see('the lost-connection status', page.locator('body[data-live="down"]'), { timeout: 5000 });
  assert.match(await page.locator('#conn').textContent(), /not reaching the simulator/);
  assert.ok(await room(CICD).count(), 'the last picture stays on the page');
});
