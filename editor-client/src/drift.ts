// When a sandbox's settings drift from what it was created with, a notification offers Recreate; the
// status bar keeps showing the drift, so each distinct drift is offered only once.

import * as vscode from 'vscode';

import { folderForWorkspace } from './folders';
import type { Status } from './protocol';
import { driftKey, driftMessage } from './views';
import { WorkspaceFolders } from './workspaceFolders';

export class RecreateOffers {
  private readonly offered = new Set<string>();

  constructor(
    private readonly folders: WorkspaceFolders,
    private readonly recreate: (folder: vscode.Uri) => unknown,
  ) {}

  offer(status: Status): void {
    // Settings (and so drift) are the default sandbox's: a named one's status says nothing about it.
    if (status.name) return;
    const folder = folderForWorkspace(this.folders.all, status.workspace);
    // A drift that changed or went away may be offered again when it comes back.
    for (const key of [...this.offered]) {
      if (key.startsWith(status.workspace + '\u0000') && key !== driftKey(status.workspace, status.drift)) {
        this.offered.delete(key);
      }
    }
    // Busy or broken sandboxes are left alone: recreating them then would race the work under way.
    if (!folder || !status.drift.length || !(status.state === 'running' || status.state === 'stopped')) return;
    const key = driftKey(status.workspace, status.drift);
    if (this.offered.has(key)) return;
    this.offered.add(key);
    void vscode.window.showWarningMessage(driftMessage(folder.name, status.drift), 'Recreate').then((b) => {
      if (b === 'Recreate') void this.recreate(folder.ws.uri);
    });
  }
}
