// Unit tests of Choose Agent's pure logic: the rows, which agent is current, and the message after a pick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const p = require('../../../out/unit/agents.js');

// As sandbox/agents answers (the built-in table, plus one agent from the user's config file).
const agent = (name, title, state, keys, extra = {}) => ({
  name,
  title,
  binary: name,
  defaultTemplate: `docker/sandbox-templates:${name}`,
  defaultArgs: [],
  state,
  credentialsVolume: state.length ? `berth-${name}-credentials` : null,
  keys,
  source: 'built-in',
  ...extra,
});
const AGENTS = [
  agent('claude', 'Claude Code', ['~/.claude'], ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN']),
  agent('codex', 'OpenAI Codex CLI', ['~/.codex'], ['OPENAI_API_KEY', 'CODEX_API_KEY']),
  agent('gemini', 'Gemini CLI', ['~/.gemini'], ['GEMINI_API_KEY', 'GOOGLE_API_KEY']),
  agent('copilot', 'GitHub Copilot CLI', ['~/.copilot'], ['COPILOT_GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_TOKEN']),
  agent('opencode', 'OpenCode', ['~/.local/share/opencode', '~/.config/opencode'], ['OPENROUTER_API_KEY']),
  agent('shell', 'Shell (no agent)', [], [], { binary: '' }),
  agent('aider', 'Aider', ['~/.aider'], [], { source: '/home/u/.config/berth/config.toml' }),
];

const sandbox = (agentName) => ({
  id: 'abcdef012345',
  name: `berth-${agentName}-proj-1a2b3c`,
  workspace: '/home/u/proj',
  agent: agentName,
  template: 'berth-test/claude:1',
  status: 'running',
  state: 'running',
  createdAt: '2026-01-02T03:04:05Z',
});
const status = (state, sb = null) => ({ workspace: '/home/u/proj', state, sandbox: sb, drift: [] });

test('the login detail names the volume, the folders it holds and the keys', () => {
  assert.equal(
    p.agentLoginDetail(AGENTS[0]),
    'login in volume berth-claude-credentials: ~/.claude · keys: ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_AUTH_TOKEN',
  );
  assert.equal(
    p.agentLoginDetail(AGENTS[4]),
    'login in volume berth-opencode-credentials: ~/.local/share/opencode, ~/.config/opencode · keys: OPENROUTER_API_KEY',
  );
  assert.equal(p.agentLoginDetail(AGENTS[5]), 'no login kept');
  assert.equal(p.agentLoginDetail(AGENTS[6]), 'login in volume berth-aider-credentials: ~/.aider');
  // Keys but nothing kept, or folders but no volume: say what there is.
  assert.equal(p.agentLoginDetail(agent('k', 'K', [], ['K_TOKEN'])), 'no login kept · keys: K_TOKEN');
  assert.equal(p.agentLoginDetail(agent('v', 'V', ['~/.v'], [], { credentialsVolume: null })), 'login in ~/.v');
});

test('one row per agent: label the name, description the title, (your config) for configured agents', () => {
  const rows = p.agentPickItems(AGENTS, { name: 'nobody', origin: 'setting' });
  assert.deepEqual(rows.map((r) => r.label), ['claude', 'codex', 'gemini', 'copilot', 'opencode', 'shell', 'aider']);
  assert.deepEqual(
    rows.map((r) => r.description),
    ['Claude Code', 'OpenAI Codex CLI', 'Gemini CLI', 'GitHub Copilot CLI', 'OpenCode', 'Shell (no agent)', 'Aider (your config)'],
  );
  assert.equal(rows[5].detail, 'no login kept');
  assert.match(rows[1].detail, /^login in volume berth-codex-credentials: ~\/\.codex · keys: OPENAI_API_KEY, CODEX_API_KEY$/);
  assert.ok(rows.every((r) => !r.current && r.name === r.label));
});

test('the current agent: berth.agent, else the sandbox, else claude', () => {
  assert.deepEqual(p.currentAgent('gemini', status('running', sandbox('codex'))), { name: 'gemini', origin: 'setting' });
  assert.deepEqual(p.currentAgent(null, status('running', sandbox('codex'))), { name: 'codex', origin: 'sandbox' });
  assert.deepEqual(p.currentAgent(undefined, status('stopped', sandbox('opencode'))), { name: 'opencode', origin: 'sandbox' });
  assert.deepEqual(p.currentAgent('', status('absent')), { name: 'claude', origin: 'default' });
  assert.deepEqual(p.currentAgent(null, undefined), { name: 'claude', origin: 'default' });
});

test('the current agent is marked and listed first; the others keep the server order', () => {
  const rows = p.agentPickItems(AGENTS, p.currentAgent(null, status('running', sandbox('copilot'))));
  assert.deepEqual(rows.map((r) => r.label), ['copilot', 'claude', 'codex', 'gemini', 'opencode', 'shell', 'aider']);
  assert.equal(rows[0].current, true);
  assert.equal(rows[0].description, 'GitHub Copilot CLI · current (its sandbox)');
  assert.ok(rows.slice(1).every((r) => !r.current && !/current/.test(r.description)));

  const fromSetting = p.agentPickItems(AGENTS, p.currentAgent('aider', undefined));
  assert.equal(fromSetting[0].label, 'aider');
  assert.equal(fromSetting[0].description, 'Aider (your config) · current (berth.agent)');

  const byDefault = p.agentPickItems(AGENTS, p.currentAgent(null, status('absent')));
  assert.equal(byDefault[0].label, 'claude');
  assert.equal(byDefault[0].description, 'Claude Code · current (default)');
});

test('an unknown current agent marks nothing and keeps the order', () => {
  const rows = p.agentPickItems(AGENTS, p.currentAgent('removed-from-config', undefined));
  assert.deepEqual(rows.map((r) => r.label), AGENTS.map((a) => a.name));
  assert.ok(rows.every((r) => !r.current));
});

test('after a pick: the next Run Agent uses it; Recreate when the sandbox has another agent', () => {
  const codex = AGENTS[1];
  const none = p.agentChosenMessage('alpha', codex, undefined);
  assert.equal(none.recreate, false);
  assert.equal(none.text, 'Berth: "alpha" now uses codex (OpenAI Codex CLI); the next Run Agent starts it.');

  const same = p.agentChosenMessage('alpha', codex, 'codex');
  assert.equal(same.recreate, false);

  const other = p.agentChosenMessage('alpha', codex, 'claude');
  assert.equal(other.recreate, true);
  assert.match(other.text, /^Berth: "alpha" now uses codex \(OpenAI Codex CLI\)\. Its sandbox was created for claude: /);
  assert.match(other.text, /Berth: Recreate Sandbox applies the change/);

  assert.match(p.agentChosenMessage('alpha', { name: 'x', title: '' }, undefined).text, /now uses x;/);
});
