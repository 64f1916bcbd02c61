// Jira Cloud flavour (REST v3 with ADF + v2 with strings, Basic email:api_token, users by accountId) driven by the
// OFFICIAL jira.js Version3Client / Version2Client.
// Expected behaviour: /work/shared/reference/jira.md §0-§8 (Cloud columns).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { URLS, jiraUser, nonce } from '../lib/common.mjs';
import { BOT, adf, call, cloudClient, cloudV2Client, expectStatus } from '../lib/jira.mjs';

const ALICE = jiraUser('alice');
const BOB = jiraUser('bob');
const RUN = nonce();

const description = {
  type: 'doc',
  version: 1,
  content: [
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: `Reported by Alice in chat (${RUN}): ` },
        { type: 'text', text: 'thread', marks: [{ type: 'link', attrs: { href: `http://127.0.0.1:3000/channel/cicd-support?msg=${RUN}` } }] },
      ],
    },
  ],
};

describe('Jira Cloud (v3 ADF, Basic) through jira.js Version3Client', () => {
  const jira = cloudClient();
  let issue;
  let commentId;

  test('serverInfo says Cloud', async () => {
    const info = await call(jira.serverInfo.getServerInfo(), 'serverInfo');
    assert.equal(info.deploymentType, 'Cloud');
    assert.equal(info.baseUrl, URLS.jiraCloud);
    assert.ok(Array.isArray(info.versionNumbers));
  });

  test('myself returns the bot by accountId', async () => {
    const me = await call(jira.myself.getCurrentUser(), 'myself');
    assert.equal(me.accountId, BOT.account_id);
    assert.equal(me.accountType, 'atlassian');
    assert.equal(me.displayName, BOT.display_name);
    assert.equal(me.active, true);
  });

  test('a wrong API token is a 401', async () => {
    await expectStatus(cloudClient(BOT.email, 'wrong-token').myself.getCurrentUser(), 401, 'myself with bad token');
  });

  test('create issue with an ADF description and the required custom field', async () => {
    issue = await call(
      jira.issues.createIssue({
        fields: {
          project: { key: 'CICD' },
          issuetype: { id: '10002' },
          summary: `conformance ${RUN}: runner offline`,
          description,
          labels: ['dutydesk'],
          customfield_10100: { value: 'ci' },
        },
      }),
      'createIssue',
    );
    assert.match(issue.key, /^CICD-\d+$/);
    assert.match(issue.id, /^\d+$/);
    assert.equal(issue.self, `${URLS.jiraCloud}/rest/api/3/issue/${issue.id}`);
  });

  test('get issue (v3) returns the ADF description unchanged', async () => {
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key }), 'getIssue');
    assert.equal(got.key, issue.key);
    assert.deepEqual(got.fields.description, description);
    assert.equal(got.fields.customfield_10100.value, 'ci');
    assert.equal(got.fields.status.statusCategory.key, 'new');
    assert.equal(got.fields.reporter.accountId, BOT.account_id);
    assert.equal(got.fields.reporter.name, undefined, 'Cloud users carry no name');
  });

  test('get issue through v2 on Cloud returns the description as a string', async () => {
    const got = await call(cloudV2Client().issues.getIssue({ issueIdOrKey: issue.key, fields: ['description'] }), 'v2 getIssue');
    assert.equal(typeof got.fields.description, 'string');
    assert.ok(got.fields.description.includes(`Reported by Alice in chat (${RUN})`));
  });

  test('add comments with ADF bodies (explicit doc, and a string jira.js wraps into ADF); list them', async () => {
    const body = adf(`the runner is back ${RUN}`);
    const c = await call(jira.issueComments.addComment({ issueIdOrKey: issue.key, comment: body }), 'addComment ADF');
    assert.match(c.id, /^\d+$/);
    assert.deepEqual(c.body, body);
    assert.equal(c.author.accountId, BOT.account_id);
    commentId = c.id;
    const c2 = await call(jira.issueComments.addComment({ issueIdOrKey: issue.key, comment: `plain ${RUN}` }), 'addComment str');
    assert.deepEqual(c2.body, adf(`plain ${RUN}`));
    const page = await call(jira.issueComments.getComments({ issueIdOrKey: issue.key, orderBy: 'created' }), 'getComments');
    assert.equal(page.total, 2);
    assert.deepEqual(page.comments.map((x) => x.id), [commentId, c2.id]);
    assert.deepEqual(page.comments[0].body, body);
  });

  test('transitions: start progress, then Done with a resolution', async () => {
    const t0 = await call(jira.issues.getTransitions({ issueIdOrKey: issue.key }), 'getTransitions');
    assert.deepEqual(t0.transitions.map((x) => x.id), ['11']);
    await call(jira.issues.doTransition({ issueIdOrKey: issue.key, transition: { id: '11' } }), 'transition 11');
    const t1 = await call(jira.issues.getTransitions({ issueIdOrKey: issue.key, expand: 'transitions.fields' }), 'getTransitions');
    const done = t1.transitions.find((x) => x.id === '31');
    assert.ok(done, 'Done available from In Progress');
    assert.equal(done.to.statusCategory.key, 'done');
    assert.equal(done.fields.resolution.required, true);
    await expectStatus(jira.issues.doTransition({ issueIdOrKey: issue.key, transition: { id: '31' } }), 400, 'Done without resolution');
    await call(
      jira.issues.doTransition({
        issueIdOrKey: issue.key,
        transition: { id: '31' },
        fields: { resolution: { name: 'Done' } },
      }),
      'Done with resolution',
    );
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key, fields: ['status', 'resolution'] }), 'getIssue');
    assert.equal(got.fields.status.name, 'Done');
    assert.equal(got.fields.resolution.name, 'Done');
  });

  test('assign by accountId', async () => {
    await call(jira.issues.assignIssue({ issueIdOrKey: issue.key, accountId: BOB.account_id }), 'assignIssue');
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key, fields: ['assignee'] }), 'getIssue');
    assert.equal(got.fields.assignee.accountId, BOB.account_id);
    assert.equal(got.fields.assignee.displayName, BOB.display_name);
  });

  test('remote link create + list', async () => {
    const globalId = `dutydesk:thread:${RUN}`;
    const created = await call(
      jira.issueRemoteLinks.createOrUpdateRemoteIssueLink({
        issueIdOrKey: issue.key,
        globalId,
        application: { type: 'com.example.dutydesk', name: 'DutyDesk' },
        relationship: 'chat thread',
        object: { url: `http://127.0.0.1:3000/channel/cicd-support?msg=${RUN}`, title: '#cicd-support thread', status: { resolved: false } },
      }),
      'create remotelink',
    );
    assert.equal(typeof created.id, 'number');
    const list = await call(jira.issueRemoteLinks.getRemoteIssueLinks({ issueIdOrKey: issue.key, globalId }), 'get by globalId');
    const links = Array.isArray(list) ? list : [list];
    assert.equal(links[0].globalId, globalId);
    assert.equal(links[0].id, created.id);
  });

  test('enhanced search GET /rest/api/3/search/jql (searchForIssuesUsingJqlEnhancedSearch)', async () => {
    const res = await call(
      jira.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
        jql: 'project = CICD ORDER BY created DESC',
        fields: ['summary', 'status', 'assignee'],
        maxResults: 50,
      }),
      'search/jql',
    );
    assert.ok(Array.isArray(res.issues));
    assert.equal(res.total, undefined, 'enhanced search has no total');
    assert.equal(typeof res.isLast, 'boolean');
    const hit = res.issues.find((i) => i.key === issue.key);
    assert.ok(hit, `${issue.key} found`);
    assert.equal(hit.fields.summary, `conformance ${RUN}: runner offline`);
    assert.equal(hit.fields.assignee.accountId, BOB.account_id);
  });

  test('jira.js 4.1.3 searchForIssuesUsingJqlEnhancedSearchPost posts to the removed /rest/api/3/search: 410 like real Cloud', async () => {
    const body = await expectStatus(
      jira.issueSearch.searchForIssuesUsingJqlEnhancedSearchPost({ jql: 'project = CICD' }),
      410,
      'POST /rest/api/3/search',
    );
    assert.ok(
      (body?.errorMessages ?? []).some((m) => m.includes('/rest/api/3/search/jql')),
      `410 body names the replacement: ${JSON.stringify(body)}`,
    );
  });

  test('enhanced search paging follows nextPageToken until isLast', async () => {
    const summaries = [];
    for (let i = 0; i < 3; i++) {
      const s = `conformance ${RUN} page ${i}`;
      await call(jira.issues.createIssue({ fields: { project: { key: 'DBA' }, issuetype: { id: '10002' }, summary: s } }), 'create');
      summaries.push(s);
    }
    const jql = `project = DBA AND summary ~ "${RUN}" ORDER BY created ASC`;
    const seen = [];
    let nextPageToken;
    for (let i = 0; i < 10; i++) {
      const page = await call(
        jira.issueSearch.searchForIssuesUsingJqlEnhancedSearch({ jql, maxResults: 2, fields: ['summary'], nextPageToken }),
        'page',
      );
      seen.push(...page.issues.map((x) => x.fields.summary));
      if (page.isLast) {
        assert.equal(page.nextPageToken, undefined, 'no nextPageToken on the last page');
        break;
      }
      assert.equal(typeof page.nextPageToken, 'string', 'nextPageToken while not isLast');
      nextPageToken = page.nextPageToken;
    }
    assert.deepEqual(seen, summaries);
  });

  test('changelog (v3): the status transition appears in histories with accountId authors', async () => {
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key, expand: 'changelog' }), 'getIssue changelog');
    const h = got.changelog.histories.find((x) => x.items.some((i) => i.field === 'status' && i.toString === 'Done'));
    assert.ok(h, `Done transition in ${JSON.stringify(got.changelog).slice(0, 400)}`);
    assert.equal(h.author.accountId, BOT.account_id);
  });

  test('user search by query returns accountIds', async () => {
    const users = await call(jira.userSearch.findUsers({ query: 'alice' }), 'user search');
    const a = users.find((u) => u.accountId === ALICE.account_id);
    assert.ok(a, `alice in ${JSON.stringify(users)}`);
    assert.equal(a.displayName, ALICE.display_name);
    const assignable = await call(
      jira.userSearch.findAssignableUsers({ issueKey: issue.key, query: 'bob' }),
      'assignable search',
    );
    assert.ok(assignable.some((u) => u.accountId === BOB.account_id));
  });

  test('issue property round-trip', async () => {
    const value = { threadId: RUN, origin: 'chat' };
    await call(jira.issueProperties.setIssueProperty({ issueIdOrKey: issue.key, propertyKey: 'dutydesk', propertyValue: value }), 'set');
    const p = await call(jira.issueProperties.getIssueProperty({ issueIdOrKey: issue.key, propertyKey: 'dutydesk' }), 'get');
    assert.deepEqual(p.value, value);
  });

  test('v3 comment ids are usable for comment properties', async () => {
    const cv = { origin: 'chat', chatMessageId: `m-${RUN}` };
    await call(jira.issueCommentProperties.setCommentProperty({ commentId, propertyKey: 'dutydesk', property: cv }), 'set');
    const cp = await call(jira.issueCommentProperties.getCommentProperty({ commentId, propertyKey: 'dutydesk' }), 'get');
    assert.deepEqual(cp.value, cv);
  });
});
