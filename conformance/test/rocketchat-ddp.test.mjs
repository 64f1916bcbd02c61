// Rocket.Chat realtime API (DDP over /websocket) and REST, driven by the OFFICIAL @rocket.chat/ddp-client.
// Expected behaviour: /work/shared/reference/rocketchat.md (sections 1-5, 8, 9).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, URLS, meteorId, nonce, rcRoom, rcUser, sha256hex, withTimeout } from '../lib/common.mjs';
import { closeAllDdp, closeDdp, connectDdp, lastMethodId } from '../lib/ddp.mjs';

const BOT = rcUser('dutydesk');
const ALICE = rcUser('alice');
const ROOM = rcRoom('cicd-support');
const WAIT = 10000;
const RUN = nonce();

const isDate = (d) => d && typeof d === 'object' && typeof d.$date === 'number' && d.$date > 1e12;

describe('Rocket.Chat DDP + REST through @rocket.chat/ddp-client', () => {
  let bot; // logged in with the PAT as resume token
  let alice; // logged in with username + sha-256 digest
  const botRoom = new EventLog('bot stream-room-messages/<room>');
  const botMine = new EventLog('bot stream-room-messages/__my_messages__');
  const aliceRoom = new EventLog('alice stream-room-messages/<room>');
  let aliceMsg; // a message alice sent (later the thread root)
  let botMsg; // a message the bot sent

  before(async () => {
    bot = await connectDdp('bot');
    alice = await connectDdp('alice');
  });

  after(() => closeAllDdp());

  test('connect: server answers the connect frame with connected + a session id', () => {
    const connectFrame = bot.sent.items.find((p) => p.msg === 'connect');
    assert.ok(connectFrame, 'client sent a connect frame');
    assert.equal(connectFrame.version, '1');
    const connected = bot.frames.items.find((f) => f.msg === 'connected');
    assert.ok(connected, 'received {"msg":"connected"}');
    assert.equal(typeof connected.session, 'string');
    assert.ok(connected.session.length > 0, 'session id is non-empty');
    assert.equal(bot.sdk.connection.status, 'connected');
    // Anything the server sent before `connected` must be the greeting (ignored by clients).
    const idx = bot.frames.items.indexOf(connected);
    for (const f of bot.frames.items.slice(0, idx)) {
      assert.ok(f.msg === undefined || f.msg === 'server_id', `unexpected pre-connect frame ${JSON.stringify(f)}`);
    }
  });

  test('login with the bot PAT as resume token (Account.loginWithToken)', async () => {
    const res = await withTimeout(bot.sdk.account.loginWithToken(BOT.tokens[0]), WAIT, 'login {resume: PAT}');
    assert.equal(res.id, BOT.id);
    assert.equal(res.token, BOT.tokens[0]);
    assert.equal(res.type, 'resume');
    assert.equal(bot.sdk.account.uid, BOT.id);
    assert.ok(!Number.isNaN(bot.sdk.account.user.tokenExpires.getTime()), 'tokenExpires.$date parses as a Date');
    const id = lastMethodId(bot, 'login');
    await bot.frames.waitFor((f) => f.msg === 'updated' && f.methods.includes(id), WAIT, `updated for ${id}`);
  });

  test('login with username + SHA-256 password digest (Account.loginWithPassword)', async () => {
    // The client sends `password` verbatim as {digest, algorithm:"sha-256"}: the caller passes the hex digest.
    await withTimeout(
      alice.sdk.account.loginWithPassword(ALICE.username, sha256hex(ALICE.password)),
      WAIT,
      'login {user, password:{digest}}',
    );
    const sentLogin = alice.sent.items.find((p) => p.msg === 'method' && p.method === 'login');
    assert.deepEqual(sentLogin.params[0], {
      user: { username: 'alice' },
      password: { digest: sha256hex(ALICE.password), algorithm: 'sha-256' },
    });
    assert.equal(alice.sdk.account.uid, ALICE.id);
    assert.equal(typeof alice.sdk.account.user.token, 'string');
    assert.ok(alice.sdk.account.user.token.length > 0);
    assert.ok(!Number.isNaN(alice.sdk.account.user.tokenExpires.getTime()), 'tokenExpires.$date parses');
  });

  test('the token from a password login works as a resume token on a new connection', async () => {
    const other = await connectDdp('alice-resume');
    try {
      const res = await withTimeout(
        other.sdk.account.loginWithToken(alice.sdk.account.user.token),
        WAIT,
        'login {resume: token from password login}',
      );
      assert.equal(res.id, ALICE.id);
    } finally {
      closeDdp(other);
    }
  });

  test('a bad resume token and a wrong password digest are rejected with a Meteor.Error', async () => {
    const other = await connectDdp('bad-login');
    try {
      const check = (err) => {
        assert.equal(err.errorType, 'Meteor.Error', `errorType in ${JSON.stringify(err)}`);
        assert.ok([401, 403].includes(err.error), `error code 401/403 in ${JSON.stringify(err)}`);
        assert.equal(typeof err.reason, 'string');
        assert.match(err.message, /\[\d+\]$/);
        return true;
      };
      await assert.rejects(withTimeout(other.sdk.account.loginWithToken('no-such-token'), WAIT, 'bad resume'), check);
      await assert.rejects(
        withTimeout(other.sdk.account.loginWithPassword('alice', sha256hex('wrong')), WAIT, 'bad password'),
        check,
      );
      assert.equal(other.sdk.account.uid, undefined);
    } finally {
      closeDdp(other);
    }
  });

  test('subscribe stream-room-messages for a room and for __my_messages__', async () => {
    const s1 = bot.sdk.stream('room-messages', ROOM.id, (...args) => botRoom.push(args));
    const s2 = bot.sdk.stream('room-messages', '__my_messages__', (...args) => botMine.push(args));
    const s3 = alice.sdk.stream('room-messages', ROOM.id, (...args) => aliceRoom.push(args));
    await withTimeout(Promise.all([s1.ready(), s2.ready(), s3.ready()]), WAIT, 'ready for 3 subscriptions');
    // The official client sends the object form of params[1].
    const sub = bot.sent.items.find((p) => p.msg === 'sub' && p.params[0] === ROOM.id);
    assert.equal(sub.name, 'stream-room-messages');
    assert.equal(sub.params[1].useCollection, false);
  });

  test('subscribing to a room that does not exist is refused (nosub with an error)', async () => {
    const s = bot.sdk.stream('room-messages', 'NoSuchRoomXXXXXXX', () => {});
    await assert.rejects(withTimeout(s.ready(), WAIT, 'nosub for unknown room'), (err) => {
      assert.ok(err && err.error !== undefined, `nosub carries an error object: ${JSON.stringify(err)}`);
      return true;
    });
  });

  test('bot receives the message alice sends with the sendMessage method', async () => {
    const _id = meteorId();
    const msg = `conformance ${RUN}: printer on fire`;
    const result = await withTimeout(alice.sdk.call('sendMessage', { _id, rid: ROOM.id, msg }), WAIT, 'sendMessage');
    assert.equal(result._id, _id, 'the client-chosen _id is kept');
    assert.equal(result.msg, msg);
    assert.equal(result.rid, ROOM.id);

    const [m, ...rest] = await botRoom.waitFor((a) => a[0]._id === _id, WAIT, `message ${_id}`);
    assert.equal(rest.length, 0, 'the per-room stream carries exactly one argument');
    assert.equal(m.rid, ROOM.id);
    assert.equal(m.msg, msg);
    assert.equal(m.u._id, ALICE.id);
    assert.equal(m.u.username, 'alice');
    assert.ok(isDate(m.ts), `ts is EJSON {$date:<ms>}: ${JSON.stringify(m.ts)}`);
    assert.ok(isDate(m._updatedAt), `_updatedAt is EJSON {$date}: ${JSON.stringify(m._updatedAt)}`);

    const [m2, meta] = await botMine.waitFor((a) => a[0]._id === _id, WAIT, `__my_messages__ ${_id}`);
    assert.equal(m2.msg, msg);
    assert.equal(meta.roomParticipant, true);
    assert.equal(meta.roomType, 'c');
    assert.equal(meta.roomName, ROOM.name);

    // The wire envelope of stream events.
    const frame = bot.frames.items.find(
      (f) => f.msg === 'changed' && f.fields?.eventName === ROOM.id && f.fields.args?.[0]?._id === _id,
    );
    assert.equal(frame.collection, 'stream-room-messages');
    assert.equal(frame.id, 'id');
    aliceMsg = m;
  });

  test('bot sends a message with sendMessage; it is echoed to the bot and to alice', async () => {
    const _id = meteorId();
    const msg = `conformance ${RUN}: looking into it`;
    const result = await withTimeout(bot.sdk.call('sendMessage', { _id, rid: ROOM.id, msg }), WAIT, 'sendMessage');
    assert.equal(result._id, _id);
    assert.equal(result.u._id, BOT.id);
    const [own] = await botRoom.waitFor((a) => a[0]._id === _id, WAIT, 'own echo');
    assert.equal(own.u.username, 'dutydesk');
    const [seen] = await aliceRoom.waitFor((a) => a[0]._id === _id, WAIT, 'bot message at alice');
    assert.equal(seen.msg, msg);
    botMsg = own;
  });

  test('setReaction re-emits the message with reactions, and removing it drops the key', async () => {
    assert.ok(botMsg, 'needs the bot message from the previous test');
    let from = botRoom.mark();
    await withTimeout(alice.sdk.call('setReaction', ':eyes:', botMsg._id), WAIT, 'setReaction');
    const [r] = await botRoom.waitFor(
      (a) => a[0]._id === botMsg._id && a[0].reactions,
      WAIT,
      're-emit with reactions',
      from,
    );
    assert.deepEqual(r.reactions[':eyes:'].usernames, ['alice']);
    assert.equal(r.msg, botMsg.msg, 'the re-emit is the full message');
    assert.equal(r.editedAt, undefined, 'a reaction is not an edit');
    assert.ok(r._updatedAt.$date >= botMsg._updatedAt.$date, '_updatedAt does not go backwards');

    from = botRoom.mark();
    await withTimeout(alice.sdk.call('setReaction', ':eyes:', botMsg._id, false), WAIT, 'setReaction remove');
    const [r2] = await botRoom.waitFor((a) => a[0]._id === botMsg._id, WAIT, 're-emit after unreact', from);
    assert.equal(r2.reactions, undefined, `reactions key removed with the last reaction: ${JSON.stringify(r2)}`);
  });

  test('thread reply (tmid) is delivered and the root is re-emitted with tcount/tlm/replies', async () => {
    assert.ok(aliceMsg, 'needs alice message from an earlier test');
    const from = botRoom.mark();
    const _id = meteorId();
    const msg = `conformance ${RUN}: thread reply`;
    await withTimeout(bot.sdk.call('sendMessage', { _id, rid: ROOM.id, tmid: aliceMsg._id, msg }), WAIT, 'reply');
    const [reply] = await botRoom.waitFor((a) => a[0]._id === _id, WAIT, 'thread reply', from);
    assert.equal(reply.tmid, aliceMsg._id);
    const [root] = await botRoom.waitFor(
      (a) => a[0]._id === aliceMsg._id && a[0].tcount === 1,
      WAIT,
      'root re-emit with tcount 1',
      from,
    );
    assert.ok(isDate(root.tlm), `tlm is EJSON {$date}: ${JSON.stringify(root.tlm)}`);
    assert.ok(Array.isArray(root.replies) && root.replies.includes(BOT.id), `replies has the bot: ${root.replies}`);
    assert.equal(root.msg, aliceMsg.msg);
  });

  test('a reply to a reply is flattened onto the thread root (tcount 2)', async () => {
    const reply = botRoom.items.map((a) => a[0]).find((m) => m.tmid === aliceMsg?._id);
    assert.ok(reply, 'needs the reply from the previous test');
    const from = botRoom.mark();
    const _id = meteorId();
    await withTimeout(
      alice.sdk.call('sendMessage', { _id, rid: ROOM.id, tmid: reply._id, msg: `conformance ${RUN}: nested` }),
      WAIT,
      'nested reply',
    );
    const [m] = await botRoom.waitFor((a) => a[0]._id === _id, WAIT, 'nested reply', from);
    assert.equal(m.tmid, aliceMsg._id, 'tmid points at the thread root');
    const [root] = await botRoom.waitFor((a) => a[0]._id === aliceMsg._id && a[0].tcount === 2, WAIT, 'tcount 2', from);
    assert.ok(root.replies.includes(ALICE.id));
  });

  test('sendMessage over DDP rejects attachments (check() in the current server)', async () => {
    await assert.rejects(
      withTimeout(
        bot.sdk.call('sendMessage', {
          _id: meteorId(),
          rid: ROOM.id,
          msg: 'x',
          attachments: [{ text: 'not allowed over DDP' }],
        }),
        WAIT,
        'sendMessage with attachments',
      ),
      (err) => {
        assert.equal(err.errorType, 'Meteor.Error', JSON.stringify(err));
        return true;
      },
    );
  });

  test('an unknown method gives error 404 "Method \'x\' not found"', async () => {
    await assert.rejects(withTimeout(bot.sdk.call('noSuchMethod'), WAIT, 'unknown method'), (err) => {
      assert.equal(err.error, 404, JSON.stringify(err));
      assert.equal(err.errorType, 'Meteor.Error');
      assert.match(err.reason, /Method 'noSuchMethod' not found/);
      return true;
    });
  });

  test('client ping with an id is answered by a pong echoing the id', async () => {
    const from = bot.frames.mark();
    bot.sdk.client.ddp.ping('conformance-ping-1');
    const pong = await bot.frames.waitFor((f) => f.msg === 'pong', WAIT, 'pong', from);
    assert.equal(pong.id, 'conformance-ping-1');
    // and the session is still usable
    const r = await withTimeout(bot.sdk.call('sendMessage', { _id: meteorId(), rid: ROOM.id, msg: `${RUN} after ping` }), WAIT, 'call after ping');
    assert.equal(r.rid, ROOM.id);
  });

  // ---- REST through the client's RestClient (sdk.rest, from @rocket.chat/api-client) ----

  test('REST GET /api/v1/me with the credentials of the DDP login', async () => {
    const me = await withTimeout(bot.sdk.rest.get('/v1/me'), WAIT, 'GET me');
    assert.equal(me.success, true);
    assert.equal(me._id, BOT.id);
    assert.equal(me.username, 'dutydesk');
  });

  test('REST POST /api/v1/login with user + password, then DDP resume with the returned authToken', async () => {
    const fresh = await connectDdp('rest-login');
    try {
      const res = await withTimeout(
        fresh.sdk.rest.post('/v1/login', { user: BOT.username, password: BOT.password }),
        WAIT,
        'POST login',
      );
      assert.equal(res.status, 'success');
      assert.equal(res.success, true);
      assert.equal(res.data.userId, BOT.id);
      assert.equal(typeof res.data.authToken, 'string');
      assert.equal(res.data.me.username, 'dutydesk');
      const r = await withTimeout(fresh.sdk.account.loginWithToken(res.data.authToken), WAIT, 'resume with authToken');
      assert.equal(r.id, BOT.id);
    } finally {
      closeDdp(fresh);
    }
  });

  test('REST login with a wrong password is a 401 with success:false', async () => {
    const fresh = await connectDdp('rest-bad-login');
    try {
      let response;
      await assert.rejects(
        withTimeout(fresh.sdk.rest.post('/v1/login', { user: BOT.username, password: 'wrong' }), WAIT, 'bad login'),
        (r) => {
          response = r;
          return true;
        },
      );
      assert.equal(response.status, 401);
      const body = await response.json();
      assert.equal(body.success, false);
      assert.equal(typeof body.error, 'string');
    } finally {
      closeDdp(fresh);
    }
  });

  test('REST without credentials is a 401 "You must be logged in to do this."', async () => {
    const fresh = await connectDdp('rest-anon');
    try {
      let response;
      await assert.rejects(withTimeout(fresh.sdk.rest.get('/v1/me'), WAIT, 'anonymous me'), (r) => {
        response = r;
        return true;
      });
      assert.equal(response.status, 401);
      const body = await response.json();
      assert.equal(body.success, false);
      assert.equal(body.error, 'You must be logged in to do this.');
    } finally {
      closeDdp(fresh);
    }
  });

  test('REST chat.postMessage with attachments + button actions, echoed on the stream intact', async () => {
    const text = `conformance ${RUN}: CICD-1 opened, who takes it?`;
    const attachments = [
      {
        color: '#d00',
        text: 'Pick one',
        button_alignment: 'horizontal',
        actions: [
          { type: 'button', text: 'Take', msg: `!dd take CICD-1 n=${RUN}`, msg_in_chat_window: true, msg_processing_type: 'sendMessage' },
          { type: 'button', text: 'Note', msg: '!dd note CICD-1 ', msg_in_chat_window: true, msg_processing_type: 'respondWithMessage' },
          { type: 'button', text: 'Runbook', url: 'https://wiki.example.com/runbooks/ci', is_webview: true },
        ],
      },
    ];
    const from = botRoom.mark();
    const res = await withTimeout(
      bot.sdk.rest.post('/v1/chat.postMessage', { roomId: ROOM.id, tmid: aliceMsg?._id, text, attachments }),
      WAIT,
      'chat.postMessage',
    );
    assert.equal(res.success, true);
    assert.equal(res.channel, ROOM.id);
    assert.equal(res.message.msg, text);
    assert.equal(res.message.rid, ROOM.id);
    assert.equal(res.message.tmid, aliceMsg?._id);
    assert.deepEqual(res.message.attachments[0].actions, attachments[0].actions);
    assert.equal(typeof res.message.ts, 'string', 'REST dates are ISO strings');
    assert.ok(!Number.isNaN(Date.parse(res.message.ts)));

    const [m] = await botRoom.waitFor((a) => a[0]._id === res.message._id, WAIT, 'echo of the REST post', from);
    assert.equal(m.u._id, BOT.id);
    assert.deepEqual(m.attachments[0].actions, attachments[0].actions);
    assert.equal(m.attachments[0].button_alignment, 'horizontal');
    assert.ok(isDate(m.ts), 'stream dates are EJSON');

    // A click on "Take" = alice's client sending the action's msg with sendMessage in the thread.
    const click = meteorId();
    await withTimeout(
      alice.sdk.call('sendMessage', { _id: click, rid: ROOM.id, tmid: aliceMsg._id, msg: attachments[0].actions[0].msg }),
      WAIT,
      'button click',
    );
    const [c] = await botRoom.waitFor((a) => a[0]._id === click, WAIT, 'click message');
    assert.equal(c.msg, `!dd take CICD-1 n=${RUN}`);
    assert.equal(c.u.username, 'alice');
  });

  test('no connection dropped during the run', () => {
    for (const c of [bot, alice]) {
      assert.equal(c.sdk.connection.status, 'connected', `${c.label} is still connected`);
      assert.ok(!c.status.items.includes('disconnected'), `${c.label} never disconnected`);
    }
  });
});
