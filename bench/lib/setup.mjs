// Writes the benchmark's simulator seed and dutydesk config (bench/run.sh calls it).
//
//   node bench/lib/setup.mjs seed   --out DIR --channels M --users U
//       → DIR/seed.json, DIR/workload.json (rooms, users, bot)
//   node bench/lib/setup.mjs config --out DIR --urls '<the simulator ready line JSON>' --storage URL
//       → DIR/dutydesk.yaml, DIR/ports.json (dutydesk's http and metrics ports, picked free now: picked before the
//         simulator took its ephemeral ports, they collided), and the simulator's Jira webhook to that http port
//
// The seed keeps sim/seed/demo.json's shape and its named people (the bot, alice … eve; bob is on call), and adds
// M public rooms bench-1 … bench-M (each with the bot, every load user and the demo users), U load users
// load1 … loadU, one Jira project B1 … BM and one OnCall schedule per room. Jira's webhook points at dutydesk's
// /jira/webhook (set through the control API), so the comments and assignments dutydesk makes come back to it as they would from a real Jira.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
export const BOT = { id: 'B0tB0tB0tB0tB0tB0', username: 'dutydesk', token: 'dutydesk-pat-0000000000000000000000000000' };
export const WEBHOOK_SECRET = 'bench-webhook-secret-000000000';
const JIRA_EVENTS = ['jira:issue_created', 'jira:issue_updated', 'comment_created', 'comment_updated'];

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  return o;
}

/** `n` distinct TCP ports that were free a moment ago (held open together, so they differ). */
async function freePorts(n) {
  const srvs = [];
  for (let i = 0; i < n; i++) {
    const srv = createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    srvs.push(srv);
  }
  const ports = srvs.map((s) => s.address().port);
  await Promise.all(srvs.map((s) => { s.close(); return once(s, 'close'); }));
  return ports;
}

/** A 17-character room id from a number (the simulator takes any id; Rocket.Chat's are 17 characters). */
const roomId = (i) => `BenchRoom${String(i).padStart(8, '0')}`;
const userId = (i) => `LoadUser${String(i).padStart(9, '0')}`;

async function seed({ out, channels, users }) {
  const M = Number(channels), U = Number(users);
  if (!(M >= 1) || !(U >= 1)) throw new Error('--channels and --users must be at least 1');
  const demo = JSON.parse(readFileSync(path.join(root, 'sim/seed/demo.json'), 'utf8'));
  const demoUsers = demo.rocketchat.users.map((u) => u.username);
  const loadUsers = [];
  for (let i = 1; i <= U; i++) {
    loadUsers.push({ id: userId(i), username: `load${i}`, name: `Load User ${i}`, email: `load${i}@example.com`,
      roles: ['user'], password: `load${i}-pass`, tokens: [`load${i}-token-${String(i).padStart(24, '0')}`] });
  }
  const rooms = [];
  for (let i = 1; i <= M; i++) {
    rooms.push({ id: roomId(i), name: `bench-${i}`, type: 'c', members: [...demoUsers, ...loadUsers.map((u) => u.username)] });
  }
  const s = structuredClone(demo);
  s.rocketchat.users = [...demo.rocketchat.users, ...loadUsers];
  s.rocketchat.rooms = rooms;
  const lead = demo.jira.projects[1].lead;
  s.jira.projects = rooms.map((r, i) => ({ id: String(20000 + i), key: `B${i + 1}`, name: `Bench ${i + 1}`, lead,
    issue_types: [{ id: '10002', name: 'Task', description: 'A task that needs to be done.' }], required_fields: [] }));
  s.jira.webhooks = [];
  const onDuty = demo.oncall.schedules[0].on_call_now;
  s.oncall.schedules = rooms.map((r, i) => ({ id: `SCHEDB${i + 1}`, name: `Bench ${i + 1} duty`, type: 'web',
    team_id: null, time_zone: 'UTC', on_call_now: onDuty }));
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'seed.json'), JSON.stringify(s, null, 1));
  writeFileSync(path.join(out, 'workload.json'), JSON.stringify({
    bot: BOT, rooms: rooms.map((r) => ({ id: r.id, name: r.name })), users: loadUsers.map((u) => u.username),
  }));
}

async function config({ out, urls, storage }) {
  const u = JSON.parse(urls);
  const [http, metrics] = await freePorts(2);
  const ports = { http, metrics };
  writeFileSync(path.join(out, 'ports.json'), JSON.stringify(ports));
  const r = await fetch(`${u.control}/control/jira-dc/webhooks`, { method: 'POST', body: JSON.stringify({
    name: 'dutydesk', url: `http://127.0.0.1:${ports.http}/jira/webhook`, events: JIRA_EVENTS, secret: WEBHOOK_SECRET }) });
  if (r.status >= 400) throw new Error(`cannot add the Jira webhook: ${r.status} ${await r.text()}`);
  const { rooms } = JSON.parse(readFileSync(path.join(out, 'workload.json'), 'utf8'));
  const channels = rooms.map((r, i) => `  - room: ${r.name}
    team: bench${i + 1}
    members: []
    jira:
      project: B${i + 1}
    oncall:
      schedule_id: SCHEDB${i + 1}
      fallback: [dave]
    remind_after: 24h
`).join('');
  writeFileSync(path.join(out, 'dutydesk.yaml'), `# written by bench/lib/setup.mjs
rocketchat:
  url: ${u.rocketchat}
  user_id: ${BOT.id}
  auth_token: ${BOT.token}
jira:
  url: ${u['jira-dc']}
  flavor: datacenter
  auth:
    token: jira-bot-token-0000000000000000
  webhook_secret: ${WEBHOOK_SECRET}
oncall:
  url: ${u.oncall}
  token: oncall-token-000000000000000000
storage:
  url: ${storage}
http:
  listen: 127.0.0.1:${ports.http}
metrics:
  listen: 127.0.0.1:${ports.metrics}
statuses:
  - id: open
    label: Open
    emoji: ":new:"
    jira_status: To Do
  - id: in_progress
    label: In progress
    emoji: ":hammer_and_wrench:"
    jira_status: In Progress
  - id: done
    label: Done
    emoji: ":white_check_mark:"
    jira_status: Done
    final: true
channels:
${channels}`);
}

const [cmd, ...rest] = process.argv.slice(2);
const o = parseArgs(rest);
if (cmd === 'seed') await seed(o);
else if (cmd === 'config') await config(o);
else { console.error('usage: setup.mjs seed|config --out DIR ...'); process.exit(2); }
