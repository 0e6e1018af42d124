// Unit tests of protocol.ts: it names every request and error of protocol.md, and each request
// function sends its own method with the params it was given (compiled by `npm run compile:unit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const pr = require('../../../out/unit/protocol.js');
const contract = fs.readFileSync(new URL('../../../protocol.md', import.meta.url), 'utf8');

test('one function per request of protocol.md, and no other', () => {
  const documented = [...contract.matchAll(/^### `(sandbox\/\w+)`/gm)].map((m) => m[1]).sort();
  assert.deepEqual(Object.values(pr.Method).sort(), documented);
  assert.deepEqual(Object.keys(pr.requests(async () => undefined)).sort(), Object.keys(pr.Method).sort());
  assert.match(contract, new RegExp(`Notification: \`${pr.DID_CHANGE_STATUS}\``));
  assert.match(contract, new RegExp(`Notification: \`${pr.DID_BLOCK_REQUEST}\``));
  assert.match(contract, new RegExp(`Notification: \`${pr.DID_CHANGE_SESSIONS}\``));
});

test('the error codes are those of protocol.md', () => {
  const documented = Object.fromEntries(
    [...contract.matchAll(/^\| (-32\d{3}) \| `(\w+)` \|/gm)].map((m) => [m[2], Number(m[1])]),
  );
  assert.deepEqual({ ...pr.ErrorCode }, documented);
  assert.equal(pr.ErrorCode.needsConsent, -32006);
  assert.equal(pr.ErrorCode.engineSetup, -32007);
});

test('each request sends its method and exactly its params', async () => {
  const sent = [];
  const api = pr.requests(async (method, params) => {
    sent.push([method, params]);
    return 'answer';
  });
  assert.equal(await api.run({ workspace: '/w', agentArgs: ['-c'] }), 'answer');
  await api.recreate({ workspace: '/w' });
  await api.stop({ ids: ['abcdef012345'] });
  await api.remove({ all: true });
  await api.list();
  await api.inspect({ ids: ['abcdef012345'] });
  await api.exec({ ids: ['abcdef012345'], command: ['true'] });
  await api.logs({ ids: ['abcdef012345'], tail: 2000 });
  await api.status();
  await api.agents();
  await api.policy({ workspace: '/w' });
  await api.changePolicy({ ids: ['abcdef012345'], reset: true, allow: ['example.com'], deny: ['*.ads.test'] });
  await api.networkLog({ workspace: '/w', tail: 50 });
  await api.stop({ workspace: '/w', name: 'review' });
  await api.run({ workspace: '/w', branch: 'agent/fix', agent: 'gemini' });
  await api.worktrees({ workspace: '/w' });
  await api.worktreeDiff({ workspace: '/w', branch: 'agent/fix' });
  await api.removeWorktree({ workspace: '/w', branch: 'agent/fix' });
  await api.run({ workspace: '/w', framed: true });
  await api.sessions({ ids: ['abcdef012345'] });
  await api.attachSession({ ids: ['abcdef012345'], session: 'claude-1', framed: true });
  await api.stopSession({ workspace: '/w', session: 'claude-2' });
  await api.buildTemplate({ agents: ['claude'], hostCertificates: false });
  await api.templates();
  await api.updateTemplates({});
  await api.engine();
  assert.deepEqual(sent, [
    ['sandbox/run', { workspace: '/w', agentArgs: ['-c'] }],
    ['sandbox/recreate', { workspace: '/w' }],
    ['sandbox/stop', { ids: ['abcdef012345'] }],
    ['sandbox/remove', { all: true }],
    ['sandbox/list', {}],
    ['sandbox/inspect', { ids: ['abcdef012345'] }],
    ['sandbox/exec', { ids: ['abcdef012345'], command: ['true'] }],
    ['sandbox/logs', { ids: ['abcdef012345'], tail: 2000 }],
    ['sandbox/status', {}],
    ['sandbox/agents', {}],
    ['sandbox/policy', { workspace: '/w' }],
    ['sandbox/changePolicy', { ids: ['abcdef012345'], reset: true, allow: ['example.com'], deny: ['*.ads.test'] }],
    ['sandbox/networkLog', { workspace: '/w', tail: 50 }],
    ['sandbox/stop', { workspace: '/w', name: 'review' }],
    ['sandbox/run', { workspace: '/w', branch: 'agent/fix', agent: 'gemini' }],
    ['sandbox/worktrees', { workspace: '/w' }],
    ['sandbox/worktreeDiff', { workspace: '/w', branch: 'agent/fix' }],
    ['sandbox/removeWorktree', { workspace: '/w', branch: 'agent/fix' }],
    ['sandbox/run', { workspace: '/w', framed: true }],
    ['sandbox/sessions', { ids: ['abcdef012345'] }],
    ['sandbox/attachSession', { ids: ['abcdef012345'], session: 'claude-1', framed: true }],
    ['sandbox/stopSession', { workspace: '/w', session: 'claude-2' }],
    ['sandbox/buildTemplate', { agents: ['claude'], hostCertificates: false }],
    ['sandbox/templates', {}],
    ['sandbox/updateTemplates', {}],
    ['sandbox/engine', {}],
  ]);
});

test('a long request hands its progress and cancellation to the transport, beside its params', async () => {
  const sent = [];
  const api = pr.requests(async (method, params, long) => {
    sent.push([method, params, long]);
    return undefined;
  });
  const long = { progress: () => undefined, cancel: { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) } };
  await api.buildTemplate({ agents: ['shell'] }, long);
  await api.updateTemplates({ hostCertificates: true }, long);
  await api.run({ workspace: '/w' });
  assert.deepEqual(sent, [
    ['sandbox/buildTemplate', { agents: ['shell'] }, long],
    ['sandbox/updateTemplates', { hostCertificates: true }, long],
    ['sandbox/run', { workspace: '/w' }, undefined],
  ]);
});
