#!/usr/bin/env node
// The demo story: plays a support conversation through dutydesk-sim's control API while `dutydesk serve` runs
// against it, and prints every chat line as it appears in the simulator. Each step waits for dutydesk's reaction
// with a deadline and fails clearly when it does not come.
// Usage: node scripts/demo_story.mjs <control url, e.g. http://127.0.0.1:8099> [ids.json to write]
// scripts/demo.sh runs it after starting the simulator and dutydesk.
import { writeFileSync } from 'node:fs';
import {
  control, waitFor, waitRealtimeSubs, formatMessage, formatReactions, formatThread, byBot, buttonsOf, botReactions,
  isReminder, mentions, sleep,
} from '../tests/e2e/lib.mjs';

const controlUrl = process.argv[2] ?? 'http://127.0.0.1:8099';
const idsFile = process.argv[3];
const ctl = control(controlUrl);
const ROOMS = ['cicd-support', 'dba-support'];
const STEP_TIMEOUT = 15000;

// -- the transcript: every message and root reaction change, in order, printed once --------------------------------
const printed = new Set();
const reactionsSeen = new Map();
const width = Math.max(...ROOMS.map((r) => r.length)) + 3;
const pad = (s) => s.padEnd(width);

const roots = new Map(); // root id -> {room, who, text}
let lastThread = null;     // the thread (root id) the previous printed line belongs to

function line(room, m) {
  const body = formatMessage(m).replace(/\n {6}/g, '\n' + ' '.repeat(width + 6));
  if (!m.tmid) {
    roots.set(m._id, { room, who: m.u.username, text: m.msg });
    lastThread = m._id;
    return `${pad('#' + room)}${body}`;
  }
  let head = '';
  if (m.tmid !== lastThread) {
    const r = roots.get(m.tmid);
    head = `${pad('#' + room)}(thread of ${r ? `${r.who}'s "${short(r.text)}"` : m.tmid})\n`;
    lastThread = m.tmid;
  }
  return `${head}${pad('')}  ↳ ${body}`;
}

async function flush() {
  const out = [];
  for (const room of ROOMS) {
    for (const m of await ctl.roomMessages(room)) {
      if (m.t) continue; // system messages (joins) are not part of the story
      out.push({ room, m });
    }
  }
  out.sort((a, b) => Date.parse(a.m.ts) - Date.parse(b.m.ts));
  for (const { room, m } of out) {
    if (!printed.has(m._id)) {
      printed.add(m._id);
      console.log(line(room, m));
    }
    if (!m.tmid) {
      const r = formatReactions(m.reactions);
      const before = reactionsSeen.get(m._id);
      if (r !== (before ?? '(none)')) {
        reactionsSeen.set(m._id, r);
        console.log(`${pad('')}  reactions on ${m.u.username}'s "${short(m.msg)}": ${r}`);
        lastThread = m._id;
      } else if (before === undefined) reactionsSeen.set(m._id, r);
    }
  }
}

const short = (s, n = 28) => {
  const t = s.replace(/^\[ \]\([^)]*\)\s*/, '').replace(/\n/g, ' '); // a repost starts with a hidden link
  return t.length > n ? t.slice(0, n - 1) + '…' : t;
};

let printer = Promise.resolve();
const print = () => (printer = printer.then(flush).catch((e) => console.error(`(transcript: ${e.message})`)));
const ticker = setInterval(print, 100);

function narrate(text) {
  return print().then(() => console.log(`\n-- ${text}`));
}

/** Waits for `probe` (truthy), printing the transcript meanwhile; on timeout exits with the thread's contents. */
async function expect(what, probe, rootId, timeout = STEP_TIMEOUT) {
  try {
    const v = await waitFor(what, probe, { timeout, interval: 100, context: rootId ? async () => formatThread(await ctl.thread(rootId)) : undefined });
    await print();
    return v;
  } catch (e) {
    await print();
    console.error(`\ndemo: dutydesk did not react in time.\n${e.message}\n(see .demo/dutydesk.log)`);
    process.exit(1);
  }
}

const thread = (id) => ctl.thread(id);
const intro = async (rootId) => (await thread(rootId)).replies.find((m) => byBot(m) && buttonsOf(m).length && !isReminder(m));
const botEmojis = async (rootId, emojis) => JSON.stringify(botReactions(await ctl.reactions(rootId))) === JSON.stringify(emojis);

// -- the story ------------------------------------------------------------------------------------------------------
await waitRealtimeSubs(ctl, () => '', undefined, STEP_TIMEOUT).catch((e) => {
  console.error(`demo: dutydesk never subscribed to the support rooms: ${e.message}`);
  process.exit(1);
});

console.log('dutydesk demo: a support morning in #cicd-support (OnCall says bob is on duty for CI/CD, carol for DBA)');

await narrate('alice asks for help in #cicd-support');
const ci = await ctl.say('alice', 'cicd-support', 'CI is red on main: the build job fails at the test stage');
const ciIntro = await expect('dutydesk\'s intro tagging @bob with the status buttons',
  async () => { const m = await intro(ci._id); return m && mentions(m, 'bob') ? m : null; }, ci._id);
await expect('the :new: status reaction on alice\'s message', () => botEmojis(ci._id, [':new:']), ci._id);

await narrate('eve asks a question that nobody answers (cicd-support reminds after 20 s of silence)');
const quiet = await ctl.say('eve', 'cicd-support', 'Where do I find the release notes for 2.3?');
await expect('the intro of eve\'s request', () => intro(quiet._id), quiet._id);

await narrate('bob clicks [In progress] under the intro');
await ctl.click('bob', ciIntro._id, 'In progress');
await expect('the status reaction to become :hammer_and_wrench:', () => botEmojis(ci._id, [':hammer_and_wrench:']), ci._id);

await narrate('bob answers in the thread');
await ctl.say('bob', 'cicd-support', 'Looking at it: one runner has a full disk, I am draining it.', ci._id);
await print();

await narrate('bob clicks [Done]');
await ctl.click('bob', ciIntro._id, 'Done');
await expect('the status reaction to become :white_check_mark:', () => botEmojis(ci._id, [':white_check_mark:']), ci._id);

await narrate('carol asks something that belongs to the DBA team, in #cicd-support');
const db = await ctl.say('carol', 'cicd-support', 'The orders database is slow: replica lag on db-3 is 40 s');
await expect('the intro of carol\'s request', () => intro(db._id), db._id);

await narrate('bob moves it: !dd move #dba-support');
await ctl.say('bob', 'cicd-support', '!dd move #dba-support', db._id);
const repost = await expect('the repost in #dba-support', async () =>
  (await ctl.roomMessages('dba-support', true)).find((m) => byBot(m) && m.msg.includes('replica lag on db-3')), db._id);
await expect('the repost\'s intro tagging @carol (on duty for DBA)',
  async () => { const m = await intro(repost._id); return m && mentions(m, 'carol') ? m : null; }, repost._id);
await expect('the :arrow_right: reaction on the original', () => botEmojis(db._id, [':arrow_right:']), db._id);

await narrate('meanwhile nobody has answered eve: waiting for the reminder to @bob');
await expect('a reminder in eve\'s thread', async () => (await thread(quiet._id)).replies.some(isReminder), quiet._id, 40000);

await sleep(200);
await print();
await printer;
clearInterval(ticker);
console.log('\n-- the story is over; dutydesk and the simulator keep running.');
if (idsFile) {
  writeFileSync(idsFile, JSON.stringify({ ci_root: ci._id, ci_intro: ciIntro._id, quiet_root: quiet._id, moved_root: db._id,
    repost: repost._id }, null, 2) + '\n');
}
