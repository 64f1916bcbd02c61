// The side-by-side bot of issue 8: what a team would write instead of dutydesk, on the official Rocket.Chat client
// (@rocket.chat/ddp-client). It does only the cheapest part of the job: on each new top-level message in its rooms,
// one thread reply and one reaction. No storage, no Jira, no on-call lookup.
//
//   node --experimental-websocket bench/node-bot/bot.mjs --url http://127.0.0.1:3000 --user-id ID --token PAT \
//     --rooms RID1,RID2,... [--via ddp|rest] [--emoji :eyes:]
//
// Prints `node-bot ready {"rooms":N}` once every room subscription is ready. SIGTERM/SIGINT stop it.
// --via ddp (default): the reply and the reaction are DDP method calls (sendMessage, setReaction) on the same
// connection, as the client's own examples do; --via rest: REST chat.postMessage and chat.react through the client's
// RestClient (sdk.rest).
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);
const { DDPSDK } = require('@rocket.chat/ddp-client');

function args(argv) {
  const out = { via: 'ddp', emoji: ':eyes:' };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    out[k.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = argv[i + 1];
  }
  for (const k of ['url', 'userId', 'token', 'rooms']) {
    if (!out[k]) { console.error(`node-bot: --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is required`); process.exit(2); }
  }
  return out;
}

const ID_CHARS = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
/** A Meteor-style 17-character id for the messages the bot sends (as Meteor clients generate them). */
function meteorId() {
  const b = randomBytes(17);
  let s = '';
  for (let i = 0; i < 17; i++) s += ID_CHARS[b[i] % ID_CHARS.length];
  return s;
}

const opt = args(process.argv);
if (typeof globalThis.WebSocket !== 'function') {
  console.error('node-bot: no global WebSocket; run node with --experimental-websocket (Node 20)');
  process.exit(2);
}
const rooms = opt.rooms.split(',').filter(Boolean);
const sdk = DDPSDK.create(opt.url, { retryCount: 0, retryTime: 100 });
let failures = 0;

const stopAll = () => {
  try { sdk.connection.close(); } catch { /* already closed */ }
  try { sdk.timeoutControl.stop(); } catch { /* no timers */ }
  process.exit(0);
};
process.on('SIGTERM', stopAll);
process.on('SIGINT', stopAll);

await sdk.connection.connect();
await sdk.account.loginWithToken(opt.token);

// Each message is handled once: the server re-emits a root with the same _id when it gets a reply or a reaction.
const seen = new Set();
async function handle(m) {
  if (!m || m.tmid || m.t || m.u?._id === opt.userId || seen.has(m._id)) return;
  seen.add(m._id);
  try {
    if (opt.via === 'rest') {
      await sdk.rest.post('/v1/chat.postMessage', { roomId: m.rid, tmid: m._id, text: `Got it, @${m.u?.username}.` });
      await sdk.rest.post('/v1/chat.react', { messageId: m._id, emoji: opt.emoji, shouldReact: true });
    } else {
      await sdk.call('sendMessage', { _id: meteorId(), rid: m.rid, tmid: m._id, msg: `Got it, @${m.u?.username}.` });
      await sdk.call('setReaction', opt.emoji, m._id, true);
    }
  } catch (e) {
    if (failures++ < 5) console.error(`node-bot: handling ${m._id} failed: ${e?.message ?? JSON.stringify(e)}`);
  }
}

const subs = rooms.map((rid) => sdk.stream('room-messages', rid, (msg) => { handle(msg); }));
await Promise.all(subs.map((s) => s.ready()));
console.log(`node-bot ready ${JSON.stringify({ rooms: rooms.length, via: opt.via })}`);
