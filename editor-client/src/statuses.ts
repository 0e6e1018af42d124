// The last status the server announced for each sandbox (sandbox/didChangeStatus), which the status
// bar, the Sandboxes view and the folder question show without asking the server again. A workspace
// may have several sandboxes (its default one and others made by name), each with its own status.

import { FolderRef, samePath } from './folders';
import type { Sandbox, Status } from './protocol';

/** The key of one sandbox of a workspace: its name, or none for the default one. */
function key(workspace: string, name: string | null | undefined): string {
  return `${workspace}\u0000${name ?? ''}`;
}

export class SandboxStatuses {
  private readonly bySandbox = new Map<string, Status>();

  set(status: Status): void {
    this.bySandbox.set(key(status.workspace, status.name), status);
  }

  /** Statuses are only true while the server that sent them runs. */
  clear(): void {
    this.bySandbox.clear();
  }

  /** The folder's default sandbox: the one its settings, the status bar and its commands are about. */
  of(folder: FolderRef | undefined): Status | undefined {
    if (!folder) return undefined;
    return this.bySandbox.get(key(folder.realPath ?? folder.path, null)) ?? this.bySandbox.get(key(folder.path, null));
  }

  /** Every known status of the folder's sandboxes: the default one's first, then the named ones by name. */
  allOf(folder: FolderRef | undefined): Status[] {
    if (!folder) return [];
    const paths = [folder.realPath ?? folder.path, folder.path];
    const found = [...this.bySandbox.values()].filter((s) => paths.some((p) => samePath(p, s.workspace)));
    return found.sort((a, b) => (a.name ? (b.name ? a.name.localeCompare(b.name) : 1) : b.name ? -1 : 0));
  }

  /** The status of a sandbox listed by the server: its own, never that of another of its workspace's. */
  live(sandbox: Pick<Sandbox, 'workspace' | 'name' | 'named'>): Status | undefined {
    return this.bySandbox.get(key(sandbox.workspace, sandbox.named ? sandbox.name : null));
  }
}
