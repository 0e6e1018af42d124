// The Berth extension: starts berth-server (Python, stdio) with vscode-languageclient and wires its
// statuses and requests to the status bar, commands, terminals and the Sandboxes view. All sandbox
// logic lives in the server; what is shown for a state comes from presentation.ts.

import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  ServerOptions,
  State as ClientState,
} from 'vscode-languageclient/node';

import { chooseFolder, FolderRef, folderForWorkspace, statusBarFolder } from './folders';
import {
  actionsFor,
  ClientPhase,
  DOCKER_SOCKET_DETAIL,
  DOCKER_SOCKET_WARNING,
  driftKey,
  driftMessage,
  removeAllMessage,
  Sandbox,
  sandboxActions,
  sandboxPickItem,
  sandboxTreeItem,
  Status,
  statusBarView,
} from './presentation';
import { candidates, pick, Probe, VERSION_SCRIPT, parseVersion } from './python';

const SECTION = 'berth';
const DOC_SCHEME = 'berth';
const SOCKET_KEY = 'berth.dockerSocket.';

interface RunResult extends Sandbox {
  drift: Status['drift'];
  attach: { argv: string[] };
  shell: { argv: string[] };
  created: boolean;
  warnings: string[];
}

interface Folder extends FolderRef {
  ws: vscode.WorkspaceFolder;
}

class Berth implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private phase: ClientPhase = 'starting';
  private readonly statuses = new Map<string, Status>();
  private readonly shownDrift = new Set<string>();
  private readonly statusBar: vscode.StatusBarItem;
  private readonly output: vscode.OutputChannel;
  private readonly tree: SandboxTree;
  private readonly docs = new DocumentStore();
  private readonly disposables: vscode.Disposable[] = [];
  private folders: Folder[] = [];
  private shownFolder: string | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly ctx: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('Berth');
    this.statusBar = vscode.window.createStatusBarItem('berth.status', vscode.StatusBarAlignment.Left, 50);
    this.statusBar.name = 'Berth Sandbox';
    this.tree = new SandboxTree(this);
    this.disposables.push(
      this.output,
      this.statusBar,
      this.tree,
      vscode.workspace.registerTextDocumentContentProvider(DOC_SCHEME, this.docs),
      vscode.window.onDidChangeActiveTextEditor(() => this.render()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        this.loadFolders();
        this.render();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => this.configChanged(e)),
    );
    this.loadFolders();
    this.registerCommands();
    this.render();
    this.statusBar.show();
  }

  // ---------------------------------------------------------------- server lifecycle

  start(): Promise<void> {
    if (!this.starting) {
      this.starting = this.startClient().finally(() => (this.starting = undefined));
    }
    return this.starting;
  }

  private async startClient(): Promise<void> {
    this.phase = 'starting';
    this.render();
    const python = await this.findPython();
    if (!python) {
      this.phase = 'failed';
      this.render();
      return;
    }
    const libs = this.serverPath();
    this.output.appendLine(`Starting berth-server with ${python} (PYTHONPATH=${libs})`);
    const serverOptions: ServerOptions = {
      command: python,
      // No `transport`: TransportKind.stdio would append `--stdio`, which berth-server refuses.
      args: ['-m', 'berth.lsp.app'],
      options: {
        env: { ...process.env, PYTHONPATH: libs, PYTHONNOUSERSITE: '1', PYTHONUNBUFFERED: '1' },
      },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.output,
      initializationOptions: { berth: settingsObject(undefined) },
      synchronize: { configurationSection: SECTION },
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            return Array.isArray(result) ? result.map((r, i) => this.maskAutoStart(params.items[i]?.scopeUri, r)) : result;
          },
        },
      },
    };
    const client = new LanguageClient('berth', 'Berth', serverOptions, clientOptions);
    this.client = client;
    client.onNotification('sandbox/didChangeStatus', (s: Status) => this.onStatus(s));
    client.onDidChangeState((e) => {
      if (e.newState === ClientState.Running) this.phase = 'running';
      else if (e.newState === ClientState.Stopped) this.phase = this.client === client ? 'failed' : 'stopped';
      else this.phase = 'starting';
      if (e.newState !== ClientState.Running) this.statuses.clear();
      this.render();
      this.tree.refresh();
    });
    try {
      await client.start();
      this.phase = 'running';
    } catch (err) {
      this.phase = 'failed';
      this.output.appendLine(`berth-server did not start: ${errorText(err)}`);
      void vscode.window
        .showErrorMessage(`Berth: the server did not start: ${errorText(err)}`, 'Show Output')
        .then((b) => b && this.output.show());
    }
    this.render();
    this.tree.refresh();
  }

  async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.statuses.clear();
    if (client) {
      try {
        await client.stop(5000);
      } catch (err) {
        this.output.appendLine(`Stopping berth-server: ${errorText(err)}`);
      }
      await client.dispose().catch(() => undefined);
    }
    this.phase = 'stopped';
    this.render();
  }

  /** PYTHONPATH for the server: the libraries shipped in the .vsix, or the source tree in development. */
  private serverPath(): string {
    const libs = path.join(this.ctx.extensionPath, 'bundled', 'libs');
    if (fs.existsSync(path.join(libs, 'berth'))) return libs;
    const source = path.join(this.ctx.extensionPath, 'server');
    return fs.existsSync(path.join(source, 'berth')) ? source : libs;
  }

  private async findPython(): Promise<string | undefined> {
    const setting = vscode.workspace.getConfiguration(SECTION).get<string | null>('interpreter');
    let fromExtension: string | undefined;
    if (!setting) fromExtension = await pythonExtensionInterpreter(this.folders[0]?.ws.uri);
    const probes: Probe[] = [];
    for (const candidate of candidates(setting, fromExtension)) {
      const probe = await probePython(candidate.command).then((r) => ({ candidate, ...r }));
      probes.push(probe);
      const verdict = pick([probe]);
      if ('ok' in verdict) return candidate.command;
      this.output.appendLine(verdict.error);
    }
    const verdict = pick(probes);
    const message = 'error' in verdict ? verdict.error : 'Berth could not find Python.';
    void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output').then((b) => {
      if (b === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'berth.interpreter');
      if (b === 'Show Output') this.output.show();
    });
    return undefined;
  }

  // ---------------------------------------------------------------- statuses

  private onStatus(status: Status): void {
    if (!status || typeof status.workspace !== 'string') return;
    this.statuses.set(status.workspace, status);
    this.render();
    this.tree.statusChanged();
    this.maybeOfferRecreate(status);
  }

  private maybeOfferRecreate(status: Status): void {
    const folder = folderForWorkspace(this.folders, status.workspace);
    for (const key of [...this.shownDrift]) {
      if (key.startsWith(status.workspace + '\u0000') && key !== driftKey(status.workspace, status.drift)) {
        this.shownDrift.delete(key);
      }
    }
    if (!folder || !status.drift.length || !(status.state === 'running' || status.state === 'stopped')) return;
    const key = driftKey(status.workspace, status.drift);
    if (this.shownDrift.has(key)) return;
    this.shownDrift.add(key);
    void vscode.window.showWarningMessage(driftMessage(folder.name, status.drift), 'Recreate').then((b) => {
      if (b === 'Recreate') void this.recreate(folder.ws.uri);
    });
  }

  statusOf(folder: Folder | undefined): Status | undefined {
    if (!folder) return undefined;
    return this.statuses.get(folder.realPath ?? folder.path) ?? this.statuses.get(folder.path);
  }

  liveStatus(workspace: string): Status | undefined {
    return this.statuses.get(workspace);
  }

  private loadFolders(): void {
    this.folders = (vscode.workspace.workspaceFolders ?? [])
      .filter((ws) => ws.uri.scheme === 'file')
      .map((ws) => ({ ws, name: ws.name, path: ws.uri.fsPath, realPath: realPath(ws.uri.fsPath) }));
  }

  private activeFile(): string | undefined {
    const uri = vscode.window.activeTextEditor?.document.uri;
    return uri && uri.scheme === 'file' ? uri.fsPath : undefined;
  }

  private render(): void {
    const folder = statusBarFolder(this.folders, this.activeFile(), this.shownFolder);
    this.shownFolder = folder?.path;
    if (!folder && this.phase !== 'failed') {
      this.statusBar.hide();
      return;
    }
    const view = statusBarView(this.statusOf(folder), this.phase, {
      folderName: folder?.name,
      multiRoot: this.folders.length > 1,
      formatTime,
    });
    this.statusBar.text = view.text;
    const tip = new vscode.MarkdownString(view.tooltip, true);
    this.statusBar.tooltip = tip;
    this.statusBar.accessibilityInformation = { label: view.accessibility };
    this.statusBar.backgroundColor =
      view.background === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.background === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    this.statusBar.command = {
      title: 'Berth: Sandbox Actions',
      command: 'berth.statusBarActions',
      arguments: folder ? [folder.ws.uri] : [],
    };
    this.statusBar.show();
  }

  // ---------------------------------------------------------------- settings

  private configChanged(e: vscode.ConfigurationChangeEvent): void {
    if (!e.affectsConfiguration(SECTION)) return;
    if (e.affectsConfiguration('berth.interpreter')) {
      void vscode.window
        .showInformationMessage('Berth: the interpreter setting changed. Restart the Berth server to use it?', 'Restart Server')
        .then((b) => b && vscode.commands.executeCommand('berth.restartServer'));
    }
    for (const folder of this.folders) {
      if (
        e.affectsConfiguration('berth.mountDockerSocket', folder.ws.uri) &&
        socketSetting(folder) &&
        this.socketAnswer(folder) === undefined
      ) {
        void this.confirmDockerSocket(folder);
      }
    }
  }

  private socketAnswer(folder: Folder): 'allow' | 'deny' | undefined {
    return this.ctx.workspaceState.get<'allow' | 'deny'>(SOCKET_KEY + folder.ws.uri.toString());
  }

  /** Asks once per workspace folder before a sandbox mounts the Docker socket. */
  private async confirmDockerSocket(folder: Folder): Promise<boolean> {
    if (!socketSetting(folder)) return true;
    const key = SOCKET_KEY + folder.ws.uri.toString();
    const answer = this.socketAnswer(folder);
    if (answer === 'allow') return true;
    if (answer === 'deny') {
      const b = await vscode.window.showErrorMessage(
        `Berth: "${folder.name}" sets berth.mountDockerSocket, and you chose not to allow it for this workspace.`,
        'Allow Docker Socket',
        'Open Settings',
      );
      if (b === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openWorkspaceSettings', 'berth.mountDockerSocket');
      if (b !== 'Allow Docker Socket') return false;
      await this.ctx.workspaceState.update(key, 'allow');
      return true;
    }
    const choice = await vscode.window.showWarningMessage(
      DOCKER_SOCKET_WARNING,
      { modal: true, detail: `${DOCKER_SOCKET_DETAIL}\n\nFolder: ${folder.path}` },
      'Allow',
      "Don't Allow",
    );
    const allowed = choice === 'Allow';
    if (choice) await this.ctx.workspaceState.update(key, allowed ? 'allow' : 'deny');
    return allowed;
  }

  /** Until the Docker socket is allowed for a folder, the server must not auto-start its sandbox. */
  private maskAutoStart(scopeUri: string | undefined, result: unknown): unknown {
    if (!scopeUri || !result || typeof result !== 'object') return result;
    const folder = this.folders.find((f) => f.ws.uri.toString() === scopeUri || vscode.Uri.parse(scopeUri).fsPath === f.path);
    const r = result as Record<string, unknown>;
    if (folder && r.mountDockerSocket === true && this.socketAnswer(folder) !== 'allow') {
      return { ...r, autoStart: 'never' };
    }
    return result;
  }

  // ---------------------------------------------------------------- requests

  async request<T>(method: string, params: object): Promise<T | undefined> {
    if (this.starting) await this.starting;
    const client = this.client;
    if (!client || this.phase === 'failed' || this.phase === 'stopped') {
      const b = await vscode.window.showErrorMessage(
        'Berth: the Berth server is not running.',
        'Restart Server',
        'Show Output',
      );
      if (b === 'Restart Server') void vscode.commands.executeCommand('berth.restartServer');
      if (b === 'Show Output') this.output.show();
      return undefined;
    }
    try {
      return (await client.sendRequest(method, params)) as T;
    } catch (err) {
      this.showError(err);
      return undefined;
    }
  }

  private showError(err: unknown): void {
    if (err instanceof ResponseError) {
      const buttons = err.code === -32002 || err.code === -32005 || err.code === -32603 ? ['Show Output'] : [];
      void vscode.window.showErrorMessage(err.message, ...buttons).then((b) => b && this.output.show());
      return;
    }
    void vscode.window.showErrorMessage(`Berth: ${errorText(err)}`);
  }

  // ---------------------------------------------------------------- commands

  private registerCommands(): void {
    const reg = (id: string, fn: (...args: any[]) => unknown) =>
      this.disposables.push(vscode.commands.registerCommand(id, fn));
    reg('berth.runAgent', (arg?: unknown) => this.runAgent(arg));
    reg('berth.startSandbox', (arg?: unknown) => this.startSandbox(arg));
    reg('berth.stopSandbox', (arg?: unknown) => this.stopSandbox(arg));
    reg('berth.recreateSandbox', (arg?: unknown) => this.recreate(arg));
    reg('berth.removeSandbox', (arg?: unknown) => this.removeSandbox(arg));
    reg('berth.removeAllSandboxes', () => this.removeAll());
    reg('berth.listSandboxes', () => this.listSandboxes());
    reg('berth.inspectSandbox', (arg?: unknown) => this.inspectFolder(arg));
    reg('berth.showLogs', (arg?: unknown) => this.logsFolder(arg));
    reg('berth.openShell', (arg?: unknown) => this.openShell(arg));
    reg('berth.showOutput', () => this.output.show());
    reg('berth.restartServer', () => this.restart());
    reg('berth.refreshSandboxes', () => this.tree.refresh());
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
    const choice = chooseFolder(this.folders, explicit, this.activeFile());
    if (choice.kind === 'use') return choice.folder;
    if (choice.kind === 'none') {
      void vscode.window.showErrorMessage('Berth: open a folder first; each workspace folder gets its own sandbox.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      choice.folders.map((f) => ({
        label: f.name,
        description: this.statusOf(f)?.state ?? '',
        detail: f.path,
        folder: f,
      })),
      { title: `Berth: ${verb}`, placeHolder: 'Which workspace folder?' },
    );
    return picked?.folder;
  }

  private async run(folder: Folder, recreate = false): Promise<RunResult | undefined> {
    if (!(await this.confirmDockerSocket(folder))) return undefined;
    return this.request<RunResult>(recreate ? 'sandbox/recreate' : 'sandbox/run', { workspace: folder.path });
  }

  async runAgent(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Run Agent');
    if (!folder) return;
    const result = await this.run(folder);
    if (!result) return;
    this.openTerminal(`Berth: ${result.agent} (${folder.name})`, result.attach.argv, folder, true);
  }

  async startSandbox(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Start Sandbox');
    if (folder) await this.run(folder);
  }

  async openShell(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Open Shell');
    if (!folder) return;
    const result = await this.run(folder);
    if (result) this.openTerminal(`Berth: shell (${folder.name})`, result.shell.argv, folder, false);
  }

  private openTerminal(name: string, argv: string[], folder: Folder, editor: boolean): void {
    if (!argv || !argv.length) {
      void vscode.window.showErrorMessage('Berth: the server gave no command line to run.');
      return;
    }
    const terminal = vscode.window.createTerminal({
      name,
      shellPath: argv[0],
      shellArgs: argv.slice(1),
      cwd: folder.ws.uri,
      iconPath: new vscode.ThemeIcon(editor ? 'hubot' : 'terminal'),
      location: editor ? vscode.TerminalLocation.Editor : vscode.TerminalLocation.Panel,
    });
    terminal.show();
  }

  async stopSandbox(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Stop Sandbox');
    if (folder) await this.request('sandbox/stop', { workspace: folder.path });
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
    const result = await this.request<{ removed: string[] }>('sandbox/remove', { workspace: folder.path });
    if (result && !result.removed.length) {
      void vscode.window.showInformationMessage(`Berth: "${folder.name}" has no sandbox to remove.`);
    }
  }

  async removeAll(): Promise<void> {
    const list = await this.request<Sandbox[]>('sandbox/list', {});
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
    const result = await this.request<{ removed: string[] }>('sandbox/remove', { all: true });
    if (result) void vscode.window.showInformationMessage(`Berth: removed ${result.removed.length} sandbox(es).`);
    this.tree.refresh();
  }

  async listSandboxes(): Promise<void> {
    const list = await this.request<Sandbox[]>('sandbox/list', {});
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
    const folder = folderForWorkspace(this.folders, sandbox.workspace);
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

  async stopById(sandbox: Sandbox): Promise<void> {
    await this.request('sandbox/stop', { workspace: sandbox.workspace });
    this.tree.refresh();
  }

  async removeById(sandbox: Sandbox): Promise<void> {
    const ok = await vscode.window.showWarningMessage(
      `Remove the Berth sandbox ${sandbox.name}?`,
      { modal: true, detail: `Workspace: ${sandbox.workspace}\nThe container is deleted; workspace files are kept.` },
      'Remove',
    );
    if (ok !== 'Remove') return;
    await this.request('sandbox/remove', { ids: [sandbox.id] });
    this.tree.refresh();
  }

  async inspectFolder(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Inspect Sandbox');
    if (!folder) return;
    const result = await this.request<unknown[]>('sandbox/inspect', { workspace: folder.path });
    if (!result) return;
    if (!result.length) {
      void vscode.window.showInformationMessage(`Berth: "${folder.name}" has no sandbox.`);
      return;
    }
    await this.docs.open(`inspect/${folder.name}.json`, JSON.stringify(result.length === 1 ? result[0] : result, null, 2));
  }

  async inspectById(sandbox: Sandbox): Promise<void> {
    const result = await this.request<unknown[]>('sandbox/inspect', { ids: [sandbox.id] });
    if (result) await this.docs.open(`inspect/${sandbox.name}.json`, JSON.stringify(result[0] ?? result, null, 2));
  }

  async logsFolder(arg?: unknown): Promise<void> {
    const folder = await this.folderFor(arg, 'Show Logs');
    if (!folder) return;
    const result = await this.request<{ text: string }>('sandbox/logs', { workspace: folder.path, tail: 2000 });
    if (result) await this.docs.open(`logs/${folder.name}.log`, result.text || '(the sandbox has logged nothing)\n');
  }

  async logsOf(sandbox: Sandbox): Promise<void> {
    const result = await this.request<{ text: string }>('sandbox/logs', { workspace: sandbox.workspace, tail: 2000 });
    if (result) await this.docs.open(`logs/${sandbox.name}.log`, result.text || '(the sandbox has logged nothing)\n');
  }

  async statusBarActions(arg?: unknown): Promise<void> {
    const folder =
      arg instanceof vscode.Uri
        ? this.folders.find((f) => f.ws.uri.toString() === arg.toString())
        : statusBarFolder(this.folders, this.activeFile(), this.shownFolder);
    const status = this.statusOf(folder);
    const actions = actionsFor(status, this.phase);
    const picked = await vscode.window.showQuickPick(actions, {
      title: folder ? `Berth: ${folder.name} — ${status?.state ?? this.phase}` : 'Berth',
      placeHolder: 'Choose an action',
    });
    if (picked) await vscode.commands.executeCommand(picked.command, folder?.ws.uri);
  }

  async restart(): Promise<void> {
    await this.stopClient();
    await this.start();
  }

  async listForTree(): Promise<{ sandboxes: Sandbox[]; error?: string }> {
    if (this.starting) await this.starting;
    const client = this.client;
    if (!client || this.phase !== 'running') return { sandboxes: [], error: 'The Berth server is not running.' };
    try {
      return { sandboxes: (await client.sendRequest('sandbox/list', {})) as Sandbox[] };
    } catch (err) {
      return { sandboxes: [], error: errorText(err) };
    }
  }

  dispose(): void {
    void this.stopClient();
    for (const d of this.disposables) d.dispose();
  }
}

// ------------------------------------------------------------------ Sandboxes view

class SandboxNode extends vscode.TreeItem {
  constructor(
    readonly sandbox: Sandbox,
    live: Status | undefined,
  ) {
    const view = sandboxTreeItem(sandbox, live, formatTime);
    super(view.label, vscode.TreeItemCollapsibleState.None);
    this.id = sandbox.id;
    this.description = view.description;
    this.tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.iconPath = new vscode.ThemeIcon(view.icon, view.color ? new vscode.ThemeColor(view.color) : undefined);
    this.contextValue = view.contextValue;
    this.command = { title: 'Inspect', command: 'berth.sandboxItem.inspect', arguments: [this] };
  }
}

class SandboxTree implements vscode.TreeDataProvider<SandboxNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly view: vscode.TreeView<SandboxNode>;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly berth: Berth) {
    this.view = vscode.window.createTreeView('berth.sandboxes', { treeDataProvider: this, showCollapseAll: false });
  }

  refresh(): void {
    this.emitter.fire();
  }

  /** Status notifications come in bursts; one list per burst. */
  statusChanged(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 250);
  }

  getTreeItem(node: SandboxNode): vscode.TreeItem {
    return node;
  }

  async getChildren(node?: SandboxNode): Promise<SandboxNode[]> {
    if (node) return [];
    const { sandboxes, error } = await this.berth.listForTree();
    this.view.message = error;
    this.view.badge = sandboxes.length
      ? { value: sandboxes.filter((s) => s.status === 'running').length, tooltip: 'Running Berth sandboxes' }
      : undefined;
    return sandboxes
      .sort((a, b) => a.workspace.localeCompare(b.workspace))
      .map((s) => new SandboxNode(s, this.berth.liveStatus(s.workspace)));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.view.dispose();
    this.emitter.dispose();
  }
}

// ------------------------------------------------------------------ read-only documents

class DocumentStore implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? '';
  }

  async open(name: string, text: string): Promise<void> {
    const uri = vscode.Uri.from({ scheme: DOC_SCHEME, path: '/' + name });
    const known = this.contents.has(uri.path);
    this.contents.set(uri.path, text);
    if (known) this.emitter.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: false });
  }
}

// ------------------------------------------------------------------ helpers

function settingsObject(scope: vscode.Uri | undefined): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const out: Record<string, unknown> = {};
  for (const key of ['agent', 'template', 'env', 'volumes', 'mountDockerSocket', 'credentials', 'autoStart']) {
    out[key] = c.get(key) ?? null;
  }
  return out;
}

function socketSetting(folder: Folder): boolean {
  return vscode.workspace.getConfiguration(SECTION, folder.ws.uri).get('mountDockerSocket') === true;
}

function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toLocaleString()} (${iso})`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function probePython(command: string): Promise<{ version?: [number, number]; error?: string }> {
  return new Promise((resolve) => {
    execFile(command, ['-c', VERSION_SCRIPT], { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ error: code === 'ENOENT' ? 'not found' : (stderr || err.message).trim() });
        return;
      }
      const version = parseVersion(stdout);
      resolve(version ? { version } : { error: `unexpected output ${JSON.stringify(stdout.trim())}` });
    });
  });
}

/** The active interpreter of the Python extension (ms-python.python), when it is installed. */
async function pythonExtensionInterpreter(scope: vscode.Uri | undefined): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) return undefined;
  try {
    if (!ext.isActive) await ext.activate();
    const env = ext.exports?.environments;
    const active = env?.getActiveEnvironmentPath?.(scope);
    const p = active?.path;
    return typeof p === 'string' && p ? p : undefined;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ entry points

let berth: Berth | undefined;

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  berth = new Berth(ctx);
  ctx.subscriptions.push(berth);
  await berth.start();
}

export async function deactivate(): Promise<void> {
  if (berth) await berth.stopClient();
  berth = undefined;
}
