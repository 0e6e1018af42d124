// The agents' states in VS Code (sandbox/didChangeAgentState): kept per sandbox for the status bar
// and the Sandboxes view, and a notification with Show Agent when an agent that is not in view needs
// the user (a question, a finished turn, a failure). The words are agentStates.ts's.

import * as path from 'path';
import * as vscode from 'vscode';

import { attentionMessage, SHOW_AGENT } from './agentStates';
import { folderForWorkspace } from './folders';
import type { AgentStateChange } from './protocol';
import { WorkspaceFolders } from './workspaceFolders';

export class AgentAttention implements vscode.Disposable {
  private readonly states = new Map<string, AgentStateChange>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** An agent's state changed. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(
    private readonly folders: WorkspaceFolders,
    /** The agent tab attached to a sandbox (by its id), if one is open here. */
    private readonly terminalOf: (sandboxId: string) => vscode.Terminal | undefined,
  ) {}

  /** The last state of the agent in a sandbox (by its id). */
  of(sandboxId: string | undefined): AgentStateChange | undefined {
    return sandboxId ? this.states.get(sandboxId) : undefined;
  }

  changed(s: AgentStateChange): void {
    if (!s || typeof s.sandbox !== 'string' || typeof s.state !== 'string') return;
    this.states.set(s.sandbox, s);
    this.changeEmitter.fire();
    const terminal = this.terminalOf(s.sandbox);
    if (terminal && vscode.window.state.focused && vscode.window.activeTerminal === terminal) return;
    const folder = folderForWorkspace(this.folders.all, s.workspace);
    const title = (folder?.name ?? path.basename(s.workspace)) + (s.name ? ` (${s.name})` : '');
    const said = attentionMessage(s, title);
    if (!said) return;
    const show = said.warning ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(said.text, SHOW_AGENT).then((button) => {
      if (button) this.showAgent(s, folder?.ws.uri);
    });
  }

  /** Focus the agent's terminal; with none open here (its tab was closed, or the agent runs from a
   * terminal outside VS Code), Run Agent attaches its session again. */
  private showAgent(s: AgentStateChange, folder: vscode.Uri | undefined): void {
    const terminal = this.terminalOf(s.sandbox);
    if (terminal) terminal.show();
    else if (folder && !s.name) void vscode.commands.executeCommand('berth.runAgent', folder);
  }


  dispose(): void {
    this.changeEmitter.dispose();
  }
}
