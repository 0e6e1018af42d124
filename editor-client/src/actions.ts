// What the user is offered in each state: the status bar's quick pick for a folder's sandbox, and
// List Sandboxes' choices for one sandbox of the engine.
// Pure: no `vscode` import, so node's test runner can load it.

import type { Sandbox, Status } from './protocol';
import type { ClientPhase } from './states';
import { driftFields } from './views';

/** A command the status bar's quick pick offers for a folder's sandbox. */
export interface Action {
  command: string;
  label: string;
  description?: string;
}

const A = {
  run: { command: 'berth.runAgent', label: '$(play) Run Agent', description: 'Start the sandbox and show its agent (attached again when it runs)' },
  newSession: { command: 'berth.newAgentSession', label: '$(add) New Agent Session', description: 'Another agent beside the running one' },
  attach: { command: 'berth.attachSession', label: '$(terminal) Attach Agent Session…' },
  start: { command: 'berth.startSandbox', label: '$(debug-start) Start Sandbox', description: 'Create or start it, without the agent' },
  stop: { command: 'berth.stopSandbox', label: '$(debug-stop) Stop Sandbox' },
  recreate: { command: 'berth.recreateSandbox', label: '$(refresh) Recreate Sandbox', description: 'Apply the current settings' },
  remove: { command: 'berth.removeSandbox', label: '$(trash) Remove Sandbox' },
  shell: { command: 'berth.openShell', label: '$(terminal) Open Shell' },
  logs: { command: 'berth.showLogs', label: '$(output) Show Logs' },
  inspect: { command: 'berth.inspectSandbox', label: '$(json) Inspect Sandbox' },
  network: { command: 'berth.editNetworkRules', label: '$(shield) Edit Network Rules…' },
  forward: { command: 'berth.forwardPort', label: '$(plug) Forward a Port…', description: 'Open a port of the sandbox on this machine' },
  list: { command: 'berth.listSandboxes', label: '$(list-flat) List Sandboxes' },
  output: { command: 'berth.showOutput', label: '$(go-to-file) Show Output' },
  restart: { command: 'berth.restartServer', label: '$(debug-restart) Restart Server' },
  settings: { command: 'berth.openInterpreterSetting', label: '$(gear) Open Settings', description: 'berth.interpreter' },
} satisfies Record<string, Action>;

/** The status bar's quick pick: what makes sense for the folder's status (or the server's phase). */
export function actionsFor(status: Status | undefined, phase: ClientPhase): Action[] {
  if (phase === 'failed' || phase === 'stopped') return [A.restart, A.output, A.settings];
  if (!status) return [A.output, A.restart];
  const drifted = status.drift.length > 0;
  const recreate = drifted
    ? { ...A.recreate, label: '$(warning) Recreate Sandbox', description: `Apply changed settings: ${driftFields(status.drift)}` }
    : A.recreate;
  const policy = status.sandbox?.networkPolicy;
  const network = policy ? { ...A.network, description: `${policy} network policy` } : A.network;
  switch (status.state) {
    case 'absent':
      return [A.run, A.start, A.list, A.output];
    case 'running':
      return drifted
        ? [recreate, A.run, A.newSession, A.attach, A.shell, A.stop, A.logs, A.inspect, network, A.forward, A.remove, A.list]
        : [A.run, A.newSession, A.attach, A.shell, A.stop, A.recreate, A.logs, A.inspect, network, A.forward, A.remove, A.list];
    case 'stopped':
      return drifted
        ? [recreate, A.run, A.start, A.logs, A.inspect, network, A.remove, A.list]
        : [A.run, A.start, A.recreate, A.logs, A.inspect, network, A.remove, A.list];
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

export interface SandboxAction {
  id: 'inspect' | 'logs' | 'stop' | 'remove' | 'run' | 'shell';
  label: string;
}

/** What List Sandboxes offers for one chosen sandbox; `workspaceOpen`: its folder is open here. */
export function sandboxActions(sandbox: Sandbox, workspaceOpen: boolean): SandboxAction[] {
  const running = sandbox.state === 'running';
  const out: SandboxAction[] = [];
  if (workspaceOpen) out.push({ id: 'run', label: '$(play) Run Agent' });
  if (workspaceOpen && running) out.push({ id: 'shell', label: '$(terminal) Open Shell' });
  out.push({ id: 'inspect', label: '$(json) Inspect' });
  out.push({ id: 'logs', label: '$(output) Show Logs' });
  if (running) out.push({ id: 'stop', label: '$(debug-stop) Stop' });
  out.push({ id: 'remove', label: '$(trash) Remove' });
  return out;
}
