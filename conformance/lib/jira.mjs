// Construction of the OFFICIAL jira.js clients (pinned 4.1.3) against the simulator's two Jira flavours.
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { URLS, jiraUser, withTimeout } from './common.mjs';

const require = createRequire(import.meta.url);
export const { Version2Client, Version3Client } = require('jira.js');

export const BOT = jiraUser('dutybot');
// axios timeout: a hung simulator must fail the test, not hang it.
const baseRequestConfig = { timeout: 15000 };

/** Data Center flavour: REST v2 with `Authorization: Bearer <PAT>`. */
export const dcClient = (token = BOT.token) =>
  new Version2Client({ host: URLS.jiraDc, authentication: { personalAccessToken: token }, baseRequestConfig });

/** Cloud flavour: Basic email:api_token, v3 (ADF) or v2 (strings). */
export const cloudClient = (email = BOT.email, apiToken = BOT.token) =>
  new Version3Client({ host: URLS.jiraCloud, authentication: { basic: { email, apiToken } }, baseRequestConfig });
export const cloudV2Client = (email = BOT.email, apiToken = BOT.token) =>
  new Version2Client({ host: URLS.jiraCloud, authentication: { basic: { email, apiToken } }, baseRequestConfig });

/** Awaits a jira.js call with a deadline. */
export const call = (p, what) => withTimeout(p, 20000, what);

/** Asserts a jira.js call fails with an HttpException of the given status; returns the error body. */
export async function expectStatus(p, status, what) {
  let err;
  await assert.rejects(call(p, what), (e) => {
    err = e;
    return true;
  });
  assert.equal(err.status, status, `${what}: expected HTTP ${status}, got ${err.status} ${JSON.stringify(err.response?.data ?? err.message)}`);
  return err.response?.data;
}

export const adf = (text) => ({
  type: 'doc',
  version: 1,
  content: [{ type: 'paragraph', content: [{ type: 'text', text }] }],
});
