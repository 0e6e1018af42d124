// The Sandboxes view: every Berth sandbox on the Docker engine, whichever folder it belongs to, so it
// asks the server for the whole list rather than showing the statuses of the open folders.

import * as vscode from 'vscode';

import type { Sandbox, Status } from './protocol';
import { BerthServer } from './server';
import { SandboxStatuses } from './statuses';
import { localTime, sandboxTreeItem } from './views';

export class SandboxNode extends vscode.TreeItem {
  constructor(
    readonly sandbox: Sandbox,
    live: Status | undefined,
  ) {
    const view = sandboxTreeItem(sandbox, live, localTime);
    super(view.label, vscode.TreeItemCollapsibleState.None);
    this.id = sandbox.id;
    this.description = view.description;
    this.tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.iconPath = new vscode.ThemeIcon(view.icon, view.color ? new vscode.ThemeColor(view.color) : undefined);
    this.contextValue = view.contextValue;
    this.command = { title: 'Inspect', command: 'berth.sandboxItem.inspect', arguments: [this] };
  }
}

export class SandboxesView implements vscode.TreeDataProvider<SandboxNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly view: vscode.TreeView<SandboxNode>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: BerthServer,
    private readonly statuses: SandboxStatuses,
  ) {
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
    const { sandboxes, error } = await this.server.listForView();
    this.view.message = error;
    this.view.badge = sandboxes.length
      ? { value: sandboxes.filter((s) => s.state === 'running').length, tooltip: 'Running Berth sandboxes' }
      : undefined;
    return sandboxes
      .sort((a, b) => a.workspace.localeCompare(b.workspace))
      .map((s) => new SandboxNode(s, this.statuses.live(s.workspace)));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.view.dispose();
    this.emitter.dispose();
  }
}
