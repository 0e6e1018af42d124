// Agent sessions (sandbox/sessions) as the user sees them: the terminal's name and its closing line,
// the Sandboxes view's rows, the pickers, the notification when an agent exits on a failure, and the
// questions before something ends running agents. The server and the session holder in the sandbox
// keep the sessions; this only words them and picks among them.
// Pure: no `vscode` import, so node's test runner can load it.

import type { Session } from './protocol';
import { md } from './views';

/** The button that shows an exited session's output (its terminal, or an attach that replays it). */
export const SHOW_OUTPUT = 'Show Output';

/** Said the first time ever the user closes the tab of an agent that is still running. */
export const DETACHED_MESSAGE = 'The agent keeps running in the sandbox. Run Agent or the Sandboxes view attaches it again.';

/** Where a session terminal's agent works, after its name: `(web)`, `(web, review)` for a sandbox
 * made by name, `on agent/fix (web)` for an agent branch's. */
export function folderPlace(folderName: string, sandboxName?: string | null): string {
  return sandboxName ? `(${folderName}, ${sandboxName})` : `(${folderName})`;
}

export function branchPlace(branch: string, repositoryName: string): string {
  return `on ${branch} (${repositoryName})`;
}

/** The terminal's name: the agent until the holder says the session's id, then the id:
 * `Berth: claude (web)`, then `Berth: claude-1 (web)`. */
export function sessionTerminalName(agentOrSession: string, place: string): string {
  return `Berth: ${agentOrSession} ${place}`;
}

/** How a session's terminal stopped showing it: the agent exited (with its code), the sandbox
 * stopped under it, another terminal took it, or this terminal let go while the agent runs on. */
export type SessionEnd =
  | { kind: 'exited'; code: number }
  | { kind: 'ended' }
  | { kind: 'taken' }
  | { kind: 'detached' };

/** The line the terminal keeps at its end: `[claude-1 exited with code 1]`. */
export function sessionEndText(session: string, end: SessionEnd): string {
  switch (end.kind) {
    case 'exited':
      return `[${session} exited with code ${end.code}]`;
    case 'ended':
      return `[${session} ended with its sandbox]`;
    case 'taken':
      return `[${session} was attached in another terminal]`;
    case 'detached':
      return `[detached from ${session}: the agent keeps running in the sandbox]`;
  }
}

/** `text` dim, on a line of its own after whatever the agent left on the screen. */
export function terminalNote(text: string): string {
  return `\r\n\x1b[0m\x1b[2m${text.replace(/\r?\n/g, '\r\n')}\x1b[0m\r\n`;
}

/** A Sandboxes view row's description: `running · attached`, `running · detached`, `exited (1)`, `ended`. */
export function sessionDescription(s: Pick<Session, 'state' | 'attached' | 'exitCode'>): string {
  switch (s.state) {
    case 'running':
      return `running · ${s.attached ? 'attached' : 'detached'}`;
    case 'exited':
      return s.exitCode === null ? 'exited' : `exited (${s.exitCode})`;
    default:
      return 'ended';
  }
}

/** The row's codicon and colour: a failure shows. */
export function sessionIcon(s: Pick<Session, 'state' | 'exitCode'>): { icon: string; color: string | undefined } {
  if (s.state === 'running') return { icon: 'terminal', color: 'testing.iconPassed' };
  if (s.state === 'exited') return s.exitCode === 0 ? { icon: 'pass', color: undefined } : { icon: 'error', color: 'errorForeground' };
  return { icon: 'circle-slash', color: undefined };
}

/** The row's context value, which decides its actions: running (Attach, Stop Session), exited
 * (Show Output), ended (none: nothing is left to replay). */
export function sessionContext(s: Pick<Session, 'state'>): string {
  return `berth.session.${s.state}`;
}

/** Markdown code that no text can break out of (the agent's output is the agent's). */
function codeBlock(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}

/** The row's tooltip (Markdown): the agent, when it started, how it ended and its last output. */
export function sessionTooltip(s: Session, formatTime: (iso: string) => string = (iso) => iso): string {
  const rows = [`Agent: ${md(s.agent)}`, `Started: ${md(formatTime(s.started))}`, `State: ${md(sessionDescription(s))}`];
  const parts = [`**Agent session ${md(s.id)}**`, rows.join('  \n')];
  if (s.state === 'exited' && s.reason) parts.push(md(s.reason.message));
  if (s.state === 'ended') parts.push('It ended when its sandbox stopped.');
  if (s.state === 'exited' && s.lastOutput) parts.push(`**Last output**\n\n${codeBlock(s.lastOutput)}`);
  return parts.join('\n\n');
}

/** The sessions a picker offers: the running ones first, each group newest first. */
export function sessionsForPick(sessions: readonly Session[]): Session[] {
  const newestFirst = [...sessions].reverse();
  return [...newestFirst.filter((s) => s.state === 'running'), ...newestFirst.filter((s) => s.state !== 'running')];
}

/** A picker row of a session. */
export function sessionPickItem(s: Session, formatTime: (iso: string) => string = (iso) => iso): { label: string; description: string; detail: string } {
  return {
    label: `$(${sessionIcon(s).icon}) ${s.id}`,
    description: `${s.agent} · ${sessionDescription(s)}`,
    detail: `Started ${formatTime(s.started)}`,
  };
}

/** The running session of `agent` that Run Agent attaches again: the newest. */
export function runningSessionOf(sessions: readonly Session[], agent: string): Session | undefined {
  return [...sessions].reverse().find((s) => s.state === 'running' && s.agent === agent);
}

/** The same session in two listings: its id, and when it started (an id is used again once its
 * session is forgotten). */
export function sameSession(a: Pick<Session, 'id' | 'started'>, b: Pick<Session, 'id' | 'started'>): boolean {
  return a.id === b.id && a.started === b.started;
}

/** The sessions of `after` that were running in `before` and have exited since. */
export function newlyExited(before: readonly Session[], after: readonly Session[]): Session[] {
  return after.filter((s) => s.state === 'exited' && before.some((b) => sameSession(b, s) && b.state === 'running'));
}

/** The warning when an agent exits on a failure: `Berth: claude-1 (claude) exited with code 1.`
 * and why, when the server could tell. Undefined for a clean exit, a session the user stopped, and
 * one that ended with its sandbox. */
export function exitMessage(s: Pick<Session, 'id' | 'agent' | 'state' | 'exitCode' | 'reason'>): string | undefined {
  if (s.state !== 'exited' || s.exitCode === null || s.exitCode === 0 || s.reason?.kind === 'stopped') return undefined;
  const why = s.reason?.message ? ` ${s.reason.message}` : '';
  return `Berth: ${s.id} (${s.agent}) exited with code ${s.exitCode}.${why}`;
}

/** What ends running sessions, as the question before it says it. */
export type EndingVerb = 'Stopping' | 'Recreating' | 'Removing';

/** The running sessions of one sandbox, by its name. */
export interface SandboxSessions {
  sandbox: string;
  sessions: readonly Pick<Session, 'id' | 'state'>[];
}

/**
 * The modal question before stopping, recreating or removing sandboxes whose agents run:
 * `Stopping berth-claude-x ends 2 running agent sessions (claude-1, claude-2).` `what` is how the
 * question names what it acts on (a sandbox's name, or `3 sandboxes`). Undefined when no session
 * runs: nothing to ask.
 */
export function endSessionsQuestion(
  verb: EndingVerb,
  what: string,
  targets: readonly SandboxSessions[],
): { message: string; detail: string } | undefined {
  const running = targets
    .map((t) => ({ sandbox: t.sandbox, ids: t.sessions.filter((s) => s.state === 'running').map((s) => s.id) }))
    .filter((t) => t.ids.length);
  const count = running.reduce((n, t) => n + t.ids.length, 0);
  if (!count) return undefined;
  const which = running.length === 1 ? running[0].ids.join(', ') : running.map((t) => `${t.sandbox}: ${t.ids.join(', ')}`).join('; ');
  return {
    message: `${verb} ${what} ends ${count} running agent session${count === 1 ? '' : 's'} (${which}).`,
    detail:
      count === 1
        ? 'Its agent is ended, and what it has not written to the workspace is lost. Cancel leaves it running.'
        : 'Their agents are ended, and what they have not written to the workspace is lost. Cancel leaves them running.',
  };
}

/** The modal before Stop Session. */
export function stopSessionQuestion(s: Pick<Session, 'id' | 'agent'>, sandboxName: string): { message: string; detail: string } {
  return {
    message: `Stop the agent session ${s.id} (${s.agent})?`,
    detail: `Its agent is ended (hang-up, then terminate); the sandbox ${sandboxName} keeps running.`,
  };
}
