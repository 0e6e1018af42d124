// The handlers of the Berth commands (palette, status bar quick pick and Sandboxes view). Each one
// resolves its folder or sandbox, asks the server and shows the result; the server does the work.

import * as vscode from 'vscode';

import { chooseFolder, folderForWorkspace } from './folders';
import {
  actionsFor,
  Agent,
  agentChosenMessage,
  agentPickItems,
  currentAgent,
  removeAllMessage,
  Sandbox,
  sandboxActions,
  sandboxPickItem,
  Status,
} from './presentation';
import { ReadOnlyDocuments } from './documents';
import { BerthServer } from './server';
import { SECTION } from './settings';
import { SandboxesView, SandboxNode } from './sandboxesView';
import { SandboxStatusBar } from './statusBar';
import { SandboxStatuses } from './statuses';
import { openAgentTerminal, openShellTerminal } from './terminals';
import { activeFile, Folder, WorkspaceFolders } from './workspaceFolders';

/** What sandbox/run and sandbox/recreate answer (protocol.md). */
interface RunResult extends Sandbox {
  drift: Status['drift'];
  attach: { argv: string[] };
  shell: { argv: string[] };
  created: boolean;
  warnings: string[];
}

export class Commands implements vscode.Disposable {
  private readonly registrations: vscode.Disposable[] = [];

  constructor(
    private readonly server: BerthServer,
    private readonly folders: WorkspaceFolders,
    private readonly statuses: SandboxStatuses,
    private readonly statusBar: SandboxStatusBar,
    private readonly sandboxes: SandboxesView,
    private readonly documents: ReadOnlyDocuments,
  ) {
    const reg = (id: string, fn: (...args: any[]) => unknown) =>
      this.registrations.push(vscode.commands.registerCommand(id, fn));
    reg('berth.runAgent', (arg?: unknown) => this.runAgent(arg));
    reg('berth.startSandbox', (arg?: unknown) => this.startSandbox(arg));
    reg('berth.stopSandbox', (arg?: unknown) => this.stopSandbox(arg));
    reg('berth.recreateSandbox', (arg?: unknown) => this.recreate(arg));
    reg('berth.removeSandbox', (arg?: unknown) => this.removeSandbox(arg));
    reg('berth.removeAllSandboxes', () => this.removeAll());
    reg('berth.listSandboxes', () => this.listSandboxes());
    reg('berth.chooseAgent', (arg?: unknown) => this.chooseAgent(arg));
    reg('berth.inspectSandbox', (arg?: unknown) => this.inspectFolder(arg));
    reg('berth.showLogs', (arg?: unknown) => this.logsFolder(arg));
    reg('berth.openShell', (arg?: unknown) => this.openShell(arg));
    reg('berth.showOutput', () => this.server.output.show());
    reg('berth.restartServer', () => this.server.restart());
    reg('berth.refreshSandboxes', () => this.sandboxes.refresh());
    reg('berth.statusBarActions', (arg?: unknown) => this.statusBarActions(arg));
    reg('berth.openInterpreterSetting', () =>
      vscode.commands.executeCommand('workbench.action.openSettings', 'berth.interpreter'),
    );
    reg('berth.sandboxItem.stop', (node?: SandboxNode) => node && this.stopById(node.sandbox));
    reg('berth.sandboxItem.remove', (node?: SandboxNode) => node && this.removeById(node.sandbox));
    reg('berth.sandboxItem.inspect', (node?: SandboxNode) => node && this.inspectById(node.sandbox));
    reg('berth.sandboxItem.logs', (node?: SandboxNode) => node && this.logsOf(node.sandbox));
  }

  /** The folder a command acts on: from its argument, the only folder, or a question. */
  private async folderFor(arg: unknown, verb: string): Promise<Folder | undefined> {
    let explicit: string | undefined;
    if (arg instanceof vscode.Uri) explicit = arg.fsPath;
    else if (typeof arg === 'string') explicit = arg;
    else if (arg instanceof SandboxNode) explicit = arg.sandbox.workspace;
    const choice = chooseFolder(this.folders.all, explicit, activeFile());
    if (choice.kind === 'use') return choice.folder;
    if (choice.kind === 'none') {
      void vscode.window.showErrorMessage('Berth: open a folder first; each workspace folder gets its own sandbox.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      choice.folders.map((f) => ({
        label: f.name,
        description: this.statuses.of(f)?.state ?? '',
        detail: f.path,
        folder: f,
      })),
      { title: `Berth: ${verb}`, placeHolder: 'Which workspace folder?' },
    );
    return picked?.folder;
  }

  private async run(folder: Folder, recreate = false): Promise<RunResult | undefined> {
    return this.server.request<RunResult>(recreate ? 'sandbox/recreate' : 'sandbox/run', { workspace: folder.path });
  }

  async runAgent(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Run Agent');
    if (!folder) return;
    const result = await this.run(folder);
    if (!result) return;
    openAgentTerminal(result.agent, folder, result.attach.argv);
  }

  async startSandbox(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Start Sandbox');
    if (folder) await this.run(folder);
  }

  async openShell(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Open Shell');
    if (!folder) return;
    const result = await this.run(folder);
    if (result) openShellTerminal(folder, result.shell.argv);
  }

  async stopSandbox(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Stop Sandbox');
    if (folder) await this.server.request('sandbox/stop', { workspace: folder.path });
  }

  async recreate(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Recreate Sandbox');
    if (folder) await this.run(folder, true);
  }

  async removeSandbox(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Remove Sandbox');
    if (!folder) return;
    const ok = await vscode.window.showWarningMessage(
      `Remove the Berth sandbox of "${folder.name}"?`,
      { modal: true, detail: 'The container is deleted; the files of the workspace folder are kept.' },
      'Remove',
    );
    if (ok !== 'Remove') return;
    const result = await this.server.request<{ removed: string[] }>('sandbox/remove', { workspace: folder.path });
    if (result && !result.removed.length) {
      void vscode.window.showInformationMessage(`Berth: "${folder.name}" has no sandbox to remove.`);
    }
  }

  async removeAll(): Promise<void> {
    const list = await this.server.request<Sandbox[]>('sandbox/list', {});
    if (!list) return;
    if (!list.length) {
      void vscode.window.showInformationMessage('Berth: there are no sandboxes to remove.');
      return;
    }
    const ok = await vscode.window.showWarningMessage(
      removeAllMessage(list.length),
      {
        modal: true,
        detail: list.map((s) => `${s.name} — ${s.workspace}`).join('\n') + '\n\nWorkspace files are kept.',
      },
      'Remove All',
    );
    if (ok !== 'Remove All') return;
    const result = await this.server.request<{ removed: string[] }>('sandbox/remove', { all: true });
    if (result) void vscode.window.showInformationMessage(`Berth: removed ${result.removed.length} sandbox(es).`);
    this.sandboxes.refresh();
  }

  async listSandboxes(): Promise<void> {
    const list = await this.server.request<Sandbox[]>('sandbox/list', {});
    if (!list) return;
    if (!list.length) {
      void vscode.window.showInformationMessage('Berth: there are no Berth sandboxes on this Docker engine.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      list.map((s) => ({ ...sandboxPickItem(s), sandbox: s })),
      { title: 'Berth: Sandboxes', placeHolder: 'Choose a sandbox', matchOnDescription: true, matchOnDetail: true },
    );
    if (!picked) return;
    const sandbox = picked.sandbox;
    const folder = folderForWorkspace(this.folders.all, sandbox.workspace);
    const action = await vscode.window.showQuickPick(sandboxActions(sandbox, !!folder), {
      title: `Berth: ${sandbox.name}`,
    });
    if (!action) return;
    switch (action.id) {
      case 'run':
        return this.runAgent(folder?.ws.uri);
      case 'shell':
        return this.openShell(folder?.ws.uri);
      case 'inspect':
        return this.inspectById(sandbox);
      case 'logs':
        return this.logsOf(sandbox);
      case 'stop':
        return this.stopById(sandbox);
      case 'remove':
        return this.removeById(sandbox);
    }
  }

  /** Sets the folder's `berth.agent` from the agents the server knows (built-in and the user's config). */
  async chooseAgent(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Choose Agent');
    if (!folder) return;
    const agents = await this.server.request<Agent[]>('sandbox/agents', {});
    if (!agents) return;
    if (!agents.length) {
      void vscode.window.showInformationMessage('Berth: the server knows no agents.');
      return;
    }
    const config = vscode.workspace.getConfiguration(SECTION, folder.ws.uri);
    const status = this.statuses.of(folder);
    const current = currentAgent(config.get<string | null>('agent'), status);
    const items = agentPickItems(agents, current).map((row) =>
      row.current ? { ...row, iconPath: new vscode.ThemeIcon('check') } : row,
    );
    const picked = await vscode.window.showQuickPick(items, {
      title: `Berth: Choose Agent for "${folder.name}"`,
      placeHolder: `The agent Run Agent starts in "${folder.name}" (now ${current.name})`,
      matchOnDescription: true,
      matchOnDetail: true,
    });
    if (!picked) return;
    try {
      await config.update('agent', picked.name, vscode.ConfigurationTarget.WorkspaceFolder);
    } catch (err) {
      void vscode.window.showErrorMessage(
        `Berth: could not set berth.agent for "${folder.name}": ${err instanceof Error ? err.message : String(err)}`,
      );
      return;
    }
    const agent = agents.find((a) => a.name === picked.name) ?? { name: picked.name, title: '' };
    // The status now, not when the pick opened: a sandbox may have been created or removed meanwhile.
    const sandboxAgent = (this.statuses.of(folder) ?? status)?.sandbox?.agent;
    const message = agentChosenMessage(folder.name, agent, sandboxAgent);
    if (!message.recreate) {
      void vscode.window.showInformationMessage(message.text);
      return;
    }
    const button = await vscode.window.showInformationMessage(message.text, 'Recreate');
    if (button === 'Recreate') await vscode.commands.executeCommand('berth.recreateSandbox', folder.ws.uri);
  }

  async stopById(sandbox: Sandbox): Promise<void> {
    await this.server.request('sandbox/stop', { workspace: sandbox.workspace });
    this.sandboxes.refresh();
  }

  async removeById(sandbox: Sandbox): Promise<void> {
    const ok = await vscode.window.showWarningMessage(
      `Remove the Berth sandbox ${sandbox.name}?`,
      { modal: true, detail: `Workspace: ${sandbox.workspace}\nThe container is deleted; workspace files are kept.` },
      'Remove',
    );
    if (ok !== 'Remove') return;
    await this.server.request('sandbox/remove', { ids: [sandbox.id] });
    this.sandboxes.refresh();
  }

  async inspectFolder(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Inspect Sandbox');
    if (!folder) return;
    const result = await this.server.request<unknown[]>('sandbox/inspect', { workspace: folder.path });
    if (!result) return;
    if (!result.length) {
      void vscode.window.showInformationMessage(`Berth: "${folder.name}" has no sandbox.`);
      return;
    }
    await this.documents.showInspect(folder.name, result.length === 1 ? result[0] : result);
  }

  async inspectById(sandbox: Sandbox): Promise<void> {
    const result = await this.server.request<unknown[]>('sandbox/inspect', { ids: [sandbox.id] });
    if (result) await this.documents.showInspect(sandbox.name, result[0] ?? result);
  }

  async logsFolder(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Show Logs');
    if (!folder) return;
    const result = await this.server.request<{ text: string }>('sandbox/logs', { workspace: folder.path, tail: 2000 });
    if (result) await this.documents.showLogs(folder.name, result.text);
  }

  async logsOf(sandbox: Sandbox): Promise<void> {
    const result = await this.server.request<{ text: string }>('sandbox/logs', { workspace: sandbox.workspace, tail: 2000 });
    if (result) await this.documents.showLogs(sandbox.name, result.text);
  }

  async statusBarActions(arg?: unknown): Promise<void> {
    const folder = arg instanceof vscode.Uri ? this.folders.byUri(arg) : this.statusBar.folder();
    const status = this.statuses.of(folder);
    const actions = actionsFor(status, this.server.phase);
    const picked = await vscode.window.showQuickPick(actions, {
      title: folder ? `Berth: ${folder.name} — ${status?.state ?? this.server.phase}` : 'Berth',
      placeHolder: 'Choose an action',
    });
    if (picked) await vscode.commands.executeCommand(picked.command, folder?.ws.uri);
  }

  dispose(): void {
    for (const d of this.registrations) d.dispose();
  }
}
