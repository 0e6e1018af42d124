// Unit tests of the client's half of the trust boundary (compiled to out/unit by `npm run compile:unit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const t = require('../../../out/unit/trust.js');

const inspector = (table) => (key) => table[key];

test("a folder's .vscode/settings.json goes to workspaceValues, the user's settings stay on top", () => {
  const out = t.splitLayers(
    inspector({
      volumes: { globalValue: ['/data:/data'], workspaceFolderValue: ['/home/ada:/mnt/home'] },
      template: { globalValue: 'mine:1' },
      autoStart: { workspaceValue: 'always' },
    }),
    false,
  );
  assert.deepEqual(out.volumes, ['/data:/data']);
  assert.equal(out.template, 'mine:1');
  assert.equal(out.autoStart, null, 'a single-folder workspace value is the folder file');
  assert.equal(out.mountDockerSocket, null);
  assert.deepEqual(out.workspaceValues, { volumes: ['/home/ada:/mnt/home'], autoStart: 'always' });
});

test('a .code-workspace file outside every folder counts as the user’s own', () => {
  const out = t.splitLayers(inspector({ volumes: { globalValue: ['/a:/a'], workspaceValue: ['/b:/b'] } }), true);
  assert.deepEqual(out.volumes, ['/b:/b']);
  assert.deepEqual(out.workspaceValues, {});
});

test('object env merges like VS Code merges it, so the user’s own entries are not re-asked', () => {
  const out = t.splitLayers(inspector({ env: { globalValue: { A: '1' }, workspaceFolderValue: { B: '2' } } }), false);
  assert.deepEqual(out.env, { A: '1' });
  assert.deepEqual(out.workspaceValues.env, { A: '1', B: '2' });
});

test("a value the user picked in Berth's UI counts as theirs while the file holds exactly it", () => {
  const inspect = inspector({ agent: { workspaceFolderValue: 'codex' } });
  const picked = t.splitLayers(inspect, false, { agent: 'codex' });
  assert.equal(picked.agent, 'codex');
  assert.deepEqual(picked.workspaceValues, {});
  // The agent rewrote the file after the pick: the file's value is the workspace's again.
  const rewritten = t.splitLayers(inspect, false, { agent: 'claude' });
  assert.equal(rewritten.agent, null);
  assert.deepEqual(rewritten.workspaceValues, { agent: 'codex' });
});

test('consent shows each exact value and what it means, and is remembered per id', () => {
  const items = t.consentItems({
    kind: 'needsConsent',
    items: [
      { id: 'a1', field: 'volumes', value: '/home/ada:/mnt/home', note: 'your home folder, read-write' },
      { id: 'b2', field: 'mountDockerSocket', value: true, note: 'root on this machine' },
      { nonsense: true },
    ],
  });
  assert.equal(items.length, 2);
  assert.deepEqual(t.consentLines(items), [
    'berth.volumes: /home/ada:/mnt/home — your home folder, read-write',
    'berth.mountDockerSocket: true — root on this machine',
  ]);
  assert.match(t.consentDetail(items), /the agent in the sandbox can write/);
  assert.match(t.consentQuestion('alpha'), /"alpha"/);
  assert.equal(t.allAllowed(['a1', 'b2', 'zz'], items), true);
  assert.equal(t.allAllowed(['a1'], items), false, 'a new value is a new question');
  assert.equal(t.allAllowed(['a1'], []), false);
  assert.deepEqual(t.consentItems(null), []);
});

test('the network settings are split like the others: a narrower policy is the workspace’s too', () => {
  const out = t.splitLayers(
    inspector({
      networkPolicy: { globalValue: 'balanced', workspaceFolderValue: 'locked' },
      allowHosts: { workspaceFolderValue: ['registry.example.com'] },
      denyHosts: { globalValue: ['*.ads.test'] },
    }),
    false,
  );
  assert.equal(out.networkPolicy, 'balanced');
  assert.equal(out.allowHosts, null, 'unset: the server applies its default');
  assert.deepEqual(out.denyHosts, ['*.ads.test']);
  assert.deepEqual(out.workspaceValues, { networkPolicy: 'locked', allowHosts: ['registry.example.com'] });
});

test('every sandbox setting is declared in package.json, per folder, with no default that would be sent', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const props = pkg.contributes.configuration.properties;
  for (const key of t.SANDBOX_KEYS) {
    const p = props[`berth.${key}`];
    assert.ok(p, key);
    assert.equal(p.scope, 'resource', key);
    assert.ok(p.markdownDescription, key);
  }
  for (const key of ['networkPolicy', 'allowHosts', 'denyHosts']) assert.equal(props[`berth.${key}`].default, null, key);
  assert.deepEqual(props['berth.networkPolicy'].enum, ['balanced', 'locked', 'open', null]);
  const command = pkg.contributes.commands.find((c) => c.command === 'berth.editNetworkRules');
  assert.deepEqual([command.category, command.title], ['Berth', 'Edit Network Rules…']);
  assert.ok(pkg.contributes.commands.every((c) => c.command.startsWith('berth.')), 'never the server\'s berthServer.* ids');
});
