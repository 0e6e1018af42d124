// The last status the server announced for each sandbox (sandbox/didChangeStatus), which the status
// bar, the Sandboxes view and the folder question show without asking the server again.

import { FolderRef } from './folders';
import type { Status } from './protocol';

export class SandboxStatuses {
  private readonly byWorkspace = new Map<string, Status>();

  set(status: Status): void {
    this.byWorkspace.set(status.workspace, status);
  }

  /** Statuses are only true while the server that sent them runs. */
  clear(): void {
    this.byWorkspace.clear();
  }

  of(folder: FolderRef | undefined): Status | undefined {
    if (!folder) return undefined;
    return this.byWorkspace.get(folder.realPath ?? folder.path) ?? this.byWorkspace.get(folder.path);
  }

  /** The status of a sandbox listed by the server, keyed as the server keys it. */
  live(workspace: string): Status | undefined {
    return this.byWorkspace.get(workspace);
  }
}
