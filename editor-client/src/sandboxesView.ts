// The Sandboxes view: every Berth sandbox on the Docker engine, whichever folder it belongs to, so it
// asks the server for the whole list rather than showing the statuses of the open folders. A folder's
// sandboxes made by name show with their name, an agent branch's with its repository and branch; a
// running sandbox has a row under it for each of its agents' sessions (click: attach it, or show an
// exited one's output) and for each forwarded port (click: open it in the browser).

import * as vscode from 'vscode';

import { AgentBranches } from './agentBranches';
import { AgentAttention } from './agentAttention';
import { AgentSessions } from './agentSessions';
import type { AgentStateChange, Forward, Sandbox, Session, Status } from './protocol';
import { LiveTreeView } from './liveTreeView';
import { PortForwards } from './portForwards';
import { forwardLabel } from './ports';
import { BerthServer } from './server';
import { sessionContext, sessionDescription, sessionIcon, sessionTooltip } from './sessions';
import { SandboxStatuses } from './statuses';
import { localTime, sandboxTreeItem, WorktreePlace } from './views';

export class SandboxNode extends vscode.TreeItem {
  constructor(
    readonly sandbox: Sandbox,
    live: Status | undefined,
    worktree: WorktreePlace | undefined,
    readonly forwards: Forward[] = [],
    agent?: AgentStateChange,
    readonly sessions: Session[] = [],
  ) {
    const view = sandboxTreeItem(sandbox, live, localTime, worktree, agent);
    super(
      view.label,
      forwards.length || sessions.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    this.id = sandbox.id;
    this.description = view.description;
    this.tooltip = new vscode.MarkdownString(view.tooltip, true);
    this.iconPath = new vscode.ThemeIcon(view.icon, view.color ? new vscode.ThemeColor(view.color) : undefined);
    this.contextValue = view.contextValue;
    this.command = { title: 'Inspect', command: 'berth.sandboxItem.inspect', arguments: [this] };
  }
}

/** A forwarded port of a sandbox: opens in the browser when clicked. */
export class ForwardNode extends vscode.TreeItem {
  constructor(
    readonly sandbox: Sandbox,
    readonly forward: Forward,
  ) {
    super(forwardLabel(forward), vscode.TreeItemCollapsibleState.None);
    this.id = `${sandbox.id}:${forward.hostIp}:${forward.hostPort}`;
    this.description = forward.url;
    this.tooltip = `Port ${forward.port} of the sandbox, forwarded to ${forward.url} until it stops`;
    this.iconPath = new vscode.ThemeIcon('plug');
    this.contextValue = 'berth.forward';
    this.command = { title: 'Open in Browser', command: 'berth.forwardItem.open', arguments: [this] };
  }
}

/** An agent session of a running sandbox: attaches when clicked (an exited one replays its output). */
export class SessionNode extends vscode.TreeItem {
  constructor(
    readonly sandbox: Sandbox,
    readonly session: Session,
  ) {
    super(session.id, vscode.TreeItemCollapsibleState.None);
    this.id = `${sandbox.id}:session:${session.id}:${session.started}`;
    this.description = sessionDescription(session);
    // No theme icons: the tooltip quotes the agent's own output.
    this.tooltip = new vscode.MarkdownString(sessionTooltip(session, localTime));
    const icon = sessionIcon(session);
    this.iconPath = new vscode.ThemeIcon(icon.icon, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    this.contextValue = sessionContext(session);
    if (session.state === 'running') this.command = { title: 'Attach', command: 'berth.sessionItem.attach', arguments: [this] };
    else if (session.state === 'exited') this.command = { title: 'Show Output', command: 'berth.sessionItem.showOutput', arguments: [this] };
  }
}

type Node = SandboxNode | SessionNode | ForwardNode;

export class SandboxesView extends LiveTreeView<Node> {
  constructor(
    private readonly server: BerthServer,
    private readonly statuses: SandboxStatuses,
    branches: AgentBranches,
    private readonly ports: PortForwards,
    private readonly agents: AgentAttention,
    private readonly sessions: AgentSessions,
  ) {
    super('berth.sandboxes', branches);
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (node instanceof SandboxNode) {
      return [...node.sessions.map((s) => new SessionNode(node.sandbox, s)), ...node.forwards.map((f) => new ForwardNode(node.sandbox, f))];
    }
    if (node) return [];
    // The branch listing only names worktrees here: it is shared with the Agent Branches view.
    const [{ sandboxes, error }] = await Promise.all([this.server.listForView(), this.branches.get()]);
    await this.sessions.load(sandboxes);
    this.view.message = error;
    this.view.badge = sandboxes.length
      ? { value: sandboxes.filter((s) => s.state === 'running').length, tooltip: 'Running Berth sandboxes' }
      : undefined;
    // A workspace's default sandbox first, then the ones it has by name.
    return sandboxes
      .sort((a, b) => a.workspace.localeCompare(b.workspace) || Number(!!a.named) - Number(!!b.named) || a.name.localeCompare(b.name))
      .map(
        (s) =>
          new SandboxNode(
            s,
            this.statuses.live(s),
            this.branches.place(s.workspace),
            s.state === 'running' ? this.ports.forwardsOf(s.id) : [],
            this.agents.of(s.id),
            s.state === 'running' ? this.sessions.of(s.id) : [],
          ),
      );
  }
}
