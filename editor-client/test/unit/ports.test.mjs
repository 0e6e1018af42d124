// Unit tests of ports.ts: which detected ports are offered, and the words (compiled to out/unit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const p = require('../../../out/unit/ports.js');

const ports = (over = {}) => ({
  workspace: '/w/web',
  name: null,
  sandbox: 'abc123abc123',
  listening: [],
  forwarded: [],
  published: [],
  ...over,
});
const fwd = { port: 5173, hostIp: '127.0.0.1', hostPort: 5173, url: 'http://127.0.0.1:5173' };

test('each newly listening port is offered once per sandbox, never one forwarded or published', () => {
  const offered = new Set();
  const listening = [
    { port: 5173, address: '127.0.0.1' },
    { port: 8080, address: '0.0.0.0' },
    { port: 3000, address: '0.0.0.0' },
  ];
  const first = ports({ listening, forwarded: [fwd], published: ['127.0.0.1:9000:3000'] });
  assert.deepEqual(p.portsToOffer(first, offered), [8080]);
  // Said again (another port opened): 8080 is not offered twice.
  const again = ports({ listening: [...listening, { port: 4000, address: '::' }], forwarded: [fwd], published: ['127.0.0.1:9000:3000'] });
  assert.deepEqual(p.portsToOffer(again, offered), [4000]);
  // The port closes and opens again: still not twice; in a new sandbox (a recreate), once more.
  assert.deepEqual(p.portsToOffer(ports({ listening: [{ port: 8080, address: '0.0.0.0' }] }), offered), []);
  assert.deepEqual(p.portsToOffer(ports({ sandbox: 'def456def456', listening: [{ port: 8080, address: '0.0.0.0' }] }), offered), [8080]);
});

test('an agent opening ports in a loop gets at most MAX_OFFERS offers', () => {
  const offered = new Set();
  const many = ports({ listening: Array.from({ length: 50 }, (_, i) => ({ port: 3000 + i, address: '0.0.0.0' })) });
  assert.equal(p.portsToOffer(many, offered).length, p.MAX_OFFERS);
  assert.deepEqual(p.portsToOffer(many, offered), []);
});

test('the words of an offer, a forward and its row', () => {
  assert.equal(p.detectedMessage(5173, 'web'), 'Berth: port 5173 is listening in the sandbox of "web".');
  assert.equal(p.forwardedMessage(fwd, 'web'), 'Berth: port 5173 of "web" is at http://127.0.0.1:5173 until the sandbox stops.');
  assert.equal(p.forwardLabel(fwd), '5173 → 127.0.0.1:5173');
  assert.equal(p.forwardLabel({ ...fwd, hostIp: '::1', hostPort: 5174 }), '5173 → [::1]:5174');
});

test('Forward a Port… lists what is listening and where each is reachable', () => {
  const choices = p.forwardChoices(
    ports({
      listening: [
        { port: 3000, address: '0.0.0.0' },
        { port: 5173, address: '127.0.0.1' },
        { port: 8080, address: '::' },
      ],
      forwarded: [fwd],
      published: ['127.0.0.1:9000:3000'],
    }),
  );
  assert.deepEqual(
    choices.map((c) => [c.port, c.description]),
    [
      [3000, 'listening on 0.0.0.0 · published'],
      [5173, 'listening on 127.0.0.1 · forwarded to http://127.0.0.1:5173'],
      [8080, 'listening on :: · not forwarded'],
    ],
  );
  assert.equal(p.validatePort('8080'), undefined);
  for (const bad of ['0', '65536', 'x', '80 80', '']) assert.ok(p.validatePort(bad), bad);
});
