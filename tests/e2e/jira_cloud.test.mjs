// End-to-end tests of dutydesk's Jira mirror with Jira Cloud (REST v3 with ADF, Basic e-mail + API token, users by
// accountId) in dutydesk-sim: the same behaviours as jira_dc.test.mjs (jiraMirrorSuite in lib.mjs), Cloud's dialect.
// Run: tests/e2e/run.sh <dutydesk-sim> <dutydesk>  (DUTYDESK_BIN unset: every test here is skipped).
// E2E_KEEP=1 keeps the temp dirs (config, dutydesk.log, dd.db).
import { jiraMirrorSuite } from './lib.mjs';

jiraMirrorSuite('cloud', process.env.DUTYDESK_BIN);
