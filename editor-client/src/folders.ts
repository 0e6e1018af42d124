// Which workspace folder a command or the status bar is about. Pure: folders are plain {name, path}.

export interface FolderRef {
  name: string;
  /** The folder's file-system path as the editor knows it. */
  path: string;
  /** Its real path (symlinks resolved), as the server reports it; defaults to `path`. */
  realPath?: string;
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

export function samePath(a: string, b: string): boolean {
  return trimSlash(a) === trimSlash(b);
}

/** Whether `file` is `folder` or inside it. */
export function contains(folder: string, file: string): boolean {
  const f = trimSlash(folder);
  const p = trimSlash(file);
  return p === f || p.startsWith(f === '/' ? '/' : f + '/');
}

/** The folder holding `file` (the innermost one when folders nest), if any. */
export function folderOf<T extends FolderRef>(folders: readonly T[], file: string | undefined): T | undefined {
  if (!file) return undefined;
  let best: T | undefined;
  for (const f of folders) {
    if (contains(f.path, file) && (!best || trimSlash(f.path).length > trimSlash(best.path).length)) best = f;
  }
  return best;
}

/** The folder whose sandbox a server status (keyed by real path) belongs to. */
export function folderForWorkspace<T extends FolderRef>(folders: readonly T[], workspace: string): T | undefined {
  return folders.find((f) => samePath(f.realPath ?? f.path, workspace) || samePath(f.path, workspace));
}

/**
 * The folder the status bar shows: the active editor's folder; else the one shown before (while it is
 * still open); else the first folder.
 */
export function statusBarFolder<T extends FolderRef>(
  folders: readonly T[],
  activeFile: string | undefined,
  previous: string | undefined,
): T | undefined {
  const active = folderOf(folders, activeFile);
  if (active) return active;
  const prev = previous ? folders.find((f) => samePath(f.path, previous)) : undefined;
  return prev ?? folders[0];
}

export type FolderChoice<T> =
  | { kind: 'use'; folder: T }
  | { kind: 'ask'; folders: T[] }
  | { kind: 'none' };

/**
 * The folder a command acts on. `explicit` (a path given by the status bar, a tree item or an
 * argument) wins; a single-folder window needs no question; otherwise the user is asked, with the
 * active editor's folder offered first.
 */
export function chooseFolder<T extends FolderRef>(
  folders: readonly T[],
  explicit: string | undefined,
  activeFile: string | undefined,
): FolderChoice<T> {
  if (explicit) {
    const hit = folders.find((f) => samePath(f.path, explicit) || samePath(f.realPath ?? f.path, explicit));
    if (hit) return { kind: 'use', folder: hit };
  }
  if (folders.length === 0) return { kind: 'none' };
  if (folders.length === 1) return { kind: 'use', folder: folders[0] };
  const active = folderOf(folders, activeFile);
  const ordered = active ? [active, ...folders.filter((f) => f !== active)] : [...folders];
  return { kind: 'ask', folders: ordered };
}
