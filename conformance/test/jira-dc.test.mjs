// Jira Data Center flavour (REST v2, Bearer PAT, users by name) driven by the OFFICIAL jira.js Version2Client.
// Expected behaviour: /work/shared/reference/jira.md §0-§6, §8; the seed's CICD project and workflow.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { URLS, jiraUser, nonce } from '../lib/common.mjs';
import { BOT, call, dcClient, expectStatus } from '../lib/jira.mjs';

const ALICE = jiraUser('alice');
const RUN = nonce();

describe('Jira DC (v2, PAT) through jira.js Version2Client', () => {
  const jira = dcClient();
  let issue; // {id, key, self}
  let commentId;

  test('serverInfo says Server (not Cloud), Jira 9.x, base URL of this listener', async () => {
    const info = await call(jira.serverInfo.getServerInfo(), 'serverInfo');
    assert.notEqual(info.deploymentType, 'Cloud');
    assert.equal(info.deploymentType, 'Server');
    assert.equal(info.versionNumbers[0], 9, `versionNumbers ${JSON.stringify(info.versionNumbers)}`);
    assert.match(info.version, /^9\./);
    assert.equal(info.baseUrl, URLS.jiraDc);
  });

  test('myself returns the bot by name and key', async () => {
    const me = await call(jira.myself.getCurrentUser(), 'myself');
    assert.equal(me.name, BOT.name);
    assert.equal(me.key, BOT.key);
    assert.equal(me.displayName, BOT.display_name);
    assert.equal(me.emailAddress, BOT.email);
    assert.equal(me.active, true);
  });

  test('a wrong PAT is a 401', async () => {
    await expectStatus(dcClient('not-a-valid-token').myself.getCurrentUser(), 401, 'myself with bad PAT');
  });

  test('create issue without the project\'s required custom field is a 400 naming the field', async () => {
    const body = await expectStatus(
      jira.issues.createIssue({
        fields: { project: { key: 'CICD' }, issuetype: { name: 'Task' }, summary: `conformance ${RUN} missing field` },
      }),
      400,
      'create without customfield_10100',
    );
    assert.ok(body.errors && body.errors.customfield_10100, `errors.customfield_10100 in ${JSON.stringify(body)}`);
  });

  test('create issue with the required select custom field', async () => {
    issue = await call(
      jira.issues.createIssue({
        fields: {
          project: { key: 'CICD' },
          issuetype: { name: 'Task' },
          summary: `conformance ${RUN}: pipeline stuck (from #cicd-support)`,
          description: `Reported by @alice in chat.\nhttp://127.0.0.1:3000/channel/cicd-support?msg=${RUN}`,
          labels: ['dutydesk', 'from-chat'],
          customfield_10100: { value: 'pipeline' },
        },
      }),
      'createIssue',
    );
    assert.match(issue.key, /^CICD-\d+$/);
    assert.match(issue.id, /^\d+$/, 'id is a numeric string');
    assert.equal(issue.self, `${URLS.jiraDc}/rest/api/2/issue/${issue.id}`);
  });

  test('get issue round-trips the fields', async () => {
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key }), 'getIssue');
    assert.equal(got.key, issue.key);
    assert.equal(got.id, issue.id);
    const f = got.fields;
    assert.equal(f.summary, `conformance ${RUN}: pipeline stuck (from #cicd-support)`);
    assert.equal(typeof f.description, 'string', 'DC description is a string');
    assert.ok(f.description.includes('Reported by @alice'));
    assert.deepEqual([...f.labels].sort(), ['dutydesk', 'from-chat']);
    assert.equal(f.customfield_10100.value, 'pipeline');
    assert.equal(f.project.key, 'CICD');
    assert.equal(f.issuetype.name, 'Task');
    assert.equal(f.status.name, 'To Do');
    assert.equal(f.status.statusCategory.key, 'new');
    assert.equal(f.resolution, null);
    assert.equal(f.reporter.name, BOT.name);
    // fields filter
    const some = await call(jira.issues.getIssue({ issueIdOrKey: issue.key, fields: ['summary', 'status'] }), 'getIssue fields');
    assert.ok(some.fields.summary);
    assert.equal(some.fields.labels, undefined, 'fields= limits the returned fields');
  });

  test('add a comment (string body) and list it', async () => {
    const body = `*alice* (chat): still stuck ${RUN}\n\n—via dutydesk`;
    const c = await call(jira.issueComments.addComment({ issueIdOrKey: issue.key, comment: body }), 'addComment');
    assert.match(c.id, /^\d+$/);
    assert.equal(c.body, body);
    assert.equal(c.author.name, BOT.name);
    assert.equal(typeof c.created, 'string');
    commentId = c.id;
    const page = await call(jira.issueComments.getComments({ issueIdOrKey: issue.key }), 'getComments');
    assert.ok(page.total >= 1);
    assert.equal(page.startAt, 0);
    const found = page.comments.find((x) => x.id === commentId);
    assert.ok(found, 'new comment is listed');
    assert.equal(found.body, body);
    const one = await call(jira.issueComments.getComment({ issueIdOrKey: issue.key, id: commentId }), 'getComment');
    assert.equal(one.body, body);
  });

  test('transitions: only "Start progress" from To Do; do it', async () => {
    const t = await call(jira.issues.getTransitions({ issueIdOrKey: issue.key, expand: 'transitions.fields' }), 'getTransitions');
    assert.deepEqual(t.transitions.map((x) => x.id), ['11']);
    assert.equal(t.transitions[0].to.name, 'In Progress');
    assert.equal(t.transitions[0].to.statusCategory.key, 'indeterminate');
    await call(jira.issues.doTransition({ issueIdOrKey: issue.key, transition: { id: '11' } }), 'doTransition 11');
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key, fields: ['status'] }), 'getIssue');
    assert.equal(got.fields.status.name, 'In Progress');
  });

  test('Done requires a resolution: rejected without, accepted with', async () => {
    const t = await call(jira.issues.getTransitions({ issueIdOrKey: issue.key, expand: 'transitions.fields' }), 'getTransitions');
    const ids = t.transitions.map((x) => x.id).sort();
    assert.deepEqual(ids, ['21', '31']);
    const done = t.transitions.find((x) => x.id === '31');
    assert.equal(done.fields.resolution.required, true);
    assert.ok(done.fields.resolution.allowedValues.some((v) => v.name === 'Done'));

    await expectStatus(
      jira.issues.doTransition({ issueIdOrKey: issue.key, transition: { id: '31' } }),
      400,
      'Done without resolution',
    );
    await call(
      jira.issues.doTransition({ issueIdOrKey: issue.key, transition: { id: '31' }, fields: { resolution: { name: 'Done' } } }),
      'Done with resolution',
    );
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key }), 'getIssue');
    assert.equal(got.fields.status.name, 'Done');
    assert.equal(got.fields.status.statusCategory.key, 'done');
    assert.equal(got.fields.resolution.name, 'Done');
  });

  test('a transition not available from the current status is a 400', async () => {
    await expectStatus(
      jira.issues.doTransition({ issueIdOrKey: issue.key, transition: { id: '21' } }),
      400,
      'Wait for customer from Done',
    );
  });

  test('assign by user name', async () => {
    await call(jira.issues.assignIssue({ issueIdOrKey: issue.key, name: ALICE.name }), 'assignIssue');
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key, fields: ['assignee'] }), 'getIssue');
    assert.equal(got.fields.assignee.name, ALICE.name);
    assert.equal(got.fields.assignee.key, ALICE.key);
    assert.equal(got.fields.assignee.displayName, ALICE.display_name);
  });

  test('remote link: create, list, and update by globalId', async () => {
    const globalId = `dutydesk:thread:${RUN}`;
    const link = {
      issueIdOrKey: issue.key,
      globalId,
      application: { type: 'com.example.dutydesk', name: 'DutyDesk' },
      relationship: 'chat thread',
      object: { url: `http://127.0.0.1:3000/channel/cicd-support?msg=${RUN}`, title: '#cicd-support thread' },
    };
    const created = await call(jira.issueRemoteLinks.createOrUpdateRemoteIssueLink(link), 'create remotelink');
    assert.equal(typeof created.id, 'number');
    assert.equal(typeof created.self, 'string');
    const list = await call(jira.issueRemoteLinks.getRemoteIssueLinks({ issueIdOrKey: issue.key }), 'get remotelinks');
    const found = list.find((l) => l.globalId === globalId);
    assert.ok(found, 'link listed');
    assert.equal(found.object.url, link.object.url);
    assert.equal(found.object.title, link.object.title);
    assert.equal(found.relationship, 'chat thread');
    const again = await call(
      jira.issueRemoteLinks.createOrUpdateRemoteIssueLink({ ...link, object: { ...link.object, title: 'renamed' } }),
      'update remotelink',
    );
    assert.equal(again.id, created.id, 'same globalId updates the same link');
    const list2 = await call(jira.issueRemoteLinks.getRemoteIssueLinks({ issueIdOrKey: issue.key }), 'get remotelinks');
    assert.equal(list2.filter((l) => l.globalId === globalId).length, 1);
    assert.equal(list2.find((l) => l.globalId === globalId).object.title, 'renamed');
  });

  test('search: POST /rest/api/2/search with startAt/total paging', async () => {
    const res = await call(
      jira.issueSearch.searchForIssuesUsingJqlPost({
        jql: 'project = CICD ORDER BY created DESC',
        startAt: 0,
        maxResults: 50,
        fields: ['summary', 'status', 'assignee', 'updated'],
      }),
      'search POST',
    );
    assert.equal(res.startAt, 0);
    assert.equal(res.maxResults, 50);
    assert.equal(typeof res.total, 'number');
    assert.ok(res.total >= 1);
    const hit = res.issues.find((i) => i.key === issue.key);
    assert.ok(hit, `${issue.key} in results`);
    assert.equal(hit.fields.status.name, 'Done');
    assert.equal(hit.fields.assignee.name, ALICE.name);
    assert.equal(res.issues[0].key, issue.key, 'ORDER BY created DESC puts the newest first');
  });

  test('search: GET /rest/api/2/search with key = …', async () => {
    const res = await call(
      jira.issueSearch.searchForIssuesUsingJql({ jql: `key = ${issue.key}`, fields: ['summary'] }),
      'search GET',
    );
    assert.equal(res.total, 1);
    assert.equal(res.issues[0].key, issue.key);
    assert.ok(res.issues[0].fields.summary.includes(RUN));
  });

  test('user search by username (DC)', async () => {
    const users = await call(jira.userSearch.findUsers({ username: 'alice' }), 'user search');
    const a = users.find((u) => u.name === ALICE.name);
    assert.ok(a, `alice in ${JSON.stringify(users)}`);
    assert.equal(a.key, ALICE.key);
  });

  test('issue and comment entity properties round-trip', async () => {
    const value = { threadId: RUN, origin: 'chat' };
    await call(
      jira.issueProperties.setIssueProperty({ issueIdOrKey: issue.key, propertyKey: 'dutydesk', propertyValue: value }),
      'set issue property',
    );
    const p = await call(jira.issueProperties.getIssueProperty({ issueIdOrKey: issue.key, propertyKey: 'dutydesk' }), 'get issue property');
    assert.equal(p.key, 'dutydesk');
    assert.deepEqual(p.value, value);
    const cv = { origin: 'chat', chatMessageId: `m-${RUN}` };
    await call(
      jira.issueCommentProperties.setCommentProperty({ commentId, propertyKey: 'dutydesk', property: cv }),
      'set comment property',
    );
    const cp = await call(jira.issueCommentProperties.getCommentProperty({ commentId, propertyKey: 'dutydesk' }), 'get comment property');
    assert.deepEqual(cp.value, cv);
  });

  test('createmeta: issue types of CICD and its required custom field', async () => {
    const types = await call(jira.issues.getCreateIssueMetaIssueTypes({ projectIdOrKey: 'CICD' }), 'createmeta issuetypes');
    // DC pages use `values` (jira.md §2.5).
    assert.ok(Array.isArray(types.values), `values[] in ${JSON.stringify(types).slice(0, 300)}`);
    const task = types.values.find((t) => t.name === 'Task');
    assert.ok(task);
    const fields = await call(
      jira.issues.getCreateIssueMetaIssueTypeId({ projectIdOrKey: 'CICD', issueTypeId: task.id }),
      'createmeta fields',
    );
    const cf = fields.values.find((f) => f.fieldId === 'customfield_10100');
    assert.ok(cf, 'customfield_10100 on the create screen');
    assert.equal(cf.required, true);
    assert.ok(cf.allowedValues.some((v) => v.value === 'pipeline'));
  });

  test('changelog: the status transitions and the resolution appear in histories', async () => {
    const got = await call(jira.issues.getIssue({ issueIdOrKey: issue.key, expand: 'changelog' }), 'getIssue changelog');
    const items = got.changelog.histories.flatMap((h) => h.items.map((i) => ({ ...i, author: h.author })));
    const start = items.find((i) => i.field === 'status' && i.toString === 'In Progress');
    assert.ok(start, `status To Do -> In Progress in ${JSON.stringify(got.changelog).slice(0, 400)}`);
    assert.equal(start.fromString, 'To Do');
    assert.equal(start.author.name, BOT.name);
    assert.ok(items.some((i) => i.field === 'status' && i.toString === 'Done'));
    assert.ok(items.some((i) => i.field === 'resolution' && i.toString === 'Done'));
  });

  test('search paging with startAt/maxResults walks all issues of a project once', async () => {
    const summaries = [];
    for (let i = 0; i < 3; i++) {
      const s = `conformance ${RUN} page ${i}`;
      await call(jira.issues.createIssue({ fields: { project: { key: 'DBA' }, issuetype: { name: 'Task' }, summary: s } }), 'create');
      summaries.push(s);
    }
    const jql = `project = DBA AND summary ~ "${RUN}" ORDER BY created ASC`;
    const seen = [];
    let total;
    for (let startAt = 0; startAt < 10; ) {
      const page = await call(jira.issueSearch.searchForIssuesUsingJqlPost({ jql, startAt, maxResults: 2, fields: ['summary'] }), 'page');
      total ??= page.total;
      assert.equal(page.total, total, 'total is stable across pages');
      assert.equal(page.startAt, startAt);
      assert.ok(page.issues.length <= 2);
      seen.push(...page.issues.map((x) => x.fields.summary));
      if (page.issues.length === 0 || startAt + page.issues.length >= page.total) break;
      startAt += page.issues.length;
    }
    assert.equal(total, 3);
    assert.deepEqual(seen, summaries);
  });

  test('get a missing issue is a 404', async () => {
    await expectStatus(jira.issues.getIssue({ issueIdOrKey: 'CICD-999999' }), 404, 'missing issue');
  });
});
