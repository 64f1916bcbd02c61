// The load driver of bench/run.sh: posts N top-level messages (plus K thread replies each) into the simulator as the
// load users, follows the simulator's request log until the bot has handled every one, and reports the figures.
// It talks only to the simulator's control API, so every product request in the simulator's log is the bot's.
//
//   node bench/load.mjs --control URL --workload DIR/workload.json --bot dutydesk|node --pid PID [--sim-pid PID]
//     [--requests N] [--rate R|max] [--replies K] [--concurrency C] [--metrics URL] [--timeout S]
//     [--csv FILE] [--label k=v,...]
//
// What "handled" means (from the simulator's request log, /control/requests):
//   dutydesk, a request: chat.react naming it, a thread post with buttons (tmid = it, "actions" in the body) and the
//     Jira remote link `dutydesk:request:<id>` (the last call of its creation chain: issue, link post, assignee);
//   dutydesk, a reply:   the Jira comment whose property names it (chatMessageId);
//   node bot, a request: a reaction and a thread post naming it (REST or DDP method frames); replies are not its job.
// Latency of a message: the simulator's `ts` of the message (it stores it and writes the stream frame to the
// subscribers in the same io-thread turn) → the simulator's `ts` of the first product request (REST call or DDP
// method frame) whose target or body names the message id. Both are the simulator's clock, in milliseconds.
import { readFileSync, appendFileSync, existsSync } from 'node:fs';

const opt = {
  requests: '200', rate: 'max', replies: '0', concurrency: '8', timeout: '120', clkTck: '100', label: '',
};
for (let i = 2; i < process.argv.length; i += 2) {
  opt[process.argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = process.argv[i + 1];
}
const N = Number(opt.requests), K = Number(opt.replies), C = Math.max(1, Number(opt.concurrency));
const RATE = opt.rate === 'max' ? 0 : Number(opt.rate);
const BOT_KIND = opt.bot ?? 'dutydesk';
if (!opt.control || !opt.workload || !opt.pid || !(N >= 1) || !(K >= 0) || Number.isNaN(RATE)) {
  console.error('load.mjs: --control, --workload, --pid and a positive --requests are required; --rate is a number or max');
  process.exit(2);
}
const work = JSON.parse(readFileSync(opt.workload, 'utf8'));
const ctlBase = opt.control.replace(/\/$/, '') + '/control';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function ctl(method, p, body) {
  const r = await fetch(ctlBase + p, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (r.status >= 400) throw new Error(`control ${method} ${p} -> ${r.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// -- the bot process ---------------------------------------------------------------------------------------------

function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  const tck = Number(opt.clkTck);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((status.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) ?? [])[1] ?? NaN);
  return { cpu: (Number(f[11]) + Number(f[12])) / tck, hwmKb: kb('VmHWM'), rssKb: kb('VmRSS') };
}

async function outboundCalls() {
  if (!opt.metrics) return NaN;
  try {
    const text = await (await fetch(opt.metrics, { signal: AbortSignal.timeout(3000) })).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('dutydesk_outbound_calls_total{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  } catch { return NaN; }
}

// -- the simulator's request log -----------------------------------------------------------------------------------

const seen = new Map(); // message id → {first, react, post, intro, link, comment} (simulator ms timestamps)
const calls = { total: 0, bySystem: {} };
const ID = /\b[0-9A-Za-z]{17}\b/g;
const note = (id, key, ts) => {
  let s = seen.get(id);
  if (!s) seen.set(id, (s = {}));
  if (s[key] === undefined || ts < s[key]) s[key] = ts;
};
const parse = (body) => { try { return JSON.parse(body); } catch { return undefined; } };

function take(e) {
  let frame;
  if (e.method === 'WS') {
    if (!e.body.includes('"method"')) return; // connect, login, sub, ping, pong: not a call
    frame = parse(e.body);
    if (frame?.msg !== 'method' || frame.method === 'login') return;
  }
  calls.total++;
  calls.bySystem[e.system] = (calls.bySystem[e.system] ?? 0) + 1;
  const ts = Date.parse(e.ts);
  const ids = new Set(`${e.target} ${e.body}`.match(ID) ?? []);
  for (const id of ids) note(id, 'first', ts);
  const target = e.target.split('?')[0];
  const b = frame ? undefined : parse(e.body);
  if (frame) {
    const p = frame.params ?? [];
    if (frame.method === 'setReaction' && typeof p[1] === 'string') note(p[1], 'react', ts);
    if (frame.method === 'sendMessage' && p[0]?.tmid) note(p[0].tmid, 'post', ts);
  } else if (target.endsWith('/chat.react')) {
    if (b?.messageId) note(b.messageId, 'react', ts);
  } else if (target.endsWith('/chat.sendMessage') || target.endsWith('/chat.postMessage')) {
    const tmid = b ? (b.message?.tmid ?? b.tmid) : (e.body.match(/"tmid":"([^"]+)"/) ?? [])[1];
    if (tmid) {
      note(tmid, 'post', ts);
      if (e.body.includes('"actions"')) note(tmid, 'intro', ts);
    }
  } else if (e.method === 'POST' && /\/issue\/[^/]+\/remotelink$/.test(target)) {
    const m = (b?.globalId ?? '').match(/^dutydesk:request:(.+)$/);
    if (m) note(m[1], 'link', ts);
  } else if (e.method === 'POST' && /\/issue\/[^/]+\/comment$/.test(target)) {
    for (const p of b?.properties ?? []) if (p?.value?.chatMessageId) note(p.value.chatMessageId, 'comment', ts);
  }
}

let since = 0, polling = true;
async function pollLog() {
  while (polling) {
    const { requests } = await ctl('GET', `/requests?since=${since}&limit=5000`);
    for (const e of requests) take(e);
    if (requests.length) since = requests[requests.length - 1].seq;
    if (requests.length < 5000) await sleep(100);
  }
}

const rootDone = (s) => s && (BOT_KIND === 'node' ? s.react !== undefined && s.post !== undefined
  : s.react !== undefined && s.intro !== undefined && s.link !== undefined);
const rootDoneAt = (s) => (BOT_KIND === 'node' ? Math.max(s.react, s.post) : Math.max(s.react, s.intro, s.link));
const replyDone = (s) => BOT_KIND === 'node' || (s && s.comment !== undefined);

// -- the load ----------------------------------------------------------------------------------------------------

const roots = [], replies = [];
async function post(i, j) {
  const room = work.rooms[i % work.rooms.length].name;
  const as = work.users[(i + j) % work.users.length];
  const root = j === 0 ? undefined : roots[i];
  const text = j === 0 ? `bench request ${i}: the nightly pipeline fails at the deploy step` : `bench reply ${j} to request ${i}`;
  const { message } = await ctl('POST', '/rocketchat/messages', { as, room, text, ...(root ? { tmid: root.id } : {}) });
  return { id: message._id, ts: Date.parse(message.ts) };
}
async function one(i) {
  roots[i] = await post(i, 0);
  for (let j = 1; j <= K; j++) replies.push(await post(i, j));
}

async function waitSubscriptions() {
  const rids = work.rooms.map((r) => r.id);
  const deadline = Date.now() + 30000;
  for (;;) {
    const { sessions } = await ctl('GET', '/rocketchat/sessions');
    if (sessions.some((x) => x.connected && x.user_id === work.bot.id &&
      rids.every((r) => (x.subs ?? []).some((s) => s.name === 'stream-room-messages' && (s.event === r || s.event === '__my_messages__'))))) return;
    if (Date.now() > deadline) throw new Error(`the bot did not subscribe to the ${rids.length} rooms in 30 s`);
    await sleep(50);
  }
}

function pct(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

await waitSubscriptions();
since = (await ctl('GET', '/requests?limit=0')).next_seq - 1;
const before = procStat(opt.pid);
const simBefore = opt.simPid ? procStat(opt.simPid) : undefined;
const metricsBefore = await outboundCalls();
const poller = pollLog();
const t0 = Date.now();
if (RATE > 0) {
  const inflight = [];
  for (let i = 0; i < N; i++) {
    const wait = t0 + (i * 1000) / RATE - Date.now();
    if (wait > 0) await sleep(wait);
    inflight.push(one(i));
  }
  await Promise.all(inflight);
} else {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(C, N) }, async () => {
    while (next < N) await one(next++);
  }));
}
const postedMs = Date.now() - t0;
const deadline = Date.now() + Number(opt.timeout) * 1000;
let timedOut = false;
for (;;) {
  const pendingRoots = roots.filter((r) => !rootDone(seen.get(r.id))).length;
  const pendingReplies = replies.filter((r) => !replyDone(seen.get(r.id))).length;
  if (!pendingRoots && !pendingReplies) break;
  if (Date.now() > deadline) {
    timedOut = true;
    console.error(`load.mjs: timed out with ${pendingRoots} requests and ${pendingReplies} replies not handled`);
    break;
  }
  await sleep(100);
}
// One more pass over the log, so that the calls made after the last completion are counted as well.
await sleep(300);
polling = false;
await poller;
const after = procStat(opt.pid);
const simAfter = opt.simPid ? procStat(opt.simPid) : undefined;
const metricsAfter = await outboundCalls();

// -- figures -----------------------------------------------------------------------------------------------------

const doneRoots = roots.filter((r) => rootDone(seen.get(r.id)));
const firstRootTs = Math.min(...roots.map((r) => r.ts));
const lastRootDone = Math.max(...doneRoots.map((r) => rootDoneAt(seen.get(r.id))));
const latencies = roots.filter((r) => seen.get(r.id)?.first !== undefined).map((r) => seen.get(r.id).first - r.ts);
const doneReplies = BOT_KIND === 'node' ? [] : replies.filter((r) => replyDone(seen.get(r.id)));
const replyLat = doneReplies.map((r) => seen.get(r.id).comment - r.ts);
const firstReplyTs = replies.length ? Math.min(...replies.map((r) => r.ts)) : NaN;
const lastReplyDone = doneReplies.length ? Math.max(...doneReplies.map((r) => seen.get(r.id).comment)) : NaN;
const rate = (n, ms) => (ms > 0 ? n / (ms / 1000) : NaN);
const fix = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '');
const row = {
  date: new Date().toISOString(),
  commit: opt.commit ?? '',
  bot: BOT_KIND,
  store: opt.store ?? '',
  requests: N,
  rate: opt.rate,
  channels: work.rooms.length,
  users: work.users.length,
  replies_per_request: K,
  posted_s: fix(postedMs / 1000, 2),
  offered_msgs_per_s: fix(rate(N * (1 + K), postedMs), 0),
  handled_requests: doneRoots.length,
  handled_replies: BOT_KIND === 'node' || !K ? '' : doneReplies.length,
  requests_per_s: fix(rate(doneRoots.length, lastRootDone - firstRootTs), 0),
  replies_per_s: BOT_KIND === 'node' || !K ? '' : fix(rate(doneReplies.length, lastReplyDone - firstReplyTs), 0),
  lat_p50_ms: fix(pct(latencies, 50), 0),
  lat_p90_ms: fix(pct(latencies, 90), 0),
  lat_p99_ms: fix(pct(latencies, 99), 0),
  lat_max_ms: fix(pct(latencies, 100), 0),
  reply_lat_p50_ms: fix(pct(replyLat, 50), 0),
  reply_lat_p99_ms: fix(pct(replyLat, 99), 0),
  cpu_s: fix(after.cpu - before.cpu, 2),
  cpu_total_s: fix(after.cpu, 2),
  peak_rss_mb: fix(after.hwmKb / 1024, 1),
  rss_end_mb: fix(after.rssKb / 1024, 1),
  calls_per_request: fix(calls.total / N, 2),
  calls_by_system: Object.entries(calls.bySystem).map(([k, v]) => `${k}:${v}`).join(' '),
  metrics_calls_per_request: fix((metricsAfter - metricsBefore) / N, 2),
  sim_cpu_s: simAfter ? fix(simAfter.cpu - simBefore.cpu, 2) : '',
  timed_out: timedOut,
};
for (const kv of opt.label.split(',').filter(Boolean)) {
  const [k, v] = kv.split('=');
  row[k] = v;
}
const cols = Object.keys(row);
const csvCell = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
if (opt.csv) {
  if (!existsSync(opt.csv)) appendFileSync(opt.csv, cols.join(',') + '\n');
  appendFileSync(opt.csv, cols.map((c) => csvCell(row[c])).join(',') + '\n');
}
// The table: the figures of issue 8 (the CSV row has every column).
const shown = [['bot', 'bot'], ['store', 'store'], ['requests', 'N'], ['rate', 'rate'], ['replies_per_request', 'K'],
  ['channels', 'M'], ['users', 'U'], ['offered_msgs_per_s', 'offered msg/s'], ['handled_requests', 'handled'],
  ['requests_per_s', 'requests/s'], ['replies_per_s', 'replies/s'], ['lat_p50_ms', 'p50 ms'], ['lat_p90_ms', 'p90 ms'],
  ['lat_p99_ms', 'p99 ms'], ['lat_max_ms', 'max ms'], ['reply_lat_p99_ms', 'reply p99 ms'], ['cpu_s', 'CPU s'],
  ['peak_rss_mb', 'peak RSS MB'], ['calls_per_request', 'calls/request'], ['metrics_calls_per_request', 'calls/request (/metrics)'],
  ['sim_cpu_s', 'sim CPU s'], ['timed_out', 'timed out']];
console.log('| commit | ' + shown.map(([, h]) => h).join(' | ') + ' |');
console.log('| --- |' + shown.map(() => ' --- ').join('|') + '|');
console.log(`| ${row.commit} | ` + shown.map(([c]) => String(row[c])).join(' | ') + ' |');
process.exit(timedOut ? 3 : 0);
