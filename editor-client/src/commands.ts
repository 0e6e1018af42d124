// The Berth commands (palette, status bar quick pick, Sandboxes and Agent Branches views), as one
// table: each id with how it chooses what it acts on (a workspace folder, a Sandboxes view item: a
// sandbox, an agent session or a forwarded port; an Agent Branches view item, or nothing) and
// whether it needs the server, which one guard checks before anything is asked. The handlers ask
// the server (protocol.ts) and show the result; the server does the work.

import * as vscode from 'vscode';

import { actionsFor, sandboxActions } from './actions';
import { agentChosenMessage, agentPickItems, currentAgent } from './agents';
import { AgentSessions, EndingTarget } from './agentSessions';
import { BranchActions } from './branchActions';
import { BranchesView, BranchNode, RepositoryNode } from './branchesView';
import { UserChoices } from './consent';
import { chooseFolder, folderForWorkspace } from './folders';
import { ReadOnlyDocuments } from './documents';
import { NetworkRules } from './networkRules';
import { PortForwards } from './portForwards';
import type { Requests, RunResult, Sandbox } from './protocol';
import { BerthServer } from './server';
import { SECTION } from './settings';
import { ForwardNode, SandboxesView, SandboxNode, SessionNode } from './sandboxesView';
import { folderPlace } from './sessions';
import { SandboxStatusBar } from './statusBar';
import { SandboxStatuses } from './statuses';
import { TemplateBuilds } from './templateBuilds';
import { openShellTerminal } from './terminals';
import { removeAllMessage, sandboxPickItem } from './views';
import { activeFile, Folder, WorkspaceFolders } from './workspaceFolders';

/** A registered command: whether the server must be running, and what it does with its argument. */
interface Command {
  needsServer: boolean;
  run(arg: unknown): unknown;
}

export class Commands implements vscode.Disposable {
  private readonly registrations: vscode.Disposable[] = [];
  private readonly api: Requests;

  constructor(
    private readonly server: BerthServer,
    private readonly folders: WorkspaceFolders,
    private readonly statuses: SandboxStatuses,
    private readonly statusBar: SandboxStatusBar,
    private readonly sandboxes: SandboxesView,
    private readonly documents: ReadOnlyDocuments,
    private readonly network: NetworkRules,
    private readonly choices: UserChoices,
    private readonly branchesView: BranchesView,
    private readonly branches: BranchActions,
    private readonly ports: PortForwards,
    private readonly sessions: AgentSessions,
    private readonly templates: TemplateBuilds,
  ) {
    this.api = server.api;
    for (const [id, command] of Object.entries(this.table())) {
      this.registrations.push(
        vscode.commands.registerCommand(id, async (arg?: unknown) => {
          // The one "server not running" guard: before any question, for every command that needs it.
          if (command.needsServer && !(await this.server.ensureRunning())) return;
          return command.run(arg);
        }),
      );
    }
  }

  /** Every command: id → how it chooses its folder or sandbox, and its handler. */
  private table(): Record<string, Command> {
    return {
      // A workspace folder: from the argument (a Uri or path from the status bar, a Sandboxes view
      // item), else the only folder, else a question named after the command.
      'berth.runAgent': this.onFolder('Run Agent', (f) => this.runAgent(f)),
      'berth.newAgentSession': this.onFolder('New Agent Session', (f) => this.runAgent(f, true)),
      'berth.attachSession': this.onFolder('Attach Agent Session', (f) => this.sessions.attachPicked(f)),
      'berth.stopSession': this.onFolder('Stop Agent Session', (f) => this.sessions.stopPicked(f)),
      'berth.startSandbox': this.onFolder('Start Sandbox', (f) => this.run(f)),
      'berth.stopSandbox': this.onFolder('Stop Sandbox', (f) => this.stopFolder(f)),
      'berth.recreateSandbox': this.onFolder('Recreate Sandbox', (f) => this.recreateFolder(f)),
      'berth.removeSandbox': this.onFolder('Remove Sandbox', (f) => this.removeFolder(f)),
      'berth.chooseAgent': this.onFolder('Choose Agent', (f) => this.chooseAgent(f)),
      'berth.inspectSandbox': this.onFolder('Inspect Sandbox', (f) => this.inspectFolder(f)),
      'berth.showLogs': this.onFolder('Show Logs', (f) => this.logsFolder(f)),
      'berth.openShell': this.onFolder('Open Shell', (f) => this.openShell(f)),
      'berth.editNetworkRules': this.onFolder('Edit Network Rules', (f) => this.network.edit(f)),
      'berth.runAgentOnBranch': this.onFolder('Run Agent on New Branch', (f) => this.branches.runOnNewBranch(f)),
      'berth.forwardPort': this.onFolder('Forward a Port', (f) => this.ports.forwardPicked(f)),
      'berth.unforwardPort': this.onFolder('Stop Forwarding a Port', (f) => this.ports.unforwardPicked(f)),
      // A sandbox of the engine's, whatever its folder: a Sandboxes view item (by id).
      'berth.sandboxItem.stop': this.onSandbox((s) => this.stopSandbox(s)),
      'berth.sandboxItem.remove': this.onSandbox((s) => this.removeSandbox(s)),
      'berth.sandboxItem.inspect': this.onSandbox((s) => this.inspectSandbox(s)),
      'berth.sandboxItem.logs': this.onSandbox((s) => this.logsSandbox(s)),
      // An agent session: a Sandboxes view row under its sandbox.
      'berth.sessionItem.attach': this.onSession((n) => this.sessions.show(this.sessionSandbox(n), n.session)),
      'berth.sessionItem.showOutput': this.onSession((n) => this.sessions.show(this.sessionSandbox(n), n.session)),
      'berth.sessionItem.stop': this.onSession((n) => this.sessions.stop(this.sessionSandbox(n), n.session, n.sandbox.name)),
      // A forwarded port: a Sandboxes view row under its sandbox.
      'berth.forwardItem.open': {
        needsServer: false,
        run: (arg) => arg instanceof ForwardNode && vscode.env.openExternal(vscode.Uri.parse(arg.forward.url)),
      },
      'berth.forwardItem.stop': {
        needsServer: true,
        run: (arg) =>
          arg instanceof ForwardNode &&
          this.ports.unforward({ workspace: arg.sandbox.workspace, name: arg.sandbox.named ? arg.sandbox.name : null }, arg.forward),
      },
      // An agent branch of an open folder: an Agent Branches view item.
      'berth.branchItem.attach': this.onBranch((b) => this.branches.attach(b)),
      'berth.branchItem.diff': this.onBranch((b) => this.branches.showDiff(b)),
      'berth.branchItem.openWindow': { needsServer: false, run: (arg) => arg instanceof BranchNode && this.branches.openInNewWindow(arg) },
      'berth.branchItem.remove': this.onBranch((b) => this.branches.remove(b)),
      // Every sandbox of the engine: chosen inside the command.
      'berth.removeAllSandboxes': { needsServer: true, run: () => this.removeAll() },
      'berth.listSandboxes': { needsServer: true, run: () => this.listSandboxes() },
      // Templates are the engine's: a folder (the status bar's, or a Uri given) only lends its
      // agent and its hostCertificates setting, so none is asked for.
      'berth.buildTemplate': { needsServer: true, run: (arg) => this.templates.buildPicked(arg) },
      'berth.updateTemplates': { needsServer: true, run: (arg) => this.templates.updateAll(arg) },
      // The client's own: these work, or say why not, with the server down.
      'berth.statusBarActions': { needsServer: false, run: (arg) => this.statusBarActions(arg) },
      'berth.showOutput': { needsServer: false, run: () => this.server.output.show() },
      'berth.restartServer': { needsServer: false, run: () => this.server.restart() },
      'berth.refreshSandboxes': { needsServer: false, run: () => this.sandboxes.refresh() },
      'berth.refreshBranches': { needsServer: false, run: () => this.branchesView.refresh() },
      'berth.openInterpreterSetting': {
        needsServer: false,
        run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'berth.interpreter'),
      },
    };
  }

  private onFolder(verb: string, handler: (folder: Folder) => unknown): Command {
    return {
      needsServer: true,
      run: async (arg) => {
        const folder = await this.folderFor(arg, verb);
        if (folder) await handler(folder);
      },
    };
  }

  private onSandbox(handler: (sandbox: Sandbox) => unknown): Command {
    return { needsServer: true, run: (arg) => (arg instanceof SandboxNode ? handler(arg.sandbox) : undefined) };
  }

  private onSession(handler: (node: SessionNode) => unknown): Command {
    return { needsServer: true, run: (arg) => (arg instanceof SessionNode ? handler(arg) : undefined) };
  }

  private sessionSandbox(node: SessionNode): { id: string; workspace: string; name: string | null } {
    return { id: node.sandbox.id, workspace: node.sandbox.workspace, name: node.sandbox.named ? node.sandbox.name : null };
  }

  private onBranch(handler: (node: BranchNode) => unknown): Command {
    return { needsServer: true, run: (arg) => (arg instanceof BranchNode ? handler(arg) : undefined) };
  }

  /** The folder a command acts on: from its argument, the only folder, or a question. */
  private async folderFor(arg: unknown, verb: string): Promise<Folder | undefined> {
    let explicit: string | undefined;
    if (arg instanceof vscode.Uri) explicit = arg.fsPath;
    else if (typeof arg === 'string') explicit = arg;
    else if (arg instanceof SandboxNode) explicit = arg.sandbox.workspace;
    else if (arg instanceof RepositoryNode || arg instanceof BranchNode) explicit = arg.folder.path;
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

  private run(folder: Folder, recreate = false): Promise<RunResult | undefined> {
    const params = { workspace: folder.path };
    return recreate ? this.api.recreate(params) : this.api.run(params);
  }

  /** The agent of the folder: its running session, shown or attached again; else (or `fresh`) a
   * new session. The framed argv is for the session tab's pseudo-terminal. */
  private async runAgent(folder: Folder, fresh = false): Promise<void> {
    const result = await this.api.run({ workspace: folder.path, framed: true });
    if (result) await this.sessions.openAgent(result, folderPlace(folder.name), fresh);
  }

  /** The folder's default sandbox, as the question before ending its sessions names it. */
  private folderTarget(folder: Folder): EndingTarget {
    return { query: { workspace: folder.path }, name: this.statuses.of(folder)?.sandbox?.name ?? `the sandbox of "${folder.name}"` };
  }

  private async stopFolder(folder: Folder): Promise<void> {
    const target = this.folderTarget(folder);
    if (!(await this.sessions.confirmEnding('Stopping', target.name, [target], 'Stop'))) return;
    await this.api.stop({ workspace: folder.path });
  }

  private async recreateFolder(folder: Folder): Promise<void> {
    const target = this.folderTarget(folder);
    if (!(await this.sessions.confirmEnding('Recreating', target.name, [target], 'Recreate'))) return;
    await this.run(folder, true);
  }

  private async openShell(folder: Folder): Promise<void> {
    const result = await this.run(folder);
    if (result) openShellTerminal(folder, result.shell.argv);
  }

  private async removeFolder(folder: Folder): Promise<void> {
    const target = this.folderTarget(folder);
    const ok = await this.sessions.confirmEnding('Removing', target.name, [target], 'Remove', {
      message: `Remove the Berth sandbox of "${folder.name}"?`,
      detail: 'The container is deleted; the files of the workspace folder are kept.',
    });
    if (!ok) return;
    const result = await this.api.remove({ workspace: folder.path });
    if (result && !result.removed.length) {
      void vscode.window.showInformationMessage(`Berth: "${folder.name}" has no sandbox to remove.`);
    }
  }

  private async removeAll(): Promise<void> {
    const list = await this.api.list();
    if (!list) return;
    if (!list.length) {
      void vscode.window.showInformationMessage('Berth: there are no sandboxes to remove.');
      return;
    }
    const running = list.filter((s) => s.state === 'running');
    const ok = await this.sessions.confirmEnding(
      'Removing',
      list.length === 1 ? list[0].name : `all ${list.length} sandboxes`,
      running.map((s) => ({ query: { ids: [s.id] }, name: s.name })),
      'Remove All',
      {
        message: removeAllMessage(list.length),
        detail: list.map((s) => `${s.name} — ${s.workspace}`).join('\n') + '\n\nWorkspace files are kept.',
      },
    );
    if (!ok) return;
    const result = await this.api.remove({ all: true });
    if (result) void vscode.window.showInformationMessage(`Berth: removed ${result.removed.length} sandbox(es).`);
    this.sandboxes.refresh();
  }

  private async listSandboxes(): Promise<void> {
    const list = await this.api.list();
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
    // Run Agent and Open Shell act on a folder's default sandbox, so not on one it has by name.
    const folder = sandbox.named ? undefined : folderForWorkspace(this.folders.all, sandbox.workspace);
    const action = await vscode.window.showQuickPick(sandboxActions(sandbox, !!folder), {
      title: `Berth: ${sandbox.name}`,
    });
    if (!action) return;
    switch (action.id) {
      case 'run':
        return folder && this.runAgent(folder);
      case 'shell':
        return folder && this.openShell(folder);
      case 'inspect':
        return this.inspectSandbox(sandbox);
      case 'logs':
        return this.logsSandbox(sandbox);
      case 'stop':
        return this.stopSandbox(sandbox);
      case 'remove':
        return this.removeSandbox(sandbox);
    }
  }

  /** Sets the folder's `berth.agent` from the agents the server knows (built-in and the user's config). */
  private async chooseAgent(folder: Folder): Promise<void> {
    const agents = await this.api.agents();
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
      // Remembered first: the server may ask for the folder's settings as soon as the file changes,
      // and this value is the user's own pick, not something the workspace's files ask for.
      await this.choices.remember(folder.ws.uri, 'agent', picked.name);
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

  private async inspectFolder(folder: Folder): Promise<void> {
    const result = await this.api.inspect({ workspace: folder.path });
    if (!result) return;
    if (!result.length) {
      void vscode.window.showInformationMessage(`Berth: "${folder.name}" has no sandbox.`);
      return;
    }
    await this.documents.showInspect(folder.name, result.length === 1 ? result[0] : result);
  }

  private async logsFolder(folder: Folder): Promise<void> {
    const result = await this.api.logs({ workspace: folder.path, tail: 2000 });
    if (result) await this.documents.showLogs(folder.name, result.text);
  }

  // A sandbox of the engine's is named by its id: its workspace may have another sandbox by now, or
  // be no folder at all any more.

  /** The sandbox, as the question before ending its sessions names it (none unless it runs). */
  private sandboxTargets(sandbox: Sandbox): EndingTarget[] {
    return sandbox.state === 'running' ? [{ query: { ids: [sandbox.id] }, name: sandbox.name }] : [];
  }

  private async stopSandbox(sandbox: Sandbox): Promise<void> {
    if (!(await this.sessions.confirmEnding('Stopping', sandbox.name, this.sandboxTargets(sandbox), 'Stop'))) return;
    await this.api.stop({ ids: [sandbox.id] });
    this.sandboxes.refresh();
  }

  private async removeSandbox(sandbox: Sandbox): Promise<void> {
    const ok = await this.sessions.confirmEnding('Removing', sandbox.name, this.sandboxTargets(sandbox), 'Remove', {
      message: `Remove the Berth sandbox ${sandbox.name}?`,
      detail: `Workspace: ${sandbox.workspace}\nThe container is deleted; workspace files are kept.`,
    });
    if (!ok) return;
    await this.api.remove({ ids: [sandbox.id] });
    this.sandboxes.refresh();
  }

  private async inspectSandbox(sandbox: Sandbox): Promise<void> {
    const result = await this.api.inspect({ ids: [sandbox.id] });
    if (result) await this.documents.showInspect(sandbox.name, result[0] ?? result);
  }

  private async logsSandbox(sandbox: Sandbox): Promise<void> {
    const result = await this.api.logs({ ids: [sandbox.id], tail: 2000 });
    if (result) await this.documents.showLogs(sandbox.name, result.text);
  }

  private async statusBarActions(arg: unknown): Promise<void> {
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
