// What the Berth UI shows of a sandbox: the status bar item (text, tooltip, colour), the rows of the
// Sandboxes view and of List Sandboxes, and the messages about drift and removal.
// Pure: no `vscode` import, so node's test runner can load it.

import type { Drift, Sandbox, State, Status } from './protocol';
import { networkLabel, policyDescription } from './network';
import { BUSY_STATES, ClientPhase, stateCodicon, stateDescription, stateIcon, stateLabel } from './states';

/** Escapes text for a Markdown tooltip (VS Code renders it as Markdown). */
export function md(text: string): string {
  return String(text).replace(/([\\`*_[\]<>|~])/g, '\\$1');
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
      tooltip: '**Berth**\n\nConnecting to the Berth server…',
      background: undefined,
      accessibility: 'Berth: connecting',
    };
  }
  const drifted = status.drift.length > 0 && (status.state === 'running' || status.state === 'stopped');
  const icon = drifted ? '$(warning)' : stateIcon(status.state);
  const label = stateLabel(status.state) + (drifted ? ' (settings changed)' : '');
  const background: Background =
    status.state === 'error' || status.state === 'unavailable' ? 'error' : drifted ? 'warning' : undefined;
  return {
    text: `${icon} Berth${where}: ${label}`,
    tooltip: statusTooltip(status, opts),
    background,
    accessibility: `Berth${where}: ${label}`,
  };
}

export function statusTooltip(status: Status, opts: ViewOptions = {}): string {
  const fmt = opts.formatTime ?? ((iso: string) => iso);
  const title = opts.folderName ? `**Berth sandbox of ${md(opts.folderName)}**` : '**Berth sandbox**';
  const parts: string[] = [title, `$(${stateCodicon(status.state)}) ${md(stateDescription(status.state))}`];
  const sb = status.sandbox;
  if (sb) {
    const rows = [
      `Id: ${code(sb.id)}`,
      `Name: ${code(sb.name)}`,
      `Template: ${code(sb.template)}`,
      `Agent: ${code(sb.agent)}`,
      `Engine state: ${code(sb.status)}`,
      `Created: ${md(fmt(sb.createdAt))}`,
    ];
    if (sb.networkPolicy) {
      rows.push(`${networkLabel(code(sb.networkPolicy))} (${md(policyDescription(sb.networkPolicy, sb.agent))})`);
    }
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
  parts.push('_Click for actions._');
  return parts.join('\n\n');
}

export interface TreeItemView {
  label: string;
  description: string;
  tooltip: string;
  icon: string; // codicon id
  color: string | undefined; // theme color id
  contextValue: string;
}

/**
 * A sandbox row of the Sandboxes view; `live` is the latest status notification for its workspace,
 * whose busy state (stopping, …) shows while the listed sandbox still has its state from before.
 */
export function sandboxTreeItem(sandbox: Sandbox, live?: Status, formatTime?: (iso: string) => string): TreeItemView {
  const fromLive = live && live.sandbox && live.sandbox.id === sandbox.id ? live : undefined;
  const state: State = fromLive && BUSY_STATES.includes(fromLive.state) ? fromLive.state : sandbox.state;
  const drift = fromLive ? fromLive.drift : [];
  const base = sandbox.workspace.split('/').filter(Boolean).pop() ?? sandbox.workspace;
  const color =
    state === 'running' ? 'testing.iconPassed' : state === 'error' ? 'errorForeground' : drift.length ? 'editorWarning.foreground' : undefined;
  const icon = drift.length && (state === 'running' || state === 'stopped') ? 'warning' : stateCodicon(state);
  const status: Status = { workspace: sandbox.workspace, state, sandbox, drift };
  return {
    label: base || sandbox.name,
    description:
      `${stateLabel(state)} · ${sandbox.agent} · ${sandbox.template}` +
      (sandbox.networkPolicy ? ` · ${networkLabel(sandbox.networkPolicy).toLowerCase()}` : ''),
    tooltip: statusTooltip(status, { folderName: sandbox.workspace, formatTime }).replace(/\n\n_Click for actions._$/, ''),
    icon,
    color,
    contextValue: `berth.sandbox.${state}`,
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
