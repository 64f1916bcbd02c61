// Shared helpers of the end-to-end tests and the demo story: start the simulator and `dutydesk serve` on loopback
// (ephemeral ports), talk to the simulator's control API, wait for conditions with a deadline, and print chat
// messages readably.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync, appendFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const simBin = process.env.DUTYDESK_SIM ?? path.join(root, 'build/sim/dutydesk-sim');
export const seed = path.join(root, 'sim/seed/demo.json');
export const BOT = 'dutydesk';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every child started here, killed (by PID) if this process ends without its after hooks: node's test runner
// cancels a file that exceeds --test-timeout with a signal, and a closed stdout pipe ends it too.
const children = new Set();
function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}
function killChildren() {
  for (const p of children) { try { p.kill('SIGKILL'); } catch { /* already gone */ } }
}
process.on('exit', killChildren);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => { killChildren(); process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[sig]); });
}

/** Starts dutydesk-sim with the demo seed on ephemeral ports; `ready` resolves to the URLs of its ready line. */
export function startSim(extra = []) {
  const args = ['--seed', seed, '--rc-listen', '127.0.0.1:0', '--jira-dc-listen', '127.0.0.1:0',
    '--jira-cloud-listen', '127.0.0.1:0', '--oncall-listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0', ...extra];
  const proc = track(spawn(simBin, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '', err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line; stderr: ${err}`)), 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^dutydesk-sim ready (.*)$/m);
      if (m) { clearTimeout(timer); resolve(JSON.parse(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${err}`)); });
  });
  return { proc, ready, stderr: () => err };
}

/** A TCP port that was free a moment ago (dutydesk's http/metrics listeners; its ready line names no ports). */
export async function freePort() {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

/** The dutydesk YAML for a simulator; `dir` holds the SQLite database. */
export function configYaml({ urls, dir, httpPort, metricsPort, remindCicd = '3s', remindDba = '1h' }) {
  return `# written by tests/e2e/lib.mjs
rocketchat:
  url: ${urls.rocketchat}
  user_id: B0tB0tB0tB0tB0tB0
  auth_token: dutydesk-pat-0000000000000000000000000000
jira:
  url: ${urls['jira-dc']}
  flavor: datacenter
  auth:
    token: jira-bot-token-0000000000000000
  webhook_secret: x
  service_field: customfield_10100
oncall:
  url: ${urls.oncall}
  token: oncall-token-000000000000000000
storage:
  url: sqlite://${path.resolve(dir, 'dd.db')}
http:
  listen: 127.0.0.1:${httpPort}
metrics:
  listen: 127.0.0.1:${metricsPort}
statuses:
  - id: open
    label: Open
    emoji: ":new:"
  - id: in_progress
    label: In progress
    emoji: ":hammer_and_wrench:"
  - id: done
    label: Done
    emoji: ":white_check_mark:"
    final: true
channels:
  - room: cicd-support
    team: cicd
    members: [alice]
    jira:
      project: CICD
    services: [pipeline]
    oncall:
      schedule_id: SCHEDCICD
      fallback: [dave]
    remind_after: ${remindCicd}
  - room: dba-support
    team: dba
    members: []
    jira:
      project: DBA
    services: [postgres]
    oncall:
      schedule_id: SCHEDDBA
      fallback: [eve]
    remind_after: ${remindDba}
`;
}

/** Runs `dutydesk check-config`; returns {status, stdout, stderr}. */
export function checkConfig(bin, configPath) {
  const r = spawnSync(bin, ['check-config', '--config', configPath], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

/**
 * Starts `dutydesk serve --config FILE`. Everything it writes goes to `logPath` too. `ready` resolves to the JSON
 * of its ready line, or rejects (with the log) when it exits first or says nothing within `timeout` ms.
 */
export function startDutydesk(bin, configPath, logPath, { timeout = 15000 } = {}) {
  const proc = track(spawn(bin, ['serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '', log = '';
  const keep = (d) => { log += d; if (logPath) appendFileSync(logPath, d); };
  proc.stderr.on('data', keep);
  const ready = new Promise((resolve, reject) => {
    proc.on('error', (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    const timer = setTimeout(() => reject(new Error(`dutydesk printed no ready line in ${timeout} ms; its output:\n${tail(log)}`)), timeout);
    proc.stdout.on('data', (d) => {
      keep(d);
      out += d;
      const m = out.match(/^dutydesk ready (.*)$/m);
      if (m) { clearTimeout(timer); resolve(JSON.parse(m[1])); }
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`dutydesk exited (${code ?? signal}) before its ready line; its output:\n${tail(log)}`));
    });
  });
  ready.catch(() => {});
  return { proc, ready, log: () => log };
}

export function tail(text, lines = 40) {
  return text.split('\n').slice(-lines).join('\n');
}

/** Stops a child by PID: SIGTERM (or the given signal), then waits for its exit (SIGKILL after `grace` ms). */
export async function stop(proc, signal = 'SIGTERM', grace = 5000) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill(signal);
  const timer = setTimeout(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); }, grace);
  await exited;
  clearTimeout(timer);
}

/** The simulator's control API. */
export function control(controlUrl) {
  const call = async (method, p, body) => {
    const r = await fetch(controlUrl + '/control' + p, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json;
    try { json = JSON.parse(text); } catch { json = { raw: text }; }
    if (r.status >= 400) throw new Error(`control ${method} ${p} -> ${r.status}: ${text}`);
    return json;
  };
  const rc = (p) => '/rocketchat' + p;
  const c = {
    get: (p) => call('GET', p),
    post: (p, body) => call('POST', p, body),
    del: (p) => call('DELETE', p),
    /** Posts as a user (DDP sendMessage path); top level unless tmid. Returns the message. */
    say: async (as, room, text, tmid) => (await call('POST', rc('/messages'), { as, room, text, ...(tmid ? { tmid } : {}) })).message,
    click: (as, messageId, button) => call('POST', rc('/click'), { as, message_id: messageId, button }),
    react: (as, messageId, emoji, action = 'add') => call('POST', rc('/reactions'), { as, message_id: messageId, emoji, action }),
    message: async (id) => (await call('GET', rc(`/messages/${id}`))).message,
    thread: (rootId) => call('GET', rc(`/threads/${rootId}`)),
    reactions: async (id) => (await call('GET', rc(`/messages/${id}/reactions`))).reactions ?? {},
    roomMessages: async (room, topLevel = false) =>
      (await call('GET', rc(`/rooms/${room}/messages${topLevel ? '?top_level=true' : ''}`))).messages,
    addMember: (room, username) => call('POST', rc(`/rooms/${room}/members`), { username }),
    /** Messages of the bot's DM room with `user` ([] when there is none). */
    dmMessages: async (user) => {
      const { rooms } = await call('GET', rc(`/users/${user}/dms`));
      const dm = rooms.find((r) => (r.usernames ?? []).includes(BOT));
      return dm ? (await call('GET', rc(`/rooms/${dm._id}/messages`))).messages : [];
    },
    drop: () => call('POST', rc('/drop')),
    faults: (spec) => call('POST', '/faults', spec),
    clearFaults: () => call('DELETE', '/faults'),
    faultState: () => call('GET', '/faults'),
  };
  return c;
}

// -- reading chat ---------------------------------------------------------------------------------------------------

export const byBot = (m) => m.u?.username === BOT;
/** The bot's "Jira: [KEY](url)" link post in a request's thread (the Jira mirror's, not the lifecycle's). */
export const isJiraLink = (m) => byBot(m) && /^Jira: \[[A-Z][A-Z0-9]*-\d+\]\(/.test(m.msg ?? '');
/** The bot's lifecycle posts in a thread: everything it posted but the Jira link. */
export const lifecyclePosts = (t) => t.replies.filter((m) => byBot(m) && !isJiraLink(m));
export const buttonsOf = (m) => (m.attachments ?? []).flatMap((a) => a.actions ?? []);
export const isReminder = (m) => byBot(m) && /\breminder:/.test(m.msg ?? '');
/** The bot's intro in a thread: a bot reply with buttons that is not a reminder (reminders carry buttons too). */
export const intros = (thread) => thread.replies.filter((m) => byBot(m) && buttonsOf(m).length > 0 && !isReminder(m));
export const isEscalated = (m) => byBot(m) && /second reminder:/.test(m.msg ?? '');
/** Bot replies that are not reminders (reminders arrive on their own clock in a short-remind channel). */
export const botNotes = (thread) => thread.replies.filter((m) => byBot(m) && !isReminder(m));
export const mentions = (m, user) => new RegExp(`@${user}\\b`).test(m.msg ?? '');
/** The emojis the bot has on a message, sorted. */
export const botReactions = (reactions) =>
  Object.entries(reactions ?? {}).filter(([, v]) => (v.usernames ?? []).includes(BOT)).map(([k]) => k).sort();

export function formatReactions(reactions) {
  const xs = Object.entries(reactions ?? {}).map(([k, v]) => `${k} (${(v.usernames ?? []).join(', ')})`);
  return xs.length ? xs.join('  ') : '(none)';
}

/** One chat line: `alice: text [Open] [In progress]`. */
export function formatMessage(m) {
  const who = m.u?.username ?? '?';
  const sys = m.t ? ` <${m.t}>` : '';
  const buttons = buttonsOf(m).map((b) => ` [${b.text}]`).join('');
  return `${who}${sys}: ${(m.msg ?? '').replace(/\n/g, '\n      ')}${buttons}`;
}

export function formatThread(thread) {
  if (!thread?.root) return '(no thread)';
  const lines = [`root ${thread.root._id} in ${thread.root.rid}: ${formatMessage(thread.root)}`,
    `  reactions: ${formatReactions(thread.root.reactions)}`];
  for (const m of thread.replies ?? []) lines.push(`  ↳ ${m._id} ${m.ts} ${formatMessage(m)}`);
  if (!thread.replies?.length) lines.push('  (no replies)');
  return lines.join('\n');
}

/**
 * Polls `probe` every `interval` ms until it returns something truthy (returned). At the deadline it throws an
 * error naming `what`, with `context()` (e.g. the thread's contents) appended.
 */
export async function waitFor(what, probe, { timeout = 10000, interval = 75, context } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) { lastError = e; }
    if (Date.now() >= deadline) {
      let ctx = '';
      if (context) {
        try { ctx = '\n' + await context(); } catch (e) { ctx = `\n(context unavailable: ${e.message})`; }
      }
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}${ctx}`);
    }
    await sleep(interval);
  }
}

// -- a simulator + dutydesk pair --------------------------------------------------------------------------------

/**
 * A fresh simulator and a dutydesk serving it, in a temp dir. `beforeServe(ctl)` runs after the simulator is up and
 * before dutydesk starts (e.g. inject OnCall faults). Methods: restart() (same database), kill9(), stopAll().
 */
export async function startStack({ bin, remindCicd = '3s', remindDba = '1h', beforeServe, name = 'e2e', waitRealtime = true } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), `dutydesk-${name}-`));
  const stack = { dir, logPath: path.join(dir, 'dutydesk.log'), configPath: path.join(dir, 'dutydesk.yaml') };
  stack.sim = startSim();
  stack.urls = await stack.sim.ready;
  stack.ctl = control(stack.urls.control);
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  writeFileSync(stack.configPath, configYaml({ urls: stack.urls, dir, httpPort, metricsPort, remindCicd, remindDba }));
  if (beforeServe) await beforeServe(stack.ctl);
  stack.start = async () => {
    stack.dd = startDutydesk(bin, stack.configPath, stack.logPath);
    stack.readyLine = await stack.dd.ready;
    // dutydesk prints its ready line before its realtime connection subscribes; on a fresh database a message
    // posted in between is never seen (reported). Tests wait for the bot's room subscriptions unless told not to.
    if (waitRealtime) await waitRealtimeSubs(stack.ctl, stack.log);
    return stack.readyLine;
  };
  stack.kill9 = async () => { await stop(stack.dd?.proc, 'SIGKILL'); };
  stack.restart = async () => { await stop(stack.dd?.proc); return stack.start(); };
  stack.log = () => { try { return readFileSync(stack.logPath, 'utf8'); } catch { return ''; } };
  stack.stopAll = async () => {
    await stop(stack.dd?.proc);
    await stop(stack.sim?.proc);
    if (!process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await stack.start();
  } catch (e) {
    await stack.stopAll().catch(() => {});
    throw e;
  }
  return stack;
}

/** "oncall: GET 200 x3, GET 503 x4; rocketchat: ..." over the simulator's request log. */
export async function requestSummary(ctl) {
  const { requests } = await ctl.get('/requests?limit=1000');
  const by = {};
  for (const r of requests) {
    if (r.method === 'WS') continue;
    const k = `${r.method} ${r.status}${r.fault ? ' (' + r.fault + ')' : ''}`;
    (by[r.system] ??= {})[k] = ((by[r.system] ??= {})[k] ?? 0) + 1;
  }
  return Object.entries(by).map(([sys, ks]) => `${sys}: ${Object.entries(ks).map(([k, v]) => `${k} x${v}`).join(', ')}`).join('; ') || '(nothing)';
}

/** Waits until the simulator has a connected bot session subscribed to both support rooms' messages. */
export async function waitRealtimeSubs(ctl, log = () => '', rooms = ['CicdSupp0rtRoom01', 'DbaSupp0rtRoom002'], timeout = 10000) {
  return waitFor('the bot\'s realtime subscriptions to the support rooms', async () => {
    const { sessions } = await ctl.get('/rocketchat/sessions');
    return sessions.some((x) => x.connected && x.user_id === 'B0tB0tB0tB0tB0tB0' &&
      rooms.every((r) => (x.subs ?? []).some((s) => s.name === 'stream-room-messages' && (s.event === r || s.event === '__my_messages__'))));
  }, { timeout, context: async () => `sessions: ${JSON.stringify((await ctl.get('/rocketchat/sessions')).sessions)}\n${tail(log(), 15)}` });
}

/** Helpers bound to one stack: wait for a thread condition, with the thread and dutydesk's log tail on failure. */
export function chat(stack) {
  const ctl = stack.ctl;
  const describe = (rootId) => async () =>
    `thread:\n${formatThread(await ctl.thread(rootId))}\n--- simulator saw (its first 1000 logged requests, websocket frames left out): ${await requestSummary(ctl)}` +
    `\n--- dutydesk log (tail):\n${tail(stack.log(), 25)}`;
  const h = {
    ctl,
    describe,
    /** Waits until `pred(thread)` holds for the thread of `rootId`; returns the thread. */
    waitThread: (what, rootId, pred, opts = {}) =>
      waitFor(what, async () => { const t = await ctl.thread(rootId); return pred(t) ? t : null; },
        { context: describe(rootId), ...opts }),
    /** A new top-level request; waits for its intro. Returns {root, intro}. */
    ask: async (as, room, text, opts = {}) => {
      const root = await ctl.say(as, room, text);
      const t = await h.waitThread(`the intro of "${text}" by ${as} in #${room}`, root._id, (t) => intros(t).length >= 1, opts);
      return { root, intro: intros(t)[0] };
    },
    /** Waits for the root's bot reactions to be exactly `emojis`. */
    waitBotReactions: (rootId, emojis, opts = {}) =>
      waitFor(`the bot's reactions on ${rootId} to be ${emojis.join(' ')}`, async () => {
        const r = await ctl.reactions(rootId);
        return JSON.stringify(botReactions(r)) === JSON.stringify([...emojis].sort()) ? r : null;
      }, { context: describe(rootId), ...opts }),
    /** Waits for a bot reply in the thread matching `re` (after the first `skip` such); returns it. */
    waitBotReply: async (what, rootId, re, opts = {}) => {
      const t = await h.waitThread(what, rootId, (t) => t.replies.some((m) => byBot(m) && re.test(m.msg ?? '')), opts);
      return t.replies.find((m) => byBot(m) && re.test(m.msg ?? ''));
    },
  };
  return h;
}
