// Shared helpers of the end-to-end tests and the demo story: start the simulator and `dutydesk serve` on loopback
// (ephemeral ports), talk to the simulator's control API, wait for conditions with a deadline, and print chat
// messages readably.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync, appendFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHmac, randomUUID } from 'node:crypto';
import * as nodeTest from 'node:test';
import assert from 'node:assert/strict';
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

/** The default jira.webhook_secret: long enough for scripts/scan_secrets.sh to look for it in the logs. */
export const E2E_WEBHOOK_SECRET = 'e2e-webhook-secret-0000000000';

/** The Jira bot of the demo seed: Data Center takes its PAT as a Bearer token, Cloud its e-mail + API token. */
export const JIRA_BOT = { name: 'dutybot', email: 'dutybot@example.com', token: 'jira-bot-token-0000000000000000' };
/** The simulator system (control API prefix, fault target) of a jira.flavor. */
export const jiraSystem = (flavor) => (flavor === 'cloud' ? 'jira-cloud' : 'jira-dc');

function jiraYaml(urls, flavor, webhookSecret, pollInterval) {
  const auth = flavor === 'cloud'
    ? `    type: basic\n    user: ${JIRA_BOT.email}\n    token: ${JIRA_BOT.token}`
    : `    token: ${JIRA_BOT.token}`;
  return `jira:
  url: ${urls[jiraSystem(flavor)]}
  flavor: ${flavor}
  auth:
${auth}
  webhook_secret: ${webhookSecret}
  service_field: customfield_10100
${pollInterval ? `  poll_interval: ${pollInterval}\n` : ''}`;
}

/**
 * The storage backend of the run: PostgreSQL when DUTYDESK_E2E_POSTGRES_URL names a server (scripts/test.sh starts
 * one for the second pass of the suite), else SQLite.
 */
export const pgBase = process.env.DUTYDESK_E2E_POSTGRES_URL || '';
export const storageBackend = pgBase ? 'postgres' : 'sqlite';
const pgDatabases = new Map();

/**
 * The storage URL of a test directory: SQLite `dir`/dd.db, or a PostgreSQL database of its own (created the first
 * time, the same one again when dutydesk is restarted on the same directory).
 */
export function storageUrl(dir) {
  if (!pgBase) return `sqlite://${path.resolve(dir, 'dd.db')}`;
  let url = pgDatabases.get(dir);
  if (!url) {
    const name = `e2e_${process.pid}_${pgDatabases.size + 1}`;
    const r = spawnSync('psql', [pgBase, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot create the PostgreSQL database ${name}: ${r.stderr || r.error}`);
    const u = new URL(pgBase);
    u.pathname = `/${name}`;
    url = u.toString();
    pgDatabases.set(dir, url);
  }
  return url;
}

/**
 * The dutydesk YAML for a simulator; `dir` holds the SQLite database (or names the PostgreSQL one, storageUrl). Optional, for the Jira mirror tests:
 * `flavor` (datacenter | cloud), `webhookSecret`, `pollInterval`, and `jiraStatuses` (map open/in_progress/done to
 * To Do / In Progress / Done). For the feedback and events tests: `feedback` ({expireAfter, anonymous}: enables the
 * survey) and `events` ({natsUrl, stream, webhooks: [{url, secret}]}). The defaults give the lifecycle tests'
 * configuration.
 */
export function configYaml({ urls, dir, httpPort, metricsPort, remindCicd = '3s', remindDba = '1h',
  flavor = 'datacenter', webhookSecret = E2E_WEBHOOK_SECRET, pollInterval, jiraStatuses = false, feedback, events, storage }) {
  const js = (name) => (jiraStatuses ? `\n    jira_status: ${name}` : '');
  const fb = feedback ? `feedback:\n  enabled: true\n  expire_after: ${feedback.expireAfter ?? '7d'}\n` +
    `  anonymous: ${feedback.anonymous ?? true}\n` : '';
  const ev = events ? 'events:\n' + (events.natsUrl ? `  nats_url: ${events.natsUrl}\n` : '') +
    (events.stream ? `  stream: ${events.stream}\n` : '') +
    (events.webhooks?.length ? '  webhooks:\n' + events.webhooks.map((w) => `    - url: ${w.url}\n      secret: ${w.secret}\n`).join('') : '') : '';
  return `# written by tests/e2e/lib.mjs
rocketchat:
  url: ${urls.rocketchat}
  user_id: B0tB0tB0tB0tB0tB0
  auth_token: dutydesk-pat-0000000000000000000000000000
${jiraYaml(urls, flavor, webhookSecret, pollInterval)}oncall:
  url: ${urls.oncall}
  token: oncall-token-000000000000000000
storage:
  url: ${storage ?? storageUrl(dir)}
http:
  listen: 127.0.0.1:${httpPort}
metrics:
  listen: 127.0.0.1:${metricsPort}
${fb}${ev}statuses:
  - id: open
    label: Open
    emoji: ":new:"${js('To Do')}
  - id: in_progress
    label: In progress
    emoji: ":hammer_and_wrench:"${js('In Progress')}
  - id: done
    label: Done
    emoji: ":white_check_mark:"${js('Done')}
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
      const m = out.match(/^dutydesk ready (.*)\n/m); // a whole line: a chunk may end inside it
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

/** The lines of `text` that contain `needle`. */
export function linesNaming(text, needle) {
  return text.split('\n').filter((l) => l.includes(needle)).join('\n');
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
    put: (p, body) => call('PUT', p, body),
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
 * Jira mirror options (defaults keep the lifecycle tests' setup): `flavor`, `webhookSecret`, `pollInterval`,
 * `jiraStatuses` (see configYaml), and `jiraWebhook: true`, which replaces the seed's webhooks of that flavour by one
 * pointing at this dutydesk's /jira/webhook, signed with `webhookSecret`, before dutydesk starts. The stack also has
 * `httpPort`, `webhookUrl`, `flavor`, `webhookSecret` and `jira` (jiraControl for its flavour).
 */
export async function startStack({ bin, remindCicd = '3s', remindDba = '1h', beforeServe, name = 'e2e', waitRealtime = true,
  flavor = 'datacenter', webhookSecret = E2E_WEBHOOK_SECRET, pollInterval, jiraStatuses = false, jiraWebhook = false, feedback,
  events, storage } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), `dutydesk-${name}-`));
  const stack = { dir, logPath: path.join(dir, 'dutydesk.log'), configPath: path.join(dir, 'dutydesk.yaml') };
  stack.sim = startSim();
  stack.urls = await stack.sim.ready;
  stack.ctl = control(stack.urls.control);
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  Object.assign(stack, { httpPort, metricsPort, flavor, webhookSecret, webhookUrl: `http://127.0.0.1:${httpPort}/jira/webhook` });
  stack.jira = jiraControl(stack.ctl, flavor);
  writeFileSync(stack.configPath, configYaml({ urls: stack.urls, dir, httpPort, metricsPort, remindCicd, remindDba,
    flavor, webhookSecret, pollInterval, jiraStatuses, feedback, events, storage }));
  if (jiraWebhook) {
    for (const w of await stack.jira.webhooks()) await stack.jira.deleteWebhook(w.id);
    await stack.jira.addWebhook({ name: `dutydesk-${name}`, url: stack.webhookUrl, events: JIRA_EVENTS, secret: webhookSecret });
  }
  if (beforeServe) await beforeServe(stack.ctl);
  stack.start = async () => {
    stack.dd = startDutydesk(bin, stack.configPath, stack.logPath);
    stack.readyLine = await stack.dd.ready;
    // The ready line names the bound listeners (every test checks it here).
    for (const [key, port] of [['http', httpPort], ['metrics', metricsPort]]) {
      if (stack.readyLine[key] !== `127.0.0.1:${port}`) throw new Error(`ready line ${key}: ${stack.readyLine[key]}, expected 127.0.0.1:${port}`);
    }
    // dutydesk prints its ready line before its realtime connection subscribes; on a fresh database a message
    // posted in between is never seen (reported). Tests wait for the bot's room subscriptions unless told not to.
    if (waitRealtime) await waitRealtimeSubs(stack.ctl, stack.log);
    return stack.readyLine;
  };
  stack.kill9 = async () => { await stop(stack.dd?.proc, 'SIGKILL'); };
  stack.restart = async () => { await stop(stack.dd?.proc); return stack.start(); };
  stack.log = () => { try { return readFileSync(stack.logPath, 'utf8'); } catch { return ''; } };
  stack.stopAll = async () => {
    // E2E_KEEP keeps the directory for scripts/scan_secrets.sh (with dutydesk.log, dutydesk.yaml and the store);
    // what /metrics said last is kept there too, so that the scan covers it.
    if (process.env.E2E_KEEP && stack.dd?.proc && stack.dd.proc.exitCode === null && stack.dd.proc.signalCode === null) {
      try {
        const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(3000) });
        if (r.ok) writeFileSync(path.join(dir, 'metrics.txt'), await r.text());
      } catch { /* not serving /metrics (yet or any more): nothing to keep */ }
    }
    await stop(stack.dd?.proc);
    const sim = stack.sim?.proc;
    const simRunning = sim && sim.exitCode === null && sim.signalCode === null;
    await stop(sim);
    if (!process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
    // A simulator asked to stop must stop cleanly (it once segfaulted at every stop after a realtime client).
    if (simRunning && sim.exitCode !== 0) throw new Error(`dutydesk-sim stopped with exit code ${sim.exitCode}, signal ${sim.signalCode}`);
  };
  try {
    await stack.start();
  } catch (e) {
    await stack.stopAll().catch(() => {});
    throw e;
  }
  return stack;
}

// -- the Jira side -----------------------------------------------------------------------------------------------

/** The events dutydesk's webhook subscribes to. */
export const JIRA_EVENTS = ['jira:issue_created', 'jira:issue_updated', 'comment_created', 'comment_updated'];

/** The simulator's Jira control API of one flavour (docs/sim/jira.md); issues in the control shape. */
export function jiraControl(ctl, flavor = 'datacenter') {
  const base = `/${jiraSystem(flavor)}`;
  const qs = (q) => {
    const p = new URLSearchParams(Object.entries(q ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return p.size ? `?${p}` : '';
  };
  return {
    flavor,
    system: jiraSystem(flavor),
    users: () => ctl.get(`${base}/users`),
    issues: (project) => ctl.get(`${base}/issues${qs({ project })}`),
    issue: (key) => ctl.get(`${base}/issues/${key}`),
    /** {as, project, summary, description?, labels?, assignee?, fields?} → the issue. */
    createIssue: (body) => ctl.post(`${base}/issues`, body),
    comment: (key, as, body) => ctl.post(`${base}/issues/${key}/comments`, { as, body }),
    editComment: (key, id, as, body) => ctl.put(`${base}/issues/${key}/comments/${id}`, { as, body }),
    transition: (key, as, to, extra = {}) => ctl.post(`${base}/issues/${key}/transitions`, { as, to, ...extra }),
    assign: (key, as, assignee) => ctl.post(`${base}/issues/${key}/assign`, { as, assignee }),
    webhooks: () => ctl.get(`${base}/webhooks`),
    addWebhook: (spec) => ctl.post(`${base}/webhooks`, spec),
    deleteWebhook: (id) => ctl.del(`${base}/webhooks/${id}`),
    /** Deliveries, oldest first; `q` e.g. {issue, event, state, body: true}. */
    deliveries: (q) => ctl.get(`${base}/deliveries${qs(q)}`),
    delivery: (id) => ctl.get(`${base}/deliveries/${id}`),
  };
}

/** X-Hub-Signature's value for `body` (a string or Buffer): sha256=<hex HMAC-SHA256(secret, body)>. */
export function hubSignature(secret, body) {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * POSTs a webhook body to `url` as Jira does. `secret` signs it (omit for an unsigned delivery; `signature`
 * overrides the header); `identifier` sets X-Atlassian-Webhook-Identifier. Returns {status, text}.
 */
export async function postWebhook(url, body, { secret, signature, identifier, headers = {} } = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const h = { 'Content-Type': 'application/json', 'User-Agent': 'Atlassian Webhook HTTP Client', ...headers };
  if (identifier) h['X-Atlassian-Webhook-Identifier'] = identifier;
  const sig = signature ?? (secret !== undefined ? hubSignature(secret, raw) : undefined);
  if (sig) h['X-Hub-Signature'] = sig;
  const r = await fetch(url, { method: 'POST', headers: h, body: raw });
  return { status: r.status, text: await r.text() };
}

/** A delivery's body as the raw JSON text to POST (the control API returns it parsed). */
export const rawBody = (d) => (typeof d.body === 'string' ? d.body : JSON.stringify(d.body));

/**
 * Runs `fn` while Jira's webhook to this stack's dutydesk is replaced by one to a closed port (same events and
 * secret), so the events `fn` causes are delivered nowhere; then restores the webhook. Returns those deliveries
 * (oldest first, each with `raw`, the body to POST), waited for until `count` of them exist.
 */
export async function captureDeliveries(stack, fn, { count = 1, events = JIRA_EVENTS } = {}) {
  const J = stack.jira;
  const live = (await J.webhooks()).filter((w) => w.url === stack.webhookUrl);
  for (const w of live) await J.deleteWebhook(w.id);
  let captured;
  try {
    const capture = await J.addWebhook({ name: 'capture', url: `http://127.0.0.1:${await freePort()}/jira/webhook`, events, secret: stack.webhookSecret });
    await fn();
    captured = await waitFor(`${count} captured deliveries`, async () => {
      const ds = (await J.deliveries({ webhook: capture.id, body: true })).filter((d) => d.body !== undefined);
      return ds.length >= count ? ds : null;
    }, { context: async () => JSON.stringify(await J.deliveries({ webhook: capture.id })) });
    await J.deleteWebhook(capture.id);
  } finally {
    await J.addWebhook({ name: 'dutydesk', url: stack.webhookUrl, events: JIRA_EVENTS, secret: stack.webhookSecret });
  }
  return captured.map((d) => ({ ...d, raw: rawBody(d) }));
}

/** The bot's "Jira: [KEY](url)" posts of a thread. */
export const jiraLinks = (thread) => thread.replies.filter(isJiraLink);
/** The issue key of a "Jira: [KEY](url)" post. */
export const jiraKeyOf = (m) => (m.msg ?? '').match(/^Jira: \[([A-Z][A-Z0-9]*-\d+)\]/)?.[1];

/** A seeded Rocket.Chat user's id and token (for REST calls as that user, e.g. chat.update). */
export function rcUser(username) {
  const u = JSON.parse(readFileSync(seed, 'utf8')).rocketchat.users.find((x) => x.username === username);
  if (!u) throw new Error(`no Rocket.Chat user ${username} in the seed`);
  return { id: u.id, token: u.tokens[0], name: u.name };
}

/** Edits `message` as `username` through Rocket.Chat's REST chat.update (what the web client's edit does). */
export async function editMessage(rocketchatUrl, username, message, text) {
  const u = rcUser(username);
  const r = await fetch(`${rocketchatUrl}/api/v1/chat.update`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-User-Id': u.id, 'X-Auth-Token': u.token },
    body: JSON.stringify({ roomId: message.rid, msgId: message._id, text }),
  });
  const json = await r.json();
  if (!r.ok || !json.success) throw new Error(`chat.update as ${username} -> ${r.status}: ${JSON.stringify(json)}`);
  return json.message;
}

/** Every logged product request of `system` (the simulator's request log, paged), oldest first. */
export async function simRequests(ctl, system) {
  const all = [];
  for (let since = 0; ;) {
    const { requests } = await ctl.get(`/requests?system=${system}&since=${since}&limit=1000`);
    all.push(...requests);
    if (requests.length < 1000) return all;
    since = requests.at(-1).seq;
  }
}

/**
 * Helpers for the Jira mirror tests of one stack (started with jiraWebhook: true): wait for a request's issue, and
 * sync points. `jiraSync(root)` has dave comment in Jira and waits for that comment's thread post: deliveries are
 * processed in arrival order, so every earlier delivery has been handled by then. `chatSync(root, key)` has alice
 * reply in the thread and waits for her comment on the issue: a request's outbox rows run in order, so every Jira
 * action the request queued before has been carried out by then.
 */
export function jiraHelpers(stack, h = chat(stack)) {
  const J = stack.jira, ctl = stack.ctl;
  let syncs = 0;
  const j = {
    J,
    jiraUrl: stack.urls[J.system],
    browse: (key) => `${stack.urls[J.system]}/browse/${key}`,
    permalink: (room, id) => `${stack.urls.rocketchat}/channel/${room}?msg=${id}`,
    /** The bot's "<Name> (Jira): <text>" posts (comments from Jira) of a thread. */
    jiraComments: (t) => t.replies.filter((m) => byBot(m) && / \(Jira\): /.test(m.msg ?? '')),
    /** Issues of `project` carrying the label of request `rootId`. */
    issuesOf: async (rootId, project = 'CICD') =>
      (await J.issues(project)).filter((i) => (i.labels ?? []).includes(`dutydesk-${rootId}`)),
    /** Waits for the thread's Jira link post; returns {key, link, thread}. */
    waitLink: async (rootId, opts = {}) => {
      const t = await h.waitThread('the thread\'s "Jira: [KEY](url)" post', rootId, (t) => jiraLinks(t).length >= 1,
        { timeout: 15000, ...opts });
      const link = jiraLinks(t)[0];
      return { key: jiraKeyOf(link), link, thread: t };
    },
    /** Waits until `pred(issue)` holds; returns the issue (control shape). */
    waitIssue: (what, key, pred, opts = {}) =>
      waitFor(what, async () => { const i = await J.issue(key); return pred(i) ? i : null; },
        { timeout: 15000, context: async () => `issue ${key}: ${JSON.stringify(await J.issue(key), null, 1)}\n--- dutydesk log (tail):\n${tail(stack.log(), 25)}`, ...opts }),
    jiraSync: async (rootId, key, opts = {}) => {
      const text = `sync ${process.pid} ${++syncs} from Jira`;
      const c = await J.comment(key, 'dave', text);
      await h.waitThread(`dave's Jira comment "${text}" in the thread`, rootId,
        (t) => t.replies.some((m) => byBot(m) && m.msg === `Dave Dunn (Jira): ${text}`), { timeout: 15000, ...opts });
      return c;
    },
    chatSync: async (rootId, key, room = 'cicd-support', opts = {}) => {
      const text = `sync ${process.pid} ${++syncs} from chat`;
      const m = await ctl.say('alice', room, text, rootId);
      await j.waitIssue(`alice's reply "${text}" as a comment on ${key}`, key,
        (i) => i.comments.some((c) => c.body === `Alice Adams (@alice) in Rocket.Chat: ${text}`), opts);
      return m;
    },
    isSync: (text) => /^(Dave Dunn \(Jira\): |Alice Adams \(@alice\) in Rocket\.Chat: )?sync \d+ \d+ from (Jira|chat)$/.test(text ?? ''),
  };
  return j;
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
    `\n--- dutydesk log lines naming ${rootId}:\n${tail(linesNaming(stack.log(), rootId), 30)}` +
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

// -- the Jira mirror suite, run once per flavour (jira_dc.test.mjs, jira_cloud.test.mjs) ------------------------------

/**
 * Registers the Jira mirror tests for `flavor` against one simulator + dutydesk (statuses mapped to To Do / In
 * Progress / Done, a webhook signed with its own secret). Every wait has a deadline; counts are checked after a
 * sync point (jiraHelpers) that proves the events in question were handled.
 */
export function jiraMirrorSuite(flavor, bin) {
  const skip = bin ? false : 'DUTYDESK_BIN is unset: run tests/e2e/run.sh <dutydesk-sim> <dutydesk> to run the Jira tests';
  const cloud = flavor === 'cloud';
  const CICD = 'cicd-support', DBA = 'dba-support';
  const secret = `e2e-${flavor}-secret`;
  let n = 0;
  const uniq = (text) => `${text} (e2e ${process.pid} ${++n})`;
  const statusNotes = (t) => t.replies.filter((m) => byBot(m) && /changed the status: /.test(m.msg ?? ''));
  const jiraStatusNotes = (t) => t.replies.filter((m) => byBot(m) && /changed the status in Jira /.test(m.msg ?? ''));
  const nonSync = (cs) => cs.filter((c) => !/sync \d+ \d+ from (Jira|chat)$/.test(c.body ?? ''));
  const users = JSON.parse(readFileSync(seed, 'utf8')).jira.users;
  const accountId = (name) => users.find((u) => u.name === name).account_id;

  nodeTest.describe(`the Jira mirror (${flavor}) against the simulator`, { skip }, () => {
    let stack, h, ctl, J, j;
    nodeTest.before(async () => {
      stack = await startStack({ bin, name: `jira-${flavor}`, flavor, webhookSecret: secret, jiraStatuses: true,
        jiraWebhook: true, remindCicd: '1h' });
      h = chat(stack);
      ctl = h.ctl;
      J = stack.jira;
      j = jiraHelpers(stack, h);
    });
    nodeTest.after(async () => { await stack?.stopAll(); });

    nodeTest.test('a new request becomes exactly one CICD issue: summary, description, labels, Service, remote link, assignee; one link post', async () => {
      const first = uniq('CI is red on main');
      const text = `${first}\nthe deploy job fails since 10:00 on every branch`;
      const { root, intro } = await h.ask('alice', CICD, text);
      assert.ok(mentions(intro, 'bob'), intro.msg);
      const { key, link } = await j.waitLink(root._id);
      assert.equal(link.msg, `Jira: [${key}](${j.browse(key)})`);
      assert.match(key, /^CICD-\d+$/);
      const permalink = j.permalink(CICD, root._id);
      const issue = await j.waitIssue(`${key} assigned to bob with its remote link`, key,
        (i) => i.assignee === 'bob' && i.remoteLinks.length >= 1);
      assert.equal(issue.project, 'CICD');
      assert.equal(issue.summary, first);
      assert.ok(issue.description.includes(text), `the description holds the full text:\n${issue.description}`);
      assert.ok(issue.description.includes('@alice'), `the description names the requester:\n${issue.description}`);
      assert.ok(issue.description.includes(permalink), `the description holds the permalink ${permalink}:\n${issue.description}`);
      assert.deepEqual([...issue.labels].sort(), ['dutydesk', `dutydesk-${root._id}`]);
      assert.equal(issue.customFields.customfield_10100?.value, 'pipeline');
      assert.equal(issue.reporter, 'dutybot');
      assert.equal(issue.status.name, 'To Do');
      assert.equal(issue.remoteLinks.length, 1, JSON.stringify(issue.remoteLinks));
      assert.equal(issue.remoteLinks[0].object.url, permalink);
      assert.equal(issue.remoteLinks[0].globalId, `dutydesk:request:${root._id}`);
      // The flavour's REST dialect: v2 with a wiki string (DC), v3 with ADF (Cloud).
      const creates = (await simRequests(ctl, J.system)).filter((r) => r.method === 'POST' && /^\/rest\/api\/[23]\/issue$/.test(r.target));
      assert.equal(creates.length, 1, creates.map((r) => r.target).join(', '));
      assert.equal(creates[0].target, cloud ? '/rest/api/3/issue' : '/rest/api/2/issue');
      assert.equal(typeof JSON.parse(creates[0].body).fields.description, cloud ? 'object' : 'string');
      await j.jiraSync(root._id, key);
      await j.chatSync(root._id, key);
      const t = await ctl.thread(root._id);
      assert.equal(jiraLinks(t).length, 1, formatThread(t));
      assert.equal((await j.issuesOf(root._id)).length, 1);
      // The bot's own writes (create, assign, remote link) come back as webhooks and are not posted.
      assert.deepEqual(botNotes(t).filter((m) => /Jira/.test(m.msg) && !isJiraLink(m) && !j.isSync(m.msg)).map((m) => m.msg), [], formatThread(t));
      assert.deepEqual(await ctl.roomMessages(CICD, true).then((ms) => ms.filter(byBot).map((m) => m.msg)), [],
        'no top-level bot post (the issue is not taken for a Jira-born one)');
    });

    nodeTest.test('thread replies become comments by the bot ("Name (@user) in Rocket.Chat: …"); bot posts and !dd commands do not; an edit updates the comment', async () => {
      const { root } = await h.ask('alice', CICD, uniq('artifact upload fails'));
      const { key } = await j.waitLink(root._id);
      const r1 = await ctl.say('bob', CICD, 'looking at it', root._id);
      const r2 = await ctl.say('alice', CICD, 'any news?', root._id);
      await ctl.say('bob', CICD, '!dd help', root._id);
      await h.waitBotReply('the help text', root._id, /Commands in a request thread/);
      await j.chatSync(root._id, key);
      let issue = await J.issue(key);
      const comments = nonSync(issue.comments);
      // Data Center comments are wiki markup, so the "?" is escaped there (it renders as typed).
      const q = cloud ? '?' : '\\?';
      assert.deepEqual(comments.map((c) => [c.author, c.body]), [
        ['dutybot', 'Bob Smith (@bob) in Rocket.Chat: looking at it'],
        ['dutybot', `Alice Adams (@alice) in Rocket.Chat: any news${q}`],
      ], JSON.stringify(issue.comments, null, 1));
      assert.deepEqual(comments.map((c) => c.properties?.dutydesk?.chatMessageId), [r1._id, r2._id]);
      if (cloud) assert.equal(comments[0].bodyAdf?.type, 'doc', 'Cloud comments are written as ADF');
      await editMessage(stack.urls.rocketchat, 'alice', r2, 'any news? the release is at 5 pm');
      issue = await j.waitIssue('the edited comment', key,
        (i) => i.comments.some((c) => c.body === `Alice Adams (@alice) in Rocket.Chat: any news${q} the release is at 5 pm`));
      const edited = nonSync(issue.comments);
      assert.deepEqual(edited.map((c) => c.id), comments.map((c) => c.id), 'the edit changed the comment, added none');
      assert.equal(edited[1].updateAuthor, 'dutybot');
      await j.jiraSync(root._id, key);
      const t = await ctl.thread(root._id);
      assert.deepEqual(j.jiraComments(t).filter((m) => !j.isSync(m.msg)).map((m) => m.msg), [],
        `the bot's comments (and their edit) are not posted back:\n${formatThread(t)}`);
      assert.equal(nonSync((await J.issue(key)).comments).length, 2);
    });

    nodeTest.test('a status button moves the issue to In Progress; !dd status done walks To Do → In Progress → Done with a resolution; nothing bounces back', async () => {
      const a = await h.ask('alice', CICD, uniq('deploy job stuck'));
      const { key: ka } = await j.waitLink(a.root._id);
      await ctl.click('bob', a.intro._id, 'In progress');
      const ia = await j.waitIssue(`${ka} In Progress`, ka, (i) => i.status.name === 'In Progress');
      assert.deepEqual(ia.transitions.map((x) => [x.by, x.from, x.to]), [['dutybot', 'To Do', 'In Progress']]);

      const b = await h.ask('carol', CICD, uniq('close this one right away'));
      const { key: kb } = await j.waitLink(b.root._id);
      await ctl.say('bob', CICD, '!dd status done', b.root._id);
      const ib = await j.waitIssue(`${kb} Done`, kb, (i) => i.status.name === 'Done');
      assert.deepEqual(ib.transitions.map((x) => [x.by, x.transitionId, x.from, x.to]),
        [['dutybot', '11', 'To Do', 'In Progress'], ['dutybot', '31', 'In Progress', 'Done']]);
      assert.equal(ib.resolution, 'Done');

      // The transitions' webhooks (the bot's own) are handled before the sync comments, and change nothing.
      await j.jiraSync(a.root._id, ka);
      await j.jiraSync(b.root._id, kb);
      await j.chatSync(a.root._id, ka);
      const ta = await ctl.thread(a.root._id), tb = await ctl.thread(b.root._id);
      assert.deepEqual(statusNotes(ta).map((m) => m.msg), ['@bob changed the status: Open → In progress.'], formatThread(ta));
      assert.deepEqual(statusNotes(tb).map((m) => m.msg), ['@bob changed the status: Open → Done.'], formatThread(tb));
      assert.equal(jiraStatusNotes(ta).length + jiraStatusNotes(tb).length, 0, `${formatThread(ta)}\n${formatThread(tb)}`);
      assert.deepEqual(botReactions(ta.root.reactions), [':hammer_and_wrench:']);
      assert.deepEqual(botReactions(tb.root.reactions), [':white_check_mark:']);
      assert.equal((await J.issue(ka)).transitions.length, 1);
      assert.equal((await J.issue(kb)).transitions.length, 2);
    });

    nodeTest.test('a Jira comment by carol appears once in the thread, although comment_created and issue_commented both arrive', async () => {
      const { root } = await h.ask('alice', CICD, uniq('runner out of disk'));
      const { key } = await j.waitLink(root._id);
      const c = await J.comment(key, 'carol', 'The runner pool is back, please retry.');
      await h.waitBotReply('carol\'s comment', root._id, /^Carol Chen \(Jira\): The runner pool is back, please retry\.$/);
      await j.jiraSync(root._id, key);
      const ds = (await J.deliveries({ issue: key })).filter((d) => d.event === 'comment_created' || d.issueEventTypeName === 'issue_commented');
      const forC = ds.filter((d) => d.state === 'delivered');
      assert.ok(forC.some((d) => d.event === 'comment_created') && forC.some((d) => d.issueEventTypeName === 'issue_commented'),
        `both deliveries reached dutydesk: ${JSON.stringify(ds.map((d) => [d.event, d.issueEventTypeName, d.state]))}`);
      const t = await ctl.thread(root._id);
      assert.deepEqual(j.jiraComments(t).filter((m) => !j.isSync(m.msg)).map((m) => m.msg),
        ['Carol Chen (Jira): The runner pool is back, please retry.'], formatThread(t));
      assert.ok(c.id, JSON.stringify(c));
      // Not mirrored back to Jira as a chat comment.
      assert.deepEqual(nonSync((await J.issue(key)).comments).map((x) => x.author), ['carol']);
    });

    nodeTest.test('transitions by carol in Jira change the chat status (an unmapped one is noted), and no transition is sent back', async () => {
      const { root } = await h.ask('alice', CICD, uniq('flaky test suite'));
      const { key } = await j.waitLink(root._id);
      await h.waitBotReactions(root._id, [':new:']);
      await J.transition(key, 'carol', 'In Progress');
      await h.waitBotReactions(root._id, [':hammer_and_wrench:']);
      await h.waitBotReply('the Jira status note', root._id, /changed the status in Jira/);
      await J.transition(key, 'carol', 'Waiting for customer');
      await h.waitBotReply('the unmapped status note', root._id, /Waiting for customer/);
      await J.transition(key, 'carol', 'Done');
      await h.waitBotReactions(root._id, [':white_check_mark:']);
      await j.chatSync(root._id, key);
      await j.jiraSync(root._id, key);
      const t = await ctl.thread(root._id);
      assert.deepEqual(jiraStatusNotes(t).map((m) => m.msg), [
        `Carol Chen changed the status in Jira (${key}): Open → In progress.`,
        `Carol Chen changed the status in Jira (${key}): In progress → Done.`,
      ], formatThread(t));
      assert.deepEqual(botNotes(t).filter((m) => /moved to "/.test(m.msg)).map((m) => m.msg),
        [`${key} moved to "Waiting for customer" in Jira; no chat status maps to it, so the status here stays.`]);
      assert.equal(statusNotes(t).length, 0, formatThread(t));
      assert.deepEqual(botReactions(t.root.reactions), [':white_check_mark:']);
      const issue = await J.issue(key);
      assert.deepEqual(issue.transitions.map((x) => [x.by, x.to]),
        [['carol', 'In Progress'], ['carol', 'Waiting for customer'], ['carol', 'Done']]);
      assert.equal(issue.status.name, 'Done');
    });

    nodeTest.test(`an assignee change in Jira is noted; !dd assign @alice assigns the issue to alice (${cloud ? 'by accountId' : 'by name'})`, async () => {
      const { root } = await h.ask('carol', CICD, uniq('needs another pair of eyes'));
      const { key } = await j.waitLink(root._id);
      await j.waitIssue(`${key} assigned to bob`, key, (i) => i.assignee === 'bob');
      await J.assign(key, 'carol', 'dave');
      await h.waitBotReply('the assignee note', root._id, new RegExp(`^${key} was assigned to Dave Dunn in Jira\\.$`));
      await ctl.say('bob', CICD, '!dd assign @alice', root._id);
      await j.waitIssue(`${key} assigned to alice`, key, (i) => i.assignee === 'alice');
      const puts = (await simRequests(ctl, J.system)).filter((r) => r.method === 'PUT' && r.target.endsWith(`/issue/${key}/assignee`));
      assert.deepEqual(puts.map((r) => [r.target, JSON.parse(r.body)]), cloud
        ? [[`/rest/api/3/issue/${key}/assignee`, { accountId: accountId('bob') }], [`/rest/api/3/issue/${key}/assignee`, { accountId: accountId('alice') }]]
        : [[`/rest/api/2/issue/${key}/assignee`, { name: 'bob' }], [`/rest/api/2/issue/${key}/assignee`, { name: 'alice' }]]);
      await j.jiraSync(root._id, key);
      const t = await ctl.thread(root._id);
      assert.deepEqual(botNotes(t).filter((m) => /assigned to .* in Jira|unassigned in Jira/.test(m.msg)).map((m) => m.msg),
        [`${key} was assigned to Dave Dunn in Jira.`], `the bot's own assignments are not noted:\n${formatThread(t)}`);
      assert.equal((await J.issue(key)).assignee, 'alice');
    });

    nodeTest.test('an issue created in Jira by carol becomes a request in the channel its Service maps to (pipeline → #cicd-support, postgres → #dba-support)', async () => {
      const before = (await J.issues()).length;
      const s1 = uniq('Nightly build broken');
      const i1 = await J.createIssue({ as: 'carol', project: 'CICD', summary: s1, description: 'since Tuesday night',
        fields: { customfield_10100: { value: 'pipeline' } } });
      const s2 = uniq('Replica lag on db 3');
      const i2 = await J.createIssue({ as: 'carol', project: 'CICD', summary: s2,
        fields: { customfield_10100: { value: 'postgres' } } });
      const cases = [[i1, s1, CICD, 'bob'], [i2, s2, DBA, 'carol']];
      for (const [issue, summary, room, onDuty] of cases) {
        const post = await waitFor(`the top-level post of ${issue.key} in #${room}`, async () =>
          (await ctl.roomMessages(room, true)).find((m) => byBot(m) && (m.msg ?? '').startsWith(`${issue.key} from`)),
        { timeout: 15000, context: async () => `#${room}: ${JSON.stringify((await ctl.roomMessages(room, true)).map((m) => m.msg))}\n${tail(stack.log(), 25)}` });
        assert.equal(post.msg, `${issue.key} from Carol Chen via Jira: ${summary}\n${j.browse(issue.key)}`);
        assert.equal(post.tmid, undefined);
        const t = await h.waitThread(`the intro of ${issue.key}`, post._id, (t) => intros(t).length >= 1);
        assert.ok(mentions(intros(t)[0], onDuty), `the on-duty of #${room} is tagged: ${intros(t)[0].msg}`);
        await h.waitBotReactions(post._id, [':new:']);
        await j.waitIssue(`${issue.key} assigned to ${onDuty}`, issue.key, (i) => i.assignee === onDuty);
        const said = `I see it too ${++n}`;
        const reply = await ctl.say('alice', room, said, post._id);
        const withComment = await j.waitIssue(`alice's reply as a comment on ${issue.key}`, issue.key,
          (i) => i.comments.some((c) => c.body === `Alice Adams (@alice) in Rocket.Chat: ${said}`));
        assert.equal(withComment.comments.length, 1, JSON.stringify(withComment.comments));
        assert.equal(withComment.comments[0].properties?.dutydesk?.chatMessageId, reply._id);
        await j.jiraSync(post._id, issue.key);
        const t2 = await ctl.thread(post._id);
        assert.equal(intros(t2).length, 1, formatThread(t2));
        assert.deepEqual(jiraLinks(t2).map((m) => m.msg), [`Jira: [${issue.key}](${j.browse(issue.key)})`], formatThread(t2));
        assert.equal((await ctl.roomMessages(room, true)).filter((m) => byBot(m) && (m.msg ?? '').startsWith(`${issue.key} from`)).length, 1);
      }
      const after = await J.issues();
      assert.equal(after.length, before + 2, `no issue was created for the Jira-born requests: ${after.map((i) => i.key).join(', ')}`);
    });

    nodeTest.test('the issue of a Jira-born request gets the remote link back to its chat thread, like a chat-born one', async () => {
      const summary = uniq('Pipeline cache corrupted');
      const issue = await J.createIssue({ as: 'carol', project: 'CICD', summary, fields: { customfield_10100: { value: 'pipeline' } } });
      const post = await waitFor(`the top-level post of ${issue.key}`, async () =>
        (await ctl.roomMessages(CICD, true)).find((m) => byBot(m) && (m.msg ?? '').startsWith(`${issue.key} from`)), { timeout: 15000 });
      await h.waitThread(`the intro of ${issue.key}`, post._id, (t) => intros(t).length >= 1);
      // The assignment is queued after the link; once it is done, so is the link.
      await j.waitIssue(`${issue.key} assigned to bob`, issue.key, (i) => i.assignee === 'bob');
      await j.chatSync(post._id, issue.key);
      const i = await J.issue(issue.key);
      assert.deepEqual(i.remoteLinks.map((l) => [l.globalId, l.object?.url]),
        [[`dutydesk:request:${post._id}`, j.permalink(CICD, post._id)]], `remote links of ${issue.key}: ${JSON.stringify(i.remoteLinks)}`);
    });

    nodeTest.test('webhook security: unsigned and wrongly signed deliveries get 401 and change nothing; a replayed delivery gets 200 and posts nothing twice', async () => {
      const { root } = await h.ask('alice', CICD, uniq('who may talk to me'));
      const { key } = await j.waitLink(root._id);
      // A delivery dutydesk has not seen: carol comments while Jira's webhook points at a closed port.
      const [captured] = await captureDeliveries(stack, () => J.comment(key, 'carol', 'Only a signed delivery may say this.'),
        { events: ['comment_created'] });
      const body = captured.raw;
      assert.equal(typeof body, 'string');
      const id = randomUUID();
      const unsigned = await postWebhook(stack.webhookUrl, body, { identifier: id });
      assert.equal(unsigned.status, 401, unsigned.text);
      const wrong = await postWebhook(stack.webhookUrl, body, { identifier: id, secret: 'not-the-secret' });
      assert.equal(wrong.status, 401, wrong.text);
      const garbled = await postWebhook(stack.webhookUrl, body, { identifier: id, signature: 'sha256=zz' });
      assert.equal(garbled.status, 401, garbled.text);
      const tampered = await postWebhook(stack.webhookUrl, body.replace('Only a signed', 'Any'), { identifier: id, signature: hubSignature(secret, body) });
      assert.equal(tampered.status, 401, tampered.text);
      await j.jiraSync(root._id, key);
      let t = await ctl.thread(root._id);
      assert.deepEqual(j.jiraComments(t).filter((m) => !j.isSync(m.msg)).map((m) => m.msg), [], `a refused delivery was posted:\n${formatThread(t)}`);
      const ok = await postWebhook(stack.webhookUrl, body, { identifier: id, secret });
      assert.equal(ok.status, 200, ok.text);
      await h.waitBotReply('carol\'s signed comment', root._id, /^Carol Chen \(Jira\): Only a signed delivery may say this\.$/);
      // Replays: the same delivery again, and a genuine earlier one (dave's sync comment) with its identifier.
      const again = await postWebhook(stack.webhookUrl, body, { identifier: id, secret });
      assert.equal(again.status, 200, again.text);
      const genuine = (await J.deliveries({ issue: key, body: true })).filter((x) => x.event === 'comment_created' && x.state === 'delivered');
      assert.ok(genuine.length >= 1);
      for (const g of genuine) {
        const r = await postWebhook(stack.webhookUrl, rawBody(g), { identifier: g.identifier, secret });
        assert.equal(r.status, 200, r.text);
      }
      await j.jiraSync(root._id, key);
      t = await ctl.thread(root._id);
      const posts = j.jiraComments(t).map((m) => m.msg);
      assert.equal(posts.filter((m) => m === 'Carol Chen (Jira): Only a signed delivery may say this.').length, 1, formatThread(t));
      for (const m of new Set(posts)) assert.equal(posts.filter((x) => x === m).length, 1, `posted twice: ${m}\n${formatThread(t)}`);
    });
  });
}
