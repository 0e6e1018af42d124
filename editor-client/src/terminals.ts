// The agent and shell terminals run the `docker exec -it …` command line the server returns: the
// server knows the container and the agent's command, the client only hosts the terminal.

import * as vscode from 'vscode';

import { branchTerminalName } from './branches';
import { Folder } from './workspaceFolders';

/** The agent gets an editor tab, where a long conversation has room; a shell goes to the panel. */
export function openAgentTerminal(agent: string, folder: Folder, argv: string[]): void {
  open(`Berth: ${agent} (${folder.name})`, argv, folder.ws.uri, true);
}

/** The agent of an agent branch, named after the branch; it starts in the branch's worktree. */
export function openBranchAgentTerminal(agent: string, folder: Folder, branch: string, worktree: string, argv: string[]): void {
  open(branchTerminalName(agent, branch, folder.name), argv, vscode.Uri.file(worktree), true);
}

export function openShellTerminal(folder: Folder, argv: string[]): void {
  open(`Berth: shell (${folder.name})`, argv, folder.ws.uri, false);
}

function open(name: string, argv: string[], cwd: vscode.Uri, editor: boolean): void {
  if (!argv || !argv.length) {
    void vscode.window.showErrorMessage('Berth: the server gave no command line to run.');
    return;
  }
  const terminal = vscode.window.createTerminal({
    name,
    shellPath: argv[0],
    shellArgs: argv.slice(1),
    cwd,
    iconPath: new vscode.ThemeIcon(editor ? 'hubot' : 'terminal'),
    location: editor ? vscode.TerminalLocation.Editor : vscode.TerminalLocation.Panel,
  });
  terminal.show();
}
