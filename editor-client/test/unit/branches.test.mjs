// Unit tests of branches.ts (agent branches: the name check, the removal question, what is said after a
// run or a removal, worktree places) and statuses.ts (one status per sandbox, several per folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { branch, branchSandbox, namedSandbox, namedStatus, sandbox, status, worktreePath } from './fixtures.mjs';

const require = createRequire(import.meta.url);
const br = require('../../../out/unit/branches.js');
const { SandboxStatuses } = require('../../../out/unit/statuses.js');

test('the branch name check: something, and no spaces (git checks the rest)', () => {
  assert.match(br.validateBranchName(''), /Type a branch name/);
  assert.match(br.validateBranchName('   '), /Type a branch name/);
  assert.match(br.validateBranchName('fix login'), /no spaces/);
  assert.match(br.validateBranchName('fix\tlogin'), /no spaces/);
  assert.equal(br.validateBranchName('agent/fix-login'), undefined);
  assert.equal(br.validateBranchName('  agent/fix  '), undefined, 'the input is trimmed');
});

test('a worktree is named by its branch, or its path when detached; its own sandbox is the default one', () => {
  assert.equal(br.branchRef(branch()), 'agent/fix');
  assert.equal(br.branchRef(branch({ branch: null })), worktreePath);
  assert.equal(br.defaultSandbox(branch()), branchSandbox);
  assert.equal(br.defaultSandbox(branch({ sandboxes: [{ ...namedSandbox, workspace: worktreePath }] })), undefined);
  assert.equal(br.defaultSandbox(branch({ sandboxes: [] })), undefined);
});

test('the diff document is named after the branch', () => {
  assert.equal(br.diffName('proj', branch()), 'proj-agent-fix');
  assert.equal(br.diffName('proj', branch({ branch: null })), 'proj-agent-fix');
  assert.equal(br.diffText('diff --git a/x b/x\n', 'main'), 'diff --git a/x b/x\n');
  assert.equal(br.diffText('', 'main'), '# No changes against main.\n');
  assert.equal(br.diffText('', null), '# No changes.\n');
});

test('the removal question names the path, the sandboxes, and says the branch and its commits stay', () => {
  const q = br.removeWorktreeQuestion(branch(), 'proj');
  assert.equal(q.message, 'Remove the worktree of branch "agent/fix"?');
  assert.match(q.detail, new RegExp(`^Worktree: ${worktreePath}\n\n`));
  assert.match(q.detail, /Its sandbox \(berth-claude-agent-fix-5e6f7a\) is removed first\./);
  assert.match(q.detail, /The branch agent\/fix and its commits stay in the repository "proj"\./);
  assert.match(q.detail, /uncommitted changes or untracked files/);
  const two = br.removeWorktreeQuestion(branch({ sandboxes: [branchSandbox, { ...namedSandbox, workspace: worktreePath }] }), 'proj');
  assert.match(two.detail, /Its sandboxes \(berth-claude-agent-fix-5e6f7a, review\) are removed first\./);
  assert.match(br.removeWorktreeQuestion(branch({ sandboxes: [] }), 'proj').detail, /It has no sandbox\./);
  const detached = br.removeWorktreeQuestion(branch({ branch: null }), 'proj');
  assert.equal(detached.message, `Remove the worktree ${worktreePath}?`);
  assert.match(detached.detail, /Its commits stay/);
});

test('what is said after a removal, and after a run that made the worktree', () => {
  assert.equal(
    br.removedMessage(branch(), ['fedcba987654']),
    'Berth: removed the worktree of branch "agent/fix" and 1 sandbox. The branch and its commits stay.',
  );
  assert.equal(br.removedMessage(branch(), []), 'Berth: removed the worktree of branch "agent/fix". The branch and its commits stay.');
  assert.equal(br.removedMessage(branch({ branch: null }), ['a', 'b']), `Berth: removed the worktree ${worktreePath} and 2 sandboxes.`);
  const worktree = { ...branch(), made: true };
  assert.equal(
    br.worktreeMadeMessage({ agent: 'gemini', worktree }, 'proj'),
    `Berth: gemini works on branch "agent/fix" of "proj" in a worktree of its own, ${worktreePath}; your working tree is left alone.`,
  );
  assert.equal(br.worktreeMadeMessage({ agent: 'gemini', worktree: { ...worktree, made: false } }, 'proj'), undefined);
  assert.equal(br.worktreeMadeMessage({ agent: 'gemini' }, 'proj'), undefined);
});

test("worktree places: each listed worktree's repository folder and branch", () => {
  const places = br.worktreePlaces([
    { folderName: 'proj', branches: [branch(), branch({ path: '/w/proj-1/detached', branch: null })] },
    { folderName: 'other', branches: [branch({ path: '/w/other-2/x', branch: 'x' })] },
  ]);
  assert.deepEqual(places.get(worktreePath), { repository: 'proj', branch: 'agent/fix' });
  assert.deepEqual(places.get('/w/proj-1/detached'), { repository: 'proj', branch: null });
  assert.deepEqual(places.get('/w/other-2/x'), { repository: 'other', branch: 'x' });
  assert.equal(places.size, 3);
});

test("statuses: a named sandbox's status never replaces the default one's", () => {
  const statuses = new SandboxStatuses();
  const folder = { name: 'proj', path: '/home/u/proj' };
  statuses.set(status('running'));
  statuses.set(namedStatus('stopped'));
  assert.equal(statuses.of(folder).state, 'running');
  assert.equal(statuses.of(folder).name, undefined);
  statuses.set(namedStatus('running'));
  statuses.set(status('stopping', { name: null }));
  assert.equal(statuses.of(folder).state, 'stopping', 'name null and no name are both the default one');
  assert.deepEqual(
    statuses.allOf(folder).map((s) => [s.name ?? null, s.state]),
    [[null, 'stopping'], ['review', 'running']],
  );
  statuses.set(namedStatus('running', { name: 'alpha' }));
  assert.deepEqual(statuses.allOf(folder).map((s) => s.name ?? null), [null, 'alpha', 'review'], 'the default first, then by name');
  assert.deepEqual(statuses.allOf({ name: 'x', path: '/home/u/x' }), []);
  assert.deepEqual(statuses.allOf(undefined), []);
});

test('statuses: each listed sandbox gets its own live status', () => {
  const statuses = new SandboxStatuses();
  statuses.set(status('stopping'));
  statuses.set(namedStatus('starting'));
  assert.equal(statuses.live(sandbox).state, 'stopping');
  assert.equal(statuses.live({ ...sandbox, named: false }).state, 'stopping');
  assert.equal(statuses.live(namedSandbox).state, 'starting');
  assert.equal(statuses.live({ ...namedSandbox, name: 'unknown' }), undefined);
  assert.equal(statuses.live(branchSandbox), undefined);
});

test('statuses: a folder opened through a symlink finds the status of its real path', () => {
  const statuses = new SandboxStatuses();
  statuses.set(status('running'));
  statuses.set(namedStatus('running'));
  const linked = { name: 'proj', path: '/link/proj', realPath: '/home/u/proj' };
  assert.equal(statuses.of(linked).state, 'running');
  assert.equal(statuses.allOf(linked).length, 2);
  statuses.clear();
  assert.equal(statuses.of(linked), undefined);
});

test('a refusal for ignored files names them, and only that refusal asks to discard them', () => {
  assert.deepEqual(br.ignoredFilesOf({ kind: 'conflict', field: 'branch', ignored: ['.env', 'build/'] }), ['.env', 'build/']);
  assert.equal(br.ignoredFilesOf({ kind: 'conflict', field: 'branch' }), undefined, 'uncommitted changes: no second question');
  assert.equal(br.ignoredFilesOf({ ignored: [] }), undefined);
  assert.equal(br.ignoredFilesOf({ ignored: [3] }), undefined);
  assert.equal(br.ignoredFilesOf(undefined), undefined);
  const q = br.discardIgnoredQuestion({ branch: 'agent-one', path: '/w/agent-one' }, ['.env', 'build/']);
  assert.match(q.message, /branch "agent-one" holds files git ignores/);
  assert.match(q.detail, /^\.env\nbuild\/\n/);
  assert.match(q.detail, /deletes them for good/);
});
