// What the Berth UI shows of a sandbox: the status bar item (text, tooltip, colour), the rows of the
// Sandboxes view, of the Agent Branches view and of List Sandboxes, and the messages about drift and
// removal.
// Pure: no `vscode` import, so node's test runner can load it.

import type { AgentBranch, AgentStateChange, Drift, Resources, Sandbox, State, Status } from './protocol';
import { agentIcon, agentLabel, agentTooltipLine } from './agentStates';
import { networkLabel, policyDescription } from './network';
import { BUSY_STATES, ClientPhase, stateCodicon, stateDescription, stateIcon, stateLabel } from './states';
import { builtTemplateOf, builtTemplateSummary } from './templates';

/** Escapes text for a Markdown tooltip (VS Code renders it as Markdown). */
export function md(text: string): string {
  // `$(name)` is an icon in a tooltip that supports them: escaped too.
  return String(text).replace(/([\\`*_[\]<>|~$])/g, '\\$1');
}

function code(text: string): string {
  const s = String(text);
  const fence = s.includes('`') ? '``' : '`';
  return `${fence}${s.replace(/\n/g, ' ')}${fence}`;
}

export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return '(unset)';
  if (Array.isArray(value)) return value.length ? value.map((v) => String(v)).join(', ') : '(none)';
  return String(value);
}

/** One line per drifted field: `volumes: /a:/a → /a:/a, /b:/b`. Environment variables by name
 * only (`env: A → A, B (value of A changed)`): their values may be secrets. */
export function driftLines(drift: readonly Drift[]): string[] {
  return drift.map((d) => {
    const line = `${d.field}: ${formatValue(d.recorded)} → ${formatValue(d.requested)}`;
    const changed = d.field === 'env' && Array.isArray(d.changed) ? d.changed : [];
    return changed.length ? `${line} (value of ${changed.join(', ')} changed)` : line;
  });
}

export function driftFields(drift: readonly Drift[]): string {
  return drift.map((d) => d.field).join(', ');
}

/** The notification shown when a folder's sandbox no longer matches its settings. */
export function driftMessage(folderName: string, drift: readonly Drift[]): string {
  return (
    `Berth: the sandbox of "${folderName}" differs from its settings: ${driftLines(drift).join('; ')}. ` +
    'Recreate it to apply the settings; files in the workspace folder are kept.'
  );
}

/** A stable key for "this drift was already shown" bookkeeping. */
export function driftKey(workspace: string, drift: readonly Drift[]): string {
  return `${workspace}\u0000${JSON.stringify(drift)}`;
}

export interface ViewOptions {
  /** Name of the folder the status is for (shown in multi-root workspaces). */
  folderName?: string;
  multiRoot?: boolean;
  /** Formats the ISO creation time; defaults to the ISO string itself. */
  formatTime?: (iso: string) => string;
  /** The statuses of the folder's other sandboxes (made by name); absent ones are not counted. */
  others?: readonly Status[];
  /** What the agent in the sandbox is doing, as its hooks last said (shown while it runs). */
  agent?: AgentStateChange;
  /** The line about the Docker engine the server uses (engine.ts: `Engine: … — Docker Engine 27.3.1`),
   * which ends the status bar's tooltip. */
  engine?: string;
}

/** The folder's sandboxes beside its default one that exist, by name. */
function otherSandboxes(opts: ViewOptions): Status[] {
  return (opts.others ?? []).filter((s) => s.name && s.state !== 'absent');
}

/** The extension's formatTime: local time for people, with the ISO string kept for copying. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toLocaleString()} (${iso})`;
}

export type Background = 'warning' | 'error' | undefined;

export interface StatusBarView {
  text: string;
  /** Markdown. */
  tooltip: string;
  background: Background;
  accessibility: string;
}

export function statusBarView(status: Status | undefined, phase: ClientPhase, opts: ViewOptions = {}): StatusBarView {
  const where = opts.multiRoot && opts.folderName ? ` (${opts.folderName})` : '';
  if (phase === 'failed') {
    return {
      text: `$(error) Berth${where}: server not running`,
      tooltip: '**Berth**\n\nThe Berth server is not running. See the Berth output for why.\n\n_Click for actions._',
      background: 'error',
      accessibility: 'Berth: server not running',
    };
  }
  if (phase === 'stopped') {
    return {
      text: `$(circle-slash) Berth${where}: server stopped`,
      tooltip: '**Berth**\n\nThe Berth server is stopped.\n\n_Click for actions._',
      background: undefined,
      accessibility: 'Berth: server stopped',
    };
  }
  if (!status) {
    return {
      text: `$(sync~spin) Berth${where}`,
      tooltip: withEngine('**Berth**\n\nConnecting to the Berth server…', opts),
      background: undefined,
      accessibility: 'Berth: connecting',
    };
  }
  const drifted = status.drift.length > 0 && (status.state === 'running' || status.state === 'stopped');
  const oom = status.state === 'stopped' && status.sandbox?.oomKilled === true;
  const agent = status.state === 'running' && opts.agent?.sandbox === status.sandbox?.id ? opts.agent : undefined;
  const icon = drifted ? '$(warning)' : agent ? agentIcon(agent) : stateIcon(status.state);
  const label =
    stateLabel(status.state) + (agent ? ` · ${agentLabel(agent)}` : '') + (oom ? ' (out of memory)' : '') + (drifted ? ' (settings changed)' : '');
  const background: Background =
    status.state === 'error' || status.state === 'unavailable'
      ? 'error'
      : drifted || agent?.state === 'waitingForInput'
        ? 'warning'
        : undefined;
  // The item is about the default sandbox; the others only say they are there (the tooltip lists them).
  const others = otherSandboxes(opts).length;
  const more = others ? ` +${others}` : '';
  const moreSaid = others ? `, and ${others} other sandbox${others === 1 ? '' : 'es'}` : '';
  return {
    text: `${icon} Berth${where}: ${label}${more}`,
    tooltip: statusTooltip(status, { ...opts, agent }),
    background,
    accessibility: `Berth${where}: ${label}${moreSaid}`,
  };
}

export function statusTooltip(status: Status, opts: ViewOptions = {}): string {
  const fmt = opts.formatTime ?? ((iso: string) => iso);
  const which = status.name ? `Berth sandbox ${code(status.name)}` : 'Berth sandbox';
  const title = opts.folderName ? `**${which} of ${md(opts.folderName)}**` : `**${which}**`;
  const parts: string[] = [title, `$(${stateCodicon(status.state)}) ${md(stateDescription(status.state))}`];
  const sb = status.sandbox;
  if (sb) {
    // A template Berth built says what it holds: which agent versions, on what, since when.
    const built = builtTemplateOf(sb);
    const rows = [
      `Id: ${code(sb.id)}`,
      `Name: ${code(sb.name)}`,
      built ? `Template ${code(sb.template)}: ${md(builtTemplateSummary(built))}` : `Template: ${code(sb.template)}`,
      `Agent: ${code(sb.agent)}`,
      `Engine state: ${code(sb.status)}`,
      `Created: ${md(fmt(sb.createdAt))}`,
    ];
    if (sb.networkPolicy) {
      rows.push(`${networkLabel(code(sb.networkPolicy))} (${md(policyDescription(sb.networkPolicy, sb.agent))})`);
    }
    if (sb.ports?.length) rows.push(`Ports: ${sb.ports.map((p) => code(portLabel(p))).join(', ')}`);
    if (opts.agent && opts.agent.sandbox === sb.id && status.state === 'running') rows.push(md(agentTooltipLine(opts.agent)));
    const limits = sb.resources ? limitsLabel(sb.resources) : '';
    if (limits) rows.push(`Limits: ${md(limits)}`);
    parts.push(rows.join('  \n'));
  } else {
    parts.push(`Folder: ${code(status.workspace)}`);
  }
  if (status.drift.length) {
    parts.push(
      '$(warning) **The settings differ from the sandbox** (Recreate applies them):\n\n' +
        status.drift
          .map((d) => `- ${md(d.field)}: ${code(formatValue(d.recorded))} → ${code(formatValue(d.requested))}`)
          .join('\n'),
    );
  }
  if (status.message) parts.push(md(status.message));
  const others = otherSandboxes(opts);
  if (others.length) {
    parts.push(
      `**Other sandboxes of this folder** (the Sandboxes view has them):\n\n` +
        others.map((s) => `- ${code(s.name ?? '')}: ${md(stateLabel(s.state))}${s.sandbox ? ` · ${md(s.sandbox.agent)}` : ''}`).join('\n'),
    );
  }
  parts.push('_Click for actions._');
  return withEngine(parts.join('\n\n'), opts);
}

/** A tooltip with the line about the engine last, when there is one. */
function withEngine(tooltip: string, opts: ViewOptions): string {
  return opts.engine ? `${tooltip}\n\n${md(opts.engine)}` : tooltip;
}

/** A published port as `docker ps` shows one: `127.0.0.1:8080 → 3000`. */
export function portLabel(spec: string): string {
  const cut = spec.lastIndexOf(':');
  return `${spec.slice(0, cut)} → ${spec.slice(cut + 1)}`;
}

/** A sandbox's limits in a few words: `1.5 CPUs · 4g memory · 4096 processes`. */
export function limitsLabel(r: Resources): string {
  const parts: string[] = [];
  if (r.cpus !== null) parts.push(`${r.cpus} CPU${r.cpus === 1 ? '' : 's'}`);
  if (r.memory !== null) parts.push(`${r.memory} memory`);
  parts.push(r.pidsLimit === -1 ? 'no process limit' : `${r.pidsLimit} processes`);
  if (r.gpus !== null) parts.push(r.gpus === 'all' ? 'all GPUs' : `GPUs ${r.gpus}`);
  return parts.join(' · ');
}

export interface TreeItemView {
  label: string;
  description: string;
  tooltip: string;
  icon: string; // codicon id
  color: string | undefined; // theme color id
  contextValue: string;
}

/** The status of this very sandbox, if `live` is about it (and not another of its workspace's). */
function liveOf(sandbox: Sandbox, live: Status | undefined): Status | undefined {
  return live && live.sandbox && live.sandbox.id === sandbox.id ? live : undefined;
}

/** The state to show: the listed one, unless the latest notification says work is under way. */
function shownState(sandbox: Sandbox, live: Status | undefined): State {
  const fromLive = liveOf(sandbox, live);
  return fromLive && BUSY_STATES.includes(fromLive.state) ? fromLive.state : sandbox.state;
}

/** Where a worktree's sandbox works: the repository folder's name and the worktree's branch. */
export interface WorktreePlace {
  repository: string;
  /** null when the worktree is detached. */
  branch: string | null;
}

/** The name a sandbox goes by in the Sandboxes view: its folder (a worktree by its repository and
 * branch, which its folder's name only hints at), with the name it was made by when it has one. */
export function sandboxLabel(sandbox: Sandbox, worktree?: WorktreePlace): string {
  const base = sandbox.workspace.split('/').filter(Boolean).pop() || sandbox.name;
  const name = sandbox.named ? sandbox.name : undefined;
  if (worktree) {
    const branch = worktree.branch ? `branch ${worktree.branch}` : 'detached worktree';
    return `${worktree.repository} (${[branch, name].filter(Boolean).join(', ')})`;
  }
  return name ? `${base} (${name})` : base;
}

/**
 * A sandbox row of the Sandboxes view; `live` is the latest status notification for it, whose busy
 * state (stopping, …) shows while the listed sandbox still has its state from before; `worktree`,
 * when its workspace is an agent branch's worktree.
 */
export function sandboxTreeItem(
  sandbox: Sandbox,
  live?: Status,
  formatTime?: (iso: string) => string,
  worktree?: WorktreePlace,
  agent?: AgentStateChange,
): TreeItemView {
  const fromLive = liveOf(sandbox, live);
  const state = shownState(sandbox, live);
  const drift = fromLive ? fromLive.drift : [];
  const color =
    state === 'running' ? 'testing.iconPassed' : state === 'error' ? 'errorForeground' : drift.length ? 'editorWarning.foreground' : undefined;
  const icon = drift.length && (state === 'running' || state === 'stopped') ? 'warning' : stateCodicon(state);
  const status: Status = { workspace: sandbox.workspace, name: sandbox.named ? sandbox.name : null, state, sandbox, drift };
  const shownAgent = state === 'running' && agent?.sandbox === sandbox.id ? agent : undefined;
  return {
    label: sandboxLabel(sandbox, worktree),
    description:
      `${stateLabel(state)}${shownAgent ? ` (${agentLabel(shownAgent)})` : ''} · ${sandbox.agent} · ${sandbox.template}` +
      (sandbox.networkPolicy ? ` · ${networkLabel(sandbox.networkPolicy).toLowerCase()}` : ''),
    tooltip: statusTooltip(status, { folderName: sandbox.workspace, formatTime, agent: shownAgent }).replace(/\n\n_Click for actions._$/, ''),
    icon,
    color,
    contextValue: `berth.sandbox.${state}`,
  };
}

/** `↑2 ↓0` against the base branch, or nothing when there is no base to count against. */
export function aheadBehind(branch: Pick<AgentBranch, 'base' | 'ahead' | 'behind'>): string | undefined {
  if (branch.base === null || branch.ahead === null || branch.behind === null) return undefined;
  return `↑${branch.ahead} ↓${branch.behind}`;
}

/** `3 changes` (uncommitted, untracked files included), or `clean`. */
export function changesText(changes: number): string {
  return changes ? `${changes} change${changes === 1 ? '' : 's'}` : 'clean';
}

/** `claude running`, `review: gemini stopped`: one of an agent branch's sandboxes, in a few words. */
function branchSandboxText(sandbox: Sandbox, live: Status | undefined): string {
  const what = `${sandbox.agent} ${stateLabel(shownState(sandbox, live))}`;
  return sandbox.named ? `${sandbox.name}: ${what}` : what;
}

/**
 * A row of the Agent Branches view: the branch, how far it is from its base and whether it has
 * uncommitted work, and its sandboxes' states. `live` finds a sandbox's latest status notification.
 */
export function branchTreeItem(branch: AgentBranch, live: (sandbox: Sandbox) => Status | undefined = () => undefined): TreeItemView {
  const sandboxes = branch.sandboxes ?? [];
  const states = sandboxes.map((s) => shownState(s, live(s)));
  const counts = aheadBehind(branch);
  const description = [
    ...(counts ? [counts] : []),
    changesText(branch.changes),
    sandboxes.length ? sandboxes.map((s) => branchSandboxText(s, live(s))).join(', ') : 'no sandbox',
  ].join(' · ');
  const label = branch.branch ?? `(detached at ${branch.head.slice(0, 7)})`;
  const rows = [
    `Worktree: ${code(branch.path)}`,
    branch.base
      ? `Base: ${code(branch.base)}${counts ? ` (${branch.ahead} ahead, ${branch.behind} behind)` : ''}`
      : 'Base: none to compare with',
    `Head: ${code(branch.head.slice(0, 12))}`,
    branch.changes ? `Uncommitted: ${md(changesText(branch.changes))}` : 'Uncommitted: none',
    branch.managed ? 'Made by Berth' : 'Made outside Berth (git worktree add): Berth does not remove it',
  ];
  const parts = [`**Agent branch ${md(label)}**`, rows.join('  \n')];
  if (sandboxes.length) {
    parts.push(
      '**Sandboxes**\n\n' +
        sandboxes
          .map((s, i) => `- ${code(s.name)}: ${md(stateLabel(states[i]))} · ${md(s.agent)} · ${code(s.template)}`)
          .join('\n'),
    );
  } else {
    parts.push('No sandbox: Attach Agent starts one.');
  }
  const running = states.includes('running');
  const broken = states.includes('error');
  return {
    label,
    description,
    tooltip: parts.join('\n\n'),
    icon: broken ? 'error' : 'git-branch',
    color: broken ? 'errorForeground' : running ? 'testing.iconPassed' : undefined,
    // managed: Berth may remove it; a detached one has no branch to attach an agent to.
    contextValue: `berth.branch.${branch.managed ? 'managed' : 'user'}${branch.branch === null ? '.detached' : ''}`,
  };
}

/** Quick-pick row for List Sandboxes. */
export function sandboxPickItem(sandbox: Sandbox): { label: string; description: string; detail: string } {
  return {
    label: `${stateIcon(sandbox.state).replace('~spin', '')} ${sandbox.name}`,
    description: `${stateLabel(sandbox.state)} · ${sandbox.agent} · ${sandbox.template} · ${sandbox.id}`,
    detail: sandbox.workspace,
  };
}

/** The modal text for Remove All Sandboxes. */
export function removeAllMessage(count: number): string {
  return count === 1
    ? 'Remove the 1 Berth sandbox on this Docker engine?'
    : `Remove all ${count} Berth sandboxes on this Docker engine?`;
}
