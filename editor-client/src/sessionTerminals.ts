// The agent's terminal: an editor tab showing one agent session, attached through the `docker exec`
// command line the server returns, speaking the session holder's frames (frames.ts). The session
// lives in the sandbox, not in the tab: closing the tab only detaches (the agent runs on), and when
// the agent exits the tab stays, with its last screen and how it ended. Each open tab is kept by its
// sandbox and session, so a session is shown where it is open rather than attached twice.

import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import * as vscode from 'vscode';

import { inputFrames, SessionReader, sizeFrame } from './frames';
import { DETACHED_MESSAGE, SessionEnd, sessionEndText, sessionTerminalName, terminalNote } from './sessions';

/** The globalState key that remembers DETACHED_MESSAGE was said. */
const DETACHED_SAID = 'berth.sessions.detachedSaid';
/** Of docker's own error output, what is kept to show when it fails. */
const MAX_STDERR = 8192;

export interface SessionTerminalOptions {
  /** The server's argv (`docker exec -i … new --attach --framed …` or `… attach --framed ID`). */
  argv: string[];
  /** The sandbox's short id. */
  sandbox: string;
  agent: string;
  /** Where the agent works, after its name (sessions.ts's folderPlace, branchPlace). */
  place: string;
  /** The session attached, when known before the holder says it. */
  session?: string;
  /** It had exited already: the tab replays its output, and its end is no news. */
  replay?: boolean;
}

export interface SessionTerminalHooks {
  /** The holder said the session's id (its first frame). */
  started(t: SessionTerminal): void;
  /** The tab stopped showing the session: the agent exited, the sandbox stopped, another terminal
   * took it, or the connection ended. */
  ended(t: SessionTerminal, end: SessionEnd): void;
  /** docker ended without the holder saying why (the sandbox stopped under it, or docker failed):
   * what became of the session, if it can be found out. */
  explain(t: SessionTerminal): Promise<SessionEnd | undefined>;
  /** The user closed the tab; `running`: the agent was still attached there. */
  closed(t: SessionTerminal, running: boolean): void;
}

/** One tab's pseudo-terminal: the child `docker exec` and the frames both ways. */
export class SessionTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly nameEmitter = new vscode.EventEmitter<string>();
  readonly onDidChangeName = this.nameEmitter.event;
  /** Set by SessionTerminals right after VS Code makes it. */
  terminal!: vscode.Terminal;
  session: string | undefined;
  /** connecting → attached → over (a final frame, or docker ended), or closed by the user. */
  private phase: 'connecting' | 'attached' | 'over' | 'closed' = 'connecting';
  private child: ChildProcessWithoutNullStreams | undefined;
  private stderr = '';
  private readonly reader = new SessionReader();

  constructor(
    readonly options: SessionTerminalOptions,
    private readonly hooks: SessionTerminalHooks,
  ) {
    this.session = options.session;
  }

  get sandbox(): string {
    return this.options.sandbox;
  }

  get agent(): string {
    return this.options.agent;
  }

  /** The session is shown here live: input reaches the agent. */
  get live(): boolean {
    return this.phase === 'connecting' || this.phase === 'attached';
  }

  get name(): string {
    return sessionTerminalName(this.session ?? this.options.agent, this.options.place);
  }

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    const [command, ...args] = this.options.argv;
    let child: ChildProcessWithoutNullStreams;
    try {
      // TERM and COLORTERM reach the agent: the argv passes them into the sandbox (`-e TERM`).
      child = spawn(command, args, { env: { ...process.env, TERM: 'xterm-256color', COLORTERM: 'truecolor' } });
    } catch (err) {
      this.lost(undefined, err);
      return;
    }
    this.child = child;
    child.stdin.on('error', () => undefined); // the child is gone: its exit says what happened
    child.stdout.on('data', (chunk: Buffer) => this.received(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < MAX_STDERR) this.stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => this.lost(undefined, err));
    child.on('close', (code) => this.lost(code));
    if (dimensions) this.setDimensions(dimensions);
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    if (this.live) this.send(sizeFrame(dimensions.columns, dimensions.rows));
  }

  handleInput(data: string): void {
    if (this.live) this.send(inputFrames(data));
  }

  /** The tab was closed: let go of the session (killing docker exec only detaches). */
  close(): void {
    const running = this.live;
    this.phase = 'closed';
    this.child?.kill();
    this.hooks.closed(this, running);
  }

  private send(bytes: Buffer): void {
    if (this.child && this.child.stdin.writable) this.child.stdin.write(bytes);
  }

  private received(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    for (const event of this.reader.push(chunk)) {
      switch (event.kind) {
        case 'session':
          this.phase = 'attached';
          if (event.id !== this.session) {
            this.session = event.id;
            this.nameEmitter.fire(this.name);
          }
          this.hooks.started(this);
          break;
        case 'output':
          this.writeEmitter.fire(event.text);
          break;
        case 'exit':
          this.end({ kind: 'exited', code: event.code });
          break;
        case 'taken':
          this.end({ kind: 'taken' });
          break;
        case 'ended':
          this.end({ kind: 'ended' });
          break;
      }
    }
  }

  /** A final frame: say how it ended, and keep the tab (never closed from here: the user reads it). */
  private end(end: SessionEnd): void {
    if (!this.live) return;
    this.phase = 'over';
    this.writeEmitter.fire(terminalNote(sessionEndText(this.session ?? this.options.agent, end)));
    this.hooks.ended(this, end);
  }

  /** docker ended (or never ran) without a final frame. */
  private lost(code: number | null | undefined, err?: unknown): void {
    if (!this.live) return;
    this.phase = 'over';
    const said = (err instanceof Error ? err.message : err ? String(err) : this.stderr).trim();
    if (said) this.writeEmitter.fire(terminalNote(said));
    const session = this.session;
    if (!session || err) {
      // Nothing was attached: docker's own words (above) say why.
      this.writeEmitter.fire(terminalNote(`[docker ${err ? 'did not run' : `exited with code ${code ?? 'unknown'}`}]`));
      return;
    }
    void this.hooks.explain(this).then((end) => {
      if (this.phase === 'closed') return;
      if (!end) {
        this.writeEmitter.fire(terminalNote(`[the connection to ${session} ended: docker exited with code ${code ?? 'unknown'}]`));
        return;
      }
      this.writeEmitter.fire(terminalNote(sessionEndText(session, end)));
      this.hooks.ended(this, end);
    });
  }

  dispose(): void {
    if (this.child && this.child.exitCode === null) this.child.kill();
    this.writeEmitter.dispose();
    this.nameEmitter.dispose();
  }
}

/** The session tabs of this window, by sandbox and session. */
export class SessionTerminals implements vscode.Disposable {
  private readonly open = new Set<SessionTerminal>();

  constructor(
    private readonly globalState: vscode.Memento,
    private readonly hooks: Pick<SessionTerminalHooks, 'started' | 'ended' | 'explain'> & {
      /** A tab let go of its running session (closed by the user). */
      detached(t: SessionTerminal): void;
    },
  ) {}

  /** A new tab in the editor area, shown. */
  show(options: SessionTerminalOptions): SessionTerminal | undefined {
    if (!options.argv?.length) {
      void vscode.window.showErrorMessage('Berth: the server gave no command line to run.');
      return undefined;
    }
    const pty = new SessionTerminal(options, {
      started: (t) => this.hooks.started(t),
      ended: (t, end) => this.hooks.ended(t, end),
      explain: (t) => this.hooks.explain(t),
      closed: (t, running) => this.closed(t, running),
    });
    pty.terminal = vscode.window.createTerminal({
      name: pty.name,
      pty,
      iconPath: new vscode.ThemeIcon('hubot'),
      location: vscode.TerminalLocation.Editor,
      // A pseudo-terminal cannot come back after a reload; Run Agent attaches the session again.
      isTransient: true,
    });
    this.open.add(pty);
    pty.terminal.show();
    return pty;
  }

  /** The open tab showing this session: a live one first, else one that shows how it ended. */
  find(sandbox: string, session: string): SessionTerminal | undefined {
    const tabs = [...this.open].filter((t) => t.sandbox === sandbox && t.session === session);
    return tabs.find((t) => t.live) ?? tabs[tabs.length - 1];
  }

  /** The tab attached to this session now, if any. */
  live(sandbox: string, session: string): SessionTerminal | undefined {
    return [...this.open].find((t) => t.live && t.sandbox === sandbox && t.session === session);
  }

  /** A live agent tab of the sandbox (the newest), for Show Agent. */
  liveOf(sandbox: string): SessionTerminal | undefined {
    return [...this.open].reverse().find((t) => t.live && t.sandbox === sandbox);
  }

  private closed(t: SessionTerminal, running: boolean): void {
    this.open.delete(t);
    t.dispose();
    if (!running) return;
    this.hooks.detached(t);
    if (this.globalState.get<boolean>(DETACHED_SAID)) return;
    void this.globalState.update(DETACHED_SAID, true);
    void vscode.window.showInformationMessage(DETACHED_MESSAGE);
  }

  dispose(): void {
    for (const t of this.open) t.dispose();
    this.open.clear();
  }
}
