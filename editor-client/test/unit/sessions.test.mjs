// Unit tests of sessions.ts: agent sessions' words (tabs, Sandboxes view rows, pickers, the exit
// notification, the questions before ending them) and the choices among them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const s = require('../../../out/unit/sessions.js');

const session = (over = {}) => ({
  id: 'claude-1',
  agent: 'claude',
  started: '2026-11-28T06:15:07Z',
  state: 'running',
  attached: false,
  exitCode: null,
  lastOutput: '',
  reason: null,
  ...over,
});
const offline = {
  kind: 'offline',
  message: 'The agent could not reach its service: check this machine\'s network, and the sandbox\'s network policy (berth policy log lists the requests it refused).',
};

test('a tab is named after the agent, then its session, and where it works', () => {
  assert.equal(s.sessionTerminalName('claude', s.folderPlace('web')), 'Berth: claude (web)');
  assert.equal(s.sessionTerminalName('claude-1', s.folderPlace('web')), 'Berth: claude-1 (web)');
  assert.equal(s.sessionTerminalName('gemini-2', s.folderPlace('web', 'review')), 'Berth: gemini-2 (web, review)');
  assert.equal(s.sessionTerminalName('claude-1', s.branchPlace('agent/fix', 'proj')), 'Berth: claude-1 on agent/fix (proj)');
  assert.equal(s.folderPlace('web', null), '(web)');
});

test("a tab's last line says how its session ended, dim", () => {
  assert.equal(s.sessionEndText('claude-1', { kind: 'exited', code: 1 }), '[claude-1 exited with code 1]');
  assert.equal(s.sessionEndText('claude-1', { kind: 'ended' }), '[claude-1 ended with its sandbox]');
  assert.equal(s.sessionEndText('claude-1', { kind: 'taken' }), '[claude-1 was attached in another terminal]');
  assert.equal(s.sessionEndText('claude-1', { kind: 'detached' }), '[detached from claude-1: the agent keeps running in the sandbox]');
  assert.equal(s.terminalNote('[x]'), '\r\n\x1b[0m\x1b[2m[x]\x1b[0m\r\n');
  assert.equal(s.terminalNote('docker: no\nsuch'), '\r\n\x1b[0m\x1b[2mdocker: no\r\nsuch\x1b[0m\r\n');
});

test('a session row: its description, icon, context value and tooltip', () => {
  const rows = [
    session({ attached: true }),
    session(),
    session({ state: 'exited', exitCode: 1, reason: offline, lastOutput: 'Unable to connect to Anthropic services\n```[link](command:x)' }),
    session({ state: 'exited', exitCode: 0 }),
    session({ state: 'ended' }),
  ];
  assert.deepEqual(rows.map(s.sessionDescription), ['running · attached', 'running · detached', 'exited (1)', 'exited (0)', 'ended']);
  assert.equal(s.sessionDescription(session({ state: 'exited' })), 'exited');
  assert.deepEqual(rows.map((r) => s.sessionIcon(r).icon), ['terminal', 'terminal', 'error', 'pass', 'circle-slash']);
  assert.deepEqual(rows.map(s.sessionContext), ['berth.session.running', 'berth.session.running', 'berth.session.exited', 'berth.session.exited', 'berth.session.ended']);
  const running = s.sessionTooltip(rows[0], (iso) => `local ${iso}`);
  assert.match(running, /^\*\*Agent session claude-1\*\*/);
  assert.match(running, /Agent: claude {2}\nStarted: local 2026-11-28T06:15:07Z {2}\nState: running · attached/);
  assert.doesNotMatch(running, /Last output/);
  const exited = s.sessionTooltip(rows[2]);
  assert.match(exited, /could not reach its service/);
  // The agent's output is quoted in a fence longer than any backtick run in it: it cannot end it.
  assert.match(exited, /\*\*Last output\*\*\n\n````text\nUnable to connect to Anthropic services\n```\[link\]\(command:x\)\n````$/);
  assert.match(s.sessionTooltip(rows[4]), /ended when its sandbox stopped/);
});

test('pickers list the running sessions first, newest first; Run Agent finds the newest running one of its agent', () => {
  const list = [
    session({ id: 'claude-1', state: 'exited', exitCode: 1 }),
    session({ id: 'claude-2' }),
    session({ id: 'codex-1', agent: 'codex' }),
    session({ id: 'claude-3', state: 'ended' }),
    session({ id: 'claude-4' }),
  ];
  assert.deepEqual(s.sessionsForPick(list).map((x) => x.id), ['claude-4', 'codex-1', 'claude-2', 'claude-3', 'claude-1']);
  assert.equal(s.runningSessionOf(list, 'claude').id, 'claude-4');
  assert.equal(s.runningSessionOf(list, 'codex').id, 'codex-1');
  assert.equal(s.runningSessionOf(list, 'gemini'), undefined);
  assert.equal(s.runningSessionOf([], 'claude'), undefined);
  assert.deepEqual(s.sessionPickItem(list[0]), { label: '$(error) claude-1', description: 'claude · exited (1)', detail: 'Started 2026-11-28T06:15:07Z' });
});

test('the sessions that went from running to exited, each once', () => {
  const before = [session({ id: 'claude-1' }), session({ id: 'claude-2' }), session({ id: 'claude-3', state: 'exited', exitCode: 1 })];
  const after = [
    session({ id: 'claude-1', state: 'exited', exitCode: 1 }),
    session({ id: 'claude-2' }),
    session({ id: 'claude-3', state: 'exited', exitCode: 1 }),
    // An id used again by a new session that exited at once: not the one seen running.
    session({ id: 'claude-4', state: 'exited', exitCode: 1 }),
  ];
  assert.deepEqual(s.newlyExited(before, after).map((x) => x.id), ['claude-1']);
  assert.deepEqual(s.newlyExited([session({ started: '2026-01-01T00:00:00Z' })], [session({ state: 'exited', exitCode: 2 })]), []);
  assert.deepEqual(s.newlyExited([], after), []);
});

test('the exit notification: a failure with why, never a clean exit, a stop or a sandbox that stopped', () => {
  assert.equal(
    s.exitMessage(session({ state: 'exited', exitCode: 1, reason: offline })),
    `Berth: claude-1 (claude) exited with code 1. ${offline.message}`,
  );
  assert.equal(s.exitMessage(session({ state: 'exited', exitCode: 127, reason: null })), 'Berth: claude-1 (claude) exited with code 127.');
  assert.equal(s.exitMessage(session({ state: 'exited', exitCode: 0 })), undefined);
  assert.equal(s.exitMessage(session({ state: 'exited', exitCode: 129, reason: { kind: 'stopped', message: 'The session was stopped.' } })), undefined);
  assert.equal(s.exitMessage(session({ state: 'ended' })), undefined);
  assert.equal(s.exitMessage(session()), undefined);
  assert.equal(s.exitMessage(session({ state: 'exited', exitCode: null })), undefined);
  assert.equal(s.SHOW_OUTPUT, 'Show Output');
});

test('the question before ending running sessions: singular, plural, several sandboxes, none', () => {
  const one = s.endSessionsQuestion('Stopping', 'berth-claude-x', [{ sandbox: 'berth-claude-x', sessions: [session(), session({ id: 'claude-0', state: 'exited' })] }]);
  assert.equal(one.message, 'Stopping berth-claude-x ends 1 running agent session (claude-1).');
  assert.match(one.detail, /^Its agent is ended.*Cancel leaves it running\.$/);
  const two = s.endSessionsQuestion('Recreating', 'berth-claude-x', [{ sandbox: 'berth-claude-x', sessions: [session(), session({ id: 'claude-2' })] }]);
  assert.equal(two.message, 'Recreating berth-claude-x ends 2 running agent sessions (claude-1, claude-2).');
  assert.match(two.detail, /^Their agents are ended.*Cancel leaves them running\.$/);
  const many = s.endSessionsQuestion('Removing', 'all 3 sandboxes', [
    { sandbox: 'a', sessions: [session()] },
    { sandbox: 'b', sessions: [] },
    { sandbox: 'c', sessions: [session({ id: 'codex-1' }), session({ id: 'codex-2' })] },
  ]);
  assert.equal(many.message, 'Removing all 3 sandboxes ends 3 running agent sessions (a: claude-1; c: codex-1, codex-2).');
  assert.equal(s.endSessionsQuestion('Stopping', 'x', [{ sandbox: 'x', sessions: [session({ state: 'exited' }), session({ state: 'ended' })] }]), undefined);
  assert.equal(s.endSessionsQuestion('Stopping', 'x', []), undefined);
  const stop = s.stopSessionQuestion(session(), 'berth-claude-x');
  assert.equal(stop.message, 'Stop the agent session claude-1 (claude)?');
  assert.match(stop.detail, /the sandbox berth-claude-x keeps running/);
});

test("the session rows' actions are contributed for their context values, and hidden from the palette", () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const menus = pkg.contributes.menus['view/item/context'];
  const inline = (viewItem) => menus.filter((m) => m.group.startsWith('inline') && m.when.includes(`viewItem == ${viewItem}`)).map((m) => m.command);
  assert.deepEqual(inline(s.sessionContext({ state: 'running' })), ['berth.sessionItem.attach', 'berth.sessionItem.stop']);
  assert.deepEqual(inline(s.sessionContext({ state: 'exited' })), ['berth.sessionItem.showOutput']);
  assert.deepEqual(inline(s.sessionContext({ state: 'ended' })), []);
  const hidden = pkg.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command);
  for (const id of ['berth.sessionItem.attach', 'berth.sessionItem.stop', 'berth.sessionItem.showOutput']) {
    assert.ok(hidden.includes(id), id);
    assert.ok(pkg.contributes.commands.find((c) => c.command === id)?.icon, `${id} has an icon`);
  }
  for (const id of ['berth.newAgentSession', 'berth.attachSession', 'berth.stopSession']) {
    assert.ok(pkg.contributes.commands.some((c) => c.command === id), id);
    assert.ok(!hidden.includes(id), `${id} is in the palette`);
  }
});
