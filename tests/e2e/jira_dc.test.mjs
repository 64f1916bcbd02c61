// End-to-end tests of dutydesk's Jira mirror with Jira Data Center (REST v2, users by name) in dutydesk-sim: issues
// from requests, comments both ways, statuses both ways without echo, assignees, Jira-born requests, webhook
// signatures and replays. The suite itself is jiraMirrorSuite in lib.mjs (shared with jira_cloud.test.mjs).
// Run: tests/e2e/run.sh <dutydesk-sim> <dutydesk>  (DUTYDESK_BIN unset: every test here is skipped).
// E2E_KEEP=1 keeps the temp dirs (config, dutydesk.log, dd.db).
import { jiraMirrorSuite } from './lib.mjs';

jiraMirrorSuite('datacenter', process.env.DUTYDESK_BIN);
