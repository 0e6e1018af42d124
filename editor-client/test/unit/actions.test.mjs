// Unit tests of actions.ts: what the quick picks offer in each state (compiled to out/unit by `npm run compile:unit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { drift, sandbox, status } from './fixtures.mjs';

const require = createRequire(import.meta.url);
const st = require('../../../out/unit/states.js');
const views = require('../../../out/unit/views.js');
const act = require('../../../out/unit/actions.js');


const commands = (list) => list.map((a) => a.command);

test('quick pick actions per state', () => {
  assert.deepEqual(commands(act.actionsFor(status('absent'), 'running')), [
    'berth.runAgent', 'berth.startSandbox', 'berth.listSandboxes', 'berth.showOutput',
  ]);
  const running = commands(act.actionsFor(status('running'), 'running'));
  assert.equal(running[0], 'berth.runAgent');
  for (const c of ['berth.newAgentSession', 'berth.attachSession', 'berth.openShell', 'berth.stopSandbox', 'berth.recreateSandbox', 'berth.removeSandbox', 'berth.showLogs', 'berth.inspectSandbox']) {
    assert.ok(running.includes(c), c);
  }
  assert.ok(!running.includes('berth.startSandbox'));
  const stopped = commands(act.actionsFor(status('stopped'), 'running'));
  assert.ok(stopped.includes('berth.startSandbox'));
  assert.ok(!stopped.includes('berth.stopSandbox'));
  assert.ok(!stopped.includes('berth.openShell'));
  // A stopped sandbox has no session to attach or stand beside.
  assert.ok(!stopped.includes('berth.attachSession'));
  assert.ok(!stopped.includes('berth.newAgentSession'));
  for (const busy of st.BUSY_STATES) {
    const c = commands(act.actionsFor(status(busy), 'running'));
    assert.ok(!c.includes('berth.runAgent') && !c.includes('berth.removeSandbox'), busy);
  }
  assert.deepEqual(commands(act.actionsFor(status('unavailable'), 'running')), ['berth.showOutput', 'berth.restartServer']);
  assert.ok(commands(act.actionsFor(status('error'), 'running')).includes('berth.removeSandbox'));
});

test('drift puts Recreate first', () => {
  for (const state of ['running', 'stopped']) {
    const a = act.actionsFor(status(state, { drift }), 'running');
    assert.equal(a[0].command, 'berth.recreateSandbox');
    assert.match(a[0].description, /env/);
  }
});

test('a failed server offers restart, output and the interpreter setting', () => {
  assert.deepEqual(commands(act.actionsFor(undefined, 'failed')), [
    'berth.restartServer', 'berth.showOutput', 'berth.openInterpreterSetting',
  ]);
});

test('list actions depend on state and whether the folder is open', () => {
  const ids = (s, open) => act.sandboxActions(s, open).map((a) => a.id);
  assert.deepEqual(ids(sandbox, true), ['run', 'shell', 'inspect', 'logs', 'stop', 'remove']);
  assert.deepEqual(ids({ ...sandbox, status: 'exited', state: 'stopped' }, false), ['inspect', 'logs', 'remove']);
  assert.match(views.sandboxPickItem(sandbox).description, /abcdef012345/);
});

test("List Sandboxes' actions follow the server's state", () => {
  const ids = (s) => act.sandboxActions(s, true).map((x) => x.id);
  assert.deepEqual(ids({ ...sandbox, status: 'restarting', state: 'starting' }), ['run', 'inspect', 'logs', 'remove']);
  assert.deepEqual(ids({ ...sandbox, status: 'paused', state: 'stopped' }), ['run', 'inspect', 'logs', 'remove']);
});

test('Edit Network Rules is offered for an existing sandbox, with its policy', () => {
  for (const state of ['running', 'stopped']) {
    for (const extra of [{}, { drift }]) {
      const a = act.actionsFor(status(state, extra), 'running');
      const network = a.find((x) => x.command === 'berth.editNetworkRules');
      assert.ok(network, state);
      assert.equal(network.label, '$(shield) Edit Network Rules…');
      assert.equal(network.description, 'balanced network policy');
    }
  }
  for (const state of ['absent', 'creating', 'error', 'unavailable']) {
    assert.ok(!commands(act.actionsFor(status(state), 'running')).includes('berth.editNetworkRules'), state);
  }
});
