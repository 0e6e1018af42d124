// Asks the user about values a workspace's own settings ask for (trust.ts), in a modal that shows
// each exact value, and remembers the answer per workspace and per value in the workspace state
// (outside the workspace folder, where the agent cannot forge it). The values the user picks in
// Berth's own UI for a folder are remembered there too (UserChoices), so the setting Berth writes
// into the folder's file for them is not asked about again.

import * as vscode from 'vscode';

import { folderForWorkspace } from './folders';
import type { ConsentItem } from './protocol';
import { allAllowed, consentDetail, consentQuestion } from './trust';
import { WorkspaceFolders } from './workspaceFolders';

const KEY = 'berth.allowed.';

export class WorkspaceConsent {
  constructor(
    private readonly memory: vscode.Memento,
    private readonly folders: WorkspaceFolders,
  ) {}

  /** The ids to send back as `accept`, or undefined when the user did not allow them. */
  async ask(workspace: string, items: ConsentItem[]): Promise<string[] | undefined> {
    const key = KEY + workspace;
    const allowed = this.memory.get<string[]>(key) ?? [];
    if (allAllowed(allowed, items)) return items.map((i) => i.id);
    const name = folderForWorkspace(this.folders.all, workspace)?.name ?? workspace;
    // Only what was never allowed is asked; what was allowed before is sent again with it.
    const known = new Set(allowed);
    const fresh = items.filter((i) => !known.has(i.id));
    const choice = await vscode.window.showWarningMessage(
      consentQuestion(name),
      { modal: true, detail: consentDetail(fresh) },
      'Allow',
    );
    if (choice !== 'Allow') return undefined;
    await this.memory.update(key, [...new Set([...allowed, ...items.map((i) => i.id)])]);
    return items.map((i) => i.id);
  }
}

const CHOSEN = 'berth.chosen.';

/** What the user picked in Berth's own UI for a folder (Choose Agent), by folder path and setting. */
export class UserChoices {
  constructor(private readonly memory: vscode.Memento) {}

  of(folder: vscode.Uri): Readonly<Record<string, unknown>> {
    return this.memory.get<Record<string, unknown>>(CHOSEN + folder.fsPath) ?? {};
  }

  async remember(folder: vscode.Uri, key: string, value: unknown): Promise<void> {
    await this.memory.update(CHOSEN + folder.fsPath, { ...this.of(folder), [key]: value });
  }
}
