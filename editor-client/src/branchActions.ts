// What the agent-branch commands do: Run Agent on New Branch (a folder's new branch, in a worktree
// of its own, with the agent the user picks), and the Agent Branches view's Attach Agent, Show Diff,
// Open in New Window and Remove Worktree. The server makes, lists and removes the worktrees; the
// words are branches.ts's.

import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient/node';

import { agentPickItems, currentAgent } from './agents';
import { AgentSessions } from './agentSessions';
import {
  branchRef,
  defaultSandbox,
  diffName,
  discardIgnoredQuestion,
  ignoredFilesOf,
  diffText,
  removedMessage,
  removeWorktreeQuestion,
  validateBranchName,
  worktreeMadeMessage,
} from './branches';
import { BranchNode } from './branchesView';
import { ReadOnlyDocuments } from './documents';
import type { RunParams, RunResult } from './protocol';
import { BerthServer } from './server';
import { SECTION } from './settings';
import { branchPlace } from './sessions';
import { SandboxStatuses } from './statuses';
import { Folder } from './workspaceFolders';

export class BranchActions {
  constructor(
    private readonly server: BerthServer,
    private readonly statuses: SandboxStatuses,
    private readonly documents: ReadOnlyDocuments,
    private readonly sessions: AgentSessions,
    /** Both views list worktrees and their sandboxes: what a change here changes. */
    private readonly refreshViews: () => void,
  ) {}

  /** Berth: Run Agent on New Branch…: a branch name, an agent, then the agent in the branch's worktree. */
  async runOnNewBranch(folder: Folder): Promise<void> {
    const input = await vscode.window.showInputBox({
      title: `Berth: Run Agent on New Branch (${folder.name})`,
      prompt:
        'The branch the agent works on, in a worktree of its own outside your working tree. ' +
        'A new branch starts from the current branch; an existing one is reused.',
      placeHolder: 'agent/fix-login',
      validateInput: validateBranchName,
      ignoreFocusOut: true,
    });
    const branch = input?.trim();
    if (!branch) return;
    const agent = await this.pickAgent(folder, branch);
    if (!agent) return;
    await this.runAgent(folder, { workspace: folder.path, branch, agent }, branch);
  }

  /** The view's Attach Agent: the branch's sandbox (started, or made when it has none) and its agent. */
  async attach(node: BranchNode): Promise<void> {
    const branch = node.branch.branch;
    if (!branch) return; // a detached worktree has no branch to run on (the menu does not offer it)
    // The agent the worktree's sandbox was made with: the folder's setting may name another by now.
    const agent = defaultSandbox(node.branch)?.agent;
    await this.runAgent(node.folder, { workspace: node.folder.path, branch, ...(agent ? { agent } : {}) }, branch);
  }

  async showDiff(node: BranchNode): Promise<void> {
    const result = await this.server.api.worktreeDiff({ workspace: node.folder.path, branch: branchRef(node.branch) });
    if (result) await this.documents.showDiff(diffName(node.folder.name, node.branch), diffText(result.text, result.base));
  }

  async openInNewWindow(node: BranchNode): Promise<void> {
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(node.branch.path), { forceNewWindow: true });
  }

  /** Removes the worktree and its sandboxes, after a modal (which also names the agent sessions that
   * would end with them); the server refuses uncommitted work. */
  async remove(node: BranchNode): Promise<void> {
    const question = removeWorktreeQuestion(node.branch, node.folder.name);
    const running = (node.branch.sandboxes ?? []).filter((s) => s.state === 'running');
    const what = node.branch.branch ? `the worktree of branch "${node.branch.branch}"` : `the worktree ${node.branch.path}`;
    const targets = running.map((s) => ({ query: { ids: [s.id] as [string] }, name: s.name }));
    if (!(await this.sessions.confirmEnding('Removing', what, targets, 'Remove Worktree', question))) return;
    const params = { workspace: node.folder.path, branch: branchRef(node.branch) };
    const api = await this.server.viewApi();
    if (!api) {
      await this.server.ensureRunning(); // says it is not running
      return;
    }
    let result: Awaited<ReturnType<typeof api.removeWorktree>>;
    try {
      result = await api.removeWorktree(params);
    } catch (err) {
      // Files git ignores (an .env, build output) are asked about once more, by name; any other
      // refusal (uncommitted changes, a worktree Berth did not make) is the server's message.
      const ignored = err instanceof ResponseError ? ignoredFilesOf(err.data) : undefined;
      if (!ignored) {
        void vscode.window.showErrorMessage(err instanceof Error ? err.message : String(err));
        return;
      }
      const again = discardIgnoredQuestion(node.branch, ignored);
      const yes = await vscode.window.showWarningMessage(again.message, { modal: true, detail: again.detail }, 'Remove With Them');
      if (yes !== 'Remove With Them') return;
      result = await this.server.api.removeWorktree({ ...params, discardIgnored: true });
    }
    this.refreshViews();
    if (result) void vscode.window.showInformationMessage(removedMessage(node.branch, result.removed));
  }

  /** The agent for a new branch: the folder's current one is offered first. */
  private async pickAgent(folder: Folder, branch: string): Promise<string | undefined> {
    const agents = await this.server.api.agents();
    if (!agents) return undefined;
    const setting = vscode.workspace.getConfiguration(SECTION, folder.ws.uri).get<string | null>('agent');
    const current = currentAgent(setting, this.statuses.of(folder));
    if (!agents.length) return current.name;
    const items = agentPickItems(agents, current).map((row) =>
      row.current ? { ...row, iconPath: new vscode.ThemeIcon('check') } : row,
    );
    const picked = await vscode.window.showQuickPick(items, {
      title: `Berth: Agent for branch ${branch} (${folder.name})`,
      placeHolder: 'The agent that works on the branch',
      matchOnDescription: true,
      matchOnDetail: true,
      ignoreFocusOut: true,
    });
    return picked?.name;
  }

  /** sandbox/run with a branch (consent asked as for Run Agent, by the server transport), then the
   * agent's session tab: its running one, else a new one. */
  private async runAgent(folder: Folder, params: RunParams & { branch: string }, branch: string): Promise<void> {
    const result: RunResult | undefined = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Berth: branch ${branch}` },
      () => this.server.api.run({ ...params, framed: true }),
    );
    // Even a failed run may have left something to show (a worktree it could not take back).
    this.refreshViews();
    if (!result) return;
    const made = worktreeMadeMessage(result, folder.name);
    if (made) void vscode.window.showInformationMessage(made);
    await this.sessions.openAgent(result, branchPlace(branch, folder.name));
  }
}
