// What the Berth UI shows for a sandbox status: status bar text/icon/tooltip, the actions offered in each
// state, tree items and drift messages. Pure: no `vscode` import, so node's test runner can load it.

export type State =
  | 'absent'
  | 'creating'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'removing'
  | 'error'
  | 'unavailable';

export interface Sandbox {
  id: string;
  name: string;
  workspace: string;
  agent: string;
  template: string;
  status: string; // the engine's own state: running, exited, created, ...
  createdAt: string;
}

export interface Drift {
  field: string;
  recorded: unknown;
  requested: unknown;
  /** For `env`: the variables whose value differs (recorded and requested hold names only). */
  changed?: string[];
}

export interface Status {
  workspace: string;
  state: State;
  sandbox: Sandbox | null;
  drift: Drift[];
  message?: string;
}

/** What the client itself knows before any status arrives. */
export type ClientPhase = 'starting' | 'running' | 'failed' | 'stopped';

export type Background = 'warning' | 'error' | undefined;

export interface StatusBarView {
  text: string;
  /** Markdown. */
  tooltip: string;
  background: Background;
  accessibility: string;
}

export const BUSY_STATES: readonly State[] = ['creating', 'starting', 'stopping', 'removing'];

const ICONS: Record<State, string> = {
  absent: '$(circle-large-outline)',
  creating: '$(sync~spin)',
  starting: '$(sync~spin)',
  running: '$(vm-running)',
  stopping: '$(sync~spin)',
  stopped: '$(vm-outline)',
  removing: '$(sync~spin)',
  error: '$(error)',
  unavailable: '$(debug-disconnect)',
};

const LABELS: Record<State, string> = {
  absent: 'absent',
  creating: 'creating…',
  starting: 'starting…',
  running: 'running',
  stopping: 'stopping…',
  stopped: 'stopped',
  removing: 'removing…',
  error: 'error',
  unavailable: 'Docker unavailable',
};

const DESCRIPTIONS: Record<State, string> = {
  absent: 'No sandbox exists for this folder yet. Run Agent or Start Sandbox creates it.',
  creating: 'The sandbox is being created.',
  starting: 'The sandbox is starting.',
  running: 'The sandbox is running.',
  stopping: 'The sandbox is stopping.',
  stopped: 'The sandbox exists but is stopped.',
  removing: 'The sandbox is being removed.',
  error: 'The sandbox is in an error state.',
  unavailable: 'The Docker engine is not answering.',
};

export function stateIcon(state: State): string {
  return ICONS[state] ?? '$(question)';
}

export function stateLabel(state: State): string {
  return LABELS[state] ?? state;
}

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
  const parts: string[] = [title, `$(${stateCodicon(status.state)}) ${md(DESCRIPTIONS[status.state] ?? status.state)}`];
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

function stateCodicon(state: State): string {
  const icon = stateIcon(state);
  return icon.slice(2, -1).replace('~spin', '');
}

/** The commands a quick pick offers for a folder's sandbox. */
export interface Action {
  command: string;
  label: string;
  description?: string;
}

const A = {
  run: { command: 'berth.runAgent', label: '$(play) Run Agent', description: 'Start the sandbox and open the agent in a terminal' },
  start: { command: 'berth.startSandbox', label: '$(debug-start) Start Sandbox', description: 'Create or start it, without the agent' },
  stop: { command: 'berth.stopSandbox', label: '$(debug-stop) Stop Sandbox' },
  recreate: { command: 'berth.recreateSandbox', label: '$(refresh) Recreate Sandbox', description: 'Apply the current settings' },
  remove: { command: 'berth.removeSandbox', label: '$(trash) Remove Sandbox' },
  shell: { command: 'berth.openShell', label: '$(terminal) Open Shell' },
  logs: { command: 'berth.showLogs', label: '$(output) Show Logs' },
  inspect: { command: 'berth.inspectSandbox', label: '$(json) Inspect Sandbox' },
  list: { command: 'berth.listSandboxes', label: '$(list-flat) List Sandboxes' },
  output: { command: 'berth.showOutput', label: '$(go-to-file) Show Output' },
  restart: { command: 'berth.restartServer', label: '$(debug-restart) Restart Server' },
  settings: { command: 'berth.openInterpreterSetting', label: '$(gear) Open Settings', description: 'berth.interpreter' },
} satisfies Record<string, Action>;

export function actionsFor(status: Status | undefined, phase: ClientPhase): Action[] {
  if (phase === 'failed' || phase === 'stopped') return [A.restart, A.output, A.settings];
  if (!status) return [A.output, A.restart];
  const drifted = status.drift.length > 0;
  const recreate = drifted
    ? { ...A.recreate, label: '$(warning) Recreate Sandbox', description: `Apply changed settings: ${driftFields(status.drift)}` }
    : A.recreate;
  switch (status.state) {
    case 'absent':
      return [A.run, A.start, A.list, A.output];
    case 'running':
      return drifted
        ? [recreate, A.run, A.shell, A.stop, A.logs, A.inspect, A.remove, A.list]
        : [A.run, A.shell, A.stop, A.recreate, A.logs, A.inspect, A.remove, A.list];
    case 'stopped':
      return drifted
        ? [recreate, A.run, A.start, A.logs, A.inspect, A.remove, A.list]
        : [A.run, A.start, A.recreate, A.logs, A.inspect, A.remove, A.list];
    case 'creating':
    case 'starting':
    case 'stopping':
    case 'removing':
      return [A.output, A.list];
    case 'error':
      return [recreate, A.remove, A.logs, A.inspect, A.output, A.restart];
    case 'unavailable':
      return [A.output, A.restart];
    default:
      return [A.output];
  }
}

/** Berth's state for an engine container state (mirrors the server's mapping). */
export function engineState(status: string): State {
  switch (status) {
    case 'running':
      return 'running';
    case 'created':
    case 'exited':
    case 'paused':
      return 'stopped';
    case 'restarting':
      return 'starting';
    case 'removing':
      return 'removing';
    default:
      return 'error';
  }
}

export interface TreeItemView {
  label: string;
  description: string;
  tooltip: string;
  icon: string; // codicon id
  color: string | undefined; // theme color id
  contextValue: string;
}

/** A sandbox row of the Sandboxes view; `live` is the latest status notification for its workspace. */
export function sandboxTreeItem(sandbox: Sandbox, live?: Status, formatTime?: (iso: string) => string): TreeItemView {
  const fromLive = live && live.sandbox && live.sandbox.id === sandbox.id ? live : undefined;
  const state: State = fromLive && BUSY_STATES.includes(fromLive.state) ? fromLive.state : engineState(sandbox.status);
  const drift = fromLive ? fromLive.drift : [];
  const base = sandbox.workspace.split('/').filter(Boolean).pop() ?? sandbox.workspace;
  const color =
    state === 'running' ? 'testing.iconPassed' : state === 'error' ? 'errorForeground' : drift.length ? 'editorWarning.foreground' : undefined;
  const icon = drift.length && (state === 'running' || state === 'stopped') ? 'warning' : stateCodicon(state);
  const status: Status = { workspace: sandbox.workspace, state, sandbox, drift };
  return {
    label: base || sandbox.name,
    description: `${stateLabel(state)} · ${sandbox.agent} · ${sandbox.template}`,
    tooltip: statusTooltip(status, { folderName: sandbox.workspace, formatTime }).replace(/\n\n_Click for actions._$/, ''),
    icon,
    color,
    contextValue: `berth.sandbox.${state}`,
  };
}

/** Quick-pick row for List Sandboxes. */
export function sandboxPickItem(sandbox: Sandbox): { label: string; description: string; detail: string } {
  const state = engineState(sandbox.status);
  return {
    label: `${stateIcon(state).replace('~spin', '')} ${sandbox.name}`,
    description: `${stateLabel(state)} · ${sandbox.agent} · ${sandbox.template} · ${sandbox.id}`,
    detail: sandbox.workspace,
  };
}

export interface SandboxAction {
  id: 'inspect' | 'logs' | 'stop' | 'remove' | 'run' | 'shell';
  label: string;
}

/** What List Sandboxes offers for one chosen sandbox. */
export function sandboxActions(sandbox: Sandbox, workspaceOpen: boolean): SandboxAction[] {
  const state = engineState(sandbox.status);
  const out: SandboxAction[] = [];
  if (workspaceOpen) out.push({ id: 'run', label: '$(play) Run Agent' });
  if (workspaceOpen && state === 'running') out.push({ id: 'shell', label: '$(terminal) Open Shell' });
  out.push({ id: 'inspect', label: '$(json) Inspect' });
  out.push({ id: 'logs', label: '$(output) Show Logs' });
  if (state === 'running') out.push({ id: 'stop', label: '$(debug-stop) Stop' });
  out.push({ id: 'remove', label: '$(trash) Remove' });
  return out;
}

/** The modal text for Remove All Sandboxes. */
export function removeAllMessage(count: number): string {
  return count === 1
    ? 'Remove the 1 Berth sandbox on this Docker engine?'
    : `Remove all ${count} Berth sandboxes on this Docker engine?`;
}

/** One agent as sandbox/agents answers it (protocol.md). */
export interface Agent {
  name: string;
  title: string;
  /** The program it runs; "" for a login shell. */
  binary: string;
  defaultTemplate: string;
  defaultArgs: string[];
  /** Where in the sandbox its login and settings live, e.g. `~/.claude`. */
  state: string[];
  /** The Docker volume holding `state` under `berth.credentials` `sandbox`; null when it keeps none. */
  credentialsVolume: string | null;
  /** The environment variables it can log in with instead (passed with `berth.env`). */
  keys: string[];
  /** "built-in", or the config file that defines or changes it. */
  source: string;
}

/** Where a folder's current agent comes from: its `berth.agent` setting, its sandbox, or the default. */
export type AgentOrigin = 'setting' | 'sandbox' | 'default';

export const DEFAULT_AGENT = 'claude';

/** The agent a folder runs now: its `berth.agent` setting, else its sandbox's agent, else claude. */
export function currentAgent(
  setting: string | null | undefined,
  status: Status | undefined,
): { name: string; origin: AgentOrigin } {
  if (typeof setting === 'string' && setting.trim()) return { name: setting.trim(), origin: 'setting' };
  const fromSandbox = status?.sandbox?.agent;
  if (fromSandbox) return { name: fromSandbox, origin: 'sandbox' };
  return { name: DEFAULT_AGENT, origin: 'default' };
}

/** Where an agent's login is kept: its volume and folders, and the keys it can use instead. */
export function agentLoginDetail(agent: Agent): string {
  const state = agent.state ?? [];
  const keys = agent.keys ?? [];
  let where: string;
  if (!state.length) where = 'no login kept';
  else if (agent.credentialsVolume) where = `login in volume ${agent.credentialsVolume}: ${state.join(', ')}`;
  else where = `login in ${state.join(', ')}`;
  return keys.length ? `${where} · keys: ${keys.join(', ')}` : where;
}

export interface AgentPickItem {
  label: string;
  description: string;
  detail: string;
  /** This is the folder's current agent (listed first). */
  current: boolean;
  name: string;
}

const ORIGIN_TEXT: Record<AgentOrigin, string> = {
  setting: 'current (berth.agent)',
  sandbox: 'current (its sandbox)',
  default: 'current (default)',
};

/** The rows of Choose Agent: one per agent, the folder's current one marked and first. */
export function agentPickItems(agents: readonly Agent[], current: { name: string; origin: AgentOrigin }): AgentPickItem[] {
  const rows = agents.map((a) => {
    const isCurrent = a.name === current.name;
    const parts = [a.title || a.name];
    if (a.source && a.source !== 'built-in') parts.push('(your config)');
    if (isCurrent) parts.push(`· ${ORIGIN_TEXT[current.origin]}`);
    return {
      label: a.name,
      description: parts.join(' '),
      detail: agentLoginDetail(a),
      current: isCurrent,
      name: a.name,
    };
  });
  return [...rows.filter((r) => r.current), ...rows.filter((r) => !r.current)];
}

/**
 * What Choose Agent says once it wrote `berth.agent`. `recreate` is true when the folder's sandbox was
 * created for another agent, which only Recreate Sandbox changes.
 */
export function agentChosenMessage(
  folderName: string,
  agent: Pick<Agent, 'name' | 'title'>,
  sandboxAgent: string | undefined,
): { text: string; recreate: boolean } {
  const who = agent.title && agent.title !== agent.name ? `${agent.name} (${agent.title})` : agent.name;
  const recreate = !!sandboxAgent && sandboxAgent !== agent.name;
  const text = recreate
    ? `Berth: "${folderName}" now uses ${who}. Its sandbox was created for ${sandboxAgent}: ` +
      'Berth: Recreate Sandbox applies the change (workspace files are kept), then the next Run Agent starts it.'
    : `Berth: "${folderName}" now uses ${who}; the next Run Agent starts it.`;
  return { text, recreate };
}
