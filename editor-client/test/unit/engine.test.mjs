// Unit tests of engine.ts: the Berth output's line about the Docker engine the server uses, and the
// status bar tooltip's (compiled to out/unit by `npm run compile:unit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import { status } from './fixtures.mjs';

const require = createRequire(import.meta.url);
const eng = require('../../../out/unit/engine.js');
const views = require('../../../out/unit/views.js');

const local = {
  host: 'unix:///var/run/docker.sock',
  context: 'default',
  source: 'default',
  description: 'unix:///var/run/docker.sock (the default)',
  available: true,
  product: 'Docker Engine',
  version: '28.2.2',
  os: 'Debian GNU/Linux 12 (bookworm)',
  arch: 'x86_64',
  podman: false,
  rootless: false,
  sameMachine: true,
  socket: '/var/run/docker.sock',
};
const podman = {
  ...local,
  host: 'unix:///run/user/1000/podman/podman.sock',
  context: null,
  source: 'DOCKER_HOST',
  description: 'unix:///run/user/1000/podman/podman.sock (DOCKER_HOST)',
  product: 'Podman',
  version: '5.4.2',
  os: 'fedora',
  arch: 'amd64',
  podman: true,
  rootless: true,
};
const away = {
  host: 'ssh://build-box',
  context: 'build-box',
  source: 'config',
  description: 'ssh://build-box (context build-box)',
  available: false,
  problem: 'The Docker engine is not answering at ssh://build-box (Connection refused).\nStart Docker (or dockerd) and try again.',
};
const setup = "The Docker context 'nope' (DOCKER_CONTEXT) does not exist. Run docker context ls.";

test('the output line: where the engine is, what it is, its platform, and rootless when it is', () => {
  assert.equal(
    eng.engineOutputLine({ info: local }),
    'Engine: unix:///var/run/docker.sock (the default): Docker Engine 28.2.2 (Debian GNU/Linux 12 (bookworm), x86_64)',
  );
  assert.equal(
    eng.engineOutputLine({ info: podman }),
    'Engine: unix:///run/user/1000/podman/podman.sock (DOCKER_HOST): Podman 5.4.2 (fedora, amd64, rootless)',
  );
});

test('the output line of an engine that does not answer says why, on one line', () => {
  assert.equal(
    eng.engineOutputLine({ info: away }),
    'Engine: ssh://build-box (context build-box): not answering: The Docker engine is not answering at ssh://build-box (Connection refused). Start Docker (or dockerd) and try again.',
  );
});

test('the output line of an engineSetup error is its message', () => {
  assert.equal(eng.engineOutputLine({ setup }), `Engine: ${setup}`);
  assert.equal(eng.engineOutputLine({ setup: 'Fix\nthis.' }), 'Engine: Fix this.');
});

test('the output line leaves out what the server left out', () => {
  const bare = { host: 'tcp://10.0.0.2:2376', context: null, source: 'DOCKER_HOST', description: '', available: true, product: 'Docker Desktop' };
  assert.equal(eng.engineOutputLine({ info: bare }), 'Engine: tcp://10.0.0.2:2376: Docker Desktop');
  assert.equal(eng.engineOutputLine({ info: { ...away, problem: undefined } }), 'Engine: ssh://build-box (context build-box): not answering: no reason given');
});

test('the tooltip line: the engine and what answers, or that it does not', () => {
  assert.equal(eng.engineTooltipLine({ info: local }), 'Engine: unix:///var/run/docker.sock (the default) — Docker Engine 28.2.2');
  assert.equal(eng.engineTooltipLine({ info: podman }), 'Engine: unix:///run/user/1000/podman/podman.sock (DOCKER_HOST) — Podman 5.4.2');
  assert.equal(eng.engineTooltipLine({ info: away }), 'Engine: ssh://build-box (context build-box) (not answering)');
  assert.equal(eng.engineTooltipLine({ setup }), `Engine: ${setup}`);
});

test("the status bar tooltip ends with the engine's line, escaped for Markdown", () => {
  const line = eng.engineTooltipLine({ info: podman });
  const v = views.statusBarView(status('running'), 'running', { engine: line });
  assert.ok(v.tooltip.endsWith('\n\nEngine: unix:///run/user/1000/podman/podman.sock (DOCKER\\_HOST) — Podman 5.4.2'), v.tooltip);
  assert.match(v.tooltip, /_Click for actions\._\n\nEngine: /);
  const absent = views.statusBarView(status('absent'), 'running', { engine: 'Engine: x' });
  assert.ok(absent.tooltip.endsWith('\n\nEngine: x'));
  const unavailable = views.statusBarView(status('unavailable', { message: setup }), 'running', { engine: eng.engineTooltipLine({ info: away }) });
  assert.ok(unavailable.tooltip.endsWith('\n\nEngine: ssh://build-box (context build-box) (not answering)'));
  // While connecting too, once the server said which engine; not while it does not run.
  assert.ok(views.statusBarView(undefined, 'starting', { engine: 'Engine: x' }).tooltip.endsWith('\n\nEngine: x'));
  assert.doesNotMatch(views.statusBarView(undefined, 'failed', { engine: 'Engine: x' }).tooltip, /Engine:/);
});

test('without an answer there is no engine line, and the Sandboxes view never has one', () => {
  assert.doesNotMatch(views.statusBarView(status('running'), 'running').tooltip, /Engine:/);
  assert.ok(views.statusBarView(status('running'), 'running').tooltip.endsWith('_Click for actions._'));
  const sandbox = status('running').sandbox;
  assert.doesNotMatch(views.sandboxTreeItem(sandbox).tooltip, /Engine: /);
});
