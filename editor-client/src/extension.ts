// The Berth extension's entry points: builds the parts and wires the server's events to what shows
// them. All sandbox logic lives in berth-server; see the module headers for who does what.

import * as vscode from 'vscode';

import { AgentAttention } from './agentAttention';
import { AgentBranches } from './agentBranches';
import { AgentSessions } from './agentSessions';
import { BranchActions } from './branchActions';
import { BranchesView } from './branchesView';
import { Commands } from './commands';
import { EngineWatch } from './engineInfo';
import { ReadOnlyDocuments } from './documents';
import { RecreateOffers } from './drift';
import { NetworkRules } from './networkRules';
import { PortForwards } from './portForwards';
import { SandboxesView } from './sandboxesView';
import { BerthServer } from './server';
import { UserChoices, WorkspaceConsent } from './consent';
import { SandboxStatusBar } from './statusBar';
import { SandboxStatuses } from './statuses';
import { TemplateBuilds } from './templateBuilds';
import { WorkspaceFolders } from './workspaceFolders';

let server: BerthServer | undefined;

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  const folders = new WorkspaceFolders();
  const statuses = new SandboxStatuses();
  const consent = new WorkspaceConsent(ctx.workspaceState, folders);
  const choices = new UserChoices(ctx.workspaceState);
  const berth: BerthServer = new BerthServer(ctx.extensionPath, statuses, {
    pythonScope: () => folders.all[0]?.ws.uri,
    consent: (workspace, items) => consent.ask(workspace, items),
    chosen: (scope) => choices.of(scope),
    // Called only once a request failed, long after `templates` exists.
    offerBuild: (message, agents, workspace): Promise<boolean> => templates.offer(message, agents, workspace),
  });
  server = berth;
  const templates: TemplateBuilds = new TemplateBuilds(berth, folders, statuses);
  const agentBranches = new AgentBranches(berth, folders);
  const sessions = new AgentSessions(berth, folders, agentBranches, ctx.globalState);
  const agents = new AgentAttention(folders, (id) => sessions.terminals.liveOf(id)?.terminal);
  // Before the status bar, which shows its line; it asks once the server runs.
  const engine = new EngineWatch(berth);
  const statusBar = new SandboxStatusBar(folders, statuses, berth, agents, engine);
  const ports = new PortForwards(berth, folders);
  const sandboxes = new SandboxesView(berth, statuses, agentBranches, ports, agents, sessions);
  const branchesView = new BranchesView(agentBranches, folders, statuses);
  const documents = new ReadOnlyDocuments();
  const network = new NetworkRules(berth, folders, statuses, documents);
  const branchActions = new BranchActions(berth, statuses, documents, sessions, () => {
    sandboxes.refresh();
    branchesView.refresh();
  });
  const commands = new Commands(
    berth,
    folders,
    statuses,
    statusBar,
    sandboxes,
    documents,
    network,
    choices,
    branchesView,
    branchActions,
    ports,
    sessions,
    templates,
  );
  const drift = new RecreateOffers(folders, (uri) => vscode.commands.executeCommand('berth.recreateSandbox', uri));

  ctx.subscriptions.push(
    berth,
    engine,
    statusBar,
    sandboxes,
    branchesView,
    documents,
    folders,
    berth.onDidChangePhase(() => statusBar.render()),
    berth.onDidChangeConnection(() => {
      sandboxes.refresh();
      branchesView.refresh();
    }),
    // Another folder may be a git repository: its agent branches show.
    folders.onDidChange(() => branchesView.refresh()),
    berth.onDidReceiveStatus((status) => {
      statusBar.render();
      sandboxes.statusChanged();
      branchesView.statusChanged();
      drift.offer(status);
    }),
    berth.onDidBlockRequest((block) => network.blocked(block)),
    berth.onDidChangePorts((p) => ports.changed(p)),
    ports.onDidChange(() => sandboxes.statusChanged()),
    ports,
    berth.onDidChangeAgentState((a) => agents.changed(a)),
    agents.onDidChange(() => {
      statusBar.render();
      sandboxes.statusChanged();
    }),
    agents,
    berth.onDidChangeSessions((s) => sessions.changed(s)),
    sessions.onDidChange(() => sandboxes.statusChanged()),
    sessions,
    vscode.workspace.onDidChangeConfiguration((e) => berth.settingsChanged(e)),
    commands,
  );
  await berth.start();
}

export async function deactivate(): Promise<void> {
  if (server) await server.stop();
  server = undefined;
}
