// The open workspace folders a sandbox can belong to, kept current. Which one a command or the status
// bar means is decided by the pure folders.ts.

import * as fs from 'fs';
import * as vscode from 'vscode';

import { FolderRef } from './folders';

export interface Folder extends FolderRef {
  ws: vscode.WorkspaceFolder;
}

export class WorkspaceFolders implements vscode.Disposable {
  private folders: Folder[] = [];
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly listener: vscode.Disposable;

  constructor() {
    this.load();
    this.listener = vscode.workspace.onDidChangeWorkspaceFolders(() => {
      this.load();
      this.emitter.fire();
    });
  }

  get all(): Folder[] {
    return this.folders;
  }

  byUri(uri: vscode.Uri): Folder | undefined {
    return this.folders.find((f) => f.ws.uri.toString() === uri.toString());
  }

  private load(): void {
    // Sandboxes bind-mount a local path, so remote and virtual folders cannot have one.
    this.folders = (vscode.workspace.workspaceFolders ?? [])
      .filter((ws) => ws.uri.scheme === 'file')
      .map((ws) => ({ ws, name: ws.name, path: ws.uri.fsPath, realPath: realPath(ws.uri.fsPath) }));
  }

  dispose(): void {
    this.listener.dispose();
    this.emitter.dispose();
  }
}

/** The active editor's file, which picks the folder in a multi-root workspace. */
export function activeFile(): string | undefined {
  const uri = vscode.window.activeTextEditor?.document.uri;
  return uri && uri.scheme === 'file' ? uri.fsPath : undefined;
}

// The server keys statuses by real path, so a folder opened through a symlink must match them.
function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
