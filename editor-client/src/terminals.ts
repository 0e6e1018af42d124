// The shell terminal runs the `docker exec -it …` command line the server returns: the server knows
// the container, the client only hosts the terminal. (The agent's own tab is a session terminal:
// sessionTerminals.ts.)

import * as vscode from 'vscode';

import { Folder } from './workspaceFolders';

/** A shell goes to the panel; the agent gets an editor tab (sessionTerminals.ts). */
export function openShellTerminal(folder: Folder, argv: string[]): void {
  if (!argv || !argv.length) {
    void vscode.window.showErrorMessage('Berth: the server gave no command line to run.');
    return;
  }
  const terminal = vscode.window.createTerminal({
    name: `Berth: shell (${folder.name})`,
    shellPath: argv[0],
    shellArgs: argv.slice(1),
    cwd: folder.ws.uri,
    iconPath: new vscode.ThemeIcon('terminal'),
    location: vscode.TerminalLocation.Panel,
  });
  terminal.show();
}
