// Shared helpers for the conformance suite: where the simulator and Prism listen, the seed, and small
// event/timeout utilities. No sleeps: waiting is always event-driven or bounded polling with a deadline.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONFORMANCE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = resolve(CONFORMANCE_DIR, '..');

const env = (name, fallback) => process.env[name] || fallback;

// Fixed loopback ports used by run.sh (overridable for ad-hoc runs).
export const URLS = {
  rocketchat: env('DD_RC_URL', 'http://127.0.0.1:13000'),
  jiraDc: env('DD_JIRA_DC_URL', 'http://127.0.0.1:13080'),
  jiraCloud: env('DD_JIRA_CLOUD_URL', 'http://127.0.0.1:13082'),
  oncall: env('DD_ONCALL_URL', 'http://127.0.0.1:13081'),
  control: env('DD_CONTROL_URL', 'http://127.0.0.1:13099'),
  prismV3: env('DD_PRISM_V3_URL', 'http://127.0.0.1:14010'),
  prismV2: env('DD_PRISM_V2_URL', 'http://127.0.0.1:14011'),
};

export const SEED_PATH = env('DD_SEED', resolve(REPO_DIR, 'sim/seed/demo.json'));
export const SEED = JSON.parse(readFileSync(SEED_PATH, 'utf8'));

export function rcUser(username) {
  const u = SEED.rocketchat.users.find((x) => x.username === username);
  if (!u) throw new Error(`seed has no Rocket.Chat user ${username}`);
  return u;
}

export function rcRoom(name) {
  const r = SEED.rocketchat.rooms.find((x) => x.name === name);
  if (!r) throw new Error(`seed has no Rocket.Chat room ${name}`);
  return r;
}

export function jiraUser(name) {
  const u = SEED.jira.users.find((x) => x.name === name);
  if (!u) throw new Error(`seed has no Jira user ${name}`);
  return u;
}

export const sha256hex = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

const METEOR_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
/** A Meteor Random.id()-style id (17 chars of the unambiguous alphabet), as Rocket.Chat clients generate. */
export function meteorId(len = 17) {
  const bytes = randomBytes(len);
  let out = '';
  for (let i = 0; i < len; i++) out += METEOR_ALPHABET[bytes[i] % METEOR_ALPHABET.length];
  return out;
}

/** A short unique marker to put into texts, so concurrent test files never confuse each other's traffic. */
export const nonce = () => randomBytes(6).toString('hex');

/** Rejects after `ms` with a message naming what was awaited. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Collects events (e.g. stream callbacks) and lets a test wait for the first one matching a predicate,
 * whether it already arrived or arrives later.
 */
export class EventLog {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.pred(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  }

  /** The number of events so far; pass it as `from` to wait only for later events. */
  mark() {
    return this.items.length;
  }

  /** Resolves with the first event at index >= `from` (past or future) for which `pred` is true. */
  waitFor(pred, ms, what, from = 0) {
    const hit = this.items.slice(from).find(pred);
    if (hit) return Promise.resolve(hit);
    let entry;
    const p = new Promise((resolve) => {
      entry = { pred, resolve };
      this.waiters.push(entry);
    });
    return withTimeout(p, ms, `${what} on ${this.name}`).finally(() => {
      const i = this.waiters.indexOf(entry);
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }
}

/** fetch with a hard timeout; returns {status, headers, text, json}. */
export async function http(url, { method = 'GET', headers = {}, body, timeoutMs = 15000 } = {}) {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The simulator's control API (used only where a human action is needed). */
export async function control(system, path, { method = 'GET', body } = {}) {
  return http(`${URLS.control}/control/${system}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
