#!/usr/bin/env node
// The chaos run (issue 6): `dutydesk serve` against the simulator (Rocket.Chat, Jira Data Center, OnCall), a real
// PostgreSQL 15 (scripts/pg_server.sh) and a real nats-server with JetStream, all on 127.0.0.1. It drives N requests
// from many users across both configured channels (replies, button clicks, `!dd status` commands, refused outsiders,
// moves, Jira-side comments and transitions, issues created in Jira) while a seeded PRNG injects faults at random
// moments: websocket drops, Rocket.Chat 429/5xx, Jira 429/5xx at 20 % for periods, OnCall errors, NATS stopped and
// started, PostgreSQL restarted and killed, and dutydesk itself killed -9 and restarted. Then it waits (bounded) for
// quiescence and checks, from the simulator's records and the JetStream stream, that nothing was lost or duplicated
// (see RELIABILITY.md for the list of checks). Exit 0 when clean, 1 on any loss, duplicate or wrong state, 2 on a
// setup failure.
//
//   node tests/chaos/chaos.mjs --sim PATH --dutydesk PATH [--requests N] [--kills K] [--seed S] [--keep]
//        [--duration SECONDS] [--concurrency C] [--remind DURATION] [--settle SECONDS]
//
// --duration is the driving window (default: 30 s + 1.2 s per request); every request starts in it, every fault is
// injected in it. --keep keeps the temp dir (dutydesk.log, config, nats store, the PostgreSQL data). Every process it
// starts is stopped by PID, also on failure and on SIGINT/SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../e2e/package.json'));
const { connect: natsConnect, StringCodec } = require('nats');

// -- arguments ------------------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { requests: 30, kills: 3, seed: undefined, keep: false, concurrency: 40, remind: 20, settle: undefined };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--sim') o.sim = val();
    else if (a === '--dutydesk') o.dutydesk = val();
    else if (a === '--requests') o.requests = Number(val());
    else if (a === '--kills') o.kills = Number(val());
    else if (a === '--seed') o.seed = Number(val());
    else if (a === '--duration') o.duration = Number(val());
    else if (a === '--concurrency') o.concurrency = Number(val());
    else if (a === '--remind') o.remind = Number(val());
    else if (a === '--settle') o.settle = Number(val());
    else if (a === '--keep') o.keep = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!o.sim || !o.dutydesk) usage('--sim and --dutydesk are required');
  for (const k of ['requests', 'kills', 'concurrency', 'remind']) {
    if (!Number.isInteger(o[k]) || o[k] < 0) usage(`--${k} must be a whole number`);
  }
  if (o.requests < 1) usage('--requests must be at least 1');
  o.seed ??= Date.now() % 2147483647;
  o.duration ??= Math.round(30 + 1.2 * o.requests);
  o.settle ??= Math.max(90, Math.min(900, Math.round(o.duration / 2)));
  return o;
}

function usage(msg) {
  if (msg) console.error(`chaos: ${msg}`);
  console.error('usage: node tests/chaos/chaos.mjs --sim PATH --dutydesk PATH [--requests N] [--kills K] [--seed S] [--keep]\n' +
    '       [--duration SECONDS] [--concurrency C] [--remind SECONDS] [--settle SECONDS]');
  process.exit(2);
}

const opt = parseArgs(process.argv.slice(2));
// lib.mjs takes the simulator's path from DUTYDESK_SIM when it is imported, hence the late import.
process.env.DUTYDESK_SIM = path.resolve(opt.sim);
const ddBinary = path.resolve(opt.dutydesk);
const {
  BOT, JIRA_BOT, JIRA_EVENTS, startSim, startDutydesk, control, jiraControl, freePort, stop, sleep, waitFor,
  waitRealtimeSubs, byBot, buttonsOf, isReminder, isJiraLink, jiraKeyOf, botReactions, tail, root: repoRoot,
} = await import('../e2e/lib.mjs');

// -- seeded randomness ------------------------------------------------------------------------------------------------

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (r, xs) => xs[Math.floor(r() * xs.length)];
const between = (r, lo, hi) => lo + r() * (hi - lo);
function shuffle(r, xs) {
  for (let i = xs.length - 1; i > 0; --i) { const j = Math.floor(r() * (i + 1)); [xs[i], xs[j]] = [xs[j], xs[i]]; }
  return xs;
}

// -- the world ------------------------------------------------------------------------------------------------------

const STREAM = 'DUTYDESK_CHAOS';
const SECRET = 'chaos-webhook-secret';
const JIRA_NAMES = { carol: 'Carol Chen', dave: 'Dave Dunn', alice: 'Alice Adams', bob: 'Bob Smith' };
const STATUSES = [
  { id: 'open', label: 'Open', emoji: ':new:', jira: 'To Do' },
  { id: 'in_progress', label: 'In progress', emoji: ':hammer_and_wrench:', jira: 'In Progress' },
  { id: 'done', label: 'Done', emoji: ':white_check_mark:', jira: 'Done', final: true },
];
const statusById = Object.fromEntries(STATUSES.map((s) => [s.id, s]));
const statusByJira = Object.fromEntries(STATUSES.map((s) => [s.jira, s]));
// The simulator's workflow (sim/seed/demo.json): the transitions the bridge walks, and the ones Jira users take here.
const WORKFLOW = [['To Do', 'In Progress'], ['In Progress', 'Waiting for customer'], ['In Progress', 'Done'],
  ['Waiting for customer', 'Done'], ['Waiting for customer', 'In Progress'], ['Done', 'To Do']];
const JIRA_MOVES = { 'To Do': 'In Progress', 'In Progress': 'Done', Done: 'To Do' };
/** The shortest walk of statuses from `a` to `b` over the workflow (what the bridge transitions through). */
function walk(a, b) {
  if (a === b) return [];
  const prev = new Map([[a, null]]);
  const q = [a];
  while (q.length) {
    const s = q.shift();
    for (const [f, t] of WORKFLOW) {
      if (f !== s || prev.has(t)) continue;
      prev.set(t, s);
      if (t === b) {
        const out = [];
        for (let x = b; x !== a; x = prev.get(x)) out.unshift([prev.get(x), x]);
        return out;
      }
      q.push(t);
    }
  }
  return null;
}

const CHANNELS = [
  { room: 'cicd-support', id: 'CicdSupp0rtRoom01', team: 'cicd', project: 'CICD', service: 'pipeline',
    members: ['alice', 'bob', 'dave'], schedule: 'SCHEDCICD', fallback: ['dave'], remind: 3600 },
  { room: 'dba-support', id: 'DbaSupp0rtRoom002', team: 'dba', project: 'DBA', service: 'postgres',
    members: ['carol', 'eve', 'bob'], schedule: 'SCHEDDBA', fallback: ['eve'], remind: opt.remind },
];
const channelByRoom = Object.fromEntries(CHANNELS.map((c) => [c.room, c]));
const EXTRA_USERS = Array.from({ length: 24 }, (_, i) => `user${String(i + 1).padStart(2, '0')}`);
const displayName = (u) => JIRA_NAMES[u] ?? ({ eve: 'Eve Evans' })[u] ?? `Chaos ${u}`;

function configYaml({ urls, pgUrl, natsUrl, httpPort, metricsPort }) {
  return `# written by tests/chaos/chaos.mjs
rocketchat:
  url: ${urls.rocketchat}
  user_id: B0tB0tB0tB0tB0tB0
  auth_token: dutydesk-pat-0000000000000000000000000000
jira:
  url: ${urls['jira-dc']}
  flavor: datacenter
  auth:
    token: ${JIRA_BOT.token}
  webhook_secret: ${SECRET}
  service_field: customfield_10100
  poll_interval: 30s
oncall:
  url: ${urls.oncall}
  token: oncall-token-000000000000000000
storage:
  url: ${pgUrl}
http:
  listen: 127.0.0.1:${httpPort}
metrics:
  listen: 127.0.0.1:${metricsPort}
events:
  nats_url: ${natsUrl}
  stream: ${STREAM}
statuses:
${STATUSES.map((s) => `  - id: ${s.id}\n    label: ${s.label}\n    emoji: "${s.emoji}"\n    jira_status: ${s.jira}\n${s.final ? '    final: true\n' : ''}`).join('')}channels:
${CHANNELS.map((c) => `  - room: ${c.room}
    team: ${c.team}
    members: [${c.members.join(', ')}]
    jira:
      project: ${c.project}
    services: [${c.service}]
    oncall:
      schedule_id: ${c.schedule}
      fallback: [${c.fallback.join(', ')}]
    remind_after: ${c.remind}s
`).join('')}`;
}

// -- processes ------------------------------------------------------------------------------------------------------

const log = (...xs) => console.log('chaos:', ...xs);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
const pgScript = path.join(repoRoot, 'scripts/pg_server.sh');
const W = {}; // the run's world: dir, sim, ctl, J, urls, pg, nats, dd, ...

function pg(cmd) {
  const r = spawnSync('bash', [pgScript, cmd, W.pgDir], { encoding: 'utf8' });
  if (r.status !== 0 && cmd !== 'status') throw new Error(`pg_server.sh ${cmd}: ${r.stderr || r.error}`);
  return r;
}

function psql(sql) {
  const r = spawnSync('psql', [W.pgUrl, '-v', 'ON_ERROR_STOP=1', '-Atqc', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

function startNats() {
  const proc = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(W.natsPort), '-sd', W.natsDir],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${out}`)), 15000);
    const on = (d) => { out += d; if (/Server is ready/.test(out)) { clearTimeout(timer); resolve(); } };
    proc.stdout.on('data', on);
    proc.stderr.on('data', on);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`nats-server exited (${code}):\n${out}`)); });
  });
  ready.catch(() => {});
  W.nats = proc;
  return ready;
}

let cleaned = false;
function cleanupSync() {
  if (cleaned) return;
  cleaned = true;
  for (const p of [W.dd?.proc, W.nats, W.sim?.proc]) {
    if (p && p.exitCode === null && p.signalCode === null) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
  }
  if (W.pgDir) spawnSync('bash', [pgScript, opt.keep ? 'stop' : 'destroy', W.pgDir], { stdio: 'ignore' });
  if (W.dir && !opt.keep) rmSync(W.dir, { recursive: true, force: true });
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.prependListener(sig, () => { cleanupSync(); process.exit(2); });
}

async function startDd() {
  W.dd = startDutydesk(ddBinary, W.configPath, W.logPath, { timeout: 30000 });
  await W.dd.ready;
  await waitRealtimeSubs(W.ctl, () => tail(readLog(), 20), ['CicdSupp0rtRoom01', 'DbaSupp0rtRoom002'], 30000);
}
const readLog = () => { try { return readFileSync(W.logPath, 'utf8'); } catch { return ''; } };

/** Starts dutydesk again until it is ready (it exits 5 when the database refuses it at start). */
async function restartDd() {
  for (let attempt = 1; ; ++attempt) {
    try {
      await startDd();
      return;
    } catch (e) {
      await stop(W.dd?.proc, 'SIGKILL');
      if (attempt >= 10) throw e;
      log(`${elapsed()} dutydesk did not come up (attempt ${attempt}): ${e.message.split('\n')[0]}`);
      await sleep(2000);
    }
  }
}

async function setup() {
  W.dir = mkdtempSync(path.join(tmpdir(), 'dutydesk-chaos-'));
  W.pgDir = path.join(W.dir, 'pg');
  W.natsDir = path.join(W.dir, 'nats');
  W.logPath = path.join(W.dir, 'dutydesk.log');
  W.configPath = path.join(W.dir, 'dutydesk.yaml');
  log(`seed ${opt.seed}, requests ${opt.requests}, kills ${opt.kills}, driving ${opt.duration} s, dir ${W.dir}`);
  const base = pg('start').stdout.trim();
  W.pgBase = base;
  const u = new URL(base);
  u.pathname = '/chaos';
  W.pgUrl = base;
  psql('CREATE DATABASE chaos');
  W.pgUrl = u.toString();
  W.natsPort = await freePort();
  W.natsUrl = `nats://127.0.0.1:${W.natsPort}`;
  await startNats();
  W.sim = startSim(['--random-seed', String(opt.seed)]);
  W.urls = await W.sim.ready;
  W.ctl = control(W.urls.control);
  W.J = jiraControl(W.ctl, 'datacenter');
  W.httpPort = await freePort();
  W.metricsPort = await freePort();
  writeFileSync(W.configPath, configYaml({ urls: W.urls, pgUrl: W.pgUrl, natsUrl: W.natsUrl, httpPort: W.httpPort, metricsPort: W.metricsPort }));
  for (const w of await W.J.webhooks()) await W.J.deleteWebhook(w.id);
  await W.J.addWebhook({ name: 'dutydesk-chaos', url: `http://127.0.0.1:${W.httpPort}/jira/webhook`, events: JIRA_EVENTS, secret: SECRET });
  for (const name of EXTRA_USERS) {
    await W.ctl.post('/rocketchat/users', { username: name, name: displayName(name), email: `${name}@example.com` });
    for (const c of CHANNELS) await W.ctl.post(`/rocketchat/rooms/${c.id}/members`, { username: name, system_message: false });
  }
  await startDd();
  log(`${elapsed()} up at ${new Date().toISOString()}: simulator ${W.urls.control}, PostgreSQL ${W.pgBase}, NATS ${W.natsUrl}, dutydesk http ${W.httpPort}`);
}

// -- faults ---------------------------------------------------------------------------------------------------------

const FAULT_KINDS = ['ws_drop', 'rc_errors', 'jira_errors', 'oncall_errors', 'nats_stop', 'pg_restart', 'pg_kill'];
const faultCount = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
let kills = 0;
const outages = []; // [{what, from, to}] times dutydesk could not work (down, or its database down)
let faultsDone = false;

/** The fault schedule: every kind at least once, more in longer runs, K kills; times uniform over the window. */
function schedule(r) {
  const window = opt.duration * 1000;
  const xs = [];
  const per = Math.max(1, Math.round(opt.duration / 150));
  for (const kind of FAULT_KINDS) {
    const n = kind === 'ws_drop' || kind.endsWith('_errors') ? per * 2 : per;
    for (let i = 0; i < n; ++i) xs.push({ kind, at: between(r, 0.05, 0.9) * window });
  }
  for (let i = 0; i < opt.kills; ++i) xs.push({ kind: 'dd_kill', at: between(r, 0.05, 0.95) * window });
  return xs.sort((a, b) => a.at - b.at);
}

async function inject(f, r) {
  const ctl = W.ctl;
  switch (f.kind) {
    case 'ws_drop':
      await ctl.drop();
      return;
    case 'rc_errors':
      await ctl.faults({ system: 'rocketchat', rate_429: 0.1, rate_5xx: 0.1, retry_after_s: 1, for_ms: Math.round(between(r, 3000, 10000)) });
      return;
    case 'jira_errors':
      await ctl.faults({ system: 'jira-dc', rate_429: 0.1, rate_5xx: 0.1, retry_after_s: 1, for_ms: Math.round(between(r, 5000, 15000)) });
      return;
    case 'oncall_errors':
      // Calls to OnCall are rare (the duty actor caches for 60 s): a throttle hits the next ones whenever they come.
      await ctl.faults({ system: 'oncall', rate_5xx: 0.5, for_ms: Math.round(between(r, 5000, 15000)) });
      await ctl.post('/oncall/throttle', { count: 2, reset_seconds: 1 });
      return;
    case 'nats_stop': {
      await stop(W.nats);
      const d = between(r, 2000, 8000);
      await sleep(d);
      await startNats();
      return;
    }
    case 'pg_restart': {
      const from = Date.now();
      pg('restart');
      outages.push({ what: 'pg_restart', from, to: Date.now() });
      return;
    }
    case 'pg_kill': {
      const from = Date.now();
      pg('kill');
      await sleep(between(r, 500, 3000));
      pg('start');
      outages.push({ what: 'pg_kill', from, to: Date.now() });
      return;
    }
    case 'dd_kill': {
      const from = Date.now();
      await stop(W.dd?.proc, 'SIGKILL');
      ++kills;
      await sleep(between(r, 200, 2500));
      await restartDd();
      outages.push({ what: 'dd_kill', from, to: Date.now() });
      return;
    }
    default:
      throw new Error(`unknown fault ${f.kind}`);
  }
}

/** Runs the schedule: rate faults at once, NATS in its own lane, process faults (kills, database) one at a time. */
async function runFaults(r) {
  const plan = schedule(r);
  const lanes = { proc: Promise.resolve(), nats: Promise.resolve() };
  const laneOf = (k) => (k === 'dd_kill' || k.startsWith('pg_') ? 'proc' : k === 'nats_stop' ? 'nats' : null);
  const all = [];
  for (const f of plan) {
    const wait = t0Drive + f.at - Date.now();
    if (wait > 0) await sleep(wait);
    const seed = Math.floor(r() * 2 ** 31);
    const lane = laneOf(f.kind);
    const run = async () => {
      log(`${elapsed()} fault ${f.kind}${f.kind === 'dd_kill' ? ` ${kills + 1}/${opt.kills}` : ''}`);
      await inject(f, prng(seed));
      if (f.kind !== 'dd_kill') ++faultCount[f.kind];
    };
    if (lane) { lanes[lane] = lanes[lane].then(run); all.push(lanes[lane]); } else all.push(run());
  }
  await Promise.all(all);
  await W.ctl.clearFaults();
  faultsDone = true;
}

// -- the requests -----------------------------------------------------------------------------------------------------

const requests = []; // one chain per driven chat message: [{thread...}] (more than one when moved)
const jiraBorn = [];
let t0Drive = 0;
let started = 0, finished = 0, stuck = 0;

const POLL = { interval: 1000 };
const STEP_TIMEOUT = 90000;

async function thread(id) { return W.ctl.thread(id); }
const introsOf = (t) => t.replies.filter((m) => byBot(m) && buttonsOf(m).length > 0 && !isReminder(m));
const statusNotesOf = (t) => t.replies.filter((m) => byBot(m) && / changed the status(:| in Jira \()/.test(m.msg ?? ''));

/** Waits with a bound; returns the value or null (the checks at the end decide whether anything was lost). */
async function soft(what, probe, timeout = STEP_TIMEOUT) {
  // Every wait ends by the drive deadline (the driving window + 2 min), so a lost effect cannot stretch the run.
  timeout = Math.max(0, Math.min(timeout, t0Drive + opt.duration * 1000 + 120000 - Date.now()));
  try {
    return await waitFor(what, probe, { timeout, ...POLL });
  } catch {
    ++stuck;
    log(`${elapsed()} waited ${timeout / 1000} s in vain for ${what}`);
    return null;
  }
}

/** One chat message's life as a script; `r` is its own PRNG so that the plan depends only on the seed. */
async function drive(i, r) {
  const ch = r() < 0.55 ? CHANNELS[0] : CHANNELS[1];
  const requester = pick(r, EXTRA_USERS);
  const text = `chaos ${opt.seed} request ${i} from ${requester}`;
  const t = { room: ch.room, requester, text, notes: [], replies: [], jiraComments: [], status: 'open' };
  const chain = { i, threads: [t], moved: false, jira: 'To Do', key: null, transitions: [] };
  requests.push(chain);
  const m = await W.ctl.say(requester, ch.room, text);
  t.id = m._id;
  const intro = async (th) => {
    const x = await soft(`the intro of ${th.id}`, async () => introsOf(await thread(th.id))[0]);
    th.intro = x?._id;
  };
  const link = async () => {
    if (chain.key) return chain.key;
    const x = await soft(`the Jira link of ${t.id}`, async () => jiraKeyOf((await thread(t.id)).replies.find(isJiraLink) ?? {}));
    chain.key = x;
    return x;
  };
  await intro(t);
  const others = EXTRA_USERS.filter((u) => u !== requester);
  const plan = [];
  for (let k = Math.floor(r() * 4); k > 0; --k) plan.push('reply');
  for (let k = r() < 0.4 ? 1 + Math.floor(r() * 2) : 0; k > 0; --k) plan.push('jira_comment');
  for (let k = Math.floor(r() * 3); k > 0; --k) plan.push('status');
  if (r() < 0.1) plan.push('outsider');
  shuffle(r, plan);
  if (r() < 0.12) plan.push('move', 'reply');
  if (r() < 0.75) plan.push('close');
  let n = 0;
  for (const step of plan) {
    await sleep(between(r, 200, 1500));
    const cur = chain.threads.at(-1);
    const chNow = channelByRoom[cur.room];
    if (step === 'reply') {
      const who = pick(r, [cur.requester, pick(r, chNow.members), pick(r, others)]);
      const body = `reply ${++n} to request ${i} by ${who}`;
      const x = await W.ctl.say(who, cur.room, body, cur.id);
      cur.replies.push({ id: x._id, by: who, at: Date.parse(x.ts) });
    } else if (step === 'jira_comment') {
      if (!(await link())) continue;
      const who = pick(r, ['carol', 'dave']);
      const body = `jira comment ${++n} on request ${i} by ${who}`;
      const c = await W.J.comment(chain.key, who, body);
      cur.jiraComments.push({ id: String(c.id), post: `${JIRA_NAMES[who]} (Jira): ${body}` });
    } else if (step === 'outsider') {
      const who = pick(r, others);
      const x = await W.ctl.say(who, cur.room, '!dd status done', cur.id);
      cur.refused = (cur.refused ?? []).concat(x._id);
    } else if (step === 'status' || step === 'close') {
      // Jira-side only while both sides agree (a moved request starts at Open whatever its issue's status is).
      const agree = statusById[cur.status].jira === chain.jira;
      const fromJira = agree && (step === 'status' ? r() < 0.35 : cur.status === 'in_progress' && r() < 0.5);
      let target;
      if (fromJira) {
        if (!(await link())) continue;
        const to = JIRA_MOVES[chain.jira];
        target = statusByJira[to];
        if (target.id === cur.status) continue;
        const who = pick(r, ['carol', 'dave']);
        await W.J.transition(chain.key, who, to);
        cur.notes.push(`${JIRA_NAMES[who]} changed the status in Jira (${chain.key}): ${statusById[cur.status].label} → ${target.label}.`);
        chain.transitions.push([who, chain.jira, to]);
        chain.jira = to;
      } else {
        target = step === 'close' ? statusById.done : pick(r, STATUSES.filter((s) => s.id !== cur.status));
        if (target.id === cur.status) continue;
        const who = target.final && r() < 0.3 ? cur.requester : pick(r, chNow.members);
        if (cur.intro && r() < 0.6) await W.ctl.click(who, cur.intro, target.label);
        else await W.ctl.say(who, cur.room, `!dd status ${target.id}`, cur.id);
        cur.notes.push(`@${who} changed the status: ${statusById[cur.status].label} → ${target.label}.`);
        // The bridge walks from the issue's status to the target's (one segment; see the transitions check).
        if (chain.jira !== target.jira) chain.transitions.push(['dutybot', chain.jira, target.jira]);
        chain.jira = target.jira;
      }
      cur.status = target.id;
      const want = cur.notes.length;
      await soft(`status ${target.id} of ${cur.id} on both sides`, async () => {
        const th = await thread(cur.id);
        if (statusNotesOf(th).length < want) return false;
        if (JSON.stringify(botReactions(th.root.reactions)) !== JSON.stringify([target.emoji])) return false;
        const key = chain.key ?? jiraKeyOf(th.replies.find(isJiraLink) ?? {});
        if (!key) return false;
        return (await W.J.issue(key)).status.name === chain.jira;
      });
    } else if (step === 'move') {
      if (cur.status === 'done' || chain.moved || !(await link())) continue;
      const to = CHANNELS.find((c) => c.room !== cur.room);
      const who = pick(r, chNow.members);
      const cmd = await W.ctl.say(who, cur.room, `!dd move #${to.room}`, cur.id);
      chain.moved = true;
      cur.movedBy = who;
      cur.moveCommand = cmd._id;
      const permalink = `${W.urls.rocketchat}/channel/${cur.room}?msg=${cur.id}`;
      const repost = await soft(`the repost of ${cur.id} in #${to.room}`, async () =>
        (await W.ctl.roomMessages(to.room, true)).find((x) => byBot(x) && (x.msg ?? '').startsWith(`[ ](${permalink})`)));
      if (!repost) break;
      const nt = { room: to.room, requester: cur.requester, text: repost.msg, id: repost._id, notes: [], replies: [], jiraComments: [], status: 'open', repost: true };
      chain.threads.push(nt);
      await intro(nt);
    }
  }
}

/** An issue created in Jira by carol: it must become one request in the channel its Service names. */
async function driveJiraBorn(i, r) {
  const ch = pick(r, CHANNELS);
  const summary = `chaos ${opt.seed} jira-born ${i}`;
  const issue = await W.J.createIssue({ as: 'carol', project: 'CICD', summary, fields: { customfield_10100: { value: ch.service } } });
  const jb = { key: issue.key, room: ch.room, summary, replies: [] };
  jiraBorn.push(jb);
  const post = await soft(`the post of ${issue.key} in #${ch.room}`, async () =>
    (await W.ctl.roomMessages(ch.room, true)).find((m) => byBot(m) && (m.msg ?? '').startsWith(`${issue.key} from`)));
  if (!post) return;
  jb.id = post._id;
  await sleep(between(r, 200, 1500));
  const who = pick(r, EXTRA_USERS);
  const x = await W.ctl.say(who, ch.room, `reply to ${issue.key} by ${who}`, post._id);
  jb.replies.push({ id: x._id, by: who });
}

async function runRequests(r) {
  const window = opt.duration * 1000 * 0.85;
  const nJira = Math.max(1, Math.round(opt.requests * 0.05));
  const nChat = opt.requests - nJira;
  const plan = [];
  for (let i = 0; i < nChat; ++i) plan.push({ kind: 'chat', i, at: r() * window, seed: Math.floor(r() * 2 ** 31) });
  for (let i = 0; i < nJira; ++i) plan.push({ kind: 'jira', i, at: r() * window, seed: Math.floor(r() * 2 ** 31) });
  plan.sort((a, b) => a.at - b.at);
  const running = new Set();
  for (const p of plan) {
    const wait = t0Drive + p.at - Date.now();
    if (wait > 0) await sleep(wait);
    while (running.size >= opt.concurrency) await Promise.race(running);
    ++started;
    const job = (p.kind === 'chat' ? drive(p.i, prng(p.seed)) : driveJiraBorn(p.i, prng(p.seed)))
      .catch((e) => { log(`${elapsed()} script ${p.kind} ${p.i} failed: ${e.stack ?? e}`); ++stuck; })
      .finally(() => { ++finished; running.delete(job); });
    running.add(job);
  }
  await Promise.all(running);
}

// -- the checks ------------------------------------------------------------------------------------------------------

/** Every message of the stream: [{seq, id, subject, msgId}]. */
async function streamEvents() {
  const nc = await natsConnect({ servers: W.natsUrl, reconnect: false, timeout: 5000 });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(STREAM);
    const sc = StringCodec();
    const out = [];
    if (info.state.messages > 0) {
      for (let seq = info.state.first_seq; seq <= info.state.last_seq; ++seq) {
        const m = await jsm.streams.getMessage(STREAM, { seq });
        const ev = JSON.parse(sc.decode(m.data));
        out.push({ seq, id: ev.id, subject: ev.subject, msgId: m.header?.get('Nats-Msg-Id'), type: ev.type });
      }
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Queues dutydesk has not drained yet (read from its database), and Jira deliveries still on their way. */
async function backlog() {
  const q = psql(`SELECT (SELECT count(*) FROM jira_ops WHERE state = 'queued') || ' ' ||
    (SELECT count(*) FROM outbox WHERE sent_at IS NULL) || ' ' || (SELECT count(*) FROM inbox WHERE processed_at IS NULL)`);
  const [jiraOps, events, inbox] = q.split(' ').map(Number);
  let deliveries = 0;
  for (const state of ['queued', 'in_flight', 'retry_wait']) deliveries += (await W.J.deliveries({ state })).length;
  return { jiraOps, events, inbox, deliveries, total: jiraOps + events + inbox + deliveries };
}

/**
 * Reads the simulator's records (both rooms' messages, both projects' issues), the stream and the outbox, and
 * compares them with what the scripts did. Returns {lost: [...], duplicated: [...], wrong: [...]} of strings.
 */
/** A message's time as the log prints it (UTC), to find it in dutydesk.log. */
const tsOf = (m) => new Date(typeof m.ts === 'string' ? m.ts : m.ts?.$date ?? 0).toISOString();

async function check({ withEvents = true } = {}) {
  const lost = [], duplicated = [], wrong = [];
  let detours = 0;
  const now = Date.now();
  const msgs = {};
  for (const c of CHANNELS) msgs[c.room] = await W.ctl.roomMessages(c.room);
  const byId = new Map(), threadOf = new Map();
  for (const room of Object.keys(msgs)) {
    for (const m of msgs[room]) {
      byId.set(m._id, m);
      if (m.tmid) (threadOf.get(m.tmid) ?? threadOf.set(m.tmid, []).get(m.tmid)).push(m);
    }
  }
  const repliesOf = (id) => threadOf.get(id) ?? [];
  const issues = [...await W.J.issues('CICD'), ...await W.J.issues('DBA')];
  const issuesByLabel = new Map();
  for (const is of issues) for (const l of is.labels ?? []) (issuesByLabel.get(l) ?? issuesByLabel.set(l, []).get(l)).push(is);
  const issueByKey = new Map(issues.map((x) => [x.key, x]));
  const expectedEvents = new Map(); // request id -> Set of event ids
  const expect = (req, what) => (expectedEvents.get(req) ?? expectedEvents.set(req, new Set()).get(req)).add(`${req}/event/${what}`);
  const expectedTop = new Map(); // room -> Set of bot top-level ids that should exist
  const top = (room, id) => (expectedTop.get(room) ?? expectedTop.set(room, new Set()).get(room)).add(id);

  let jiraPosts = [];
  /** Each Jira comment of `made` posted exactly once over the request's threads, and no other Jira comment post. */
  const checkJiraPosts = (made, label) => {
    for (const c of made) {
      const at = jiraPosts.filter((p) => p.msg === c.post);
      if (at.length === 0) lost.push(`${label}: Jira comment ${c.id} not posted in the request's threads: "${c.post}"`);
      if (at.length > 1) duplicated.push(`${label}: Jira comment ${c.id} posted ${at.length} times: ${at.map((p) => p.thread).join(' ')}`);
      if (at.length) expect(at[0].thread, `jira-comment/${c.id}`);
    }
    for (const p of jiraPosts) if (!made.some((c) => c.post === p.msg)) duplicated.push(`${label}: unexpected Jira comment post in ${p.thread}: "${p.msg}"`);
    jiraPosts = [];
  };
  const checkThread = (th, { key, finalReaction, label }) => {
    const replies = repliesOf(th.id);
    const intros = replies.filter((m) => byBot(m) && buttonsOf(m).length > 0 && !isReminder(m));
    if (intros.length === 0) lost.push(`${label}: no intro in thread ${th.id}`);
    if (intros.length > 1) duplicated.push(`${label}: ${intros.length} intros in thread ${th.id}: ${intros.map((m) => m._id).join(' ')}`);
    const links = replies.filter(isJiraLink);
    if (links.length === 0) lost.push(`${label}: no Jira link post in thread ${th.id}`);
    if (links.length > 1) duplicated.push(`${label}: ${links.length} Jira link posts in thread ${th.id}: ${links.map((m) => m._id).join(' ')}`);
    if (key && links.length && links.some((m) => jiraKeyOf(m) !== key)) wrong.push(`${label}: thread ${th.id} links ${links.map(jiraKeyOf).join(',')}, the issue is ${key}`);
    // Status changes: exactly the notes the script caused, in order.
    // A Jira-side change may reach dutydesk by the poll first, which knows no author ("Jira changed ..."): the
    // author of a Jira-side note is not compared.
    const norm = (x) => x.replace(/^.* changed the status in Jira \(/, '* changed the status in Jira (');
    const notes = replies.filter((m) => byBot(m) && / changed the status(:| in Jira \()/.test(m.msg ?? '')).map((m) => norm(m.msg));
    const want = (th.notes ?? []).map(norm);
    const missing = [...want], extra = [];
    for (const x of notes) { const k = missing.indexOf(x); if (k >= 0) missing.splice(k, 1); else extra.push(x); }
    for (const x of missing) lost.push(`${label}: status note missing in thread ${th.id}: "${x}"`);
    for (const x of extra) duplicated.push(`${label}: status note not caused by the run (or twice) in thread ${th.id}: "${x}"`);
    if (!missing.length && !extra.length && JSON.stringify(notes) !== JSON.stringify(want)) wrong.push(`${label}: status notes out of order in ${th.id}: ${JSON.stringify(notes)}`);
    const root = byId.get(th.id);
    const got = botReactions(root?.reactions);
    if (JSON.stringify(got) !== JSON.stringify(finalReaction)) wrong.push(`${label}: the bot's reactions on ${th.id} are ${JSON.stringify(got)}, expected ${JSON.stringify(finalReaction)}`);
    // Jira comments posted into the thread: collected per request (a comment made just before a move may land in
    // the thread the move created) and counted by the caller.
    for (const m of replies.filter((x) => byBot(x) && / \(Jira\): /.test(x.msg ?? ''))) jiraPosts.push({ thread: th.id, msg: m.msg });
    // Refused outsiders changed nothing (their notes would show above); every plain reply is one comment.
    const people = replies.filter((m) => !byBot(m) && !m.t);
    const plain = people.filter((m) => !/^\s*!dd\b/i.test(m.msg ?? ''));
    expect(th.id, 'created');
    for (let s = 1; s <= want.length; ++s) expect(th.id, `status/${s}`);
    for (const m of plain) expect(th.id, `comment/${m._id}`);

    // Reminders: never early or doubled, and none missing while the request was open and nobody answered.
    const R = channelByRoom[th.room].remind * 1000;
    const reminders = replies.filter(isReminder).map((m) => Date.parse(m.ts));
    const createdAt = intros.length ? Date.parse(intros[0].ts) : Date.parse(root?.ts ?? 0);
    // The next deadline is set when a reminder is stepped, before its post goes out; a post that waited (a 429's
    // reset, a 5xx backoff, the database) makes the gap between two posts that much shorter than remind_after. A
    // doubled reminder shows as a gap of a few seconds, so a quarter of remind_after (at most 10 s) is tolerated.
    const tol = Math.max(2500, Math.min(10000, R / 4));
    let prevRem = createdAt;
    for (const at of reminders) {
      if (at - prevRem < R - tol) duplicated.push(`${label}: reminder at ${new Date(at).toISOString()} in ${th.id} only ${((at - prevRem) / 1000).toFixed(1)} s after the previous one (or the intro); remind_after ${R / 1000} s`);
      prevRem = at;
    }
    if (R < 3600000 && intros.length) {
      // Timeline: activity (any person's message, any status note) re-arms; a final status disarms; a move ends it.
      // Conservative: every message in the thread but a reminder counts as activity (so no false "lost").
      const evs = [];
      for (const m of replies) {
        const x = m.msg ?? '';
        const at = Date.parse(m.ts);
        if (isReminder(m)) evs.push({ at, kind: 'reminder' });
        else if (byBot(m) && (/ changed the status(:| in Jira \().* → Done\.$/.test(x) || /^Moved to #/.test(x))) evs.push({ at, kind: 'final' });
        else if (byBot(m) && / changed the status(:| in Jira \()/.test(x)) evs.push({ at, kind: 'reopen' }); // to a non-final status
        else evs.push({ at, kind: 'activity' });
      }
      evs.sort((a, b) => a.at - b.at);
      let armed = createdAt, closed = false;
      const due = (from) => {
        let d = from + R;
        for (const o of outages) if (o.from < d && o.to > from) d = Math.max(d, o.to); // a due reminder fires at the restart
        return d + 15000;
      };
      for (const e of [...evs, { at: now, kind: 'now' }]) {
        if (e.at < createdAt) continue;
        if (armed !== null && e.at > due(armed) && e.kind !== 'reminder') {
          lost.push(`${label}: no reminder in ${th.id} between ${new Date(armed).toISOString()} and ${new Date(e.at).toISOString()} (remind_after ${R / 1000} s)`);
          armed = e.at; // one report per gap
        }
        if (e.kind === 'final') { armed = null; closed = true; }
        else if (e.kind === 'reopen') { armed = e.at; closed = false; }
        else if (e.kind !== 'now' && !closed) armed = e.at;
      }
    }
    return { plain };
  };

  for (const chain of requests) {
    const origin = chain.threads[0];
    if (!origin.id) { lost.push(`request ${chain.i}: never posted`); continue; }
    const label = `request ${chain.i} (${origin.id})`;
    const own = issuesByLabel.get(`dutydesk-${origin.id}`) ?? [];
    if (own.length === 0) lost.push(`${label}: no Jira issue labelled dutydesk-${origin.id}`);
    if (own.length > 1) duplicated.push(`${label}: ${own.length} Jira issues: ${own.map((x) => x.key).join(' ')}`);
    const issue = own[0];
    if (issue && chain.key && issue.key !== chain.key) wrong.push(`${label}: linked ${chain.key}, labelled ${issue.key}`);
    const plains = [];
    chain.threads.forEach((th, k) => {
      const last = k === chain.threads.length - 1;
      const fin = last ? [statusById[th.status].emoji] : [':arrow_right:'];
      if (th.repost) {
        top(th.room, th.id);
        const extra = issuesByLabel.get(`dutydesk-${th.id}`) ?? [];
        if (extra.length) duplicated.push(`${label}: the moved request ${th.id} got issues of its own: ${extra.map((x) => x.key).join(' ')}`);
      }
      const { plain } = checkThread(th, { key: issue?.key, finalReaction: fin, label });
      plains.push(...plain);
      if (!last) expect(th.id, 'moved');
    });
    checkJiraPosts(chain.threads.flatMap((t) => t.jiraComments), label);
    if (chain.moved && chain.threads.length < 2) lost.push(`${label}: moved by @${origin.movedBy}, but no repost in the other channel`);
    if (!issue) continue;
    // Comments: every plain reply exactly once, by the bot, and no other comment by the bot.
    const botComments = issue.comments.filter((c) => c.author === 'dutybot');
    const byMsg = new Map();
    for (const c of botComments) {
      const id = c.properties?.dutydesk?.chatMessageId;
      (byMsg.get(id) ?? byMsg.set(id, []).get(id)).push(c);
    }
    for (const m of plains) {
      const cs = byMsg.get(m._id) ?? [];
      if (cs.length === 0) lost.push(`${label}: reply ${m._id} by @${m.u?.username} at ${tsOf(m)} is not a comment on ${issue.key}`);
      if (cs.length > 1) duplicated.push(`${label}: reply ${m._id} is ${cs.length} comments on ${issue.key}: ${cs.map((c) => c.id).join(' ')}`);
      byMsg.delete(m._id);
    }
    for (const [id, cs] of byMsg) duplicated.push(`${label}: comments on ${issue.key} mirroring no reply of the run (${id}): ${cs.map((c) => c.id).join(' ')}`);
    // Transitions: each Jira user's exactly as made; each chat change one walk of the bot's from the issue's status
    // to the mapped one (contiguous, no status twice, at most 6 steps: after a restart the bridge has forgotten the
    // workflow and may explore through another status, which is counted, not failed). Nothing else, nothing twice.
    const tr = issue.transitions.map((x) => [x.by, x.from, x.to]);
    const s = (xs) => xs.map((x) => `${x[0]}:${x[1]}→${x[2]}`).join(', ');
    let k = 0, bad = null;
    for (const [by, from, to] of chain.transitions) {
      if (by !== 'dutybot') {
        const x = tr[k];
        if (!x || x[0] !== by || x[1] !== from || x[2] !== to) { bad = `${by}:${from}→${to}`; break; }
        ++k;
        continue;
      }
      let at = from;
      const seen = new Set([from]);
      let steps = 0;
      while (at !== to) {
        const x = tr[k];
        if (!x || x[0] !== 'dutybot' || x[1] !== at || seen.has(x[2]) || ++steps > 6) { bad = `the walk ${from}→${to}`; break; }
        seen.add(x[2]);
        at = x[2];
        ++k;
      }
      if (bad) break;
      if (steps > (walk(from, to)?.length ?? 0)) ++detours;
    }
    if (bad) {
      (k >= tr.length ? lost : wrong).push(`${label}: ${issue.key} transitions [${s(tr)}] lack ${bad} (expected the segments [${s(chain.transitions)}])`);
    } else if (k < tr.length) {
      duplicated.push(`${label}: ${issue.key} transitions [${s(tr)}]: [${s(tr.slice(k))}] not caused by the run (expected the segments [${s(chain.transitions)}])`);
    }
    if (issue.status.name !== chain.jira) wrong.push(`${label}: ${issue.key} is ${issue.status.name}, expected ${chain.jira}`);
  }
  for (const jb of jiraBorn) {
    const label = `jira-born ${jb.key}`;
    const posts = msgs[jb.room].filter((m) => !m.tmid && byBot(m) && (m.msg ?? '').startsWith(`${jb.key} from`));
    if (posts.length === 0) { lost.push(`${label}: no post in #${jb.room}`); continue; }
    if (posts.length > 1) duplicated.push(`${label}: ${posts.length} posts in #${jb.room}: ${posts.map((m) => m._id).join(' ')}`);
    const id = jb.id ?? posts[0]._id;
    top(jb.room, id);
    for (const p of posts) top(jb.room, p._id);
    checkThread({ id, room: jb.room, notes: [], jiraComments: [] }, { key: jb.key, finalReaction: [':new:'], label });
    checkJiraPosts([], label);
    const own = issuesByLabel.get(`dutydesk-${id}`) ?? [];
    if (own.length) duplicated.push(`${label}: its request got issues of its own: ${own.map((x) => x.key).join(' ')}`);
    const issue = issueByKey.get(jb.key);
    for (const r of jb.replies) {
      const k = (issue?.comments ?? []).filter((c) => c.properties?.dutydesk?.chatMessageId === r.id).length;
      if (k === 0) lost.push(`${label}: reply ${r.id} is not a comment on ${jb.key}`);
      if (k > 1) duplicated.push(`${label}: reply ${r.id} is ${k} comments on ${jb.key}`);
    }
  }
  // No other top-level bot post (a repost or a Jira-born post twice, a Jira-born request out of our own issue).
  for (const c of CHANNELS) {
    for (const m of msgs[c.room].filter((x) => !x.tmid && byBot(x))) {
      if (!expectedTop.get(c.room)?.has(m._id)) duplicated.push(`unexpected top-level bot post ${m._id} in #${c.room}: "${(m.msg ?? '').slice(0, 80)}"`);
    }
  }
  // No issue that no request explains.
  const explained = new Set([...jiraBorn.map((x) => x.key)]);
  for (const chain of requests) for (const x of issuesByLabel.get(`dutydesk-${chain.threads[0].id}`) ?? []) explained.add(x.key);
  for (const x of issues) if (!explained.has(x.key)) duplicated.push(`issue ${x.key} (${x.summary}) belongs to no request of the run`);

  let stream = null;
  if (withEvents) {
    stream = await streamEvents();
    const ids = new Map();
    for (const e of stream) ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
    for (const [id, k] of ids) if (k > 1) duplicated.push(`event ${id} is ${k} times on the stream`);
    for (const e of stream) if (e.msgId !== e.id) wrong.push(`stream seq ${e.seq}: Nats-Msg-Id ${e.msgId} differs from the event id ${e.id}`);
    const outbox = new Set(psql('SELECT id FROM outbox').split('\n').filter(Boolean));
    for (const id of outbox) if (!ids.has(id)) lost.push(`event ${id} is in the outbox but not on the stream`);
    for (const id of ids.keys()) if (!outbox.has(id)) duplicated.push(`event ${id} is on the stream but not in the outbox`);
    const all = new Set();
    for (const [req, set] of expectedEvents) {
      for (const id of set) { all.add(id); if (!ids.has(id)) lost.push(`event ${id} (expected from the chat records) is not on the stream`); }
      void req;
    }
    const known = new Set(expectedEvents.keys());
    for (const id of ids.keys()) {
      const req = id.split('/event/')[0];
      if (known.has(req) && !all.has(id)) duplicated.push(`event ${id} was published but the records show no such change`);
    }
  }
  return { lost, duplicated, wrong, stream, issues, msgs, detours };
}

/**
 * CHAOS_TAMPER=1: before the final check, forge one duplicate of each of three kinds in the simulator's records (a
 * status note posted twice, a reply mirrored twice into Jira, a stray top-level bot post) and delete one Jira
 * comment post, to show that the checks see them: the run must then fail with duplicated >= 3 and lost >= 1.
 */
async function tamper() {
  const chain = requests.find((c) => c.threads[0].notes.length && c.threads[0].replies.length && c.threads[0].id);
  if (!chain) { log('tamper: no request with a status change and a reply'); return; }
  const th = chain.threads[0];
  await W.ctl.say(BOT, th.room, th.notes[0], th.id);
  const key = jiraKeyOf((await W.ctl.thread(th.id)).replies.find(isJiraLink) ?? {});
  if (key) await W.ctl.post(`/jira-dc/issues/${key}/comments`, { as: 'dutybot', body: 'forged', properties: [{ key: 'dutydesk', value: { chatMessageId: th.replies[0].id } }] });
  await W.ctl.say(BOT, th.room, 'a forged top-level post');
  const withComment = requests.find((c) => c.threads[0].jiraComments.length);
  if (withComment) {
    const t = await W.ctl.thread(withComment.threads[0].id);
    const post = t.replies.find((m) => m.msg === withComment.threads[0].jiraComments[0].post);
    if (post) {
      const r = await fetch(`${W.urls.rocketchat}/api/v1/chat.delete`, { method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-User-Id': 'B0tB0tB0tB0tB0tB0', 'X-Auth-Token': 'dutydesk-pat-0000000000000000000000000000' },
        body: JSON.stringify({ roomId: post.rid, msgId: post._id }) });
      if (!r.ok) log(`tamper: chat.delete -> ${r.status}: ${await r.text()}`);
    }
  }
  log(`tamper: forged duplicates in ${th.id}${key ? ` and ${key}` : ''}`);
}

// -- main ------------------------------------------------------------------------------------------------------------

async function main() {
  const rng = prng(opt.seed);
  const faultRng = prng(Math.floor(rng() * 2 ** 31));
  const reqRng = prng(Math.floor(rng() * 2 ** 31));
  try {
    await setup();
  } catch (e) {
    console.error(`chaos: setup failed: ${e.stack ?? e}`);
    if (W.logPath) console.error(tail(readLog(), 30));
    return 2;
  }
  t0Drive = Date.now();
  const progress = setInterval(() => log(`${elapsed()} started ${started}/${opt.requests}, finished ${finished}, kills ${kills}`), 15000);
  let faultError = null;
  const faults = runFaults(faultRng).catch((e) => { faultError = e; });
  await runRequests(reqRng);
  await faults;
  clearInterval(progress);
  if (faultError) {
    console.error(`chaos: the fault injection failed: ${faultError.stack ?? faultError}`);
    console.error(tail(readLog(), 30));
    return 2;
  }
  const drove = Date.now();
  log(`${elapsed()} driving done (${((drove - t0Drive) / 1000).toFixed(0)} s); waiting for quiescence (at most ${opt.settle} s)`);
  // Quiescence: dutydesk's queues empty, Jira's deliveries done, and the checks stable.
  let result, quiet = false;
  const deadline = Date.now() + opt.settle * 1000;
  let lastBacklog;
  while (Date.now() < deadline) {
    if (W.dd.proc.exitCode !== null || W.dd.proc.signalCode !== null) {
      log(`${elapsed()} dutydesk exited on its own (${W.dd.proc.exitCode ?? W.dd.proc.signalCode}); its log:\n${tail(readLog(), 30)}`);
      break;
    }
    lastBacklog = await backlog().catch((e) => ({ total: -1, error: e.message }));
    if (lastBacklog.total === 0) {
      result = await check({ withEvents: false });
      if (!result.lost.length && !result.duplicated.length && !result.wrong.length) { quiet = true; break; }
    }
    await sleep(3000);
  }
  if (quiet) await sleep(5000); // late duplicates get a chance to show
  if (process.env.CHAOS_TAMPER === '1') await tamper();
  result = await check({ withEvents: true });
  const bad = result.lost.length + result.duplicated.length + result.wrong.length;
  const took = ((Date.now() - t0) / 1000).toFixed(0);
  if (!quiet) log(`not quiescent within ${opt.settle} s; backlog ${JSON.stringify(lastBacklog)}`);
  const injected = (await W.ctl.faultState()).injected ?? {};
  const inj = (s) => { const x = injected[s] ?? {}; return `429 ${x['429'] ?? 0}, 5xx ${x['5xx'] ?? 0}`; };
  const moved = requests.filter((c) => c.threads.length > 1).length;
  const replies = requests.reduce((n, c) => n + c.threads.reduce((m, t) => m + t.replies.length, 0), 0);
  const jc = requests.reduce((n, c) => n + c.threads.reduce((m, t) => m + t.jiraComments.length, 0), 0);
  const sc = requests.reduce((n, c) => n + c.threads.reduce((m, t) => m + t.notes.length, 0), 0);
  log(`seed ${opt.seed}, ${took} s in all, driving ${((drove - t0Drive) / 1000).toFixed(0)} s`);
  log(`requests ${requests.length + jiraBorn.length} (from chat ${requests.length}, created in Jira ${jiraBorn.length}, moved ${moved})`);
  log(`actions: replies ${replies}, jira comments ${jc}, status changes ${sc}, events on the stream ${result.stream?.length ?? 0}, stuck waits ${stuck}, Jira walks with a detour ${result.detours}`);
  for (const k of FAULT_KINDS) {
    const served = k === 'rc_errors' ? ` (served: ${inj('rocketchat')})` : k === 'jira_errors' ? ` (served: ${inj('jira-dc')})`
      : k === 'oncall_errors' ? ` (served: ${inj('oncall')})` : '';
    log(`fault ${k} ${faultCount[k]}${served}`);
  }
  log(`kills ${kills}`);
  const show = (name, xs) => { log(`${name} ${xs.length}`); for (const x of xs.slice(0, 200)) log(`  ${name}: ${x}`); };
  show('lost', result.lost);
  show('duplicated', result.duplicated);
  show('wrong', result.wrong);
  const missingKinds = FAULT_KINDS.filter((k) => faultCount[k] === 0);
  if (missingKinds.length) log(`fault kinds never injected: ${missingKinds.join(', ')}`);
  log(`requests ${requests.length + jiraBorn.length}, kills ${kills}, lost ${result.lost.length}, duplicated ${result.duplicated.length}, wrong ${result.wrong.length}`);
  if (bad && opt.keep) {
    // The simulator's records as the check read them, for the post-mortem (it stops with the run).
    const records = { rooms: {}, issues: [...await W.J.issues('CICD'), ...await W.J.issues('DBA')] };
    for (const c of CHANNELS) records.rooms[c.room] = await W.ctl.roomMessages(c.room);
    writeFileSync(path.join(W.dir, 'records.json'), JSON.stringify(records, null, 1));
    log(`kept ${W.dir} (dutydesk.log, config, PostgreSQL data, records.json: the simulator's rooms and issues)`);
  }
  return bad || missingKinds.length || kills < opt.kills ? 1 : 0;
}

let code = 2;
try {
  code = await main();
} catch (e) {
  console.error(`chaos: ${e.stack ?? e}`);
  if (W.logPath) console.error(tail(readLog(), 30));
  code = 2;
}
await stop(W.dd?.proc).catch(() => {});
await stop(W.sim?.proc).catch(() => {});
await stop(W.nats).catch(() => {});
cleanupSync();
process.exit(code);
