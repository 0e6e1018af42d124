// Unit tests of views.ts: the status bar item, tooltips, tree and pick rows (Sandboxes and Agent
// Branches), drift messages (compiled to out/unit by `npm run compile:unit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { branch, branchSandbox, drift, namedSandbox, namedStatus, sandbox, status, worktreePath } from './fixtures.mjs';

const require = createRequire(import.meta.url);
const st = require('../../../out/unit/states.js');
const views = require('../../../out/unit/views.js');

test('every state has its own icon and label in the status bar', () => {
  const expected = {
    absent: ['$(circle-large-outline)', 'absent'],
    creating: ['$(sync~spin)', 'creating…'],
    starting: ['$(sync~spin)', 'starting…'],
    running: ['$(vm-running)', 'running'],
    stopping: ['$(sync~spin)', 'stopping…'],
    stopped: ['$(vm-outline)', 'stopped'],
    removing: ['$(sync~spin)', 'removing…'],
    error: ['$(error)', 'error'],
    unavailable: ['$(debug-disconnect)', 'Docker unavailable'],
  };
  for (const [state, [icon, label]] of Object.entries(expected)) {
    const v = views.statusBarView(status(state), 'running');
    assert.equal(v.text, `${icon} Berth: ${label}`, state);
  }
});

test('busy states spin', () => {
  for (const s of st.BUSY_STATES) assert.match(views.statusBarView(status(s), 'running').text, /sync~spin/);
});

test('error and unavailable get the error background, drift the warning one', () => {
  assert.equal(views.statusBarView(status('error'), 'running').background, 'error');
  assert.equal(views.statusBarView(status('unavailable'), 'running').background, 'error');
  assert.equal(views.statusBarView(status('running'), 'running').background, undefined);
  const v = views.statusBarView(status('running', { drift }), 'running');
  assert.equal(v.background, 'warning');
  assert.equal(v.text, '$(warning) Berth: running (settings changed)');
});

test('multi-root shows the folder name', () => {
  const v = views.statusBarView(status('stopped'), 'running', { folderName: 'api', multiRoot: true });
  assert.equal(v.text, '$(vm-outline) Berth (api): stopped');
  const single = views.statusBarView(status('stopped'), 'running', { folderName: 'api', multiRoot: false });
  assert.equal(single.text, '$(vm-outline) Berth: stopped');
});

test('before the first status, and when the server failed', () => {
  assert.equal(views.statusBarView(undefined, 'starting').text, '$(sync~spin) Berth');
  const failed = views.statusBarView(undefined, 'failed');
  assert.match(failed.text, /^\$\(error\) Berth: server not running$/);
  assert.equal(failed.background, 'error');
});

test('tooltip carries id, template, agent, created time and drift details', () => {
  const tip = views.statusTooltip(status('running', { drift }), { folderName: 'proj', formatTime: (iso) => `T(${iso})` });
  assert.match(tip, /`abcdef012345`/);
  assert.match(tip, /`berth-test\/claude:1`/);
  assert.match(tip, /Agent: `claude`/);
  assert.match(tip, /Created: T\(2026-01-02T03:04:05Z\)/);
  assert.match(tip, /env: `A=1` → `A=2`/);
  assert.match(tip, /Recreate applies them/);
});

test('tooltip of an absent folder names the folder and the message', () => {
  const tip = views.statusTooltip(status('unavailable', { sandbox: null, message: 'Docker is not running' }));
  assert.match(tip, /`\/home\/u\/proj`/);
  assert.match(tip, /Docker is not running/);
});

test('markdown in user text is escaped', () => {
  assert.equal(views.md('a*b_[c]'), 'a\\*b\\_\\[c\\]');
});

test('drift messages and keys', () => {
  assert.deepEqual(views.driftLines(drift), ['env: A=1 → A=2']);
  assert.deepEqual(views.driftLines([{ field: 'template', recorded: 'a', requested: null }]), ['template: a → (unset)']);
  const volumes = { field: 'volumes', recorded: [], requested: ['/home/ada:/mnt/home'] };
  assert.equal(
    views.driftMessage('proj', [volumes]),
    'Berth: the sandbox of "proj" differs from its settings: volumes: (none) → /home/ada:/mnt/home. ' +
      'Recreate it to apply the settings; files in the workspace folder are kept.',
  );
  const env = { field: 'env', recorded: ['A', 'B'], requested: ['A', 'C'], changed: ['A'] };
  assert.deepEqual(views.driftLines([env]), ['env: A, B → A, C (value of A changed)']);
  assert.notEqual(views.driftKey('/a', drift), views.driftKey('/a', []));
  assert.equal(views.driftKey('/a', drift), views.driftKey('/a', JSON.parse(JSON.stringify(drift))));
});

test('tree items: state icon, context value, live transient state and drift', () => {
  const t = views.sandboxTreeItem(sandbox);
  assert.equal(t.label, 'proj');
  assert.equal(t.icon, 'vm-running');
  assert.equal(t.contextValue, 'berth.sandbox.running');
  assert.match(t.description, /running · claude · berth-test\/claude:1/);
  const stopping = views.sandboxTreeItem(sandbox, status('stopping'));
  assert.equal(stopping.contextValue, 'berth.sandbox.stopping');
  assert.equal(stopping.icon, 'sync');
  const drifted = views.sandboxTreeItem(sandbox, status('running', { drift }));
  assert.equal(drifted.icon, 'warning');
  const exited = views.sandboxTreeItem({ ...sandbox, status: 'exited', state: 'stopped' });
  assert.equal(exited.contextValue, 'berth.sandbox.stopped');
  // a status about another sandbox of the same workspace does not apply
  const other = views.sandboxTreeItem(sandbox, { ...status('stopping'), sandbox: { ...sandbox, id: 'ffffffffffff' } });
  assert.equal(other.contextValue, 'berth.sandbox.running');
});

test('remove-all confirmation counts', () => {
  assert.equal(views.removeAllMessage(1), 'Remove the 1 Berth sandbox on this Docker engine?');
  assert.equal(views.removeAllMessage(3), 'Remove all 3 Berth sandboxes on this Docker engine?');
});

test("the server's state is shown as it is, not derived from the engine's status", () => {
  // The client no longer maps engine states: a sandbox the server calls error stays error.
  const dead = views.sandboxTreeItem({ ...sandbox, status: 'dead', state: 'error' });
  assert.equal(dead.contextValue, 'berth.sandbox.error');
  assert.equal(dead.icon, 'error');
  assert.match(dead.description, /^error · claude/);
  const restarting = views.sandboxPickItem({ ...sandbox, status: 'restarting', state: 'starting' });
  assert.match(restarting.label, /^\$\(sync\) /);
  assert.match(restarting.description, /^starting… · claude/);
});

test('the tooltip and the Sandboxes view show the network policy', () => {
  const tip = views.statusTooltip(status('running', { sandbox: { ...sandbox, networkPolicy: 'locked' } }));
  assert.match(tip, /Network: `locked` \(only claude's API and login hosts\)/);
  assert.match(views.sandboxTreeItem(sandbox).description, /^running · claude · berth-test\/claude:1 · network: balanced$/);
  assert.match(views.sandboxTreeItem(sandbox).tooltip, /Network: `balanced`/);
  // A sandbox from a server without network policies shows none.
  const { networkPolicy, ...old } = sandbox;
  assert.equal(networkPolicy, 'balanced');
  assert.doesNotMatch(views.statusTooltip(status('running', { sandbox: old })), /Network/);
  assert.equal(views.sandboxTreeItem(old).description, 'running · claude · berth-test/claude:1');
});

test("the status bar counts the folder's other sandboxes that exist, and its tooltip lists them", () => {
  const others = [namedStatus('running'), namedStatus('stopped', { name: 'tests', sandbox: { ...namedSandbox, name: 'tests', agent: 'claude', state: 'stopped' } })];
  const v = views.statusBarView(status('running'), 'running', { others });
  assert.equal(v.text, '$(vm-running) Berth: running +2');
  assert.equal(v.accessibility, 'Berth: running, and 2 other sandboxes');
  assert.match(v.tooltip, /\*\*Other sandboxes of this folder\*\*/);
  assert.match(v.tooltip, /- `review`: running · gemini\n- `tests`: stopped · claude/);
  // The +N follows the default sandbox's own label, drift and folder name included.
  const drifted = views.statusBarView(status('stopped', { drift }), 'running', { folderName: 'api', multiRoot: true, others });
  assert.equal(drifted.text, '$(warning) Berth (api): stopped (settings changed) +2');
  // Even with no default sandbox, the others are counted.
  assert.equal(views.statusBarView(status('absent'), 'running', { others: [others[0]] }).text, '$(circle-large-outline) Berth: absent +1');
});

test('a removed (absent) sandbox made by name is not counted, nor is the default one', () => {
  const v = views.statusBarView(status('running'), 'running', { others: [namedStatus('absent'), status('running')] });
  assert.equal(v.text, '$(vm-running) Berth: running');
  assert.equal(v.accessibility, 'Berth: running');
  assert.doesNotMatch(v.tooltip, /Other sandboxes/);
  assert.equal(views.statusBarView(status('running'), 'running', { others: [namedStatus('running')] }).accessibility, 'Berth: running, and 1 other sandbox');
});

test("a named sandbox's tooltip names it", () => {
  assert.match(views.statusTooltip(namedStatus('running'), { folderName: 'proj' }), /^\*\*Berth sandbox `review` of proj\*\*/);
  assert.match(views.statusTooltip(status('running'), { folderName: 'proj' }), /^\*\*Berth sandbox of proj\*\*/);
});

test('Sandboxes view: a sandbox made by name shows its name, a worktree\'s its repository and branch', () => {
  assert.equal(views.sandboxTreeItem(sandbox).label, 'proj');
  assert.equal(views.sandboxTreeItem({ ...sandbox, named: false }).label, 'proj');
  assert.equal(views.sandboxTreeItem(namedSandbox).label, 'proj (review)');
  assert.match(views.sandboxTreeItem(namedSandbox).tooltip, /Berth sandbox `review` of/);
  const place = { repository: 'proj', branch: 'agent/fix' };
  assert.equal(views.sandboxTreeItem(branchSandbox, undefined, undefined, place).label, 'proj (branch agent/fix)');
  assert.equal(
    views.sandboxTreeItem({ ...branchSandbox, named: true, name: 'second' }, undefined, undefined, place).label,
    'proj (branch agent/fix, second)',
  );
  assert.equal(views.sandboxTreeItem(branchSandbox, undefined, undefined, { repository: 'proj', branch: null }).label, 'proj (detached worktree)');
  // Without the listing (a repository that is not open), the worktree's folder name.
  assert.equal(views.sandboxTreeItem(branchSandbox).label, 'agent-fix');
});

test('Sandboxes view: a named sandbox takes its own live status, not the default one\'s', () => {
  // The default sandbox of the folder is stopping; the named one is not.
  const t = views.sandboxTreeItem(namedSandbox, status('stopping'));
  assert.equal(t.contextValue, 'berth.sandbox.running');
  const own = views.sandboxTreeItem(namedSandbox, namedStatus('stopping'));
  assert.equal(own.contextValue, 'berth.sandbox.stopping');
});

test('Agent Branches: label, ahead/behind, changes and the sandbox state', () => {
  const t = views.branchTreeItem(branch());
  assert.equal(t.label, 'agent/fix');
  assert.equal(t.description, '↑2 ↓0 · 3 changes · claude running');
  assert.equal(t.icon, 'git-branch');
  assert.equal(t.color, 'testing.iconPassed');
  assert.equal(t.contextValue, 'berth.branch.managed');
  assert.match(t.tooltip, /^\*\*Agent branch agent\/fix\*\*/);
  assert.match(t.tooltip, new RegExp(`Worktree: \`${worktreePath}\``));
  assert.match(t.tooltip, /Base: `main` \(2 ahead, 0 behind\)/);
  assert.match(t.tooltip, /Uncommitted: 3 changes/);
  assert.match(t.tooltip, /- `berth-claude-agent-fix-5e6f7a`: running · claude · `berth-test\/claude:1`/);
});

test('Agent Branches: clean, one change, no sandbox, no base, several sandboxes', () => {
  assert.equal(views.branchTreeItem(branch({ changes: 0, dirty: false, sandboxes: [] })).description, '↑2 ↓0 · clean · no sandbox');
  assert.equal(views.branchTreeItem(branch({ changes: 1 })).description, '↑2 ↓0 · 1 change · claude running');
  const noBase = views.branchTreeItem(branch({ base: null, ahead: null, behind: null, changes: 0 }));
  assert.equal(noBase.description, 'clean · claude running');
  assert.match(noBase.tooltip, /Base: none to compare with/);
  const two = branch({ sandboxes: [{ ...branchSandbox, state: 'stopped', status: 'exited' }, { ...namedSandbox, workspace: worktreePath }] });
  const t = views.branchTreeItem(two);
  assert.equal(t.description, '↑2 ↓0 · 3 changes · claude stopped, review: gemini running');
  assert.equal(t.color, 'testing.iconPassed', 'one running sandbox colours the row');
  const stopped = views.branchTreeItem(branch({ sandboxes: [{ ...branchSandbox, state: 'stopped' }] }));
  assert.equal(stopped.color, undefined);
  const broken = views.branchTreeItem(branch({ sandboxes: [{ ...branchSandbox, state: 'error' }] }));
  assert.equal(broken.icon, 'error');
});

test("Agent Branches: a sandbox's busy live state shows; context values say what can be done", () => {
  const live = (s) => (s.id === branchSandbox.id ? { workspace: worktreePath, name: null, state: 'stopping', sandbox: branchSandbox, drift: [] } : undefined);
  assert.equal(views.branchTreeItem(branch(), live).description, '↑2 ↓0 · 3 changes · claude stopping…');
  assert.equal(views.branchTreeItem(branch({ managed: false })).contextValue, 'berth.branch.user');
  const detached = views.branchTreeItem(branch({ branch: null, managed: false }));
  assert.equal(detached.label, '(detached at 0123456)');
  assert.equal(detached.contextValue, 'berth.branch.user.detached');
});

test('the tooltip shows published ports and limits, and a sandbox stopped for memory says so', () => {
  const limited = {
    ...sandbox,
    ports: ['127.0.0.1:8080:3000', '0.0.0.0:9000:9000'],
    resources: { cpus: 1.5, memory: '4g', pidsLimit: 4096, gpus: null },
  };
  const tip = views.statusTooltip(status('running', { sandbox: limited }));
  assert.match(tip, /Ports: `127\.0\.0\.1:8080 → 3000`, `0\.0\.0\.0:9000 → 9000`/);
  assert.match(tip, /Limits: 1\.5 CPUs · 4g memory · 4096 processes/);
  const open = { ...limited, ports: [], resources: { cpus: 1, memory: null, pidsLimit: -1, gpus: 'all' } };
  const openTip = views.statusTooltip(status('running', { sandbox: open }));
  assert.doesNotMatch(openTip, /Ports:/);
  assert.match(openTip, /Limits: 1 CPU · no process limit · all GPUs/);
  // A server from before limits sends neither.
  assert.doesNotMatch(views.statusTooltip(status('running')), /Ports:|Limits:/);

  const message = 'Out of memory: the kernel ended a process in the sandbox before it stopped (its memory limit is 4g).';
  const oom = status('stopped', { sandbox: { ...limited, status: 'exited', state: 'stopped', oomKilled: true }, message });
  assert.equal(views.statusBarView(oom, 'running').text, '$(vm-outline) Berth: stopped (out of memory)');
  assert.ok(views.statusTooltip(oom).includes('Out of memory: the kernel ended a process'));
});
