// Unit tests of the pure presentation logic (compiled to out/unit by `npm run compile:unit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const p = require('../../../out/unit/presentation.js');

const sandbox = {
  id: 'abcdef012345',
  name: 'berth-claude-proj-1a2b3c',
  workspace: '/home/u/proj',
  agent: 'claude',
  template: 'berth-test/claude:1',
  status: 'running',
  createdAt: '2026-01-02T03:04:05Z',
};
const status = (state, extra = {}) => ({ workspace: '/home/u/proj', state, sandbox: state === 'absent' ? null : sandbox, drift: [], ...extra });
const drift = [{ field: 'env', recorded: ['A=1'], requested: ['A=2'] }];

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
    const v = p.statusBarView(status(state), 'running');
    assert.equal(v.text, `${icon} Berth: ${label}`, state);
  }
});

test('busy states spin', () => {
  for (const s of p.BUSY_STATES) assert.match(p.statusBarView(status(s), 'running').text, /sync~spin/);
});

test('error and unavailable get the error background, drift the warning one', () => {
  assert.equal(p.statusBarView(status('error'), 'running').background, 'error');
  assert.equal(p.statusBarView(status('unavailable'), 'running').background, 'error');
  assert.equal(p.statusBarView(status('running'), 'running').background, undefined);
  const v = p.statusBarView(status('running', { drift }), 'running');
  assert.equal(v.background, 'warning');
  assert.equal(v.text, '$(warning) Berth: running (settings changed)');
});

test('multi-root shows the folder name', () => {
  const v = p.statusBarView(status('stopped'), 'running', { folderName: 'api', multiRoot: true });
  assert.equal(v.text, '$(vm-outline) Berth (api): stopped');
  const single = p.statusBarView(status('stopped'), 'running', { folderName: 'api', multiRoot: false });
  assert.equal(single.text, '$(vm-outline) Berth: stopped');
});

test('before the first status, and when the server failed', () => {
  assert.equal(p.statusBarView(undefined, 'starting').text, '$(sync~spin) Berth');
  const failed = p.statusBarView(undefined, 'failed');
  assert.match(failed.text, /^\$\(error\) Berth: server not running$/);
  assert.equal(failed.background, 'error');
});

test('tooltip carries id, template, agent, created time and drift details', () => {
  const tip = p.statusTooltip(status('running', { drift }), { folderName: 'proj', formatTime: (iso) => `T(${iso})` });
  assert.match(tip, /`abcdef012345`/);
  assert.match(tip, /`berth-test\/claude:1`/);
  assert.match(tip, /Agent: `claude`/);
  assert.match(tip, /Created: T\(2026-01-02T03:04:05Z\)/);
  assert.match(tip, /env: `A=1` → `A=2`/);
  assert.match(tip, /Recreate applies them/);
});

test('tooltip of an absent folder names the folder and the message', () => {
  const tip = p.statusTooltip(status('unavailable', { sandbox: null, message: 'Docker is not running' }));
  assert.match(tip, /`\/home\/u\/proj`/);
  assert.match(tip, /Docker is not running/);
});

test('markdown in user text is escaped', () => {
  assert.equal(p.md('a*b_[c]'), 'a\\*b\\_\\[c\\]');
});

const commands = (list) => list.map((a) => a.command);

test('quick pick actions per state', () => {
  assert.deepEqual(commands(p.actionsFor(status('absent'), 'running')), [
    'berth.runAgent', 'berth.startSandbox', 'berth.listSandboxes', 'berth.showOutput',
  ]);
  const running = commands(p.actionsFor(status('running'), 'running'));
  assert.equal(running[0], 'berth.runAgent');
  for (const c of ['berth.openShell', 'berth.stopSandbox', 'berth.recreateSandbox', 'berth.removeSandbox', 'berth.showLogs', 'berth.inspectSandbox']) {
    assert.ok(running.includes(c), c);
  }
  assert.ok(!running.includes('berth.startSandbox'));
  const stopped = commands(p.actionsFor(status('stopped'), 'running'));
  assert.ok(stopped.includes('berth.startSandbox'));
  assert.ok(!stopped.includes('berth.stopSandbox'));
  assert.ok(!stopped.includes('berth.openShell'));
  for (const busy of p.BUSY_STATES) {
    const c = commands(p.actionsFor(status(busy), 'running'));
    assert.ok(!c.includes('berth.runAgent') && !c.includes('berth.removeSandbox'), busy);
  }
  assert.deepEqual(commands(p.actionsFor(status('unavailable'), 'running')), ['berth.showOutput', 'berth.restartServer']);
  assert.ok(commands(p.actionsFor(status('error'), 'running')).includes('berth.removeSandbox'));
});

test('drift puts Recreate first', () => {
  for (const state of ['running', 'stopped']) {
    const a = p.actionsFor(status(state, { drift }), 'running');
    assert.equal(a[0].command, 'berth.recreateSandbox');
    assert.match(a[0].description, /env/);
  }
});

test('a failed server offers restart, output and the interpreter setting', () => {
  assert.deepEqual(commands(p.actionsFor(undefined, 'failed')), [
    'berth.restartServer', 'berth.showOutput', 'berth.openInterpreterSetting',
  ]);
});

test('drift messages and keys', () => {
  assert.deepEqual(p.driftLines(drift), ['env: A=1 → A=2']);
  assert.deepEqual(p.driftLines([{ field: 'template', recorded: 'a', requested: null }]), ['template: a → (unset)']);
  const volumes = { field: 'volumes', recorded: [], requested: ['/home/ada:/mnt/home'] };
  assert.equal(
    p.driftMessage('proj', [volumes]),
    'Berth: the sandbox of "proj" differs from its settings: volumes: (none) → /home/ada:/mnt/home. ' +
      'Recreate it to apply the settings; files in the workspace folder are kept.',
  );
  const env = { field: 'env', recorded: ['A', 'B'], requested: ['A', 'C'], changed: ['A'] };
  assert.deepEqual(p.driftLines([env]), ['env: A, B → A, C (value of A changed)']);
  assert.notEqual(p.driftKey('/a', drift), p.driftKey('/a', []));
  assert.equal(p.driftKey('/a', drift), p.driftKey('/a', JSON.parse(JSON.stringify(drift))));
});

test('engine states map like the server does', () => {
  assert.equal(p.engineState('running'), 'running');
  for (const s of ['created', 'exited', 'paused']) assert.equal(p.engineState(s), 'stopped');
  assert.equal(p.engineState('restarting'), 'starting');
  assert.equal(p.engineState('dead'), 'error');
});

test('tree items: state icon, context value, live transient state and drift', () => {
  const t = p.sandboxTreeItem(sandbox);
  assert.equal(t.label, 'proj');
  assert.equal(t.icon, 'vm-running');
  assert.equal(t.contextValue, 'berth.sandbox.running');
  assert.match(t.description, /running · claude · berth-test\/claude:1/);
  const stopping = p.sandboxTreeItem(sandbox, status('stopping'));
  assert.equal(stopping.contextValue, 'berth.sandbox.stopping');
  assert.equal(stopping.icon, 'sync');
  const drifted = p.sandboxTreeItem(sandbox, status('running', { drift }));
  assert.equal(drifted.icon, 'warning');
  const exited = p.sandboxTreeItem({ ...sandbox, status: 'exited' });
  assert.equal(exited.contextValue, 'berth.sandbox.stopped');
  // a status about another sandbox of the same workspace does not apply
  const other = p.sandboxTreeItem(sandbox, { ...status('stopping'), sandbox: { ...sandbox, id: 'ffffffffffff' } });
  assert.equal(other.contextValue, 'berth.sandbox.running');
});

test('list actions depend on state and whether the folder is open', () => {
  const ids = (s, open) => p.sandboxActions(s, open).map((a) => a.id);
  assert.deepEqual(ids(sandbox, true), ['run', 'shell', 'inspect', 'logs', 'stop', 'remove']);
  assert.deepEqual(ids({ ...sandbox, status: 'exited' }, false), ['inspect', 'logs', 'remove']);
  assert.match(p.sandboxPickItem(sandbox).description, /abcdef012345/);
});

test('remove-all confirmation counts', () => {
  assert.equal(p.removeAllMessage(1), 'Remove the 1 Berth sandbox on this Docker engine?');
  assert.equal(p.removeAllMessage(3), 'Remove all 3 Berth sandboxes on this Docker engine?');
});
