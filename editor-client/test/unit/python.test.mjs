import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const py = require('../../../out/unit/python.js');

test('candidates: the setting alone, else the Python extension then python3', () => {
  assert.deepEqual(py.candidates('/opt/py/bin/python', '/x/python'), [{ command: '/opt/py/bin/python', source: 'berth.interpreter' }]);
  assert.deepEqual(py.candidates(null, '/x/python'), [
    { command: '/x/python', source: 'Python extension' },
    { command: 'python3', source: 'PATH' },
  ]);
  assert.deepEqual(py.candidates('  ', undefined), [{ command: 'python3', source: 'PATH' }]);
});

test('parses what the version script prints', () => {
  assert.deepEqual(py.parseVersion('(3, 11)\n'), [3, 11]);
  assert.deepEqual(py.parseVersion('(3, 13)'), [3, 13]);
  assert.equal(py.parseVersion('Python 3.11.2'), undefined);
});

test('version check: 3.11 and newer', () => {
  assert.ok(py.supported([3, 11]));
  assert.ok(py.supported([3, 14]));
  assert.ok(py.supported([4, 0]));
  assert.ok(!py.supported([3, 10]));
  assert.ok(!py.supported([2, 7]));
});

test('clear messages for a missing or old Python, and the first usable one wins', () => {
  const setting = { command: '/opt/old/python', source: 'berth.interpreter' };
  const path = { command: 'python3', source: 'PATH' };
  const old = py.problem({ candidate: setting, version: [3, 9] });
  assert.match(old, /needs Python 3\.11 or newer/);
  assert.match(old, /`\/opt\/old\/python` \(from berth\.interpreter\) is Python 3\.9/);
  assert.match(py.problem({ candidate: path, error: 'not found' }), /could not run `python3` on PATH: not found/);
  assert.equal(py.problem({ candidate: path, version: [3, 11] }), undefined);
  const ok = py.pick([{ candidate: setting, version: [3, 9] }, { candidate: path, version: [3, 12] }]);
  assert.deepEqual(ok, { ok: { candidate: path, version: [3, 12] } });
  const bad = py.pick([{ candidate: path, error: 'not found' }]);
  assert.match(bad.error, /Set berth\.interpreter/);
});
