// DDP heartbeat survival with the OFFICIAL @rocket.chat/ddp-client: stay idle until the server pings, let the
// client library answer with its own pong, and check that the session is still alive afterwards.
// Expected behaviour: rocketchat.md §2.2 (server pings an idle client; Meteor ~15 s, ddp-streamer 30 s).
// The client's own 30 s heartbeat timer is disabled so the server's ping is observed deterministically.
// Kept in its own file so its idle wait runs in parallel with the other files.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { meteorId, nonce, rcRoom, rcUser, withTimeout } from '../lib/common.mjs';
import { closeAllDdp, connectDdp } from '../lib/ddp.mjs';

const BOT = rcUser('dutydesk');
const ROOM = rcRoom('dba-support');
// The ddp-streamer pings after 30 s without client traffic; Meteor after ~15 s. Allow for either, plus slack.
const SERVER_PING_WITHIN_MS = 45000;

describe('DDP heartbeat with @rocket.chat/ddp-client', () => {
  after(() => closeAllDdp());

  test('the server pings an idle client, the client pongs, and the session survives', { timeout: 60000 }, async () => {
    const c = await connectDdp('heartbeat');
    await withTimeout(c.sdk.account.loginWithToken(BOT.tokens[0]), 10000, 'login');
    // The library's own heartbeat pings after 30 s without server traffic, which would race the server's ping (and
    // could reset a server's idle timer forever). Switch only that timer off; pong handling stays the library's.
    c.sdk.timeoutControl.stop();
    c.sdk.timeoutControl.reset = () => {};
    const from = c.frames.mark();
    const ping = await c.frames.waitFor((f) => f.msg === 'ping', SERVER_PING_WITHIN_MS, 'a server-initiated ping', from);
    // The client library answers pings itself (MinimalDDPClient.handleMessage → pong, echoing an id if given).
    const pong = await c.sent.waitFor((p) => p.msg === 'pong', 5000, 'the client pong');
    if (ping.id !== undefined) assert.equal(pong.id, ping.id);
    assert.equal(c.sdk.connection.status, 'connected');
    assert.ok(!c.status.items.includes('disconnected'), 'never disconnected');
    const r = await withTimeout(
      c.sdk.call('sendMessage', { _id: meteorId(), rid: ROOM.id, msg: `conformance ${nonce()}: still here` }),
      10000,
      'a method call after the heartbeat',
    );
    assert.equal(r.rid, ROOM.id);
  });
});
