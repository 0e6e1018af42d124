// Unit tests of frames.ts: the session holder's frames both ways, whatever the chunks they arrive in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const f = require('../../../out/unit/frames.js');

const frame = (type, payload) => Buffer.concat([Buffer.from([type.charCodeAt(0), payload.length >> 8, payload.length & 0xff]), payload]);
const exitFrame = (code) => {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code >>> 0);
  return frame('x', p);
};

test('input and window sizes are encoded as the holder reads them', () => {
  assert.deepEqual([...f.inputFrames('hi\r')], [0x64, 0, 3, 0x68, 0x69, 0x0d]);
  // utf-8 bytes, not UTF-16 code units
  assert.deepEqual([...f.inputFrames('é')], [0x64, 0, 2, 0xc3, 0xa9]);
  assert.equal(f.inputFrames('').length, 0);
  assert.deepEqual([...f.sizeFrame(120, 40)], [0x77, 0, 4, 0, 120, 0, 40]);
  assert.deepEqual([...f.sizeFrame(300, 70000)], [0x77, 0, 4, 0x01, 0x2c, 0xff, 0xff]);
  assert.deepEqual([...f.sizeFrame(0, NaN)], [0x77, 0, 4, 0, 1, 0, 1]);
  assert.throws(() => f.encodeFrame('d', Buffer.alloc(65536)), RangeError);
});

test('input above 65535 bytes goes in several frames, in order', () => {
  const input = Buffer.alloc(65535 * 2 + 10, 'a');
  input[0] = 0x31;
  input[input.length - 1] = 0x39;
  const encoded = f.inputFrames(input);
  const frames = new f.FrameDecoder().push(encoded);
  assert.deepEqual(frames.map((x) => [x.type, x.payload.length]), [['d', 65535], ['d', 65535], ['d', 10]]);
  assert.deepEqual(Buffer.concat(frames.map((x) => x.payload)), input);
});

test('frames split across chunks, and several in one chunk, come out whole', () => {
  const stream = Buffer.concat([frame('s', Buffer.from('claude-1')), frame('o', Buffer.from('hello\r\n')), frame('o', Buffer.alloc(0)), exitFrame(1)]);
  // Every way of cutting the stream in two, and one byte at a time.
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new f.FrameDecoder();
    const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
    assert.deepEqual(frames.map((x) => x.type), ['s', 'o', 'o', 'x'], `cut at ${cut}`);
    assert.equal(d.buffered, 0);
  }
  const d = new f.FrameDecoder();
  const frames = [];
  for (const byte of stream) frames.push(...d.push(Buffer.from([byte])));
  assert.deepEqual(frames.map((x) => x.payload.toString('latin1')), ['claude-1', 'hello\r\n', '', '\0\0\0\x01']);
  // A frame without its tail waits for it.
  const half = new f.FrameDecoder();
  assert.deepEqual(half.push(frame('o', Buffer.from('abc')).subarray(0, 4)), []);
  assert.equal(half.buffered, 4);
});

test('the reader says the session, its output (utf-8 split between frames) and how it ended', () => {
  const r = new f.SessionReader();
  const euro = Buffer.from('€', 'utf8'); // 3 bytes
  const events = [
    ...r.push(Buffer.concat([frame('s', Buffer.from('claude-1')), frame('o', Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]))])),
    ...r.push(frame('o', euro.subarray(1))),
    ...r.push(Buffer.concat([frame('z', Buffer.from('from a newer holder')), exitFrame(1)])),
  ];
  assert.deepEqual(events, [
    { kind: 'session', id: 'claude-1' },
    { kind: 'output', text: 'a' },
    { kind: 'output', text: '€' },
    { kind: 'exit', code: 1 },
  ]);
  assert.deepEqual(new f.SessionReader().push(exitFrame(129)), [{ kind: 'exit', code: 129 }]);
  assert.deepEqual(new f.SessionReader().push(Buffer.concat([frame('s', Buffer.from('c-2')), frame('k', Buffer.alloc(0))])), [
    { kind: 'session', id: 'c-2' },
    { kind: 'taken' },
  ]);
  // A character cut short by the end still shows (as a replacement character), before the end.
  const cut = new f.SessionReader();
  assert.deepEqual(cut.push(Buffer.concat([frame('o', euro.subarray(0, 2)), frame('e', Buffer.alloc(0))])), [
    { kind: 'output', text: '\ufffd' },
    { kind: 'ended' },
  ]);
});
