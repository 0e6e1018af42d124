import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const f = require('../../../out/unit/folders.js');

const api = { name: 'api', path: '/w/api' };
const web = { name: 'web', path: '/w/web', realPath: '/real/web' };
const nested = { name: 'inner', path: '/w/api/inner' };

test('contains and samePath ignore trailing slashes and sibling prefixes', () => {
  assert.ok(f.contains('/w/api', '/w/api/src/x.ts'));
  assert.ok(f.contains('/w/api/', '/w/api'));
  assert.ok(!f.contains('/w/api', '/w/api2/x'));
  assert.ok(f.samePath('/a/b/', '/a/b'));
  assert.ok(f.contains('/', '/x'));
});

test('folderOf picks the innermost folder', () => {
  assert.equal(f.folderOf([api, nested], '/w/api/inner/a.py'), nested);
  assert.equal(f.folderOf([api, nested], '/w/api/a.py'), api);
  assert.equal(f.folderOf([api], '/elsewhere/a.py'), undefined);
  assert.equal(f.folderOf([api], undefined), undefined);
});

test('server statuses match folders by real path', () => {
  assert.equal(f.folderForWorkspace([api, web], '/real/web'), web);
  assert.equal(f.folderForWorkspace([api, web], '/w/api'), api);
  assert.equal(f.folderForWorkspace([api, web], '/nope'), undefined);
});

test('status bar folder: active editor, else previous, else first', () => {
  assert.equal(f.statusBarFolder([api, web], '/w/web/x', undefined), web);
  assert.equal(f.statusBarFolder([api, web], undefined, '/w/web'), web);
  assert.equal(f.statusBarFolder([api, web], '/other/file', undefined), api);
  assert.equal(f.statusBarFolder([api, web], undefined, '/gone'), api);
  assert.equal(f.statusBarFolder([], undefined, undefined), undefined);
});

test('commands: explicit folder, single folder, else ask with the active one first', () => {
  assert.deepEqual(f.chooseFolder([api, web], '/w/web', undefined), { kind: 'use', folder: web });
  assert.deepEqual(f.chooseFolder([api, web], '/real/web', undefined), { kind: 'use', folder: web });
  assert.deepEqual(f.chooseFolder([api], undefined, undefined), { kind: 'use', folder: api });
  assert.deepEqual(f.chooseFolder([], undefined, undefined), { kind: 'none' });
  assert.deepEqual(f.chooseFolder([api, web], undefined, '/w/web/a'), { kind: 'ask', folders: [web, api] });
  assert.deepEqual(f.chooseFolder([api, web], '/not/open', undefined), { kind: 'ask', folders: [api, web] });
});
