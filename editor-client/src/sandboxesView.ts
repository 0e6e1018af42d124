// The Sandboxes view: every Berth sandbox on the Docker engine, whichever folder it belongs to, so it
// asks the server for the whole list rather than showing the statuses of the open folders. A folder's
// sandboxes made by name show with their name, an agent branch's with its repository and branch.

import * as vscode from 'vscode';

import { AgentBranches } from './agentBranches';
import type { Sandbox, Status } from './protocol';
import { LiveTreeView } from './liveTreeView';
import { BerthServer } from './server';
import { SandboxStatuses } from './statuses';
import { localTime, sandboxTreeItem, WorktreePlace } from './views';

export class SandboxNode extends vscode.TreeItem {
  constructor(
    readonly sandbox: Sandbox,
    live: Status | undefined,
    worktree: WorktreePlace | undefined,
  ) {
    const view = sandboxTreeItem(sandbox, live, localTime, worktree);
    super(view.label, vscode.TreeItemCollapsibleState.None);
    this.id = sandbox.id;
    this.description = view.description;
    this.tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.iconPath = new vscode.ThemeIcon(view.icon, view.color ? new vscode.ThemeColor(view.color) : undefined);
    this.contextValue = view.contextValue;
    this.command = { title: 'Inspect', command: 'berth.sandboxItem.inspect', arguments: [this] };
  }
}

export class SandboxesView extends LiveTreeView<SandboxNode> {
  constructor(
    private readonly server: BerthServer,
    private readonly statuses: SandboxStatuses,
    branches: AgentBranches,
  ) {
    super('berth.sandboxes', branches);
  }

  async getChildren(node?: SandboxNode): Promise<SandboxNode[]> {
    if (node) return [];
    // The branch listing only names worktrees here: it is shared with the Agent Branches view.
    const [{ sandboxes, error }] = await Promise.all([this.server.listForView(), this.branches.get()]);
    this.view.message = error;
    this.view.badge = sandboxes.length
      ? { value: sandboxes.filter((s) => s.state === 'running').length, tooltip: 'Running Berth sandboxes' }
      : undefined;
    // A workspace's default sandbox first, then the ones it has by name.
    return sandboxes
      .sort((a, b) => a.workspace.localeCompare(b.workspace) || Number(!!a.named) - Number(!!b.named) || a.name.localeCompare(b.name))
      .map((s) => new SandboxNode(s, this.statuses.live(s), this.branches.place(s.workspace)));
  }
}
