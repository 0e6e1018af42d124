// Unit tests of agentStates.ts, and of the agent's state in the status bar and the Sandboxes view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { sandbox, status } from './fixtures.mjs';

const require = createRequire(import.meta.url);
const a = require('../../../out/unit/agentStates.js');
const views = require('../../../out/unit/views.js');

const change = (over = {}) => ({
  workspace: '/w/proj',
  name: null,
  sandbox: sandbox.id,
  agent: 'claude',
  state: 'waitingForInput',
  message: 'Claude needs your permission to use Bash',
  event: 'Notification',
  at: '2026-11-28T03:10:09Z',
  attention: true,
  ...over,
});

test('each state has its words and icon', () => {
  assert.deepEqual(
    ['working', 'waitingForInput', 'done', 'error'].map((state) => [a.agentLabel({ state }), a.agentIcon({ state })]),
    [
      ['working', '$(loading~spin)'],
      ['needs you', '$(bell-dot)'],
      ['done', '$(check)'],
      ['error', '$(error)'],
    ],
  );
  assert.equal(a.agentLabel(undefined), '');
  assert.equal(a.agentTooltipLine(change()), 'Agent: claude — needs you: Claude needs your permission to use Bash');
  assert.equal(a.agentTooltipLine(change({ state: 'working', message: '' })), 'Agent: claude — working');
});

test('only a state that wants the user is announced; an error as a warning', () => {
  assert.deepEqual(a.attentionMessage(change(), 'proj'), {
    text: 'Berth: claude in "proj" needs you: Claude needs your permission to use Bash',
    warning: false,
  });
  assert.deepEqual(a.attentionMessage(change({ state: 'done', message: 'All tests pass.' }), 'proj'), {
    text: 'Berth: claude in "proj" is done: All tests pass.',
    warning: false,
  });
  assert.deepEqual(a.attentionMessage(change({ state: 'error', message: 'Not logged in · Please run /login' }), 'proj (review)'), {
    text: 'Berth: claude in "proj (review)" stopped on an error: Not logged in · Please run /login',
    warning: true,
  });
  assert.equal(a.attentionMessage(change({ attention: false }), 'proj'), undefined);
  // An agent's words cannot make a link (or a command link) in Berth's notification.
  const link = a.attentionMessage(change({ message: 'Click [here](command:workbench.action.terminal.sendSequence) or [there] (https://evil)' }), 'proj');
  assert.doesNotMatch(link.text, /\]\(/);
  assert.match(link.text, /\[here\] \(command:/);
  assert.equal(views.md('$(alert) *x*'), '\\$(alert) \\*x\\*');
  assert.equal(a.attentionMessage(change({ state: 'working' }), 'proj'), undefined);
});

test('the status bar and the Sandboxes view show what the agent is doing while the sandbox runs', () => {
  const v = views.statusBarView(status('running'), 'running', { agent: change() });
  assert.equal(v.text, '$(bell-dot) Berth: running · needs you');
  assert.equal(v.background, 'warning');
  assert.match(v.tooltip, /Agent: claude — needs you: Claude needs your permission to use Bash/);
  assert.equal(views.statusBarView(status('running'), 'running', { agent: change({ state: 'done', message: 'ok' }) }).text, '$(check) Berth: running · done');
  // Another sandbox's agent, or a stopped sandbox: nothing shown.
  assert.equal(views.statusBarView(status('running'), 'running', { agent: change({ sandbox: 'ffffffffffff' }) }).text, '$(vm-running) Berth: running');
  assert.equal(views.statusBarView(status('stopped'), 'running', { agent: change() }).text, '$(vm-outline) Berth: stopped');
  const row = views.sandboxTreeItem(sandbox, undefined, undefined, undefined, change({ state: 'working', message: '' }));
  assert.match(row.description, /^running \(working\) · claude/);
});
