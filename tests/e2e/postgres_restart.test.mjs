// End-to-end: `dutydesk serve` on PostgreSQL while its database server is restarted (fast shutdown) and killed
// (SIGKILL) under a stream of chat messages. dutydesk must wait for it: /readyz says 503 "storage unavailable" while
// it is down, dutydesk_storage_up reads 0, and afterwards every message has exactly one request (one intro, one status
// reaction) — nothing lost, nothing twice. A PostgreSQL of the test's own (scripts/pg_server.sh), so the shared one of
// the run is never disturbed. Runs in the PostgreSQL pass only (DUTYDESK_E2E_POSTGRES_URL set by scripts/test.sh).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { root, startStack, chat, intros, botReactions, formatThread, waitFor } from './lib.mjs';

const bin = process.env.DUTYDESK_BIN;
const skip = !bin ? 'DUTYDESK_BIN is unset: run tests/e2e/run.sh <dutydesk-sim> <dutydesk>'
  : !process.env.DUTYDESK_E2E_POSTGRES_URL ? 'the PostgreSQL pass only (DUTYDESK_E2E_POSTGRES_URL is unset)' : false;

const script = path.join(root, 'scripts/pg_server.sh');
function pg(cmd, dir) {
  const r = spawnSync('bash', [script, cmd, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pg_server.sh ${cmd}: ${r.stderr}`);
  return r.stdout.trim();
}

let n = 0;
const uniq = (text) => `${text} (pg ${process.pid}-${++n})`;
const CICD = 'cicd-support';
const DBA = 'dba-support';

async function readyz(stack) {
  try {
    const r = await fetch(`http://127.0.0.1:${stack.httpPort}/readyz`);
    return { status: r.status, body: await r.text() };
  } catch (e) {
    return { status: 0, body: String(e) };
  }
}

async function storageUp(stack) {
  const r = await fetch(`http://127.0.0.1:${stack.metricsPort}/metrics`);
  const m = (await r.text()).match(/^dutydesk_storage_up (\S+)$/m);
  return m ? Number(m[1]) : undefined;
}

describe('dutydesk serve while its PostgreSQL restarts', { skip }, () => {
  for (const how of ['stop', 'kill']) {
    test(`${how === 'stop' ? 'a restart' : 'a SIGKILL'} of PostgreSQL under load: /readyz reports it, nothing is lost or doubled`, async () => {
      const pgDir = mkdtempSync(path.join(tmpdir(), `dutydesk-pgrestart-${how}-`));
      const url = pg('start', pgDir);
      let stack;
      try {
        stack = await startStack({ bin, name: `pg-${how}`, storage: url, remindCicd: '1h' });
        const h = chat(stack);
        const ctl = stack.ctl;
        const first = await h.ask('alice', CICD, uniq('before the outage'));
        await h.waitBotReactions(first.root._id, [':new:']);
        assert.equal((await readyz(stack)).status, 200);
        assert.equal(await storageUp(stack), 1);

        const roots = [first.root];
        for (let i = 0; i < 3; i++) roots.push(await ctl.say(i % 2 ? 'carol' : 'alice', i % 2 ? DBA : CICD, uniq(`load ${i}`)));
        pg(how, pgDir);
        // Messages keep coming while the database is gone; dutydesk notices at its next write.
        for (let i = 3; i < 8; i++) roots.push(await ctl.say(i % 2 ? 'carol' : 'alice', i % 2 ? DBA : CICD, uniq(`load ${i}`)));
        const down = await waitFor('/readyz to report the storage outage', async () => {
          const r = await readyz(stack);
          return r.status === 503 && /storage unavailable/.test(r.body) ? r : false;
        }, { timeout: 15000 });
        assert.match(down.body, /storage unavailable/);
        assert.equal(await storageUp(stack), 0);
        pg('start', pgDir);
        await waitFor('/readyz to be 200 again', async () => (await readyz(stack)).status === 200, { timeout: 20000 });
        assert.equal(await storageUp(stack), 1);
        roots.push((await h.ask('alice', CICD, uniq('after the outage'), { timeout: 20000 })).root);

        for (const r of roots) {
          await h.waitThread(`the intro of ${r.msg}`, r._id, (t) => intros(t).length >= 1, { timeout: 30000 });
          await h.waitBotReactions(r._id, [':new:'], { timeout: 30000 });
        }
        for (const r of roots) {
          const t = await ctl.thread(r._id);
          assert.equal(intros(t).length, 1, formatThread(t));
          assert.equal(botReactions(t.root.reactions).length, 1, formatThread(t));
        }
        const log = readFileSync(stack.logPath, 'utf8');
        assert.match(log, /the database cannot be reached; waiting and retrying/);
        assert.match(log, /the database answers again/);
      } finally {
        await stack?.stopAll();
        try { pg('destroy', pgDir); } catch { /* already gone */ }
        rmSync(pgDir, { recursive: true, force: true });
      }
    });
  }
});
