// dutydesk-sim stops cleanly (exit 0) on SIGTERM while dutydesk's realtime session is connected and requests exist.
// It once segfaulted there at every stop: its DDP sessions' websocket streams outlived the io_context they
// unregister from. Run: tests/e2e/run.sh <dutydesk-sim> <dutydesk>  (DUTYDESK_BIN unset: skipped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startStack, chat } from './lib.mjs';

const bin = process.env.DUTYDESK_BIN;
const skip = bin ? false : 'DUTYDESK_BIN is unset: run tests/e2e/run.sh <dutydesk-sim> <dutydesk>';

test('SIGTERM to the simulator with dutydesk connected: "dutydesk-sim stopped", exit 0', { skip }, async () => {
  const stack = await startStack({ bin, name: 'simstop' });
  try {
    const h = chat(stack);
    const a = await h.ask('alice', 'cicd-support', `a request before the simulator stops (e2e ${process.pid})`);
    await h.waitBotReactions(a.root._id, [':new:']);
    const sim = stack.sim.proc;
    const exited = once(sim, 'exit');
    sim.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.equal(signal, null, `dutydesk-sim died of ${signal}; stderr: ${stack.sim.stderr().slice(-500)}`);
    assert.equal(code, 0);
  } finally {
    await stack.stopAll();
  }
});
