// The session holder's framed mode (berth-session --framed), the wire between an agent session's
// pseudo-terminal and the `docker exec` it spawns: each frame is a type byte, a 16-bit big-endian
// payload length and the payload. A pseudo-terminal has no pty of its own to hand docker, so input,
// window sizes and the session's news travel as frames instead.
// Pure: no `vscode` import, so node's test runner can load it.

/** The most one frame carries. */
export const MAX_PAYLOAD = 0xffff;

/** Client → holder: input bytes; the window size (cols, rows). Holder → client: the session id
 * (always first); output bytes; the agent exited (u32 exit code); another terminal attached the
 * session; the session ended without an exit code (its sandbox stopped). */
export type FrameType = 'd' | 'w' | 's' | 'o' | 'x' | 'k' | 'e';

export interface Frame {
  type: string;
  payload: Buffer;
}

export function encodeFrame(type: FrameType, payload: Uint8Array = new Uint8Array(0)): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`a frame carries at most ${MAX_PAYLOAD} bytes`);
  const head = Buffer.alloc(3);
  head[0] = type.charCodeAt(0);
  head.writeUInt16BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The 'd' frames of some input: one per MAX_PAYLOAD bytes (a large paste takes several). */
export function inputFrames(input: string | Uint8Array): Buffer {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  const frames: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += MAX_PAYLOAD) frames.push(encodeFrame('d', bytes.subarray(at, at + MAX_PAYLOAD)));
  return Buffer.concat(frames);
}

/** The 'w' frame of a window size; each side is kept within 1 and 65535. */
export function sizeFrame(cols: number, rows: number): Buffer {
  const clamp = (n: number) => Math.min(MAX_PAYLOAD, Math.max(1, Math.floor(Number.isFinite(n) ? n : 1)));
  const payload = Buffer.alloc(4);
  payload.writeUInt16BE(clamp(cols), 0);
  payload.writeUInt16BE(clamp(rows), 2);
  return encodeFrame('w', payload);
}

/** Whole frames out of a byte stream that arrives in chunks of any size: a frame may be split
 * between chunks, and one chunk may hold several. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    const frames: Frame[] = [];
    let at = 0;
    while (this.pending.length - at >= 3) {
      const length = this.pending.readUInt16BE(at + 1);
      if (this.pending.length - at < 3 + length) break;
      frames.push({ type: String.fromCharCode(this.pending[at]), payload: this.pending.subarray(at + 3, at + 3 + length) });
      at += 3 + length;
    }
    // Copied, so the frames answered keep their bytes while the rest waits for its tail.
    this.pending = Buffer.from(this.pending.subarray(at));
    return frames;
  }

  /** Bytes of a frame not yet whole. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** What the holder says, frame by frame. */
export type SessionEvent =
  | { kind: 'session'; id: string }
  | { kind: 'output'; text: string }
  | { kind: 'exit'; code: number }
  | { kind: 'taken' }
  | { kind: 'ended' };

/** The holder's output stream read as session events. Output is utf-8 decoded as a stream: a
 * character may be split between two frames. Unknown frames are skipped (a newer holder's). */
export class SessionReader {
  private readonly frames = new FrameDecoder();
  private readonly text = new TextDecoder('utf-8', { fatal: false });

  push(chunk: Uint8Array): SessionEvent[] {
    const events: SessionEvent[] = [];
    for (const { type, payload } of this.frames.push(chunk)) {
      switch (type) {
        case 's':
          events.push({ kind: 'session', id: payload.toString('utf8') });
          break;
        case 'o': {
          const text = this.text.decode(payload, { stream: true });
          if (text) events.push({ kind: 'output', text });
          break;
        }
        case 'x':
          if (payload.length === 4) events.push(...this.flush(), { kind: 'exit', code: payload.readInt32BE(0) });
          break;
        case 'k':
          events.push(...this.flush(), { kind: 'taken' });
          break;
        case 'e':
          events.push(...this.flush(), { kind: 'ended' });
          break;
      }
    }
    return events;
  }

  /** What the decoder held back of a character that never got its tail. */
  private flush(): SessionEvent[] {
    const text = this.text.decode();
    return text ? [{ kind: 'output', text }] : [];
  }

  /** Bytes of a frame not yet whole, when the stream ended. */
  get buffered(): number {
    return this.frames.buffered;
  }
}
