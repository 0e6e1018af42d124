// What the Sandboxes and Agent Branches views share: a tree view re-read from the server on demand,
// and at most once per burst of status notifications.

import * as vscode from 'vscode';

import { AgentBranches } from './agentBranches';

export abstract class LiveTreeView<T extends vscode.TreeItem> implements vscode.TreeDataProvider<T>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;
  protected readonly view: vscode.TreeView<T>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    id: string,
    /** Shared by both views: both re-read it when either refreshes. */
    protected readonly branches: AgentBranches,
  ) {
    this.view = vscode.window.createTreeView(id, { treeDataProvider: this, showCollapseAll: false });
  }

  refresh(): void {
    this.branches.invalidate();
    this.emitter.fire();
  }

  /** Status notifications come in bursts; one listing per burst. */
  statusChanged(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 250);
  }

  getTreeItem(node: T): vscode.TreeItem {
    return node;
  }

  abstract getChildren(node?: T): Promise<T[]>;

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.view.dispose();
    this.emitter.dispose();
  }
}
