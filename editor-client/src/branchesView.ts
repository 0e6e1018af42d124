// The Agent Branches view: each open git repository's agent branches (its linked worktrees) with their
// sandboxes. One folder: the branches themselves; several: one row per repository, branches under it.

import * as vscode from 'vscode';

import { AgentBranches } from './agentBranches';
import { LiveTreeView } from './liveTreeView';
import type { AgentBranch } from './protocol';
import { SandboxStatuses } from './statuses';
import { branchTreeItem } from './views';
import { Folder, WorkspaceFolders } from './workspaceFolders';

/** An open folder that is a git repository with agent branches (in a multi-root window). */
export class RepositoryNode extends vscode.TreeItem {
  constructor(
    readonly folder: Folder,
    readonly branches: AgentBranch[],
  ) {
    super(folder.name, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `repository\u0000${folder.path}`;
    this.description = `${branches.length} agent branch${branches.length === 1 ? '' : 'es'}`;
    this.tooltip = folder.path;
    this.iconPath = new vscode.ThemeIcon('repo');
    this.contextValue = 'berth.repository';
  }
}

/** One agent branch: a worktree of `folder`'s repository. */
export class BranchNode extends vscode.TreeItem {
  constructor(
    readonly folder: Folder,
    readonly branch: AgentBranch,
    statuses: SandboxStatuses,
  ) {
    const view = branchTreeItem(branch, (s) => statuses.live(s));
    super(view.label, vscode.TreeItemCollapsibleState.None);
    this.id = `branch\u0000${branch.path}`;
    this.description = view.description;
    this.tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.iconPath = new vscode.ThemeIcon(view.icon, view.color ? new vscode.ThemeColor(view.color) : undefined);
    this.contextValue = view.contextValue;
  }
}

type Node = RepositoryNode | BranchNode;

export class BranchesView extends LiveTreeView<Node> {
  constructor(
    branches: AgentBranches,
    private readonly folders: WorkspaceFolders,
    private readonly statuses: SandboxStatuses,
  ) {
    super('berth.branches', branches);
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node instanceof RepositoryNode) return node.branches.map((b) => new BranchNode(node.folder, b, this.statuses));
    if (node) return [];
    const { repositories, error } = await this.branches.get();
    this.view.message = error;
    if (this.folders.all.length > 1) return repositories.map((r) => new RepositoryNode(r.folder, r.branches));
    return repositories.flatMap((r) => r.branches.map((b) => new BranchNode(r.folder, b, this.statuses)));
  }
}
