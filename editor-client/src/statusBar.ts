// The status bar item: the state of one folder's default sandbox (the active editor's folder), with
// how many other sandboxes it has by name, or why the server is not running; its tooltip ends with the
// Docker engine the server uses (engineInfo.ts). Its text, tooltip and colour come from views.ts.

import * as vscode from 'vscode';

import { statusBarFolder } from './folders';
import { localTime, statusBarView } from './views';
import { AgentAttention } from './agentAttention';
import { EngineWatch } from './engineInfo';
import { BerthServer } from './server';
import { SandboxStatuses } from './statuses';
import { activeFile, Folder, WorkspaceFolders } from './workspaceFolders';

export class SandboxStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly listeners: vscode.Disposable[];
  /** Kept while no editor is active, so the item does not jump back to the first folder. */
  private shownFolder: string | undefined;

  constructor(
    private readonly folders: WorkspaceFolders,
    private readonly statuses: SandboxStatuses,
    private readonly server: BerthServer,
    private readonly agents: AgentAttention,
    private readonly engine: EngineWatch,
  ) {
    this.item = vscode.window.createStatusBarItem('berth.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Berth Sandbox';
    this.listeners = [
      vscode.window.onDidChangeActiveTextEditor(() => this.render()),
      folders.onDidChange(() => this.render()),
      engine.onDidChange(() => this.render()),
    ];
    this.render();
    this.item.show();
  }

  /** The folder the item is about: what its quick pick acts on. */
  folder(): Folder | undefined {
    return statusBarFolder(this.folders.all, activeFile(), this.shownFolder);
  }

  render(): void {
    const folder = this.folder();
    this.shownFolder = folder?.path;
    // Without a folder there is no sandbox to show, but a server that failed must still say so.
    if (!folder && this.server.phase !== 'failed') {
      this.item.hide();
      return;
    }
    const view = statusBarView(this.statuses.of(folder), this.server.phase, {
      folderName: folder?.name,
      multiRoot: this.folders.all.length > 1,
      formatTime: localTime,
      others: this.statuses.allOf(folder).filter((s) => s.name),
      agent: this.agents.of(this.statuses.of(folder)?.sandbox?.id),
      engine: this.engine.text,
    });
    this.item.text = view.text;
    this.item.tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.item.accessibilityInformation = { label: view.accessibility };
    this.item.backgroundColor =
      view.background === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.background === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    this.item.command = {
      title: 'Berth: Sandbox Actions',
      command: 'berth.statusBarActions',
      arguments: folder ? [folder.ws.uri] : [],
    };
    this.item.show();
  }

  dispose(): void {
    for (const d of this.listeners) d.dispose();
    this.item.dispose();
  }
}
