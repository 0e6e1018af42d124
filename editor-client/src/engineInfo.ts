// Which Docker engine the server uses: asks `sandbox/engine` once the server runs, again after each
// restart, and again whenever a sandbox's status goes to or leaves `unavailable` (the engine may have
// changed: Docker Desktop switches the docker context when it starts). Each answer that differs from
// the last one is written to the Berth output (engine.ts words it); the status bar's tooltip ends with
// the current one.

import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';

import { EngineAnswer, engineOutputLine, engineTooltipLine } from './engine';
import { ErrorCode, Status } from './protocol';
import { BerthServer } from './server';

export class EngineWatch implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  /** The tooltip's line changed (or went, with the server). */
  readonly onDidChange = this.emitter.event;
  private readonly listeners: vscode.Disposable[];
  /** The last line written to the output: the next answer is written only when it differs. */
  private written: string | undefined;
  private shown: string | undefined;
  private running = false;
  /** Which sandboxes (workspace and name) were last `unavailable`. */
  private readonly unavailable = new Map<string, boolean>();
  /** One question at a time; a reason to ask again meanwhile asks once more when it is answered. */
  private asking: Promise<void> | undefined;
  private again = false;
  /** Bumped when the server starts or stops: an answer from before is dropped. */
  private generation = 0;
  private disposed = false;

  constructor(private readonly server: BerthServer) {
    this.listeners = [
      server.onDidChangePhase(() => this.connectionChanged()),
      server.onDidChangeConnection(() => this.connectionChanged()),
      server.onDidReceiveStatus((s) => this.statusChanged(s)),
    ];
    this.connectionChanged();
  }

  /** The status bar tooltip's line about the engine; undefined until the server answered, and while
   * it is not running. */
  get text(): string | undefined {
    return this.shown;
  }

  private connectionChanged(): void {
    const running = this.server.phase === 'running';
    if (running === this.running) return;
    this.running = running;
    this.generation++;
    this.unavailable.clear();
    if (running) this.ask();
    else this.show(undefined);
  }

  private statusChanged(status: Status): void {
    const key = `${status.workspace}\u0000${status.name ?? ''}`;
    const now = status.state === 'unavailable';
    const was = this.unavailable.get(key) ?? false;
    this.unavailable.set(key, now);
    if (now !== was) this.ask();
  }

  private ask(): void {
    if (this.asking) {
      this.again = true;
      return;
    }
    this.asking = this.read().finally(() => {
      this.asking = undefined;
      if (!this.again) return;
      this.again = false;
      if (this.running && !this.disposed) this.ask();
    });
  }

  private async read(): Promise<void> {
    const generation = this.generation;
    const answer = await this.answer();
    if (!answer || generation !== this.generation || this.disposed) return;
    const line = engineOutputLine(answer);
    if (line !== this.written) {
      this.written = line;
      this.server.output.appendLine(line);
    }
    this.show(engineTooltipLine(answer));
  }

  /** The server's answer; undefined when there is none to show (no server, or a failure that is not
   * about the engine, which the server's own log has). */
  private async answer(): Promise<EngineAnswer | undefined> {
    try {
      const api = await this.server.viewApi();
      const info = await api?.engine();
      return info && typeof info === 'object' && typeof info.description === 'string' ? { info } : undefined;
    } catch (err) {
      if (err instanceof ResponseError && err.code === ErrorCode.engineSetup) return { setup: err.message };
      return undefined;
    }
  }

  private show(text: string | undefined): void {
    if (text === this.shown) return;
    this.shown = text;
    this.emitter.fire();
  }

  dispose(): void {
    this.disposed = true;
    for (const d of this.listeners) d.dispose();
    this.emitter.dispose();
  }
}
