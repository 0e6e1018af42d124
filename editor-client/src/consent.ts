// Asks the user about values a workspace's own settings ask for (trust.ts), in a modal that shows
// each exact value, and remembers the answer per workspace and per value in the workspace state
// (outside the workspace folder, where the agent cannot forge it).

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
