// Rocket.Chat REST + DDP through RocketchatSdkLegacyImpl, the bot-driver surface shipped in the OFFICIAL
// @rocket.chat/ddp-client (users.info, rooms.info, channels.info, im.create, chat.sendMessage, chat.update, chat.react,
// chat.syncMessages, channels.join, subscribeRoom with notify-room deleteMessage).
// Expected behaviour: /work/shared/reference/rocketchat.md §2.4-§2.6, §3, §4.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, meteorId, nonce, rcRoom, rcUser, withTimeout } from '../lib/common.mjs';
import { closeAllDdp, connectDdp } from '../lib/ddp.mjs';

const BOT = rcUser('dutydesk');
const ALICE = rcUser('alice');
const ROOM = rcRoom('dba-support');
const GENERAL = rcRoom('general'); // public; the bot is NOT a member in the seed
const WAIT = 10000;
const RUN = nonce();

const isDate = (d) => d && typeof d === 'object' && typeof d.$date === 'number';
const isIso = (s) => typeof s === 'string' && !Number.isNaN(Date.parse(s)) && s.endsWith('Z');

/** Runs a RestClient call that must fail; returns {status, body}. */
async function restError(p, what) {
  let response;
  await assert.rejects(withTimeout(p, WAIT, what), (r) => {
    response = r;
    return true;
  });
  assert.equal(typeof response?.status, 'number', `${what}: rejected with a Response, got ${response}`);
  return { status: response.status, body: await response.json() };
}

describe('Rocket.Chat through RocketchatSdkLegacyImpl (@rocket.chat/ddp-client)', () => {
  let bot;
  let alice;
  const botMine = new EventLog('bot __my_messages__');
  const botRoomMsgs = new EventLog('bot subscribeRoom messages');
  const botDeletes = new EventLog('bot subscribeRoom deleteMessage');
  const aliceGeneral = new EventLog('alice general room');
  let dmRid;
  let sent; // a message the bot sent with chat.sendMessage

  before(async () => {
    bot = await connectDdp('legacy-bot', { legacy: true });
    alice = await connectDdp('legacy-alice');
    await withTimeout(bot.sdk.resume({ token: BOT.tokens[0] }), WAIT, 'bot resume');
    await withTimeout(alice.sdk.account.loginWithToken(ALICE.tokens[0]), WAIT, 'alice resume');
  });

  after(() => closeAllDdp());

  test('users.info by username', async () => {
    const r = await withTimeout(bot.sdk.users.info('alice'), WAIT, 'users.info');
    assert.equal(r.success, true);
    assert.equal(r.user._id, ALICE.id);
    assert.equal(r.user.username, 'alice');
    assert.equal(r.user.name, ALICE.name);
    assert.equal(r.user.active, true);
    const { status, body } = await restError(bot.sdk.users.info('nobody-here'), 'users.info unknown');
    assert.equal(status, 400);
    assert.equal(body.success, false);
    assert.equal(body.error, 'User not found.');
  });

  test('rooms.info and channels.info', async () => {
    const r = await withTimeout(bot.sdk.rooms.info({ roomId: ROOM.id }), WAIT, 'rooms.info');
    assert.equal(r.success, true);
    assert.equal(r.room._id, ROOM.id);
    assert.equal(r.room.t, 'c');
    assert.equal(r.room.name, ROOM.name);
    const c = await withTimeout(bot.sdk.channelInfo({ roomName: ROOM.name }), WAIT, 'channels.info');
    assert.equal(c.success, true);
    assert.equal(c.channel._id, ROOM.id);
  });

  test('im.create: rid is the sorted pair of user ids, and the call is idempotent', async () => {
    const r = await withTimeout(bot.sdk.dm.create('alice'), WAIT, 'im.create');
    assert.equal(r.success, true);
    const expected = [BOT.id, ALICE.id].sort().join('');
    assert.equal(r.room.rid, expected);
    assert.equal(r.room._id, expected);
    assert.equal(r.room.t, 'd');
    assert.deepEqual([...r.room.usernames].sort(), ['alice', 'dutydesk']);
    const again = await withTimeout(bot.sdk.dm.create('alice'), WAIT, 'im.create again');
    assert.equal(again.room.rid, expected);
    dmRid = expected;
  });

  test('__my_messages__: a DM arrives with roomType d and no roomName', async () => {
    const s = bot.sdk.stream('room-messages', '__my_messages__', (...args) => botMine.push(args));
    await withTimeout(s.ready(), WAIT, '__my_messages__ ready');
    const _id = meteorId();
    await withTimeout(alice.sdk.call('sendMessage', { _id, rid: dmRid, msg: `dm ${RUN}` }), WAIT, 'alice DM');
    const [m, meta] = await botMine.waitFor((a) => a[0]._id === _id, WAIT, 'DM on __my_messages__');
    assert.equal(m.rid, dmRid);
    assert.equal(meta.roomType, 'd');
    assert.equal(meta.roomParticipant, true);
    assert.equal(meta.roomName, undefined);
  });

  test('__my_messages__: a public channel the bot has not joined arrives with roomParticipant:false', async () => {
    const s = alice.sdk.stream('room-messages', GENERAL.id, (...args) => aliceGeneral.push(args));
    await withTimeout(s.ready(), WAIT, 'alice general ready');
    const _id = meteorId();
    await withTimeout(alice.sdk.call('sendMessage', { _id, rid: GENERAL.id, msg: `general ${RUN}` }), WAIT, 'post in general');
    const [, meta] = await botMine.waitFor((a) => a[0]._id === _id, WAIT, 'general message on __my_messages__');
    assert.equal(meta.roomParticipant, false);
    assert.equal(meta.roomType, 'c');
    assert.equal(meta.roomName, GENERAL.name);
  });

  test('chat.sendMessage keeps the client-chosen _id; subscribeRoom delivers the echo', async () => {
    await withTimeout(bot.sdk.subscribeRoom(ROOM.id), WAIT, 'subscribeRoom');
    bot.sdk.onMessage((args) => botRoomMsgs.push(args));
    bot.sdk.onStreamData('deleteMessage', (args) => botDeletes.push(args));
    const _id = meteorId();
    const r = await withTimeout(bot.sdk.sendMessage({ _id, msg: `legacy ${RUN}` }, ROOM.id), WAIT, 'chat.sendMessage');
    assert.equal(r.success, true);
    assert.equal(r.message._id, _id);
    assert.equal(r.message.rid, ROOM.id);
    assert.ok(isIso(r.message.ts), `REST ts is ISO: ${r.message.ts}`);
    const [m] = await botRoomMsgs.waitFor((a) => a[0]._id === _id, WAIT, 'echo');
    assert.ok(isDate(m.ts));
    sent = m;
  });

  test('chat.update edits the text; the stream re-emits with editedAt/editedBy', async () => {
    const from = botRoomMsgs.mark();
    const text = `legacy ${RUN} (edited)`;
    const r = await withTimeout(bot.sdk.editMessage({ roomId: ROOM.id, msgId: sent._id, text }), WAIT, 'chat.update');
    assert.equal(r.success, true);
    assert.equal(r.message.msg, text);
    assert.ok(isIso(r.message.editedAt), `editedAt ISO in REST: ${r.message.editedAt}`);
    assert.equal(r.message.editedBy.username, 'dutydesk');
    const [m] = await botRoomMsgs.waitFor((a) => a[0]._id === sent._id && a[0].msg === text, WAIT, 'edit re-emit', from);
    assert.ok(isDate(m.editedAt), 'editedAt is EJSON on the stream');
    assert.equal(m.editedBy._id, BOT.id);
  });

  test('chat.react toggles a reaction; the stream re-emits it', async () => {
    const from = botRoomMsgs.mark();
    const r = await withTimeout(bot.sdk.setReaction(':eyes:', sent._id), WAIT, 'chat.react');
    assert.deepEqual(r, { success: true });
    const [m] = await botRoomMsgs.waitFor((a) => a[0]._id === sent._id && a[0].reactions, WAIT, 'reaction re-emit', from);
    assert.deepEqual(m.reactions[':eyes:'].usernames, ['dutydesk']);
  });

  test('chat.syncMessages (loadHistory) returns updated messages with ISO dates', async () => {
    const r = await withTimeout(bot.sdk.loadHistory(ROOM.id, new Date(Date.now() - 10 * 60000)), WAIT, 'chat.syncMessages');
    assert.equal(r.success, true);
    assert.ok(Array.isArray(r.result.updated));
    assert.ok(Array.isArray(r.result.deleted));
    const m = r.result.updated.find((x) => x._id === sent._id);
    assert.ok(m, 'the sent message is in result.updated');
    assert.ok(isIso(m.ts) && isIso(m._updatedAt));
    assert.equal(m.msg, `legacy ${RUN} (edited)`);
  });

  test('deleteMessage fires stream-notify-room <rid>/deleteMessage with {_id}', async () => {
    const _id = meteorId();
    await withTimeout(bot.sdk.sendMessage({ _id, msg: `to delete ${RUN}` }, ROOM.id), WAIT, 'post');
    await withTimeout(bot.sdk.methodCall('deleteMessage', { _id }), WAIT, 'deleteMessage');
    const [d] = await botDeletes.waitFor((a) => a[0]?._id === _id, WAIT, 'deleteMessage event');
    assert.equal(d._id, _id);
  });

  test('REST validation: an unknown key is a 400 invalid-params', async () => {
    const { status, body } = await restError(
      bot.sdk.rest.post('/v1/chat.postMessage', { roomId: ROOM.id, text: 'x', bogus: 1 }),
      'postMessage with unknown key',
    );
    assert.equal(status, 400);
    assert.equal(body.success, false);
    assert.equal(body.errorType, 'invalid-params');
  });

  test('chat.postMessage to "#name" echoes the channel string', async () => {
    const r = await withTimeout(
      bot.sdk.rest.post('/v1/chat.postMessage', { channel: `#${ROOM.name}`, text: `by name ${RUN}` }),
      WAIT,
      'postMessage #name',
    );
    assert.equal(r.success, true);
    assert.equal(r.channel, `#${ROOM.name}`);
    assert.equal(r.message.rid, ROOM.id);
    assert.equal(r.message.groupable, false);
  });

  test('channels.join: the bot joins general, a uj system message is broadcast, then it is a participant', async () => {
    const from = aliceGeneral.mark();
    const r = await withTimeout(bot.sdk.joinRoom({ rid: GENERAL.id }), WAIT, 'channels.join');
    assert.equal(r.success, true);
    assert.equal(r.channel._id, GENERAL.id);
    const [uj] = await aliceGeneral.waitFor((a) => a[0].t === 'uj' && a[0].u?._id === BOT.id, WAIT, 'uj message', from);
    assert.equal(uj.rid, GENERAL.id);
    const _id = meteorId();
    await withTimeout(alice.sdk.call('sendMessage', { _id, rid: GENERAL.id, msg: `after join ${RUN}` }), WAIT, 'post');
    const [, meta] = await botMine.waitFor((a) => a[0]._id === _id, WAIT, 'general after join');
    assert.equal(meta.roomParticipant, true);
  });

  test('unsub is answered with nosub', async () => {
    const s = bot.sdk.stream('room-messages', ROOM.id, () => {});
    await withTimeout(s.ready(), WAIT, 'ready');
    const res = await withTimeout(bot.sdk.client.unsubscribe(s.id), WAIT, 'nosub after unsub');
    assert.equal(res.msg, 'nosub');
    assert.equal(res.id, s.id);
  });
});
