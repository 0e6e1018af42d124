// The `berth.*` settings as the server is sent them: split into the user's own and the workspace's
// (trust.ts). The server pulls them itself (workspace/configuration), through this.

import * as path from 'path';
import * as vscode from 'vscode';

import { Inspection, splitLayers } from './trust';

export const SECTION = 'berth';

/** The sandbox settings of a scope, with the values set by files inside the workspace apart;
 * `chosen`: what the user picked for that folder in Berth's own UI (consent.ts, UserChoices). */
export function sandboxSettings(
  scope: vscode.Uri | undefined,
  chosen: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  return splitLayers((key) => c.inspect(key) as Inspection | undefined, workspaceFileTrusted(), chosen);
}

/** A `.code-workspace` file outside every folder is out of the sandboxes' reach; one inside is not. */
function workspaceFileTrusted(): boolean {
  const file = vscode.workspace.workspaceFile;
  if (!file) return false; // one folder open: its workspace settings are its .vscode/settings.json
  if (file.scheme === 'untitled') return true; // kept in VS Code's own storage
  if (file.scheme !== 'file') return false;
  return !(vscode.workspace.workspaceFolders ?? []).some((f) => {
    const rel = path.relative(f.uri.fsPath, file.fsPath);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

export function interpreterSetting(): string | null | undefined {
  return vscode.workspace.getConfiguration(SECTION).get<string | null>('interpreter');
}
