// Thin harness around the OFFICIAL @rocket.chat/ddp-client: it only opens/closes connections and records the
// frames the client library decoded and sent, so tests can assert on the wire as well as on the client's API.
import { createRequire } from 'node:module';
import { EventLog, URLS, withTimeout } from './common.mjs';

const require = createRequire(import.meta.url);
const { DDPSDK, RocketchatSdkLegacyImpl } = require('@rocket.chat/ddp-client');

export function assertWebSocketAvailable() {
  if (typeof globalThis.WebSocket !== 'function') {
    throw new Error('global WebSocket is missing: on Node 20 run node with --experimental-websocket (run.sh does)');
  }
}

const open = new Set();

/**
 * Opens one DDP connection with the official client. Returns { sdk, frames, sent, label } where `frames` logs
 * every frame the client received (decoded) and `sent` every payload it sent.
 */
export async function connectDdp(label, { url = URLS.rocketchat, legacy = false } = {}) {
  assertWebSocketAvailable();
  // retryCount 0: a dropped socket must show up as a failure, not be papered over by a reconnect.
  // legacy: the package's RocketchatSdkLegacyImpl (the old @rocket.chat/sdk surface, REST helpers included).
  const sdk = (legacy ? RocketchatSdkLegacyImpl : DDPSDK).create(url, { retryCount: 0, retryTime: 100 });
  const frames = new EventLog(`${label} received frames`);
  const sent = new EventLog(`${label} sent frames`);
  const status = new EventLog(`${label} connection status`);
  sdk.client.ddp.onMessage((m) => frames.push(m));
  sdk.client.ddp.on('send', (p) => sent.push(p));
  sdk.connection.on('connection', (s) => status.push(s));
  const conn = { sdk, frames, sent, status, label };
  open.add(conn);
  await withTimeout(sdk.connection.connect(), 10000, `${label}: DDP connect to ${url}/websocket`);
  return conn;
}

export function closeDdp(conn) {
  if (!conn || !open.has(conn)) return;
  open.delete(conn);
  try {
    conn.sdk.connection.close();
  } finally {
    // TimeoutControl's heartbeat/timeout timers are not stopped by close(); stop them so the process can exit.
    conn.sdk.timeoutControl.stop();
  }
}

export function closeAllDdp() {
  for (const c of [...open]) closeDdp(c);
}

/** The id of the last `method` frame the client sent for `method`. */
export function lastMethodId(conn, method) {
  const m = [...conn.sent.items].reverse().find((p) => p.msg === 'method' && p.method === method);
  return m && m.id;
}
