// Unit tests of templates.ts: when a failed run offers to build a template (and for which agents),
// Build Template's rows, what is said after a build, an update or a cancel, and the tooltip's line
// about a built template (compiled to out/unit by `npm run compile:unit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

import { sandbox, status } from './fixtures.mjs';

const require = createRequire(import.meta.url);
const t = require('../../../out/unit/templates.js');
const views = require('../../../out/unit/views.js');
const pr = require('../../../out/unit/protocol.js');

const built = {
  agents: ['claude'],
  versions: { claude: '2.1.332', node: '24.21.0', npm: '11.6.2' },
  base: 'berth.local/base:bookworm',
  baseSource: 'debootstrap',
  built: '2026-11-28T06:15:07Z',
};
const template = (over = {}) => ({ tag: 'berth.local/template:claude', id: 'sha256:0123456789ab', pins: {}, size: 1, upToDate: false, ...built, ...over });

test('a templateProblem naming agents to build offers the build, for exactly those agents', () => {
  // What the server answers when docker/sandbox-templates:shell cannot be pulled.
  assert.deepEqual(t.buildOffer({ kind: 'templateProblem', value: 'docker/sandbox-templates:shell', build: ['shell'] }), ['shell']);
  assert.deepEqual(t.buildOffer({ kind: 'templateProblem', build: ['claude', 'codex', 'claude'] }), ['claude', 'codex']);
});

test('no offer for another error, an empty or malformed build, or a template problem without one', () => {
  assert.equal(t.buildOffer({ kind: 'templateProblem', value: 'x' }), undefined);
  assert.equal(t.buildOffer({ kind: 'templateProblem', build: [] }), undefined);
  assert.equal(t.buildOffer({ kind: 'templateProblem', build: 'claude' }), undefined);
  assert.equal(t.buildOffer({ kind: 'templateProblem', build: ['claude', 3] }), undefined);
  assert.equal(t.buildOffer({ kind: 'templateProblem', build: [' '] }), undefined);
  assert.equal(t.buildOffer({ kind: 'badInput', build: ['claude'] }), undefined);
  assert.equal(t.buildOffer({ kind: 'templateProblem', step: 'checking', cancelled: true }), undefined);
  assert.equal(t.buildOffer(undefined), undefined);
  assert.equal(t.buildOffer(['claude']), undefined);
});

test('a build is cancelled when the server answers $/cancelRequest, or says so itself', () => {
  assert.equal(pr.REQUEST_CANCELLED, -32800);
  assert.equal(t.buildCancelled({ code: -32800, message: 'Request with id "7" is canceled' }), true);
  const err = Object.assign(new Error('The build was cancelled; nothing was tagged.'), { code: -32003, data: { kind: 'templateProblem', cancelled: true } });
  assert.equal(t.buildCancelled(err), true);
  assert.equal(t.buildCancelled({ code: -32003, data: { kind: 'templateProblem', step: 'installing' } }), false);
  assert.equal(t.buildCancelled(new Error('boom')), false);
  assert.equal(t.buildCancelled(undefined), false);
  assert.equal(t.CANCELLED_MESSAGE, 'Berth: template build cancelled; nothing was tagged.');
});

test("Build Template's rows: every agent, the folder's own first and picked", () => {
  const agents = [
    { name: 'claude', title: 'Claude Code', defaultTemplate: 'docker/sandbox-templates:claude-code', source: 'built-in' },
    { name: 'shell', title: 'Shell', defaultTemplate: 'docker/sandbox-templates:shell', source: 'built-in' },
    { name: 'aider', title: 'aider', defaultTemplate: 'me/aider:1', source: '/home/u/.config/berth/config.toml' },
  ];
  const rows = t.buildPickItems(agents, 'shell');
  assert.deepEqual(rows.map((r) => [r.name, r.picked]), [['shell', true], ['claude', false], ['aider', false]]);
  assert.equal(rows[1].description, 'Claude Code');
  assert.equal(rows[1].detail, 'Its default template: docker/sandbox-templates:claude-code');
  assert.equal(rows[2].description, '(your config)');
  assert.equal(t.buildPickItems(agents, undefined).filter((r) => r.picked).length, 0);
  assert.match(t.buildPickPlaceholder(), /berth\.local\/template:<agents>/);
  // An agent the server says Berth has no recipe for is not offered.
  const norecipe = [{ ...agents[0], recipe: true }, { ...agents[2], recipe: false }];
  assert.deepEqual(t.buildPickItems(norecipe, undefined).map((r) => r.name), ['claude']);
});

test("the build's notification is titled after its agents", () => {
  assert.equal(t.buildTitle(['claude', 'codex']), 'Berth: building a template for claude, codex');
  assert.equal(t.UPDATE_TITLE, 'Berth: updating the templates Berth built');
});

test('after a build: the tag and what it holds, or that it was up to date', () => {
  assert.equal(t.builtMessage(template()), 'Berth: built berth.local/template:claude: claude 2.1.332 (Node 24.21.0).');
  assert.equal(t.builtMessage(template({ upToDate: true })), 'Berth: berth.local/template:claude is up to date: claude 2.1.332 (Node 24.21.0).');
  // shell installs no agent program and no Node.
  const shell = template({ tag: 'berth.local/template:shell', agents: ['shell'], versions: {} });
  assert.equal(t.builtMessage(shell), 'Berth: built berth.local/template:shell: shell.');
  const two = template({ tag: 'berth.local/template:claude-codex', agents: ['claude', 'codex'], versions: { claude: '2.1.332', codex: '0.171.0', node: '24.21.0' } });
  assert.equal(t.templateHolds(two), 'claude 2.1.332, codex 0.171.0 (Node 24.21.0)');
});

test('after an update: old → new versions per template, or current', () => {
  const before = template({ versions: { claude: '2.1.300', node: '24.20.0', npm: '11.6.2' } });
  const codex = template({ tag: 'berth.local/template:codex', agents: ['codex'], versions: { codex: '0.171.0', node: '24.21.0' } });
  assert.equal(
    t.updatedMessage([
      { before, after: template() },
      { before: codex, after: { ...codex, upToDate: true } },
    ]),
    'Berth: updated the templates: berth.local/template:claude: claude 2.1.300 → 2.1.332, Node 24.20.0 → 24.21.0; berth.local/template:codex: current.',
  );
  assert.equal(
    t.updatedMessage([{ before: codex, after: { ...codex, upToDate: true } }]),
    'Berth: every template is current: berth.local/template:codex (codex 0.171.0 (Node 24.21.0)).',
  );
  // Rebuilt (its recipe or base changed) with the same versions.
  assert.equal(t.updatedMessage([{ before: codex, after: codex }]), 'Berth: updated the templates: berth.local/template:codex: rebuilt, same versions.');
  assert.deepEqual(t.versionChanges({ agents: ['claude'], versions: {} }, template()), ['claude (none) → 2.1.332', 'Node (none) → 24.21.0', 'npm (none) → 11.6.2']);
  assert.equal(t.updatedMessage([]), 'Berth: there was no template to update.');
});

test("the tooltip's line: the template, its agents' versions, Node, when and on what it was built", () => {
  assert.equal(
    t.builtTemplateLine('berth.local/template:claude', built),
    'Template berth.local/template:claude: claude 2.1.332, Node 24.21.0, built 2026-11-28 on berth.local/base:bookworm (debootstrap)',
  );
  const shell = { ...built, agents: ['shell'], versions: {}, base: 'debian:bookworm-slim', baseSource: 'official' };
  assert.equal(t.builtTemplateSummary(shell), 'shell, built 2026-11-28 on debian:bookworm-slim (official)');
  // A base the user named needs no word; labels the server could not read are left out.
  assert.equal(t.builtTemplateSummary({ ...built, baseSource: 'named', base: 'me/debian:12' }), 'claude 2.1.332, Node 24.21.0, built 2026-11-28 on me/debian:12');
  assert.equal(t.builtTemplateSummary({ agents: ['x'], versions: null, base: '', baseSource: '', built: '' }), 'x, built');
  assert.equal(t.builtTemplateOf({ builtTemplate: null }), undefined);
  assert.equal(t.builtTemplateOf({}), undefined);
  assert.equal(t.builtTemplateOf({ builtTemplate: { agents: 'claude' } }), undefined);
});

test('the status bar tooltip and the Sandboxes view show a built template; others keep their one row', () => {
  const made = { ...sandbox, template: 'berth.local/template:claude', builtTemplate: built };
  const tip = views.statusTooltip(status('running', { sandbox: made }));
  assert.match(tip, /Template `berth\.local\/template:claude`: claude 2\.1\.332, Node 24\.21\.0, built 2026-11-28 on berth\.local\/base:bookworm \(debootstrap\)/);
  assert.doesNotMatch(tip, /Template: /);
  assert.match(views.sandboxTreeItem(made).tooltip, /Template `berth\.local\/template:claude`: claude 2\.1\.332/);
  const docker = views.statusTooltip(status('running', { sandbox: { ...sandbox, builtTemplate: null } }));
  assert.match(docker, /Template: `berth-test\/claude:1`/);
  // The agents are the image's labels: markdown in them is escaped.
  const odd = views.statusTooltip(status('running', { sandbox: { ...made, builtTemplate: { ...built, agents: ['a*b'] } } }));
  assert.match(odd, /a\\\*b/);
});

test('Build Template and Update Templates are palette commands of the Berth category, with the setting', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const command = (id) => pkg.contributes.commands.find((c) => c.command === id);
  assert.deepEqual([command('berth.buildTemplate').category, command('berth.buildTemplate').title], ['Berth', 'Build Template…']);
  assert.deepEqual([command('berth.updateTemplates').category, command('berth.updateTemplates').title], ['Berth', 'Update Templates']);
  const hidden = pkg.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command);
  assert.ok(!hidden.includes('berth.buildTemplate') && !hidden.includes('berth.updateTemplates'));
  const setting = pkg.contributes.configuration.properties['berth.templateSource'];
  assert.deepEqual([setting.enum, setting.default, setting.scope], [['docker', 'berth'], 'docker', 'resource']);
});
