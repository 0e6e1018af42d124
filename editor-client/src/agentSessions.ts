// The agents' sessions in VS Code (protocol.md, "Sessions"): Run Agent shows the agent's running
// session (its open tab, else attached again) rather than starting a second agent; New Agent Session
// always starts one; Attach, Show Output and Stop Session from the Sandboxes view and the palette; a
// warning with Show Output when an agent of this window exits on a failure; and the question before
// something stops, recreates or removes sandboxes whose agents run. Each sandbox's sessions, as last
// said, for the Sandboxes view. The words are sessions.ts's; the tabs are sessionTerminals.ts's.

import * as path from 'path';
import * as vscode from 'vscode';

import { AgentBranches } from './agentBranches';
import { folderForWorkspace } from './folders';
import type { ByOneId, ByWorkspace, RunResult, Session, Sessions } from './protocol';
import { BerthServer } from './server';
import {
  branchPlace,
  EndingVerb,
  endSessionsQuestion,
  exitMessage,
  folderPlace,
  newlyExited,
  runningSessionOf,
  SessionEnd,
  sessionPickItem,
  sessionsForPick,
  SHOW_OUTPUT,
  stopSessionQuestion,
} from './sessions';
import { SessionTerminal, SessionTerminals } from './sessionTerminals';
import { localTime } from './views';
import { Folder, WorkspaceFolders } from './workspaceFolders';

/** A sandbox as a session request names it: its id, with its workspace and name for its place. */
export interface SessionSandbox {
  /** Its short id. */
  id: string;
  workspace: string;
  /** Its own name when made by name; null for a workspace's default sandbox. */
  name: string | null;
}

/** A sandbox that stopping, recreating or removing would take its running sessions with. */
export interface EndingTarget {
  query: ByWorkspace | ByOneId;
  /** Its name, as the question says it. */
  name: string;
}

export class AgentSessions implements vscode.Disposable {
  readonly terminals: SessionTerminals;
  /** The last sessions of each running sandbox, by its id. */
  private readonly latest = new Map<string, Sessions>();
  /** Sessions started or attached in this window (`sandbox\0session`). */
  private readonly mine = new Set<string>();
  /** Exits already notified (`sandbox\0session\0started`): each is said once. */
  private readonly notified = new Set<string>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** A sandbox's sessions changed. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    private readonly server: BerthServer,
    private readonly folders: WorkspaceFolders,
    private readonly branches: AgentBranches,
    globalState: vscode.Memento,
  ) {
    this.terminals = new SessionTerminals(globalState, {
      started: (t) => {
        if (t.session) this.mine.add(`${t.sandbox}\0${t.session}`);
        this.relist(t.sandbox);
      },
      ended: (t, end) => void this.terminalEnded(t, end),
      explain: (t) => this.explain(t),
      // Attaching or detaching is no start or exit: no notification says it, so it is read again.
      detached: (t) => this.relist(t.sandbox),
    });
  }

  /** The sessions of a sandbox, as last said. */
  of(sandboxId: string): Session[] {
    return this.latest.get(sandboxId)?.sessions ?? [];
  }

  /** One `sandbox/didChangeSessions`. */
  changed(p: Sessions): void {
    if (!p || typeof p.sandbox !== 'string' || typeof p.workspace !== 'string' || !Array.isArray(p.sessions)) return;
    this.update(p);
    this.changeEmitter.fire();
  }

  /** The Sandboxes view's refresh: the sessions of each running sandbox, read now. A sandbox that
   * cannot say shows without them. */
  async load(sandboxes: readonly { id: string; state: string }[]): Promise<void> {
    const running = new Set(sandboxes.filter((s) => s.state === 'running').map((s) => s.id));
    for (const id of [...this.latest.keys()]) if (!running.has(id)) this.latest.delete(id);
    const api = await this.server.viewApi();
    if (!api) return;
    await Promise.all(
      [...running].map(async (id) => {
        try {
          const found = await api.sessions({ ids: [id] });
          if (found) this.update(found);
        } catch {
          // stopped or removed meanwhile: its next status refreshes the view again
        }
      }),
    );
  }

  private update(p: Sessions): void {
    const before = this.of(p.sandbox);
    if (p.sessions.length) this.latest.set(p.sandbox, p);
    else this.latest.delete(p.sandbox);
    // This window's agents: those it started or attached, and those of its folders (a terminal
    // outside VS Code's, or one whose tab was closed).
    const ours = (s: Session) => this.mine.has(`${p.sandbox}\0${s.id}`) || this.isOpenFolder(p.workspace);
    for (const s of newlyExited(before, p.sessions)) if (ours(s)) this.notifyExit(p, s);
  }

  private isOpenFolder(workspace: string): boolean {
    return !!folderForWorkspace(this.folders.all, workspace) || !!this.branches.place(workspace);
  }

  // -- opening tabs --------------------------------------------------------------------------------

  /** After `sandbox/run` (framed): the running session of its agent, shown where it is open or
   * attached again (after a window reload); else, or with `fresh`, the new session its argv starts. */
  async openAgent(result: RunResult, place: string, fresh = false): Promise<void> {
    if (!fresh) {
      const running = runningSessionOf(await this.quietList(result.id), result.agent);
      if (running) {
        const open = this.terminals.live(result.id, running.id);
        if (open) open.terminal.show();
        else await this.attach({ id: result.id, workspace: result.workspace, name: result.named ? result.name : null }, running, place);
        return;
      }
    }
    this.terminals.show({ argv: result.attach.argv, sandbox: result.id, agent: result.agent, place });
  }

  /** A session's tab: its live one, else attached (a running session) or replayed (an exited one). */
  async show(sandbox: SessionSandbox, session: Session, place = this.placeOf(sandbox)): Promise<void> {
    const open = session.state === 'running' ? this.terminals.live(sandbox.id, session.id) : this.terminals.find(sandbox.id, session.id);
    if (open) open.terminal.show();
    else await this.attach(sandbox, session, place);
  }

  private async attach(sandbox: SessionSandbox, session: Session, place: string): Promise<void> {
    const found = await this.server.api.attachSession({ ids: [sandbox.id], session: session.id, framed: true });
    if (!found) return;
    this.terminals.show({
      argv: found.argv,
      sandbox: found.sandbox,
      agent: found.session.agent,
      session: found.session.id,
      place,
      replay: found.session.state !== 'running',
    });
  }

  /** Where a sandbox's agent works, for its tab's name: an agent branch's worktree by its branch
   * and repository, else its folder (and its own name when made by name). */
  placeOf(sandbox: Pick<SessionSandbox, 'workspace' | 'name'>): string {
    const worktree = this.branches.place(sandbox.workspace);
    if (worktree) return branchPlace(worktree.branch ?? 'detached', worktree.repository);
    const folder = folderForWorkspace(this.folders.all, sandbox.workspace);
    return folderPlace(folder?.name ?? path.basename(sandbox.workspace), sandbox.name);
  }

  // -- the palette ---------------------------------------------------------------------------------

  /** Berth: Attach Agent Session…: a session of the folder's sandbox, the running ones first. */
  async attachPicked(folder: Folder): Promise<void> {
    const found = await this.server.api.sessions({ workspace: folder.path });
    if (!found) return;
    this.changed(found);
    const sessions = sessionsForPick(found.sessions.filter((s) => s.state !== 'ended'));
    if (!sessions.length) {
      void vscode.window.showInformationMessage(`Berth: no agent session in the sandbox of "${folder.name}"; Run Agent starts one.`);
      return;
    }
    const picked = await vscode.window.showQuickPick(
      sessions.map((s) => ({ ...sessionPickItem(s, localTime), session: s })),
      { title: `Berth: Attach Agent Session (${folder.name})`, placeHolder: 'A running session attaches; an exited one shows its output' },
    );
    if (picked) await this.show(this.sandboxOf(found), picked.session);
  }

  /** Berth: Stop Agent Session…: a running session of the folder's sandbox. */
  async stopPicked(folder: Folder): Promise<void> {
    const found = await this.server.api.sessions({ workspace: folder.path });
    if (!found) return;
    this.changed(found);
    const running = sessionsForPick(found.sessions.filter((s) => s.state === 'running'));
    if (!running.length) {
      void vscode.window.showInformationMessage(`Berth: no agent runs in the sandbox of "${folder.name}".`);
      return;
    }
    const picked = await vscode.window.showQuickPick(
      running.map((s) => ({ ...sessionPickItem(s, localTime), session: s })),
      { title: `Berth: Stop Agent Session (${folder.name})` },
    );
    if (picked) await this.stop(this.sandboxOf(found), picked.session, folder.name);
  }

  private sandboxOf(found: Sessions): SessionSandbox {
    return { id: found.sandbox, workspace: found.workspace, name: found.name };
  }

  /** Ends one session's agent, after a modal. */
  async stop(sandbox: SessionSandbox, session: Session, sandboxName: string): Promise<void> {
    const question = stopSessionQuestion(session, sandboxName);
    const ok = await vscode.window.showWarningMessage(question.message, { modal: true, detail: question.detail }, 'Stop Session');
    if (ok !== 'Stop Session') return;
    const after = await this.server.api.stopSession({ ids: [sandbox.id], session: session.id });
    if (after) this.changed(after);
  }

  // -- before ending sessions ----------------------------------------------------------------------

  /**
   * Asks before stopping, recreating or removing sandboxes whose agents run; true to go on. With no
   * session running, `otherwise` (the action's own question, if it has one) is asked as before; with
   * some, one question says both.
   */
  async confirmEnding(
    verb: EndingVerb,
    what: string,
    targets: readonly EndingTarget[],
    button: string,
    otherwise?: { message: string; detail: string },
  ): Promise<boolean> {
    const api = await this.server.viewApi();
    const found = api
      ? await Promise.all(
          targets.map(async (t) => {
            try {
              return { sandbox: t.name, sessions: (await api.sessions(t.query))?.sessions ?? [] };
            } catch {
              // No sandbox, or not running: no session to end (the action itself says what is wrong).
              return { sandbox: t.name, sessions: [] };
            }
          }),
        )
      : [];
    const ending = endSessionsQuestion(verb, what, found);
    const ask = ending ? { message: ending.message, detail: otherwise ? `${ending.detail}\n\n${otherwise.detail}` : ending.detail } : otherwise;
    if (!ask) return true;
    return (await vscode.window.showWarningMessage(ask.message, { modal: true, detail: ask.detail }, button)) === button;
  }

  // -- exits ---------------------------------------------------------------------------------------

  /** A tab's session ended: an agent that exited on a failure is news (not a replayed one). */
  private async terminalEnded(t: SessionTerminal, end: SessionEnd): Promise<void> {
    if (end.kind !== 'exited' || end.code === 0 || t.options.replay || !t.session) return;
    const session = t.session;
    let listing: Sessions | undefined;
    try {
      listing = await (await this.server.viewApi())?.sessions({ ids: [t.sandbox] });
    } catch {
      listing = undefined;
    }
    if (listing) this.changed(listing);
    const found = listing ? [...listing.sessions].reverse().find((s) => s.id === session) : undefined;
    const where = listing ?? { sandbox: t.sandbox, workspace: '', name: null };
    // Unlisted (the server did not answer): what the exit frame said.
    const exited: Session = { id: session, agent: t.agent, started: '', state: 'exited', attached: false, exitCode: end.code, lastOutput: '', reason: null };
    this.notifyExit(where, found ?? exited, t.options.place);
  }

  private notifyExit(where: Pick<Sessions, 'sandbox' | 'workspace' | 'name'>, s: Session, place?: string): void {
    const key = `${where.sandbox}\0${s.id}\0${s.started}`;
    if (this.notified.has(key)) return;
    this.notified.add(key);
    const text = exitMessage(s);
    if (!text) return;
    void vscode.window.showWarningMessage(text, SHOW_OUTPUT).then((button) => {
      if (!button) return;
      const sandbox = { id: where.sandbox, workspace: where.workspace, name: where.name };
      void this.show(sandbox, s, place ?? this.placeOf(sandbox));
    });
  }

  /** What became of a tab's session when docker ended without the holder saying: gone with its
   * sandbox (stopped or removed), exited, or still running (only this connection broke). The
   * sandbox may still be stopping: asked a few times. */
  private async explain(t: SessionTerminal): Promise<SessionEnd | undefined> {
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 750));
      const api = await this.server.viewApi();
      if (!api) return undefined;
      let listing: Sessions | undefined;
      try {
        listing = await api.sessions({ ids: [t.sandbox] });
      } catch {
        return { kind: 'ended' }; // removed with its sandbox
      }
      const s = listing && [...listing.sessions].reverse().find((x) => x.id === t.session);
      if (!s || s.state === 'ended') return { kind: 'ended' };
      if (s.state === 'exited' && s.exitCode !== null) return { kind: 'exited', code: s.exitCode };
    }
    return { kind: 'detached' };
  }

  /** The sandbox's sessions read again shortly (once the holder has taken in an attach or a
   * detach), for the Sandboxes view's `attached`. */
  private relist(sandboxId: string): void {
    setTimeout(() => void this.quietList(sandboxId), 500);
  }

  /** The sessions of a sandbox read now, or none when it cannot say (Run Agent then starts one). */
  private async quietList(sandboxId: string): Promise<Session[]> {
    try {
      const found = await (await this.server.viewApi())?.sessions({ ids: [sandboxId] });
      if (found) this.changed(found);
      return found?.sessions ?? [];
    } catch {
      return [];
    }
  }

  dispose(): void {
    this.terminals.dispose();
    this.changeEmitter.dispose();
  }
}
