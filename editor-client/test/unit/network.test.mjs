// Unit tests of network.ts: the blocked-request notification, Allow's pattern and answer, the log lines
// and Edit Network Rules' rows (compiled to out/unit by `npm run compile:unit`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const n = require('../../../out/unit/network.js');

// As the server sends them (protocol.md, "Network policy").
const block = {
  workspace: '/home/u/alpha',
  sandbox: 'abcdef012345',
  agent: 'claude',
  time: '2026-11-27T17:51:17.982889926Z',
  host: 'example.com',
  port: 80,
  rule: 'not in the locked policy or any allow rule',
};
const info = (extra = {}) => ({
  workspace: '/home/u/alpha',
  sandbox: 'abcdef012345',
  policy: 'locked',
  agent: 'claude',
  preset: ['api.anthropic.com', 'claude.ai'],
  allow: [],
  deny: [],
  liveAllow: [],
  liveDeny: [],
  dockerSocket: false,
  ...extra,
});

test('the blocked-request notification names the agent, the folder, the host and port, and why', () => {
  assert.equal(
    n.blockedMessage(block, 'alpha'),
    'Berth: claude in alpha was blocked from example.com:80 (not in the locked policy or any allow rule).',
  );
  assert.equal(n.blockedMessage({ ...block, rule: '' }, 'alpha'), 'Berth: claude in alpha was blocked from example.com:80.');
  assert.equal(n.ALLOW_BUTTON, 'Allow for this workspace');
  assert.equal(n.LOG_BUTTON, 'Show Log');
});

test('Allow asks for the host alone on the web ports, host:port on any other', () => {
  assert.equal(n.allowPattern('example.com', 80), 'example.com');
  assert.equal(n.allowPattern('example.com', 443), 'example.com');
  assert.equal(n.allowPattern('db.example.com', 5432), 'db.example.com:5432');
  assert.equal(n.allowPattern('10.0.0.7', 8080), '10.0.0.7:8080');
  assert.equal(n.patternPorts('example.com'), 'ports 80 and 443');
  assert.equal(n.patternPorts('example.com:8443'), 'port 8443');
});

test('patterns split and deny like the server: wildcards cover names under the domain only', () => {
  assert.deepEqual(n.splitPattern('*.Example.com.:8443'), { host: 'example.com', wildcard: true, port: 8443 });
  assert.deepEqual(n.splitPattern('example.com'), { host: 'example.com', wildcard: false, port: undefined });
  assert.equal(n.denies('example.com', 'EXAMPLE.com.', 443), true);
  assert.equal(n.denies('example.com', 'www.example.com', 443), false);
  assert.equal(n.denies('*.example.com', 'www.example.com', 22), true, 'a deny without a port closes every port');
  assert.equal(n.denies('*.example.com', 'example.com', 443), false, 'the wildcard is not the name itself');
  assert.equal(n.denies('example.com:80', 'example.com', 443), false);
  assert.equal(n.denies('example.com:80', 'example.com', 80), true);
  assert.equal(n.denies('10.0.0.7', '10.0.0.7', 5432), true);
});

test("Allow's answer is reported honestly: allowed now, or which deny rule still wins", () => {
  const allowed = n.allowedMessage('alpha', 'example.com', info({ liveAllow: ['example.com'] }), block);
  assert.deepEqual(allowed, {
    text: 'Berth: "alpha" now allows example.com (ports 80 and 443), from its next request on.',
    stillBlocked: false,
  });
  const byCreation = n.allowedMessage('alpha', 'example.com', info({ deny: ['*.com'], liveAllow: ['example.com'] }), block);
  assert.equal(byCreation.stillBlocked, true);
  assert.match(byCreation.text, /stays blocked: the deny rule \*\.com wins \(it comes from berth\.denyHosts/);
  const since = n.allowedMessage('alpha', 'example.com:8443', info({ liveDeny: ['x.example.com:8443'] }));
  assert.equal(since.stillBlocked, false, 'a deny rule for another host does not block it');
  const wildcard = n.allowedMessage('alpha', '*.example.com', info({ liveDeny: ['*.example.com:443'] }));
  assert.equal(wildcard.stillBlocked, true);
  assert.match(wildcard.text, /added since the sandbox was created; Berth: Edit Network Rules… can reset it/);
  // The blocked request's own port decides, not the pattern's web ports.
  const port80 = n.allowedMessage('alpha', 'example.com', info({ deny: ['example.com:80'] }), block);
  assert.equal(port80.stillBlocked, true);
});

test('the log lines are those of `berth policy log`, with the time to the second', () => {
  assert.equal(n.shortTime('2026-11-27T17:51:17.982889926Z'), '2026-11-27T17:51:17Z');
  assert.equal(n.shortTime('2026-11-27T17:51:17Z'), '2026-11-27T17:51:17Z');
  assert.equal(n.shortTime(''), '-');
  assert.equal(n.logLine(block), '2026-11-27T17:51:17Z  example.com:80  blocked by not in the locked policy or any allow rule');
  assert.equal(
    n.logText([block, { ...block, host: 'db.example.com', port: 5432, rule: 'deny *.example.com', time: '' }]),
    '2026-11-27T17:51:17Z  example.com:80  blocked by not in the locked policy or any allow rule\n' +
      '-  db.example.com:5432  blocked by deny *.example.com\n',
  );
  assert.equal(n.logText([]), '(the network policy has blocked nothing)\n');
  // The server names the rule by the rules in effect now, and says so of one they allow by now.
  assert.equal(
    n.logLine({ ...block, rule: 'the rules then (they allow it now)' }),
    '2026-11-27T17:51:17Z  example.com:80  blocked by the rules then (they allow it now)',
  );
  assert.equal(
    n.outputLine(block, 'alpha'),
    '2026-11-27T17:51:17Z network: claude in alpha was blocked from example.com:80 (not in the locked policy or any allow rule)',
  );
});

test('each policy is described, and its label reads Network: <policy>', () => {
  assert.equal(n.networkLabel('balanced'), 'Network: balanced');
  assert.equal(n.policyDescription('open'), 'nothing is filtered');
  assert.equal(n.policyDescription('locked', 'claude'), "only claude's API and login hosts");
  assert.equal(n.policyDescription('balanced'), "the agent's API and login hosts, common package registries and code hosts");
  assert.equal(n.policyDescription('custom'), 'custom');
});

test('the summary lists every rule, where it came from, and the Docker socket warning', () => {
  const lines = n.policySummary(info({ allow: ['a.test'], liveAllow: ['example.com'], liveDeny: ['*.ads.test'], dockerSocket: true }), 'alpha');
  assert.equal(lines[0], 'Network policy of "alpha" (sandbox abcdef012345): locked — only claude\'s API and login hosts');
  assert.ok(lines.includes('Allowed by the policy: api.anthropic.com, claude.ai'));
  assert.ok(lines.includes('Allowed when created (berth.allowHosts): a.test'));
  assert.ok(lines.includes('Denied when created (berth.denyHosts): (none)'));
  assert.ok(lines.includes('Allowed since: example.com'));
  assert.ok(lines.includes('Denied since: *.ads.test'));
  assert.match(lines.at(-1), /Docker socket is mounted .* defeats any network policy/);
  const open = n.policySummary(info({ policy: 'open', preset: [] }), 'alpha');
  assert.match(open[1], /Nothing is filtered/);
  assert.ok(!open.some((l) => l.startsWith('Allowed since')));
});

test('Edit Network Rules offers the policy now, then allow, deny, reset and the log', () => {
  const rows = n.networkRuleItems(info({ liveAllow: ['example.com'] }));
  const actions = rows.filter((r) => !r.separator).map((r) => r.action);
  assert.deepEqual(actions, ['show', 'allow', 'deny', 'reset', 'log']);
  assert.equal(rows.filter((r) => r.separator).length, 2);
  const now = rows.find((r) => r.action === 'show');
  assert.equal(now.label, '$(shield) Policy: locked');
  assert.match(now.detail, /Allowed since creation: example\.com · Denied since creation: \(none\)/);
  assert.equal(rows.find((r) => r.action === 'allow').label, '$(add) Allow a host…');
  assert.equal(rows.find((r) => r.action === 'deny').label, '$(circle-slash) Deny a host…');
  assert.equal(rows.find((r) => r.action === 'reset').label, '$(discard) Reset rules added since creation');
  assert.equal(rows.find((r) => r.action === 'reset').description, 'drops 1 rule');
  assert.equal(rows.find((r) => r.action === 'log').label, '$(output) Show blocked requests');
  assert.equal(n.networkRulesPlaceholder(info({ liveAllow: ['a.test'], liveDeny: ['b.test'] })), 'locked network policy · 2 rules added since creation · choose an action');
  // An open sandbox has no rules to change; a mounted socket is said first.
  const open = n.networkRuleItems(info({ policy: 'open', dockerSocket: true }));
  assert.deepEqual(open.filter((r) => !r.separator).map((r) => r.label), ['$(shield) Policy: open', '$(warning) The Docker socket is mounted']);
  assert.equal(n.networkRulesPlaceholder(info({ policy: 'open' })), 'open network policy: nothing is filtered');
});

test('the input box checks lightly and leaves the rest to the server', () => {
  assert.match(n.validateHostInput(''), /Type a host/);
  assert.match(n.validateHostInput('   '), /Type a host/);
  assert.match(n.validateHostInput('a.test b.test'), /no spaces/);
  assert.equal(n.validateHostInput('*.example.com:8443'), undefined);
  assert.equal(n.validateHostInput('http://x'), undefined, 'the server says what is wrong with it');
  assert.match(n.hostInputPrompt('allow'), /Without a port, 80 and 443 open/);
  assert.match(n.hostInputPrompt('deny'), /Deny wins/);
});

test('what Deny and Reset say', () => {
  assert.equal(n.deniedMessage('alpha', 'example.org'), 'Berth: "alpha" now denies example.org (every port), from its next request on.');
  assert.equal(n.deniedMessage('alpha', 'example.org:22'), 'Berth: "alpha" now denies example.org:22 (port 22), from its next request on.');
  assert.match(n.resetMessage('alpha', info()), /since its sandbox was created were dropped; its locked policy/);
});
